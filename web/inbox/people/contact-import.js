// Importing contacts from a CSV, the parts with no DOM: the answer is a
// stream of JSON lines (application/x-ndjson), read as it arrives, and
// folded into the progress the import page shows. Touches no DOM, so that
// `node --test` can load it.

/** The server lists at most this many row errors (it counts them all in `failed`). */
export const MAX_LISTED_ERRORS = 1000;

/**
 * Splits text that arrives in pieces into whole lines: `push(piece)`
 * returns the lines it completed, `flush()` the last one if the text did
 * not end with a newline. `\r\n` counts as one line end.
 */
export function createLineSplitter() {
  let rest = '';
  return {
    push(piece) {
      rest += piece;
      const lines = rest.split('\n');
      rest = lines.pop();
      return lines.map((line) => line.replace(/\r$/, ''));
    },
    flush() {
      const last = rest.replace(/\r$/, '');
      rest = '';
      return last ? [last] : [];
    },
  };
}

function parseLine(line) {
  try {
    return JSON.parse(line);
  } catch {
    return { type: 'invalid', text: line };
  }
}

/**
 * The JSON values of a response body's lines, as they arrive (blank lines
 * skipped; a line that is not JSON comes as `{type: 'invalid', text}`).
 * A multi-byte character split across chunks is decoded whole.
 */
export async function* ndjsonItems(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const splitter = createLineSplitter();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      const lines = done ? splitter.push(decoder.decode()).concat(splitter.flush()) : splitter.push(decoder.decode(value, { stream: true }));
      for (const line of lines) {
        if (line.trim()) yield parseLine(line);
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

export function startProgress() {
  return { rows: 0, created: 0, updated: 0, failed: 0, errors: [], done: false };
}

/** The progress after one line of the answer (a new object; `errors` grows in place). */
export function applyImportLine(progress, item) {
  switch (item?.type) {
    case 'error':
      if (progress.errors.length < MAX_LISTED_ERRORS) {
        progress.errors.push({ line: item.line ?? null, field: item.field ?? null, message: item.message ?? '' });
      }
      return progress;
    case 'progress':
    case 'done':
      return {
        ...progress,
        rows: item.rows ?? progress.rows,
        created: item.created ?? progress.created,
        updated: item.updated ?? progress.updated,
        failed: item.failed ?? progress.failed,
        done: progress.done || item.type === 'done',
      };
    default:
      return progress;
  }
}
