'use strict';
// End-to-end checks of GET /sse/{room} with the npm `eventsource` client, and
// of one room's single order across transports: HTTP POST (Node's fetch), a
// raw room socket (npm `ws` on /ws/{room}) and a JSON socket (npm `ws` on
// /ws). None of these clients was written here. Port from E2E_PORT. Prints a
// PASS or FAIL line per check; exits 1 if any failed. Every wait has a
// deadline; a room's events arrive in seq order, so a later event is a
// barrier for the earlier ones.

const { EventSource } = require('eventsource');
const WebSocket = require('ws');
const lib = require('./testlib');

const PORT = Number(process.env.E2E_PORT);
const BASE = `http://127.0.0.1:${PORT}`;
const DEADLINE_MS = 10000;
const suite = lib.checks('sse');
const { report } = suite;
const { show } = lib;
const newRoom = (prefix) => lib.newName(prefix);
const withDeadline = (promise, what) => lib.withDeadline(promise, what, DEADLINE_MS);

// An EventSource whose events (joined, message, binary, error) land in an
// inbox as {type, id, data}. `lastEventId` sets the Last-Event-ID header
// through eventsource's custom fetch (its documented way to add headers).
function sse(path, lastEventId) {
  const init = {};
  if (lastEventId !== undefined) {
    init.fetch = (input, opts) => fetch(input, {
      ...opts, headers: { ...opts.headers, 'Last-Event-ID': lastEventId } });
  }
  const es = new EventSource(`${BASE}${path}`, init);
  const inbox = new lib.Inbox(DEADLINE_MS);
  const all = [];
  const add = (type) => (ev) => {
    const e = { type, id: ev.lastEventId, data: ev.data };
    all.push(e);
    inbox.push(e);
  };
  es.addEventListener('joined', add('joined'));
  es.addEventListener('binary', add('binary'));
  es.addEventListener('message', add('message'));
  es.addEventListener('error', (ev) => { all.push({ type: 'error', data: ev.message }); });
  return {
    es, all,
    next: (pred, what) => inbox.wait(pred, what),
    joined: () => inbox.wait((e) => e.type === 'joined', `joined on ${path}`),
    // Message or binary events up to the one with id `lastId`.
    until: async (lastId) => {
      const got = [];
      for (;;) {
        const e = await inbox.wait((x) => x.type !== 'joined', `event ${lastId} on ${path}`);
        got.push(e);
        if (e.id === lastId) return got;
      }
    },
    close: () => es.close(),
  };
}

// A `ws` client; JSON socket messages are parsed, raw ones kept as
// {text} or {binary: Buffer}.
function socket(path, json) {
  const ws = new WebSocket(`ws://127.0.0.1:${PORT}${path}`, { perMessageDeflate: false });
  const inbox = new lib.Inbox(DEADLINE_MS);
  ws.on('message', (data, isBinary) => {
    if (json) inbox.push(JSON.parse(data.toString('utf8')));
    else inbox.push(isBinary ? { binary: Buffer.from(data) } : { text: data.toString('utf8') });
  });
  ws.on('error', () => {});
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('close', () => reject(new Error('closed before open')));
  });
  const c = {
    ws, inbox,
    send: (x) => ws.send(typeof x === 'string' || Buffer.isBuffer(x) ? x : JSON.stringify(x)),
    next: (pred, what) => inbox.wait(pred, what),
    close: () => ws.close(1000),
  };
  return withDeadline(opened, `open ${path}`).then(() => c);
}

async function post(room, body, type) {
  const r = await withDeadline(fetch(`${BASE}/rooms/${room}/messages`, {
    method: 'POST', body, headers: type ? { 'Content-Type': type } : {} }), 'POST');
  const j = await r.json();
  if (r.status !== 201) throw new Error(`POST ${r.status} ${show(j)}`);
  return j;
}

async function getJson(path) {
  const r = await withDeadline(fetch(`${BASE}${path}`), `GET ${path}`);
  return { status: r.status, body: await r.json() };
}

// What a payload says about where it came from: "http-3", "raw-0", ...
function tagOf(s) {
  const m = /(http|raw|json|bin)-\d+/.exec(s);
  return m ? m[0] : `?${s}`;
}

