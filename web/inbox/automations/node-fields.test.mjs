// Unit tests for the step form's teams and the run list's contact names:
// run with `node --test web/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assigneeValue, assigneeFrom, assigneeOptions, nodeFields, readNode } from './node-fields.js';
import { nodeSummary } from './definition.js';
import { contactLabel, shortId, contactsById } from '../data/contacts.js';

const agents = [{ id: 'a1', name: 'Grace' }];
const teams = [{ id: 't1', name: 'Sales' }];
const markup = (fragment) => fragment.__html;

test('a "to" is a select value and back: agent, team, round robin, nobody', () => {
  for (const to of [{ agent: 'a1' }, { team: 't1' }, 'round_robin', 'nobody']) {
    assert.deepEqual(assigneeFrom(assigneeValue(to)), to);
  }
  assert.equal(assigneeValue({ team: 't1' }), 'team:t1');
  assert.equal(assigneeValue(null), 'nobody');
});

test('assign and handover offer each team; the sender of a message does not', () => {
  const options = assigneeOptions(agents, { teams });
  assert.deepEqual(options.slice(0, 2).map(([v]) => v), ['round_robin', 'nobody']);
  assert.deepEqual(options[2].options, [['team:t1', 'Sales']]);
  assert.deepEqual(options[3].options, [['agent:a1', 'Grace']]);
  assert.deepEqual(assigneeOptions(agents, { bot: true, teams }), [['bot', 'The bot'], ['agent:a1', 'Grace']]);
  for (const type of ['assign', 'handover']) {
    const html = markup(nodeFields({ type, to: { team: 't1' } }, { agents, teams }));
    assert.match(html, /<optgroup label="A team[^"]*"><option value="team:t1" selected>Sales<\/option>/, type);
  }
  assert.doesNotMatch(markup(nodeFields({ type: 'send_message', from: 'bot', body: '' }, { agents, teams })), /team:/);
  assert.equal(readNode({ type: 'assign', to: 'nobody' }, { to: 'team:t1' }).to.team, 't1');
});

test('a team the lists do not have stays chosen', () => {
  const loading = markup(nodeFields({ type: 'assign', to: { team: 'gone' } }, { agents, teams: null }));
  assert.match(loading, /<option value="team:gone" selected>A team<\/option>/);
  const deleted = markup(nodeFields({ type: 'handover', to: { team: 'gone' } }, { agents, teams }));
  assert.match(deleted, /<option value="team:gone" selected>A deleted team<\/option>/);
  assert.match(markup(nodeFields({ type: 'team_available', team: 'gone' }, { teams })), /value="gone" selected>A deleted team/);
});

test('"Team available?" asks about any member or one team', () => {
  const html = markup(nodeFields({ type: 'team_available' }, { teams }));
  assert.match(html, /<option value="" selected>Any member of the workspace<\/option><option value="t1" >Sales<\/option>/);
  assert.deepEqual(readNode({ id: 'x', type: 'team_available' }, { team: 't1' }), { id: 'x', type: 'team_available', team: 't1' });
  assert.deepEqual(readNode({ id: 'x', type: 'team_available', team: 't1' }, { team: '' }), { id: 'x', type: 'team_available' });
});

test('summaries name the team', () => {
  const teamName = (id) => (id === 't1' ? 'Sales' : null);
  assert.equal(nodeSummary({ type: 'assign', to: { team: 't1' } }, () => null, teamName), 'To the team Sales');
  assert.equal(nodeSummary({ type: 'handover', to: { team: 'gone' } }, () => null, teamName), 'To a team');
  assert.equal(nodeSummary({ type: 'assign', to: { agent: 'a1' } }, () => 'Grace'), 'To Grace');
  assert.equal(nodeSummary({ type: 'team_available', team: 't1' }, () => null, teamName), 'Someone in the team Sales');
  assert.equal(nodeSummary({ type: 'team_available' }), 'Any member of the workspace');
});

test('a contact is its name, else email, else "Visitor" and a short id', () => {
  const id = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
  assert.equal(shortId(id), '3f4a5b');
  assert.equal(contactLabel({ id, name: 'Jane', email: 'j@example.com' }), 'Jane');
  assert.equal(contactLabel({ id, name: '', email: 'j@example.com' }), 'j@example.com');
  assert.equal(contactLabel({ id }), 'Visitor 3f4a5b');
  assert.equal(contactLabel(null, id), 'Visitor 3f4a5b');
});

test('contacts are fetched once per id, and only those asked for', async (t) => {
  const asked = [];
  t.mock.method(globalThis, 'fetch', async (path) => {
    asked.push(path);
    const id = decodeURIComponent(path.split('/').at(-1));
    if (id === 'gone') return new Response('{"detail":"Not found"}', { status: 404, headers: { 'content-type': 'application/problem+json' } });
    return new Response(JSON.stringify({ id, name: `Name ${id}` }), { status: 200, headers: { 'content-type': 'application/json' } });
  });
  const first = await contactsById(['c1', 'c2', 'c1', 'gone']);
  assert.equal(first.get('c1').name, 'Name c1');
  assert.equal(first.get('gone'), null);
  const again = await contactsById(['c2', 'gone']);
  assert.equal(again.get('c2').name, 'Name c2');
  assert.deepEqual(asked, ['/api/v1/contacts/c1', '/api/v1/contacts/c2', '/api/v1/contacts/gone']);
});
