// Unit tests for the messenger's requests: run with `node --test web/widget/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootRequest, updateRequest, loadSession, saveSession, forgetSession, endSession, ApiError,
} from './api.js';

test('boot sends the known fields and every other setting as a prop', () => {
  const body = bootRequest(
    { app_id: 'app1', user_id: 42, user_hash: 'abc', email: 'a@b.c', name: 'Ada', plan: 'pro', props: { seats: 3 } },
    'wst_1',
  );
  assert.deepEqual(body, {
    app_id: 'app1',
    session: 'wst_1',
    user_id: '42',
    user_hash: 'abc',
    email: 'a@b.c',
    name: 'Ada',
    props: { seats: 3, plan: 'pro' },
  });
});

test('a first boot has no session and no empty props', () => {
  assert.deepEqual(bootRequest({ app_id: 'app1' }, null), { app_id: 'app1' });
});

test('update keeps identity fields out of props', () => {
  assert.deepEqual(updateRequest({ name: 'Ada', user_hash: 'x', app_id: 'y', company: 'Acme' }), {
    name: 'Ada',
    props: { company: 'Acme' },
  });
});

test('sessions are kept per app_id, even without localStorage', () => {
  saveSession('one', 'wst_a');
  saveSession('two', 'wst_b');
  assert.equal(loadSession('one'), 'wst_a');
  forgetSession('one');
  assert.equal(loadSession('one'), null);
  assert.equal(loadSession('two'), 'wst_b');
});

test('field errors of a 422 are what the visitor reads', () => {
  const error = new ApiError(422, { detail: 'invalid', errors: [{ field: 'body', message: 'must not be empty' }] });
  assert.equal(error.visitorMessage, 'must not be empty');
  assert.match(new ApiError(0, null).visitorMessage, /connection/);
});

test('shutdown ends the session on the server with its bearer, and outlives the page', async () => {
  const calls = [];
  const ok = await endSession('wst_abc', async (url, init) => {
    calls.push({ url, init });
    return { ok: true, status: 204 };
  });
  assert.equal(ok, true);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, '/widget/v1/shutdown');
  assert.equal(calls[0].init.method, 'POST');
  assert.equal(calls[0].init.headers.Authorization, 'Bearer wst_abc');
  assert.equal(calls[0].init.keepalive, true);
  assert.equal(calls[0].init.credentials, 'omit');
});

test('shutdown is best effort: no session sends nothing, a failure never throws', async () => {
  let called = false;
  assert.equal(await endSession(null, async () => { called = true; }), false);
  assert.equal(called, false);
  assert.equal(await endSession('wst_x', async () => { throw new TypeError('offline'); }), false);
  assert.equal(await endSession('wst_x', async () => ({ ok: false, status: 401 })), false);
});
