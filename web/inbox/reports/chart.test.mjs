// Unit tests for the charts (chart.js, report-charts.js): run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceTicks, labelEvery, clip, layout, barChart, DURATION_STEPS, SIZE } from './chart.js';
import { newConversationsChart, firstResponseChart, timeToCloseChart, ratingsChart, reportGroups } from './report-charts.js';
import { addDays } from '../data/reports.js';

const markup = (fragment) => fragment.__html;
/** Positions are rounded to hundredths. */
const near = (actual, expected, message) => assert.ok(Math.abs(Number(actual) - Number(expected)) < 0.015, `${message}: ${actual} ≠ ${expected}`);

/** Each `report-bar` rect's attributes, in document order. */
function bars(fragment) {
  return [...markup(fragment).matchAll(/<rect class="chart-bar[^>]*>/g)].map(([tag]) => {
    const attrs = {};
    for (const [, name, value] of tag.matchAll(/([\w-]+)="([^"]*)"/g)) attrs[name] = value;
    return attrs;
  });
}

const stat = (count, median, p90) => ({ count, median_seconds: median, p90_seconds: p90 });
const ratings = (bad, ok, great) => ({ count: bad + ok + great, bad, ok, great });
const emptyRow = (key, label = key) => ({
  key, label, new_conversations: 0, first_response: stat(0, null, null), time_to_close: stat(0, null, null), ratings: ratings(0, 0, 0),
});

/** Thirty days of November with something on the 5th. */
function monthReport() {
  const rows = Array.from({ length: 30 }, (_, i) => emptyRow(addDays('2026-11-01', i)));
  rows[4] = {
    ...rows[4], new_conversations: 3, first_response: stat(2, 95, 600), time_to_close: stat(1, 3600, 3600), ratings: ratings(1, 0, 2),
  };
  return {
    from: '2026-11-01', to: '2026-11-30', by: 'day', offset_minutes: 60, rows,
    totals: { new_conversations: 3, first_response: stat(2, 95, 600), time_to_close: stat(1, 3600, 3600), ratings: ratings(1, 0, 2) },
  };
}

test('ticks are round numbers from 0 past the largest value, a few of them', () => {
  assert.deepEqual(niceTicks(3), { top: 3, ticks: [0, 1, 2, 3] });
  assert.deepEqual(niceTicks(0), { top: 1, ticks: [0, 1] });
  assert.deepEqual(niceTicks(17), { top: 20, ticks: [0, 5, 10, 15, 20] });
  assert.deepEqual(niceTicks(4000).ticks, [0, 1000, 2000, 3000, 4000]);
  assert.deepEqual(niceTicks(600, { steps: DURATION_STEPS }).ticks, [0, 300, 600]);
  assert.deepEqual(niceTicks(7300, { steps: DURATION_STEPS }).ticks, [0, 3600, 7200, 10800]);
  for (const max of [1, 7, 99, 12_345]) {
    const { top, ticks } = niceTicks(max);
    assert.ok(top >= max && ticks.length <= 5, `${max}: ${ticks}`);
  }
});

test('labels thin out when there are many groups, and long ones are cut', () => {
  assert.equal(labelEvery(7), 1);
  assert.equal(labelEvery(30), 3);
  // 542 units of plot hold eleven labels 46 wide.
  assert.ok(Math.ceil(366 / labelEvery(366)) <= 11, 'a year shows no more labels than fit');
  assert.ok(Math.ceil(90 / labelEvery(90)) <= 11);
  assert.equal(clip('Grace Hopper', 20), 'Grace Hopper');
  assert.equal(clip('Grace Hopper', 6), 'Grace…');
});

