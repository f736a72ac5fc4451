// Email fallback, the parts with no DOM: what an `emailed` / `not_emailed`
// entry says, where it goes in a thread, the settings form's PATCH body and
// the reply body's `email_fallback`. Touches no DOM, so that `node --test`
// can load it.

import { toMillis } from '../ui/time.js';

export const EMAIL_KINDS = ['emailed', 'not_emailed'];

/** Whether an activity entry (timeline or live frame) is about email fallback. */
export function isEmailEntry(entry) {
  return EMAIL_KINDS.includes(entry?.kind);
}

const NOT_EMAILED = {
  read: 'Not emailed: read in the widget',
  online: 'Not emailed: contact was online',
  no_email_address: 'Not emailed: no email address',
  fallback_off: 'Not emailed: email fallback off',
  not_configured: 'Not emailed: no SMTP server configured',
};

/**
 * What the thread says about an entry: `{text, tone}` where tone is
 * `sent`, `skipped` or `failed`. The time is added by the view.
 */
export function describeEmailEntry(entry) {
  const data = entry?.data ?? {};
  if (entry?.kind === 'emailed') {
    return { text: data.to ? `Emailed to ${data.to}` : 'Emailed', tone: 'sent' };
  }
  if (data.reason === 'failed') {
    const error = typeof data.error === 'string' ? data.error.trim() : '';
    return { text: error ? `Email failed: ${error}` : 'Email failed', tone: 'failed' };
  }
  const known = NOT_EMAILED[data.reason];
  if (known) return { text: known, tone: 'skipped' };
  // A reason this Inbox does not know yet: say it plainly rather than hide it.
  const reason = typeof data.reason === 'string' && data.reason ? `: ${data.reason.replaceAll('_', ' ')}` : '';
  return { text: `Not emailed${reason}`, tone: 'skipped' };
}

/** The same entry from the timeline and from the live stream has one key. */
export function emailEntryKey(entry) {
  const data = entry.data ?? {};
  return [entry.kind, toMillis(entry.created_at) ?? '', (data.message_ids ?? []).join(','),
    data.reason ?? '', data.to ?? ''].join('|');
}

/** `existing` plus `incoming` email entries, each once, oldest first. */
export function mergeEmailEntries(existing, incoming) {
  const byKey = new Map(existing.map((entry) => [emailEntryKey(entry), entry]));
  for (const entry of incoming) {
    if (!isEmailEntry(entry)) continue;
    const key = emailEntryKey(entry);
    if (byKey.has(key)) continue;
    byKey.set(key, {
      kind: entry.kind,
      data: entry.data ?? {},
      conversation_id: entry.conversation_id ?? null,
      contact_id: entry.contact_id ?? null,
      created_at: entry.created_at,
    });
  }
  return [...byKey.values()].sort((a, b) => (toMillis(a.created_at) ?? 0) - (toMillis(b.created_at) ?? 0));
}

/**
 * Where each entry goes in a thread: under the latest of the messages it
 * concerns (`after` is that part's id), or at the end (`after: null`) when
 * none of them is loaded. Returns groups in thread order; entries in a
 * group keep their order (oldest first).
 */
export function placeEmailEntries(partIds, entries) {
  const position = new Map(partIds.map((id, i) => [id, i]));
  const groups = new Map();
  for (const entry of entries) {
    let at = -1;
    for (const id of entry.data?.message_ids ?? []) {
      if (position.has(id)) at = Math.max(at, position.get(id));
    }
    const after = at === -1 ? null : partIds[at];
    if (!groups.has(after)) groups.set(after, { after, at: at === -1 ? Infinity : at, entries: [] });
    groups.get(after).entries.push(entry);
  }
  return [...groups.values()].sort((a, b) => a.at - b.at).map(({ after, entries: list }) => ({ after, entries: list }));
}

export const DELAY_FIELD = 'email.fallback_delay_minutes';

/**
 * The PATCH /api/v1/workspace body for the Email form: only what changed
 * from `current` (the workspace's `email`). `values` are the form's
 * (`fallback_enabled` a boolean, the others strings). Returns
 * `{body, errors}`: `body` is null when nothing changed; `errors` are
 * `[{field, message}]` for values that cannot be sent at all (the server
 * checks the range).
 */
export function emailSettingsPatch(current, values) {
  const email = {};
  const errors = [];
  const before = current ?? {};

  if (typeof values.fallback_enabled === 'boolean' && values.fallback_enabled !== Boolean(before.fallback_enabled)) {
    email.fallback_enabled = values.fallback_enabled;
  }

  const delayText = String(values.fallback_delay_minutes ?? '').trim();
  if (!/^[-+]?\d+$/.test(delayText)) {
    errors.push({ field: DELAY_FIELD, message: 'Enter a whole number of minutes, from 1 to 60.' });
  } else {
    const delay = Number(delayText);
    if (delay !== before.fallback_delay_minutes) email.fallback_delay_minutes = delay;
  }

  const from = String(values.from_address ?? '').trim() || null;
  if (from !== (before.from_address || null)) email.from_address = from;

  return { body: errors.length || !Object.keys(email).length ? null : { email }, errors };
}

/**
 * The body of POST /conversations/{id}/reply. `emailFallback` is sent only
 * for replies, and only when the composer showed the toggle (a boolean).
 */
export function replyRequest(body, type, emailFallback) {
  const request = { body, type };
  if (type === 'comment' && typeof emailFallback === 'boolean') request.email_fallback = emailFallback;
  return request;
}

/** The body of POST /workspace/email/test: blank sends to the signed-in member. */
export function testEmailRequest(to) {
  const address = String(to ?? '').trim();
  return address ? { to: address } : {};
}

/** Whether the composer offers "Email if unread": unless the workspace is known to have it off. */
export function offersEmailFallback(workspace) {
  return workspace?.email?.fallback_enabled !== false;
}
