// Unit tests for live.js with a fake WebSocket: run with `node --test web/shared/`.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { LiveSocket, liveUrl } from './live.js';

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.readyState = 0;
    FakeSocket.all.push(this);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close() { this.readyState = 3; }
  // Test drivers:
  open() { this.readyState = 1; this.onopen?.(); }
  frame(obj) { this.onmessage?.({ data: JSON.stringify(obj) }); }
  drop(code = 1006, reason = '') { this.readyState = 3; this.onclose?.({ code, reason }); }
}

function setup() {
  FakeSocket.all = [];
  globalThis.WebSocket = FakeSocket;
  globalThis.location = { protocol: 'https:', host: 'inbox.example' };
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
}

test('liveUrl matches the page scheme', () => {
  assert.equal(liveUrl('/api/v1/live', { protocol: 'https:', host: 'a.example' }), 'wss://a.example/api/v1/live');
  assert.equal(liveUrl('/api/v1/live', { protocol: 'http:', host: 'localhost:8080' }), 'ws://localhost:8080/api/v1/live');
  assert.equal(liveUrl('ws://x/y'), 'ws://x/y');
});

test('says hello with extra fields, remembers seq, skips repeats, resumes after reconnect', () => {
  setup();
  try {
    const seen = [];
    const live = new LiveSocket('/api/v1/live', () => ({ session: 'wst_1' }), {
      activity: (f) => seen.push(f.seq),
    });
    live.start();
    const first = FakeSocket.all[0];
    assert.equal(first.url, 'wss://inbox.example/api/v1/live');
    first.open();
    assert.deepEqual(first.sent[0], { type: 'hello', session: 'wst_1' });
    first.frame({ type: 'ready', seq: 10 });
    assert.equal(live.connected, true);
    first.frame({ type: 'activity', seq: 11 });
    first.frame({ type: 'activity', seq: 11 });
    first.frame({ type: 'activity', seq: 9 });
    first.frame({ type: 'activity', seq: 12 });
    assert.deepEqual(seen, [11, 12]);

    first.drop();
    assert.equal(live.connected, false);
    assert.equal(FakeSocket.all.length, 1, 'waits before reconnecting');
    mock.timers.tick(500);
    assert.equal(FakeSocket.all.length, 2);
    const second = FakeSocket.all[1];
    second.open();
    assert.deepEqual(second.sent[0], { type: 'hello', session: 'wst_1', after: 12 });
    second.frame({ type: 'ready', seq: 12 });
    second.frame({ type: 'activity', seq: 12 });
    second.frame({ type: 'activity', seq: 13 });
    assert.deepEqual(seen, [11, 12, 13]);
    live.stop();
  } finally {
    mock.timers.reset();
  }
});

test('ready without activity still sets the resume position', () => {
  setup();
  try {
    const live = new LiveSocket('/api/v1/live');
    live.start();
    FakeSocket.all[0].open();
    FakeSocket.all[0].frame({ type: 'ready', seq: 40 });
    FakeSocket.all[0].drop();
    mock.timers.tick(500);
    FakeSocket.all[1].open();
    assert.equal(FakeSocket.all[1].sent[0].after, 40);
    live.stop();
  } finally {
    mock.timers.reset();
  }
});

