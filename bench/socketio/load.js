'use strict';
// The load client for server.js, with the same two modes, steps and JSON
// fields as `rapport-bench idle` and `rapport-bench fanout` (bench/src), so
// that bench/live.sh measures both servers the same way.
//
//   node load.js idle --url http://127.0.0.1:PORT --connections 15000 \
//       --hold 30s --server-pid PID [--settle 5s] [--concurrency 64] [--json]
//   node load.js fanout --url http://127.0.0.1:PORT --visitors 200 \
//       --rate 1000 --duration 20s [--warmup 2s] [--clients 64] [--json]
//
// idle: waits --settle and reads the server's memory (/proc/PID/status),
// opens --connections socket.io sockets (WebSocket transport only, one
// engine.io connection each, from 127.0.0.2..127.0.0.250 round-robin),
// --concurrency at a time, waits --settle and reads the memory again,
// holds them until --hold has passed since the last opened, then closes.
//
// fanout: opens --visitors sockets, then sends --rate messages/s in total
// (open loop: message i is due at i / rate s) with `POST /send` to socket
// i mod visitors, body `fanout i`, from at most --clients requests in
// flight (Node's http, keep-alive). Latency: from the moment the POST
// starts to the `activity` event's arrival. Messages due in the --warmup
// are not counted; a counted one not delivered 5 s after its POST started
// is lost.

const fs = require('node:fs');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { io } = require('socket.io-client');

const LOST_AFTER_MS = 5000;
const BODY_PREFIX = 'fanout ';
const SHOW_ERRORS = 5;

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(2);
}

function parseDuration(text) {
  const match = /^([0-9.]+)(ms|s|m)?$/.exec(String(text).trim());
  if (!match) fail(`\`${text}\` is not a duration like 20s`);
  const number = Number(match[1]);
  const unit = match[2] || 's';
  return number * { ms: 1, s: 1000, m: 60000 }[unit];
}

function parseArgs(argv) {
  const [mode, ...rest] = argv;
  const options = {};
  for (let i = 0; i < rest.length; i++) {
    const name = rest[i];
    if (!name.startsWith('--')) fail(`unexpected argument ${name}`);
    if (name === '--json') {
      options.json = true;
    } else {
      if (i + 1 >= rest.length) fail(`${name} needs a value`);
      options[name.slice(2)] = rest[++i];
    }
  }
  return { mode, options };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** VmRSS and RssAnon of a process, in KiB. */
function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => {
    const line = status.split('\n').find((l) => l.startsWith(name));
    if (!line) fail(`no ${name} in /proc/${pid}/status`);
    return Number(line.slice(name.length).trim().replace(/kB$/, '').trim());
  };
  return { rss_kib: field('VmRSS:'), anon_kib: field('RssAnon:') };
}

/** The kernel's slab memory, system-wide (socket structures), in KiB. */
function kernelSlabKib() {
  try {
    const line = fs
      .readFileSync('/proc/meminfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Slab:'));
    return Number(line.slice('Slab:'.length).trim().replace(/kB$/, '').trim());
  } catch {
    return null;
  }
}

/** 127.0.0.2..127.0.0.250, round-robin. */
function source(index) {
  return `127.0.0.${2 + (index % 249)}`;
}

/** The value at quantile q (nearest rank) of sorted milliseconds. */
function percentile(sorted, q) {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

/** Opens one socket.io socket from `localAddress`; resolves once connected. */
function open(url, localAddress) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: 30000,
      localAddress,
    });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Runs `task(i)` for i in 0..count, `concurrency` at a time. */
