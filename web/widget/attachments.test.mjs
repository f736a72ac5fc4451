// Unit tests for the messenger's file helpers: run with `node --test web/widget/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatSize, attachmentsOf, isInlineImage, fitImage, sameAttachments,
  attachmentSummary, uploadName, precheck, uploadProblem, uploadsState,
} from './attachments.js';
import { setLanguage } from './i18n.js';

test('sizes are said in bytes, kilobytes or megabytes, in the language spoken', () => {
  setLanguage('en');
  assert.equal(formatSize(0), '0 B');
  assert.equal(formatSize(512), '512 B');
  assert.equal(formatSize(1536), '1.5 KB');
  assert.equal(formatSize(10 * 1024 * 1024), '10 MB');
  setLanguage('fr');
  assert.equal(formatSize(1536), '1,5 Ko');
  setLanguage('de');
  assert.equal(formatSize(2.25 * 1024 * 1024), '2,3 MB');
  setLanguage('en');
  assert.equal(formatSize('nonsense'), '0 B');
});

test('a part without attachments has none, and ones without an id are skipped', () => {
  assert.deepEqual(attachmentsOf({ body: 'hi' }), []);
  assert.deepEqual(attachmentsOf({ attachments: 'x' }), []);
  const good = { id: 'a1', name: 'a.png' };
  assert.deepEqual(attachmentsOf({ attachments: [null, { name: 'no id' }, good] }), [good]);
});

test('only the image types the server takes are drawn inline', () => {
  for (const type of ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'IMAGE/PNG']) {
    assert.equal(isInlineImage({ content_type: type }), true, type);
  }
  for (const type of ['image/svg+xml', 'application/pdf', 'text/plain', undefined]) {
    assert.equal(isInlineImage({ content_type: type }), false, String(type));
  }
});

test('images are drawn within the box, their proportions kept, never enlarged', () => {
  assert.deepEqual(fitImage(3, 2), { width: 3, height: 2 });
  assert.deepEqual(fitImage(4000, 3000), { width: 240, height: 180 });
  assert.deepEqual(fitImage(500, 3000), { width: 40, height: 240 });
  assert.deepEqual(fitImage(10000, 1), { width: 240, height: 1 });
  assert.equal(fitImage(undefined, 20), null);
  assert.equal(fitImage(0, 0), null);
});

test('a live echo is matched to the message being sent by its attachments too', () => {
  const sent = { body: '', attachments: [{ id: 'a' }, { id: 'b' }] };
  assert.equal(sameAttachments(sent, { body: '', attachments: [{ id: 'a' }, { id: 'b' }] }), true);
  assert.equal(sameAttachments(sent, { body: '', attachments: [{ id: 'a' }] }), false);
  assert.equal(sameAttachments({ body: 'hi' }, { body: 'hi', attachments: [] }), true);
});

test('the list says what a message of files sent', () => {
  assert.equal(attachmentSummary({ body: '' }), '');
  assert.equal(attachmentSummary({ attachments: [{ id: 'a', name: 'photo.png' }] }), '📎 photo.png');
  assert.equal(attachmentSummary({ attachments: [{ id: 'a', name: 'a.pdf' }, { id: 'b' }, { id: 'c' }] }), '📎 a.pdf +2');
});

test('a file keeps its name; a pasted image without one gets one from its type', () => {
  assert.equal(uploadName({ name: ' report.pdf ', type: 'application/pdf' }), 'report.pdf');
  assert.equal(uploadName({ name: '', type: 'image/png' }), 'image.png');
  assert.equal(uploadName({ name: '', type: 'image/jpeg' }, 2), 'image-3.jpg');
  assert.equal(uploadName({ type: '' }), 'file');
});

test('an empty file, or one over the workspace\'s limit, is refused before uploading', () => {
  assert.equal(precheck({ size: 0 }), 'fileEmpty');
  assert.equal(precheck({ size: 1 }), null);
  assert.equal(precheck({ size: 50 * 1024 * 1024 }), null, 'no limit known: the server judges');
  assert.equal(precheck({ size: 2 * 1024 * 1024 + 1 }, 2 * 1024 * 1024), 'fileTooLargeMax');
  assert.equal(precheck({ size: 2 * 1024 * 1024 }, 2 * 1024 * 1024), null, 'the limit itself is taken');
  assert.equal(precheck({ size: 0 }, 10), 'fileEmpty');
});

test('refused uploads are explained in the visitor\'s words, and only some are worth a retry', () => {
  const png = { type: 'image/png' };
  const zip = { type: 'application/x-msdownload' };
  assert.deepEqual(uploadProblem({ status: 413 }, png), { key: 'fileTooLarge', retry: false });
  const file422 = { status: 422, problem: { errors: [{ field: 'file', message: 'not taken' }] } };
  assert.deepEqual(uploadProblem(file422, zip), { key: 'fileRefused', retry: false });
  assert.deepEqual(uploadProblem(file422, png), { key: 'imageRefused', retry: false });
  const name422 = { status: 422, problem: { errors: [{ field: 'name', message: 'too long' }] } };
  assert.deepEqual(uploadProblem(name422, png), { key: 'fileNameRefused', retry: false });
  assert.deepEqual(uploadProblem({ status: 429 }, png), { key: 'uploadingTooFast', retry: true });
  assert.deepEqual(uploadProblem({ status: 0 }, png), { key: 'noConnection', retry: true });
  assert.deepEqual(uploadProblem({ status: 500 }, png), { key: 'uploadFailed', retry: true });
  assert.deepEqual(uploadProblem(new Error('no attachment in the answer'), png), { key: 'uploadFailed', retry: true });
});

test('a message may go with text or a stored file, never while one is uploading', () => {
  const ready = { status: 'ready', attachment: { id: 'a' } };
  const uploading = { status: 'uploading', attachment: null };
  const failed = { status: 'failed', attachment: null, error: 'fileRefused' };
  assert.deepEqual(uploadsState([], 'hi'), { ready: [], uploading: false, canSend: true });
  assert.equal(uploadsState([], '   ').canSend, false);
  assert.deepEqual(uploadsState([ready], ''), { ready: [{ id: 'a' }], uploading: false, canSend: true });
  assert.equal(uploadsState([ready, uploading], 'hi').canSend, false);
  assert.equal(uploadsState([failed], '').canSend, false);
  assert.deepEqual(uploadsState([failed, ready], '').ready, [{ id: 'a' }]);
});
