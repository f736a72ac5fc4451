// `#/reports`: a period's numbers (new conversations, first response
// time, time to close, ratings) as totals, four charts and a table, by
// day, team member or channel, with the same numbers as a CSV download.
// Days are counted at the agent's current offset from UTC (the API takes
// one offset, so across a daylight-saving change some days are an hour
// off; the page's note names the offset used).
// Changing a control asks again; an answer to an older question is dropped.

import { html, render } from '../../shared/html.js';
import { announce } from '../data/store.js';
import {
  PRESETS, DEFAULT_PRESET, GROUPS, presetPeriod, presetOf, periodErrors, offsetMinutes, offsetText,
  getReport, reportCsvUrl, problemText, counted, longDate,
} from '../data/reports.js';
import { totalsCards, reportTable } from './report-numbers.js';
import { newConversationsChart, firstResponseChart, timeToCloseChart, ratingsChart } from './report-charts.js';

function controls({ preset, from, to, by }) {
  return html`<form class="report-controls" data-region="controls" novalidate>
    <div class="field">
      <label for="report-period">Period</label>
      <select id="report-period" name="period" data-testid="report-period">
        ${PRESETS.map((p) => html`<option value="${p.value}" ${p.value === preset ? html`selected` : ''}>${p.label}</option>`)}
        <option value="custom" ${preset === 'custom' ? html`selected` : ''}>Custom</option>
      </select>
    </div>
    <div class="field">
      <label for="report-from">From</label>
      <input id="report-from" name="from" type="date" value="${from}" required aria-describedby="report-error" data-testid="report-from">
    </div>
    <div class="field">
      <label for="report-to">To</label>
      <input id="report-to" name="to" type="date" value="${to}" required aria-describedby="report-error" data-testid="report-to">
    </div>
    <div class="field">
      <label for="report-group">Group by</label>
      <select id="report-group" name="by" data-testid="report-group">
        ${GROUPS.map((g) => html`<option value="${g.value}" ${g.value === by ? html`selected` : ''}>${g.label}</option>`)}
      </select>
    </div>
    <a class="button small report-csv" data-testid="report-csv" data-region="csv" aria-disabled="true">Download CSV</a>
  </form>`;
}

export function mountReportsView(element) {
  let alive = true;
  // Listeners on the shared view element go when the view does.
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  const period = presetPeriod(DEFAULT_PRESET);
  const asked = { preset: DEFAULT_PRESET, from: period.from, to: period.to, by: 'day' };
  let asking = 0; // the latest question's number: only its answer is drawn
  let inFlight = null;

  render(element, html`
    <main id="main" class="page wide-page reports-page" tabindex="-1" data-testid="reports-view">
      <div class="page-head"><h1>Reports</h1></div>
      ${controls(asked)}
      <p class="muted small" id="report-zone">Days are counted at your current UTC offset (${offsetText(offsetMinutes())}) throughout the period.</p>
      <p class="form-error" role="alert" id="report-error" data-testid="report-error"></p>
      <div class="report-body" data-region="report"><p role="status">Loading…</p></div>
    </main>`);
  const form = element.querySelector('[data-region="controls"]');
  const body = element.querySelector('[data-region="report"]');
  const errorLine = element.querySelector('[data-testid="report-error"]');
  const csv = element.querySelector('[data-region="csv"]');
  const input = (name) => form.elements.namedItem(name);

  const showError = (text, fields = []) => {
    render(errorLine, html`${text}`);
    for (const name of ['from', 'to', 'by']) {
      const control = input(name);
      if (fields.includes(name)) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    }
  };

  // The link downloads the period shown; while none is (an invalid period,
  // a question in flight or failed) it has no address.
  const offerCsv = (params) => {
    if (params) {
      csv.href = reportCsvUrl(params);
      csv.setAttribute('download', `report-${params.from}-to-${params.to}-by-${params.by}.csv`);
      csv.removeAttribute('aria-disabled');
    } else {
      csv.removeAttribute('href');
      csv.removeAttribute('download');
      csv.setAttribute('aria-disabled', 'true');
    }
  };

  const draw = (report) => {
    render(body, html`
      ${totalsCards(report.totals)}
      <div class="report-charts">
        <section class="card">${newConversationsChart(report)}</section>
        <section class="card">${firstResponseChart(report)}</section>
        <section class="card">${timeToCloseChart(report)}</section>
        <section class="card">${ratingsChart(report)}</section>
      </div>
      ${reportTable(report)}`);
  };

  const load = async () => {
    const errors = periodErrors(asked);
    offerCsv(null);
    if (errors.length) {
      // Not asked: whatever is in flight answers an older question.
      asking += 1;
      inFlight?.abort();
      body.removeAttribute('aria-busy');
      body.classList.add('is-stale');
      showError(errors.map((e) => e.message).join(' '), errors.map((e) => e.field));
      return;
    }
    const number = ++asking;
    inFlight?.abort();
    const controller = new AbortController();
    inFlight = controller;
    const params = { from: asked.from, to: asked.to, by: asked.by, offset: offsetMinutes() };
    body.setAttribute('aria-busy', 'true');
    try {
      const report = await getReport(params, { signal: controller.signal });
      if (!alive || number !== asking) return;
      showError('');
      body.classList.remove('is-stale');
      // Drawn as asked: the answer's own fields are the same, or older.
      draw({ ...report, from: report.from ?? params.from, to: report.to ?? params.to, by: params.by });
      offerCsv(params);
      announce(`${counted(report.totals?.new_conversations ?? 0, 'new conversation')} from ${longDate(params.from)} to ${longDate(params.to)}.`);
    } catch (error) {
      if (!alive || number !== asking || error.name === 'AbortError') return;
      showError(problemText(error), Object.keys(error.fieldErrors ?? {}));
      // What is still shown answers an earlier question.
      if (body.querySelector('.report-totals')) body.classList.add('is-stale');
      else render(body, html``);
    } finally {
      if (alive && number === asking) {
        body.removeAttribute('aria-busy');
        inFlight = null;
      }
    }
  };

  listen('change', (event) => {
    const name = event.target.name;
    if (name === 'period') {
      asked.preset = event.target.value;
      if (asked.preset === 'custom') {
        input('from').focus();
        return;
      }
      Object.assign(asked, presetPeriod(asked.preset));
      input('from').value = asked.from;
      input('to').value = asked.to;
    } else if (name === 'from' || name === 'to') {
      asked[name] = event.target.value;
      asked.preset = presetOf(asked);
      input('period').value = asked.preset;
    } else if (name === 'by') {
      asked.by = event.target.value;
    } else {
      return;
    }
    load();
  });
  // The form has no submit button; Enter in a date field must not reload the page.
  listen('submit', (event) => event.preventDefault());

  element.querySelector('main').focus();
  load();
  return () => {
    alive = false;
    asking += 1;
    inFlight?.abort();
    listening.abort();
  };
}
