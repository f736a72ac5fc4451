// Unit tests for tags.js with `fetch` stubbed: answers that come late or out
// of order, live frames between, and a sign-out while a read is in flight.
// Run with `node --test web/inbox/`.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { state, clearAll } from './store.js';
import {
  addConversationTag, removeConversationTag, applyTagFrame, loadConversationTags, tagNames,
} from './tags.js';

// Each request waits until the test answers it: `asked` holds them in order.
let asked = [];
globalThis.fetch = (path, { method }) => new Promise((resolve) => {
  asked.push({
    path,
    method,
    answer: (body) => resolve({
      status: 200,
      ok: true,
      headers: { get: () => 'application/json' },
      json: async () => body,
    }),
  });
});

// Lets the awaits after an answer run.
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function known(id, tags) {
  state.conversations.set(id, { id, status: 'open', tags });
  state.details.set(id, { id, status: 'open', tags, parts: [] });
}

beforeEach(() => {
  clearAll();
  asked = [];
});

test('two removals answered in the reverse order leave both tags gone', async () => {
  known('c1', ['a', 'b', 'vip']);
  const first = removeConversationTag('c1', 'a');
  const second = removeConversationTag('c1', 'b');
  assert.deepEqual(asked.map((r) => `${r.method} ${r.path}`),
    ['DELETE /api/v1/conversations/c1/tags/a', 'DELETE /api/v1/conversations/c1/tags/b']);
  // The server's answers are snapshots: the one to "b" (after both) comes first.
  asked[1].answer({ tags: ['vip'] });
  await second;
  asked[0].answer({ tags: ['b', 'vip'] });
  await first;
  assert.deepEqual(state.details.get('c1').tags, ['vip']);
  assert.deepEqual(state.conversations.get('c1').tags, ['vip']);
});

test('a teammate\'s removal framed before our older answer stays removed', async () => {
  known('c1', []);
  const adding = addConversationTag('c1', ' refund ');
  assert.equal(asked[0].path, '/api/v1/conversations/c1/tags');
  // Our add, then the teammate's removal, as the live frames tell it; our answer comes last.
  applyTagFrame('c1', 'tagged', 'refund');
  applyTagFrame('c1', 'untagged', 'refund');
  asked[0].answer({ tags: ['refund'] });
  await adding;
  assert.deepEqual(state.details.get('c1').tags, []);
});

test('an answer that comes before any frame shows the change at once', async () => {
  known('c1', ['vip']);
  const adding = addConversationTag('c1', 'refund');
  asked[0].answer({ tags: ['refund', 'vip'] });
  assert.deepEqual(await adding, ['refund', 'vip']);
  assert.deepEqual(state.conversations.get('c1').tags, ['refund', 'vip']);
});

test('a read of the workspace\'s tags begun before a sign-out fills nothing after it', async () => {
  const before = loadConversationTags();
  assert.equal(asked.length, 1);
  clearAll(); // signed out, and in again
  const after = loadConversationTags();
  assert.equal(asked.length, 2, 'the next session asks for its own');
  asked[0].answer({ data: [{ name: 'old-workspace', conversations: 4 }] });
  await before;
  assert.equal(state.conversationTags, null);
  asked[1].answer({ data: [{ name: 'refund', conversations: 1 }] });
  await after;
  assert.deepEqual(tagNames(), ['refund']);
});

test('a tag change answered after a sign-out is not applied to the next session', async () => {
  known('c1', ['vip']);
  const removing = removeConversationTag('c1', 'vip');
  clearAll();
  known('c1', ['vip', 'other']);
  asked[0].answer({ tags: [] });
  await removing;
  await settle();
  assert.deepEqual(state.details.get('c1').tags, ['vip', 'other']);
  assert.equal(asked.length, 1, 'nothing more asked');
});
