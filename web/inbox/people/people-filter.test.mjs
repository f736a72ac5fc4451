// Unit tests for people-filter.js: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  OPERATORS, operatorsFor, operatorLabel, valueKind, parseList, propertyTypes, parseSubject, subjectType,
  newCondition, newGroup, withSubject, withOperator, compileCondition, compileFilter,
  builderFromFilter, conditionFromNode, locateField, canonicalJson, peopleCount,
} from './people-filter.js';
import { toDateTimeLocal } from '../ui/time.js';

const schema = {
  properties: [
    { name: 'plan', type: 'string', system: false },
    { name: 'seats', type: 'number', system: false },
    { name: 'beta', type: 'boolean', system: false },
    { name: 'trial_ends_at', type: 'datetime', system: false },
    { name: 'teams', type: 'list', system: false },
    { name: 'last_seen_at', type: 'datetime', system: true },
  ],
};
const types = propertyTypes(schema);

const row = (subject, op, value = '', value2 = '') => ({ ...newCondition(subject, op), value, value2 });

test('the schema gives each property its type; unknown ones are strings', () => {
  assert.equal(subjectType('prop:seats', types), 'number');
  assert.equal(subjectType('prop:nobody_knows', types), 'string');
  assert.equal(subjectType('event:logged_in', types), 'event');
  assert.equal(subjectType('tag:vip', types), 'tag');
  assert.equal(subjectType('online', types), 'online');
  assert.equal(subjectType('', types), null);
  assert.deepEqual(parseSubject('prop:a:b'), { kind: 'prop', name: 'a:b' });
});

test('operators come from the schema when it lists them, else from the contract', () => {
  assert.deepEqual(operatorsFor('number', undefined), OPERATORS.number);
  assert.deepEqual(operatorsFor('string', { string: ['eq', 'contains'] }), ['eq', 'contains']);
  assert.deepEqual(operatorsFor('string', { string: [{ op: 'eq' }, { name: 'ne' }] }), ['eq', 'ne']);
  assert.deepEqual(operatorsFor('tag', { tag: [] }), ['has', 'has_not']);
  assert.deepEqual(operatorsFor('online', {}), ['true', 'false']);
  assert.equal(operatorLabel('string', 'eq'), 'is');
  assert.equal(operatorLabel('online', 'false'), 'is not online now');
  assert.equal(operatorLabel('string', 'sounds_like'), 'sounds like');
});

test('each operator asks for the value it needs', () => {
  assert.equal(valueKind('string', 'eq'), 'text');
  assert.equal(valueKind('string', 'in'), 'list');
  assert.equal(valueKind('string', 'is_set'), 'none');
  assert.equal(valueKind('number', 'gt'), 'number');
  assert.equal(valueKind('number', 'between'), 'range');
  assert.equal(valueKind('boolean', 'eq'), 'boolean');
  assert.equal(valueKind('datetime', 'before'), 'datetime');
  assert.equal(valueKind('datetime', 'more_than_days_ago'), 'days');
  assert.equal(valueKind('event', 'last_within_days'), 'days');
  assert.equal(valueKind('event', 'count_at_least'), 'count');
  assert.equal(valueKind('event', 'not_performed'), 'none');
  assert.equal(valueKind('segment', 'in'), 'none');
});

test('a list is split on commas and tidied', () => {
  assert.deepEqual(parseList(' pro, team ,, enterprise '), ['pro', 'team', 'enterprise']);
  assert.deepEqual(parseList(''), []);
});

test('the plan / logged_in / billing page filter compiles to the contract example', () => {
  const group = newGroup('and', [
    row('prop:plan', 'eq', 'pro'),
    row('event:logged_in', 'last_within_days', ' 7 '),
    row('event:opened_billing_page', 'not_performed'),
  ]);
  const { filter, problems } = compileFilter(group, types);
  assert.deepEqual(filter, {
    and: [
      { prop: 'plan', op: 'eq', value: 'pro' },
      { event: 'logged_in', op: 'last_within_days', value: 7 },
      { event: 'opened_billing_page', op: 'not_performed' },
    ],
  });
  assert.deepEqual(problems, {});
});

