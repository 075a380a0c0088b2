'use strict';
// End-to-end checks of /ws/{room} with the npm `ws` client (not written here)
// and, for frames `ws` will not send, a raw TCP socket.
// Port from E2E_PORT; E2E_KIND is ringchat or node-ws (the peer). Prints a
// PASS, FAIL or SKIP line per check; exits 1 if any failed.

const crypto = require('crypto');
const net = require('net');
const WebSocket = require('ws');
const lib = require('./testlib');

const PORT = Number(process.env.E2E_PORT);
const KIND = process.env.E2E_KIND || 'ringchat';
const DEADLINE_MS = 10000;
const suite = lib.checks('node-ws');
const { report } = suite;

function roomUrl(prefix) {
  return `ws://127.0.0.1:${PORT}/ws/${lib.newName(prefix)}`;
}

const withDeadline = (promise, what) => lib.withDeadline(promise, what, DEADLINE_MS);

// A ws client with a queue of received messages and a close promise.
function open(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const inbox = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const m = isBinary ? Buffer.from(data) : data.toString('utf8');
    const w = waiters.shift();
    if (w) w(m); else inbox.push(m);
  });
  ws.on('error', () => {});
  const closed = new Promise((resolve) => ws.on('close', (code, reason) =>
    resolve({ code, reason: reason.toString() })));
  const opened = new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('close', () => reject(new Error('closed before open')));
  });
  const c = {
    ws, closed,
    recv: () => withDeadline(inbox.length ? Promise.resolve(inbox.shift())
      : new Promise((r) => waiters.push(r)), 'recv'),
  };
  return withDeadline(opened, `open ${url}`).then(() => c);
}

async function recvUntil(c, wanted) {
  for (;;) if ((await c.recv()) === wanted) return;
}

// B joins and hears its own marker, then A does, then B hears A's marker:
// both are members for certain, without sleeping.
async function joinPair(url) {
  const b = await open(url);
  b.ws.send('ready-b');
  await recvUntil(b, 'ready-b');
  const a = await open(url);
  a.ws.send('ready-a');
  await recvUntil(a, 'ready-a');
  await recvUntil(b, 'ready-a');
  return [a, b];
}

const show = (m) => (Buffer.isBuffer(m) ? `bin:${m.toString('hex')}` : `txt:${m}`);
const tagOf = (m) => (Buffer.isBuffer(m) ? m.toString('latin1', 0, 1) : m[0]);

async function testTwoClientsChat() {
  const [a, b] = await joinPair(roomUrl('node-chat'));
  const sentA = ['a0 hi', Buffer.from('a1\x00\xff'), 'a2 \u00e9\u{1F600}'];
  const sentB = [Buffer.from('b0\x01'), 'b1 text', Buffer.from('b2 bin')];
  for (let i = 0; i < 3; i++) { a.ws.send(sentA[i]); b.ws.send(sentB[i]); }
  const gotA = []; const gotB = [];
  for (let i = 0; i < 6; i++) gotA.push(await a.recv());
  for (let i = 0; i < 6; i++) gotB.push(await b.recv());
  const seq = (got, tag) => got.filter((m) => tagOf(m) === tag).map(show).join(',');
  const want = (sent) => sent.map(show).join(',');
  report('two clients each receive the other\'s messages in order (text and binary kept)',
    seq(gotA, 'b') === want(sentB) && seq(gotB, 'a') === want(sentA),
    `a got ${gotA.map(show)}, b got ${gotB.map(show)}`);
  report('the sender gets its own messages back in order',
    seq(gotA, 'a') === want(sentA) && seq(gotB, 'b') === want(sentB),
    `a got ${gotA.map(show)}, b got ${gotB.map(show)}`);
  a.ws.close(1000, 'bye');
  const { code } = await withDeadline(a.closed, 'close');
  report('clean close: server echoes close code 1000', code === 1000, `code ${code}`);
  b.ws.close(1000);
  await withDeadline(b.closed, 'close');
}

