import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notifies, titleWith } from './attention-rules.js';

test('a member is told of what they chose: everything, theirs and new ones, or nothing', () => {
  const mine = { assignee_id: 'me' };
  const theirs = { assignee_id: 'ada' };
  assert.equal(notifies('all', { conversation: theirs, startsIt: false, me: 'me' }), true);
  assert.equal(notifies('mine', { conversation: mine, startsIt: false, me: 'me' }), true);
  assert.equal(notifies('mine', { conversation: theirs, startsIt: false, me: 'me' }), false);
  assert.equal(notifies('mine', { conversation: { assignee_id: null }, startsIt: false, me: 'me' }), false);
  assert.equal(notifies('mine', { conversation: null, startsIt: true, me: 'me' }), true, 'a new conversation');
  assert.equal(notifies('none', { conversation: mine, startsIt: true, me: 'me' }), false);
});

test('the tab title carries the unread count, once', () => {
  assert.equal(titleWith(3, 'Inbox · Rapport'), '(3) Inbox · Rapport');
  assert.equal(titleWith(4, '(3) Inbox · Rapport'), '(4) Inbox · Rapport');
  assert.equal(titleWith(0, '(3) Inbox · Rapport'), 'Inbox · Rapport');
  assert.equal(titleWith(120, 'Inbox'), '(99+) Inbox');
  assert.equal(titleWith(1, '(99+) Inbox'), '(1) Inbox');
});
