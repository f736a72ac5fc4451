// What a workspace takes as attachments (`{max_bytes, kinds}`: the Inbox's
// GET /workspace and the widget's boot answer), as both composers use it:
// whether files are taken at all, the file picker's `accept`, and whether a
// file is over the size limit before it is uploaded. Touches no DOM.

/** The kinds of file, in the server's order. */
export const FILE_KINDS = ['image', 'pdf', 'text', 'zip', 'office'];

// Types and extensions for the picker; the server judges a file by its bytes.
const ACCEPT = {
  image: ['image/png', 'image/jpeg', 'image/gif', 'image/webp', '.png', '.jpg', '.jpeg', '.gif', '.webp'],
  pdf: ['application/pdf', '.pdf'],
  text: ['text/plain', '.txt', '.csv', '.log', '.md'],
  zip: ['application/zip', '.zip'],
  office: [
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    '.docx', '.xlsx', '.pptx',
  ],
};

/**
 * Whether files are taken: unless the settings say no kind is. Settings
 * not known (not loaded, an older server) take files; the server judges.
 */
export function takesFiles(settings) {
  return !Array.isArray(settings?.kinds) || settings.kinds.length > 0;
}

/** The file input's `accept` for `kinds` ('' when they are not known: any file may be picked). */
export function acceptFor(kinds) {
  if (!Array.isArray(kinds)) return '';
  return FILE_KINDS.filter((kind) => kinds.includes(kind)).flatMap((kind) => ACCEPT[kind]).join(',');
}

/** The largest file in bytes: `max_bytes`, within `server_max_bytes` when given; null when not known. */
export function limitOf(settings) {
  const limits = [settings?.max_bytes, settings?.server_max_bytes].filter((n) => Number.isFinite(n) && n > 0);
  return limits.length ? Math.min(...limits) : null;
}

/** Whether `file` is over `maxBytes` (never when the limit is not known). */
export function isTooLarge(file, maxBytes) {
  return Number.isFinite(maxBytes) && maxBytes > 0 && Number(file?.size) > maxBytes;
}
