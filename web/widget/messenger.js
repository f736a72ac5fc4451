// The messenger inside the widget's iframe (/messenger).
//
// It waits for `boot` from the host page's loader, starts the visitor's
// session (`POST /widget/v1/boot`, token kept in localStorage), and shows
// the conversation list or the start screen, a thread, and the composer.
// A live socket brings team replies and typing; the unread count of team
// messages goes back to the loader for the launcher's badge.

import { html, render, append } from '../shared/html.js';
import { LiveSocket } from '../shared/live.js';
import {
  WidgetApi, bootRequest, updateRequest, loadSession, saveSession, forgetSession, endSession,
} from './api.js';
import { ConversationStore, isTeamAuthor } from './store.js';
import { headerView } from './header.js';
import { conversationListView, startView } from './conversations.js';
import { threadView, partView } from './thread.js';
import { Composer } from './composer.js';
import { HostChannel } from './host.js';

const TYPING_SHOWN_MS = 4000;
const RECONNECT_NOTICE_AFTER_MS = 2000;
const READ_DELAY_MS = 300;
const LIST_REFRESH_DELAY_MS = 200;
const REBOOT_AT_MOST_EVERY_MS = 30_000;

const els = {
  root: document.getElementById('messenger'),
  header: document.getElementById('header'),
  connection: document.getElementById('connection'),
  body: document.getElementById('body'),
  typing: document.getElementById('typing'),
};

