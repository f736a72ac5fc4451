// The flow editor's side form: the selected step's fields (node-fields.js),
// where each of its exits leads (a select per exit: the keyboard's way to
// connect and disconnect), making it the start, and deleting it. Typing
// changes the step at once without redrawing the form; choices that change
// which fields there are redraw it, keeping focus. Faults (ours or the
// server's) show beside their field.
//
//   const form = mountNodeForm(element, editor); form.draw(); form.focus();

import { html, render } from '../../shared/html.js';
import { renderKeepingFocus } from '../ui/focus.js';
import { mountFilterBuilder } from '../people/filter-builder.js';
import { builderFromFilter, propertyTypes, newGroup, locateField } from '../people/people-filter.js';
import { exitNames, exitLabel, nodeTitle } from './definition.js';
import { findNode, edgeOf } from './graph.js';
import { nodeFields, readNode } from './node-fields.js';

function datalists(schema) {
  return html`
    <datalist id="automation-properties">${(schema?.properties ?? []).map((p) => html`<option value="${p.name}"></option>`)}</datalist>
    <datalist id="automation-tags">${(schema?.tags ?? []).map((t) => html`<option value="${t.name ?? t}"></option>`)}</datalist>
    <datalist id="automation-events">${(schema?.events ?? []).map((e) => html`<option value="${e.name}"></option>`)}</datalist>`;
}

function exitRow(graph, node, exit, dangling) {
  const edge = edgeOf(graph, node.id, exit);
  const id = `node-exit-${exit}`;
  const missing = edge && !findNode(graph, edge.to);
  return html`<div class="field exit-field${dangling ? ' is-dangling' : ''}">
    <label for="${id}">${exitLabel(node, exit)} →</label>
    <select id="${id}" data-exit="${exit}" data-focus-key="${`exit:${exit}`}" aria-describedby="${id}-error"
      ${dangling ? html`aria-invalid="true"` : ''} data-testid="node-exit">
      <option value="" ${edge ? '' : html`selected`}>Ends here</option>
      ${missing ? html`<option value="${edge.to}" selected>${edge.to} (missing)</option>` : ''}
      ${graph.nodes.map((other) => html`<option value="${other.id}" ${edge?.to === other.id ? html`selected` : ''}>
        ${other.id === node.id ? `${other.id} (this step again)` : `${other.id} · ${nodeTitle(other)}`}</option>`)}
    </select>
    <p class="field-error" id="${id}-error" data-error-for="${`exits.${exit}`}"></p>
  </div>`;
}

