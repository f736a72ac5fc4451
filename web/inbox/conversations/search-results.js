// Searching conversations, at the top of the list pane: a search box
// (a pause in typing or Enter searches, Esc clears it) and, while it holds
// a query, the hits in place of the list: who, the status, the excerpt
// with the matched words marked, when. The hits are a listbox like the
// list: the arrows move, Enter or a click opens the conversation at the
// message that matched. Answers to older queries are dropped, and hits
// shown for an older query cannot be opened once the text has changed.

import { html, render } from '../../shared/html.js';
import { plainText } from '../../shared/markdown.js';
import { state, subscribe, contactName } from '../data/store.js';
import { searchConversations, searchQueryProblem, SEARCH_LIMIT } from '../data/search.js';
import { relativeTime, fullTime } from '../ui/time.js';
import { statusWord, matchWord, excerptFragment, hitElementId } from './search-hits.js';

const DEBOUNCE_MS = 250;
const FALLBACK_CHARS = 140;

function fallbackExcerpt(hit) {
  const text = plainText(hit.last_part?.body ?? '');
  return text.length > FALLBACK_CHARS ? `${text.slice(0, FALLBACK_CHARS - 1)}…` : text;
}

function hitView(hit, cursorId) {
  // What the Inbox learnt since (live status changes) wins over the answer.
  const known = state.conversations.get(hit.id);
  const status = known?.status ?? hit.status;
  const name = contactName(hit.contact ?? known?.contact);
  const match = hit.match ?? {};
  const time = hit.updated_at ?? hit.last_part?.created_at;
  const cursor = hit.id === cursorId;
  const classes = ['search-hit', cursor && 'is-cursor', hit.id === state.selectedId && 'is-selected']
    .filter(Boolean).join(' ');
  return html`
    <div class="${classes}" role="option" id="${hitElementId(hit.id)}" aria-selected="${String(cursor)}"
      data-testid="search-hit" data-conversation-id="${hit.id}" data-message-id="${match.message_id ?? ''}"
      data-field="${match.field ?? ''}">
      <div class="search-hit-top">
        <span class="row-name">${name}</span>
        <span class="status-badge status-${status}" data-testid="search-hit-status">${statusWord(status)}</span>
        ${time ? html`<time class="row-time" datetime="${time}" title="${fullTime(time)}">${relativeTime(time)}</time>` : ''}
      </div>
      <p class="search-excerpt" data-testid="search-excerpt"><span class="search-field">${matchWord(match)}:</span>
        ${match.excerpt?.length ? excerptFragment(match.excerpt) : fallbackExcerpt(hit)}</p>
    </div>`;
}

/**
 * `box` gets the search box, `results` the hits (hidden while there is no
 * query). `onOpen(id, messageId)` opens a hit, `onSearchingChange(active)`
 * says when the hits replace the list, `onLeave()` is Esc in an empty box.
 */
