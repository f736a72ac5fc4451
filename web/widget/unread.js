// The unread count of team messages: posted to the loader for the
// launcher's badge, and read receipts for the conversation in view once a
// burst of messages settles.

import { state, store, api, host } from './context.js';

const READ_DELAY_MS = 300;

/** Whether the visitor can see this conversation now. */
export function isViewing(conversationId) {
  return (
    state.isOpen &&
    document.visibilityState === 'visible' &&
    state.view === 'thread' &&
    state.openId === conversationId
  );
}

export function postUnread() {
  const count = store.unreadTotal();
  if (count === state.postedUnread) return;
  state.postedUnread = count;
  host.post({ rapport: 'unread', count });
}

const readTimers = new Map();
/** Read receipt for the conversation in view, once a burst of messages settles. */
export function readSoon(conversationId) {
  store.markRead(conversationId);
  postUnread();
  clearTimeout(readTimers.get(conversationId));
  readTimers.set(
    conversationId,
    setTimeout(() => {
      readTimers.delete(conversationId);
      if (!api.session) return;
      api.markRead(conversationId).catch((error) => console.warn('rapport: read receipt failed', error));
    }, READ_DELAY_MS),
  );
}

export function readIfViewing() {
  if (state.openId && isViewing(state.openId)) readSoon(state.openId);
}