const state = {
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

const store = new ConversationStore();
const api = new WidgetApi(() => rebootAfterRefusal());
const host = new HostChannel(onCommand);
const composer = new Composer(document.getElementById('composer'), {
  onSend: (text) => send(text),
  onTyping: () => {
    if (state.view === 'thread' && state.openId && state.live) {
      state.live.send({ type: 'typing', conversation_id: state.openId });
    }
  },
});

let commandChain = Promise.resolve();

// ---------------------------------------------------------------- commands

function onCommand(command) {
  switch (command.cmd) {
    case 'open':
      setOpen(true);
      break;
    case 'close':
      setOpen(false);
      break;
    case 'shutdown':
      // Only this app's visitor is forgotten, whatever the host page says.
      shutdown(state.appId);
      break;
    default:
      // boot, update and track run in order: track waits for the session.
      commandChain = commandChain
        .then(() => runCommand(command))
        .catch((error) => console.warn(`rapport: ${command.cmd} failed`, error));
  }
}

async function runCommand(command) {
  if (command.cmd === 'boot') {
    if (!command.settings || typeof command.settings.app_id !== 'string') return;
    applyTheme(command.theme);
    await boot(command.settings);
  } else if (command.cmd === 'update') {
    if (!api.session || !command.props || typeof command.props !== 'object') return;
    const props = command.props;
    // A visitor who signs in on the page: boot again as that user.
    if (props.user_id !== undefined && String(props.user_id) !== String(state.settings.user_id ?? '')) {
      await boot({ ...state.settings, ...props });
      return;
    }
    state.settings = { ...state.settings, ...props };
    const body = updateRequest(props);
    if (Object.keys(body).length) await api.update(body);
  } else if (command.cmd === 'track') {
    if (!api.session || typeof command.name !== 'string') return;
    await api.track(command.name, command.params && typeof command.params === 'object' ? command.params : {});
  }
}

function applyTheme(theme) {
  const accent = theme?.accent;
  if (typeof accent === 'string' && globalThis.CSS?.supports?.('color', accent)) {
    document.documentElement.style.setProperty('--rapport-accent', accent);
  }
}

// ---------------------------------------------------------------- session

async function boot(settings) {
  // The page's framing policy is the URL's app's: booting another app here
  // would show it on sites that app never allowed.
  if (!state.appId || settings.app_id !== state.appId) {
    console.error('rapport: boot refused: its app_id is not the one this messenger was loaded for');
    if (!api.session) showError('This chat is not set up correctly on this page.', false);
    return;
  }
  const generation = ++state.generation;
  clearTimeout(state.bootRetryTimer);
  clearTimeout(state.rebootTimer);
  state.rebootTimer = null;
  state.settings = settings;
  // Booting again (another user signed in): the thread in view comes back
  // if it is still this visitor's.
  const reopen = state.view === 'thread' ? state.openId : null;
  stopLive();
  resetConversations();
  showLoading();

  const stored = loadSession(state.appId);
  let answer;
  try {
    answer = await api.boot(bootRequest(settings, stored));
  } catch (error) {
    if (generation !== state.generation) return;
    // A stored session the server no longer knows is not an error (it starts
    // a new visitor); 401 means identity verification refused the user_id.
    bootFailed(error, settings);
    return;
  }
  if (generation !== state.generation) return;
  if (!answer?.session) {
    bootFailed(new Error('boot answered without a session'), settings);
    return;
  }
  state.bootRetryDelay = 2000;
  api.session = answer.session;
  saveSession(state.appId, answer.session);
  state.workspace = answer.workspace ?? { name: '' };
  state.team = Array.isArray(answer.team) ? answer.team : [];
  startLive();
  await refreshConversations();
  if (reopen && generation === state.generation && store.has(reopen)) {
    await openThread(reopen);
    if (state.isOpen) focusPrimary();
  }
}

function bootFailed(error, settings) {
  console.warn('rapport: boot failed', error);
  if (error.status === 404) {
    showError('This chat is not available.', false);
  } else if (error.status === 401 || error.status === 403) {
    showError('We could not confirm who you are. Please reload the page.', false);
  } else if (error.status === 422) {
    showError('This chat is not set up correctly on this page.', false);
  } else {
    showError('We cannot reach the chat right now. Retrying…', true);
    state.bootRetryTimer = setTimeout(() => {
      commandChain = commandChain.then(() => boot(settings));
    }, state.bootRetryDelay);
    state.bootRetryDelay = Math.min(state.bootRetryDelay * 2, 30_000);
  }
}

// The server refused the session (revoked, shut down elsewhere, expired,
// or the contact changed identity or was merged): start again as a new
// visitor, at most once in a while so a broken setup cannot loop; a
// refusal inside that window reboots when it ends.
function rebootAfterRefusal() {
  if (!state.settings) return;
  const now = Date.now();
  const wait = state.lastReboot + REBOOT_AT_MOST_EVERY_MS - now;
  if (wait > 0) {
    if (!state.rebootTimer) {
      state.rebootTimer = setTimeout(() => {
        state.rebootTimer = null;
        rebootAfterRefusal();
      }, wait);
    }
    return;
  }
  state.lastReboot = now;
  forgetSession(state.appId);
  api.session = null;
  const settings = state.settings;
  commandChain = commandChain.then(() => boot(settings));
}

function shutdown(appId) {
  state.generation++;
  clearTimeout(state.bootRetryTimer);
  clearTimeout(state.rebootTimer);
  state.rebootTimer = null;
  // End the session on the server too, so the token stops working even if
  // someone kept a copy; not awaited: the messenger resets at once.
  const session = api.session ?? (appId ? loadSession(appId) : null);
  endSession(session);
  if (appId) forgetSession(appId);
  stopLive();
  api.session = null;
  state.settings = null;
  resetConversations();
  composer.clearDrafts();
  composer.show(false);
  render(els.header, html``);
  render(els.body, html``);
  host.post({ rapport: 'shutdown' });
}

function resetConversations() {
  store.clear();
  state.pending.clear();
  state.parts = [];
  state.partIds.clear();
  state.openId = null;
  state.postedUnread = null;
  hideTyping();
}

// ---------------------------------------------------------------- live

function startLive() {
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
    revoked: () => rebootAfterRefusal(),
  });
  state.live = live;
  live.start();
}

