// Files attached to messages, without the DOM: what the messenger checks
// before uploading, sizes in the visitor's words, which files show inline,
// how big an inline image is drawn, and what to tell the visitor when an
// upload is refused.

import { t, language } from './i18n.js';
import { isTooLarge } from '../shared/file-kinds.js';

/** The most files on one message (the server refuses more). */
export const MAX_PER_MESSAGE = 10;
/** The longest side of an image drawn in the thread, in CSS pixels. */
export const INLINE_IMAGE_MAX = 240;

// The image types the server takes; only these are drawn inline.
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** "512 B", "1.5 KB", "10 MB" in the language spoken (French says "Ko"). */
export function formatSize(bytes) {
  const size = Math.max(0, Number(bytes) || 0);
  const number = (value) => new Intl.NumberFormat(language(), { maximumFractionDigits: 1 }).format(value);
  if (size < 1024) return t('sizeBytes', { n: number(size) });
  if (size < 1024 * 1024) return t('sizeKilobytes', { n: number(size / 1024) });
  return t('sizeMegabytes', { n: number(size / (1024 * 1024)) });
}

/** The attachments a part carries (none when the server omitted them). */
export function attachmentsOf(part) {
  const list = part?.attachments;
  return Array.isArray(list) ? list.filter((a) => a && typeof a.id === 'string' && a.id) : [];
}

/** Whether an attachment is drawn as an image in the thread. */
export function isInlineImage(attachment) {
  return INLINE_TYPES.has(String(attachment?.content_type ?? '').toLowerCase());
}

/**
 * The size to draw an image of `width` × `height` at: within `max` on
 * both sides, its proportions kept, never enlarged; null when the server
 * gave no size (CSS then bounds it).
 */
export function fitImage(width, height, max = INLINE_IMAGE_MAX) {
  const [w, h] = [Number(width), Number(height)];
  if (!(w > 0 && h > 0)) return null;
  const scale = Math.min(1, max / w, max / h);
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

/** Whether two parts carry the same attachments (a live echo of a message being sent). */
export function sameAttachments(a, b) {
  const ids = (part) => attachmentsOf(part).map((x) => x.id).join(' ');
  return ids(a) === ids(b);
}

/** A part's attachments for the conversation list: "📎 photo.png", "📎 photo.png +2". */
export function attachmentSummary(part) {
  const list = attachmentsOf(part);
  if (!list.length) return '';
  const more = list.length > 1 ? ` +${list.length - 1}` : '';
  return `📎 ${list[0].name || t('file')}${more}`;
}

/** The name to upload a file with (a pasted image may have none). */
export function uploadName(file, index = 0) {
  const name = typeof file?.name === 'string' ? file.name.trim() : '';
  if (name) return name;
  const type = String(file?.type ?? '');
  const extension = type.startsWith('image/') ? `.${type.slice(6).replace('jpeg', 'jpg')}` : '';
  return `${type.startsWith('image/') ? 'image' : 'file'}${index ? `-${index + 1}` : ''}${extension}`;
}

/**
 * Why a file is not even uploaded (an i18n key), or null when it may be
 * tried: empty, or larger than `maxBytes` (the boot's `attachments.max_bytes`;
 * when it is not known the server judges, answering 413).
 */
export function precheck(file, maxBytes = null) {
  if (Number(file?.size) === 0) return 'fileEmpty';
  return isTooLarge(file, maxBytes) ? 'fileTooLargeMax' : null;
}

/**
 * What to tell the visitor when the upload of `file` failed with `error`
 * (an ApiError: `status`, `problem`), as an i18n key; and whether trying
 * again may help.
 */
export function uploadProblem(error, file) {
  const status = Number(error?.status);
  if (status === 413) return { key: 'fileTooLarge', retry: false };
  if (status === 422) {
    const fields = Array.isArray(error?.problem?.errors) ? error.problem.errors.map((e) => e?.field) : [];
    if (fields.includes('name') && !fields.includes('file')) return { key: 'fileNameRefused', retry: false };
    // The browser guesses a type from the name: a refused image that
    // looks like one is too big in pixels or damaged.
    return { key: INLINE_TYPES.has(String(file?.type ?? '')) ? 'imageRefused' : 'fileRefused', retry: false };
  }
  if (status === 429) return { key: 'uploadingTooFast', retry: true };
  if (status === 0) return { key: 'noConnection', retry: true };
  return { key: 'uploadFailed', retry: true };
}

/**
 * What the composer's uploads allow: `ready` (the attachments to send),
 * `uploading` (sending must wait), `canSend` (text or a ready file, and
 * nothing in flight).
 */
export function uploadsState(uploads, text = '') {
  const list = Array.isArray(uploads) ? uploads : [];
  const ready = list.filter((u) => u.status === 'ready' && u.attachment).map((u) => u.attachment);
  const uploading = list.some((u) => u.status === 'uploading');
  return { ready, uploading, canSend: !uploading && (String(text).trim() !== '' || ready.length > 0) };
}
