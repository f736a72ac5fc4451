// Unit tests for email.js: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isEmailEntry, describeEmailEntry, mergeEmailEntries, placeEmailEntries,
  emailSettingsPatch, replyRequest, testEmailRequest, offersEmailFallback, DELAY_FIELD,
} from './email.js';

const notEmailed = (reason, extra = {}) => ({ kind: 'not_emailed', data: { reason, message_ids: ['m1'], ...extra } });

test('isEmailEntry knows the two kinds and nothing else', () => {
  assert.equal(isEmailEntry({ kind: 'emailed' }), true);
  assert.equal(isEmailEntry({ kind: 'not_emailed' }), true);
  assert.equal(isEmailEntry({ kind: 'message' }), false);
  assert.equal(isEmailEntry(null), false);
});

test('an emailed entry names the address', () => {
  assert.deepEqual(describeEmailEntry({ kind: 'emailed', data: { to: 'ann@example.com', message_ids: ['m1'] } }),
    { text: 'Emailed to ann@example.com', tone: 'sent' });
  assert.deepEqual(describeEmailEntry({ kind: 'emailed', data: {} }), { text: 'Emailed', tone: 'sent' });
});

test('each not_emailed reason reads as a sentence', () => {
  const cases = {
    read: 'Not emailed: read in the widget',
    online: 'Not emailed: contact was online',
    no_email_address: 'Not emailed: no email address',
    fallback_off: 'Not emailed: email fallback off',
    not_configured: 'Not emailed: no SMTP server configured',
  };
  for (const [reason, text] of Object.entries(cases)) {
    assert.deepEqual(describeEmailEntry(notEmailed(reason)), { text, tone: 'skipped' }, reason);
  }
});

test('a failure carries the error, or says it failed when there is none', () => {
  assert.deepEqual(describeEmailEntry(notEmailed('failed', { error: '550 mailbox unavailable' })),
    { text: 'Email failed: 550 mailbox unavailable', tone: 'failed' });
  assert.deepEqual(describeEmailEntry(notEmailed('failed')), { text: 'Email failed', tone: 'failed' });
  assert.deepEqual(describeEmailEntry(notEmailed('failed', { error: '  ' })), { text: 'Email failed', tone: 'failed' });
});

test('an unknown reason is still shown, in words', () => {
  assert.deepEqual(describeEmailEntry(notEmailed('rate_limited')), { text: 'Not emailed: rate limited', tone: 'skipped' });
  assert.deepEqual(describeEmailEntry({ kind: 'not_emailed', data: {} }), { text: 'Not emailed', tone: 'skipped' });
});

test('merging keeps one copy of an entry seen in the timeline and live, oldest first', () => {
  const fromTimeline = {
    seq: 9, kind: 'emailed', conversation_id: 'c1', contact_id: 'p1',
    data: { to: 'ann@example.com', message_ids: ['m2'] }, created_at: '2026-03-01T10:42:00Z',
  };
  const live = { ...fromTimeline, type: 'activity', created_at: Date.parse('2026-03-01T10:42:00Z') };
  const older = { ...notEmailed('read'), conversation_id: 'c1', created_at: '2026-03-01T10:00:00Z' };
  const merged = mergeEmailEntries([fromTimeline], [live, older, { kind: 'message', data: {} }]);
  assert.equal(merged.length, 2);
  assert.deepEqual(merged.map((e) => e.kind), ['not_emailed', 'emailed']);
  assert.equal(merged[1].data.to, 'ann@example.com');
  assert.equal('type' in merged[1], false, 'only the entry fields are kept');
});

test('two entries at the same moment for different messages are both kept', () => {
  const at = '2026-03-01T10:00:00Z';
  const merged = mergeEmailEntries([], [
    { kind: 'not_emailed', data: { reason: 'read', message_ids: ['m1'] }, created_at: at },
    { kind: 'not_emailed', data: { reason: 'read', message_ids: ['m2'] }, created_at: at },
  ]);
  assert.equal(merged.length, 2);
});

test('an entry goes under the latest loaded message it concerns', () => {
  const parts = ['m1', 'm2', 'm3', 'm4'];
  const a = { kind: 'emailed', data: { message_ids: ['m1', 'm3'] } };
  const b = { kind: 'not_emailed', data: { reason: 'read', message_ids: ['m1'] } };
  const c = { kind: 'not_emailed', data: { reason: 'online', message_ids: ['m3'] } };
  assert.deepEqual(placeEmailEntries(parts, [a, b, c]), [
    { after: 'm1', entries: [b] },
    { after: 'm3', entries: [a, c] },
  ]);
});