test('values are typed by the property', () => {
  const c = (subject, op, value, value2) => compileCondition(row(subject, op, value, value2), types).node;
  assert.deepEqual(c('prop:seats', 'gt', '2.5'), { prop: 'seats', op: 'gt', value: 2.5 });
  assert.deepEqual(c('prop:seats', 'between', '1', '10'), { prop: 'seats', op: 'between', value: [1, 10] });
  assert.deepEqual(c('prop:beta', 'eq', 'false'), { prop: 'beta', op: 'eq', value: false });
  assert.deepEqual(c('prop:plan', 'in', 'pro, team'), { prop: 'plan', op: 'in', value: ['pro', 'team'] });
  assert.deepEqual(c('prop:plan', 'not_set'), { prop: 'plan', op: 'not_set' });
  assert.deepEqual(c('prop:trial_ends_at', 'less_than_days_ago', '3'), { prop: 'trial_ends_at', op: 'less_than_days_ago', value: 3 });
  const before = c('prop:trial_ends_at', 'before', toDateTimeLocal('2026-03-01T10:30:00Z'));
  assert.deepEqual(before, { prop: 'trial_ends_at', op: 'before', value: '2026-03-01T10:30:00Z' });
  assert.deepEqual(c('prop:teams', 'contains', 'ops'), { prop: 'teams', op: 'contains', value: 'ops' });
  assert.deepEqual(c('event:logged_in', 'count_at_least', '3'), { event: 'logged_in', op: 'count_at_least', value: 3 });
  assert.deepEqual(c('tag:vip', 'has_not'), { tag: 'vip', op: 'has_not' });
  assert.deepEqual(c('online', 'true'), { online: true });
  assert.deepEqual(c('open_conversation', 'false'), { open_conversation: false });
  assert.deepEqual(c('segment:s1', 'in'), { segment: 's1' });
});

test('a row that cannot be applied yet says why and is left out', () => {
  const p = (subject, op, value, value2) => compileCondition(row(subject, op, value, value2), types);
  assert.equal(p('', '').part, 'subject');
  assert.equal(p('prop:plan', 'eq', '').problem, 'Enter a value.');
  assert.equal(p('prop:seats', 'gt', 'lots').problem, 'Enter a number.');
  assert.equal(p('prop:seats', 'between', '1', '').part, 'value2');
  assert.equal(p('event:logged_in', 'last_within_days', '1.5').problem, 'Enter a whole number of days.');
  assert.equal(p('prop:trial_ends_at', 'after', 'tomorrow').problem, 'Enter a date and time.');
  assert.equal(p('prop:plan', 'in', ' , ').part, 'value');

  const blank = newCondition();
  const good = row('prop:plan', 'eq', 'pro');
  const { filter, paths, problems } = compileFilter(newGroup('or', [blank, good]), types);
  assert.deepEqual(filter, { or: [{ prop: 'plan', op: 'eq', value: 'pro' }] });
  assert.deepEqual(paths, [{ id: good.id }]);
  assert.deepEqual(Object.keys(problems), [blank.id]);
});

test('an empty builder matches everyone', () => {
  assert.deepEqual(compileFilter(newGroup('and'), types).filter, { and: [] });
});

test('a sub-group compiles to a nested group; an empty one is left out', () => {
  const a = row('prop:plan', 'eq', 'pro');
  const b = row('tag:vip', 'has');
  const c = row('online', 'true');
  const sub = newGroup('or', [b, c]);
  const empty = newGroup('and', [newCondition()]);
  const { filter, paths } = compileFilter(newGroup('and', [a, empty, sub]), types);
  assert.deepEqual(filter, { and: [{ prop: 'plan', op: 'eq', value: 'pro' }, { or: [{ tag: 'vip', op: 'has' }, { online: true }] }] });
  assert.deepEqual(paths, [{ id: a.id }, { id: sub.id, items: [{ id: b.id }, { id: c.id }] }]);
});

test('a server error field finds its row, skipping rows that were left out', () => {
  const blank = newCondition();
  const a = row('prop:plan', 'eq', 'pro');
  const b = row('event:logged_in', 'last_within_days', '7');
  const c = row('tag:vip', 'has');
  const sub = newGroup('or', [c]);
  const { paths } = compileFilter(newGroup('and', [blank, a, b, sub]), types);
  assert.deepEqual(locateField('filter.and[1].value', paths), { id: b.id, part: 'value' });
  assert.deepEqual(locateField('filter.and[0].op', paths), { id: a.id, part: 'op' });
  assert.deepEqual(locateField('audience.filter.and[2].or[0].tag', paths), { id: c.id, part: 'tag' });
  assert.deepEqual(locateField('filter.and[2]', paths), { id: sub.id, part: null });
  assert.deepEqual(locateField('filter.and[1].value[1]', paths), { id: b.id, part: 'value[1]' });
  assert.deepEqual(locateField('filter', paths), { id: null, part: null });
  assert.deepEqual(locateField('filter.and[9].value', paths), { id: null, part: 'value' });
  assert.equal(locateField('name', paths), null);
  assert.equal(locateField('filtered', paths), null);
});