export function mountConversationSearch(box, results, { onOpen, onSearchingChange, onLeave }) {
  let alive = true;
  let text = ''; // the trimmed query in the box
  let shownQuery = ''; // the query the hits answer
  let hits = [];
  let phase = 'idle'; // idle | invalid | waiting | ready | error; the hits answer `text` only when ready
  let message = '';
  let cursorId = null;
  let request = 0;
  let abort = null;
  let timer = null;
  let lastCursor = null;

  render(box, html`
    <form class="list-search" role="search" data-form="search" novalidate>
      <label for="conversation-search" class="visually-hidden">Search conversations</label>
      <input id="conversation-search" name="q" type="search" autocomplete="off" spellcheck="false"
        placeholder="Search conversations" aria-describedby="search-status" data-testid="conversation-search">
    </form>`);
  render(results, html`
    <p class="search-status" id="search-status" role="status" data-region="status"></p>
    <p class="form-error search-error" role="alert" data-region="error"></p>
    <div class="search-hits" role="listbox" tabindex="0" aria-label="Search results"
      data-testid="search-results"></div>`);
  results.hidden = true;
  const input = box.querySelector('input');
  const statusLine = results.querySelector('[data-region="status"]');
  const errorLine = results.querySelector('[data-region="error"]');
  const list = results.querySelector('[role="listbox"]');

  const drawStatus = () => {
    let content = '';
    if (phase === 'invalid') content = message;
    else if (phase === 'waiting') content = 'Searching…';
    else if (phase === 'ready' && !hits.length) {
      content = html`<span data-testid="search-empty">No conversations match “${shownQuery}”.</span>`;
    } else if (phase === 'ready') {
      content = hits.length >= SEARCH_LIMIT ? `The ${hits.length} newest matches.`
        : `${hits.length} ${hits.length === 1 ? 'conversation' : 'conversations'}.`;
    }
    render(statusLine, html`${content}`);
    render(errorLine, html`${phase === 'error' ? message : ''}`);
  };

  // Hits of an older query stay in sight, faded, until the new answer comes.
  const current = () => phase === 'ready';

  const drawHits = () => {
    list.classList.toggle('is-stale', !current() && hits.length > 0);
    render(list, html`${hits.map((hit) => hitView(hit, cursorId))}`);
    if (cursorId && hits.length) {
      list.setAttribute('aria-activedescendant', hitElementId(cursorId));
      if (cursorId !== lastCursor) document.getElementById(hitElementId(cursorId))?.scrollIntoView({ block: 'nearest' });
    } else {
      list.removeAttribute('aria-activedescendant');
    }
    lastCursor = cursorId;
  };

  const drawAll = () => {
    drawStatus();
    drawHits();
  };

  const setActive = (active) => {
    if (results.hidden !== active) return;
    results.hidden = !active;
    onSearchingChange(active);
  };

  const stopAsking = () => {
    clearTimeout(timer);
    request += 1;
    abort?.abort();
    abort = null;
  };

  const run = async () => {
    const q = text;
    const mine = ++request;
    abort?.abort();
    const controller = new AbortController();
    abort = controller;
    try {
      const found = await searchConversations(q, { signal: controller.signal });
      if (!alive || mine !== request || q !== text) return;
      hits = Array.isArray(found) ? found.filter((hit) => hit?.id) : [];
      shownQuery = q;
      phase = 'ready';
      if (!hits.some((hit) => hit.id === cursorId)) cursorId = hits[0]?.id ?? null;
    } catch (error) {
      if (!alive || mine !== request || q !== text || error.name === 'AbortError') return;
      phase = 'error';
      hits = [];
      cursorId = null;
      message = error.fieldErrors?.q ?? error.message;
    }
    drawAll();
  };

  /** The box changed (`now`: Enter was pressed). */
  const update = ({ now = false } = {}) => {
    const next = input.value.trim();
    if (!next) {
      stopAsking();
      text = '';
      hits = [];
      phase = 'idle';
      cursorId = null;
      setActive(false);
      drawAll();
      return;
    }
    setActive(true);
    // What is in flight or waiting answers the old text: it must not land under the new one.
    if (next !== text) stopAsking();
    const problem = searchQueryProblem(next);
    if (problem) {
      stopAsking();
      text = next;
      hits = [];
      phase = 'invalid';
      message = problem;
      drawAll();
      return;
    }
    // A space typed after a word asks nothing new.
    if (next === text && !now && phase !== 'invalid' && phase !== 'idle') return;
    text = next;
    clearTimeout(timer);
    phase = 'waiting';
    drawAll();
    if (now) run();
    else timer = setTimeout(run, DEBOUNCE_MS);
  };

  const open = (id) => {
    const hit = current() && hits.find((h) => h.id === id);
    if (!hit) return;
    cursorId = id;
    drawHits();
    onOpen(id, hit.match?.message_id ?? null);
  };

  const moveCursor = (delta) => {
    if (!hits.length) return;
    const at = hits.findIndex((hit) => hit.id === cursorId);
    const next = at === -1 ? 0 : Math.min(hits.length - 1, Math.max(0, at + delta));
    cursorId = hits[next].id;
    drawHits();
  };

  box.addEventListener('submit', (event) => {
    event.preventDefault();
    update({ now: true });
  });
  input.addEventListener('input', () => update());
  // The box's own clear button.
  input.addEventListener('search', () => update());
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      if (input.value) {
        input.value = '';
        update();
      } else {
        onLeave();
      }
    } else if (event.key === 'ArrowDown' && current() && hits.length) {
      event.preventDefault();
      if (!cursorId) cursorId = hits[0].id;
      drawHits();
      list.focus();
    }
  });

  // Handled here, so the Inbox's own shortcuts (which skip a handled key)
  // leave the hits to these.
  list.addEventListener('keydown', (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const at = hits.findIndex((hit) => hit.id === cursorId);
    switch (event.key) {
      case 'ArrowDown':
      case 'j':
        moveCursor(1);
        break;
      case 'ArrowUp':
      case 'k':
        if (at <= 0) input.focus();
        else moveCursor(-1);
        break;
      case 'Home':
        moveCursor(-hits.length);
        break;
      case 'End':
        moveCursor(hits.length);
        break;
      case 'Enter':
      case 'o':
        if (cursorId) open(cursorId);
        break;
      case 'Escape':
        input.focus();
        break;
      default:
        return;
    }
    event.preventDefault();
  });
  list.addEventListener('click', (event) => {
    const target = event.target.closest('[data-conversation-id]');
    if (target) open(target.dataset.conversationId);
  });

  const offs = [subscribe('list', () => {
    if (text && hits.length) drawHits();
  })];

  return {
    get searching() {
      return Boolean(text);
    },
    focus: () => input.focus(),
    /** Focus the hits (or the box when there are none). */
    focusResults: () => (current() && hits.length ? list.focus() : input.focus()),
    destroy() {
      alive = false;
      stopAsking();
      offs.forEach((off) => off());
    },
  };
}
