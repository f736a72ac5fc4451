// Unit tests for contact-props.js: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  contactValue, typeOfValue, propInputKind, propInputValue, parsePropInput, formatPropValue,
  contactTags, contactEvents, customProps, propertyLabel,
} from './contact-props.js';
import { toDateTimeLocal } from '../ui/time.js';

const contact = {
  id: 'p1', name: 'Ada', email: null, last_seen_at: '2026-03-01T10:00:00Z', sessions: 3,
  props: { plan: 'pro', seats: 4, beta: false, teams: ['ops'], old: null, name: 'shadowed' },
  tags: ['vip', { name: 'beta' }],
};

test('a property is read from the contact or its custom props', () => {
  assert.equal(contactValue(contact, 'name'), 'Ada');
  assert.equal(contactValue(contact, 'last_seen_at'), '2026-03-01T10:00:00Z');
  assert.equal(contactValue(contact, 'plan'), 'pro');
  assert.equal(contactValue(contact, 'beta'), false);
  assert.equal(contactValue(contact, 'email'), undefined);
  assert.equal(contactValue(contact, 'old'), undefined);
  assert.equal(contactValue(contact, 'props'), undefined, 'an object field is not a property');
  assert.equal(contactValue(null, 'name'), undefined);
  assert.equal(propertyLabel('last_seen_at'), 'Last seen');
  assert.equal(propertyLabel('plan'), 'plan');
});

test('a value new to the page is typed like the server types it', () => {
  assert.equal(typeOfValue(3), 'number');
  assert.equal(typeOfValue(true), 'boolean');
  assert.equal(typeOfValue(['a']), 'list');
  assert.equal(typeOfValue('2026-03-01T10:00:00Z'), 'datetime');
  assert.equal(typeOfValue('2026-03-01'), 'string');
  assert.equal(typeOfValue('pro'), 'string');
});

test('each type gets its input, holding the value as the input wants it', () => {
  assert.equal(propInputKind('number'), 'number');
  assert.equal(propInputKind('boolean'), 'checkbox');
  assert.equal(propInputKind('datetime'), 'datetime-local');
  assert.equal(propInputKind('list'), 'list');
  assert.equal(propInputKind('string'), 'text');
  assert.equal(propInputValue('list', ['a', 'b']), 'a, b');
  assert.equal(propInputValue('boolean', true), true);
  assert.equal(propInputValue('boolean', undefined), false);
  assert.equal(propInputValue('number', 4), '4');
  assert.equal(propInputValue('datetime', '2026-03-01T10:00:00Z'), toDateTimeLocal('2026-03-01T10:00:00Z'));
});

test('what an agent types is sent typed, or refused with a reason', () => {
  assert.deepEqual(parsePropInput('number', ' 12.5 '), { value: 12.5 });
  assert.deepEqual(parsePropInput('number', 'ten'), { error: 'Enter a number.' });
  assert.deepEqual(parsePropInput('boolean', true), { value: true });
  assert.deepEqual(parsePropInput('boolean', false), { value: false });
  assert.deepEqual(parsePropInput('list', 'ops, , sales'), { value: ['ops', 'sales'] });
  assert.deepEqual(parsePropInput('string', '  pro '), { value: 'pro' });
  assert.deepEqual(parsePropInput('string', '   '), { value: null }, 'empty unsets');
  assert.deepEqual(parsePropInput('datetime', toDateTimeLocal('2026-03-01T10:00:00Z')), { value: '2026-03-01T10:00:00Z' });
  assert.deepEqual(parsePropInput('datetime', 'soon'), { error: 'Enter a date and time.' });
});

test('values read well in a cell', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  assert.equal(formatPropValue(undefined), '—');
  assert.equal(formatPropValue(true), 'Yes');
  assert.equal(formatPropValue(false, 'boolean'), 'No');
  assert.equal(formatPropValue(['a', 'b']), 'a, b');
  assert.equal(formatPropValue(1234.5), '1,234.5');
  assert.equal(formatPropValue('2026-03-01T10:00:00Z', 'datetime', now), '2h ago');
  assert.equal(formatPropValue('pro'), 'pro');
});

test('tags and events come out in one shape, whatever the server sent', () => {
  assert.deepEqual(contactTags(contact), ['vip', 'beta']);
  assert.deepEqual(contactTags({}), []);
  const asList = { events: [
    { name: 'a', count: 1, first_at: '2026-01-01T00:00:00Z', last_at: '2026-01-01T00:00:00Z' },
    { name: 'b', count: 5, first_at: '2026-01-01T00:00:00Z', last_at: '2026-02-01T00:00:00Z' },
  ] };
  assert.deepEqual(contactEvents(asList).map((e) => e.name), ['b', 'a']);
  const asObject = { events: { logged_in: { count: 2, first_at: '2026-01-01T00:00:00Z', last_at: '2026-03-01T00:00:00Z' } } };
  assert.deepEqual(contactEvents(asObject), [{ name: 'logged_in', count: 2, first_at: '2026-01-01T00:00:00Z', last_at: '2026-03-01T00:00:00Z' }]);
  assert.deepEqual(contactEvents({}), []);
});

test('custom properties are listed by name, unset ones left out', () => {
  assert.deepEqual(customProps(contact).map(([name]) => name), ['beta', 'name', 'plan', 'seats', 'teams']);
});
