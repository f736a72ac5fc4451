// A WebSocket client for the live endpoints (`/api/v1/live`, `/widget/v1/live`).
//
// It says hello on every (re)connect with the last activity `seq` it saw,
// drops activity frames it has already seen, and reconnects with
// exponential backoff (0.5 s doubling to 10 s, with jitter) so that a
// server restart or a flaky network loses and repeats nothing.
//
// A close with code 4401 means the credentials are gone (signed out,
// removed, a password change, a widget session shut down or re-keyed):
// the socket stops for good and emits `revoked`, so the app signs in (or
// boots) again instead of retrying what will never work.
//
//   const live = new LiveSocket('/api/v1/live', () => ({}), {
//     activity: (frame) => ..., status: ({connected}) => ...,
//   });
//   live.start();

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10_000;
// The server pings every 30 s; we also send an application ping so a
// half-open connection (laptop lid closed, proxy gone) is noticed.
const PING_EVERY_MS = 25_000;
const SILENCE_LIMIT_MS = 70_000;
/** The server's close code for credentials that no longer work. */
export const CLOSE_REVOKED = 4401;

/** Absolute ws:// or wss:// URL for a path on the page's own origin. */
export function liveUrl(path, location = globalThis.location) {
  if (/^wss?:\/\//i.test(path)) return path;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

export class LiveSocket {
  /**
   * @param {string} url ws(s):// URL or a path on this origin
   * @param {() => object} helloExtra extra fields for each hello (e.g. a session)
   * @param {Record<string, (frame: object) => void>} handlers by frame `type`;
   *   the pseudo-type `status` receives `{connected, attempt}`, and
   *   `revoked` `{code, reason}` once the server refused the credentials.
   */
  constructor(url, helloExtra = () => ({}), handlers = {}) {
    this.url = url;
    this.helloExtra = helloExtra;
    this.handlers = new Map();
    this.lastSeq = null;
    this.connected = false;
    this.socket = null;
    this.running = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
    for (const [type, fn] of Object.entries(handlers)) this.on(type, fn);
  }

  /** Subscribe to frames of one `type`; returns a function that unsubscribes. */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop() {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopPing();
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try { socket.close(1000, 'bye'); } catch { /* already closed */ }
    }
    this.setConnected(false);
  }

  /** Send a JSON frame; returns false (and drops it) when not connected. */
  send(obj) {
    if (!this.socket || this.socket.readyState !== 1 /* OPEN */) return false;
    this.socket.send(JSON.stringify(obj));
    return true;
  }

  connect() {
    if (!this.running) return;
    let socket;
    try {
      socket = new WebSocket(liveUrl(this.url));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      const hello = { type: 'hello', ...this.helloExtra() };
      if (this.lastSeq !== null) hello.after = this.lastSeq;
      socket.send(JSON.stringify(hello));
      this.lastHeard = Date.now();
      this.startPing();
    };
    socket.onmessage = (event) => {
      this.lastHeard = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.receive(frame);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.stopPing();
      if (event?.code === CLOSE_REVOKED) {
        // The same credentials would be refused again: no retry loop.
        this.running = false;
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        this.setConnected(false);
        this.emit('revoked', { code: event.code, reason: event.reason ?? '' });
        return;
      }
      this.setConnected(false);
      this.scheduleReconnect();
    };
    socket.onerror = () => {
      // onclose follows and schedules the retry.
    };
  }

  receive(frame) {
    if (!frame || typeof frame.type !== 'string') return;
    if (frame.type === 'ready') {
      // Without `after` the server starts from its head: remember it so a
      // reconnect before any activity still asks for what came since.
      if (this.lastSeq === null && Number.isFinite(frame.seq)) this.lastSeq = frame.seq;
      this.attempt = 0;
      this.setConnected(true);
    } else if (frame.type === 'activity' && Number.isFinite(frame.seq)) {
      if (this.lastSeq !== null && frame.seq <= this.lastSeq) return;
      this.lastSeq = frame.seq;
    }
    this.emit(frame.type, frame);
  }

  emit(type, payload) {
    for (const fn of this.handlers.get(type) ?? []) {
      try {
        fn(payload);
      } catch (error) {
        // One broken handler must not stop the others or the socket.
        console.error(`live: ${type} handler failed`, error);
      }
    }
  }

  setConnected(connected) {
    if (this.connected === connected) return;
    this.connected = connected;
    this.emit('status', { connected, attempt: this.attempt });
  }

  scheduleReconnect() {
    if (!this.running || this.retryTimer) return;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    // "Equal jitter": at least half the ceiling, so clients spread out but
    // never hammer the server with near-zero delays.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  abandon() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try { socket.close(4000, 'silent'); } catch { /* already closed */ }
    this.stopPing();
    this.setConnected(false);
    this.scheduleReconnect();
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        // Half-open: a close handshake may never finish, so give up on this
        // socket at once and reconnect.
        this.abandon();
        return;
      }
      this.send({ type: 'ping' });
    }, PING_EVERY_MS);
  }

  stopPing() {
    clearInterval(this.pingTimer);
    this.pingTimer = null;
  }
}
