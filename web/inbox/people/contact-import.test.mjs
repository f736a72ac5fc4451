// Unit tests for contact-import.js: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createLineSplitter, ndjsonItems, startProgress, applyImportLine, MAX_LISTED_ERRORS,
} from './contact-import.js';

test('lines are whole however the text was cut', () => {
  const splitter = createLineSplitter();
  assert.deepEqual(splitter.push('{"a":1}\n{"b"'), ['{"a":1}']);
  assert.deepEqual(splitter.push(':2}\r\n\n{"c":'), ['{"b":2}', '']);
  assert.deepEqual(splitter.push('3}'), []);
  assert.deepEqual(splitter.flush(), ['{"c":3}']);
  assert.deepEqual(splitter.flush(), []);
});

function streamOf(chunks) {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

test('a streamed body yields each JSON line as it comes, even with a character cut in two', async () => {
  const text = '{"type":"error","line":2,"field":"name","message":"trop long — é"}\n\n{"type":"done","rows":1}';
  const bytes = new TextEncoder().encode(text);
  // Cut between the two bytes of "é".
  const cut = new TextEncoder().encode(text.slice(0, text.indexOf('é'))).length + 1;
  const chunks = [bytes.slice(0, 10), bytes.slice(10, cut), bytes.slice(cut)];
  const items = [];
  for await (const item of ndjsonItems(streamOf(chunks))) items.push(item);
  assert.deepEqual(items, [
    { type: 'error', line: 2, field: 'name', message: 'trop long — é' },
    { type: 'done', rows: 1 },
  ]);
});

test('a line that is not JSON is reported, not thrown', async () => {
  const items = [];
  for await (const item of ndjsonItems(streamOf([new TextEncoder().encode('oops\n{"type":"done"}\n')]))) items.push(item);
  assert.deepEqual(items, [{ type: 'invalid', text: 'oops' }, { type: 'done' }]);
});

test('progress follows the counts, lists errors, and ends at done', () => {
  let p = startProgress();
  p = applyImportLine(p, { type: 'error', line: 17, field: 'email', message: 'not an email address' });
  p = applyImportLine(p, { type: 'progress', rows: 10000, created: 9980, updated: 0, failed: 20 });
  assert.deepEqual([p.rows, p.created, p.failed, p.done], [10000, 9980, 20, false]);
  p = applyImportLine(p, { type: 'something_new' });
  p = applyImportLine(p, { type: 'done', rows: 12000, created: 11970, updated: 0, failed: 30 });
  assert.deepEqual([p.rows, p.created, p.updated, p.failed, p.done], [12000, 11970, 0, 30, true]);
  assert.deepEqual(p.errors, [{ line: 17, field: 'email', message: 'not an email address' }]);
});

test('no more errors are kept than the server lists', () => {
  let p = startProgress();
  for (let i = 0; i < MAX_LISTED_ERRORS + 5; i++) p = applyImportLine(p, { type: 'error', line: i + 2, message: 'bad' });
  assert.equal(p.errors.length, MAX_LISTED_ERRORS);
});
