// Settings > Saved replies, the parts with no DOM: a form's values checked
// and turned into the body of POST / PUT /saved-replies. Touches no DOM,
// so that `node --test` can load it.

export const MAX_TITLE = 120;
export const MAX_SHORTCUT = 40;

/**
 * `{title, shortcut, body}` as `{body, errors: [{field, message}]}`.
 * `replies`: the ones listed, `id`: the one being edited (null for a new
 * one), so a shortcut taken in the same scope is said before sending.
 */
export function savedReplyRequest({ title, shortcut, body }, { replies = [], id = null } = {}) {
  const errors = [];
  const name = String(title ?? '').trim();
  if (!name) errors.push({ field: 'title', message: 'Give it a title.' });
  else if ([...name].length > MAX_TITLE) errors.push({ field: 'title', message: `At most ${MAX_TITLE} characters.` });
  else if (/[\r\n]/.test(name)) errors.push({ field: 'title', message: 'One line only.' });
  const key = String(shortcut ?? '').trim().replace(/^\//, '').toLowerCase();
  if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(key)) {
    errors.push({ field: 'shortcut', message: `1 to ${MAX_SHORTCUT} letters, digits, - or _, like refund-policy.` });
  } else {
    const editing = replies.find((r) => r.id === id);
    const scope = editing ? editing.owner_id ?? null : undefined;
    if (editing && replies.some((r) => r.id !== id && r.shortcut === key && (r.owner_id ?? null) === scope)) {
      errors.push({ field: 'shortcut', message: `Another saved reply has /${key}.` });
    }
  }
  const text = String(body ?? '');
  if (!text.trim()) errors.push({ field: 'body', message: 'Write the reply.' });
  return { body: errors.length ? null : { title: name, shortcut: key, body: text }, errors };
}
