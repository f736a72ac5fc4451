// Unit tests for attachments.js: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatSize, carriesFiles, droppedFiles, pastedFiles, pastedFileName, attachmentsInWords,
  messageInOneLine, isInlineImage, attachmentUrl, uploadError, sizeRefusal, MAX_ATTACHMENTS,
} from './attachments.js';
import { ApiError } from './api.js';

const file = (name, type = 'application/octet-stream', size = 1) => ({ name, type, size });

/** A DataTransfer as a drop or a paste hands it over: `types`, `files`, `items`, `getData`. */
function transfer({ files = [], items = null, text = null, html = null } = {}) {
  const types = [];
  if (text !== null) types.push('text/plain');
  if (html !== null) types.push('text/html');
  if (files.length || items?.some((i) => i.kind === 'file')) types.push('Files');
  return {
    types,
    files,
    items: items ?? files.map((f) => ({ kind: 'file', getAsFile: () => f })),
    getData: (type) => (type === 'text/plain' ? text ?? '' : type === 'text/html' ? html ?? '' : ''),
  };
}

test('sizes read as a file manager says them', () => {
  assert.equal(formatSize(0), '0 bytes');
  assert.equal(formatSize(1), '1 byte');
  assert.equal(formatSize(1023), '1023 bytes');
  assert.equal(formatSize(1024), '1 KB');
  assert.equal(formatSize(12 * 1024 + 100), '12 KB');
  assert.equal(formatSize(1536), '1.5 KB');
  assert.equal(formatSize(1.5 * 1024 * 1024), '1.5 MB');
  assert.equal(formatSize(10 * 1024 * 1024), '10 MB');
  assert.equal(formatSize(1024 * 1024 - 1), '1 MB', 'no "1024 KB"');
  assert.equal(formatSize(3 * 1024 ** 3), '3 GB');
  assert.equal(formatSize(undefined), '');
  assert.equal(formatSize(''), '');
  assert.equal(formatSize(-5), '');
  assert.equal(formatSize('2048'), '2 KB', 'a data attribute is a string');
});

test('a drag carries files only when its types say so', () => {
  assert.equal(carriesFiles(transfer({ files: [file('a.png')] })), true);
  assert.equal(carriesFiles(transfer({ text: 'https://example.com' })), false);
  assert.equal(carriesFiles(null), false);
});

test('a drop brings its files; a dragged link brings none', () => {
  const a = file('a.png', 'image/png');
  const b = file('b.pdf', 'application/pdf');
  assert.deepEqual(droppedFiles(transfer({ files: [a, b] })), [a, b]);
  assert.deepEqual(droppedFiles(transfer({ text: 'https://example.com', html: '<a href="#">x</a>' })), []);
  // Some browsers fill only `items`.
  assert.deepEqual(droppedFiles(transfer({ items: [{ kind: 'string' }, { kind: 'file', getAsFile: () => a }] })), [a]);
});

test('a pasted screenshot or copied image is attached; pasted text is left to the box', () => {
  const shot = file('image.png', 'image/png');
  assert.deepEqual(pastedFiles(transfer({ files: [shot] })), [shot], 'a screenshot');
  assert.deepEqual(pastedFiles(transfer({ files: [shot], html: '<img src="x">' })), [shot], 'an image copied from a page');
  assert.deepEqual(pastedFiles(transfer({ files: [shot], text: 'A1\tB1', html: '<table>' })), [],
    'spreadsheet cells come with a picture of themselves: the text wins');
  assert.deepEqual(pastedFiles(transfer({ text: 'hello' })), []);
  assert.deepEqual(pastedFiles(transfer({ files: [shot], text: '' })), [shot], 'empty text is no text');
  assert.deepEqual(pastedFiles(null), []);
});

test('a pasted image.png is named after when it was pasted; other names stay', () => {
  const at = new Date(2024, 4, 1, 14, 22, 33);
  assert.equal(pastedFileName(file('image.png', 'image/png'), at), 'pasted-2024-05-01-142233.png');
  assert.equal(pastedFileName(file('', 'image/jpeg'), at), 'pasted-2024-05-01-142233.jpeg');
  assert.equal(pastedFileName(file('', ''), at), 'pasted-2024-05-01-142233.bin');
  assert.equal(pastedFileName(file('invoice.pdf', 'application/pdf'), at), 'invoice.pdf');
  assert.equal(pastedFileName(file('my image.png', 'image/png'), at), 'my image.png');
});

test('a message of files alone reads as its first file in one line', () => {
  const photo = { id: 'a1', name: 'photo.png', content_type: 'image/png', size: 10 };
  const pdf = { id: 'a2', name: 'invoice.pdf', content_type: 'application/pdf', size: 10 };
  assert.equal(attachmentsInWords([photo]), 'photo.png');
  assert.equal(attachmentsInWords([photo, pdf, pdf]), 'photo.png and 2 more');
  assert.equal(attachmentsInWords(undefined), '');
  assert.equal(messageInOneLine('', [photo]), '📎 photo.png');
  assert.equal(messageInOneLine('  ', [photo, pdf]), '📎 photo.png and 1 more');
  assert.equal(messageInOneLine('See attached', [photo]), 'See attached', 'text wins');
  assert.equal(messageInOneLine('Hi', undefined), 'Hi');
  assert.equal(messageInOneLine(null, []), '');
});

test('only the image types the server shows inline are drawn inline', () => {
  for (const type of ['image/png', 'image/jpeg', 'image/gif', 'image/webp']) {
    assert.equal(isInlineImage({ content_type: type }), true, type);
  }
  for (const type of ['image/svg+xml', 'application/pdf', 'text/html', '', undefined]) {
    assert.equal(isInlineImage({ content_type: type }), false, String(type));
  }
});

test('download paths escape the id', () => {
  assert.equal(attachmentUrl('att_1'), '/api/v1/attachments/att_1');
  assert.equal(attachmentUrl('a/../b'), '/api/v1/attachments/a%2F..%2Fb');
});

test('a refusal says what the field says, else the detail', () => {
  const typeRefused = new ApiError(422, {
    detail: 'Validation failed', errors: [{ field: 'file', message: 'This type of file is not allowed' }],
  });
  assert.equal(uploadError(typeRefused), 'This type of file is not allowed');
  const nameRefused = new ApiError(422, { errors: [{ field: 'name', message: 'The name is too long' }] });
  assert.equal(uploadError(nameRefused), 'The name is too long');
  assert.equal(uploadError(new ApiError(413, { detail: 'Files may be at most 10 MiB' })), 'Files may be at most 10 MiB');
  assert.equal(uploadError(new ApiError(500, null)), 'Request failed (500)');
  assert.equal(MAX_ATTACHMENTS, 10);
});

test('a file over the workspace\'s limit is refused before uploading, saying the limit', () => {
  const limit = 5 * 1024 * 1024;
  assert.equal(sizeRefusal(file('big.zip', 'application/zip', limit + 1), limit),
    'Too large: this workspace takes files up to 5 MB.');
  assert.equal(sizeRefusal(file('ok.zip', 'application/zip', limit), limit), null);
  assert.equal(sizeRefusal(file('any.zip', 'application/zip', 50 * limit), null), null, 'no limit known: the server judges');
});
