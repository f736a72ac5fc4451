// The messenger's "Search help" screen: reached from the header's search
// button, a search box searched as the visitor types (debounced; a newer
// answer wins), the matching help center articles, and back to where the
// visitor was.

import { render } from '../shared/html.js';
import { els, state, store, api, composer } from './context.js';
import { settle, renderHeader, showList, showStart, openThread } from './screens.js';
import { hideTyping } from './typing.js';
import { helpView, helpResultsView, MIN_QUERY } from './help.js';
import { t } from './i18n.js';

const SEARCH_DEBOUNCE_MS = 300;

const help = { query: '', status: 'idle', results: [], error: '', seq: 0, timer: null, from: null };

function drawResults() {
  const region = document.getElementById('help-results');
  if (region) render(region, helpResultsView(help));
}

async function search() {
  const q = help.query.trim();
  const seq = ++help.seq;
  if (q.length < MIN_QUERY) {
    help.status = 'idle';
    help.results = [];
    drawResults();
    return;
  }
  help.status = 'searching';
  drawResults();
  try {
    const answer = await api.helpSearch(state.appId, q);
    if (seq !== help.seq) return;
    help.results = Array.isArray(answer?.data) ? answer.data : [];
    help.status = 'done';
  } catch (error) {
    if (seq !== help.seq) return;
    help.results = [];
    help.status = 'error';
    help.error = error.status === 404 ? t('noArticles') : error.visitorMessage;
  }
  if (state.view === 'help') drawResults();
}

/** Shows the search screen, remembering the screen to go back to. */
export function showHelp() {
  if (state.view !== 'help') help.from = { view: state.view, openId: state.openId };
  settle('help');
  state.openId = null;
  hideTyping();
  renderHeader();
  composer.show(false);
  composer.setAnswer(null);
  render(els.body, helpView(help.query));
  drawResults();
  const input = document.getElementById('help-query');
  input?.focus({ preventScroll: true });
  input?.select();
}

/** Back from the search: to the thread it was opened from, else the list or the start screen. */
export function leaveHelp() {
  const from = help.from;
  help.from = null;
  clearTimeout(help.timer);
  if (from?.view === 'thread' && from.openId && store.has(from.openId)) {
    openThread(from.openId);
    composer.focus();
  } else if (store.size) {
    showList();
    els.body.querySelector('[data-conversation-id], button')?.focus({ preventScroll: true });
  } else {
    showStart(false);
    composer.focus();
  }
}

els.body.addEventListener('input', (event) => {
  if (event.target.id !== 'help-query') return;
  help.query = event.target.value;
  clearTimeout(help.timer);
  help.timer = setTimeout(search, SEARCH_DEBOUNCE_MS);
});

els.body.addEventListener('submit', (event) => {
  if (!event.target.closest('.help-search')) return;
  event.preventDefault();
  clearTimeout(help.timer);
  search();
});

els.body.addEventListener('keydown', (event) => {
  // Esc in a filled search box clears it; the next Esc closes the chat.
  if (event.key !== 'Escape' || event.target.id !== 'help-query' || !event.target.value) return;
  event.preventDefault();
  event.target.value = '';
  help.query = '';
  clearTimeout(help.timer);
  search();
});