export function mountNodeForm(element, editor) {
  let shownId = null;
  let builder = null;

  const values = (form) => {
    const out = {};
    for (const control of form.elements) {
      if (!control.name || control.dataset.exit !== undefined) continue;
      out[control.name] = control.type === 'checkbox' ? control.checked : control.value;
    }
    return out;
  };

  const current = () => findNode(editor.graph, editor.selected);

  const drawErrors = () => {
    const form = element.querySelector('form');
    const node = current();
    if (!form || !node) return;
    const errors = { ...editor.nodeErrors(node.id) };
    for (const slot of form.querySelectorAll('[data-error-for]')) {
      const key = slot.dataset.errorFor;
      render(slot, html`${errors[key] ?? ''}`);
      delete errors[key];
      const control = form.querySelector(`[aria-describedby~="${CSS.escape(slot.id)}"]`);
      if (control && key !== '') control.toggleAttribute('aria-invalid', Boolean(slot.textContent));
    }
    // A filter's faults go to its rows; anything else at the top.
    const filterFaults = Object.entries(errors).filter(([key]) => key.startsWith('filter'));
    if (builder && filterFaults.length) {
      const { paths } = builder.compiled();
      const rows = {};
      let top = '';
      for (const [key, message] of filterFaults) {
        const where = locateField(key, paths);
        if (where?.id) rows[where.id] = { message, part: where.part ?? '' };
        else top = message;
      }
      builder.showErrors(rows, top);
    }
    const rest = Object.entries(errors).filter(([key]) => !key.startsWith('filter')).map(([key, m]) => `${key}: ${m}`);
    const top = form.querySelector('[data-node-error]');
    if (rest.length) render(top, html`${[top.textContent, ...rest].filter(Boolean).join(' ')}`);
  };

  const mountCondition = (node) => {
    const slot = element.querySelector('[data-region="condition-filter"]');
    if (!slot) return;
    const types = propertyTypes(editor.schema());
    const group = builderFromFilter(node.filter, types);
    if (!group) {
      render(slot, html`<p class="notice">This filter is more than the builder can show; it is kept as it is.</p>`);
      return;
    }
    builder = mountFilterBuilder(slot, {
      initial: group ?? newGroup('and'),
      getSchema: () => editor.schema(),
      getSegments: () => editor.segments(),
      onChange: () => {
        const step = current();
        if (step) editor.update(step.id, { ...step, filter: builder.compiled().filter });
      },
    });
  };

  const draw = () => {
    const node = current();
    builder = null;
    shownId = node?.id ?? null;
    if (!node) {
      render(element, html`<div class="node-form-empty">
        <h2>Steps</h2>
        <p class="muted">Choose a step to edit it: click it, or Tab to it and press Enter. Add steps from the palette.
          Drag from a step's exit (the dots on its lower edge) to another step to connect them.</p></div>`);
      return;
    }
    const graph = editor.graph;
    const dangling = new Set(editor.dangling().filter((d) => d.node === node.id).map((d) => d.exit));
    const exits = [...new Set([...exitNames(node), ...graph.edges.filter((e) => e.from === node.id).map((e) => e.exit)])];
    const isStart = graph.start === node.id;
    renderKeepingFocus(element, html`
      <form class="node-form" data-form="node" novalidate aria-labelledby="node-form-title" data-testid="node-form">
        <div class="card-head">
          <h2 id="node-form-title">${nodeTitle(node)}</h2>
          ${isStart ? html`<span class="status-badge" data-testid="node-is-start">Start</span>` : ''}
        </div>
        <p class="form-error" role="alert" data-node-error data-error-for=""></p>
        <div class="field">
          <label for="node-field-id">Step id</label>
          <input id="node-field-id" name="id" value="${node.id}" autocomplete="off" spellcheck="false" required
            pattern="[A-Za-z0-9_\\-]{1,64}" aria-describedby="node-field-id-error" data-testid="node-id">
          <p class="field-error" id="node-field-id-error" data-error-for="id"></p>
        </div>
        ${nodeFields(node, { agents: editor.agents(), teams: editor.teams?.() ?? null })}
        ${exits.length ? html`<fieldset class="exit-list"><legend>Where it goes next</legend>
          ${exits.map((exit) => exitRow(graph, node, exit, dangling.has(exit)))}</fieldset>` : ''}
        <div class="form-actions">
          ${isStart ? '' : html`<button type="button" class="button small" data-action="set-start" data-testid="node-set-start">Start here</button>`}
          <button type="button" class="button small" data-action="back-to-node">Back to the flow</button>
          <button type="button" class="button ghost small danger-text" data-action="delete-node" data-testid="node-delete">Delete step</button>
        </div>
        ${datalists(editor.schema())}
      </form>`);
    if (node.type === 'condition') mountCondition(node);
    drawErrors();
  };

  const change = (next, { redraw = false } = {}) => {
    // A change event after the input events that made it: nothing to do
    // (and redrawing the drawing now would drop the focus on its way there).
    if (!redraw && JSON.stringify(next) === JSON.stringify(current())) return;
    editor.update(shownId, next);
    shownId = next.id;
    if (redraw) draw();
    else drawErrors();
  };

  element.addEventListener('input', (event) => {
    const form = event.target.closest('form[data-form="node"]');
    const node = current();
    if (!form || !node || event.target.closest('[data-region="condition-filter"]')) return;
    if (event.target.dataset.exit !== undefined || event.target.name === 'id' || event.target.tagName === 'SELECT') return;
    const { id, ...rest } = values(form);
    change(readNode(node, rest));
  });

  element.addEventListener('change', (event) => {
    const target = event.target;
    const form = target.closest('form[data-form="node"]');
    const node = current();
    if (!form || !node || target.closest('[data-region="condition-filter"]')) return;
    if (target.dataset.exit !== undefined) {
      if (target.value) editor.connect(node.id, target.dataset.exit, target.value);
      else editor.disconnect(node.id, target.dataset.exit);
      draw();
      return;
    }
    if (target.name === 'id') {
      const id = target.value.trim();
      const slot = form.querySelector('[data-error-for="id"]');
      if (id === node.id) return;
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id) || editor.graph.nodes.some((n) => n.id === id)) {
        render(slot, html`${editor.graph.nodes.some((n) => n.id === id) ? 'Another step has this id.' : 'Use 1 to 64 letters, digits, - or _.'}`);
        target.setAttribute('aria-invalid', 'true');
        return;
      }
      change({ ...node, id });
      return;
    }
    const { id, ...rest } = values(form);
    change(readNode(node, rest), { redraw: target.hasAttribute('data-redraw') });
  });

  element.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    const node = current();
    if (!button || !node || button.closest('[data-region="condition-filter"]')) return;
    const buttons = [...(node.buttons ?? [])];
    switch (button.dataset.action) {
      case 'add-button':
        buttons.push(`Option ${buttons.length + 1}`);
        change({ ...node, buttons }, { redraw: true });
        element.querySelector(`[name="buttons[${buttons.length - 1}]"]`)?.select();
        break;
      case 'remove-button':
        buttons.splice(Number(button.dataset.index), 1);
        change({ ...node, buttons }, { redraw: true });
        element.querySelector('[data-action="add-button"]')?.focus();
        break;
      case 'set-start':
        editor.setStart(node.id);
        draw();
        element.querySelector('[data-action="back-to-node"]')?.focus();
        break;
      case 'back-to-node':
        editor.focusNode(node.id);
        break;
      case 'delete-node':
        editor.remove(node.id);
        break;
      default:
    }
  });

  // Esc goes back to the step on the drawing.
  element.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !shownId || event.defaultPrevented) return;
    event.preventDefault();
    editor.focusNode(shownId);
  });

  return {
    draw,
    drawErrors,
    /** Redraws only when another step is selected (or the step is gone). */
    sync: () => (current()?.id !== shownId ? draw() : drawErrors()),
    focus: () => element.querySelector('input, select, textarea')?.focus(),
  };
}
