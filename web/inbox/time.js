// Times as agents read them: "now", "5m", "3h", "Tue", "Mar 4", and the
// snooze presets.

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
