// Settings > Attachments, the parts with no DOM: the kinds' labels, MB and
// bytes, and the form's PATCH body. Touches no DOM, so that `node --test`
// can load it.

import { FILE_KINDS } from '../../shared/file-kinds.js';

export const MAX_BYTES_FIELD = 'attachments.max_bytes';
export const KINDS_FIELD = 'attachments.kinds';

/** One MB as file managers mostly count it (the server's default 10485760 bytes is 10 MB). */
export const MB = 1024 * 1024;

export const KIND_LABELS = {
  image: 'Images (PNG, JPEG, GIF, WebP)',
  pdf: 'PDF documents',
  text: 'Plain text files',
  zip: 'ZIP archives',
  office: 'Office documents (Word, Excel, PowerPoint)',
};

/** Bytes as MB for the form: 10485760 → 10, 5000000 → 4.77 (two decimals at most). */
export function bytesToMb(bytes) {
  const n = Number(bytes);
  return Number.isFinite(n) && n > 0 ? Math.round((n / MB) * 100) / 100 : 0;
}

/** MB as typed (`'2.5'`) to whole bytes; null when it is not a number above 0. */
export function mbToBytes(text) {
  const value = String(text ?? '').trim();
  if (!/^\d*\.?\d+$/.test(value)) return null;
  const bytes = Math.round(Number(value) * MB);
  return bytes >= 1 ? bytes : null;
}

/**
 * The PATCH /api/v1/workspace body for the Attachments form: only what
 * changed from `current` (the workspace's `attachments`). `values` are the
 * form's: `max_mb` (a string) and `kind_<kind>` (booleans). Returns
 * `{body, errors}`: `body` is null when nothing changed or something is
 * wrong; `errors` are `[{field, message}]`, as a 422 lists them.
 */
export function attachmentSettingsPatch(current, values) {
  const before = current ?? {};
  const attachments = {};
  const errors = [];

  const ceiling = Number(before.server_max_bytes) > 0 ? before.server_max_bytes : null;
  const range = ceiling ? `from 0.01 to ${bytesToMb(ceiling)} MB` : 'above 0 MB';
  const bytes = mbToBytes(values.max_mb);
  if (bytes === null) {
    errors.push({ field: MAX_BYTES_FIELD, message: `Enter a size ${range}, like 10 or 2.5.` });
  } else if (ceiling && bytes > ceiling) {
    errors.push({ field: MAX_BYTES_FIELD, message: `At most ${bytesToMb(ceiling)} MB: this server's limit.` });
  } else if (Number(values.max_mb) !== bytesToMb(before.max_bytes)) {
    // Unchanged as shown (4.77 for 5000000 bytes) is not a change.
    attachments.max_bytes = bytes;
  }

  const kinds = FILE_KINDS.filter((kind) => values[`kind_${kind}`] === true);
  const had = FILE_KINDS.filter((kind) => (before.kinds ?? []).includes(kind));
  if (kinds.join() !== had.join()) attachments.kinds = kinds;

  return { body: errors.length || !Object.keys(attachments).length ? null : { attachments }, errors };
}
