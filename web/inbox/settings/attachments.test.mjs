// Unit tests for Settings > Attachments' pure parts: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesToMb, mbToBytes, attachmentSettingsPatch, MAX_BYTES_FIELD, KIND_LABELS, MB,
} from './attachments.js';
import { FILE_KINDS } from '../../shared/file-kinds.js';

const TEN_MB = 10 * MB;
const current = { max_bytes: TEN_MB, kinds: [...FILE_KINDS], server_max_bytes: TEN_MB };
const all = Object.fromEntries(FILE_KINDS.map((kind) => [`kind_${kind}`, true]));

test('MB and bytes: 1 MB is 1048576 bytes', () => {
  assert.equal(bytesToMb(TEN_MB), 10);
  assert.equal(bytesToMb(5_000_000), 4.77);
  assert.equal(bytesToMb(undefined), 0);
  assert.equal(mbToBytes('10'), TEN_MB);
  assert.equal(mbToBytes(' 2.5 '), 2.5 * MB);
  assert.equal(mbToBytes('.5'), MB / 2);
  assert.equal(mbToBytes('0'), null);
  assert.equal(mbToBytes('-1'), null);
  assert.equal(mbToBytes('1e3'), null);
  assert.equal(mbToBytes(''), null);
  assert.equal(mbToBytes(String(bytesToMb(3 * MB))), 3 * MB, 'round trip');
});

test('every kind has a label', () => {
  for (const kind of FILE_KINDS) assert.equal(typeof KIND_LABELS[kind], 'string', kind);
});

test('the form sends only what changed', () => {
  assert.deepEqual(attachmentSettingsPatch(current, { max_mb: '10', ...all }), { body: null, errors: [] });
  assert.deepEqual(attachmentSettingsPatch(current, { max_mb: '2', ...all }).body, { attachments: { max_bytes: 2 * MB } });
  assert.deepEqual(attachmentSettingsPatch(current, { max_mb: '10', ...all, kind_zip: false, kind_image: false }).body,
    { attachments: { kinds: ['pdf', 'text', 'office'] } }, 'in the server\'s order');
  // A size shown rounded (4.77 for 5000000 bytes) and left alone is not changed.
  assert.equal(attachmentSettingsPatch({ ...current, max_bytes: 5_000_000 }, { max_mb: '4.77', ...all }).body, null);
});

test('no kind ticked turns attachments off', () => {
  const none = Object.fromEntries(FILE_KINDS.map((kind) => [`kind_${kind}`, false]));
  assert.deepEqual(attachmentSettingsPatch(current, { max_mb: '10', ...none }).body, { attachments: { kinds: [] } });
  assert.equal(attachmentSettingsPatch({ ...current, kinds: [] }, { max_mb: '10', ...none }).body, null);
});

test('a size that is not a number, or over the server\'s limit, is refused beside its field', () => {
  for (const typed of ['', 'ten', '0', '-3']) {
    const { body, errors } = attachmentSettingsPatch(current, { max_mb: typed, ...all });
    assert.equal(body, null, typed);
    assert.deepEqual(errors.map((e) => e.field), [MAX_BYTES_FIELD], typed);
    assert.match(errors[0].message, /from 0\.01 to 10 MB/);
  }
  const over = attachmentSettingsPatch(current, { max_mb: '11', ...all, kind_pdf: false });
  assert.equal(over.body, null, 'nothing is sent while a field is wrong');
  assert.match(over.errors[0].message, /At most 10 MB/);
});
