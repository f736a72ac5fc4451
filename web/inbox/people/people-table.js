// What the People page shows of its results, as functions of the page's
// state (people-view.js holds it): the count, the toolbar (selection, Send
// a message, segment buttons), the "select all" banner, the table with its
// sortable headers and chosen columns, the Columns menu and the footer.

import { html } from '../../shared/html.js';
import { contactName, isOnline } from '../data/store.js';
import { avatar } from '../ui/avatar.js';
import { fullTime } from '../ui/time.js';
import { peopleCount } from './people-filter.js';
import { contactValue, formatPropValue, propertyLabel } from '../contacts/contact-props.js';
import { audienceSize } from './bulk-sends.js';

const COLUMNS_KEY = 'rapport.people.columns';
const DEFAULT_COLUMNS = ['first_seen_at'];
// Always shown, so not offered in the Columns menu.
const FIXED_COLUMNS = new Set(['name', 'email', 'last_seen_at']);
const SORTABLE = new Set(['name', 'first_seen_at', 'last_seen_at', 'created_at']);

export function loadColumns() {
  try {
    const saved = JSON.parse(localStorage.getItem(COLUMNS_KEY));
    return Array.isArray(saved) ? saved.filter((c) => typeof c === 'string') : DEFAULT_COLUMNS;
  } catch {
    return DEFAULT_COLUMNS;
  }
}

export function saveColumns(columns) {
  try {
    localStorage.setItem(COLUMNS_KEY, JSON.stringify(columns));
  } catch {
    // Private mode: the choice lasts this visit only.
  }
}

/** How many are selected: everyone matching, or the ticked rows. */
export const selectionSize = (page) =>
  audienceSize({ allMatching: page.allMatching, count: page.view.count, selectedIds: page.selected });

/** Whether every row on screen is ticked. */
export const pageTicked = ({ view, allMatching, selected }) =>
  view.rows.length > 0 && view.rows.every((row) => allMatching || selected.has(row.id));

export function countView({ view }) {
  if (view.status === 'error') return html`—`;
  if (view.count === null) return html`Counting…`;
  return html`${peopleCount(view.count)}`;
}

/** `segment`: the open segment, `changed`: whether the filter differs from it, `allowed`: may bulk send. */
export function toolbarView(page, { segment, changed, allowed }) {
  const size = selectionSize(page);
  return html`
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
    ${segment && changed ? html`<button type="button" class="button small" data-action="update-segment"
      data-focus-key="update-segment" data-testid="segment-update">Save changes to “${segment.name}”</button>` : ''}
    <button type="button" class="button small" data-action="save-segment" data-focus-key="save-segment"
      aria-expanded="${String(page.savingSegment)}" aria-controls="segment-form" data-testid="segment-save-open">Save as segment</button>`;
}

const columnChoices = (schema) => (schema.properties ?? []).filter((p) => !FIXED_COLUMNS.has(p.name));

export function columnsMenu({ schema, columns }) {
  const choices = columnChoices(schema);
  return html`
    <details class="menu columns-menu" data-testid="columns-menu">
      <summary class="button small" data-focus-key="columns">Columns</summary>
      <fieldset class="menu-panel">
        <legend class="visually-hidden">Columns to show</legend>
        ${choices.map((p) => html`<label class="menu-check">
          <input type="checkbox" data-column="${p.name}" data-focus-key="${`column:${p.name}`}"
            ${columns.includes(p.name) ? html`checked` : ''} data-testid="column-toggle">
          <span>${propertyLabel(p.name)}</span></label>`)}
        ${choices.length ? '' : html`<p class="muted small">No other properties yet.</p>`}
      </fieldset>
    </details>`;
}

export function bannerView(page) {
  const { view } = page;
  if (page.allMatching) {
    return html`<p class="select-banner" role="status" data-testid="select-all-banner">
      All ${peopleCount(view.count)} matching this filter are selected.
      <button type="button" class="button ghost small" data-action="clear-selection" data-testid="clear-selection">Clear selection</button>
    </p>`;
  }
  if (pageTicked(page)) {
    return html`<p class="select-banner" role="status" data-testid="select-all-banner">
      ${view.rows.length === 1 ? 'The one person' : `All ${view.rows.length} people`} shown ${view.rows.length === 1 ? 'is' : 'are'} selected.
      <button type="button" class="button ghost small" data-action="select-all" data-testid="select-all-matching">
        Select all ${peopleCount(view.count)} matching</button>
    </p>`;
  }
  return html``;
}

