// Unit tests for reports.js (the request, presets and words): run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PRESETS, DEFAULT_PRESET, MAX_DAYS, localDay, parseDay, addDays, daysIn, presetPeriod, presetOf, offsetMinutes,
  periodErrors, reportQuery, reportCsvUrl, getReport, problemText, durationText, shortDuration, greatShare,
  percentText, counted, numberText, shortDate, longDate, rowLabels, offsetText,
} from './reports.js';
import { ApiError } from './api.js';

test('days are local calendar days, and real ones only', () => {
  assert.equal(localDay(new Date(2026, 10, 1, 0, 5)), '2026-11-01');
  assert.equal(localDay(new Date(2026, 0, 9, 23, 59)), '2026-01-09');
  assert.equal(parseDay('2026-02-29'), null);
  assert.equal(parseDay('2028-02-29').toISOString(), '2028-02-29T00:00:00.000Z');
  assert.equal(parseDay('2026-1-01'), null);
  assert.equal(parseDay(''), null);
  assert.equal(addDays('2026-03-01', -1), '2026-02-28');
  assert.equal(addDays('2026-12-31', 1), '2027-01-01');
  assert.equal(daysIn('2026-11-01', '2026-11-30'), 30);
  assert.equal(daysIn('2026-11-30', '2026-11-01'), -28);
  // A daylight-saving change in between counts whole days all the same.
  assert.equal(daysIn('2026-03-01', '2026-03-31'), 31);
});

test('a preset is its number of days, ending today', () => {
  const now = new Date(2026, 10, 30, 15, 0);
  assert.equal(DEFAULT_PRESET, '30');
  assert.deepEqual(presetPeriod('30', now), { from: '2026-11-01', to: '2026-11-30' });
  assert.deepEqual(presetPeriod('7', now), { from: '2026-11-24', to: '2026-11-30' });
  assert.equal(daysIn(presetPeriod('90', now).from, '2026-11-30'), 90);
  assert.deepEqual(presetPeriod('7', new Date(2026, 0, 3, 9)), { from: '2025-12-28', to: '2026-01-03' });
  // Something unknown is the default.
  assert.deepEqual(presetPeriod('nonsense', now), presetPeriod(DEFAULT_PRESET, now));
  assert.deepEqual(PRESETS.map((p) => p.label), ['Last 7 days', 'Last 30 days', 'Last 90 days']);
  assert.equal(presetOf({ from: '2026-11-24', to: '2026-11-30' }, now), '7');
  assert.equal(presetOf({ from: '2026-11-23', to: '2026-11-30' }, now), 'custom');
  assert.equal(presetOf({ from: '2026-10-02', to: '2026-10-31' }, now), 'custom', 'thirty days, but not ending today');
});

test('the offset is east-positive minutes, as the server counts it', () => {
  assert.equal(offsetMinutes({ getTimezoneOffset: () => -60 }), 60);
  assert.equal(offsetMinutes({ getTimezoneOffset: () => 300 }), -300);
  assert.equal(offsetMinutes({ getTimezoneOffset: () => -345 }), 345);
  assert.ok(Object.is(offsetMinutes({ getTimezoneOffset: () => 0 }), 0), 'not -0, which would be sent as "0" anyway');
  assert.equal(offsetText(60), 'UTC+01:00');
  assert.equal(offsetText(-330), 'UTC−05:30');
  assert.equal(offsetText(0), 'UTC');
});

test('a period is checked before asking, as the server would', () => {
  assert.deepEqual(periodErrors({ from: '2026-11-01', to: '2026-11-30' }), []);
  assert.deepEqual(periodErrors({ from: '2026-11-01', to: '2026-11-01' }), []);
  assert.deepEqual(periodErrors({ from: '', to: '2026-02-30' }).map((e) => e.field), ['from', 'to']);
  assert.deepEqual(periodErrors({ from: '2026-11-02', to: '2026-11-01' }).map((e) => e.field), ['to']);
  assert.equal(MAX_DAYS, 366);
  assert.deepEqual(periodErrors({ from: '2026-01-01', to: addDays('2026-01-01', 365) }), []);
  const tooLong = periodErrors({ from: '2026-01-01', to: addDays('2026-01-01', 366) });
  assert.deepEqual(tooLong.map((e) => e.field), ['to']);
  assert.match(tooLong[0].message, /366 days/);
});

