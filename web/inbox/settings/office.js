// Office hours as the settings form edits them, with no DOM: a day's
// opening hours as text ("09:00-12:30, 13:30-17:00", empty when closed),
// holidays one date a line, and the form's values checked and turned into
// the body of PUT /settings/office. Touches no DOM, so that `node --test`
// can load it.

export const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const CLOCK = /^([01]?\d|2[0-4]):([0-5]\d)$/;

function minutes(text) {
  const match = CLOCK.exec(text);
  if (!match) return null;
  const value = Number(match[1]) * 60 + Number(match[2]);
  return value <= 24 * 60 ? value : null;
}

const pad = (text) => {
  const [h, m] = text.split(':');
  return `${h.padStart(2, '0')}:${m}`;
};

/** "09:00-17:00, 18:00-20:00" as spans; `error` says what is wrong with it. */
export function parseSpans(text) {
  const spans = [];
  const parts = String(text ?? '').split(/[,;]/).map((s) => s.trim()).filter(Boolean);
  for (const part of parts) {
    const [from, to, extra] = part.split(/\s*(?:-|–|—|to)\s*/);
    if (extra !== undefined || !from || !to || minutes(from) === null || minutes(to) === null) {
      return { spans: [], error: `“${part}” is not a time span like 09:00-17:00.` };
    }
    if (minutes(from) >= minutes(to)) return { spans: [], error: `In “${part}” the start must come before the end.` };
    spans.push({ from: pad(from), to: pad(to) });
  }
  spans.sort((a, b) => minutes(a.from) - minutes(b.from));
  for (let i = 1; i < spans.length; i += 1) {
    if (minutes(spans[i].from) < minutes(spans[i - 1].to)) return { spans: [], error: 'Two spans overlap.' };
  }
  if (spans.length > 8) return { spans: [], error: 'At most 8 spans a day.' };
  return { spans, error: null };
}

export function formatSpans(spans) {
  return (spans ?? []).map((span) => `${span.from}-${span.to}`).join(', ');
}

/** Dates one a line (or separated by commas) as YYYY-MM-DD; `errors` by line. */
export function parseHolidays(text) {
  const dates = [];
  const errors = [];
  for (const line of String(text ?? '').split(/[\n,]/).map((s) => s.trim()).filter(Boolean)) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(line);
    const date = match && new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
    if (!date || date.getUTCDate() !== Number(match[3]) || date.getUTCMonth() !== Number(match[2]) - 1) {
      errors.push(`${line} is not a date such as 2026-12-25.`);
    } else if (!dates.includes(line)) dates.push(line);
  }
  return { dates: dates.sort(), errors };
}

/**
 * The form's values (`time_zone`, `day0`…`day6`, `holidays`,
 * `reply_time_in_hours`, `reply_time_out_of_hours`,
 * `automated_messages_per_day`) as `{body, errors: [{field, message}]}`,
 * the fields named as the server names them.
 */
export function officeBody(values) {
  const errors = [];
  const weekly = DAYS.map((_, d) => {
    const { spans, error } = parseSpans(values[`day${d}`]);
    if (error) errors.push({ field: `weekly[${d}]`, message: error });
    return spans;
  });
  const holidays = parseHolidays(values.holidays);
  if (holidays.errors.length) errors.push({ field: 'holidays', message: holidays.errors.join(' ') });
  const timeZone = String(values.time_zone ?? '').trim();
  if (!timeZone) errors.push({ field: 'time_zone', message: 'Enter a time zone such as Europe/Warsaw.' });
  for (const field of ['reply_time_in_hours', 'reply_time_out_of_hours']) {
    if (!String(values[field] ?? '').trim()) errors.push({ field, message: 'Write what people are told.' });
  }
  const perDay = Number(values.automated_messages_per_day);
  if (!Number.isInteger(perDay) || perDay < 1 || perDay > 1000) {
    errors.push({ field: 'automated_messages_per_day', message: 'Must be 1 to 1000.' });
  }
  return {
    body: {
      time_zone: timeZone,
      weekly,
      holidays: holidays.dates,
      reply_time_in_hours: String(values.reply_time_in_hours ?? '').trim(),
      reply_time_out_of_hours: String(values.reply_time_out_of_hours ?? '').trim(),
      automated_messages_per_day: perDay,
    },
    errors,
  };
}

/** The server's `weekly[2][1]` names the day's field, `weekly[2]`; `holidays[3]` the holidays'. */
export function officeField(field) {
  return String(field).replace(/^(weekly\[\d+\])\[\d+\].*$/, '$1').replace(/^holidays\[\d+\]$/, 'holidays');
}

/** A `max_open` input's text as a number, or null for no limit; undefined if it is not one. */
export function maxOpen(text) {
  const value = String(text ?? '').trim();
  if (!value) return null;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}
