'use strict';
// Socket.IO with its Redis adapter: the scale-out users would pick instead
// of ringchat's cluster mode (bench/cluster.sh runs two of these processes
// on one redis-server, next to two ringchat nodes).
//
// Fairness: no deliberate slowness; Socket.IO 4 defaults (per-message
// deflate off, as ringchat) but no HTTP long-polling client is served; the
// Redis adapter (`@socket.io/redis-adapter`, node-redis 4 clients) as its
// README sets it up. A client joins a room by a query parameter and every
// `pub` event it emits goes to the whole room, the sender included (as
// ringchat echoes), as `m` events.
//
//   GET /healthz                                      -> 200 "ok"
//   GET /socket.io/?EIO=4&transport=websocket&room=R  -> Engine.IO 4 WebSocket;
//       after the namespace connect (`40`) the socket is in room R
//   client `42["pub",DATA]`  -> every member of R gets `42["m",DATA]`
//
// Flags: --port N (default 3000), --bind ADDR (default 127.0.0.1),
// --redis URL (default redis://127.0.0.1:6379; "none": no adapter, one node).
// SIGTERM/SIGINT: close everything, exit 0.

const http = require('http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

const kRoomName = /^[A-Za-z0-9._:@-]{1,200}$/;

function usage(msg) {
  process.stderr.write(`socketio peer: ${msg}\n` +
    'usage: node server.js [--port N] [--bind ADDR] [--redis URL|none]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 3000, bind: '127.0.0.1', redis: 'redis://127.0.0.1:6379' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port' || a === '--bind' || a === '--redis') {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      opts[a.slice(2)] = argv[++i];
    } else {
      usage(`unknown argument '${a}'`);
    }
  }
  opts.port = Number(opts.port);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('bad --port');
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const httpServer = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    // /socket.io/ requests are Socket.IO's (it answers them before this
    // handler); anything else:
    res.writeHead(404);
    res.end();
  });
  const io = new Server(httpServer, { serveClient: false, transports: ['websocket'] });
  let clients = [];
  if (opts.redis !== 'none') {
    const pub = createClient({ url: opts.redis });
    const sub = pub.duplicate();
    for (const c of [pub, sub]) c.on('error', (e) => process.stderr.write(`redis: ${e.message}\n`));
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub));
    clients = [pub, sub];
  }
  io.on('connection', (socket) => {
    const room = String(socket.handshake.query.room || '');
    if (!kRoomName.test(room)) {
      socket.disconnect(true);
      return;
    }
    socket.join(room);
    socket.on('pub', (data) => io.to(room).emit('m', data));
  });
  httpServer.listen(opts.port, opts.bind, () => {
    process.stdout.write(`socketio peer listening on ${opts.bind}:${httpServer.address().port}` +
      ` (redis ${opts.redis})\n`);
  });
  const stop = () => {
    io.close();
    for (const c of clients) c.disconnect().catch(() => {});
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`socketio peer: ${e.stack || e}\n`);
  process.exit(1);
});
