// Unit tests for bulk-sends.js: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canBulkSend, bulkAudience, audienceSize, previewRecipients, bulkProgress, isSending, bodyExcerpt,
} from './bulk-sends.js';

test('agents may bulk send unless the workspace keeps it to owners and admins', () => {
  const agent = { role: 'agent' };
  assert.equal(canBulkSend(agent, { bulk_sends_admins_only: false }), true);
  assert.equal(canBulkSend(agent, {}), true);
  assert.equal(canBulkSend(agent, { bulk_sends_admins_only: true }), false);
  assert.equal(canBulkSend({ role: 'admin' }, { bulk_sends_admins_only: true }), true);
  assert.equal(canBulkSend({ role: 'owner' }, { bulk_sends_admins_only: true }), true);
  assert.equal(canBulkSend(null, { bulk_sends_admins_only: true }), false);
});

test('the audience is the filter for "all matching", else the ticked ids', () => {
  const filter = { and: [{ prop: 'plan', op: 'eq', value: 'pro' }] };
  assert.deepEqual(bulkAudience({ allMatching: true, filter, selectedIds: new Set(['a']) }), { filter });
  assert.deepEqual(bulkAudience({ allMatching: false, filter, selectedIds: new Set(['a', 'b']) }), { contact_ids: ['a', 'b'] });
  assert.equal(bulkAudience({ allMatching: false, filter, selectedIds: new Set() }), null);
  assert.equal(audienceSize({ allMatching: true, count: 1234, selectedIds: new Set(['a']) }), 1234);
  assert.equal(audienceSize({ allMatching: false, count: 1234, selectedIds: new Set(['a']) }), 1);
});

test('the preview flips through the ticked rows in table order, or the first page', () => {
  const rows = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
  assert.deepEqual(previewRecipients({ allMatching: false, rows, selectedIds: new Set(['c', 'a']) }).map((r) => r.id), ['a', 'c']);
  assert.deepEqual(previewRecipients({ allMatching: true, rows, selectedIds: new Set(), limit: 2 }).map((r) => r.id), ['a', 'b']);
});

test('progress counts what is settled, and works out pending when it is missing', () => {
  assert.deepEqual(bulkProgress({ total: 10, sent: 6, failed: 1, read: 2, replied: 1 }),
    { total: 10, sent: 6, failed: 1, pending: 3, read: 2, replied: 1, settled: 7, percent: 70 });
  // Not counted yet while sending.
  assert.equal(bulkProgress({ total: 10, sent: 6, read: null, replied: null }).read, null);
  assert.equal(bulkProgress({ total: 10, sent: 6, failed: 1, pending: 2 }).pending, 2);
  assert.equal(bulkProgress({ total: 0 }).percent, 100);
  assert.equal(isSending({ status: 'sending' }), true);
  assert.equal(isSending({ status: 'cancelled' }), false);
});

test('a body excerpt is one short line', () => {
  assert.equal(bodyExcerpt('Hi {{ user.name }},\n\nnews'), 'Hi {{ user.name }}, news');
  assert.equal(bodyExcerpt('x'.repeat(100), 10), `${'x'.repeat(9)}…`);
});