async function pool(count, concurrency, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      await task(next++);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

function emit(json, summary, report) {
  if (json) {
    console.error(summary);
    console.log(JSON.stringify(report));
  } else {
    console.log(summary);
  }
}

async function idle(options) {
  const url = options.url || 'http://127.0.0.1:3000';
  const connections = Number(options.connections || 15000);
  const holdMs = parseDuration(options.hold || '30s');
  const settleMs = parseDuration(options.settle || '5s');
  const concurrency = Number(options.concurrency || 64);
  const pid = Number(options['server-pid']);
  if (!pid) fail('--server-pid is required');

  await sleep(settleMs);
  const before = memory(pid);
  const kernelBefore = kernelSlabKib();
  console.error(`server RSS before: ${before.rss_kib} KiB; opening ${connections} sockets, ${concurrency} at a time...`);

  const sockets = [];
  let failed = 0;
  let dropped = 0;
  let stopping = false;
  const opening = performance.now();
  const progress = setInterval(
    () => console.error(`  ${sockets.length} open, ${failed} failed...`),
    5000,
  );
  await pool(connections, concurrency, async (index) => {
    try {
      const socket = await open(url, source(index));
      socket.on('disconnect', () => {
        if (!stopping) dropped++;
      });
      sockets.push(socket);
    } catch (err) {
      failed++;
      if (failed <= SHOW_ERRORS) console.error(`error: ${err.message}`);
    }
  });
  clearInterval(progress);
  const openS = (performance.now() - opening) / 1000;
  const allOpen = performance.now();
  console.error(`${sockets.length} open (${failed} failed) in ${openS.toFixed(1)} s; idle for ${settleMs} ms...`);

  await sleep(settleMs);
  const after = memory(pid);
  const kernelAfter = kernelSlabKib();
  await sleep(allOpen + holdMs - performance.now());
  const end = memory(pid);
  stopping = true;
  for (const socket of sockets) socket.close();

  const connected = sockets.length;
  const per = (b, a) => (a - b) / Math.max(connected, 1);
  const report = {
    connections,
    connected,
    failed,
    dropped,
    open_s: openS,
    hold_s: holdMs / 1000,
    rss_before_kib: before.rss_kib,
    rss_after_kib: after.rss_kib,
    rss_end_kib: end.rss_kib,
    anon_before_kib: before.anon_kib,
    anon_after_kib: after.anon_kib,
    kib_per_connection: per(before.rss_kib, after.rss_kib),
    anon_kib_per_connection: per(before.anon_kib, after.anon_kib),
    slab_kib_per_connection:
      kernelBefore === null || kernelAfter === null ? 0 : per(kernelBefore, kernelAfter),
  };
  const summary =
    `${connected} idle socket.io sockets (${failed} failed to open, ${dropped} closed early), ` +
    `opened in ${openS.toFixed(1)} s: server RSS ${before.rss_kib} -> ${after.rss_kib} KiB ` +
    `(${end.rss_kib} KiB after ${holdMs / 1000} s held) = ${report.kib_per_connection.toFixed(2)} KiB ` +
    `per connection (anonymous memory: ${report.anon_kib_per_connection.toFixed(2)} KiB); ` +
    `kernel slab (system-wide, both ends) ${report.slab_kib_per_connection.toFixed(2)} KiB per connection`;
  emit(options.json, summary, report);
}

/** POSTs `body` as JSON to `url` with `agent`; resolves with the status. */
function post(url, agent, body) {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function fanout(options) {
  const url = (options.url || 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const visitors = Number(options.visitors || 200);
  const rate = Number(options.rate || 1000);
  const durationMs = parseDuration(options.duration || '20s');
  const warmupMs = parseDuration(options.warmup || '2s');
  const clients = Number(options.clients || 64);
  const concurrency = Number(options.concurrency || 64);
  if (!(rate > 0)) fail('--rate must be more than 0');

  const warmupCount = Math.round((warmupMs / 1000) * rate);
  const total = warmupCount + Math.round((durationMs / 1000) * rate);
  const sentAt = new Float64Array(total); // ms (performance.now), 0: not yet
  const arrivedAt = new Float64Array(total);
  const postMs = new Float64Array(total).fill(-1); // -1: failed or not yet

  console.error(`opening ${visitors} sockets...`);
  const sockets = new Array(visitors);
  let dropped = 0;
  let stopping = false;
  await pool(visitors, concurrency, async (index) => {
    const socket = await open(url, source(index));
    socket.on('activity', (frame) => {
      const now = performance.now();
      const body = frame && frame.kind === 'message' && frame.data && frame.data.body;
      if (typeof body !== 'string' || !body.startsWith(BODY_PREFIX)) return;
      const i = Number(body.slice(BODY_PREFIX.length));
      if (Number.isInteger(i) && i >= 0 && i < total && arrivedAt[i] === 0) arrivedAt[i] = now;
    });
    socket.on('disconnect', () => {
      if (!stopping) dropped++;
    });
    sockets[index] = socket;
  });

  console.error(`sending ${rate} messages/s: ${warmupMs} ms warmup, then ${durationMs} ms measured...`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const sendUrl = `${url}/send`;
  const period = 1000 / rate;
  const start = performance.now() + 100;
  let next = 0;
  let inFlight = 0;
  let maxLag = 0;
  let errorsShown = 0;
  await new Promise((done) => {
    let timer = null;
    const pump = () => {
      timer = null;
      const now = performance.now();
      while (next < total && inFlight < clients) {
        const due = start + next * period;
        if (due > now) break;
        maxLag = Math.max(maxLag, now - due);
        const index = next++;
        inFlight++;
        const began = performance.now();
        sentAt[index] = began;
        post(sendUrl, agent, { to: sockets[index % visitors].id, body: `${BODY_PREFIX}${index}` })
          .then(
            (status) => {
              if (status === 201) postMs[index] = performance.now() - began;
              else if (errorsShown++ < SHOW_ERRORS) console.error(`error: POST /send: ${status}`);
            },
            (err) => {
              if (errorsShown++ < SHOW_ERRORS) console.error(`error: POST /send: ${err.message}`);
            },
          )
          .finally(() => {
            inFlight--;
            if (next >= total && inFlight === 0) done();
            else if (timer === null) pump();
          });
      }
      if (next < total && inFlight < clients && timer === null) {
        timer = setTimeout(pump, Math.max(0, start + next * period - performance.now()));
      }
    };
    pump();
  });
  const sendsEnded = performance.now();

  const settled = (i) => arrivedAt[i] !== 0 || postMs[i] < 0;
  const allSettled = () => {
    for (let i = warmupCount; i < total; i++) if (!settled(i)) return false;
    return true;
  };
  while (performance.now() - sendsEnded < LOST_AFTER_MS && !allSettled()) await sleep(20);
  stopping = true;
  for (const socket of sockets) socket.close();
  agent.destroy();

  const latencies = [];
  const posts = [];
  let sent = 0;
  let errors = 0;
  let lost = 0;
  let firstSent = Infinity;
  let lastSent = 0;
  for (let i = warmupCount; i < total; i++) {
    firstSent = Math.min(firstSent, sentAt[i]);
    lastSent = Math.max(lastSent, sentAt[i]);
    if (postMs[i] < 0) {
      errors++;
      continue;
    }
    sent++;
    posts.push(postMs[i]);
    const latency = arrivedAt[i] - sentAt[i];
    if (arrivedAt[i] === 0 || latency > LOST_AFTER_MS) lost++;
    else latencies.push(latency);
  }
  latencies.sort((a, b) => a - b);
  posts.sort((a, b) => a - b);
  const spanS = (lastSent - firstSent) / 1000;
  const achieved = spanS > 0 ? (sent + errors - 1) / spanS : 0;
  const report = {
    visitors,
    rate,
    duration_s: durationMs / 1000,
    sent,
    errors,
    achieved_per_s: achieved,
    received: latencies.length,
    lost,
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
    max_ms: latencies.length ? latencies[latencies.length - 1] : 0,
    post_p50_ms: percentile(posts, 0.5),
    post_p99_ms: percentile(posts, 0.99),
    max_send_lag_ms: maxLag,
    dropped,
  };
  const f = (n) => n.toFixed(2);
  const summary =
    `${visitors} visitors, ${rate}/s asked, ${achieved.toFixed(0)}/s sent for ${durationMs / 1000} s: ` +
    `${sent} sent (${errors} errors), ${latencies.length} delivered, ${lost} lost; ` +
    `delivery p50 ${f(report.p50_ms)} ms, p99 ${f(report.p99_ms)} ms, max ${f(report.max_ms)} ms ` +
    `(POST p50 ${f(report.post_p50_ms)} ms, p99 ${f(report.post_p99_ms)} ms; sends started up to ` +
    `${maxLag.toFixed(1)} ms late; ${dropped} sockets closed early)`;
  emit(options.json, summary, report);
}

const { mode, options } = parseArgs(process.argv.slice(2));
const modes = { idle, fanout };
if (!modes[mode]) fail('usage: node load.js idle|fanout --url URL ... (see the top of load.js)');
modes[mode](options).then(
  () => process.exit(0),
  (err) => fail(err.stack || err.message),
);
