// A report's numbers as markup, with no DOM: the totals as four cards
// (new conversations; first response and time to close as median with
// the 90th percentile beneath; ratings as the share of great with each
// score's count), and the table of every row with a Total row.

import { html } from '../../shared/html.js';
import {
  counted, numberText, durationText, percentText, greatShare, longDate, rowLabels, GROUPS,
} from '../data/reports.js';

const number = (value) => Number(value) || 0;

function card({ testid, name, value, count, notes }) {
  return html`<section class="report-total" data-testid="${testid}" data-count="${count}" aria-labelledby="${`${testid}-name`}">
    <h2 class="report-total-name" id="${`${testid}-name`}">${name}</h2>
    <p class="report-total-value" data-region="value">${value}</p>
    ${notes.map((note) => html`<p class="report-total-note">${note}</p>`)}
  </section>`;
}

function durationCard(stat, { testid, name, one, many }) {
  const count = number(stat?.count);
  return card({
    testid,
    name,
    count,
    value: count ? durationText(stat.median_seconds) : '—',
    notes: count
      ? [`90th percentile: ${durationText(stat.p90_seconds)}`, `Median of ${counted(count, one, many)}`]
      : [`No ${many} in this period`],
  });
}

/** The four totals. */
export function totalsCards(totals) {
  const ratings = totals?.ratings ?? {};
  const rated = number(ratings.count);
  return html`<div class="report-totals">
    ${card({
      testid: 'report-total-new',
      name: 'New conversations',
      count: number(totals?.new_conversations),
      value: numberText(totals?.new_conversations),
      notes: ['Started in this period'],
    })}
    ${durationCard(totals?.first_response, {
      testid: 'report-total-first-response', name: 'First response time', one: 'first response', many: 'first responses',
    })}
    ${durationCard(totals?.time_to_close, {
      testid: 'report-total-close', name: 'Time to close', one: 'closed conversation', many: 'closed conversations',
    })}
    ${card({
      testid: 'report-total-ratings',
      name: 'Ratings',
      count: rated,
      value: rated ? `${percentText(greatShare(ratings))} great` : '—',
      notes: rated
        ? [counted(rated, 'rating'), `${numberText(ratings.bad)} bad · ${numberText(ratings.ok)} OK · ${numberText(ratings.great)} great`]
        : ['No ratings in this period'],
    })}
  </div>`;
}

/** One row's cells after its name: the same columns for rows and the total. */
function cells(row) {
  const first = row?.first_response ?? {};
  const close = row?.time_to_close ?? {};
  const ratings = row?.ratings ?? {};
  const cell = (text) => html`<td class="numeric">${text}</td>`;
  return [
    cell(numberText(row?.new_conversations)),
    cell(numberText(first.count)), cell(durationText(first.median_seconds)), cell(durationText(first.p90_seconds)),
    cell(numberText(close.count)), cell(durationText(close.median_seconds)), cell(durationText(close.p90_seconds)),
    cell(numberText(ratings.count)), cell(numberText(ratings.bad)), cell(numberText(ratings.ok)), cell(numberText(ratings.great)),
  ];
}

/** The table of every row, its caption naming the grouping and the period. */
export function reportTable(report, locale) {
  const by = report?.by ?? 'day';
  const groupName = GROUPS.find((g) => g.value === by)?.label ?? 'Group';
  const rows = report?.rows ?? [];
  const period = `${longDate(report?.from, locale)} to ${longDate(report?.to, locale)}`;
  return html`<div class="table-wrap report-table-wrap">
    <table class="data-table compact report-table" data-testid="report-table">
      <caption>By ${groupName.toLowerCase()}, ${period}</caption>
      <colgroup><col><col></colgroup>
      <colgroup span="3"></colgroup><colgroup span="3"></colgroup><colgroup span="4"></colgroup>
      <thead>
        <tr>
          <th scope="col" rowspan="2">${groupName}</th>
          <th scope="col" rowspan="2" class="numeric">New conversations</th>
          <th scope="colgroup" colspan="3">First response</th>
          <th scope="colgroup" colspan="3">Time to close</th>
          <th scope="colgroup" colspan="4">Ratings</th>
        </tr>
        <tr>
          <th scope="col" class="numeric">Count</th><th scope="col" class="numeric">Median</th><th scope="col" class="numeric">90th percentile</th>
          <th scope="col" class="numeric">Count</th><th scope="col" class="numeric">Median</th><th scope="col" class="numeric">90th percentile</th>
          <th scope="col" class="numeric">Count</th><th scope="col" class="numeric">Bad</th><th scope="col" class="numeric">OK</th><th scope="col" class="numeric">Great</th>
        </tr>
      </thead>
      <tbody>
        ${rows.length ? rows.map((row) => html`<tr data-testid="report-row" data-key="${row.key}">
          <th scope="row">${rowLabels(row, by, locale).full}</th>${cells(row)}</tr>`)
        : html`<tr><td colspan="12" class="muted">Nothing in this period.</td></tr>`}
      </tbody>
      <tfoot>
        <tr data-testid="report-row-total"><th scope="row">Total</th>${cells(report?.totals)}</tr>
      </tfoot>
    </table>
  </div>`;
}
