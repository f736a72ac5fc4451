// The left pane: the search box (search-results.js: while it holds a
// query, its hits stand in for the list), filters (a conversation tag
// among them; and, from a profile's "Show all conversations", one
// contact's conversations only), and one row per conversation with its
// tags. The list itself is a listbox that keeps focus while rows
// re-render; j/k move the highlight (aria-activedescendant) and Enter
// opens it.

import { html, render } from '../../shared/html.js';
import { plainText } from '../../shared/markdown.js';
import { state, subscribe, contactName, isOnline, agentName } from '../data/store.js';
import { setFilter, loadList, isUnread } from '../data/conversation-list.js';
import { prefetchConversation } from '../data/conversations.js';
import { loadConversationTags } from '../data/tags.js';
import { relativeTime, fullTime, waitedFor } from '../ui/time.js';
import { avatar } from '../ui/avatar.js';
import { mountConversationSearch } from './search-results.js';
import { messageInOneLine } from '../data/attachments.js';

const PREVIEW_CHARS = 120;
// Tags shown on a row; the rest are counted ("+2").
const ROW_TAGS = 2;

const STATUSES = [['open', 'Open'], ['snoozed', 'Snoozed'], ['closed', 'Closed']];
const ASSIGNEES = [['all', 'All'], ['mine', 'Mine'], ['unassigned', 'Unassigned']];
const SORTS = [['newest', 'Newest'], ['waiting', 'Waiting longest']];

export const rowId = (id) => `conversation-${id}`;

function preview(conversation) {
  const last = conversation.last_part;
  if (!last) return html`<span class="muted">No messages yet</span>`;
  // A message of files alone reads `📎 photo.png`.
  const text = messageInOneLine(plainText(last.body), last.attachments);
  const short = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
  let who = '';
  if (last.type === 'note') who = html`<span class="preview-note">Note:</span> `;
  else if (last.author?.type === 'agent') {
    who = html`<span class="preview-who">${last.author.id === state.me?.id ? 'You' : agentName(last.author.id)}:</span> `;
  } else if (last.author?.type === 'bot') who = html`<span class="preview-who">Bot:</span> `;
  return html`${who}${short}`;
}

function rowTags(tags) {
  if (!tags?.length) return '';
  // The tag the list is filtered by comes first.
  const filtered = state.filters.tag;
  const ordered = filtered && tags.includes(filtered) ? [filtered, ...tags.filter((t) => t !== filtered)] : tags;
  const rest = ordered.slice(ROW_TAGS);
  return html`<span class="row-tags">${ordered.slice(0, ROW_TAGS).map((tag) =>
    html`<span class="row-tag" data-testid="row-tag" title="${`Tag: ${tag}`}">${tag}</span>`)}${rest.length
    ? html`<span class="row-tag is-more" title="${rest.join(', ')}">+${rest.length}</span>` : ''}</span>`;
}

function row(conversation) {
  const contact = conversation.contact;
  const name = contactName(contact);
  const unread = isUnread(conversation);
  const selected = conversation.id === state.selectedId;
  const cursor = conversation.id === state.cursorId;
  const waiting = conversation.waiting_since && conversation.status === 'open';
  const time = conversation.last_part?.created_at ?? conversation.updated_at;
  const classes = ['conversation-row', unread && 'is-unread', selected && 'is-selected', cursor && 'is-cursor']
    .filter(Boolean).join(' ');
  const assignee = conversation.assignee_id && state.filters.assignee !== 'mine'
    ? agentName(conversation.assignee_id) : null;
  return html`
    <div class="${classes}" role="option" id="${rowId(conversation.id)}" aria-selected="${String(cursor)}"
      data-testid="conversation-row" data-conversation-id="${conversation.id}">
      ${avatar({ name, seed: contact?.id, presence: isOnline(contact) ? 'online' : null })}
      <div class="row-main">
        <div class="row-top">
          <span class="row-name">${name}</span>
          ${rowTags(conversation.tags)}
          ${unread ? html`<span class="unread-dot" data-testid="unread-marker"><span class="visually-hidden">Unread</span></span>` : ''}
          <time class="row-time" datetime="${time}" title="${fullTime(time)}">${relativeTime(time)}</time>
        </div>
        <div class="row-bottom">
          <span class="row-preview">${preview(conversation)}</span>
          ${conversation.with_bot ? html`<span class="bot-badge" title="A bot is talking with them until it hands over"
            data-testid="with-bot-marker">With bot</span>` : ''}
          ${waiting ? html`<span class="waiting-badge" title="Waiting since ${fullTime(conversation.waiting_since)}"
            data-testid="waiting-marker">${waitedFor(conversation.waiting_since)}</span>` : ''}
          ${assignee ? html`<span class="assignee-chip" title="Assigned to ${assignee}">${assignee}</span>` : ''}
        </div>
      </div>
    </div>`;
}

