// Settings > Office hours & availability: the workspace's time zone,
// opening hours per day, holidays, what people are told about reply times
// in and out of hours, and the daily cap on automated messages to one
// person (owners and admins); then each teammate's availability: away, and
// how many open conversations round robin may give them (one's own row
// always; others' for owners and admins).
//
//   const destroy = mountOfficeSection(element, { manage });

import { html, render } from '../../shared/html.js';
import { getOffice, saveOffice, getAvailability, setAvailability } from '../data/settings.js';
import { formError, formValues, showProblem, showFieldErrors, clearErrors, whileBusy } from '../ui/forms.js';
import { state, sortedAgents, subscribe, agentName } from '../data/store.js';
import { DAYS, formatSpans, officeBody, officeField, maxOpen } from './office.js';

function zones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [];
  }
}

function text(name, label, value, { hint = '', attrs = html`` } = {}) {
  const id = `office-${name}`;
  return html`<div class="field">
    <label for="${id}">${label}</label>
    <input id="${id}" name="${name}" value="${value ?? ''}" autocomplete="off" ${attrs}
      aria-describedby="${id}-error${hint ? ` ${id}-hint` : ''}" data-testid="${id}">
    ${hint ? html`<p class="field-hint" id="${id}-hint">${hint}</p>` : ''}
    <p class="field-error" id="${id}-error" data-error-for="${name}"></p>
  </div>`;
}

function officeForm(office, manage) {
  return html`<form data-form="office" novalidate>
    ${formError()}
    <fieldset ${manage ? '' : html`disabled`}>
      ${text('time_zone', 'Time zone', office.time_zone, { attrs: html`list="office-zones" spellcheck="false"`, hint: 'An IANA name such as Europe/Warsaw.' })}
      <datalist id="office-zones">${zones().map((zone) => html`<option value="${zone}"></option>`)}</datalist>
      <table class="settings-table office-hours" data-testid="office-hours">
        <caption class="visually-hidden">Opening hours</caption>
        <thead><tr><th scope="col">Day</th><th scope="col">Open (like 09:00-12:30, 13:30-17:00; empty when closed)</th></tr></thead>
        <tbody>${DAYS.map((day, d) => html`<tr>
          <th scope="row"><label for="${`office-day${d}`}">${day}</label></th>
          <td><input id="${`office-day${d}`}" name="${`day${d}`}" value="${formatSpans(office.weekly?.[d])}" placeholder="Closed"
            autocomplete="off" spellcheck="false" aria-describedby="${`office-day${d}-error`}" data-testid="office-day">
            <p class="field-error" id="${`office-day${d}-error`}" data-error-for="${`weekly[${d}]`}"></p></td>
        </tr>`)}</tbody>
      </table>
      <div class="field">
        <label for="office-holidays">Holidays, one date a line</label>
        <textarea id="office-holidays" name="holidays" rows="3" spellcheck="false" placeholder="2026-12-25"
          aria-describedby="office-holidays-error" data-testid="office-holidays">${(office.holidays ?? []).join('\n')}</textarea>
        <p class="field-error" id="office-holidays-error" data-error-for="holidays"></p>
      </div>
      ${text('reply_time_in_hours', 'Reply time in office hours', office.reply_time_in_hours, { hint: 'What a handover tells people during office hours.' })}
      ${text('reply_time_out_of_hours', 'Reply time out of office hours', office.reply_time_out_of_hours)}
      ${text('automated_messages_per_day', 'Automated messages one person may get a day', office.automated_messages_per_day,
        { attrs: html`type="number" min="1" max="1000" step="1"` })}
      <div class="form-actions">
        <button type="submit" class="button primary small" data-testid="office-save">Save office hours</button>
        <span class="saved-note" role="status" data-saved></span>
      </div>
    </fieldset>
  </form>`;
}