async function testOneOrder() {
  const room = newRoom('node-sse');
  const es = sse(`/sse/${room}`);
  const joined = await es.joined();
  const jd = JSON.parse(joined.data);
  const epoch = jd.epoch;
  report('EventSource gets `joined` (addEventListener) with the room\'s epoch, seq 0, ' +
    'recovered false, and id EPOCH:0',
    /^[0-9a-f]{16}$/.test(epoch) && jd.seq === 0 && jd.recovered === false &&
    joined.id === `${epoch}:0`, show(joined));

  const js = await socket('/ws', true);
  js.send({ type: 'join', room, id: 'jj' });
  const jj = await js.next((m) => m.type === 'joined' || m.type === 'error', 'joined');
  const raw = await socket(`/ws/${room}`, false);
  const pres = await getJson(`/rooms/${room}/presence`);
  report('node ws on /ws: joined the same room and epoch; presence counts the SSE stream, ' +
    'the raw and the JSON socket', jj.type === 'joined' && jj.id === 'jj' && jj.epoch === epoch &&
    pres.body.count === 3, `${show(jj)} / ${show(pres.body)}`);

  // Three publishers at once, each in its own order.
  const rounds = 10;
  const httpLoop = (async () => {
    for (let i = 0; i < rounds; i++) await post(room, `http-${i}`, 'text/plain; charset=utf-8');
  })();
  for (let i = 0; i < rounds; i++) {
    raw.send(`raw-${i}`);
    js.send({ type: 'pub', room, data: { tag: `json-${i}`, i }, id: i });
  }
  await httpLoop;
  const acks = [];
  for (let i = 0; i < rounds; i++) {
    acks.push(await js.next((m) => m.type === 'ack' && m.id === i, `ack ${i}`));
  }
  const n = 3 * rounds;
  const evs = await es.until(`${epoch}:${n}`);
  const msgs = [];
  while (msgs.length < n) msgs.push(await js.next((m) => m.type === 'msg', `msg ${msgs.length + 1}`));
  const frames = [];
  while (frames.length < n) frames.push(await raw.next(() => true, `raw frame ${frames.length + 1}`));

  const sseTags = evs.map((e) => tagOf(e.data));
  const jsonTags = msgs.map((m) => tagOf(typeof m.data === 'string' ? m.data : JSON.stringify(m.data)));
  const rawTags = frames.map((f) => tagOf(f.text));
  report('SSE events have ids EPOCH:1..EPOCH:30, in order',
    evs.map((e) => e.id).join() === Array.from({ length: n }, (_, i) => `${epoch}:${i + 1}`).join(),
    show(evs.map((e) => e.id)));
  report('the SSE stream, the JSON socket and the raw socket see one order',
    sseTags.join() === jsonTags.join() && sseTags.join() === rawTags.join() &&
    msgs.map((m) => m.seq).join() === Array.from({ length: n }, (_, i) => i + 1).join(),
    `sse ${sseTags}, json ${jsonTags}, raw ${rawTags}`);
  const inOrder = (kind) => sseTags.filter((t) => t.startsWith(kind)).join() ===
    Array.from({ length: rounds }, (_, i) => `${kind}-${i}`).join();
  report('each publisher\'s messages (HTTP, raw, JSON) are in the order it sent them',
    inOrder('http') && inOrder('raw') && inOrder('json'), show(sseTags));
  const seqOf = new Map(msgs.map((m) => [tagOf(JSON.stringify(m.data)), m.seq]));
  report('node ws on /ws: every pub gets ack {id, seq} with the seq of its msg',
    acks.every((a, i) => a.seq === seqOf.get(`json-${i}`)), show(acks));
  report('SSE carries a JSON socket\'s data as compact JSON text',
    evs.filter((e) => e.data.includes('json-')).every((e, i) => e.data === `{"tag":"json-${i}","i":${i}}`),
    show(evs.filter((e) => e.data.includes('json-')).slice(0, 2)));

  // Payload shapes, one at a time.
  const bin = Buffer.from([0x62, 0x69, 0x6e, 0x00, 0xff, 0x0a, 0x0d, 0x80]);
  raw.send(bin);
  const eb = await es.next((e) => e.type !== 'joined', 'binary event');
  const mb = await js.next((m) => m.type === 'msg', 'binary msg');
  report('a binary message arrives on SSE as event `binary` with base64 data and its id',
    eb.type === 'binary' && eb.data === bin.toString('base64') && eb.id === `${epoch}:${n + 1}` &&
    mb.data_base64 === bin.toString('base64') && mb.data === undefined, `${show(eb)} / ${show(mb)}`);

  const hb = await post(room, Buffer.from([0xc3, 0x28, 0x01]), 'application/octet-stream');
  const eh = await es.next((e) => e.type !== 'joined', 'HTTP binary event');
  report('an HTTP POST that is not UTF-8 arrives as event `binary`',
    eh.type === 'binary' && Buffer.from(eh.data, 'base64').equals(Buffer.from([0xc3, 0x28, 0x01])) &&
    eh.id === `${epoch}:${hb.seq}`, show(eh));

  await post(room, 'one\ntwo\r\nthree\rfour\n', 'text/plain');
  const el = await es.next((e) => e.type !== 'joined', 'multi-line event');
  report('a text payload with LF, CRLF and CR comes out of EventSource with LF only',
    el.type === 'message' && el.data === 'one\ntwo\nthree\nfour\n', show(el));

  await post(room, '{ "a" : [ true , null , 1.50 , "x\\u0041" ] }', 'application/json');
  const ej = await es.next((e) => e.type !== 'joined', 'JSON event');
  const mj = await js.next((m) => m.type === 'msg' && m.seq === n + 4, 'JSON msg');
  report('an HTTP POST of application/json arrives on SSE as compact JSON and on /ws as data',
    ej.data === '{"a":[true,null,1.5,"xA"]}' &&
    JSON.stringify(mj.data) === JSON.stringify({ a: [true, null, 1.5, 'xA'] }),
    `${show(ej)} / ${show(mj)}`);

  report('no error event on the stream', !es.all.some((e) => e.type === 'error'), show(es.all));
  es.close();
  js.close();
  raw.close();
}