function options(pairs, current) {
  return pairs.map(([value, label]) =>
    html`<option value="${value}" ${value === current ? html`selected` : ''}>${label}</option>`);
}

function emptyText() {
  const { status, assignee, sort, contactId, tag } = state.filters;
  if (sort === 'waiting' && !contactId && !tag) return 'Nobody is waiting. Nice.';
  const who = assignee === 'mine' ? ' assigned to you' : assignee === 'unassigned' ? ' unassigned' : '';
  const withWhom = contactId ? ` with ${state.contactFilterName ?? 'this contact'}` : '';
  const tagged = tag ? ` tagged “${tag}”` : '';
  return `No ${sort === 'waiting' ? 'waiting' : status} conversations${withWhom}${tagged}${who}.`;
}

// "Any tag", then the workspace's tags, most used first; a remembered tag
// no longer in use still shows, chosen.
function tagOptions() {
  const current = state.filters.tag;
  const tags = state.conversationTags ?? [];
  const stray = current && !tags.some((t) => t.name === current);
  return html`
    <option value="" ${current ? '' : html`selected`}>Any tag</option>
    ${stray ? html`<option value="${current}" selected>${current}</option>` : ''}
    ${tags.map((t) => html`<option value="${t.name}" ${t.name === current ? html`selected` : ''}>${t.name}${
      typeof t.conversations === 'number' ? ` (${t.conversations})` : ''}</option>`)}`;
}

