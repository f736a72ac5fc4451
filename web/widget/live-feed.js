// The visitor's live socket: team messages (and the visitor's own from
// other tabs), status changes and typing. Anything missed between the
// list and the socket's first hello is read again once.

import { LiveSocket } from '../shared/live.js';
import { els, state, store, api, hooks } from './context.js';
import { isTeamAuthor } from './store.js';
import { onTypingFrame, hideTyping } from './typing.js';
import { isViewing, postUnread, readSoon } from './unread.js';
import { appendPart } from './thread-log.js';
import { showList, syncThread } from './screens.js';
import { scheduleRefresh } from './refresh.js';
import { refreshRating } from './rating.js';

const RECONNECT_NOTICE_AFTER_MS = 2000;

export function startLive() {
  state.liveReadyOnce = false;
  const live = new LiveSocket('/widget/v1/live', () => ({ session: api.session }), {
    ready: () => {
      // Whatever happened between the list and the socket: fetch once more.
      if (state.liveReadyOnce) return;
      state.liveReadyOnce = true;
      if (store.loaded) scheduleRefresh();
      if (state.view === 'thread' && state.openId) syncThread(state.openId);
    },
    activity: onActivity,
    typing: onTypingFrame,
    status: ({ connected }) => showConnection(connected),
    error: (frame) => console.warn('rapport: live', frame.detail),
    // 4401: this session no longer works; boot again rather than retry it.
    revoked: () => hooks.refused(),
  });
  state.live = live;
  live.start();
}

export function stopLive() {
  if (state.live) state.live.stop();
  state.live = null;
  showConnection(true);
}

let connectionTimer = null;
function showConnection(connected) {
  clearTimeout(connectionTimer);
  if (connected || !state.liveReadyOnce) {
    els.connection.hidden = true;
    return;
  }
  connectionTimer = setTimeout(() => {
    els.connection.hidden = false;
  }, RECONNECT_NOTICE_AFTER_MS);
}

function onActivity(frame) {
  const conversationId = frame.conversation_id ?? frame.data?.conversation_id;
  if (!conversationId) return;
  if (frame.kind === 'message') {
    onMessage(conversationId, frame.data);
  } else if (frame.kind === 'conversation_started') {
    if (!store.has(conversationId)) scheduleRefresh();
  } else if (frame.kind === 'status_changed') {
    store.setStatus(conversationId, frame.data?.status);
    if (state.view === 'list') showList();
    if (state.view === 'thread' && state.openId === conversationId) refreshRating();
  }
}

function onMessage(conversationId, part) {
  if (!part || typeof part !== 'object' || (part.type && part.type !== 'comment')) return;
  if (state.listLoading) state.listAgain = true; // that list may predate this message
  const news = store.receive(conversationId, part);
  const fromTeam = isTeamAuthor(part.author);
  if (fromTeam) hideTyping(conversationId);

  if (state.view === 'thread' && state.openId === conversationId) {
    // A live part names its author only by id: fetch the thread for names.
    if (fromTeam && !part.author?.name) syncThread(conversationId);
    else appendPart(part);
  }
  if (news === null) {
    scheduleRefresh(); // a conversation we do not know yet: the list brings it
  } else if (news) {
    if (isViewing(conversationId)) readSoon(conversationId);
    else store.addUnread(conversationId);
  }
  if (state.view === 'list') showList();
  postUnread();
}