test('stacked bars sit on each other; overlaid ones all start at the axis', () => {
  const groups = [{ key: 'a', label: 'A' }, { key: 'b', label: 'B' }];
  const stacked = layout({ groups, series: [{ name: 'x', values: [1, 0] }, { name: 'y', values: [2, 4] }], stacked: true });
  assert.equal(stacked.top, 4);
  const [x, y] = stacked.columns[0].bars;
  near(x.y + x.height, SIZE.height - SIZE.bottom, 'the first from the axis');
  near(y.y + y.height, x.y, 'the second on top of it');
  assert.equal(stacked.columns[1].bars[1].y, SIZE.top, 'the tallest stack reaches the top');
  const overlaid = layout({ groups, series: [{ name: 'p90', values: [600, null] }, { name: 'median', values: [95, null] }] });
  for (const bar of overlaid.columns[0].bars) near(bar.y + bar.height, SIZE.height - SIZE.bottom, `${bar.series} from the axis`);
  assert.equal(overlaid.columns[1].bars[0].height, 0);
  assert.ok(overlaid.columns[0].bars[0].x < overlaid.columns[1].bars[0].x);
});

test('a chart is one labelled image whose bars carry their key, value and title', () => {
  const chart = barChart({
    title: 'New conversations',
    summary: '5 in all.',
    groups: [{ key: 'k1', label: 'One', title: 'Day one' }, { key: 'k2', label: 'Two', title: 'Day two' }],
    series: [{ name: 'new', label: 'New', values: [5, 0], describe: (v) => `${v} new` }],
    testid: 'report-chart-new',
  });
  const text = markup(chart);
  assert.match(text, /<svg class="chart-svg" viewBox="0 0 600 220" role="img" aria-label="New conversations. 5 in all." data-testid="report-chart-new">/);
  assert.deepEqual(bars(chart).map((b) => [b['data-key'], b['data-value'], b['data-series']]), [['k1', '5', 'new'], ['k2', '0', 'new']]);
  assert.equal(bars(chart)[1].height, '0');
  assert.match(text, /<title>Day one: 5 new<\/title><\/rect>/);
  assert.match(text, /<title>Day two: 0 new<\/title><\/rect>/);
  assert.doesNotMatch(text, /chart-legend/, 'one series needs no legend');
});

test("a chart escapes what it is given (members' names come from people)", () => {
  const chart = barChart({
    title: 'New conversations',
    groups: [{ key: 'a"1', label: '<img src=x onerror=alert(1)>', title: '<b>Eve</b>' }],
    series: [{ name: 'new', label: 'New', values: [1], describe: (v) => `${v} <i>new</i>` }],
    testid: 'report-chart-new',
  });
  const text = markup(chart);
  assert.doesNotMatch(text, /<img|<b>|<i>/);
  assert.match(text, /data-key="a&quot;1"/);
  assert.match(text, /&lt;b&gt;Eve&lt;\/b&gt;: 1 &lt;i&gt;new&lt;\/i&gt;/);
});

test('an empty chart says so', () => {
  const chart = barChart({ title: 'Ratings', groups: [], series: [], testid: 'report-chart-ratings', empty: 'Nobody has anything in this period.' });
  assert.match(markup(chart), /role="img"/);
  assert.match(markup(chart), /Nobody has anything in this period\./);
  assert.deepEqual(bars(chart), []);
});

