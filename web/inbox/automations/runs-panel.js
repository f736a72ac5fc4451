// The editor's Runs tab: the automation's runs, newest first (all, or
// only those going), one run's log with a Stop button, starting a run for
// one contact by hand, and a dry run ("Test") that shows the path a
// contact would take and the messages they would get, sending nothing.
//
//   const destroy = mountRunsPanel(element, { automationId });

import { html, render } from '../../shared/html.js';
import { listRuns, getRun, stopRun, startRun, simulate } from '../data/automations.js';
import { searchContacts } from '../data/people.js';
import { contactsById, contactLabel } from '../data/contacts.js';
import { relativeTime, fullTime } from '../ui/time.js';
import { formError, showProblem, clearErrors, whileBusy } from '../ui/forms.js';

const RUN_STATUS = { active: 'Active', waiting: 'Waiting', done: 'Done', stopped: 'Stopped', failed: 'Failed' };
const going = (run) => run.status === 'active' || run.status === 'waiting';
const when = (value) => html`<time datetime="${value ?? ''}" title="${fullTime(value)}">${relativeTime(value)}</time>`;

/** An id as it is, or the contact with that email address. */
async function contactId(text) {
  const value = text.trim();
  if (!value.includes('@')) return value;
  const answer = await searchContacts({ filter: { and: [{ prop: 'email', op: 'eq', value }] }, limit: 1 });
  const found = answer?.data?.[0]?.id;
  if (!found) throw Object.assign(new Error('No contact has this email address.'), { fieldErrors: { contact_id: 'No contact has this email address.' } });
  return found;
}

function contactForm(name, label, button, testid) {
  return html`<form class="inline-form" data-form="${name}" novalidate>
    ${formError()}
    <div class="field">
      <label for="${`runs-${name}-contact`}">${label}</label>
      <div class="input-with-button">
        <input id="${`runs-${name}-contact`}" name="contact_id" autocomplete="off" spellcheck="false" required
          placeholder="Contact id or email address" aria-describedby="${`runs-${name}-error`}" data-testid="${`${testid}-contact`}">
        <button type="submit" class="button small" data-testid="${testid}">${button}</button>
      </div>
      <p class="field-error" id="${`runs-${name}-error`}" data-error-for="contact_id"></p>
    </div>
  </form>`;
}

