// Unit tests for timeline.js: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TIMELINE_FILTERS, timelineQuery, entryMatchesFilter, mergeEntries, describeEntry,
} from './timeline.js';

const names = {
  agent: (id) => ({ a1: 'Grace Hopper', a2: 'Alan Kay' })[id],
  contact: 'Ada Lovelace',
  plainText: (text) => text.replaceAll('**', ''),
};
const entry = (kind, data = {}, extra = {}) => ({ seq: 1, kind, data, conversation_id: 'c1', created_at: '2026-03-01T10:00:00Z', ...extra });

test('the chips ask for the kinds the brief names', () => {
  assert.deepEqual(TIMELINE_FILTERS.map((f) => f.label), ['All', 'Messages', 'Emails', 'Events', 'Conversations', 'Bulk sends', 'Automations']);
  assert.equal(timelineQuery({ limit: 30 }), 'limit=30');
  assert.equal(timelineQuery({ limit: 30, cursor: 'MTIz', filter: 'emails' }), 'limit=30&cursor=MTIz&kinds=emailed,not_emailed');
  assert.equal(timelineQuery({ filter: 'conversations' }), 'limit=30&kinds=conversation_started,status_changed,assigned,rated,tagged,untagged');
  assert.equal(timelineQuery({ filter: 'nonsense' }), 'limit=30');
});

test('a live entry is shown only under a chip that includes its kind', () => {
  assert.equal(entryMatchesFilter(entry('message'), 'all'), true);
  assert.equal(entryMatchesFilter(entry('message'), 'messages'), true);
  assert.equal(entryMatchesFilter(entry('event'), 'messages'), false);
  assert.equal(entryMatchesFilter(entry('bulk_send_received'), 'bulk'), true);
});

test('pages and live entries merge once each, newest first', () => {
  const merged = mergeEntries([{ seq: 5 }, { seq: 3 }], [{ seq: 9 }, { seq: 3, dup: true }, { seq: 4 }, {}]);
  assert.deepEqual(merged.map((e) => e.seq), [9, 5, 4, 3]);
  assert.equal(merged.find((e) => e.seq === 3).dup, undefined, 'the first copy stays');
});

test('a message names its author and shows an excerpt of its text', () => {
  const fromAgent = describeEntry(entry('message', { author: { type: 'agent', id: 'a1' }, type: 'comment', body: 'Hi **Ada**' }), names);
  assert.deepEqual(fromAgent, { icon: '✉', label: 'Message', text: 'Grace Hopper: Hi Ada', tone: 'team', href: '#/conversations/c1' });
  const fromContact = describeEntry(entry('message', { author: { type: 'contact', id: 'p1' }, type: 'comment', body: 'Thanks' }), names);
  assert.equal(fromContact.text, 'Ada Lovelace: Thanks');
  assert.equal(fromContact.tone, 'contact');
  const note = describeEntry(entry('message', { author: { type: 'agent', id: 'zz' }, type: 'note', body: 'VIP' }), names);
  assert.deepEqual([note.label, note.text, note.tone], ['Note', 'A teammate: VIP', 'note']);
  assert.equal(describeEntry(entry('message', { author: { type: 'bot' }, body: 'Hello' }), names).text, 'Bot: Hello');
  const long = describeEntry(entry('message', { author: { type: 'bot' }, body: 'word '.repeat(100) }), names).text;
  assert.ok(long.length <= 'Bot: '.length + 160 && long.endsWith('…'));
});

test('a message of files alone names its first file', () => {
  const files = [{ id: 'f1', name: 'photo.png' }, { id: 'f2', name: 'invoice.pdf' }];
  const entryText = (data) => describeEntry(entry('message', { author: { type: 'contact', id: 'p1' }, type: 'comment', ...data }), names).text;
  assert.equal(entryText({ body: '', attachments: files.slice(0, 1) }), 'Ada Lovelace: 📎 photo.png');
  assert.equal(entryText({ body: '', attachments: files }), 'Ada Lovelace: 📎 photo.png and 1 more');
  assert.equal(entryText({ body: 'See attached', attachments: files }), 'Ada Lovelace: See attached');
});

test('page views show their URL; other events their name', () => {
  assert.equal(describeEntry(entry('event', { name: '$page_view', params: { url: 'https://shop.test/pricing' } }), names).text,
    'Viewed https://shop.test/pricing');
  assert.equal(describeEntry(entry('event', { name: '$page_view', params: {} }), names).text, 'Viewed a page');
  const event = describeEntry(entry('event', { name: 'opened_billing_page', params: {} }, { conversation_id: null }), names);
  assert.deepEqual([event.label, event.text, event.href], ['Event', 'opened_billing_page', null]);
});