function availabilityRows(rows, manage, errors) {
  const byAgent = new Map(rows.map((row) => [row.agent_id, row]));
  const agents = sortedAgents();
  const ids = agents.length ? agents.map((a) => a.id) : rows.map((r) => r.agent_id);
  return html`<table class="settings-table" data-testid="availability">
    <caption class="visually-hidden">Availability</caption>
    <thead><tr><th scope="col">Teammate</th><th scope="col" class="numeric">Open now</th>
      <th scope="col">Away</th><th scope="col">Most open conversations (empty: no limit)</th></tr></thead>
    <tbody>${ids.map((agentId) => {
      const row = byAgent.get(agentId) ?? { agent_id: agentId, away: false, max_open: null, open: 0 };
      const editable = manage || agentId === state.me?.id;
      const name = agentName(agentId) ?? agentId;
      return html`<tr data-agent-id="${agentId}" data-testid="availability-row">
        <th scope="row">${name}${agentId === state.me?.id ? ' (you)' : ''}</th>
        <td class="numeric">${row.open ?? 0}</td>
        <td><input type="checkbox" data-field="away" aria-label="${`${name} is away`}" ${row.away ? html`checked` : ''}
          ${editable ? '' : html`disabled`} data-testid="availability-away"></td>
        <td><input type="number" min="0" step="1" class="filter-number" data-field="max_open" value="${row.max_open ?? ''}"
          aria-label="${`Most open conversations for ${name}`}" aria-describedby="${`avail-${agentId}-error`}"
          ${editable ? '' : html`disabled`} data-testid="availability-max">
          <p class="field-error" id="${`avail-${agentId}-error`}">${errors[agentId] ?? ''}</p></td>
      </tr>`;
    })}</tbody></table>`;
}

export function mountOfficeSection(element, { manage }) {
  let alive = true;
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let rows = [];
  const rowErrors = {};

  render(element, html`<section class="card" aria-labelledby="s-office">
    <h2 id="s-office">Office hours &amp; availability</h2>
    <p>Automations ask whether it is business hours and whether the team is available; a handover tells people when to expect a reply.</p>
    <div data-region="office"><p role="status">Loading…</p></div>
    <h3>Availability</h3>
    <div data-region="availability"></div>
  </section>`);
  const officeRegion = element.querySelector('[data-region="office"]');
  const availabilityRegion = element.querySelector('[data-region="availability"]');
  const drawAvailability = () => render(availabilityRegion, availabilityRows(rows, manage, rowErrors));

  listen('submit', async (event) => {
    const form = event.target;
    if (form.dataset.form !== 'office') return;
    event.preventDefault();
    const { body, errors } = officeBody(formValues(form));
    if (errors.length) {
      showFieldErrors(form, errors);
      return;
    }
    clearErrors(form);
    try {
      await whileBusy(form, () => saveOffice(body));
      const note = form.querySelector('[data-saved]');
      render(note, html`Saved`);
      setTimeout(() => note.isConnected && render(note, html``), 2500);
    } catch (error) {
      // `weekly[2][0]` goes to Wednesday's line, `holidays[1]` to the holidays.
      const fieldErrors = {};
      for (const { field, message } of error.problem?.errors ?? []) fieldErrors[officeField(field)] ??= message;
      showProblem(form, Object.keys(fieldErrors).length ? { fieldErrors, message: error.message } : error);
    }
  });

  listen('change', async (event) => {
    const input = event.target;
    const row = input.closest('[data-agent-id]');
    if (!row || !input.dataset.field) return;
    const agentId = row.dataset.agentId;
    const away = row.querySelector('[data-field="away"]').checked;
    const max = maxOpen(row.querySelector('[data-field="max_open"]').value);
    if (max === undefined) {
      rowErrors[agentId] = 'A whole number, or empty for no limit.';
      drawAvailability();
      return;
    }
    delete rowErrors[agentId];
    try {
      const saved = await setAvailability(agentId, { away, max_open: max });
      const next = { ...(rows.find((r) => r.agent_id === agentId) ?? { agent_id: agentId, open: 0 }), away, max_open: max, ...(saved ?? {}) };
      rows = [...rows.filter((r) => r.agent_id !== agentId), next];
    } catch (error) {
      rowErrors[agentId] = Object.values(error.fieldErrors ?? {})[0] ?? error.message;
    }
    if (!alive) return;
    const focused = document.activeElement?.dataset?.field;
    drawAvailability();
    if (focused) availabilityRegion.querySelector(`[data-agent-id="${CSS.escape(agentId)}"] [data-field="${focused}"]`)?.focus();
  });

  getOffice().then((office) => {
    if (alive) render(officeRegion, officeForm(office ?? {}, manage));
  }).catch((error) => {
    if (alive) render(officeRegion, html`<p class="form-error" role="alert">Could not load the office hours: ${error.message}</p>`);
  });
  getAvailability().then((list) => {
    if (!alive) return;
    rows = list;
    drawAvailability();
  }).catch((error) => {
    if (alive) render(availabilityRegion, html`<p class="form-error" role="alert">Could not load availability: ${error.message}</p>`);
  });
  const off = subscribe('agents', () => rows.length && drawAvailability());

  return () => {
    alive = false;
    listening.abort();
    off();
  };
}