function stopLive() {
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

let typingTimer = null;
function onTypingFrame(frame) {
  if (state.view !== 'thread' || !state.openId || frame.conversation_id !== state.openId) return;
  const name = frame.agent?.name || 'Someone';
  // The live region stays in place (only its text changes) so screen
  // readers announce it; empty, it takes no room.
  render(els.typing, html`${name} is typing…`);
  els.typing.dataset.conversationId = frame.conversation_id;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
}

function hideTyping(conversationId) {
  if (conversationId && els.typing.dataset.conversationId !== conversationId) return;
  clearTimeout(typingTimer);
  els.typing.dataset.conversationId = '';
  render(els.typing, html``);
}

// ---------------------------------------------------------------- unread

function isViewing(conversationId) {
  return (
    state.isOpen &&
    document.visibilityState === 'visible' &&
    state.view === 'thread' &&
    state.openId === conversationId
  );
}

function postUnread() {
  const count = store.unreadTotal();
  if (count === state.postedUnread) return;
  state.postedUnread = count;
  host.post({ rapport: 'unread', count });
}

const readTimers = new Map();
/** Read receipt for the conversation in view, once a burst of messages settles. */
function readSoon(conversationId) {
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

function readIfViewing() {
  if (state.openId && isViewing(state.openId)) readSoon(state.openId);
}

document.addEventListener('visibilitychange', readIfViewing);

// ---------------------------------------------------------------- views

function context() {
  return { workspaceName: state.workspace?.name || '' };
}

function renderHeader() {
  const back = state.view === 'thread' || (state.view === 'start' && store.size > 0);
  render(els.header, headerView({ workspace: state.workspace, team: state.team, back }));
}

function settle(view) {
  state.view = view;
  els.root.setAttribute('aria-busy', 'false');
  els.root.dataset.view = view;
}

function showLoading() {
  state.view = 'loading';
  composer.show(false);
  render(els.body, html`<p class="loading">Loading…</p>`);
}

function showError(message, retrying) {
  settle('error');
  composer.show(false);
  render(els.header, headerView({ workspace: state.workspace, team: state.team }));
  render(
    els.body,
    html`<div class="error" role="alert">
      <p>${message}</p>
      ${retrying ? html`<button type="button" class="primary-button" data-action="retry-boot">Try again now</button>` : ''}
    </div>`,
  );
}

function showList() {
  const focused = document.activeElement?.closest?.('[data-conversation-id]')?.dataset.conversationId;
  const keepScroll = state.view === 'list' ? els.body.scrollTop : 0;
  settle('list');
  state.openId = null;
  hideTyping();
  renderHeader();
  composer.show(false);
  render(els.body, conversationListView(store.sorted(), context()));
  els.body.scrollTop = keepScroll;
  if (focused) focusConversationItem(focused);
}

function showStart(chosen) {
  settle('start');
  state.startChosen = chosen;
  state.openId = null;
  hideTyping();
  renderHeader();
  render(els.body, startView({ team: state.team }));
  composer.useDraft('new');
  composer.setPlaceholder('Write your message…');
  composer.show(true);
}

async function openThread(conversationId) {
  settle('thread');
  state.openId = conversationId;
  state.parts = [];
  state.partIds.clear();
  hideTyping();
  renderHeader();
  render(els.body, html`<p class="loading">Loading…</p>`);
  composer.useDraft(conversationId);
  composer.setPlaceholder('Write a reply…');
  composer.show(true);
  await loadThread(conversationId);
}

async function loadThread(conversationId) {
  let answer;
  try {
    answer = await api.conversation(conversationId);
  } catch (error) {
    if (state.openId !== conversationId) return;
    render(
      els.body,
      html`<div class="error" role="alert"><p>${error.visitorMessage}</p>
        <button type="button" class="primary-button" data-action="reload-thread">Try again</button></div>`,
    );
    return;
  }
  if (state.view !== 'thread' || state.openId !== conversationId) return;
  const parts = (answer?.parts ?? []).filter((part) => !part.type || part.type === 'comment');
  state.parts = parts;
  state.partIds = new Set(parts.map((part) => part.id));
  if (answer?.conversation) store.upsert(answer.conversation);
  const waiting = [...state.pending.values()].filter((p) => p.conversationId === conversationId);
  render(els.body, threadView([...parts, ...waiting], context()));
  scrollToBottom();
  readIfViewing();
}

/** Appends what the server has and the thread does not show yet. */
async function syncThread(conversationId) {
  let answer;
  try {
    answer = await api.conversation(conversationId);
  } catch (error) {
    console.warn('rapport: thread refresh failed', error);
    return;
  }
  if (state.view !== 'thread' || state.openId !== conversationId) return;
  if (answer?.conversation) store.upsert(answer.conversation);
  for (const part of answer?.parts ?? []) {
    if (!part.type || part.type === 'comment') appendPart(part);
  }
}

function logElement() {
  return document.getElementById('log');
}

/** The nodes of a fragment, for replacing one element in place. */
function nodesOf(fragment) {
  const holder = document.createElement('template');
  render(holder, fragment);
  return [...holder.content.childNodes];
}

function appendPart(part) {
  if (part.id && state.partIds.has(part.id)) return;
  if (part.author?.type === 'contact') {
    // The echo of a message this messenger is still sending.
    const mine = [...state.pending.values()].find(
      (p) => p.conversationId === state.openId && p.body === part.body && !p.failed,
    );
    if (mine) {
      settleSend(mine, part);
      return;
    }
  }
  addToLog(part);
}

function addToLog(part, { own = false } = {}) {
  // Parts being sent stay in state.pending until stored.
  if (!part.tempId) {
    if (part.id) state.partIds.add(part.id);
    state.parts.push(part);
  }
  const log = logElement();
  if (!log) return;
  const nearBottom = els.body.scrollHeight - els.body.scrollTop - els.body.clientHeight < 80;
  document.getElementById('log-empty')?.remove();
  append(log, partView(part, context()));
  if (nearBottom || own) scrollToBottom();
}

function scrollToBottom() {
  els.body.scrollTop = els.body.scrollHeight;
}

function pendingNode(pending) {
  return logElement()?.querySelector(`[data-temp-id="${CSS.escape(pending.tempId)}"]`) ?? null;
}

function redrawPending(pending) {
  const node = pendingNode(pending);
  if (node) node.replaceWith(...nodesOf(partView(pending, context())));
}

// ---------------------------------------------------------------- sending

function send(text) {
  const pending = {
    tempId: `tmp-${++state.pendingSeq}`,
    pending: true,
    failed: null,
    body: text,
    author: { type: 'contact' },
    conversationId: state.view === 'thread' ? state.openId : null,
  };
  if (state.view !== 'thread') {
    // The start screen becomes the new conversation's thread.
    settle('thread');
    state.openId = null;
    state.parts = [];
    state.partIds.clear();
    renderHeader();
    render(els.body, threadView([], context()));
    composer.setPlaceholder('Write a reply…');
  }
  state.pending.set(pending.tempId, pending);
  addToLog(pending, { own: true });
  deliver(pending);
}

async function deliver(pending) {
  if (pending.failed) {
    pending.failed = null;
    pending.pending = true;
    redrawPending(pending);
  }
  try {
    if (!pending.conversationId && state.creating) {
      // A second message while the first one is still creating the
      // conversation goes into that conversation.
      const id = await state.creating;
      if (id) pending.conversationId = id;
    }
    if (pending.conversationId) {
      const message = await api.sendMessage(pending.conversationId, pending.body);
      settleSend(pending, message);
    } else {
      const started = api.startConversation(pending.body);
      const creating = started.then((answer) => answer?.conversation?.id ?? null, () => null);
      state.creating = creating;
      creating.then(() => {
        if (state.creating === creating) state.creating = null;
      });
      const answer = await started;
      const conversation = answer?.conversation;
      if (!conversation?.id) throw new Error('no conversation in the answer');
      pending.conversationId = conversation.id;
      store.upsert(conversation, answer.message);
      if (state.view === 'thread' && state.openId === null) {
        state.openId = conversation.id;
        composer.renameDraft(conversation.id);
      }
      settleSend(pending, answer.message);
      // Anything the team or a bot said meanwhile.
      if (state.openId === conversation.id) syncThread(conversation.id);
      postUnread();
    }
  } catch (error) {
    if (!state.pending.has(pending.tempId)) return;
    pending.pending = false;
    pending.failed = error.visitorMessage || 'Not sent.';
    redrawPending(pending);
  }
}

/** A message being sent is stored: its bubble becomes the stored part. */
function settleSend(pending, message) {
  if (!state.pending.delete(pending.tempId)) return;
  const node = pendingNode(pending);
  if (!message?.id) {
    node?.remove();
    return;
  }
  if (pending.conversationId) store.receive(pending.conversationId, message);
  const part = { ...message, author: { type: 'contact', ...message.author } };
  if (state.partIds.has(part.id)) {
    node?.remove();
    return;
  }
  state.partIds.add(part.id);
  state.parts.push(part);
  if (node) node.replaceWith(...nodesOf(partView(part, context())));
  if (state.view === 'list') showList();
}

// ---------------------------------------------------------------- list

let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshConversations, LIST_REFRESH_DELAY_MS);
}