test('a saved filter comes back into the builder and compiles to the same filter', () => {
  const saved = {
    or: [
      { prop: 'seats', op: 'between', value: [2, 5] },
      { prop: 'plan', op: 'in', value: ['pro', 'team'] },
      { prop: 'trial_ends_at', op: 'after', value: '2026-03-01T10:30:00Z' },
      { prop: 'beta', op: 'eq', value: false },
      { and: [{ event: 'logged_in', op: 'performed' }, { online: false }, { tag: 'vip', op: 'has' }] },
      { segment: 's9' },
      { open_conversation: true },
    ],
  };
  const group = builderFromFilter(saved, types);
  assert.equal(group.match, 'or');
  assert.equal(group.items[0].value, '2');
  assert.equal(group.items[0].value2, '5');
  assert.equal(group.items[1].value, 'pro, team');
  assert.equal(group.items[3].value, 'false');
  assert.equal(group.items[4].match, 'and');
  assert.equal(canonicalJson(compileFilter(group, types).filter), canonicalJson(saved));
});

test('filters the builder cannot show are refused, not mangled', () => {
  assert.equal(builderFromFilter({ and: [{ or: [{ and: [] }] }] }, types), null);
  assert.equal(builderFromFilter({ and: [{ weird: 1 }] }, types), null);
  assert.equal(conditionFromNode([1], types), null);
  const single = builderFromFilter({ prop: 'plan', op: 'eq', value: 'pro' }, types);
  assert.deepEqual(compileFilter(single, types).filter, { and: [{ prop: 'plan', op: 'eq', value: 'pro' }] });
  assert.deepEqual(builderFromFilter(null, types).items, []);
});

test('choosing a subject picks its first operator; a new operator keeps a value that still fits', () => {
  const c = withSubject(newCondition(), 'event:logged_in', types);
  assert.equal(c.op, 'performed');
  const days = withOperator({ ...c, op: 'last_within_days', value: '7' }, 'first_within_days', types);
  assert.equal(days.value, '7');
  const cleared = withOperator({ ...withSubject(c, 'prop:plan', types), value: 'pro' }, 'in', types);
  assert.equal(cleared.value, '');
  assert.equal(withSubject(c, 'prop:beta', types).value, 'true');
});

test('filters compare equal whatever the order of their keys', () => {
  assert.equal(canonicalJson({ and: [{ op: 'eq', prop: 'a', value: 1 }] }), canonicalJson({ and: [{ prop: 'a', value: 1, op: 'eq' }] }));
  assert.notEqual(canonicalJson({ and: [] }), canonicalJson({ or: [] }));
});

test('the count reads as a phrase', () => {
  assert.equal(peopleCount(0), '0 people');
  assert.equal(peopleCount(1), '1 person');
  assert.equal(peopleCount(1234), '1,234 people');
});

test('a conversation tag condition: "has a conversation tagged …", both ways', () => {
  assert.deepEqual(parseSubject('conversation_tag:refund: late'), { kind: 'conversation_tag', name: 'refund: late' });
  assert.equal(subjectType('conversation_tag:refund', types), 'conversation_tag');
  assert.deepEqual(operatorsFor('conversation_tag', {}), ['has', 'has_not']);
  assert.equal(operatorLabel('conversation_tag', 'has'), 'has a conversation tagged with it');
  assert.equal(operatorLabel('conversation_tag', 'has_not'), 'has no conversation tagged with it');
  assert.equal(valueKind('conversation_tag', 'has_not'), 'none');

  const chosen = withSubject(newCondition(), 'conversation_tag:refund', types);
  assert.equal(chosen.op, 'has');
  assert.deepEqual(compileCondition(chosen, types).node, { conversation_tag: 'refund', op: 'has' });
  assert.deepEqual(compileCondition(row('conversation_tag:refund', 'has_not'), types).node,
    { conversation_tag: 'refund', op: 'has_not' });

  const saved = { and: [{ conversation_tag: 'refund', op: 'has_not' }, { tag: 'refund', op: 'has' }] };
  const group = builderFromFilter(saved, types);
  assert.deepEqual(group.items.map((item) => [item.subject, item.op]),
    [['conversation_tag:refund', 'has_not'], ['tag:refund', 'has']]);
  assert.equal(canonicalJson(compileFilter(group, types).filter), canonicalJson(saved));
});
