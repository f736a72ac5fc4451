// A report's four charts, with no DOM: new conversations per group, the
// median first response and time to close per group (the 90th percentile
// as a lighter bar behind the median), and ratings stacked bad / OK /
// great. Each summarises itself in a sentence for screen readers.

import { barChart, DURATION_STEPS } from './chart.js';
import {
  rowLabels, counted, numberText, durationText, shortDuration, percentText, greatShare,
} from '../data/reports.js';

/** The chart's groups: a row's key, its axis label and its full name. */
export function reportGroups(report, locale) {
  return (report?.rows ?? []).map((row) => {
    const { short, full } = rowLabels(row, report.by, locale);
    return { key: row.key, label: short, title: full };
  });
}

const rowsOf = (report) => report?.rows ?? [];

/** "most: Sun, Nov 1, 2026 (3)", or '' when every value is 0 or none. */
function busiest(groups, values, text) {
  let best = -1;
  values.forEach((value, i) => {
    if (value !== null && value > 0 && (best === -1 || value > values[best])) best = i;
  });
  return best === -1 ? '' : `; most: ${groups[best].title} (${text(values[best])})`;
}

const EMPTY = {
  day: 'No days in this period.',
  member: 'Nobody has anything in this period.',
  channel: 'No channels.',
};

export function newConversationsChart(report, locale) {
  const groups = reportGroups(report, locale);
  const values = rowsOf(report).map((row) => Number(row.new_conversations) || 0);
  const total = Number(report?.totals?.new_conversations) || 0;
  return barChart({
    title: 'New conversations',
    summary: `${counted(total, 'new conversation')} in all${busiest(groups, values, numberText)}.`,
    groups,
    series: [{ name: 'new', label: 'New conversations', values, describe: (v) => counted(v ?? 0, 'new conversation') }],
    tick: numberText,
    testid: 'report-chart-new',
    empty: EMPTY[report?.by] ?? EMPTY.day,
  });
}

/** A median / 90th percentile chart for `first_response` or `time_to_close`. */
function durationChart(report, locale, { field, title, one, many, testid }) {
  const groups = reportGroups(report, locale);
  const rows = rowsOf(report);
  const stat = (row) => row?.[field] ?? {};
  const seconds = (value) => (value === null || value === undefined ? null : Number(value));
  const totals = stat(report?.totals);
  const count = Number(totals.count) || 0;
  const summary = count
    ? `Median ${durationText(totals.median_seconds)}, 90th percentile ${durationText(totals.p90_seconds)}, over ${counted(count, one, many)}.`
    : `No ${many} in this period.`;
  return barChart({
    title,
    summary,
    groups,
    series: [
      {
        name: 'p90', label: '90th percentile', values: rows.map((row) => seconds(stat(row).p90_seconds)),
        describe: (v) => (v === null ? `no ${many}` : `90th percentile ${durationText(v)}`),
      },
      {
        name: 'median', label: 'Median', values: rows.map((row) => seconds(stat(row).median_seconds)),
        describe: (v) => (v === null ? `no ${many}` : `median ${durationText(v)}`),
      },
    ],
    tick: shortDuration,
    steps: DURATION_STEPS,
    testid,
    empty: EMPTY[report?.by] ?? EMPTY.day,
  });
}

export const firstResponseChart = (report, locale) => durationChart(report, locale, {
  field: 'first_response', title: 'First response time', one: 'first response', many: 'first responses',
  testid: 'report-chart-first-response',
});

export const timeToCloseChart = (report, locale) => durationChart(report, locale, {
  field: 'time_to_close', title: 'Time to close', one: 'closed conversation', many: 'closed conversations',
  testid: 'report-chart-close',
});

/** The rating scores, bottom of a stack first: key, legend, word in a sentence. */
export const RATINGS = [['bad', 'Bad', 'bad'], ['ok', 'OK', 'OK'], ['great', 'Great', 'great']];

export function ratingsChart(report, locale) {
  const groups = reportGroups(report, locale);
  const rows = rowsOf(report);
  const totals = report?.totals?.ratings ?? {};
  const count = Number(totals.count) || 0;
  const summary = count
    ? `${counted(count, 'rating')}: ${RATINGS.map(([key, , word]) => `${numberText(totals[key])} ${word}`).join(', ')} (${percentText(greatShare(totals))} great).`
    : 'No ratings in this period.';
  return barChart({
    title: 'Ratings',
    summary,
    groups,
    series: RATINGS.map(([key, label, word]) => ({
      name: key,
      label,
      values: rows.map((row) => Number(row.ratings?.[key]) || 0),
      describe: (v) => `${numberText(v ?? 0)} ${word}`,
    })),
    stacked: true,
    tick: numberText,
    testid: 'report-chart-ratings',
    empty: EMPTY[report?.by] ?? EMPTY.day,
  });
}