async function refreshConversations() {
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
      showError('We cannot load your conversations right now.', false);
    }
  } finally {
    state.listLoading = false;
    if (state.listAgain) {
      state.listAgain = false;
      scheduleRefresh();
    }
  }
}

setInterval(() => {
  // Keep "5m" ages honest without disturbing someone reading.
  if (state.view === 'list' && state.isOpen && document.visibilityState === 'visible') showList();
}, 60_000);

// ---------------------------------------------------------------- focus and open

function setOpen(open) {
  state.isOpen = open;
  if (!open) return;
  focusPrimary();
  readIfViewing();
}

function focusPrimary() {
  if (composer.visible) {
    composer.focus();
    return;
  }
  const first = els.body.querySelector('[data-conversation-id], button');
  (first ?? els.body).focus({ preventScroll: true });
}

function focusConversationItem(conversationId) {
  const item = els.body.querySelector(`[data-conversation-id="${CSS.escape(conversationId)}"]`);
  if (item) item.focus({ preventScroll: true });
  return !!item;
}

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && !event.defaultPrevented) {
    event.preventDefault();
    host.post({ rapport: 'close' });
  }
});

document.addEventListener('click', (event) => {
  const target = event.target.closest?.('[data-action], [data-conversation-id]');
  if (!target || !els.root.contains(target)) return;
  const action = target.dataset.action;
  if (!action && target.dataset.conversationId) {
    openThread(target.dataset.conversationId);
    composer.focus();
    return;
  }
  switch (action) {
    case 'close':
      host.post({ rapport: 'close' });
      break;
    case 'back': {
      const from = state.openId;
      if (store.size) {
        showList();
        if (!from || !focusConversationItem(from)) focusPrimary();
      } else {
        showStart(false);
        composer.focus();
      }
      break;
    }
    case 'new':
      showStart(true);
      composer.focus();
      break;
    case 'retry': {
      const pending = state.pending.get(target.dataset.tempId);
      if (pending) deliver(pending);
      break;
    }
    case 'retry-boot':
      if (state.settings) {
        const settings = state.settings;
        commandChain = commandChain.then(() => boot(settings));
      }
      break;
    case 'reload-thread':
      if (state.openId) openThread(state.openId);
      break;
  }
});

// ---------------------------------------------------------------- start

if (host.embedded) {
  host.announceReady();
} else {
  settle('error');
  render(
    els.body,
    html`<div class="error"><p>This page is the chat window of the Rapport widget. Add /widget.js to your site to use it.</p></div>`,
  );
}
