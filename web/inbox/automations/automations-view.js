// `#/automations`: the workspace's automations with their status, what
// starts them and their headline numbers; a new one, blank or from one of
// the three templates; importing one from an exported file, and exporting
// each.

import { html, render } from '../../shared/html.js';
import { listAutomations, createAutomation, importAutomation, exportAutomation } from '../data/automations.js';
import { announce } from '../data/store.js';
import { relativeTime, fullTime } from '../ui/time.js';
import { triggerSummary, newDefinition } from './definition.js';
import { count, goalRate } from './stats.js';
import { statusBadge, downloadJson } from './automation-bits.js';

// The templates as the server names them: a new one is created with no
// name of ours, so it takes the server's.
const TEMPLATES = [
  ['greeting', 'Greeting on the pricing page', 'After 30 seconds on the pricing page, asks visitors whether they have any questions about the plans.'],
  ['autoresponder', 'Autoresponder when nobody can answer', 'Tells people when to expect a reply, in and out of office hours.'],
  ['lead_bot', 'Lead qualification bot', 'Asks for an email address and qualifies the lead.'],
];

const open = (automation) => { location.hash = `#/automations/${encodeURIComponent(automation.id)}`; };

export function mountAutomationsView(element) {
  let alive = true;
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let automations = [];
  let error = '';
  let loading = true;

  render(element, html`
    <main id="main" class="page wide-page automations-page" tabindex="-1" data-testid="automations-view">
      <div class="page-head">
        <h1>Automations</h1>
        <span class="top-spacer"></span>
        <button type="button" class="button small primary" data-action="new" data-testid="automation-new">New automation</button>
        <details class="menu">
          <summary class="button small" data-testid="automation-templates">New from template</summary>
          <div class="menu-panel" role="group" aria-label="Templates">
            ${TEMPLATES.map(([template, name, about]) => html`<button type="button" class="menu-item" data-template="${template}"
              data-testid="${`template-${template}`}"><strong>${name}</strong><span class="muted small">${about}</span></button>`)}
          </div>
        </details>
        <label class="button small file-button" data-testid="automation-import">Import…
          <input type="file" accept="application/json,.json" class="visually-hidden" data-action="import" data-testid="automation-import-file"></label>
      </div>
      <p class="form-error" role="alert" data-region="error"></p>
      <div data-region="list"><p role="status">Loading…</p></div>
    </main>`);
  const list = element.querySelector('[data-region="list"]');
  const errorLine = element.querySelector('[data-region="error"]');

  const draw = () => {
    render(errorLine, html`${error}`);
    if (loading) return;
    if (!automations.length) {
      render(list, html`<p class="muted" data-testid="automations-empty">No automations yet. Start from a template, or a blank one.</p>`);
      return;
    }
    render(list, html`<table class="data-table" data-testid="automations-table">
      <caption class="visually-hidden">Automations</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Starts when</th>
        <th scope="col" class="numeric">Runs</th><th scope="col" class="numeric">Going</th><th scope="col" class="numeric">Goal</th>
        <th scope="col" class="numeric">Sent</th><th scope="col">Updated</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${automations.map((a) => html`<tr data-testid="automation-row" data-automation-id="${a.id}">
        <td><a href="${`#/automations/${encodeURIComponent(a.id)}`}">${a.name || 'Untitled'}</a>
          ${a.draft_changed && a.status !== 'draft' ? html`<span class="muted small"> · unpublished changes</span>` : ''}</td>
        <td>${statusBadge(a.status)}</td>
        <td>${triggerSummary(a.draft?.trigger)}</td>
        <td class="numeric">${count(a.stats?.runs)}</td>
        <td class="numeric">${count(a.stats?.going)}</td>
        <td class="numeric">${count(a.stats?.goal_reached)}${goalRate(a.stats) ? html` <span class="muted">(${goalRate(a.stats)})</span>` : ''}</td>
        <td class="numeric">${count(a.stats?.sent)}</td>
        <td><time datetime="${a.updated_at}" title="${fullTime(a.updated_at)}">${relativeTime(a.updated_at)}</time></td>
        <td><button type="button" class="button ghost small" data-export="${a.id}" aria-label="${`Export ${a.name}`}">Export</button></td>
      </tr>`)}</tbody></table>`);
  };

  const load = async () => {
    try {
      const answer = await listAutomations();
      if (!alive) return;
      automations = answer.slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
      error = '';
    } catch (failure) {
      if (!alive) return;
      error = failure.message;
    }
    loading = false;
    draw();
  };

  const create = async (body) => {
    try {
      const automation = await createAutomation(body);
      if (alive) open(automation);
    } catch (failure) {
      if (!alive) return;
      const fields = Object.entries(failure.fieldErrors ?? {}).map(([field, message]) => `${field}: ${message}`);
      error = fields.length ? fields.join(' ') : failure.message;
      draw();
    }
  };

  listen('click', async (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    if (button.dataset.action === 'new') create({ name: 'New automation', draft: newDefinition() });
    else if (button.dataset.template) {
      button.closest('details')?.removeAttribute('open');
      create({ template: button.dataset.template });
    } else if (button.dataset.export) {
      try {
        const data = await exportAutomation(button.dataset.export);
        downloadJson(data, data?.name ?? 'automation');
        announce('Exported.');
      } catch (failure) {
        error = failure.message;
        draw();
      }
    }
  });

  listen('change', async (event) => {
    const input = event.target;
    if (input.dataset.action !== 'import' || !input.files?.length) return;
    const [file] = input.files;
    input.value = '';
    try {
      const automation = await importAutomation(await file.text());
      announce(`Imported ${automation.name}.`);
      if (alive) open(automation);
    } catch (failure) {
      if (!alive) return;
      const fields = Object.entries(failure.fieldErrors ?? {}).map(([field, message]) => `${field}: ${message}`);
      error = failure instanceof SyntaxError ? `${file.name} is not an exported automation (${failure.message}).`
        : `Could not import ${file.name}: ${fields.length ? fields.join(' ') : failure.message}`;
      draw();
    }
  });

  // Esc closes the templates menu.
  listen('keydown', (event) => {
    const menu = event.key === 'Escape' && event.target.closest('details[open]');
    if (!menu) return;
    menu.removeAttribute('open');
    menu.querySelector('summary')?.focus();
    event.preventDefault();
  });

  element.querySelector('main').focus();
  load();
  return () => {
    alive = false;
    listening.abort();
  };
}
