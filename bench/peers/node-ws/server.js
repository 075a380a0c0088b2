'use strict';
// Reference peer for ringchat: a plain chat server on the npm `ws` package
// with the same /ws/{room} semantics as ringchat (../../../shared/DESIGN.md,
// "Wire protocols"), used by the side-by-side benchmarks and the e2e tests.
//
// Fairness: no deliberate slowness. `ws` defaults except perMessageDeflate
// off (ringchat does not compress either); a message is broadcast by handing
// the same received buffer to every member's send().
//
//   GET /healthz            -> 200 "ok"
//   GET /ws/<room> Upgrade  -> WebSocket joined to <room>
//   GET /ws/<room> no Upgrade -> 426 with Sec-WebSocket-Version: 13
//   bad room name           -> 400
//   anything else           -> 404
//
// Flags: --port N (default 8080), --bind ADDR (default 0.0.0.0), --no-echo.
// SIGTERM/SIGINT: stop accepting, close sockets with 1001, exit 0.

const http = require('http');
const { WebSocketServer } = require('ws');

const kRoomName = /^[A-Za-z0-9._:@-]{1,200}$/;

function usage(msg) {
  process.stderr.write(`node-ws peer: ${msg}\n` +
    'usage: node server.js [--port N] [--bind ADDR] [--no-echo]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 8080, bind: '0.0.0.0', echo: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-echo') {
      opts.echo = false;
    } else if (a === '--port' || a === '--bind') {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      opts[a.slice(2)] = argv[++i];
    } else if (a.startsWith('--port=') || a.startsWith('--bind=')) {
      opts[a.slice(2, 6)] = a.slice(7);
    } else if (a === '--help' || a === '-h') {
      usage('help');
    } else {
      usage(`unknown argument '${a}'`);
    }
  }
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    usage(`--port must be an integer in 0..65535, got '${opts.port}'`);
  }
  opts.port = port;
  return opts;
}

// Returns the room of a /ws/<room> path, '' for a bad name, null otherwise.
function roomOf(url) {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!path.startsWith('/ws/')) return null;
  const name = path.slice(4);
  return kRoomName.test(name) ? name : '';
}

function reject(socket, status, text, extra) {
  const body = `${text}\n`;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n` +
    `Content-Type: text/plain\r\n${extra || ''}` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const rooms = new Map();  // room name -> Set of WebSocket
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    const room = roomOf(req.url);
    if (room === '') {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('bad room name\n');
    } else if (room !== null) {
      res.writeHead(426, { 'Content-Type': 'text/plain', 'Sec-WebSocket-Version': '13' });
      res.end('upgrade required\n');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    }
  });

  server.on('upgrade', (req, socket, head) => {
    const room = roomOf(req.url);
    if (room === null) return reject(socket, 404, 'Not Found');
    if (room === '') return reject(socket, 400, 'Bad Request');
    wss.handleUpgrade(req, socket, head, (ws) => join(ws, room));
  });

  function join(ws, room) {
    let members = rooms.get(room);
    if (!members) {
      members = new Set();
      rooms.set(room, members);
    }
    members.add(ws);
    ws.on('message', (data, isBinary) => {
      for (const m of members) {
        if (m.readyState !== 1) continue;
        if (m === ws && !opts.echo) continue;
        m.send(data, { binary: isBinary });
      }
    });
    ws.on('close', () => {
      members.delete(ws);
      if (members.size === 0) rooms.delete(room);
    });
    ws.on('error', () => {});
  }

  function shutdown() {
    server.close();
    for (const ws of wss.clients) ws.close(1001, 'server shutting down');
    // Give the close frames one turn to leave, then go; never hang.
    setImmediate(() => {
      for (const ws of wss.clients) ws.terminate();
      process.exit(0);
    });
  }
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  server.on('error', (err) => {
    process.stderr.write(`node-ws peer: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(opts.port, opts.bind, () => {
    const a = server.address();
    process.stdout.write(`node-ws peer listening on ${a.address}:${a.port}\n`);
  });
}

main();
