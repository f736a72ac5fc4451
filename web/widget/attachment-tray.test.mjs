// Unit tests for the composer's files waiting to be sent: run with
// `node --test web/widget/`. The chip list is a stand-in that keeps the
// markup drawn into it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttachmentTray, filesOf } from './attachment-tray.js';
import { MAX_PER_MESSAGE } from './attachments.js';

globalThis.document ??= { activeElement: null };

function fakeList() {
  return {
    innerHTML: '',
    hidden: true,
    addEventListener() {},
    contains: () => false,
    querySelector: () => null,
  };
}

/** A tray whose uploads wait until the test answers them. */
function trayWithUploads() {
  const calls = [];
  const list = fakeList();
  let changes = 0;
  const tray = new AttachmentTray({
    list,
    upload: (file, name, signal) => new Promise((resolve, reject) => calls.push({ file, name, signal, resolve, reject })),
    onChange: () => { changes += 1; },
    onEmptied: () => {},
  });
  tray.useDraft('new');
  return { tray, list, calls, changes: () => changes };
}

const file = (name, size = 10, type = 'image/png') => ({ name, size, type });
const settled = () => new Promise((r) => setTimeout(r, 0));

test('a file uploads at once, shows as a chip, and is ready when stored', async () => {
  const { tray, list, calls } = trayWithUploads();
  tray.add([file('cat.png')]);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].name, 'cat.png');
  assert.equal(list.hidden, false);
  assert.match(list.innerHTML, /data-testid="widget-attachment-chip"/);
  assert.match(list.innerHTML, /data-status="uploading"/);
  calls[0].resolve({ id: 'att1', name: 'cat.png', content_type: 'image/png', size: 10 });
  await settled();
  assert.equal(tray.uploads[0].status, 'ready');
  assert.match(list.innerHTML, /data-status="ready"/);
  const taken = tray.take();
  assert.deepEqual(taken.map((f) => f.attachment.id), ['att1']);
  assert.equal(taken[0].file.name, 'cat.png');
  assert.equal(tray.uploads.length, 0);
  assert.equal(list.hidden, true);
});

test('a refused upload says why (role=alert) and its removal cancels nothing else', async () => {
  const { tray, list, calls } = trayWithUploads();
  tray.add([file('virus.exe', 10, 'application/x-msdownload'), file('ok.pdf', 10, 'application/pdf')]);
  calls[0].reject({ status: 422, problem: { errors: [{ field: 'file', message: 'no' }] } });
  await settled();
  assert.equal(tray.uploads[0].status, 'failed');
  assert.match(list.innerHTML, /role="alert" data-testid="widget-attachment-error">This kind of file cannot be sent/);
  tray.remove(tray.uploads[0].key);
  assert.deepEqual(tray.uploads.map((u) => u.name), ['ok.pdf']);
  assert.equal(calls[1].signal.aborted, false);
  assert.doesNotMatch(list.innerHTML, /widget-attachment-error/);
});

test('removing a file still uploading aborts its upload', async () => {
  const { tray, calls } = trayWithUploads();
  tray.add([file('big.zip', 100, 'application/zip')]);
  tray.remove(tray.uploads[0].key);
  assert.equal(calls[0].signal.aborted, true);
  calls[0].reject(new Error('aborted'));
  await settled();
  assert.equal(tray.uploads.length, 0);
});

test('an empty file is not uploaded; a file too large is refused by the server', async () => {
  const { tray, calls, list } = trayWithUploads();
  tray.add([file('empty.txt', 0, 'text/plain'), file('huge.zip', 50 * 1024 * 1024, 'application/zip')]);
  assert.deepEqual(calls.map((c) => c.name), ['huge.zip']);
  calls[0].reject({ status: 413, problem: { detail: 'at most 10 MiB' } });
  await settled();
  assert.deepEqual(tray.uploads.map((u) => [u.status, u.error]), [['failed', 'fileEmpty'], ['failed', 'fileTooLarge']]);
  assert.equal((list.innerHTML.match(/widget-attachment-error/g) ?? []).length, 2);
  assert.match(list.innerHTML, /This file is too large\./);
});

test('a file over the workspace\'s limit is refused on its chip without uploading', () => {
  const { tray, calls, list } = trayWithUploads();
  tray.maxBytes = 2 * 1024 * 1024;
  tray.add([file('big.pdf', 2 * 1024 * 1024 + 1, 'application/pdf'), file('small.pdf', 1024, 'application/pdf')]);
  assert.deepEqual(calls.map((c) => c.name), ['small.pdf']);
  assert.deepEqual(tray.uploads.map((u) => [u.name, u.status, u.error]),
    [['big.pdf', 'failed', 'fileTooLargeMax'], ['small.pdf', 'uploading', null]]);
  assert.match(list.innerHTML, /role="alert" data-testid="widget-attachment-error">This file is too large: files up to 2 MB can be sent\./);
  assert.doesNotMatch(list.innerHTML, /data-tray-action="retry"/, 'trying again would not help');
});

test(`at most ${MAX_PER_MESSAGE} files go with one message`, () => {
  const { tray, calls, list } = trayWithUploads();
  tray.add(Array.from({ length: MAX_PER_MESSAGE + 2 }, (_, i) => file(`f${i}.png`)));
  assert.equal(calls.length, MAX_PER_MESSAGE);
  assert.match(list.innerHTML, new RegExp(`At most ${MAX_PER_MESSAGE} files per message`));
  tray.add([file('one-more.png')]);
  assert.equal(calls.length, MAX_PER_MESSAGE);
});

test('a network failure can be retried', async () => {
  const { tray, calls, list } = trayWithUploads();
  tray.add([file('cat.png')]);
  calls[0].reject({ status: 0 });
  await settled();
  assert.match(list.innerHTML, /data-tray-action="retry"/);
  tray.retry(tray.uploads[0].key);
  assert.equal(calls.length, 2);
  assert.equal(tray.uploads[0].status, 'uploading');
  calls[1].resolve({ id: 'att2' });
  await settled();
  assert.equal(tray.uploads[0].status, 'ready');
});

test('files are kept with their conversation\'s draft', async () => {
  const { tray, calls } = trayWithUploads();
  tray.add([file('for-new.png')]);
  tray.useDraft('c1');
  assert.equal(tray.uploads.length, 0);
  tray.add([file('for-c1.pdf', 10, 'application/pdf')]);
  calls[0].resolve({ id: 'att-new' });
  await settled();
  tray.useDraft('new');
  assert.deepEqual(tray.uploads.map((u) => [u.name, u.status]), [['for-new.png', 'ready']]);
  tray.renameDraft('c2');
  tray.useDraft('c2');
  assert.equal(tray.uploads.length, 1);
  tray.clearAll();
  assert.equal(calls[1].signal.aborted, true);
  assert.equal(tray.uploads.length, 0);
});

test('a paste or drop gives its files, or the items that are files', () => {
  const png = file('a.png');
  assert.deepEqual(filesOf({ files: [png], items: [] }), [png]);
  assert.deepEqual(filesOf({ files: [], items: [{ kind: 'string' }, { kind: 'file', getAsFile: () => png }] }), [png]);
  assert.deepEqual(filesOf({ files: [], items: [{ kind: 'string' }] }), []);
  assert.deepEqual(filesOf(null), []);
});