test('an entry whose messages are not loaded goes at the end', () => {
  const lost = { kind: 'emailed', data: { message_ids: ['gone'] } };
  const none = { kind: 'emailed', data: {} };
  const here = { kind: 'emailed', data: { message_ids: ['m2'] } };
  assert.deepEqual(placeEmailEntries(['m1', 'm2'], [lost, here, none]), [
    { after: 'm2', entries: [here] },
    { after: null, entries: [lost, none] },
  ]);
  assert.deepEqual(placeEmailEntries([], []), []);
});

const current = { fallback_enabled: true, fallback_delay_minutes: 10, from_address: null, sending_configured: true };

test('the settings PATCH holds only what changed', () => {
  assert.deepEqual(emailSettingsPatch(current, { fallback_enabled: true, fallback_delay_minutes: '5', from_address: '' }),
    { body: { email: { fallback_delay_minutes: 5 } }, errors: [] });
  assert.deepEqual(emailSettingsPatch(current, { fallback_enabled: false, fallback_delay_minutes: '10', from_address: ' support@shop.example ' }),
    { body: { email: { fallback_enabled: false, from_address: 'support@shop.example' } }, errors: [] });
});

test('nothing changed means no PATCH', () => {
  assert.deepEqual(emailSettingsPatch(current, { fallback_enabled: true, fallback_delay_minutes: ' 10 ', from_address: '  ' }),
    { body: null, errors: [] });
});

test('a blank from address goes back to the server default (null)', () => {
  const custom = { ...current, from_address: 'support@shop.example' };
  assert.deepEqual(emailSettingsPatch(custom, { fallback_enabled: true, fallback_delay_minutes: '10', from_address: '' }),
    { body: { email: { from_address: null } }, errors: [] });
});

test('the range is left to the server; a delay that is not a whole number is not sent', () => {
  assert.deepEqual(emailSettingsPatch(current, { fallback_enabled: true, fallback_delay_minutes: '0', from_address: '' }).body,
    { email: { fallback_delay_minutes: 0 } });
  assert.deepEqual(emailSettingsPatch(current, { fallback_enabled: true, fallback_delay_minutes: '61', from_address: '' }).body,
    { email: { fallback_delay_minutes: 61 } });
  for (const bad of ['', '2.5', 'abc', '1e2']) {
    const { body, errors } = emailSettingsPatch(current, { fallback_enabled: false, fallback_delay_minutes: bad, from_address: '' });
    assert.equal(body, null, bad);
    assert.deepEqual(errors.map((e) => e.field), [DELAY_FIELD], bad);
  }
});

test('a workspace with no email settings yet compares against defaults', () => {
  assert.deepEqual(emailSettingsPatch(undefined, { fallback_enabled: true, fallback_delay_minutes: '10', from_address: '' }).body,
    { email: { fallback_enabled: true, fallback_delay_minutes: 10 } });
});

test('the reply body carries email_fallback for replies only, and only when it was offered', () => {
  assert.deepEqual(replyRequest('Hi', 'comment', false), { body: 'Hi', type: 'comment', email_fallback: false });
  assert.deepEqual(replyRequest('Hi', 'comment', true), { body: 'Hi', type: 'comment', email_fallback: true });
  assert.deepEqual(replyRequest('Hi', 'comment', undefined), { body: 'Hi', type: 'comment' });
  assert.deepEqual(replyRequest('Team only', 'note', false), { body: 'Team only', type: 'note' });
});

test('a blank test address sends to the signed-in member', () => {
  assert.deepEqual(testEmailRequest(''), {});
  assert.deepEqual(testEmailRequest('  '), {});
  assert.deepEqual(testEmailRequest(undefined), {});
  assert.deepEqual(testEmailRequest(' ops@shop.example '), { to: 'ops@shop.example' });
});

test('the composer offers the toggle unless the workspace is known to have fallback off', () => {
  assert.equal(offersEmailFallback(null), true);
  assert.equal(offersEmailFallback({ id: 'w', name: 'Acme' }), true);
  assert.equal(offersEmailFallback({ email: { fallback_enabled: true } }), true);
  assert.equal(offersEmailFallback({ email: { fallback_enabled: false } }), false);
});