test('conversation changes say who did them', () => {
  assert.equal(describeEntry(entry('status_changed', { status: 'closed', by: 'a2' }), names).text, 'Conversation closed by Alan Kay');
  assert.equal(describeEntry(entry('status_changed', { status: 'open', by: null }), names).text, 'Conversation reopened');
  const snoozed = describeEntry(entry('status_changed', { status: 'snoozed', snoozed_until: '2026-03-02T09:00:00Z', by: 'a1' }), names);
  assert.equal(snoozed.text, 'Conversation snoozed by Grace Hopper');
  assert.equal(snoozed.until, '2026-03-02T09:00:00Z');
  assert.equal(describeEntry(entry('assigned', { assignee_id: 'a2', by: 'a1' }), names).text, 'Assigned to Alan Kay by Grace Hopper');
  assert.equal(describeEntry(entry('assigned', { assignee_id: null, by: 'a1' }), names).text, 'Unassigned by Grace Hopper');
  assert.equal(describeEntry(entry('conversation_started'), names).text, 'Conversation started');
  assert.equal(describeEntry(entry('read', { read_at: 'x' }), names).text, 'Ada Lovelace read the conversation');
});

test('email entries read like the thread\'s email lines', () => {
  assert.equal(describeEntry(entry('emailed', { to: 'ada@example.com', message_ids: ['m1'] }), names).text, 'Emailed to ada@example.com');
  const skipped = describeEntry(entry('not_emailed', { reason: 'read', message_ids: ['m1'] }), names);
  assert.equal(skipped.text, 'Not emailed: read in the widget');
  assert.equal(describeEntry(entry('not_emailed', { reason: 'failed', error: '550' }), names).tone, 'failed');
});

test('a bulk send entry links to its send; unknown kinds still show', () => {
  const bulk = describeEntry(entry('bulk_send_received', { bulk_send_id: 'b/1' }), names);
  assert.deepEqual([bulk.label, bulk.text, bulk.href], ['Bulk send', 'Received a bulk message', '#/bulk-sends/b%2F1']);
  assert.equal(describeEntry(entry('contact_created', {}, { conversation_id: null }), names).text, 'Ada Lovelace became a contact');
  assert.equal(describeEntry(entry('automation_fired'), names).text, 'automation fired');
  assert.equal(describeEntry(entry('message', { author: { type: 'contact' }, body: 'Hi' }), {}).text, 'The contact: Hi');
});

test('automation entries say what ran and link to the automation', () => {
  const updated = describeEntry(entry('contact_updated', { tags_added: ['vip'], cause: { automation_id: 'a 1', node: 'tag' } }));
  assert.equal(updated.text, 'Tagged vip (automation, step tag)');
  assert.equal(updated.href, '#/automations/a%201');
  const ended = describeEntry(entry('automation', { automation_id: 'a1', run_id: 'r1', what: 'stopped', detail: 'the visitor moved to another page' }));
  assert.equal(ended.text, 'An automation stopped: the visitor moved to another page');
  assert.equal(ended.href, '#/automations/a1');
  assert.equal(describeEntry(entry('contact_updated', { properties: ['plan'] })).text, 'Set plan');
});

test('a rating says its face, its word and its comment', async () => {
  const { describeEntry } = await import('./timeline.js');
  const described = describeEntry({ kind: 'rated', data: { score: 3, comment: 'Quick, thanks' }, conversation_id: 'c1' });
  assert.equal(described.icon, '😀');
  assert.equal(described.text, 'Rated the conversation great: “Quick, thanks”');
});

test('tagging a conversation says which tag, and who', () => {
  const tagged = describeEntry(entry('tagged', { tag: 'refund', by: 'a1' }), names);
  assert.deepEqual([tagged.label, tagged.text, tagged.href], ['Tag', 'Tagged the conversation “refund” by Grace Hopper', '#/conversations/c1']);
  assert.equal(describeEntry(entry('tagged', { tag: 'vip', by: null }), names).text, 'Tagged the conversation “vip”');
  assert.equal(describeEntry(entry('untagged', { tag: 'refund', by: 'a2' }), names).text, 'Removed the tag “refund” by Alan Kay');
  assert.equal(describeEntry(entry('untagged', { tag: 'refund' }), names).text, 'Removed the tag “refund”');
  assert.equal(entryMatchesFilter(entry('tagged'), 'conversations'), true);
  assert.equal(entryMatchesFilter(entry('untagged'), 'conversations'), true);
  assert.equal(entryMatchesFilter(entry('untagged'), 'messages'), false);
});
