// Unit tests for the settings' pure parts (roles, password form, property
// names): run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canManage, canRemove } from './roles.js';
import { passwordChangeRequest } from './password.js';
import { propertyNameError, sortedPropertySettings } from '../contacts/contact-props.js';

const owner = { id: 'a1', role: 'owner' };
const admin = { id: 'a2', role: 'admin' };
const otherAdmin = { id: 'a3', role: 'admin' };
const agent = { id: 'a4', role: 'agent' };

test('owners and admins manage; agents do not', () => {
  assert.equal(canManage(owner), true);
  assert.equal(canManage(admin), true);
  assert.equal(canManage(agent), false);
  assert.equal(canManage(null), false);
});

test('remove is offered for members below or equal, never the owner or yourself', () => {
  assert.equal(canRemove(owner, admin), true);
  assert.equal(canRemove(owner, agent), true);
  assert.equal(canRemove(admin, agent), true);
  assert.equal(canRemove(admin, otherAdmin), true);
  assert.equal(canRemove(admin, owner), false, 'never the owner');
  assert.equal(canRemove(admin, admin), false, 'never yourself');
  assert.equal(canRemove(agent, otherAdmin), false, 'agents remove nobody');
  assert.equal(canRemove(agent, { id: 'a5', role: 'agent' }), false);
});

test('a password change needs the current password, 8 characters and a matching confirmation', () => {
  assert.deepEqual(passwordChangeRequest({ current_password: 'old secret', new_password: 'new secret', confirm_password: 'new secret' }),
    { body: { current_password: 'old secret', new_password: 'new secret' }, errors: [] });
  const fields = (values) => passwordChangeRequest(values).errors.map((e) => e.field);
  assert.deepEqual(fields({ current_password: '', new_password: 'long enough', confirm_password: 'long enough' }), ['current_password']);
  assert.deepEqual(fields({ current_password: 'x', new_password: 'short', confirm_password: 'short' }), ['new_password']);
  assert.deepEqual(fields({ current_password: 'same pass', new_password: 'same pass', confirm_password: 'same pass' }), ['new_password']);
  assert.deepEqual(fields({ current_password: 'x', new_password: 'long enough', confirm_password: 'long enougH' }), ['confirm_password']);
  assert.equal(passwordChangeRequest({ current_password: 'x', new_password: 'short' }).body, null);
});

test('property names follow the server rule and leave system properties alone', () => {
  assert.equal(propertyNameError('plan'), null);
  assert.equal(propertyNameError('seat_count-2'), null);
  assert.ok(propertyNameError(''));
  assert.ok(propertyNameError('has space'));
  assert.ok(propertyNameError('x'.repeat(65)));
  assert.equal(propertyNameError('x'.repeat(64)), null);
  assert.match(propertyNameError('email'), /system property/);
});

test('property settings are listed by name', () => {
  assert.deepEqual(sortedPropertySettings([{ name: 'b' }, { name: 'a' }, null]).map((s) => s.name), ['a', 'b']);
  assert.deepEqual(sortedPropertySettings(undefined), []);
});
