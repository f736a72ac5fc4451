// Settings > Webhooks, the parts with no DOM: the event types an endpoint
// can subscribe to, a form's values checked and turned into the body of
// POST / PUT /webhooks, and how an endpoint and a delivery are described.
// Touches no DOM, so that `node --test` can load it.

/** Every event type, as the server names it, with what it means. */
export const EVENT_TYPES = [
  ['message.created', 'A message or note is added'],
  ['conversation.started', 'A conversation starts'],
  ['conversation.assigned', 'A conversation is assigned'],
  ['conversation.closed', 'A conversation is closed'],
  ['conversation.reopened', 'A conversation is opened again'],
  ['conversation.snoozed', 'A conversation is snoozed'],
  ['contact.created', 'A contact is created'],
  ['contact.updated', 'A contact’s properties or tags change'],
  ['event.tracked', 'An event is tracked'],
  ['bulk_send.finished', 'A bulk send finishes'],
  ['automation.goal_reached', 'A contact reaches an automation’s goal'],
];

export const MAX_URL = 2048;
export const MAX_DESCRIPTION = 200;

/**
 * `{url, description, events}` as `{body, errors: [{field, message}]}`;
 * `enabled` is kept as the endpoint has it (true for a new one).
 */
export function webhookRequest({ url, description, events }, { enabled = true } = {}) {
  const errors = [];
  const trimmed = String(url ?? '').trim();
  if (!trimmed) errors.push({ field: 'url', message: 'Where should events be sent?' });
  else if ([...trimmed].length > MAX_URL) errors.push({ field: 'url', message: `At most ${MAX_URL} characters.` });
  else if (!/^https?:\/\/[^\s/?#@]+/i.test(trimmed)) {
    errors.push({ field: 'url', message: 'An https:// address, like https://example.com/rapport-events.' });
  }
  const text = String(description ?? '').trim();
  if ([...text].length > MAX_DESCRIPTION) {
    errors.push({ field: 'description', message: `At most ${MAX_DESCRIPTION} characters.` });
  }
  const chosen = [...new Set((events ?? []).filter(Boolean))];
  if (!chosen.length) errors.push({ field: 'events', message: 'Choose at least one event.' });
  return {
    body: errors.length ? null : { url: trimmed, description: text, events: chosen, enabled },
    errors,
  };
}

/** "All events" or "message.created, contact.created". */
export function eventsText(events) {
  const list = events ?? [];
  return list.length === EVENT_TYPES.length ? 'All events' : list.join(', ');
}

/** `{label, tone}` of an endpoint's state: tone is ok, warn or off. */
export function endpointState(endpoint) {
  if (!endpoint.enabled) {
    return { label: endpoint.disabled_reason ? 'Disabled by Rapport' : 'Disabled', tone: 'off' };
  }
  if (endpoint.failing_since) return { label: 'Failing', tone: 'warn' };
  return { label: 'Enabled', tone: 'ok' };
}

/** What a delivery's row says: `{status, detail}`. */
export function deliveryText(delivery) {
  const code = delivery.response_status ? `HTTP ${delivery.response_status}` : '';
  if (delivery.status === 'delivered') return { status: 'Delivered', detail: code };
  const why = delivery.error ?? '';
  if (delivery.status === 'failed') return { status: 'Failed', detail: why };
  if (!delivery.attempts) return { status: 'Queued', detail: '' };
  return { status: 'Retrying', detail: why };
}