async function testFragmented() {
  const c = await open(roomUrl('node-frag'));
  c.ws.send('frag-', { fin: false });
  c.ws.send('ment-', { fin: false });
  c.ws.send('ed', { fin: true });
  const text = await c.recv();
  report('a fragmented text message arrives reassembled', text === 'frag-ment-ed', show(text));

  c.ws.send(Buffer.from([1, 2]), { binary: true, fin: false });
  c.ws.send(Buffer.from([3]), { binary: true, fin: true });
  const bin = await c.recv();
  report('a fragmented binary message arrives reassembled and binary',
    Buffer.isBuffer(bin) && bin.equals(Buffer.from([1, 2, 3])), show(bin));

  const pong = new Promise((r) => c.ws.once('pong', (d) => r(d.toString())));
  c.ws.send('before-', { fin: false });
  c.ws.ping('mid');
  c.ws.send('after', { fin: true });
  const [p, m] = await Promise.all([withDeadline(pong, 'pong'), c.recv()]);
  report('a ping between fragments gets its pong and the message is intact',
    p === 'mid' && m === 'before-after', `pong ${p}, message ${show(m)}`);

  const euro = Buffer.from('price 10\u20ac!', 'utf8');
  const cut = euro.indexOf(0xe2) + 2;  // inside the three bytes of the euro sign
  c.ws.send(euro.subarray(0, cut), { binary: false, fin: false });
  c.ws.send(euro.subarray(cut), { binary: false, fin: true });
  const e = await c.recv();
  report('UTF-8 split inside a character across fragments is accepted',
    e === 'price 10\u20ac!', show(e));
  c.ws.close(1000);
  await withDeadline(c.closed, 'close');
}

async function expectCloseAfter(name, send, wantCode) {
  const c = await open(roomUrl('node-bad'));
  send(c.ws);
  const { code } = await withDeadline(c.closed, name);
  report(name, code === wantCode, `close code ${code}`);
}

async function testInvalidUtf8() {
  await expectCloseAfter('invalid UTF-8 in a text frame gets close 1007',
    (ws) => ws.send(Buffer.from([0x68, 0x69, 0xc3, 0x28]), { binary: false }), 1007);
  await expectCloseAfter('invalid UTF-8 completed in a later fragment gets close 1007',
    (ws) => { ws.send(Buffer.from([0x61, 0xe2]), { binary: false, fin: false });
      ws.send(Buffer.from([0x28, 0x61]), { binary: false, fin: true }); }, 1007);
}

async function testOversizeMessage() {
  const name = 'a message above --max-message (1 MiB) gets close 1009';
  if (KIND !== 'ringchat') { console.log(`SKIP node-ws: ${name} (ringchat-specific)`); return; }
  await expectCloseAfter(name, (ws) => ws.send(Buffer.alloc(1024 * 1024 + 1, 0x61)), 1009);
}

// Raw socket: performs the handshake, writes `frame`, returns the close code
// from the server's close frame (or -1 if the connection ended without one).
function rawCloseCode(frame) {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const s = net.connect(PORT, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let upgraded = false;
    s.on('error', () => {});
    s.on('connect', () => s.write(`GET /ws/raw-${crypto.randomBytes(4).toString('hex')} HTTP/1.1\r\n` +
      `Host: 127.0.0.1:${PORT}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.toString('latin1', 0, end).startsWith('HTTP/1.1 101')) {
          reject(new Error('no 101')); s.destroy(); return;
        }
        upgraded = true;
        buf = buf.subarray(end + 4);
        s.write(frame);
      }
      // Server frames are unmasked; walk them looking for a close (0x8).
      while (buf.length >= 2) {
        let len = buf[1] & 0x7f; let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf.length < off + len) return;
        if ((buf[0] & 0x0f) === 0x8) { resolve(len >= 2 ? buf.readUInt16BE(off) : 1005); s.destroy(); return; }
        buf = buf.subarray(off + len);
      }
    });
    s.on('close', () => resolve(-1));
  });
}

function maskedFrame(b0, payload) {
  const mask = crypto.randomBytes(4);
  const body = Buffer.from(payload.map((x, i) => x ^ mask[i % 4]));
  return Buffer.concat([Buffer.from([b0, 0x80 | payload.length]), mask, body]);
}

async function testRawProtocolErrors() {
  const cases = [
    ['a raw text frame with invalid UTF-8 gets close 1007', maskedFrame(0x81, [0xff, 0xfe]), 1007],
    ['an unmasked client frame gets close 1002', Buffer.from([0x81, 0x02, 0x68, 0x69]), 1002],
    ['a reserved opcode gets close 1002', maskedFrame(0x83, [0x68]), 1002],
    ['a set RSV1 bit without an extension gets close 1002', maskedFrame(0xc1, [0x68]), 1002],
    ['a fragmented ping gets close 1002', maskedFrame(0x09, [0x68]), 1002],
    ['a continuation frame with nothing to continue gets close 1002', maskedFrame(0x80, [0x68]), 1002],
  ];
  for (const [name, frame, want] of cases) {
    const code = await withDeadline(rawCloseCode(frame), name);
    report(name, code === want, `close code ${code}`);
  }
}

async function main() {
  const tests = [testTwoClientsChat, testFragmented, testInvalidUtf8, testOversizeMessage,
    testRawProtocolErrors];
  for (const t of tests) {
    try {
      await t();
    } catch (e) {
      report(t.name, false, e.message);
    }
  }
  process.exit(suite.failed ? 1 : 0);
}

main();