function contactFilterLine() {
  const id = state.filters.contactId;
  if (!id) return html``;
  const name = state.contactFilterName ?? 'one contact';
  return html`<p class="contact-filter" data-testid="contact-filter">
    <span>Only <a href="${`#/contacts/${encodeURIComponent(id)}`}">${name}</a></span>
    <a class="button ghost small" href="#/" aria-label="Show everyone's conversations"
      data-testid="clear-contact-filter">Everyone</a>
  </p>`;
}

/** `onOpen(id, {partId})`: open a conversation (a search hit names the message that matched). */
export function mountConversationList(element, { onOpen }) {
  render(element, html`
    <div class="list-search-slot" data-region="search"></div>
    <div class="list-filters">
      <fieldset class="segmented" data-testid="status-filter">
        <legend class="visually-hidden">Status</legend>
        ${STATUSES.map(([value, label]) => html`
          <label class="segment">
            <input type="radio" name="status" value="${value}" ${value === state.filters.status ? html`checked` : ''}
              data-testid="filter-status-${value}">
            <span>${label}</span>
          </label>`)}
      </fieldset>
      <div class="filter-selects">
        <label class="compact-field">
          <span class="visually-hidden">Assignee</span>
          <select name="assignee" data-testid="filter-assignee" aria-label="Assignee">${options(ASSIGNEES, state.filters.assignee)}</select>
        </label>
        <label class="compact-field">
          <span class="visually-hidden">Sort</span>
          <select name="sort" data-testid="filter-sort" aria-label="Sort">${options(SORTS, state.filters.sort)}</select>
        </label>
      </div>
      <label class="compact-field tag-filter">
        <span class="field-label-inline">Tag</span>
        <select name="tag" data-testid="list-tag-filter" aria-label="Tag">${tagOptions()}</select>
      </label>
      <div data-region="contact-filter"></div>
    </div>
    <div class="list-body" role="listbox" tabindex="0" aria-label="Conversations"
      data-testid="conversation-list"></div>
    <div class="list-footer" data-region="footer"></div>
    <div class="search-results" data-region="search-results" hidden></div>`);

  const body = element.querySelector('.list-body');
  const footer = element.querySelector('[data-region="footer"]');
  const contactFilter = element.querySelector('[data-region="contact-filter"]');
  const filters = element.querySelector('.list-filters');
  const tagSelect = element.querySelector('select[name="tag"]');

  const search = mountConversationSearch(element.querySelector('[data-region="search"]'),
    element.querySelector('[data-region="search-results"]'), {
      onOpen: (id, partId) => onOpen(id, { partId }),
      // The hits stand in for the list while the box holds a query.
      onSearchingChange: (active) => {
        for (const part of [filters, body, footer]) part.hidden = active;
      },
      onLeave: () => body.focus(),
    });

  filters.addEventListener('change', (event) => {
    const { name, value } = event.target;
    if (name === 'status' || name === 'assignee' || name === 'sort') setFilter(name, value);
    if (name === 'tag') setFilter('tag', value || null);
  });

  body.addEventListener('click', (event) => {
    const target = event.target.closest('[data-conversation-id]');
    if (target) onOpen(target.dataset.conversationId);
  });
  footer.addEventListener('click', (event) => {
    if (event.target.closest('[data-action="more"]')) loadList({ more: true });
    if (event.target.closest('[data-action="retry"]')) loadList();
  });
  // Near the bottom: fetch the next page without a click.
  body.addEventListener('scroll', () => {
    if (state.nextCursor && state.listStatus === 'ready'
      && body.scrollTop + body.clientHeight > body.scrollHeight - 200) {
      loadList({ more: true });
    }
  }, { passive: true });

  let lastCursor = null;
  let prefetchTimer = null;
  let shownContactFilter = null;
  let shownTagOptions = null;
  // Redrawn only when the choices change, so an open select is left alone.
  const drawTagFilter = () => {
    const key = JSON.stringify([state.filters.tag, state.conversationTags]);
    if (key === shownTagOptions) return;
    shownTagOptions = key;
    render(tagSelect, tagOptions());
  };
  const draw = () => {
    const rows = state.listIds.map((id) => state.conversations.get(id)).filter(Boolean);
    if (rows.length) {
      render(body, html`${rows.map(row)}`);
    } else if (state.listStatus === 'loading') {
      render(body, html`<p class="list-empty" role="status">Loading…</p>`);
    } else {
      render(body, html`<p class="list-empty" role="status">${emptyText()}</p>`);
    }
    if (state.cursorId && rows.length) {
      body.setAttribute('aria-activedescendant', rowId(state.cursorId));
      if (state.cursorId !== lastCursor) {
        document.getElementById(rowId(state.cursorId))?.scrollIntoView({ block: 'nearest' });
        // Resting on a row for a moment: fetch it so opening it is instant.
        clearTimeout(prefetchTimer);
        const id = state.cursorId;
        prefetchTimer = setTimeout(() => prefetchConversation(id), 150);
      }
    } else {
      body.removeAttribute('aria-activedescendant');
    }
    lastCursor = state.cursorId;
    if (state.listStatus === 'error') {
      render(footer, html`<p class="form-error" role="alert">${state.listError}
        <button type="button" class="button small" data-action="retry">Retry</button></p>`);
    } else if (state.nextCursor) {
      render(footer, html`<button type="button" class="button ghost small wide" data-action="more"
        ${state.listStatus === 'loading' ? html`disabled` : ''}>Load more</button>`);
    } else {
      render(footer, html``);
    }
    // Redrawn only when it changes, so a focused link keeps its focus.
    const filterKey = `${state.filters.contactId}|${state.contactFilterName}`;
    if (filterKey !== shownContactFilter) {
      shownContactFilter = filterKey;
      render(contactFilter, contactFilterLine());
    }
    // Keep the filter controls in step (e.g. restored from storage).
    const radios = element.querySelectorAll('input[name="status"]');
    for (const radio of radios) radio.checked = radio.value === state.filters.status;
    drawTagFilter();
  };

  const offs = [subscribe('list', draw), subscribe('agents', draw), subscribe('session', draw), subscribe('tags', drawTagFilter)];
  loadConversationTags().catch((error) => console.warn('conversation tags:', error.message));
  // Ages ("5m") drift; refresh them twice a minute.
  const ticker = setInterval(draw, 30_000);
  draw();
  return {
    // While searching, the hits are the list.
    focus: () => (search.searching ? search.focusResults() : body.focus()),
    focusSearch: () => search.focus(),
    destroy() {
      search.destroy();
      offs.forEach((off) => off());
      clearInterval(ticker);
      clearTimeout(prefetchTimer);
    },
  };
}
