// The Inbox's one live connection: activity, presence and typing frames go
// to the store; our own typing goes out, at most every 2 s per conversation.
// When the server closes it because the sign-in no longer works (4401:
// signed out elsewhere, removed, password changed), the Inbox asks for its
// session once: the 401 takes it to the sign-in page.

import { LiveSocket } from '../../shared/live.js';
import { get } from './api.js';
import { state, applyAgentPresence, applyPresence, setConnected } from './store.js';
import { applyActivity, applyTyping } from './activity.js';
import { loadList } from './conversation-list.js';
import { selectConversation } from './conversations.js';

function refreshAfterFirstConnect() {
  loadList();
  if (state.selectedId) selectConversation(state.selectedId);
}

const TYPING_EVERY_MS = 2000;

let live = null;
const lastTypingSent = new Map();

export function startLive() {
  stopLive();
  let readyOnce = false;
  live = new LiveSocket('/api/v1/live', () => ({}), {
    // The first hello starts from "now": whatever happened between the first
    // list read and that moment is read again once. Later reconnects resume
    // from the last seq and miss nothing.
    ready: () => {
      if (readyOnce) return;
      readyOnce = true;
      refreshAfterFirstConnect();
    },
    activity: applyActivity,
    presence: applyPresence,
    agent_presence: applyAgentPresence,
    typing: applyTyping,
    status: ({ connected }) => setConnected(connected),
    error: (frame) => console.warn('live:', frame.detail),
    // A 401 here signs the Inbox out (api.js tells app.js); a session that
    // still works gets a new socket.
    revoked: () => {
      get('/api/v1/session').then(() => startLive(), (error) => console.warn('live:', error.message));
    },
  });
  live.start();
}

export function stopLive() {
  live?.stop();
  live = null;
  lastTypingSent.clear();
}

/** Tell the visitor we are typing in this conversation (throttled). */
export function sendTyping(conversationId) {
  if (!live || !conversationId) return;
  const now = Date.now();
  if (now - (lastTypingSent.get(conversationId) ?? 0) < TYPING_EVERY_MS) return;
  if (live.send({ type: 'typing', conversation_id: conversationId })) {
    lastTypingSent.set(conversationId, now);
  }
}
