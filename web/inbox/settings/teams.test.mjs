// Unit tests for Settings > Teams' pure parts: run with `node --test web/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { teamRequest, teamProblem, teamMembers, membersText, canAddTeam } from './teams.js';

const teams = [{ id: 't1', name: 'Sales', members: ['a1'] }, { id: 't2', name: 'Support', members: [] }];
const agents = new Map([['a1', { id: 'a1', name: 'Grace Hopper' }], ['a2', { id: 'a2', name: 'Ada Lovelace' }]]);

test('a team form becomes the request body, trimmed, members each once', () => {
  assert.deepEqual(teamRequest({ name: '  Billing ', members: ['a2', 'a1', 'a2'] }, { teams }),
    { body: { name: 'Billing', members: ['a2', 'a1'] }, errors: [] });
  assert.deepEqual(teamRequest({ name: 'Billing' }).body, { name: 'Billing', members: [] }, 'a team may start empty');
});

test('a team needs a name of its own, on one line, at most 100 characters', () => {
  const fields = (values, options) => teamRequest(values, options).errors.map((e) => `${e.field}: ${e.message}`);
  assert.deepEqual(fields({ name: '   ', members: [] }), ['name: Give the team a name.']);
  assert.deepEqual(fields({ name: 'x'.repeat(101) }), ['name: At most 100 characters.']);
  assert.deepEqual(fields({ name: 'x'.repeat(100) }), []);
  assert.deepEqual(fields({ name: 'Sales' }, { teams }), ['name: Another team has this name.']);
  assert.deepEqual(fields({ name: 'Sales ' }, { teams, id: 't1' }), [], 'its own name is not taken');
  assert.deepEqual(fields({ name: 'Sales' }, { teams, id: 't2' }), ['name: Another team has this name.']);
  assert.equal(teamRequest({ name: '' }).body, null);
});

test('a 409 is the name being taken, unless the workspace is full', () => {
  assert.deepEqual(teamProblem({ status: 409, message: 'conflicts with existing data (unique)' }),
    { fieldErrors: { name: 'Another team has this name.' }, message: '' });
  const full = { status: 409, message: 'conflicts with existing data (a workspace has at most 100 teams)' };
  assert.equal(teamProblem(full), full);
  const invalid = { status: 422, message: 'members: …', fieldErrors: { members: 'every member must be…' } };
  assert.equal(teamProblem(invalid), invalid);
  assert.equal(canAddTeam(teams), true);
  assert.equal(canAddTeam(Array.from({ length: 100 }, (_, i) => ({ id: `t${i}` }))), false);
});

test('members are named by name, with those no longer in the workspace counted', () => {
  assert.deepEqual(teamMembers({ members: ['a1', 'gone', 'a2', 'a1'] }, agents), { names: ['Ada Lovelace', 'Grace Hopper'], former: 1 });
  assert.equal(membersText({ members: ['a1', 'a2', 'gone'] }, agents), 'Ada Lovelace, Grace Hopper and 1 former member');
  assert.equal(membersText({ members: ['a1'] }, agents), 'Grace Hopper');
  assert.equal(membersText({ members: ['a1', 'a2'] }, agents), 'Ada Lovelace and Grace Hopper');
  assert.equal(membersText({ members: ['x', 'y'] }, agents), '2 former members');
  assert.equal(membersText({ members: [] }, agents), 'No members yet');
});
