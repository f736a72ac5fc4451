// Unit tests for report-numbers.js (the totals and the table): run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { totalsCards, reportTable } from './report-numbers.js';

const markup = (fragment) => fragment.__html;
/** The text of the element with `testid`, tags dropped and spaces squeezed. */
function textOf(fragment, testid) {
  const html = markup(fragment);
  const start = html.indexOf(`data-testid="${testid}"`);
  assert.ok(start >= 0, `${testid} is there`);
  const end = html.indexOf('</section>', start);
  return html.slice(html.indexOf('>', start) + 1, end).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
}

const totals = {
  new_conversations: 12,
  first_response: { count: 8, median_seconds: 95.0, p90_seconds: 600.0 },
  time_to_close: { count: 5, median_seconds: 3600.0, p90_seconds: 7200.0 },
  ratings: { count: 3, bad: 1, ok: 0, great: 2 },
};

test('the totals: medians with their 90th percentile beneath, ratings as the share of great', () => {
  const cards = totalsCards(totals);
  assert.equal(textOf(cards, 'report-total-new'), 'New conversations 12 Started in this period');
  assert.equal(textOf(cards, 'report-total-first-response'), 'First response time 1 min 35 s 90th percentile: 10 min Median of 8 first responses');
  assert.equal(textOf(cards, 'report-total-close'), 'Time to close 1 h 90th percentile: 2 h Median of 5 closed conversations');
  assert.equal(textOf(cards, 'report-total-ratings'), 'Ratings 67% great 3 ratings 1 bad · 0 OK · 2 great');
  assert.match(markup(cards), /data-testid="report-total-ratings" data-count="3"/);
});

test('totals with nothing in them say so rather than show zeros as times', () => {
  const none = { count: 0, median_seconds: null, p90_seconds: null };
  const cards = totalsCards({ new_conversations: 0, first_response: none, time_to_close: none, ratings: { count: 0, bad: 0, ok: 0, great: 0 } });
  assert.equal(textOf(cards, 'report-total-first-response'), 'First response time — No first responses in this period');
  assert.equal(textOf(cards, 'report-total-ratings'), 'Ratings — No ratings in this period');
  assert.equal(textOf(cards, 'report-total-new'), 'New conversations 0 Started in this period');
});

test('the table has a row per group, named as the grouping names it, and a Total row', () => {
  const row = (key, label, n) => ({
    key, label, new_conversations: n, first_response: { count: 0, median_seconds: null, p90_seconds: null },
    time_to_close: { count: 1, median_seconds: 7500, p90_seconds: 7500 }, ratings: { count: 0, bad: 0, ok: 0, great: 0 },
  });
  const byDay = reportTable({ from: '2026-11-01', to: '2026-11-02', by: 'day', rows: [row('2026-11-01', '2026-11-01', 2), row('2026-11-02', '2026-11-02', 0)], totals }, 'en-US');
  const html = markup(byDay);
  assert.match(html, /<caption>By day, Sun, Nov 1, 2026 to Mon, Nov 2, 2026<\/caption>/);
  assert.match(html, /<th scope="col" rowspan="2">Day<\/th>/);
  const rows = [...html.matchAll(/<tr data-testid="report-row" data-key="([^"]+)">\s*<th scope="row">([^<]*)<\/th>((?:<td[^>]*>[^<]*<\/td>)+)/g)]
    .map(([, key, name, tds]) => [key, name, [...tds.matchAll(/>([^<]*)<\/td>/g)].map((m) => m[1])]);
  assert.deepEqual(rows, [
    ['2026-11-01', 'Sun, Nov 1, 2026', ['2', '0', '—', '—', '1', '2 h 5 min', '2 h 5 min', '0', '0', '0', '0']],
    ['2026-11-02', 'Mon, Nov 2, 2026', ['0', '0', '—', '—', '1', '2 h 5 min', '2 h 5 min', '0', '0', '0', '0']],
  ]);
  const total = /<tr data-testid="report-row-total"><th scope="row">Total<\/th>(.*?)<\/tr>/s.exec(html)[1];
  assert.deepEqual([...total.matchAll(/>([^<]*)<\/td>/g)].map((m) => m[1]),
    ['12', '8', '1 min 35 s', '10 min', '5', '1 h', '2 h', '3', '1', '0', '2']);

  const byMember = markup(reportTable({ from: '2026-11-01', to: '2026-11-30', by: 'member', rows: [row('a1', '<Grace>', 1)], totals }, 'en-US'));
  assert.match(byMember, /<th scope="col" rowspan="2">Team member<\/th>/);
  assert.match(byMember, /<th scope="row">&lt;Grace&gt;<\/th>/);
  const empty = markup(reportTable({ from: '2026-11-01', to: '2026-11-30', by: 'member', rows: [], totals }, 'en-US'));
  assert.match(empty, /Nothing in this period\./);
});