function sortHeader({ sort, order }, key, label) {
  const active = sort === key;
  const ariaSort = active ? (order === 'asc' ? 'ascending' : 'descending') : 'none';
  return html`<th scope="col" aria-sort="${ariaSort}">
    <button type="button" class="sort-button" data-sort="${key}" data-focus-key="${`sort:${key}`}"
      data-testid="${`sort-${key}`}">${label}<span class="sort-arrow" aria-hidden="true">${active
        ? (order === 'asc' ? ' ▲' : ' ▼') : ''}</span></button>
  </th>`;
}

const timeCell = (value) =>
  html`<td><time datetime="${value ?? ''}" title="${fullTime(value)}">${formatPropValue(value, 'datetime')}</time></td>`;

function row(page, contact, extra, types) {
  const name = contactName(contact);
  const isTicked = page.allMatching || page.selected.has(contact.id);
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
    ${timeCell(contactValue(contact, 'last_seen_at'))}
    ${extra.map((column) => {
      const value = contactValue(contact, column);
      const type = types.get(column) ?? (column.endsWith('_at') ? 'datetime' : undefined);
      return type === 'datetime' ? timeCell(value) : html`<td>${formatPropValue(value, type)}</td>`;
    })}
  </tr>`;
}

/** The table, or what stands in for it (loading, nobody, an error); `types` from propertyTypes(schema). */
export function tableView(page, types) {
  const { view, columns } = page;
  const extra = columns.filter((name) => !FIXED_COLUMNS.has(name) && (types.has(name) || name === 'first_seen_at'));
  if (!view.rows.length) {
    return view.status === 'loading' && view.count === null
      ? html`<p class="list-empty" role="status">Loading people…</p>`
      : view.status === 'error' ? html`<p class="form-error" role="alert" data-testid="people-error">${view.error || 'Fix the filter above.'}</p>`
        : view.status === 'ready' ? html`<p class="list-empty" data-testid="people-empty">Nobody matches this filter.</p>` : html``;
  }
  const ticked = pageTicked(page);
  const some = !ticked && view.rows.some((r) => page.selected.has(r.id));
  return html`
    ${view.status === 'error' ? html`<p class="form-error" role="alert" data-testid="people-error">${view.error || 'Fix the filter above; these are the last results.'}</p>` : ''}
    <table class="data-table people-table" data-testid="people-table">
      <caption class="visually-hidden">People matching the filter</caption>
      <thead>
        <tr>
          <th scope="col" class="tick-cell">
            <input type="checkbox" data-action="tick-page" data-focus-key="tick-page" ${ticked ? html`checked` : ''}
              ${some ? html`data-indeterminate` : ''} aria-label="Select everyone shown" data-testid="select-page">
          </th>
          ${sortHeader(page, 'name', 'Name')}
          <th scope="col">Email</th>
          ${sortHeader(page, 'last_seen_at', 'Last seen')}
          ${extra.map((name) => (SORTABLE.has(name) ? sortHeader(page, name, propertyLabel(name))
            : html`<th scope="col">${propertyLabel(name)}</th>`))}
        </tr>
      </thead>
      <tbody>
        ${view.rows.map((contact) => row(page, contact, extra, types))}
      </tbody>
    </table>`;
}

export function footerView({ view }) {
  if (!view.nextCursor || !view.rows.length) return html``;
  return html`${view.error && view.status !== 'error' ? html`<p class="form-error" role="alert">${view.error}</p>` : ''}
    <button type="button" class="button ghost small wide" data-action="more" data-testid="people-more"
      ${view.loadingMore ? html`disabled` : ''}>${view.loadingMore ? 'Loading…' : 'Load more'}</button>`;
}
