// The People page's filter builder: an All / Any toggle over rows of
// "subject, operator, value", and groups of rows with their own toggle
// (one level deep). The model and its JSON live in people-filter.js; this
// draws it, keeps it in step with the inputs, and shows what the server
// said about a row. Typing in a value does not redraw (focus and caret
// stay); choosing a subject or an operator redraws, keeping focus.

import { html, render } from '../../shared/html.js';
import { renderKeepingFocus } from '../ui/focus.js';
import {
  operatorsFor, operatorLabel, valueKind, subjectType, propertyTypes, newCondition, newGroup, isGroup,
  withSubject, withOperator, compileFilter, parseSubject,
} from './people-filter.js';
import { propertyLabel } from '../contacts/contact-props.js';

const MATCHES = [['and', 'All'], ['or', 'Any']];

function subjectOptions(schema, segments, current) {
  const properties = [...(schema?.properties ?? [])]
    .sort((a, b) => Number(Boolean(b.system)) - Number(Boolean(a.system)) || a.name.localeCompare(b.name));
  const events = schema?.events ?? [];
  const tags = schema?.tags ?? [];
  const conversationTags = schema?.conversation_tags ?? [];
  const known = new Set([
    ...properties.map((p) => `prop:${p.name}`), ...events.map((e) => `event:${e.name}`),
    ...tags.map((t) => `tag:${t.name ?? t}`), ...conversationTags.map((t) => `conversation_tag:${t.name ?? t}`),
    ...segments.map((s) => `segment:${s.id}`), 'online', 'open_conversation',
  ]);
  const option = (value, label) => html`<option value="${value}" ${value === current ? html`selected` : ''}>${label}</option>`;
  const counted = (name, count) => (count === undefined || count === null ? name : `${name} (${count})`);
  // A subject from a saved filter that the schema no longer lists still shows.
  const stray = current && !known.has(current) ? parseSubject(current) : null;
  const strayLabel = stray?.kind === 'conversation_tag' ? `Conversation tag ${stray.name}` : stray?.name ?? current;
  return html`
    <option value="" ${current ? '' : html`selected`}>Choose…</option>
    ${stray ? option(current, strayLabel) : ''}
    ${properties.length ? html`<optgroup label="Properties">
      ${properties.map((p) => option(`prop:${p.name}`, propertyLabel(p.name)))}</optgroup>` : ''}
    ${events.length ? html`<optgroup label="Events">
      ${events.map((e) => option(`event:${e.name}`, counted(e.name, e.contacts ?? e.count)))}</optgroup>` : ''}
    ${tags.length ? html`<optgroup label="Tags">
      ${tags.map((t) => option(`tag:${t.name ?? t}`, counted(t.name ?? t, t.contacts ?? t.count)))}</optgroup>` : ''}
    ${conversationTags.length ? html`<optgroup label="Conversation tags">
      ${conversationTags.map((t) => option(`conversation_tag:${t.name ?? t}`,
        counted(t.name ?? t, t.conversations ?? t.count)))}</optgroup>` : ''}
    <optgroup label="Activity">
      ${option('online', 'Online now')}
      ${option('open_conversation', 'Open conversation')}
    </optgroup>
    ${segments.length ? html`<optgroup label="Segments">
      ${segments.map((s) => option(`segment:${s.id}`, s.name))}</optgroup>` : ''}`;
}

function valueInputs(condition, kind, label) {
  const key = condition.id;
  const input = (field, attrs, extraLabel = '') => html`
    <input ${attrs} data-field="${field}" data-focus-key="${key}:${field}" value="${condition[field]}"
      aria-label="${label} ${extraLabel || 'value'}" aria-describedby="${key}-message"
      data-testid="${field === 'value' ? 'filter-value' : 'filter-value2'}">`;
  switch (kind) {
    case 'none':
      return '';
    case 'number':
      return input('value', html`type="number" step="any" class="filter-number"`);
    case 'range':
      return html`${input('value', html`type="number" step="any" class="filter-number"`, 'lowest value')}
        <span class="filter-word">and</span>
        ${input('value2', html`type="number" step="any" class="filter-number"`, 'highest value')}`;
    case 'days':
      return html`${input('value', html`type="number" min="0" step="1" inputmode="numeric" class="filter-number"`, 'number of days')}
        <span class="filter-word">days</span>`;
    case 'count':
      return html`${input('value', html`type="number" min="0" step="1" inputmode="numeric" class="filter-number"`, 'number of times')}
        <span class="filter-word">times</span>`;
    case 'datetime':
      return input('value', html`type="datetime-local"`, 'date and time');
    case 'list':
      return input('value', html`type="text" placeholder="pro, team" class="filter-text"`, 'values, separated by commas');
    case 'boolean':
      return html`<select data-field="value" data-focus-key="${key}:value" aria-label="${label} value"
        aria-describedby="${key}-message" data-testid="filter-value">
        <option value="true" ${condition.value !== 'false' ? html`selected` : ''}>Yes</option>
        <option value="false" ${condition.value === 'false' ? html`selected` : ''}>No</option>
      </select>`;
    default:
      return input('value', html`type="text" class="filter-text"`);
  }
}