test('backoff grows to at most 10 s and resets once connected', () => {
  setup();
  const random = mock.method(Math, 'random', () => 0.999);
  try {
    const live = new LiveSocket('/api/v1/live');
    live.start();
    const delays = [];
    for (let i = 0; i < 8; i++) {
      const before = FakeSocket.all.length;
      FakeSocket.all.at(-1).drop();
      let waited = 0;
      while (FakeSocket.all.length === before) { mock.timers.tick(50); waited += 50; }
      delays.push(waited);
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
    FakeSocket.all.at(-1).open();
    FakeSocket.all.at(-1).frame({ type: 'ready', seq: 1 });
    FakeSocket.all.at(-1).drop();
    const before = FakeSocket.all.length;
    mock.timers.tick(500);
    assert.equal(FakeSocket.all.length, before + 1, 'back to 0.5 s after a good connection');
    live.stop();
  } finally {
    random.mock.restore();
    mock.timers.reset();
  }
});

test('jitter keeps delays between half and all of the ceiling', () => {
  setup();
  const random = mock.method(Math, 'random', () => 0);
  try {
    const live = new LiveSocket('/api/v1/live');
    live.start();
    FakeSocket.all[0].drop();
    mock.timers.tick(249);
    assert.equal(FakeSocket.all.length, 1);
    mock.timers.tick(1);
    assert.equal(FakeSocket.all.length, 2);
    live.stop();
  } finally {
    random.mock.restore();
    mock.timers.reset();
  }
});

test('on() dispatches by type, unsubscribes, and send() only works when open', () => {
  setup();
  try {
    const live = new LiveSocket('/api/v1/live');
    const typing = [];
    const off = live.on('typing', (f) => typing.push(f.conversation_id));
    live.start();
    const socket = FakeSocket.all[0];
    assert.equal(live.send({ type: 'typing', conversation_id: 'c1' }), false);
    socket.open();
    assert.equal(live.send({ type: 'typing', conversation_id: 'c1' }), true);
    assert.deepEqual(socket.sent.at(-1), { type: 'typing', conversation_id: 'c1' });
    socket.frame({ type: 'typing', conversation_id: 'c1' });
    off();
    socket.frame({ type: 'typing', conversation_id: 'c2' });
    assert.deepEqual(typing, ['c1']);
    live.stop();
  } finally {
    mock.timers.reset();
  }
});

test('stop() prevents reconnecting', () => {
  setup();
  try {
    const live = new LiveSocket('/api/v1/live');
    live.start();
    FakeSocket.all[0].open();
    live.stop();
    mock.timers.tick(20_000);
    assert.equal(FakeSocket.all.length, 1);
  } finally {
    mock.timers.reset();
  }
});

test('a silent connection is abandoned and replaced', () => {
  setup();
  try {
    const live = new LiveSocket('/api/v1/live');
    live.start();
    FakeSocket.all[0].open();
    FakeSocket.all[0].frame({ type: 'ready', seq: 5 });
    for (let t = 0; t < 100_000; t += 1000) mock.timers.tick(1000);
    assert.ok(FakeSocket.all.length >= 2, 'reconnected');
    assert.ok(FakeSocket.all[0].sent.some((f) => f.type === 'ping'), 'pinged before giving up');
    live.stop();
  } finally {
    mock.timers.reset();
  }
});

test('a 4401 close stops for good and says the credentials are gone', () => {
  setup();
  try {
    const revoked = [];
    const statuses = [];
    const live = new LiveSocket('/widget/v1/live', () => ({ session: 'wst_old' }), {
      revoked: (info) => revoked.push(info),
      status: ({ connected }) => statuses.push(connected),
    });
    live.start();
    FakeSocket.all[0].open();
    FakeSocket.all[0].frame({ type: 'ready', seq: 3 });
    FakeSocket.all[0].drop(4401, 'credentials revoked');
    assert.deepEqual(revoked, [{ code: 4401, reason: 'credentials revoked' }]);
    assert.deepEqual(statuses, [true, false]);
    assert.equal(live.connected, false);
    mock.timers.tick(60_000);
    assert.equal(FakeSocket.all.length, 1, 'no reconnect with the same credentials');
    // Starting again (with new credentials) works.
    live.start();
    assert.equal(FakeSocket.all.length, 2);
    live.stop();
  } finally {
    mock.timers.reset();
  }
});

test('other close codes still reconnect', () => {
  setup();
  try {
    const revoked = [];
    const live = new LiveSocket('/api/v1/live', () => ({}), { revoked: (info) => revoked.push(info) });
    live.start();
    FakeSocket.all[0].open();
    FakeSocket.all[0].drop(1001, 'the server is stopping');
    mock.timers.tick(1000);
    assert.equal(FakeSocket.all.length, 2);
    assert.deepEqual(revoked, []);
    live.stop();
  } finally {
    mock.timers.reset();
  }
});
