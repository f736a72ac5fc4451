import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slashQuery, matchReplies, insertAt, SHOWN } from './saved-replies.js';

test('a slash starts a shortcut at the start, after a space or a new line, not inside a word', () => {
  assert.deepEqual(slashQuery('/ref', 4), { start: 0, query: 'ref' });
  assert.deepEqual(slashQuery('Hi /', 4), { start: 3, query: '' });
  assert.deepEqual(slashQuery('Hi\n/Refund', 10), { start: 3, query: 'refund' });
  assert.equal(slashQuery('and/or', 6), null);
  assert.equal(slashQuery('https://x', 9), null);
  assert.equal(slashQuery('/ref more', 9), null, 'a space ends it');
  assert.deepEqual(slashQuery('/ref more', 4), { start: 0, query: 'ref' }, 'the caret decides');
});

test('shortcuts starting with the query come first, then containing it, then titles', () => {
  const replies = [
    { shortcut: 'hello', title: 'Greeting' },
    { shortcut: 'no-refund', title: 'Refused' },
    { shortcut: 'refund', title: 'Refund policy' },
    { shortcut: 'shipping', title: 'Where is my refund?' },
  ];
  assert.deepEqual(matchReplies(replies, 'ref').map((r) => r.shortcut), ['refund', 'no-refund', 'shipping']);
  assert.deepEqual(matchReplies(replies, '').map((r) => r.shortcut), ['hello', 'no-refund', 'refund', 'shipping']);
  assert.deepEqual(matchReplies(replies, 'zzz'), []);
  const many = Array.from({ length: 20 }, (_, i) => ({ shortcut: `r${i}`, title: '' }));
  assert.equal(matchReplies(many, 'r').length, SHOWN);
});

test('the reply replaces the typed shortcut and the caret goes after it', () => {
  assert.deepEqual(insertAt('Hi /ref thanks', 3, 7, 'Refunds take 5 days.'), { value: 'Hi Refunds take 5 days. thanks', caret: 23 });
});
