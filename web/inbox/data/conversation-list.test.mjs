// Unit tests for the list's filters in conversation-list.js: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesFilters } from './conversation-list.js';
import { savedFilters } from './store.js';

const filters = (extra = {}) => ({ status: 'open', assignee: 'all', sort: 'newest', tag: null, contactId: null, ...extra });
const conversation = (extra = {}) => ({ id: 'c1', status: 'open', contact: { id: 'p1' }, tags: [], ...extra });

test('the tag filter keeps the conversations with that tag, case counting', () => {
  assert.equal(matchesFilters(conversation({ tags: ['refund', 'vip'] }), filters({ tag: 'refund' })), true);
  assert.equal(matchesFilters(conversation({ tags: ['vip'] }), filters({ tag: 'refund' })), false);
  assert.equal(matchesFilters(conversation({ tags: ['Refund'] }), filters({ tag: 'refund' })), false);
  // A row from before tags were known has none.
  assert.equal(matchesFilters(conversation({ tags: undefined }), filters({ tag: 'refund' })), false);
  assert.equal(matchesFilters(conversation({ tags: undefined }), filters()), true);
  // It narrows what the other filters let through; it lets nothing else in.
  assert.equal(matchesFilters(conversation({ status: 'closed', tags: ['refund'] }), filters({ tag: 'refund' })), false);
});

test('the tag filter is remembered with the others; anything but a tag is forgotten', () => {
  assert.deepEqual(savedFilters(filters({ tag: 'refund', contactId: 'p1' })),
    { status: 'open', assignee: 'all', sort: 'newest', tag: 'refund' });
  assert.equal(savedFilters(filters({ tag: '' })).tag, null);
  assert.equal(savedFilters(filters({ tag: 42 })).tag, null);
  assert.equal(savedFilters({ status: 'open', assignee: 'all', sort: 'newest' }).tag, null);
});
