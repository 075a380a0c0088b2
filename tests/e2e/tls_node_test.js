'use strict';
// End-to-end checks of the TLS port with npm `ws` (wss://, the `ca` option)
// and npm `eventsource` (https://), clients not written here, on a server run
// by tls_clients.sh.
//   E2E_TLS_PORT         the server's TLS port
//   E2E_CA               the server's self-signed certificate (PEM)
//   E2E_OTHER_CA         another self-signed certificate, which did not sign it
//   NODE_EXTRA_CA_CERTS  = E2E_CA: eventsource fetches with Node's fetch,
//                        which takes no CA option; Node adds this file to
//                        its default roots at startup
// Prints a PASS or FAIL line per check; exits 1 if any failed. Every wait
// has a deadline.

const crypto = require('crypto');
const fs = require('fs');
const { EventSource } = require('eventsource');
const WebSocket = require('ws');
const lib = require('./testlib');

const PORT = Number(process.env.E2E_TLS_PORT);
const CA = fs.readFileSync(process.env.E2E_CA);
const OTHER_CA = fs.readFileSync(process.env.E2E_OTHER_CA);
const DEADLINE_MS = 10000;
const suite = lib.checks('node');
const { report } = suite;
const { show } = lib;

const withDeadline = (promise, what) => lib.withDeadline(promise, what, DEADLINE_MS);

// Collects items; next(n) resolves with the first n (within the deadline).
class Inbox {
  constructor() { this.items = []; this.wake = () => {}; }
  push(x) { this.items.push(x); this.wake(); }
  next(n, what) {
    return withDeadline(new Promise((resolve) => {
      const check = () => { if (this.items.length >= n) resolve(this.items.slice(0, n)); };
      this.wake = check;
      check();
    }), what);
  }
}

// A wss:// raw room socket trusting `ca` alone; resolves once open.
function socket(path, ca) {
  const ws = new WebSocket(`wss://127.0.0.1:${PORT}${path}`, { ca, perMessageDeflate: false });
  const inbox = new Inbox();
  ws.on('message', (data, isBinary) => inbox.push(isBinary ? { binary: Buffer.from(data).toString('hex') }
    : { text: data.toString('utf8') }));
  ws.on('error', () => {});  // before open it rejects `opened`; after, messages go missing
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return withDeadline(opened, `open ${path}`).then(() => ({ ws, inbox }));
}

async function refusedWithOtherCa(room) {
  const name = 'ws with `ca` set to another certificate refuses the server (no verified handshake)';
  try {
    const c = await socket(`/ws/${room}`, OTHER_CA);
    c.ws.terminate();
    report(name, false, 'it opened');
  } catch (e) {
    report(name, /certificate|self[- ]signed|verify/i.test(`${e.code} ${e.message}`), `${e.code}: ${e.message}`);
  }
}

async function main() {
  const room = lib.newName('tls-node');
  await refusedWithOtherCa(room);

  // The EventSource first: once it has `joined` it is in the room.
  const es = new EventSource(`https://127.0.0.1:${PORT}/sse/${room}`);
  const events = new Inbox();
  const errors = [];
  for (const type of ['joined', 'message', 'binary']) {
    es.addEventListener(type, (ev) => events.push({ type, id: ev.lastEventId, data: ev.data }));
  }
  es.addEventListener('error', (ev) => errors.push(ev.message || 'error'));
  try {
    const [joined] = await events.next(1, 'SSE joined').catch((e) => {
      throw new Error(`${e.message}; EventSource errors: ${show(errors)}`);
    });
    const j = JSON.parse(joined.data);
    report('eventsource over https:// (NODE_EXTRA_CA_CERTS) gets joined with id EPOCH:SEQ',
      joined.type === 'joined' && /^[0-9a-f]{16}$/.test(j.epoch) && joined.id === `${j.epoch}:${j.seq}`,
      `${show(joined)} errors ${show(errors)}`);

    const c = await socket(`/ws/${room}`, CA);
    report('ws over wss:// with `ca` opens /ws/{room}', true);
    const big = crypto.randomBytes(64 * 1024);
    const sent = [{ text: 'hello from node ws \u00e9\u{1F600}' }, { binary: big.toString('hex') },
      { text: 'second' }];
    c.ws.send(sent[0].text);
    c.ws.send(big);
    c.ws.send(sent[2].text);
    const back = await c.inbox.next(3, 'the echoes');
    report('ws gets its 3 messages back (text, 64 KB binary, text) intact and in order',
      JSON.stringify(back) === JSON.stringify(sent), show(back));

    const got = await events.next(4, 'three SSE events after joined');
    const want = [
      { type: 'message', id: `${j.epoch}:${j.seq + 1}`, data: sent[0].text },
      { type: 'binary', id: `${j.epoch}:${j.seq + 2}`, data: big.toString('base64') },
      { type: 'message', id: `${j.epoch}:${j.seq + 3}`, data: 'second' },
    ];
    report('eventsource gets the same 3 messages (binary as base64), ids EPOCH:SEQ in order',
      JSON.stringify(got.slice(1)) === JSON.stringify(want), show(got.slice(1)));
    c.ws.close(1000);
  } finally {
    es.close();
  }
}

suite.run(main, 'the checks ran to the end');
