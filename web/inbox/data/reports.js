// Reports: the request for a period's numbers (days counted at the
// agent's offset from UTC), the CSV link's address, the period presets,
// and the words the page shows for durations, dates and shares. Only the
// two requests touch the network; the rest has no DOM, so `node --test`
// can load it.

import { get } from './api.js';

/** The longest period the server reports on, in days (both ends included). */
export const MAX_DAYS = 366;

/** The period presets, in days ending today; the middle one is the default. */
export const PRESETS = [
  { value: '7', label: 'Last 7 days', days: 7 },
  { value: '30', label: 'Last 30 days', days: 30 },
  { value: '90', label: 'Last 90 days', days: 90 },
];
export const DEFAULT_PRESET = '30';

/** What a report's rows are, as the server names them, and the words for each. */
export const GROUPS = [
  { value: 'day', label: 'Day' },
  { value: 'member', label: 'Team member' },
  { value: 'channel', label: 'Channel' },
];

/** The request's fields as the page names them, for the server's 422s. */
const FIELD_NAMES = { from: 'From', to: 'To', by: 'Group by', offset_minutes: 'Time zone' };

const pad = (n) => String(n).padStart(2, '0');

/** A Date's local calendar day as `YYYY-MM-DD`. */
export function localDay(date = new Date()) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** `YYYY-MM-DD` as a UTC midnight Date, or null when it is not a real day. */
export function parseDay(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text ?? ''));
  if (!match) return null;
  const [, y, m, d] = match.map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return date;
}

