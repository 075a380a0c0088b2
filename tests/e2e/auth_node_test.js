'use strict';
// End-to-end checks of token auth (docs/SECURITY.md) with npm `ws`, npm
// `eventsource` and Node's fetch, clients not written here, on a server run
// by auth_clients.sh (--jwt-secret-file, --api-key-file, --clock-skew 0).
// Tokens are minted here with node:crypto (HS256) from the secret file.
//   E2E_PORT          the server's port
//   E2E_SECRET_FILE   the HS256 secret, raw bytes
//   E2E_API_KEY_FILE  the API key
// Prints a PASS or FAIL line per check; exits 1 if any failed. Every wait
// has a deadline.

const fs = require('fs');
const { EventSource } = require('eventsource');
const WebSocket = require('ws');
const lib = require('./testlib');

const PORT = Number(process.env.E2E_PORT);
const BASE = `http://127.0.0.1:${PORT}`;
const SECRET = fs.readFileSync(process.env.E2E_SECRET_FILE);
const API_KEY = fs.readFileSync(process.env.E2E_API_KEY_FILE, 'utf8');
const DEADLINE_MS = 5000;
const suite = lib.checks('node');
const { report } = suite;
const { show } = lib;

const newName = (prefix) => lib.newName(prefix, 5);
// An HS256 JWS compact token (RFC 7515) with sub, exp, rooms and pub.
const mint = (sub, rooms, pub, expIn) => lib.mint(SECRET, sub, rooms, pub, expIn);
const withDeadline = (promise, what, ms = DEADLINE_MS) => lib.withDeadline(promise, what, ms);

