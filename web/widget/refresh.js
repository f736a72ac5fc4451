// The visitor's conversation list, read again when something new may be in
// it (a conversation started, a message in one not known yet), one read at
// a time: a change during a read schedules another. The first answer after
// a boot picks the screen: the list, or the start screen when there is none.

import { els, state, store, api, composer } from './context.js';
import { showList, showStart, showError, renderHeader, focusPrimary } from './screens.js';
import { postUnread, isViewing } from './unread.js';
import { t } from './i18n.js';

const LIST_REFRESH_DELAY_MS = 200;

let refreshTimer = null;
export function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshConversations, LIST_REFRESH_DELAY_MS);
}

export async function refreshConversations() {
  if (!api.session) return;
  if (state.listLoading) {
    state.listAgain = true;
    return;
  }
  const generation = state.generation;
  state.listLoading = true;
  try {
    const answer = await api.conversations();
    if (generation !== state.generation) return;
    store.replace(answer?.data ?? []);
    if (state.view === 'thread' && state.openId && isViewing(state.openId)) store.markRead(state.openId);
    if (state.view === 'loading' || state.view === 'error') {
      if (store.size) showList();
      else showStart(false);
      if (state.isOpen) focusPrimary();
    } else if (state.view === 'start' && !state.startChosen && store.size && composer.isEmpty) {
      // The team wrote first: show it.
      const hadFocus = els.root.contains(document.activeElement);
      showList();
      if (hadFocus) focusPrimary();
    } else if (state.view === 'list') {
      showList();
    } else if (state.view === 'start') {
      renderHeader();
    }
    postUnread();
  } catch (error) {
    if (generation !== state.generation) return;
    console.warn('rapport: conversations failed', error);
    if (state.view === 'loading') {
      showError(t('cannotLoad'), false);
    }
  } finally {
    state.listLoading = false;
    if (state.listAgain) {
      state.listAgain = false;
      scheduleRefresh();
    }
  }
}
