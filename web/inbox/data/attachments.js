// Files attached to messages: uploading one (POST /attachments with the
// file's bytes as the body, before the message that carries it is sent),
// where one is downloaded from, and the parts with no DOM that the
// composer, the thread and the list share: sizes in words, which files a
// paste or a drop carries, a file over the workspace's size limit, and a
// message's attachments in one line.

import { sendFile } from './api.js';
import { isTooLarge } from '../../shared/file-kinds.js';

/** The server's default cap; the composer refuses more before uploading. */
export const MAX_ATTACHMENTS = 10;

// Served inline (and so shown inline); other types are downloads.
const INLINE_IMAGE = /^image\/(?:png|jpeg|gif|webp)$/i;

/** Where an attachment is read: images inline, other files as downloads. */
export const attachmentUrl = (id) => `/api/v1/attachments/${encodeURIComponent(id)}`;

/**
 * Uploads `file`; resolves with `{id, name, content_type, size, width?, height?}`.
 * `onProgress(sent, total)` as it goes. A refusal throws ApiError (413, 422).
 */
export function uploadAttachment(file, { name = file.name, onProgress, signal } = {}) {
  const path = `/api/v1/attachments?name=${encodeURIComponent(name || 'file')}`;
  return sendFile(path, file, { onProgress, signal });
}

/** What a refused upload says: the field's message, else the problem's detail. */
export function uploadError(error) {
  const fields = error?.fieldErrors ?? {};
  return fields.file || fields.name || error?.message || 'Could not upload the file.';
}

/** Why `file` is refused before uploading (over `maxBytes`, the workspace's limit), or null. */
export function sizeRefusal(file, maxBytes) {
  return isTooLarge(file, maxBytes) ? `Too large: this workspace takes files up to ${formatSize(maxBytes)}.` : null;
}

/** Whether an attachment is an image the thread shows inline. */
export const isInlineImage = (attachment) => INLINE_IMAGE.test(attachment?.content_type ?? '');

const UNITS = ['KB', 'MB', 'GB'];

/** `12 KB`, `1.5 MB`, `512 bytes` (1 KB = 1024 bytes, as file managers mostly count). */
export function formatSize(bytes) {
  if (bytes === null || bytes === undefined || bytes === '') return '';
  let size = Number(bytes);
  if (!Number.isFinite(size) || size < 0) return '';
  if (size < 1024) return size === 1 ? '1 byte' : `${Math.round(size)} bytes`;
  let unit = -1;
  while (size >= 1024 && unit < UNITS.length - 1) {
    size /= 1024;
    unit += 1;
  }
  // One decimal under 10 (1.5 MB), whole numbers above (12 KB); never "10.0".
  const shown = size < 10 ? Math.round(size * 10) / 10 : Math.round(size);
  if (shown >= 1024 && unit < UNITS.length - 1) return `1 ${UNITS[unit + 1]}`;
  return `${shown} ${UNITS[unit]}`;
}

/** Whether a drag carries files (not text or a link being dragged about). */
export function carriesFiles(transfer) {
  return [...(transfer?.types ?? [])].includes('Files');
}

/** The files in a DataTransfer (or anything shaped like one): `files`, else its file items. */
function filesOf(transfer) {
  const files = [...(transfer?.files ?? [])];
  if (files.length) return files;
  return [...(transfer?.items ?? [])]
    .filter((item) => item.kind === 'file')
    .map((item) => item.getAsFile())
    .filter(Boolean);
}

/** The files a drop brings. */
export function droppedFiles(transfer) {
  return carriesFiles(transfer) ? filesOf(transfer) : [];
}

/**
 * The files a paste brings, or none when it is text: a spreadsheet's or a
 * word processor's cells also come with a picture of themselves, and the
 * agent pasting them wants the text. A screenshot, or an image copied from
 * a web page, comes without plain text and is attached.
 */
export function pastedFiles(transfer) {
  const types = [...(transfer?.types ?? [])];
  if (types.includes('text/plain') && (transfer.getData?.('text/plain') ?? '') !== '') return [];
  return filesOf(transfer);
}

/**
 * A name for a pasted file: the clipboard calls every screenshot
 * `image.png`, so one gets the time it was pasted (`pasted-2024-05-01-142233.png`).
 */
export function pastedFileName(file, now = new Date()) {
  const name = file?.name ?? '';
  if (name && !/^image\.\w+$/i.test(name)) return name;
  const extension = /\.(\w+)$/.exec(name)?.[1] ?? file?.type?.split('/')[1]?.replace(/[^a-z0-9]/gi, '') ?? 'bin';
  const pad = (n) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-`
    + `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `pasted-${stamp}.${extension || 'bin'}`;
}

/** A message's attachments in a few words: `photo.png`, `photo.png and 2 more`, or ''. */
export function attachmentsInWords(attachments) {
  const list = Array.isArray(attachments) ? attachments : [];
  if (!list.length) return '';
  const first = list[0]?.name || 'a file';
  return list.length === 1 ? first : `${first} and ${list.length - 1} more`;
}

/**
 * A message's text for one line (the list's preview, an announcement, a
 * notification): its body, or, when it has none, `📎 photo.png`.
 */
export function messageInOneLine(body, attachments) {
  const text = String(body ?? '').trim();
  if (text) return text;
  const files = attachmentsInWords(attachments);
  return files ? `📎 ${files}` : '';
}
