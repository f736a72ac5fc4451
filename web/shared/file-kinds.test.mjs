// Unit tests for file-kinds.js: run with `node --test web/shared/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FILE_KINDS, takesFiles, acceptFor, limitOf, isTooLarge } from './file-kinds.js';

test('no kinds means no files; settings not known still take them', () => {
  assert.equal(takesFiles({ max_bytes: 10, kinds: [] }), false);
  assert.equal(takesFiles({ max_bytes: 10, kinds: ['pdf'] }), true);
  assert.equal(takesFiles(undefined), true);
  assert.equal(takesFiles({ max_bytes: 10 }), true);
});

test('the picker accepts the types of the kinds taken, and only those', () => {
  const pdfAndText = acceptFor(['text', 'pdf']).split(',');
  assert.ok(pdfAndText.includes('application/pdf'));
  assert.ok(pdfAndText.includes('.txt'));
  assert.ok(!pdfAndText.includes('image/png'));
  assert.ok(!pdfAndText.includes('.docx'));
  assert.ok(acceptFor(['image']).split(',').includes('image/webp'));
  assert.ok(!acceptFor(['image']).includes('svg'), 'SVG is not an image the server takes');
  assert.ok(acceptFor(['office']).includes('spreadsheetml.sheet'));
  assert.equal(acceptFor(['zip', 'nonsense']), 'application/zip,.zip');
  assert.equal(acceptFor([]), '');
  assert.equal(acceptFor(undefined), '', 'not known: any file may be picked');
  const all = acceptFor(FILE_KINDS).split(',');
  for (const kind of FILE_KINDS) {
    for (const type of acceptFor([kind]).split(',')) assert.ok(all.includes(type), `${kind}: ${type}`);
  }
});

test('the limit is the workspace\'s, within the server\'s', () => {
  assert.equal(limitOf({ max_bytes: 2048, kinds: [] }), 2048);
  assert.equal(limitOf({ max_bytes: 4096, server_max_bytes: 1024 }), 1024);
  assert.equal(limitOf({ max_bytes: 1024, server_max_bytes: 4096 }), 1024);
  assert.equal(limitOf({ max_bytes: 0 }), null);
  assert.equal(limitOf(undefined), null);
});

test('a file is too large only past a known limit', () => {
  assert.equal(isTooLarge({ size: 1025 }, 1024), true);
  assert.equal(isTooLarge({ size: 1024 }, 1024), false, 'the limit itself is taken');
  assert.equal(isTooLarge({ size: 5e9 }, null), false);
  assert.equal(isTooLarge({ size: 5e9 }, undefined), false);
  assert.equal(isTooLarge({}, 1024), false);
});
