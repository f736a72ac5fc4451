// When the Inbox asks for attention, the parts with no DOM: which new
// messages notify a member (by their choice: all, mine, none), and the
// tab title with the unread count. Touches no DOM, so that `node --test`
// can load it.

export const NOTIFY_KEY = 'rapport.inbox.notify';
export const CHOICES = ['all', 'mine', 'none'];

/**
 * Whether a contact's message notifies: `choice` all, mine or none;
 * `conversation` as the list knows it (may be unknown: null), `startsIt`
 * whether the message started the conversation, `me` the member's id.
 */
export function notifies(choice, { conversation, startsIt, me }) {
  if (choice === 'none') return false;
  if (choice === 'all') return true;
  // Mine: new conversations (nobody has them yet) and replies in mine.
  if (startsIt) return true;
  return Boolean(conversation && conversation.assignee_id && conversation.assignee_id === me);
}

/** The title with `(n) ` in front when there are unread conversations. */
export function titleWith(count, title) {
  const base = String(title ?? '').replace(/^\(\d+\+?\) /, '');
  if (!count) return base;
  return `(${count > 99 ? '99+' : count}) ${base}`;
}
