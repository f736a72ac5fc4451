// Unit tests for the messenger's requests: run with `node --test web/widget/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootRequest, updateRequest, loadSession, saveSession, forgetSession, endSession, ApiError,
  WidgetApi, messageRequest,
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

test('a message names its files only when it has some', () => {
  assert.deepEqual(messageRequest('hi'), { body: 'hi' });
  assert.deepEqual(messageRequest('hi', []), { body: 'hi' });
  assert.deepEqual(messageRequest('', ['a1', 'a2']), { body: '', attachment_ids: ['a1', 'a2'] });
});

/** Runs `run(api)` with `fetch` answering `respond(url, init)`; returns the calls. */
async function withFetch(respond, run) {
  const calls = [];
  const saved = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    calls.push({ url, init });
    return respond(url, init);
  };
  try {
    const api = new WidgetApi();
    api.session = 'wst_s';
    return { calls, result: await run(api) };
  } finally {
    globalThis.fetch = saved;
  }
}

test('a file is uploaded as its raw bytes with the session, its name in the address', async () => {
  const stored = { id: 'att1', name: 'ä b.png', content_type: 'image/png', size: 3, width: 1, height: 1 };
  const bytes = new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' });
  const controller = new AbortController();
  const { calls, result } = await withFetch(
    () => new Response(JSON.stringify(stored), { status: 201 }),
    (api) => api.uploadAttachment(bytes, 'ä b.png', controller.signal),
  );
  assert.deepEqual(result, stored);
  assert.equal(calls[0].url, '/widget/v1/attachments?name=%C3%A4%20b.png');
  assert.equal(calls[0].init.method, 'POST');
  assert.equal(calls[0].init.body, bytes);
  assert.equal(calls[0].init.headers.Authorization, 'Bearer wst_s');
  assert.equal(calls[0].init.signal, controller.signal);
});

test('a refused upload is an ApiError with the problem', async () => {
  const problem = { detail: 'too large: at most 10 MiB' };
  await assert.rejects(
    withFetch(() => new Response(JSON.stringify(problem), { status: 413 }), (api) => api.uploadAttachment(new Blob(['x']), 'x')),
    (error) => error instanceof ApiError && error.status === 413 && error.problem.detail === problem.detail,
  );
});

test('sending and starting carry the files\' ids', async () => {
  const { calls } = await withFetch(
    () => new Response('{}', { status: 201 }),
    async (api) => {
      await api.startConversation('', ['a1']);
      await api.sendMessage('c/1', 'look', ['a2', 'a3']);
      await api.sendMessage('c1', 'plain');
    },
  );
  assert.deepEqual(calls.map((c) => [c.url, JSON.parse(c.init.body)]), [
    ['/widget/v1/conversations', { body: '', attachment_ids: ['a1'] }],
    ['/widget/v1/conversations/c%2F1/messages', { body: 'look', attachment_ids: ['a2', 'a3'] }],
    ['/widget/v1/conversations/c1/messages', { body: 'plain' }],
  ]);
});

test('an attachment is fetched as a Blob with the session', async () => {
  const { calls, result } = await withFetch(
    () => new Response(new Uint8Array([137, 80, 78, 71]), { status: 200, headers: { 'content-type': 'image/png' } }),
    (api) => api.attachmentBlob('att 1'),
  );
  assert.equal(calls[0].url, '/widget/v1/attachments/att%201');
  assert.equal(calls[0].init.method, 'GET');
  assert.equal(calls[0].init.headers.Authorization, 'Bearer wst_s');
  assert.equal(result.type, 'image/png');
  assert.deepEqual([...new Uint8Array(await result.arrayBuffer())], [137, 80, 78, 71]);
  await assert.rejects(
    withFetch(() => new Response('', { status: 404 }), (api) => api.attachmentBlob('gone')),
    (error) => error instanceof ApiError && error.status === 404,
  );
});
