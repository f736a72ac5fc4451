import { test } from 'node:test';
import assert from 'node:assert/strict';
import { savedReplyRequest } from './saved-replies.js';

test('a saved reply form becomes the request body, or says what is wrong', () => {
  assert.deepEqual(
    savedReplyRequest({ title: ' Refunds ', shortcut: '/Refund', body: 'Hi {{ user.name }}' }),
    { body: { title: 'Refunds', shortcut: 'refund', body: 'Hi {{ user.name }}' }, errors: [] },
  );
  const bad = savedReplyRequest({ title: '', shortcut: 'no spaces', body: '  ' });
  assert.equal(bad.body, null);
  assert.deepEqual(bad.errors.map((e) => e.field), ['title', 'shortcut', 'body']);
});

test('an edit may not take a shortcut another reply of its scope has', () => {
  const replies = [
    { id: 'a', shortcut: 'refund', owner_id: null },
    { id: 'b', shortcut: 'hello', owner_id: null },
    { id: 'c', shortcut: 'mine', owner_id: 'me' },
  ];
  assert.deepEqual(savedReplyRequest({ title: 't', shortcut: 'refund', body: 'x' }, { replies, id: 'b' }).errors.map((e) => e.field), ['shortcut']);
  assert.deepEqual(savedReplyRequest({ title: 't', shortcut: 'refund', body: 'x' }, { replies, id: 'c' }).errors, [], 'another scope');
  assert.deepEqual(savedReplyRequest({ title: 't', shortcut: 'hello', body: 'x' }, { replies, id: 'b' }).errors, [], 'its own');
});
