// Unit tests for conversation-tags.js: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tagProblem, compareTags, sortedTags, withTag, withoutTag, withTagInUse, MAX_TAG_CHARS, tagChangesInFlight,
} from './conversation-tags.js';

test('a tag is 1 to 64 printable characters once trimmed', () => {
  assert.equal(tagProblem('refund'), null);
  assert.equal(tagProblem('  refund  '), null);
  assert.equal(tagProblem('needs a call: today'), null);
  assert.equal(tagProblem(''), 'Type a tag first.');
  assert.equal(tagProblem('   '), 'Type a tag first.');
  assert.equal(tagProblem(undefined), 'Type a tag first.');
  assert.equal(tagProblem('x'.repeat(MAX_TAG_CHARS)), null);
  assert.match(tagProblem('x'.repeat(MAX_TAG_CHARS + 1)), /at most 64/);
  // Characters, not UTF-16 units: 64 emoji are 128 units and still a tag.
  assert.equal(tagProblem('🎉'.repeat(MAX_TAG_CHARS)), null);
  assert.match(tagProblem('two\nlines'), /line breaks/);
  assert.match(tagProblem('tab\there'), /control/);
  assert.match(tagProblem('para\u2029graph'), /line breaks/);
});

test('tags sort by code point, as the server sorts them, case counting', () => {
  assert.deepEqual(sortedTags(['refund', 'VIP', 'billing', 'Billing', 'é', 'z', '🎉']),
    ['Billing', 'VIP', 'billing', 'refund', 'z', 'é', '🎉']);
  // U+FF5E sorts before U+1F389 by code point, not after it as UTF-16 units would have it.
  assert.ok(compareTags('\uFF5E', '🎉') < 0);
  assert.ok(compareTags('ab', 'abc') < 0);
  assert.equal(compareTags('same', 'same'), 0);
});

test('adding and removing keep the list sorted and each tag once', () => {
  assert.deepEqual(withTag(['refund', 'vip'], 'billing'), ['billing', 'refund', 'vip']);
  assert.deepEqual(withTag(['billing', 'refund'], 'refund'), ['billing', 'refund']);
  assert.deepEqual(withTag(undefined, 'refund'), ['refund']);
  assert.deepEqual(withTag(['Refund'], 'refund'), ['Refund', 'refund'], 'case-sensitive');
  assert.deepEqual(withoutTag(['billing', 'refund'], 'refund'), ['billing']);
  assert.deepEqual(withoutTag(['billing'], 'refund'), ['billing']);
  assert.deepEqual(withoutTag(null, 'refund'), []);
  assert.deepEqual(sortedTags(['b', null, 3, '', 'a', 'b']), ['a', 'b']);
});

test('a tag first used live joins the workspace list last; a known one leaves it as it was', () => {
  const inUse = [{ name: 'refund', conversations: 3 }];
  assert.equal(withTagInUse(inUse, 'refund'), inUse);
  assert.deepEqual(withTagInUse(inUse, 'vip'), [{ name: 'refund', conversations: 3 }, { name: 'vip', conversations: 1 }]);
  assert.deepEqual(inUse, [{ name: 'refund', conversations: 3 }], 'the list given is not changed');
  assert.deepEqual(withTagInUse(null, 'vip'), [{ name: 'vip', conversations: 1 }]);
});

// What tags.js does with an answer: apply the one tag, unless the tracker says the frames hold the truth.
function answer(inFlight, tags, token, change, tag) {
  return inFlight.answered(token) ? change(tags, tag) : tags;
}

test('answers to two removals in flight leave both tags gone, whichever comes first', () => {
  for (const order of [['a', 'b'], ['b', 'a']]) {
    const inFlight = tagChangesInFlight();
    const tokens = { a: inFlight.asked('c1', 'a'), b: inFlight.asked('c1', 'b') };
    let tags = ['a', 'b', 'vip'];
    for (const tag of order) tags = answer(inFlight, tags, tokens[tag], withoutTag, tag);
    assert.deepEqual(tags, ['vip'], `answers in the order ${order}`);
  }
});

test('an answer that comes after a live frame about the same tag is left to the frames', () => {
  const inFlight = tagChangesInFlight();
  // We add "refund"; a teammate's removal of it is framed before our answer comes.
  const token = inFlight.asked('c1', 'refund');
  inFlight.framed('c1', 'refund');
  let tags = withoutTag(['refund'], 'refund');
  tags = answer(inFlight, tags, token, withTag, 'refund');
  assert.deepEqual(tags, [], 'the removal the frame showed stays');
  // With the change settled, the next one is applied again.
  const next = inFlight.asked('c1', 'refund');
  assert.equal(inFlight.answered(next), true);
});

test('frames about other tags or conversations do not hold an answer back', () => {
  const inFlight = tagChangesInFlight();
  const token = inFlight.asked('c1', 'refund');
  inFlight.framed('c1', 'vip');
  inFlight.framed('c2', 'refund');
  assert.equal(inFlight.answered(token), true);
});

test('a frame before a change was asked for does not hold its answer back; one during a second change does', () => {
  const inFlight = tagChangesInFlight();
  const first = inFlight.asked('c1', 'refund');
  inFlight.framed('c1', 'refund');
  const second = inFlight.asked('c1', 'refund');
  assert.equal(inFlight.answered(first), false);
  assert.equal(inFlight.answered(second), true, 'the frame came before the second was asked for');
  // A frame with nothing in flight is not remembered for later changes.
  inFlight.framed('c1', 'refund');
  assert.equal(inFlight.answered(inFlight.asked('c1', 'refund')), true);
});