// A JSON socket on /ws (`opts` and `protocols` as npm ws takes them).
// Resolves once open; rejects with {status, body} when the handshake is
// refused (ws's 'unexpected-response' gives the response to read).
function socket(path, protocols, opts = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${PORT}${path}`, protocols,
    { perMessageDeflate: false, ...opts });
  const inbox = new lib.Inbox(DEADLINE_MS);
  ws.on('message', (data) => inbox.push(JSON.parse(data.toString('utf8'))));
  ws.on('error', () => {});
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        let j;
        try { j = JSON.parse(body); } catch (e) { j = { unparsed: body }; }
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body: j }));
      });
    });
    ws.once('close', () => reject(new Error('closed before open')));
  });
  const c = {
    ws,
    op: (o) => { ws.send(JSON.stringify(o)); return inbox.wait((m) => m.id === o.id, `answer to ${o.type}`); },
    next: (pred, what) => inbox.wait(pred, what),
    close: () => ws.close(1000),
  };
  return withDeadline(opened, `open ${path}`).then(() => c);
}

// An EventSource whose events land in an inbox as {type, id, data, code}.
function sse(path) {
  const es = new EventSource(`${BASE}${path}`);
  const inbox = new lib.Inbox(DEADLINE_MS);
  const add = (type) => (ev) => inbox.push({ type, id: ev.lastEventId, data: ev.data, code: ev.code });
  es.addEventListener('joined', add('joined'));
  es.addEventListener('message', add('message'));
  es.addEventListener('error', add('error'));
  return { es, next: (pred, what, ms) => inbox.wait(pred, what, ms), close: () => es.close() };
}

async function post(room, body, auth) {
  const r = await withDeadline(fetch(`${BASE}/rooms/${room}/messages`, {
    method: 'POST', body, headers: { 'Content-Type': 'application/json',
      ...(auth ? { Authorization: `Bearer ${auth}` } : {}) } }), 'POST');
  let j;
  try { j = await r.json(); } catch (e) { j = {}; }
  return { status: r.status, body: j };
}

async function testTokenPlaces() {
  const sub = newName('erin');
  const room = newName('authnode');
  const tok = mint(sub, ['authnode-*'], ['authnode-*']);
  const places = [
    ['Authorization: Bearer', '/ws', undefined, { headers: { Authorization: `Bearer ${tok}` } }],
    ['?token=', `/ws?token=${encodeURIComponent(tok)}`, undefined, {}],
    ['Sec-WebSocket-Protocol [ringchat, bearer.<jwt>]', '/ws', ['ringchat', `bearer.${tok}`], {}],
  ];
  for (const [i, [where, path, protocols, opts]] of places.entries()) {
    try {
      const c = await socket(path, protocols, opts);
      const j = await c.op({ type: 'join', room, id: `j${i}` });
      const a = await c.op({ type: 'pub', room, data: { n: i }, id: `p${i}` });
      const m = await c.next((x) => x.type === 'msg' && x.seq === a.seq, 'own msg');
      const protoOk = !protocols || c.ws.protocol === 'ringchat';
      report(`ws, token in ${where}: join and pub work, msg.from is the sub` +
        (protocols ? ', negotiated protocol is ringchat' : ''),
      j.type === 'joined' && a.type === 'ack' && m.from === sub && protoOk,
      `${show(j)} ${show(a)} ${show(m)} protocol=${c.ws.protocol}`);
      c.close();
    } catch (e) {
      report(`ws, token in ${where}`, false, `${e.message} ${show(e.body)}`);
    }
  }
  try {
    const c = await socket('/ws');
    c.close();
    report('ws without a token is refused: 401 missing_token', false, 'it opened');
  } catch (e) {
    report('ws without a token is refused: 401 missing_token',
      e.status === 401 && e.body && e.body.code === 'missing_token', `${e.message} ${show(e.body)}`);
  }
}

async function testSseAndHttp() {
  const sub = newName('frank');
  const room = newName('authnode');
  const reader = mint(sub, ['authnode-*'], []);
  const es = sse(`/sse/${room}?token=${encodeURIComponent(reader)}`);
  try {
    const joined = await es.next((e) => e.type === 'joined' || e.type === 'error', 'SSE joined');
    const posted = await post(room, JSON.stringify({ via: 'api key' }), API_KEY);
    const ev = posted.status === 201 ? await es.next((e) => e.type === 'message', 'the message') : {};
    report('HTTP publish with the API key (fetch, Authorization: Bearer KEY): 201', posted.status === 201 &&
      posted.body.room === room && posted.body.seq === 1, `${posted.status} ${show(posted.body)}`);
    report('eventsource with ?token= joins the room and gets the API key\'s message',
      joined.type === 'joined' && ev.data === '{"via":"api key"}' &&
      ev.id === `${posted.body.epoch}:${posted.body.seq}`, `${show(joined)} ${show(ev)}`);

    const refused = await post(room, '"no"', reader);
    report('HTTP publish with a user token whose `pub` does not grant the room: 403 forbidden',
      refused.status === 403 && refused.body.code === 'forbidden', `${refused.status} ${show(refused.body)}`);
    const none = await post(room, '"no"', undefined);
    report('HTTP publish with no credential: 401 missing_token',
      none.status === 401 && none.body.code === 'missing_token', `${none.status} ${show(none.body)}`);
    const wrongKey = await post(room, '"no"', `${API_KEY.slice(0, -1)}${API_KEY.endsWith('0') ? '1' : '0'}`);
    report('HTTP publish with the API key off by one character: 401 invalid_token',
      wrongKey.status === 401 && wrongKey.body.code === 'invalid_token',
      `${wrongKey.status} ${show(wrongKey.body)}`);
  } finally {
    es.close();
  }

  const anon = sse(`/sse/${room}`);
  try {
    const e = await anon.next(() => true, 'an event');
    report('eventsource without a token: an error with code 401 and the source closed',
      e.type === 'error' && e.code === 401 && anon.es.readyState === EventSource.CLOSED,
      `${show(e)} readyState ${anon.es.readyState}`);
  } finally {
    anon.close();
  }
}

// With --clock-skew 0 a stream whose token expires in 2 s ends; eventsource
// reconnects with the same URL and gets 401: the source closes.
async function testSseExpiry() {
  const room = newName('authnode');
  const started = Date.now();
  const es = sse(`/sse/${room}?token=${encodeURIComponent(mint(newName('gina'), ['authnode-*'], [], 2))}`);
  try {
    const joined = await es.next((e) => e.type === 'joined' || e.type === 'error', 'SSE joined');
    const end = await es.next((e) => e.type === 'error' && e.code === 401, 'a 401 after the expiry', 6000);
    const took = (Date.now() - started) / 1000;
    report(`eventsource whose token expires in 2 s: the stream ends and the reconnect gets 401 ` +
      `(after ${took.toFixed(1)} s)`, joined.type === 'joined' && end.code === 401 && took < 6,
    `${show(joined)} ${show(end)}`);
  } finally {
    es.close();
  }
}

async function main() {
  for (const t of [testTokenPlaces, testSseAndHttp, testSseExpiry]) {
    try {
      await withDeadline(t(), t.name, 20000);
    } catch (e) {
      report(t.name, false, e.message);
    }
  }
}

main().finally(() => process.exit(suite.failed ? 1 : 0));
