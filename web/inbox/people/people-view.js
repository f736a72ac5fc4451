// `#/people`: everyone the workspace talks to. Saved segments on the left;
// the filter builder, the live count, and a table of the people who match
// (sortable, with columns of one's choosing, more rows as one scrolls).
// Rows can be ticked, or every match chosen at once, and sent a chat
// message (bulk-compose.js). The filter, sort and columns outlive a visit
// to a profile and back.

import { html, render } from '../../shared/html.js';
import { get, post, patch, del, ApiError } from '../data/api.js';
import { state, subscribe, contactName, isOnline, loadPeopleSchema } from '../data/store.js';
import { renderKeepingFocus } from '../ui/focus.js';
import { formError, showProblem, clearErrors, whileBusy } from '../ui/forms.js';
import { avatar } from '../ui/avatar.js';
import { fullTime } from '../ui/time.js';
import { mountFilterBuilder } from './filter-builder.js';
import {
  newGroup, builderFromFilter, newCondition, propertyTypes, locateField, canonicalJson, peopleCount, compileFilter,
} from './people-filter.js';
import { contactValue, formatPropValue, propertyLabel } from '../contacts/contact-props.js';
import { canBulkSend, bulkAudience, audienceSize, previewRecipients } from './bulk-sends.js';
import { openBulkComposer } from './bulk-compose.js';

const PAGE_SIZE = 50;
const SEARCH_DEBOUNCE_MS = 250;
const COLUMNS_KEY = 'rapport.people.columns';
const DEFAULT_COLUMNS = ['first_seen_at'];
// Always shown, so not offered in the Columns menu.
const FIXED_COLUMNS = new Set(['name', 'email', 'last_seen_at']);
const SORTABLE = new Set(['name', 'first_seen_at', 'last_seen_at', 'created_at']);

function loadColumns() {
  try {
    const saved = JSON.parse(localStorage.getItem(COLUMNS_KEY));
    return Array.isArray(saved) ? saved.filter((c) => typeof c === 'string') : DEFAULT_COLUMNS;
  } catch {
    return DEFAULT_COLUMNS;
  }
}

function saveColumns(columns) {
  try {
    localStorage.setItem(COLUMNS_KEY, JSON.stringify(columns));
  } catch {
    // Private mode: the choice lasts this visit only.
  }
}

// What the page remembers between visits (until the Inbox is reloaded).
const memory = {
  group: null,
  segmentId: null,
  sort: 'last_seen_at',
  order: 'desc',
};