test("a month's new conversations: one bar a day, the busy day's value exact, every third day labelled", () => {
  const chart = newConversationsChart(monthReport(), 'en-US');
  const all = bars(chart);
  assert.equal(all.length, 30);
  assert.deepEqual(all.filter((b) => b['data-value'] !== '0').map((b) => [b['data-key'], b['data-value']]), [['2026-11-05', '3']]);
  const labels = [...markup(chart).matchAll(/<text class="chart-label"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(labels.slice(0, 3), ['Nov 1', 'Nov 4', 'Nov 7']);
  assert.equal(labels.length, 10);
  assert.match(markup(chart), /aria-label="New conversations\. 3 new conversations in all; most: Thu, Nov 5, 2026 \(3\)\."/);
  assert.match(markup(chart), /<title>Thu, Nov 5, 2026: 3 new conversations<\/title>/);
  const ticks = [...markup(chart).matchAll(/<text class="chart-tick"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(ticks, ['0', '1', '2', '3']);
});

test('first response and time to close: the 90th percentile behind the median, none where nothing was answered', () => {
  const chart = firstResponseChart(monthReport(), 'en-US');
  const fifth = bars(chart).filter((b) => b['data-key'] === '2026-11-05');
  assert.deepEqual(fifth.map((b) => [b['data-series'], b['data-value']]), [['p90', '600'], ['median', '95']]);
  assert.ok(Number(fifth[0].height) > Number(fifth[1].height));
  const first = bars(chart).filter((b) => b['data-key'] === '2026-11-01');
  assert.deepEqual(first.map((b) => [b['data-series'], b['data-value'], b.height]), [['p90', undefined, '0'], ['median', undefined, '0']]);
  const text = markup(chart);
  assert.match(text, /<title>Thu, Nov 5, 2026: median 1 min 35 s<\/title>/);
  assert.match(text, /<title>Thu, Nov 5, 2026: 90th percentile 10 min<\/title>/);
  assert.match(text, /<title>Sun, Nov 1, 2026: no first responses<\/title>/, 'said once for the column');
  assert.match(text, /aria-label="First response time\. Median 1 min 35 s, 90th percentile 10 min, over 2 first responses\."/);
  assert.match(text, /chart-legend/);
  const ticks = [...text.matchAll(/<text class="chart-tick"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(ticks, ['0 s', '5 min', '10 min']);
  const close = timeToCloseChart(monthReport(), 'en-US');
  assert.match(markup(close), /data-testid="report-chart-close"/);
  assert.match(markup(close), /over 1 closed conversation\./);
});

test('ratings stack bad, OK and great', () => {
  const chart = ratingsChart(monthReport(), 'en-US');
  const fifth = bars(chart).filter((b) => b['data-key'] === '2026-11-05');
  assert.deepEqual(fifth.map((b) => [b['data-series'], b['data-value']]), [['bad', '1'], ['ok', '0'], ['great', '2']]);
  near(Number(fifth[2].y) + Number(fifth[2].height), fifth[0].y, 'great on top of bad, OK being none');
  near(Number(fifth[0].y) + Number(fifth[0].height), SIZE.height - SIZE.bottom, 'bad from the axis');
  assert.match(markup(chart), /aria-label="Ratings\. 3 ratings: 1 bad, 0 OK, 2 great \(67% great\)\."/);
  assert.match(markup(chart), /<title>Thu, Nov 5, 2026: 1 bad, 0 OK, 2 great<\/title>/);
});

test('by channel or member, the groups are the rows with their names', () => {
  const report = {
    from: '2026-11-01', to: '2026-11-30', by: 'channel',
    rows: [{ ...emptyRow('widget', 'Widget'), new_conversations: 2 }, { ...emptyRow('team', 'Team'), new_conversations: 1 },
      emptyRow('bulk', 'Bulk send'), emptyRow('automation', 'Automation'), emptyRow('bot', 'AI bot')],
    totals: { ...emptyRow('total'), new_conversations: 3 },
  };
  assert.deepEqual(reportGroups(report).map((g) => [g.key, g.label]),
    [['widget', 'Widget'], ['team', 'Team'], ['bulk', 'Bulk send'], ['automation', 'Automation'], ['bot', 'AI bot']]);
  const values = bars(newConversationsChart(report)).map((b) => [b['data-key'], b['data-value']]);
  assert.deepEqual(values, [['widget', '2'], ['team', '1'], ['bulk', '0'], ['automation', '0'], ['bot', '0']]);
  const nobody = newConversationsChart({ ...report, by: 'member', rows: [] });
  assert.match(markup(nobody), /Nobody has anything in this period\./);
});