async function testResume() {
  const room = newRoom('node-resume');
  const es1 = sse(`/sse/${room}`);
  const j1 = await es1.joined();
  const epoch = JSON.parse(j1.data).epoch;
  for (let i = 1; i <= 3; i++) await post(room, `m${i}`, 'text/plain');
  const first = await es1.until(`${epoch}:3`);
  es1.close();
  for (let i = 4; i <= 7; i++) await post(room, `m${i}`, 'text/plain');

  const es2 = sse(`/sse/${room}`, first[2].id);
  const j2 = await es2.joined();
  const jd2 = JSON.parse(j2.data);
  const missed = await es2.until(`${epoch}:7`);
  await post(room, 'm8', 'text/plain');
  const live = await es2.until(`${epoch}:8`);
  report('a new EventSource with a Last-Event-ID header: joined recovered true, then exactly ' +
    'the missed events 4-7, then live ones', jd2.recovered === true && jd2.epoch === epoch &&
    jd2.seq === 7 && first.map((e) => e.data).join() === 'm1,m2,m3' &&
    missed.concat(live).map((e) => `${e.id}=${e.data}`).join() ===
    [4, 5, 6, 7, 8].map((i) => `${epoch}:${i}=m${i}`).join(), `${show(j2)} then ${show(missed.concat(live))}`);
  es2.close();

  const es3 = sse(`/sse/${room}?lastEventId=${epoch}:5`);
  const jd3 = JSON.parse((await es3.joined()).data);
  const got3 = await es3.until(`${epoch}:8`);
  await post(room, 'm9', 'text/plain');
  got3.push(...await es3.until(`${epoch}:9`));
  report('?lastEventId=EPOCH:5 on a first connect resumes the same way (6-8, then 9)',
    jd3.recovered === true && got3.map((e) => e.data).join() === 'm6,m7,m8,m9', `${show(jd3)} ${show(got3)}`);
  es3.close();

  const es4 = sse(`/sse/${room}`, 'not-a-position');
  const j4 = await es4.joined();
  const jd4 = JSON.parse(j4.data);
  await post(room, 'm10', 'text/plain');
  const got4 = await es4.until(`${epoch}:10`);
  report('a Last-Event-ID that is not a position starts afresh (no history, then live)',
    jd4.recovered === false && jd4.seq === 9 && j4.id === `${epoch}:9` &&
    got4.map((e) => e.data).join() === 'm10', `${show(j4)} ${show(got4)}`);
  es4.close();

  const wrong = epoch === '0000000000000001' ? '0000000000000002' : '0000000000000001';
  const es5 = sse(`/sse/${room}`, `${wrong}:4`);
  const jd5 = JSON.parse((await es5.joined()).data);
  const got5 = await es5.until(`${epoch}:10`);
  report('a Last-Event-ID of another epoch: recovered false, then what history holds (1-10)',
    jd5.recovered === false && jd5.epoch === epoch &&
    got5.map((e) => e.data).join() === Array.from({ length: 10 }, (_, i) => `m${i + 1}`).join(),
    `${show(jd5)} ${show(got5.map((e) => e.id))}`);
  es5.close();

  const bad = await withDeadline(fetch(`${BASE}/sse/${room}?lastEventId=zz`), 'bad lastEventId');
  const badBody = await bad.json();
  report('a bad ?lastEventId gets 400 {"code":"bad_since"}',
    bad.status === 400 && badBody.code === 'bad_since', `${bad.status} ${show(badBody)}`);
}

async function main() {
  for (const t of [testOneOrder, testResume]) {
    try {
      await t();
    } catch (e) {
      report(t.name, false, e.stack || e.message);
    }
  }
  process.exit(suite.failed ? 1 : 0);
}

main();