test('the request carries the period, the grouping and the offset', async () => {
  const params = { from: '2026-11-01', to: '2026-11-30', by: 'member', offset: -300 };
  assert.equal(reportQuery(params), 'from=2026-11-01&to=2026-11-30&by=member&offset_minutes=-300');
  assert.equal(reportCsvUrl(params), '/api/v1/reports/csv?from=2026-11-01&to=2026-11-30&by=member&offset_minutes=-300');
  const calls = [];
  const answer = { from: '2026-11-01', to: '2026-11-30', by: 'member', rows: [], totals: {} };
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    calls.push({ url, init });
    return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  try {
    assert.deepEqual(await getReport(params), answer);
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, '/api/v1/reports?from=2026-11-01&to=2026-11-30&by=member&offset_minutes=-300');
  assert.equal(calls[0].init.method, 'GET');
  assert.equal(calls[0].init.credentials, 'same-origin');
});

test("a problem reads as the fields it names, in the page's words, else as its detail", () => {
  const named = new ApiError(422, {
    detail: 'invalid request',
    errors: [{ field: 'to', message: 'on or after `from`' }, { field: 'offset_minutes', message: 'from -840 to 840' }],
  });
  assert.equal(problemText(named), 'To: on or after `from`; Time zone: from -840 to 840');
  assert.equal(problemText(new ApiError(500, { detail: 'Something went wrong' })), 'Something went wrong');
  assert.equal(problemText(new ApiError(0, { detail: 'Cannot reach the server. Check your connection.' })),
    'Cannot reach the server. Check your connection.');
});

test('durations read in their two largest units', () => {
  assert.equal(durationText(null), '—');
  assert.equal(durationText(undefined), '—');
  assert.equal(durationText(0), '0 s');
  assert.equal(durationText(45), '45 s');
  assert.equal(durationText(95.0), '1 min 35 s');
  assert.equal(durationText(600), '10 min');
  assert.equal(durationText(3600), '1 h');
  assert.equal(durationText(7500), '2 h 5 min');
  assert.equal(durationText(7529), '2 h 5 min');
  assert.equal(durationText(7531), '2 h 6 min');
  assert.equal(durationText(3599.6), '1 h', 'rounding carries into the larger unit');
  assert.equal(durationText(86_399), '1 d');
  assert.equal(durationText(97_200), '1 d 3 h');
  assert.equal(shortDuration(0), '0 s');
  assert.equal(shortDuration(30), '30 s');
  assert.equal(shortDuration(300), '5 min');
  assert.equal(shortDuration(5400), '1.5 h');
  assert.equal(shortDuration(172_800), '2 d');
});

test('shares, counts and dates', () => {
  assert.equal(greatShare({ count: 3, bad: 1, ok: 0, great: 2 }), 2 / 3);
  assert.equal(greatShare({ count: 0, bad: 0, ok: 0, great: 0 }), null);
  assert.equal(percentText(2 / 3), '67%');
  assert.equal(percentText(null), '—');
  assert.equal(counted(1, 'rating'), '1 rating');
  assert.equal(counted(0, 'rating'), '0 ratings');
  assert.equal(counted(1200, 'first response'), '1,200 first responses');
  assert.equal(numberText(undefined), '0');
  assert.equal(shortDate('2026-11-01', 'en-US'), 'Nov 1');
  assert.equal(longDate('2026-11-01', 'en-US'), 'Sun, Nov 1, 2026');
  assert.notEqual(shortDate('2026-11-01', 'de-DE'), 'Nov 1', "the agent's locale");
  assert.deepEqual(rowLabels({ key: '2026-11-01', label: '2026-11-01' }, 'day', 'en-US'), { short: 'Nov 1', full: 'Sun, Nov 1, 2026' });
  assert.deepEqual(rowLabels({ key: 'a1', label: 'Grace Hopper' }, 'member', 'en-US'), { short: 'Grace Hopper', full: 'Grace Hopper' });
  assert.deepEqual(rowLabels({ key: 'bulk', label: 'Bulk send' }, 'channel'), { short: 'Bulk send', full: 'Bulk send' });
});