export function mountRunsPanel(element, { automationId }) {
  let alive = true;
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  const page = { runs: [], more: false, onlyGoing: false, status: 'loading', error: '', open: null, log: [], runError: '' };
  const contacts = new Map(); // contact id -> contact (null: not readable), for the ids shown

  const contactLink = (id) => html`<a href="${`#/contacts/${encodeURIComponent(id)}`}" data-contact="${id}">${
    contactLabel(contacts.get(id), id)}</a>`;

  // Names the contacts shown (fetching only those not known yet), in place:
  // the table is not redrawn, so focus stays where it is.
  const nameContacts = async () => {
    const shown = page.open ? [page.open.contact_id] : page.runs.map((run) => run.contact_id);
    const missing = shown.filter((id) => id && !contacts.has(id));
    if (!missing.length) return;
    const found = await contactsById(missing);
    if (!alive) return;
    for (const [id, contact] of found) contacts.set(id, contact);
    for (const link of element.querySelectorAll('[data-contact]')) {
      if (found.has(link.dataset.contact)) render(link, html`${contactLabel(found.get(link.dataset.contact), link.dataset.contact)}`);
    }
  };

  render(element, html`
    <div class="runs-tools">
      ${contactForm('start', 'Start a run for', 'Start run', 'run-start')}
      ${contactForm('simulate', 'Test with (nothing is sent)', 'Test', 'run-simulate')}
    </div>
    <div data-region="simulation" aria-live="polite"></div>
    <div class="card-head">
      <h2 id="runs-title">Runs</h2>
      <label class="check"><input type="checkbox" data-action="only-going" data-testid="runs-going"> Only runs still going</label>
      <button type="button" class="button ghost small" data-action="refresh">Refresh</button>
    </div>
    <div data-region="runs"></div>`);
  const regions = Object.fromEntries([...element.querySelectorAll('[data-region]')].map((el) => [el.dataset.region, el]));

  const drawList = () => {
    if (page.open) return drawRun();
    if (page.status === 'loading' && !page.runs.length) {
      render(regions.runs, html`<p role="status">Loading…</p>`);
      return;
    }
    render(regions.runs, html`
      ${page.error ? html`<p class="form-error" role="alert">${page.error}</p>` : ''}
      ${page.runs.length ? html`<table class="data-table" aria-labelledby="runs-title" data-testid="runs-table">
        <thead><tr><th scope="col">Status</th><th scope="col">Contact</th><th scope="col">Version</th>
          <th scope="col">At step</th><th scope="col">Started</th><th scope="col">Updated</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${page.runs.map((run) => html`<tr data-run-id="${run.id}" data-testid="run-row">
          <td><span class="${`status-badge run-${run.status}`}">${RUN_STATUS[run.status] ?? run.status}</span>
            ${run.goal_reached ? html`<span class="status-badge run-goal">Goal</span>` : ''}</td>
          <td>${contactLink(run.contact_id)}</td>
          <td class="numeric">v${run.version}</td>
          <td>${run.node ?? '—'}${run.wait ? html` <span class="muted">(waiting)</span>` : ''}</td>
          <td>${when(run.started_at)}</td><td>${when(run.updated_at)}</td>
          <td><button type="button" class="button ghost small" data-action="open-run" data-run="${run.id}">Log</button></td>
        </tr>`)}</tbody></table>` : html`<p class="muted" data-testid="runs-empty">No runs${page.onlyGoing ? ' going' : ''} yet.</p>`}
      ${page.more ? html`<button type="button" class="button ghost small wide" data-action="more">Load more</button>` : ''}`);
    nameContacts();
  };

  const drawRun = () => {
    const run = page.open;
    render(regions.runs, html`<section class="card run-log" aria-labelledby="run-title" data-testid="run-log">
      <div class="card-head">
        <h3 id="run-title" tabindex="-1">Run ${run.id}</h3>
        <span class="${`status-badge run-${run.status}`}">${RUN_STATUS[run.status] ?? run.status}</span>
        <span class="top-spacer"></span>
        ${going(run) ? html`<button type="button" class="button small" data-action="stop-run" data-testid="run-stop">Stop this run</button>` : ''}
        <button type="button" class="button ghost small" data-action="close-run">Back to runs</button>
      </div>
      <p class="muted small">Contact ${contactLink(run.contact_id)}
        ${run.conversation_id ? html` · <a href="${`#/conversations/${encodeURIComponent(run.conversation_id)}`}">conversation</a>` : ''}
        · version ${run.version} · started ${when(run.started_at)}${run.ended_reason ? ` · ended: ${run.ended_reason}` : ''}</p>
      ${page.runError ? html`<p class="form-error" role="alert">${page.runError}</p>` : ''}
      <ol class="run-steps">${page.log.map((entry) => html`<li>
        <span class="run-step-node">${entry.node ?? '—'}</span>
        <span class="muted">${entry.kind}${entry.exit ? ` → ${entry.exit}` : ''}</span>
        ${entry.detail ? html`<span>${entry.detail}</span>` : ''}
        <span class="top-spacer"></span>${when(entry.at)}</li>`)}</ol>
    </section>`);
    nameContacts();
  };

  const load = async ({ more = false } = {}) => {
    page.status = 'loading';
    try {
      const before = more ? page.runs.at(-1)?.id : null;
      const runs = await listRuns(automationId, { going: page.onlyGoing, before });
      if (!alive) return;
      page.runs = more ? [...page.runs, ...runs] : runs;
      page.more = runs.length >= 50;
      page.error = '';
    } catch (error) {
      if (!alive) return;
      page.error = error.message;
    }
    page.status = 'ready';
    drawList();
  };

  const openRun = async (runId) => {
    try {
      const answer = await getRun(automationId, runId);
      if (!alive) return;
      page.open = answer.run;
      page.log = answer.log ?? [];
      page.runError = '';
      drawRun();
      regions.runs.querySelector('#run-title')?.focus();
    } catch (error) {
      if (alive) render(regions.runs, html`<p class="form-error" role="alert">${error.message}</p>`);
    }
  };

  const showSimulation = (result) => {
    render(regions.simulation, html`<section class="card" aria-labelledby="sim-title" data-testid="simulation">
      <h3 id="sim-title">Dry run</h3>
      <ol class="run-steps">${(result?.path ?? []).map((step) => html`<li><span class="run-step-node">${step.node}</span>
        <span class="muted">${step.kind}${step.exit ? ` → ${step.exit}` : ''}</span>${step.detail ? html` <span>${step.detail}</span>` : ''}</li>`)}</ol>
      ${(result?.messages ?? []).length ? html`<h4>Messages</h4><ul class="plain-list">
        ${result.messages.map((m) => html`<li><strong>${m.node}:</strong> <span class="pre-line">${m.body}</span></li>`)}</ul>`
        : html`<p class="muted">No messages would be sent.</p>`}
    </section>`);
  };

  listen('submit', async (event) => {
    const form = event.target;
    event.preventDefault();
    clearErrors(form);
    const text = form.elements.contact_id.value;
    if (!text.trim()) {
      showProblem(form, { fieldErrors: { contact_id: 'Enter a contact id or email address.' }, message: '' });
      return;
    }
    try {
      await whileBusy(form, async () => {
        const id = await contactId(text);
        if (form.dataset.form === 'simulate') showSimulation(await simulate(automationId, id));
        else {
          const run = await startRun(automationId, id);
          page.runs = [run, ...page.runs.filter((r) => r.id !== run.id)];
          drawList();
        }
      });
    } catch (error) {
      if (alive) showProblem(form, error);
    }
  });

  listen('change', (event) => {
    if (event.target.dataset.action !== 'only-going') return;
    page.onlyGoing = event.target.checked;
    page.open = null;
    load();
  });

  listen('click', async (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    switch (button.dataset.action) {
      case 'refresh':
        page.open = null;
        load();
        break;
      case 'more':
        load({ more: true });
        break;
      case 'open-run':
        openRun(button.dataset.run);
        break;
      case 'close-run': {
        const id = page.open?.id;
        page.open = null;
        drawList();
        regions.runs.querySelector(`[data-run="${CSS.escape(id ?? '')}"]`)?.focus();
        break;
      }
      case 'stop-run':
        button.disabled = true;
        try {
          await stopRun(automationId, page.open.id);
          if (!alive) return;
          page.runs = page.runs.map((r) => (r.id === page.open.id ? { ...r, status: 'stopped' } : r));
          await openRun(page.open.id);
        } catch (error) {
          if (!alive) return;
          page.runError = error.message;
          drawRun();
        }
        break;
      default:
    }
  });

  load();
  return () => {
    alive = false;
    listening.abort();
  };
}
