// What the messenger's modules share: the page's elements, the messenger's
// state, the visitor's conversations, and the one API client, host channel
// and composer. Nothing here imports the messenger's other modules; what
// must call back into them (a refused session, a host command, a message to
// send) goes through `hooks`, which messenger.js fills at start-up.

import { WidgetApi } from './api.js';
import { ConversationStore } from './store.js';
import { Composer } from './composer.js';
import { HostChannel } from './host.js';

export const els = {
  root: document.getElementById('messenger'),
  header: document.getElementById('header'),
  connection: document.getElementById('connection'),
  body: document.getElementById('body'),
  typing: document.getElementById('typing'),
};

export const state = {
  /** The app this page was served for: its workspace's frame-ancestors apply, so no other app may boot here. */
  appId: new URLSearchParams(location.search).get('app_id'),
  settings: null,
  generation: 0, // bumps on each boot and shutdown; stale answers are dropped
  workspace: null,
  team: [],
  /** loading | error | start | list | thread */
  view: 'loading',
  /** The start screen was chosen from the list (not shown for lack of conversations). */
  startChosen: false,
  /** Conversation shown in the thread view; null while a new one is being created. */
  openId: null,
  /** The open thread's rating question (rating.js), or null. */
  rating: null,
  parts: [],
  partIds: new Set(),
  /** Messages being sent, by temporary id. */
  pending: new Map(),
  pendingSeq: 0,
  /** While the first message creates a conversation: a promise of its id. */
  creating: null,
  isOpen: false,
  postedUnread: null,
  live: null,
  liveReadyOnce: false,
  listLoading: false,
  listAgain: false,
  lastReboot: 0,
  bootRetryTimer: null,
  rebootTimer: null,
  bootRetryDelay: 2000,
};

/** Set by messenger.js: session.js answers refusals and commands, sending.js sends. */
export const hooks = {
  refused: () => {},
  command: () => {},
  send: () => {},
};

export const store = new ConversationStore();
export const api = new WidgetApi(() => hooks.refused());
export const host = new HostChannel((command) => hooks.command(command));
export const composer = new Composer(document.getElementById('composer'), {
  onSend: (text, files) => hooks.send(text, files),
  upload: (file, name, signal) => api.uploadAttachment(file, name, signal),
  onTyping: () => {
    if (state.view === 'thread' && state.openId && state.live) {
      state.live.send({ type: 'typing', conversation_id: state.openId });
    }
  },
});

/** What the part and list views need to know about the workspace. */
export function viewContext() {
  return { workspaceName: state.workspace?.name || '' };
}
