// The composer's saved replies, the parts with no DOM: whether the text
// before the caret is a `/shortcut` being typed, and which replies match
// it, best first. Touches no DOM, so that `node --test` can load it.

/** The most replies the list shows at once. */
export const SHOWN = 8;

/**
 * `{start, query}` when the text just before `caret` is `/` and a
 * (possibly empty) shortcut, at the start of the text or after a space or
 * a line break; else null.
 */
export function slashQuery(text, caret) {
  const before = String(text ?? '').slice(0, caret);
  const match = /(^|\s)\/([a-z0-9_-]{0,40})$/i.exec(before);
  if (!match) return null;
  return { start: before.length - match[2].length - 1, query: match[2].toLowerCase() };
}

/**
 * The replies `query` finds, at most `SHOWN`: shortcuts starting with it
 * first, then shortcuts holding it, then titles holding it; in each, the
 * list's own order (by shortcut, the workspace's first).
 */
export function matchReplies(replies, query) {
  const q = String(query ?? '').toLowerCase();
  const rank = (reply) => {
    const shortcut = String(reply.shortcut ?? '');
    if (shortcut.startsWith(q)) return 0;
    if (shortcut.includes(q)) return 1;
    if (String(reply.title ?? '').toLowerCase().includes(q)) return 2;
    return null;
  };
  return (replies ?? [])
    .map((reply, index) => ({ reply, index, rank: rank(reply) }))
    .filter((entry) => entry.rank !== null)
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .slice(0, SHOWN)
    .map((entry) => entry.reply);
}

/** The text with `start..caret` replaced by `inserted`, and where the caret goes. */
export function insertAt(text, start, caret, inserted) {
  const value = `${text.slice(0, start)}${inserted}${text.slice(caret)}`;
  return { value, caret: start + inserted.length };
}
