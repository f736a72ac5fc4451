// Unit tests for the messenger's bookkeeping: run with `node --test web/widget/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConversationStore, isTeamAuthor, placeOf } from './store.js';

const agent = { type: 'agent', name: 'Jane Cooper' };
const visitor = { type: 'contact', name: 'You' };

function part(id, author, at) {
  return { id, author, body: id, created_at: `2026-01-01T10:00:${String(at).padStart(2, '0')}Z` };
}

function storeWith(...conversations) {
  const store = new ConversationStore();
  store.replace(conversations);
  return store;
}

test('the unread total adds up the conversations of the last list', () => {
  const store = storeWith(
    { id: 'a', updated_at: '2026-01-01T10:00:00Z', unread: 2 },
    { id: 'b', updated_at: '2026-01-01T11:00:00Z', unread: 1 },
  );
  assert.equal(store.unreadTotal(), 3);
  assert.deepEqual(store.sorted().map((c) => c.id), ['b', 'a']);
});

test('a team message newer than the listed last part is news; the visitor\'s own is not', () => {
  const store = storeWith({ id: 'a', updated_at: 'x', unread: 0, last_part: part('m1', visitor, 1) });
  assert.equal(store.receive('a', part('m2', agent, 2)), true);
  assert.equal(store.get('a').last_part.id, 'm2');
  assert.equal(store.receive('a', part('m3', visitor, 3)), false);
});

test('a message the list already counted is not counted twice', () => {
  const store = storeWith({ id: 'a', updated_at: 'x', unread: 1, last_part: part('m2', agent, 2) });
  assert.equal(store.receive('a', part('m2', agent, 2)), false, 'same id');
  assert.equal(store.receive('a', part('m1', agent, 1)), false, 'older');
  const summary = storeWith({ id: 'a', updated_at: 'x', unread: 1, last_part: { body: 'x', author: agent, created_at: part('', agent, 2).created_at } });
  assert.equal(summary.receive('a', part('m2', agent, 2)), false, 'a summary without id at the same time');
});

test('an unknown conversation asks for the list again', () => {
  assert.equal(storeWith().receive('zz', part('m1', agent, 1)), null);
});

test('reading clears one conversation only', () => {
  const store = storeWith({ id: 'a', updated_at: 'x', unread: 2 }, { id: 'b', updated_at: 'y', unread: 1 });
  assert.equal(store.markRead('a'), true);
  assert.equal(store.markRead('a'), false);
  store.addUnread('b');
  assert.equal(store.unreadTotal(), 2);
});

test('bots and agents are the team; the contact is not', () => {
  assert.equal(isTeamAuthor(agent), true);
  assert.equal(isTeamAuthor({ type: 'bot' }), true);
  assert.equal(isTeamAuthor(visitor), false);
  assert.equal(isTeamAuthor(undefined), false);
});

test('placeOf keeps the server order when an older part arrives after a newer one', () => {
  const parts = [
    { id: '0190a000-0000-7000-8000-000000000001', created_at: '2026-12-02T09:00:00.000Z' },
    { id: '0190a000-0000-7000-8000-000000000003', created_at: '2026-12-02T09:00:02.000Z' },
  ];
  // A refresh brings the bot's reply stored between the two.
  assert.equal(placeOf(parts, { id: '0190a000-0000-7000-8000-000000000002', created_at: '2026-12-02T09:00:01.000Z' }), 1);
  // Same millisecond: the id decides.
  assert.equal(placeOf(parts, { id: '0190a000-0000-7000-8000-000000000002', created_at: '2026-12-02T09:00:02.000Z' }), 1);
  assert.equal(placeOf(parts, { id: '0190a000-0000-7000-8000-000000000004', created_at: '2026-12-02T09:00:02.000Z' }), 2);
  // Newer than everything, or nothing shown yet: last.
  assert.equal(placeOf(parts, { id: '0190a000-0000-7000-8000-000000000009', created_at: '2026-12-02T09:00:09.000Z' }), 2);
  assert.equal(placeOf([], { id: 'x', created_at: '2026-12-02T09:00:09.000Z' }), 0);
});
