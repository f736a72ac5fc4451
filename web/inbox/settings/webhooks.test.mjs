import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webhookRequest, eventsText, endpointState, deliveryText, EVENT_TYPES } from './webhooks.js';

test('a webhook form becomes the request body, or says what is wrong', () => {
  assert.deepEqual(
    webhookRequest({ url: ' https://hooks.example/r ', description: ' CRM ', events: ['message.created', 'message.created'] }),
    { body: { url: 'https://hooks.example/r', description: 'CRM', events: ['message.created'], enabled: true }, errors: [] },
  );
  const bad = webhookRequest({ url: 'hooks.example', description: 'x'.repeat(201), events: [] });
  assert.equal(bad.body, null);
  assert.deepEqual(bad.errors.map((e) => e.field), ['url', 'description', 'events']);
  assert.equal(webhookRequest({ url: '', events: ['a'] }).errors[0].field, 'url');
  assert.equal(webhookRequest({ url: 'https://x.test', events: ['a'] }, { enabled: false }).body.enabled, false);
});

test('an endpoint and a delivery are described as the log shows them', () => {
  assert.equal(eventsText(EVENT_TYPES.map(([name]) => name)), 'All events');
  assert.equal(eventsText(['contact.created', 'event.tracked']), 'contact.created, event.tracked');
  assert.deepEqual(endpointState({ enabled: true }), { label: 'Enabled', tone: 'ok' });
  assert.deepEqual(endpointState({ enabled: true, failing_since: '2026-12-01T00:00:00Z' }), { label: 'Failing', tone: 'warn' });
  assert.equal(endpointState({ enabled: false, disabled_reason: 'every delivery failed' }).label, 'Disabled by Rapport');
  assert.deepEqual(deliveryText({ status: 'delivered', response_status: 200 }), { status: 'Delivered', detail: 'HTTP 200' });
  assert.deepEqual(deliveryText({ status: 'pending', attempts: 0 }), { status: 'Queued', detail: '' });
  assert.deepEqual(deliveryText({ status: 'pending', attempts: 2, error: 'x answered 500' }), { status: 'Retrying', detail: 'x answered 500' });
  assert.deepEqual(deliveryText({ status: 'failed', attempts: 1, error: 'refused' }), { status: 'Failed', detail: 'refused' });
});
