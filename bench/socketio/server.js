'use strict';
// The socket.io 4 peer of Rapport's live delivery, for bench/live.sh.
//
// An HTTP server on 127.0.0.1:PORT with a socket.io server on it (default
// settings, except the WebSocket transport only: Rapport's widget speaks
// WebSocket and nothing else) and one more route, `POST /send` with
// `{"to": SOCKET_ID, "body": TEXT}`: it emits one `activity` event, shaped
// like Rapport's widget frame, to that socket's own room and answers 201.
// That is the equivalent of Rapport's per-contact delivery, without the
// database: nothing is stored, so this is the ceiling of a relay, not a
// like-for-like durable write.
//
// Usage: node server.js [--port PORT]  (0 or none: any free port)
// Prints one JSON line, {"pid", "port"}, once it listens.

const http = require('node:http');
const { Server } = require('socket.io');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const port = Number(option('--port', '0'));

const httpServer = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/send') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let message;
    try {
      message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (typeof message.to !== 'string' || typeof message.body !== 'string') {
      res.writeHead(422).end();
      return;
    }
    io.to(message.to).emit('activity', {
      type: 'activity',
      kind: 'message',
      data: { body: message.body },
    });
    res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
  });
});

const io = new Server(httpServer, { transports: ['websocket'] });

httpServer.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ pid: process.pid, port: httpServer.address().port }));
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