export function mountFilterBuilder(element, { initial, getSchema, getSegments, onChange }) {
  let group = initial ?? newGroup('and');
  let serverErrors = {}; // row id -> {message, part}
  let topError = '';

  const types = () => propertyTypes(getSchema());
  const operators = () => getSchema()?.operators;

  const conditionRow = (condition, number, inGroup) => {
    const type = subjectType(condition.subject, types());
    const label = inGroup ? `Condition ${inGroup}.${number}` : `Condition ${number}`;
    const key = condition.id;
    return html`
      <li class="filter-condition" data-row-id="${key}" data-testid="filter-condition">
        <div class="filter-line">
          <select data-field="subject" data-focus-key="${key}:subject" aria-label="${label}: filter on"
            aria-describedby="${key}-message" data-testid="filter-subject">
            ${subjectOptions(getSchema(), getSegments(), condition.subject)}
          </select>
          ${type ? html`<select data-field="op" data-focus-key="${key}:op" aria-label="${label}: operator"
            aria-describedby="${key}-message" data-testid="filter-op">
            ${operatorsFor(type, operators()).map((op) => html`<option value="${op}" ${op === condition.op ? html`selected` : ''}>${operatorLabel(type, op)}</option>`)}
          </select>` : ''}
          ${type ? valueInputs(condition, valueKind(type, condition.op), label) : ''}
          <button type="button" class="button ghost small icon-button" data-action="remove" data-focus-key="${key}:remove"
            aria-label="Remove ${label.toLowerCase()}" title="Remove" data-testid="filter-remove">✕</button>
        </div>
        <p class="filter-message" id="${key}-message" data-message-for="${key}" data-testid="filter-error"></p>
      </li>`;
  };

  const matchToggle = (target, match, label) => html`
    <fieldset class="match-toggle" data-testid="${target === group.id ? 'filter-match' : 'filter-group-match'}">
      <legend class="visually-hidden">${label}</legend>
      ${MATCHES.map(([value, text]) => html`
        <label class="segment">
          <input type="radio" name="${`match-${target}`}" value="${value}" data-match-for="${target}"
            data-focus-key="${target}:match:${value}" ${value === match ? html`checked` : ''}
            data-testid="${`filter-match-${value}`}">
          <span>${text}</span>
        </label>`)}
    </fieldset>`;

  const draw = () => {
    let number = 0;
    renderKeepingFocus(element, html`
      <div class="filter-builder" data-testid="filter-builder">
        <div class="filter-head">
          <span class="filter-word">Match</span>
          ${matchToggle(group.id, group.match, 'Match all or any of the conditions')}
          <span class="filter-word">of these conditions</span>
        </div>
        <p class="form-error" role="alert" data-testid="filter-top-error">${topError}</p>
        ${group.items.length ? html`<ol class="filter-rows">
          ${group.items.map((item) => {
            number += 1;
            if (!isGroup(item)) return conditionRow(item, number);
            const groupNumber = number;
            return html`
              <li class="filter-group" data-row-id="${item.id}" data-testid="filter-group">
                <div class="filter-head">
                  <span class="filter-word">Group ${groupNumber}: match</span>
                  ${matchToggle(item.id, item.match, `Group ${groupNumber}: match all or any`)}
                  <button type="button" class="button ghost small" data-action="remove" data-focus-key="${item.id}:remove"
                    data-testid="filter-group-remove">Remove group</button>
                </div>
                <p class="filter-message" id="${item.id}-message" data-message-for="${item.id}"></p>
                <ol class="filter-rows">${item.items.map((c, i) => conditionRow(c, i + 1, groupNumber))}</ol>
                <button type="button" class="button ghost small" data-action="add" data-group="${item.id}"
                  data-focus-key="${item.id}:add" data-testid="filter-group-add">+ Condition in group</button>
              </li>`;
          })}
        </ol>` : html`<p class="muted filter-empty">No conditions: everyone matches.</p>`}
        <div class="filter-buttons">
          <button type="button" class="button small" data-action="add" data-focus-key="add" data-testid="filter-add">+ Add condition</button>
          <button type="button" class="button ghost small" data-action="add-group" data-focus-key="add-group"
            data-testid="filter-add-group">+ Add group</button>
          ${group.items.length ? html`<button type="button" class="button ghost small" data-action="clear"
            data-focus-key="clear" data-testid="filter-clear">Clear all</button>` : ''}
        </div>
      </div>`);
    drawMessages();
  };

  // Server errors in red; rows not applied yet in grey, saying why.
  const drawMessages = () => {
    const { problems } = compileFilter(group, types());
    for (const slot of element.querySelectorAll('[data-message-for]')) {
      const id = slot.dataset.messageFor;
      const server = serverErrors[id];
      const problem = problems[id];
      const text = server?.message ?? (problem ? `${problem.message} Not applied yet.` : '');
      render(slot, html`${text}`);
      slot.classList.toggle('is-error', Boolean(server));
      const row = slot.closest('[data-row-id]');
      for (const input of row.querySelectorAll(':scope > .filter-line [data-field], :scope > .filter-head [data-field]')) {
        const part = server?.part ?? '';
        const field = input.dataset.field;
        const invalid = server && (part === field || part.startsWith(`${field}[`) || (!['value', 'value2', 'op'].includes(part) && field === 'subject'));
        if (invalid) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
      }
    }
    const top = element.querySelector('[data-testid="filter-top-error"]');
    if (top) render(top, html`${topError}`);
  };

  const find = (id) => {
    for (const item of group.items) {
      if (item.id === id) return { item, parent: group };
      if (isGroup(item)) {
        const inner = item.items.find((c) => c.id === id);
        if (inner) return { item: inner, parent: item };
      }
    }
    return null;
  };

  const replace = (id, next) => {
    const found = find(id);
    if (!found) return;
    found.parent.items = found.parent.items.map((item) => (item.id === id ? next : item));
  };

  const changed = ({ redraw = true } = {}) => {
    if (redraw) draw();
    else drawMessages();
    onChange();
  };

  element.addEventListener('change', (event) => {
    const target = event.target;
    if (target.dataset.matchFor) {
      const id = target.dataset.matchFor;
      if (id === group.id) group = { ...group, match: target.value };
      else replace(id, { ...find(id).item, match: target.value });
      changed();
      return;
    }
    const row = target.closest('[data-row-id]');
    const field = target.dataset.field;
    if (!row || !field) return;
    const found = find(row.dataset.rowId);
    if (!found) return;
    const condition = found.item;
    delete serverErrors[condition.id];
    if (field === 'subject') replace(condition.id, withSubject(condition, target.value, types(), operators()));
    else if (field === 'op') replace(condition.id, withOperator(condition, target.value, types()));
    else {
      replace(condition.id, { ...condition, [field]: target.value });
      changed({ redraw: false });
      return;
    }
    changed();
  });

  // Typing: keep the model in step without redrawing the row.
  element.addEventListener('input', (event) => {
    const target = event.target;
    const field = target.dataset.field;
    if (!field || target.tagName === 'SELECT') return;
    const row = target.closest('[data-row-id]');
    const found = row && find(row.dataset.rowId);
    if (!found) return;
    delete serverErrors[found.item.id];
    replace(found.item.id, { ...found.item, [field]: target.value });
    changed({ redraw: false });
  });

  element.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const action = button.dataset.action;
    let focusId = null;
    if (action === 'add') {
      const condition = newCondition();
      focusId = condition.id;
      const parentId = button.dataset.group;
      if (parentId) replace(parentId, { ...find(parentId).item, items: [...find(parentId).item.items, condition] });
      else group = { ...group, items: [...group.items, condition] };
    } else if (action === 'add-group') {
      const condition = newCondition();
      focusId = condition.id;
      group = { ...group, items: [...group.items, newGroup(group.match === 'and' ? 'or' : 'and', [condition])] };
    } else if (action === 'remove') {
      const row = button.closest('[data-row-id]');
      const found = row && find(row.dataset.rowId);
      if (!found) return;
      found.parent.items = found.parent.items.filter((item) => item !== found.item);
      // A group left empty goes too.
      if (found.parent !== group && !found.parent.items.length) {
        group = { ...group, items: group.items.filter((item) => item !== found.parent) };
      }
      delete serverErrors[found.item.id];
      focusId = 'add';
    } else if (action === 'clear') {
      group = newGroup(group.match);
      serverErrors = {};
      focusId = 'add';
    } else {
      return;
    }
    group = { ...group };
    changed();
    const target = focusId === 'add'
      ? element.querySelector('[data-action="add"]:not([data-group])')
      : element.querySelector(`[data-focus-key="${CSS.escape(focusId)}:subject"]`);
    target?.focus();
  });

  draw();

  return {
    /** The builder's model (for remembering it across visits). */
    get group() {
      return group;
    },
    /** `{filter, paths, problems}` for the current rows. */
    compiled: () => compileFilter(group, types()),
    /** Shows another filter (a segment's), dropping errors. */
    load(next) {
      group = next ?? newGroup('and');
      serverErrors = {};
      topError = '';
      draw();
    },
    /** `errors`: row id -> {message, part}; `top`: a message about the filter as a whole. */
    showErrors(errors = {}, top = '') {
      serverErrors = { ...errors };
      topError = top;
      drawMessages();
    },
    /** The schema or segments arrived or changed: redraw the selects. */
    redraw: draw,
  };
}
