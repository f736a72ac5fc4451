// Times as agents read them: "now", "5m", "3h", "Tue", "Mar 4", "5m ago",
// the snooze presets, and the `datetime-local` inputs' text.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export function toMillis(value) {
  if (value === null || value === undefined) return null;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/** Compact age for list rows. */
export function relativeTime(value, now = Date.now()) {
  const ms = toMillis(value);
  if (ms === null) return '';
  const age = Math.max(0, now - ms);
  if (age < MINUTE) return 'now';
  if (age < HOUR) return `${Math.floor(age / MINUTE)}m`;
  if (age < DAY) return `${Math.floor(age / HOUR)}h`;
  if (age < 7 * DAY) return `${Math.floor(age / DAY)}d`;
  const date = new Date(ms);
  const sameYear = date.getFullYear() === new Date(now).getFullYear();
  return date.toLocaleDateString(undefined, sameYear
    ? { month: 'short', day: 'numeric' }
    : { year: 'numeric', month: 'short', day: 'numeric' });
}

/** Age for sentences and table cells: "just now", "5m ago", "3d ago", "Mar 4". */
export function ago(value, now = Date.now()) {
  const ms = toMillis(value);
  if (ms === null) return '';
  const short = relativeTime(ms, now);
  if (short === 'now') return 'just now';
  return Math.max(0, now - ms) < 7 * DAY ? `${short} ago` : short;
}

/** Full local date and time, for titles and message headers. */
export function fullTime(value) {
  const ms = toMillis(value);
  if (ms === null) return '';
  return new Date(ms).toLocaleString(undefined, {
    weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit',
  });
}

/** Time of day for a message, with the date when it is not today. */
export function messageTime(value, now = Date.now()) {
  const ms = toMillis(value);
  if (ms === null) return '';
  const date = new Date(ms);
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (new Date(now).toDateString() === date.toDateString()) return time;
  return `${date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}, ${time}`;
}

/** How long someone has waited, "12m" / "3h" / "2d". */
export function waitedFor(value, now = Date.now()) {
  const ms = toMillis(value);
  if (ms === null) return '';
  const age = Math.max(0, now - ms);
  if (age < MINUTE) return '<1m';
  if (age < HOUR) return `${Math.floor(age / MINUTE)}m`;
  if (age < DAY) return `${Math.floor(age / HOUR)}h`;
  return `${Math.floor(age / DAY)}d`;
}

/** The snooze presets, as Date objects in local time. */
export function snoozeUntil(preset, now = new Date()) {
  const at = new Date(now.getTime());
  switch (preset) {
    case 'hour':
      return new Date(now.getTime() + HOUR);
    case 'tomorrow':
      at.setDate(at.getDate() + 1);
      at.setHours(9, 0, 0, 0);
      return at;
    case 'week': {
      // Next Monday, 9:00.
      const days = ((8 - at.getDay()) % 7) || 7;
      at.setDate(at.getDate() + days);
      at.setHours(9, 0, 0, 0);
      return at;
    }
    default:
      throw new Error(`unknown snooze preset ${preset}`);
  }
}

const pad = (n) => String(n).padStart(2, '0');

/** An RFC 3339 time as a `datetime-local` input's value (local time, to the minute); '' if none. */
export function toDateTimeLocal(value) {
  const ms = toMillis(value);
  if (ms === null) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` input's value (local time) as RFC 3339 in UTC; null if it is not one. */
export function fromDateTimeLocal(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(String(text ?? '').trim());
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const date = new Date(y, mo - 1, d, h, mi, s || 0);
  if (Number.isNaN(date.getTime()) || date.getMonth() !== mo - 1) return null;
  return date.toISOString().replace('.000Z', 'Z');
}