/** The day `days` after (or before) a `YYYY-MM-DD` day. */
export function addDays(day, days) {
  const date = parseDay(day);
  if (!date) return null;
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** Days from `from` to `to`, both included (0 or less when `to` is before `from`). */
export function daysIn(from, to) {
  const a = parseDay(from);
  const b = parseDay(to);
  if (!a || !b) return null;
  return Math.round((b - a) / 86_400_000) + 1;
}

/** `{from, to}` for a preset's number of days, ending today (local). */
export function presetPeriod(value, now = new Date()) {
  const preset = PRESETS.find((p) => p.value === String(value)) ?? PRESETS.find((p) => p.value === DEFAULT_PRESET);
  const to = localDay(now);
  return { from: addDays(to, 1 - preset.days), to };
}

/** The preset a period is, or 'custom'. */
export function presetOf({ from, to }, now = new Date()) {
  const match = PRESETS.find((p) => {
    const period = presetPeriod(p.value, now);
    return period.from === from && period.to === to;
  });
  return match ? match.value : 'custom';
}

/** The agent's offset from UTC in minutes, east positive (UTC+1 is 60). */
export function offsetMinutes(now = new Date()) {
  return -now.getTimezoneOffset() || 0;
}

/** What is wrong with a period before asking, as a 422 would say it: `[{field, message}]`. */
export function periodErrors({ from, to }) {
  const errors = [];
  if (!parseDay(from)) errors.push({ field: 'from', message: 'Choose a day.' });
  if (!parseDay(to)) errors.push({ field: 'to', message: 'Choose a day.' });
  if (errors.length) return errors;
  const days = daysIn(from, to);
  if (days < 1) errors.push({ field: 'to', message: 'Choose a day on or after the first one.' });
  else if (days > MAX_DAYS) errors.push({ field: 'to', message: `A report covers at most ${MAX_DAYS} days.` });
  return errors;
}

/** The query string both requests take. */
export function reportQuery({ from, to, by = 'day', offset = offsetMinutes() }) {
  return new URLSearchParams({ from, to, by, offset_minutes: String(offset) }).toString();
}

/** The CSV's address: a plain link downloads it, as the sign-in cookie authenticates GETs. */
export const reportCsvUrl = (params) => `/api/v1/reports/csv?${reportQuery(params)}`;

/** `{from, to, by, offset_minutes, totals, rows}`; see the API. */
export const getReport = (params, { signal } = {}) => get(`/api/v1/reports?${reportQuery(params)}`, { signal });

/** An ApiError as one line: the fields the server named (in the page's words), else its detail. */
export function problemText(error) {
  const fields = Object.entries(error?.fieldErrors ?? {});
  if (!fields.length) return error?.message || 'The report could not be loaded.';
  return fields.map(([field, message]) => `${FIELD_NAMES[field] ?? field}: ${message}`).join('; ');
}

// --- Words -------------------------------------------------------------------------

const NUMBER = new Intl.NumberFormat('en');
export const numberText = (value) => NUMBER.format(Number(value) || 0);

const UNITS = [['d', 86_400], ['h', 3_600], ['min', 60], ['s', 1]];

/**
 * A duration as its two largest units: "45 s", "1 min 35 s", "2 h 5 min",
 * "3 d 4 h"; a dash for none. Rounded to what the second unit shows.
 */
export function durationText(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '—';
  let rest = Math.max(0, Math.round(Number(seconds)));
  let first = UNITS.findIndex(([, size]) => rest >= size);
  if (first === -1) return '0 s';
  // Rounded to the smaller unit shown, which may carry into a larger one
  // (59 min 59.6 s is 1 h): round again for the larger unit's pair.
  for (let i = 0; i < 2 && UNITS[first + 1]; i++) {
    const step = UNITS[first + 1][1];
    rest = Math.round(rest / step) * step;
    first = UNITS.findIndex(([, size]) => rest >= size);
  }
  const [unit, size] = UNITS[first];
  const next = UNITS[first + 1];
  if (!next) return `${rest} ${unit}`;
  const big = Math.floor(rest / size);
  const small = Math.round((rest - big * size) / next[1]);
  return small ? `${big} ${unit} ${small} ${next[0]}` : `${big} ${unit}`;
}

/** A duration in its largest unit only, for a chart's axis: "30 s", "5 min", "2 h", "1.5 d". */
export function shortDuration(seconds) {
  const value = Math.max(0, Number(seconds) || 0);
  const [unit, size] = UNITS.find(([, s]) => value >= s) ?? UNITS[UNITS.length - 1];
  return `${Math.round((value / size) * 10) / 10} ${unit}`;
}

/** The share of great ratings, 0 to 1, or null with none. */
export function greatShare(ratings) {
  const count = Number(ratings?.count) || 0;
  return count ? (Number(ratings.great) || 0) / count : null;
}

/** A share of 0 to 1 as "67%", a dash for none. */
export function percentText(share) {
  return share === null || share === undefined ? '—' : `${Math.round(share * 100)}%`;
}

/** "3 ratings", "1 rating"; and the same for other things counted. */
export const counted = (n, one, many = `${one}s`) => `${numberText(n)} ${Number(n) === 1 ? one : many}`;

/** A day as the axis shows it, in the agent's locale: "Nov 1". */
export function shortDate(day, locale) {
  const date = parseDay(day);
  return date ? new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(date) : String(day ?? '');
}

/** A day in full for titles and the table: "Sun, Nov 1, 2026". */
export function longDate(day, locale) {
  const date = parseDay(day);
  return date
    ? new Intl.DateTimeFormat(locale, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(date)
    : String(day ?? '');
}

/** A row's name: `{short}` for a chart's axis, `{full}` for titles and the table. */
export function rowLabels(row, by, locale) {
  if (by === 'day') return { short: shortDate(row.key, locale), full: longDate(row.key, locale) };
  const name = row.label || row.key || '';
  return { short: name, full: name };
}

/** An offset from UTC in minutes as "UTC+01:00", "UTC−05:30", "UTC". */
export function offsetText(minutes) {
  const value = Number(minutes) || 0;
  if (!value) return 'UTC';
  const abs = Math.abs(value);
  return `UTC${value > 0 ? '+' : '−'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
