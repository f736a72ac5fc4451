// The messenger's screens: loading, an error, the conversation list, the
// start screen ("Send us a message") and a thread, each with its header
// and the composer shown or hidden; and where focus goes on each. The
// "Search help" screen is help-screen.js's.

import { html, render } from '../shared/html.js';
import { els, state, store, api, composer, viewContext } from './context.js';
import { headerView } from './header.js';
import { conversationListView, startView } from './conversations.js';
import { threadView } from './thread.js';
import { hideTyping } from './typing.js';
import { readIfViewing } from './unread.js';
import { appendPart, scrollToBottom } from './thread-log.js';
import { refreshPrompt } from './bot-replies.js';
import { refreshRating } from './rating.js';
import { t } from './i18n.js';

export function renderHeader() {
  const back = state.view === 'thread' || state.view === 'help' || (state.view === 'start' && store.size > 0);
  const help = ['list', 'start', 'thread'].includes(state.view);
  render(els.header, headerView({ workspace: state.workspace, team: state.team, back, help }));
}

export function settle(view) {
  state.view = view;
  els.root.setAttribute('aria-busy', 'false');
  els.root.dataset.view = view;
}

export function showLoading() {
  state.view = 'loading';
  composer.show(false);
  render(els.body, html`<p class="loading">${t('loading')}</p>`);
}

export function showError(message, retrying) {
  settle('error');
  composer.show(false);
  render(els.header, headerView({ workspace: state.workspace, team: state.team }));
  render(
    els.body,
    html`<div class="error" role="alert">
      <p>${message}</p>
      ${retrying ? html`<button type="button" class="primary-button" data-action="retry-boot">${t('tryAgainNow')}</button>` : ''}
    </div>`,
  );
}

export function showList() {
  const focused = document.activeElement?.closest?.('[data-conversation-id]')?.dataset.conversationId;
  const keepScroll = state.view === 'list' ? els.body.scrollTop : 0;
  settle('list');
  state.openId = null;
  hideTyping();
  renderHeader();
  composer.show(false);
  composer.setAnswer(null);
  render(els.body, conversationListView(store.sorted(), viewContext()));
  els.body.scrollTop = keepScroll;
  if (focused) focusConversationItem(focused);
}

export function showStart(chosen) {
  settle('start');
  state.startChosen = chosen;
  state.openId = null;
  hideTyping();
  renderHeader();
  render(els.body, startView({ team: state.team }));
  composer.useDraft('new');
  composer.setAnswer(null);
  composer.setPlaceholder(t('writeMessage'));
  composer.show(true);
}

export async function openThread(conversationId) {
  settle('thread');
  state.openId = conversationId;
  state.rating = null;
  state.parts = [];
  state.partIds.clear();
  hideTyping();
  renderHeader();
  render(els.body, html`<p class="loading">${t('loading')}</p>`);
  composer.useDraft(conversationId);
  composer.setAnswer(null);
  composer.setPlaceholder(t('writeReply'));
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
        <button type="button" class="primary-button" data-action="reload-thread">${t('tryAgain')}</button></div>`,
    );
    return;
  }
  if (state.view !== 'thread' || state.openId !== conversationId) return;
  const parts = (answer?.parts ?? []).filter((part) => !part.type || part.type === 'comment');
  state.parts = parts;
  state.partIds = new Set(parts.map((part) => part.id));
  if (answer?.conversation) store.upsert(answer.conversation);
  const waiting = [...state.pending.values()].filter((p) => p.conversationId === conversationId);
  render(els.body, threadView([...parts, ...waiting], viewContext()));
  refreshPrompt();
  refreshRating(answer?.rating ?? null);
  scrollToBottom();
  readIfViewing();
}

/** Appends what the server has and the thread does not show yet. */
export async function syncThread(conversationId) {
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

export function focusPrimary() {
  if (composer.visible) {
    composer.focus();
    return;
  }
  const first = els.body.querySelector('#help-query, [data-conversation-id], button');
  (first ?? els.body).focus({ preventScroll: true });
}

export function focusConversationItem(conversationId) {
  const item = els.body.querySelector(`[data-conversation-id="${CSS.escape(conversationId)}"]`);
  if (item) item.focus({ preventScroll: true });
  return !!item;
}