export function mountPeopleView(element) {
  let alive = true;
  // Listeners on the shared view element go when the view does.
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let schema = state.peopleSchema ?? { properties: [], events: [], tags: [] };
  let segments = [];
  let segmentsStatus = 'loading';
  let activeSegmentId = memory.segmentId;
  let segmentBaseline = null; // the active segment's filter, canonical, to tell when it was changed
  let columns = loadColumns();
  let sort = memory.sort;
  let order = memory.order;
  const view = {
    rows: [],
    count: null,
    nextCursor: null,
    status: 'loading', // loading | ready | error
    error: '',
    loadingMore: false,
  };
  let selected = new Set();
  let allMatching = false;
  let lastFilterKey = null; // the filter the rows are for (selection is cleared when it changes)
  let lastRequestKey = null;
  let searchTimer = null;
  let searchAbort = null;
  let savingSegment = false; // the "Save as segment" form is open
  let confirmDelete = null; // segment id asking "Delete?"
  let composer = null; // the open bulk composer, closed if the page is left

  render(element, html`
    <main id="main" class="page wide-page people-page" tabindex="-1" data-testid="people-view">
      <div class="people-layout">
        <nav class="segment-nav" aria-label="Segments" data-region="segments"></nav>
        <div class="people-main">
          <div class="page-head">
            <h1>People</h1>
            <span class="people-count" role="status" aria-live="polite" data-testid="people-count"></span>
            <span class="top-spacer"></span>
            <a class="button small" href="#/bulk-sends" data-testid="bulk-sends-link">Bulk sends</a>
            <a class="button small" href="#/people/import" data-testid="people-import-link">Import CSV</a>
          </div>
          <section class="card filter-card" aria-label="Filter" data-region="builder"></section>
          <div class="people-actions">
            <div class="people-actions-main" data-region="actions"></div>
            <div data-region="columns"></div>
          </div>
          <div data-region="segment-form"></div>
          <div data-region="banner"></div>
          <div class="table-wrap" data-region="table"></div>
          <div class="table-footer" data-region="footer"></div>
        </div>
      </div>
    </main>`);

  const main = element.querySelector('main');
  const regions = Object.fromEntries([...element.querySelectorAll('[data-region]')].map((el) => [el.dataset.region, el]));
  const countSlot = element.querySelector('[data-testid="people-count"]');

  const builder = mountFilterBuilder(regions.builder, {
    initial: memory.group ?? newGroup('and'),
    getSchema: () => schema,
    getSegments: () => segments,
    onChange: () => {
      memory.group = builder.group;
      drawActions();
      scheduleSearch();
    },
  });

  const types = () => propertyTypes(schema);

  // --- Searching -------------------------------------------------------------------

  const scheduleSearch = () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => search(), SEARCH_DEBOUNCE_MS);
  };

  const search = async ({ more = false } = {}) => {
    const { filter, paths } = builder.compiled();
    const filterKey = canonicalJson(filter);
    const requestKey = `${filterKey}|${sort}|${order}`;
    // The same question again (an input's change after its input events): nothing to do.
    if (!more && requestKey === lastRequestKey && view.status !== 'error') return;
    // More rows only for the rows on screen (a new filter's answer is on its way otherwise).
    if (more && (!view.nextCursor || view.loadingMore || view.status !== 'ready')) return;
    searchAbort?.abort();
    const abort = new AbortController();
    searchAbort = abort;
    const body = { filter, sort, order, limit: PAGE_SIZE };
    if (more) {
      body.cursor = view.nextCursor;
      view.loadingMore = true;
    } else {
      lastRequestKey = requestKey;
      view.status = 'loading';
      main.setAttribute('aria-busy', 'true');
    }
    drawFooter();
    drawCount();
    try {
      const page = await post('/api/v1/contacts/search', body, { signal: abort.signal });
      if (!alive || abort.signal.aborted) return;
      const data = page?.data ?? [];
      if (more) {
        const known = new Set(view.rows.map((row) => row.id));
        view.rows = [...view.rows, ...data.filter((row) => !known.has(row.id))];
      } else {
        view.rows = data;
        if (filterKey !== lastFilterKey) {
          selected = new Set();
          allMatching = false;
        }
        lastFilterKey = filterKey;
      }
      view.count = typeof page?.count === 'number' ? page.count : view.rows.length;
      view.nextCursor = page?.next_cursor ?? null;
      view.status = 'ready';
      view.error = '';
      builder.showErrors({}, '');
    } catch (error) {
      if (!alive || abort.signal.aborted || error.name === 'AbortError') return;
      if (more) {
        view.error = error.message;
      } else {
        view.status = 'error';
        lastRequestKey = null;
        showSearchProblem(error, paths);
      }
    } finally {
      if (searchAbort === abort) {
        view.loadingMore = false;
        main.removeAttribute('aria-busy');
      }
    }
    if (!alive || abort.signal.aborted) return;
    drawAll();
  };

  // A 422 lands on the row its field names; anything else says what went wrong above the table.
  const showSearchProblem = (error, paths) => {
    const rowErrors = {};
    const loose = [];
    for (const { field, message } of error.problem?.errors ?? []) {
      const place = locateField(field, paths);
      if (place?.id) rowErrors[place.id] = { message, part: place.part ?? '' };
      else loose.push(field && !place ? `${field}: ${message}` : message);
    }
    const top = loose.join(' ') || (Object.keys(rowErrors).length ? '' : error.message);
    builder.showErrors(rowErrors, error.status === 422 ? top : '');
    // A 422 is shown on the filter itself; anything else above the table.
    view.error = error.status === 422 ? '' : error.message;
  };

  // --- Drawing ---------------------------------------------------------------------

  const drawCount = () => {
    if (view.status === 'error') render(countSlot, html`—`);
    else if (view.count === null) render(countSlot, html`Counting…`);
    else render(countSlot, html`${peopleCount(view.count)}`);
    countSlot.classList.toggle('is-stale', view.status === 'loading');
  };

  const drawSegments = () => {
    const current = (id) => (id === activeSegmentId ? html`aria-current="true"` : '');
    renderKeepingFocus(regions.segments, html`
      <h2 class="nav-title">Segments</h2>
      <ul class="segment-list" data-testid="segment-list">
        <li><button type="button" class="segment-link" data-segment="" data-focus-key="segment:"
          ${activeSegmentId ? '' : html`aria-current="true"`} data-testid="segment-all">All people</button></li>
        ${segments.map((segment) => html`
          <li class="segment-item" data-testid="segment-item" data-segment-id="${segment.id}">
            ${confirmDelete === segment.id ? html`
              <span class="segment-confirm" role="group" aria-label="${`Delete segment ${segment.name}?`}">
                <span>Delete “${segment.name}”?</span>
                <button type="button" class="button small danger" data-delete-confirm="${segment.id}"
                  data-focus-key="${`delete-confirm:${segment.id}`}" data-testid="segment-delete-confirm">Delete</button>
                <button type="button" class="button ghost small" data-delete-keep="${segment.id}"
                  data-focus-key="${`delete-keep:${segment.id}`}">Keep</button>
              </span>` : html`
              <button type="button" class="segment-link" data-segment="${segment.id}" ${current(segment.id)}
                data-focus-key="${`segment:${segment.id}`}" data-testid="segment-open">${segment.name}</button>
              <button type="button" class="button ghost small icon-button" data-delete="${segment.id}"
                data-focus-key="${`delete:${segment.id}`}" aria-label="${`Delete segment ${segment.name}`}"
                title="Delete segment" data-testid="segment-delete">✕</button>`}
          </li>`)}
      </ul>
      ${segmentsStatus === 'error' ? html`<p class="form-error small">Could not load segments.</p>` : ''}
      ${segmentsStatus === 'ready' && !segments.length
        ? html`<p class="muted small">Save a filter as a segment to find it here.</p>` : ''}`);
  };

  const activeSegment = () => segments.find((s) => s.id === activeSegmentId) ?? null;

  const segmentChanged = () => {
    const segment = activeSegment();
    return Boolean(segment && segmentBaseline !== null && canonicalJson(builder.compiled().filter) !== segmentBaseline);
  };

  const selectionSize = () => audienceSize({ allMatching, count: view.count, selectedIds: selected });

  const drawActions = () => {
    const size = selectionSize();
    const allowed = canBulkSend(state.me, state.workspace);
    const segment = activeSegment();
    renderKeepingFocus(regions.actions, html`
      <span class="selection-count" data-testid="selection-count">${size
        ? `${peopleCount(size)} selected` : 'Tick people to message them'}</span>
      ${allowed ? html`
        <details class="menu" data-testid="send-menu" ${size ? '' : html`data-disabled`}>
          <summary class="button small primary" data-focus-key="send-menu" aria-disabled="${String(!size)}"
            data-testid="send-message">Send a message ▾</summary>
          <div class="menu-panel">
            <button type="button" class="menu-item" data-action="chat-message"
              data-testid="send-chat-message">Chat message</button>
          </div>
        </details>` : html`
        <button type="button" class="button small" disabled data-testid="send-message"
          title="Only owners and admins can send bulk messages in this workspace">Send a message</button>
        <span class="muted small" data-testid="bulk-not-allowed">Only owners and admins can send bulk messages here.</span>`}
      <span class="top-spacer"></span>
      ${segment && segmentChanged() ? html`<button type="button" class="button small" data-action="update-segment"
        data-focus-key="update-segment" data-testid="segment-update">Save changes to “${segment.name}”</button>` : ''}
      <button type="button" class="button small" data-action="save-segment" data-focus-key="save-segment"
        aria-expanded="${String(savingSegment)}" aria-controls="segment-form" data-testid="segment-save-open">Save as segment</button>`);
  };

  // Drawn only when the schema changes, so an open menu stays open.
  const drawColumnsMenu = () => renderKeepingFocus(regions.columns, columnsMenu());

  const columnChoices = () => (schema.properties ?? []).filter((p) => !FIXED_COLUMNS.has(p.name));

  const columnsMenu = () => html`
    <details class="menu columns-menu" data-testid="columns-menu">
      <summary class="button small" data-focus-key="columns">Columns</summary>
      <fieldset class="menu-panel">
        <legend class="visually-hidden">Columns to show</legend>
        ${columnChoices().map((p) => html`<label class="menu-check">
          <input type="checkbox" data-column="${p.name}" data-focus-key="${`column:${p.name}`}"
            ${columns.includes(p.name) ? html`checked` : ''} data-testid="column-toggle">
          <span>${propertyLabel(p.name)}</span></label>`)}
        ${columnChoices().length ? '' : html`<p class="muted small">No other properties yet.</p>`}
      </fieldset>
    </details>`;

  const drawSegmentForm = () => {
    if (!savingSegment) {
      render(regions['segment-form'], html``);
      return;
    }
    render(regions['segment-form'], html`
      <form class="card inline-form" id="segment-form" data-form="segment" novalidate data-testid="segment-form">
        ${formError()}
        <div class="field">
          <label for="segment-name">Segment name</label>
          <div class="input-with-button">
            <input id="segment-name" name="name" type="text" required autocomplete="off" maxlength="200"
              aria-describedby="segment-name-error" data-testid="segment-name">
            <button type="submit" class="button primary small" data-testid="segment-save">Save segment</button>
            <button type="button" class="button ghost small" data-action="cancel-segment">Cancel</button>
          </div>
          <p class="field-error" id="segment-name-error" data-error-for="name"></p>
        </div>
      </form>`);
    regions['segment-form'].querySelector('input').focus();
  };

  const pageTicked = () => view.rows.length > 0 && view.rows.every((row) => allMatching || selected.has(row.id));

  const drawBanner = () => {
    if (allMatching) {
      render(regions.banner, html`<p class="select-banner" role="status" data-testid="select-all-banner">
        All ${peopleCount(view.count)} matching this filter are selected.
        <button type="button" class="button ghost small" data-action="clear-selection" data-testid="clear-selection">Clear selection</button>
      </p>`);
    } else if (pageTicked()) {
      render(regions.banner, html`<p class="select-banner" role="status" data-testid="select-all-banner">
        ${view.rows.length === 1 ? 'The one person' : `All ${view.rows.length} people`} shown ${view.rows.length === 1 ? 'is' : 'are'} selected.
        <button type="button" class="button ghost small" data-action="select-all" data-testid="select-all-matching">
          Select all ${peopleCount(view.count)} matching</button>
      </p>`);
    } else {
      render(regions.banner, html``);
    }
  };

  const sortHeader = (key, label) => {
    const active = sort === key;
    const ariaSort = active ? (order === 'asc' ? 'ascending' : 'descending') : 'none';
    return html`<th scope="col" aria-sort="${ariaSort}">
      <button type="button" class="sort-button" data-sort="${key}" data-focus-key="${`sort:${key}`}"
        data-testid="${`sort-${key}`}">${label}<span class="sort-arrow" aria-hidden="true">${active
          ? (order === 'asc' ? ' ▲' : ' ▼') : ''}</span></button>
    </th>`;
  };

  const columnType = (name) => types().get(name);

  const drawTable = () => {
    const extra = columns.filter((name) => !FIXED_COLUMNS.has(name) && (types().has(name) || name === 'first_seen_at'));
    if (!view.rows.length) {
      render(regions.table, view.status === 'loading' && view.count === null
        ? html`<p class="list-empty" role="status">Loading people…</p>`
        : view.status === 'error' ? html`<p class="form-error" role="alert" data-testid="people-error">${view.error || 'Fix the filter above.'}</p>`
          : view.status === 'ready' ? html`<p class="list-empty" data-testid="people-empty">Nobody matches this filter.</p>` : html``);
      return;
    }
    const ticked = pageTicked();
    const some = !ticked && view.rows.some((row) => selected.has(row.id));
    renderKeepingFocus(regions.table, html`
      ${view.status === 'error' ? html`<p class="form-error" role="alert" data-testid="people-error">${view.error || 'Fix the filter above; these are the last results.'}</p>` : ''}
      <table class="data-table people-table" data-testid="people-table">
        <caption class="visually-hidden">People matching the filter</caption>
        <thead>
          <tr>
            <th scope="col" class="tick-cell">
              <input type="checkbox" data-action="tick-page" data-focus-key="tick-page" ${ticked ? html`checked` : ''}
                ${some ? html`data-indeterminate` : ''} aria-label="Select everyone shown" data-testid="select-page">
            </th>
            ${sortHeader('name', 'Name')}
            <th scope="col">Email</th>
            ${sortHeader('last_seen_at', 'Last seen')}
            ${extra.map((name) => (SORTABLE.has(name) ? sortHeader(name, propertyLabel(name))
              : html`<th scope="col">${propertyLabel(name)}</th>`))}
          </tr>
        </thead>
        <tbody>
          ${view.rows.map((contact) => {
            const name = contactName(contact);
            const isTicked = allMatching || selected.has(contact.id);
            const lastSeen = contactValue(contact, 'last_seen_at');
            return html`<tr data-testid="person-row" data-contact-id="${contact.id}" class="${isTicked ? 'is-ticked' : ''}">
              <td class="tick-cell"><input type="checkbox" data-tick="${contact.id}" data-focus-key="${`tick:${contact.id}`}"
                ${isTicked ? html`checked` : ''} aria-label="${`Select ${name}`}" data-testid="person-tick"></td>
              <td class="person-cell">
                <a href="${`#/contacts/${encodeURIComponent(contact.id)}`}" class="person-link" data-testid="person-link"
                  data-focus-key="${`link:${contact.id}`}">
                  ${avatar({ name, seed: contact.id, presence: isOnline(contact) ? 'online' : null, size: 'sm' })}
                  <span class="person-name">${name}</span>
                </a>
              </td>
              <td class="email-cell">${contact.email ?? ''}</td>
              <td><time datetime="${lastSeen ?? ''}" title="${fullTime(lastSeen)}">${formatPropValue(lastSeen, 'datetime')}</time></td>
              ${extra.map((column) => {
                const value = contactValue(contact, column);
                const type = columnType(column) ?? (column.endsWith('_at') ? 'datetime' : undefined);
                return type === 'datetime'
                  ? html`<td><time datetime="${value ?? ''}" title="${fullTime(value)}">${formatPropValue(value, 'datetime')}</time></td>`
                  : html`<td>${formatPropValue(value, type)}</td>`;
              })}
            </tr>`;
          })}
        </tbody>
      </table>`);
    const pageBox = regions.table.querySelector('[data-action="tick-page"]');
    if (pageBox) pageBox.indeterminate = pageBox.hasAttribute('data-indeterminate');
  };

  const drawFooter = () => {
    if (view.nextCursor && view.rows.length) {
      render(regions.footer, html`${view.error && view.status !== 'error' ? html`<p class="form-error" role="alert">${view.error}</p>` : ''}
        <button type="button" class="button ghost small wide" data-action="more" data-testid="people-more"
          ${view.loadingMore ? html`disabled` : ''}>${view.loadingMore ? 'Loading…' : 'Load more'}</button>`);
    } else {
      render(regions.footer, html``);
    }
  };

  const drawAll = () => {
    drawCount();
    drawActions();
    drawBanner();
    drawTable();
    drawFooter();
  };

  // --- Segments ---------------------------------------------------------------------

  const openSegment = (id) => {
    confirmDelete = null;
    if (!id) {
      activeSegmentId = null;
      segmentBaseline = null;
      builder.load(newGroup('and'));
    } else {
      const segment = segments.find((s) => s.id === id);
      if (!segment) return;
      activeSegmentId = id;
      // A filter the builder cannot show is used as it is, as "in this segment".
      const group = builderFromFilter(segment.filter, types()) ?? newGroup('and', [newCondition(`segment:${id}`, 'in')]);
      builder.load(group);
      segmentBaseline = canonicalJson(builder.compiled().filter);
    }
    memory.segmentId = activeSegmentId;
    memory.group = builder.group;
    drawSegments();
    drawActions();
    search();
  };

  const loadSegments = async () => {
    try {
      const answer = await get('/api/v1/segments');
      if (!alive) return;
      segments = (Array.isArray(answer) ? answer : answer?.data ?? [])
        .slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
      segmentsStatus = 'ready';
      const segment = activeSegment();
      if (activeSegmentId && !segment) {
        activeSegmentId = null;
        memory.segmentId = null;
      } else if (segment && segmentBaseline === null) {
        // Back on the page with a segment open: compare with its filter as the builder compiles it.
        const group = builderFromFilter(segment.filter, types());
        segmentBaseline = group ? canonicalJson(compileFilter(group, types()).filter) : null;
      }
    } catch (error) {
      if (!alive) return;
      segmentsStatus = 'error';
      console.warn('segments:', error.message);
    }
    drawSegments();
    builder.redraw();
    drawActions();
  };

  const saveSegment = async (form) => {
    clearErrors(form);
    const name = form.elements.name.value.trim();
    if (!name) {
      showProblem(form, { fieldErrors: { name: 'Give the segment a name.' } });
      return;
    }
    const { filter, paths } = builder.compiled();
    try {
      const created = await whileBusy(form, () => post('/api/v1/segments', { name, filter }));
      if (!alive) return;
      segments = [...segments, created].sort((a, b) => String(a.name).localeCompare(String(b.name)));
      activeSegmentId = created.id;
      memory.segmentId = created.id;
      segmentBaseline = canonicalJson(filter);
      savingSegment = false;
      drawSegmentForm();
      drawSegments();
      drawActions();
      regions.segments.querySelector(`[data-segment="${CSS.escape(created.id)}"]`)?.focus();
    } catch (error) {
      placeFilterErrors(error, paths);
      showProblem(form, error);
    }
  };

  // A segment's filter errors go to the builder's rows; the rest stays on the form.
  const placeFilterErrors = (error, paths) => {
    const rowErrors = {};
    for (const { field, message } of error.problem?.errors ?? []) {
      const place = locateField(field, paths);
      if (place?.id) rowErrors[place.id] = { message, part: place.part ?? '' };
    }
    if (Object.keys(rowErrors).length) builder.showErrors(rowErrors, '');
  };

  const updateSegment = async (button) => {
    const segment = activeSegment();
    if (!segment) return;
    const { filter, paths } = builder.compiled();
    button.disabled = true;
    try {
      const saved = await patch(`/api/v1/segments/${encodeURIComponent(segment.id)}`, { filter });
      if (!alive) return;
      segments = segments.map((s) => (s.id === segment.id ? { ...s, ...saved, filter: saved?.filter ?? filter } : s));
      segmentBaseline = canonicalJson(filter);
      drawActions();
      regions.actions.querySelector('[data-action="save-segment"]')?.focus();
    } catch (error) {
      button.disabled = false;
      placeFilterErrors(error, paths);
      builder.showErrors(undefined, error.status === 422 ? '' : error.message);
    }
  };

  const deleteSegment = async (id) => {
    try {
      await del(`/api/v1/segments/${encodeURIComponent(id)}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) {
        console.warn('delete segment:', error.message);
        confirmDelete = null;
        drawSegments();
        return;
      }
    }
    if (!alive) return;
    segments = segments.filter((s) => s.id !== id);
    confirmDelete = null;
    if (activeSegmentId === id) {
      // Keep the rows on screen as a plain filter.
      activeSegmentId = null;
      memory.segmentId = null;
      segmentBaseline = null;
    }
    drawSegments();
    builder.redraw();
    drawActions();
    regions.segments.querySelector('[data-segment=""]')?.focus();
  };

  // --- Events ------------------------------------------------------------------------

  listen('click', (event) => {
    const target = event.target;
    const segmentButton = target.closest('[data-segment]');
    if (segmentButton) {
      openSegment(segmentButton.dataset.segment || null);
      return;
    }
    const button = target.closest('button');
    if (button?.dataset.delete) {
      confirmDelete = button.dataset.delete;
      drawSegments();
      regions.segments.querySelector('[data-delete-keep]')?.focus();
      return;
    }
    if (button?.dataset.deleteConfirm) {
      deleteSegment(button.dataset.deleteConfirm);
      return;
    }
    if (button?.dataset.deleteKeep) {
      const id = button.dataset.deleteKeep;
      confirmDelete = null;
      drawSegments();
      regions.segments.querySelector(`[data-delete="${CSS.escape(id)}"]`)?.focus();
      return;
    }
    if (button?.dataset.sort) {
      const key = button.dataset.sort;
      if (sort === key) order = order === 'asc' ? 'desc' : 'asc';
      else {
        sort = key;
        order = key === 'name' ? 'asc' : 'desc';
      }
      memory.sort = sort;
      memory.order = order;
      view.nextCursor = null;
      search();
      drawTable();
      return;
    }
    // A disabled menu does not open.
    const summary = target.closest('summary[aria-disabled="true"]');
    if (summary) {
      event.preventDefault();
      return;
    }
    switch (button?.dataset.action) {
      case 'more':
        search({ more: true });
        break;
      case 'select-all':
        allMatching = true;
        drawAll();
        regions.banner.querySelector('[data-action="clear-selection"]')?.focus();
        break;
      case 'clear-selection':
        allMatching = false;
        selected = new Set();
        drawAll();
        regions.table.querySelector('[data-action="tick-page"]')?.focus();
        break;
      case 'chat-message':
        button.closest('details')?.removeAttribute('open');
        openComposer();
        break;
      case 'save-segment':
        savingSegment = !savingSegment;
        drawActions();
        drawSegmentForm();
        break;
      case 'cancel-segment':
        savingSegment = false;
        drawSegmentForm();
        drawActions();
        regions.actions.querySelector('[data-action="save-segment"]')?.focus();
        break;
      case 'update-segment':
        updateSegment(button);
        break;
      default:
    }
  });

  listen('change', (event) => {
    const target = event.target;
    if (target.dataset.tick) {
      const id = target.dataset.tick;
      if (allMatching) {
        // Unticking one of "all matching" leaves everyone shown but them.
        allMatching = false;
        selected = new Set(view.rows.map((row) => row.id));
      }
      if (target.checked) selected.add(id);
      else selected.delete(id);
      target.closest('tr')?.classList.toggle('is-ticked', target.checked);
      drawActions();
      drawBanner();
      const pageBox = regions.table.querySelector('[data-action="tick-page"]');
      if (pageBox) {
        pageBox.checked = pageTicked();
        pageBox.indeterminate = !pageBox.checked && view.rows.some((row) => selected.has(row.id));
      }
    } else if (target.dataset.action === 'tick-page') {
      if (target.checked) for (const row of view.rows) selected.add(row.id);
      else {
        allMatching = false;
        selected = new Set();
      }
      drawActions();
      drawBanner();
      drawTable();
    } else if (target.dataset.column) {
      const name = target.dataset.column;
      columns = target.checked ? [...new Set([...columns, name])] : columns.filter((c) => c !== name);
      saveColumns(columns);
      drawTable();
    }
  });

  listen('submit', (event) => {
    const form = event.target;
    if (form.dataset.form !== 'segment') return;
    event.preventDefault();
    saveSegment(form);
  });

  // Esc closes an open menu and returns to its button.
  listen('keydown', (event) => {
    if (event.key !== 'Escape') return;
    const menu = event.target.closest('details[open]');
    if (menu) {
      menu.removeAttribute('open');
      menu.querySelector('summary')?.focus();
      event.preventDefault();
    }
  });

  const openComposer = () => {
    const { filter } = builder.compiled();
    const audience = bulkAudience({ allMatching, filter, selectedIds: selected });
    if (!audience) return;
    composer = openBulkComposer({
      audience,
      size: selectionSize(),
      recipients: previewRecipients({ allMatching, rows: view.rows, selectedIds: selected }),
      returnFocus: regions.actions.querySelector('summary'),
    });
  };

  // More rows as the footer comes into view.
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting) && view.nextCursor && view.status === 'ready' && !view.loadingMore) {
      search({ more: true });
    }
  }, { rootMargin: '200px' });
  observer.observe(regions.footer);

  const offs = [
    subscribe('schema', (s) => {
      schema = s.peopleSchema ?? schema;
      builder.redraw();
      drawColumnsMenu();
      drawTable();
      // Property types may change how a value is sent (a number, not text).
      scheduleSearch();
    }),
    subscribe('session', drawActions),
    subscribe('agents', drawActions),
  ];

  drawSegments();
  drawColumnsMenu();
  drawAll();
  main.focus();
  // Read the schema again on each visit: new properties, events and tags appear.
  loadPeopleSchema({ force: true }).catch((error) => console.warn('people schema:', error.message));
  loadSegments();
  search();

  return () => {
    alive = false;
    listening.abort();
    memory.group = builder.group;
    clearTimeout(searchTimer);
    searchAbort?.abort();
    observer.disconnect();
    offs.forEach((off) => off());
    composer?.close();
  };
}
