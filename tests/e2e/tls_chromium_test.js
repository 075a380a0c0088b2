'use strict';
// Reads what tls_page.html, loaded in a headless Chromium that tls_clients.sh
// started, received from ringchat's TLS port: the page writes it into
// <pre id=result> and sets document.title to "done" or "failed"; this polls
// the DOM over the DevTools protocol (npm `ws`, as chat_chromium_test.js
// does) until then, checks it, and closes the browser (Browser.close).
//   E2E_PAGE_URL      the page's URL as loaded
//   E2E_CHROME_DIR    Chromium's --user-data-dir (it writes DevToolsActivePort there)
// Prints a PASS or FAIL line per check; exits 1 if any failed.

const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');

const PAGE_URL = process.env.E2E_PAGE_URL;
const CHROME_DIR = process.env.E2E_CHROME_DIR;
const DEADLINE_MS = 20000;
let failed = 0;

function report(name, ok, why) {
  if (!ok) failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} chromium: ${name}${ok ? '' : `: ${why}`}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const show = (v) => { const s = JSON.stringify(v); return s.length > 600 ? `${s.slice(0, 600)}...` : s; };

// Polls `f` every 100 ms until it returns a truthy value or `ms` pass.
async function poll(f, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    let v;
    try { v = await f(); } catch (e) { v = undefined; }
    if (v) return v;
    if (Date.now() > end) throw new Error(`deadline: ${what}`);
    await sleep(100);
  }
}

// A DevTools protocol connection: call(method, params) -> result.
function cdp(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let next = 1;
    const pending = new Map();
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(new Error(JSON.stringify(m.error))); else p.resolve(m.result);
    });
    ws.on('error', reject);
    ws.on('close', () => { for (const p of pending.values()) p.reject(new Error('CDP closed')); });
    ws.once('open', () => resolve({
      ws,
      call: (method, params = {}) => new Promise((res, rej) => {
        const id = next++;
        pending.set(id, { resolve: res, reject: rej });
        ws.send(JSON.stringify({ id, method, params }));
        setTimeout(() => { if (pending.delete(id)) rej(new Error(`CDP ${method}: no answer`)); }, 5000);
      }),
    }));
  });
}

async function main() {
  const started = Date.now();
  const portFile = path.join(CHROME_DIR, 'DevToolsActivePort');
  const [devPort, browserPath] = await poll(() => {
    const lines = fs.readFileSync(portFile, 'utf8').split('\n');
    return lines.length >= 2 && lines[1] ? lines : null;
  }, 15000, 'Chromium writes DevToolsActivePort');
  const target = await poll(async () => {
    const r = await fetch(`http://127.0.0.1:${devPort}/json/list`);
    return (await r.json()).find((t) => t.type === 'page' && t.url === PAGE_URL);
  }, 10000, 'the page target');
  const page = await cdp(target.webSocketDebuggerUrl);
  const expr = `JSON.stringify({ title: document.title,
    result: (document.getElementById('result') || {}).textContent || '' })`;
  const dom = await poll(async () => {
    const r = await page.call('Runtime.evaluate', { expression: expr, returnByValue: true });
    const v = JSON.parse(r.result.value);
    return v.title === 'done' || v.title === 'failed' ? v : null;
  }, DEADLINE_MS, 'the page to finish (title done/failed)');
  page.ws.close();

  let res = {};
  try { res = JSON.parse(dom.result); } catch (e) { res = { ok: false, why: `bad result ${dom.result}` }; }
  const ev = res.events || [];
  report(`the page finished within the deadline (${Date.now() - started} ms), its WebSocket on ` +
    `wss:// and its EventSource on https://`, dom.title === 'done' && res.ok === true &&
    /^wss:\/\/127\.0\.0\.1:\d+\/ws$/.test(res.wsUrl) && /^https:\/\/127\.0\.0\.1:\d+\/sse\//.test(res.esUrl),
    `${dom.title}: ${res.why} ${res.wsUrl} ${res.esUrl} ${show(ev)}`);

  const wsEv = ev.filter((e) => e.via === 'ws');
  const joined = wsEv.find((e) => e.type === 'joined');
  const msg = wsEv.find((e) => e.type === 'msg');
  const ack = wsEv.find((e) => e.type === 'ack');
  const want = { text: 'over TLS from chromium \u00e9\u{1F512}' };
  report('the browser\'s wss:// WebSocket on /ws: joined j1, its own msg back with the same data, ' +
    'then ack p1 with that seq', joined && joined.id === 'j1' && msg &&
    JSON.stringify(msg.data) === JSON.stringify(want) && msg.seq === joined.seq + 1 &&
    ack && ack.id === 'p1' && ack.seq === msg.seq && wsEv.indexOf(msg) < wsEv.indexOf(ack),
    show(wsEv));

  const sseEv = ev.filter((e) => e.via === 'sse');
  const sj = sseEv.find((e) => e.type === 'joined');
  const sm = sseEv.find((e) => e.type === 'message');
  report('the browser\'s https:// EventSource got joined, then that message with id EPOCH:SEQ',
    sj && sm && msg && joined && sj.data.epoch === joined.epoch &&
    sm.lastEventId === `${joined.epoch}:${msg.seq}` &&
    JSON.stringify(JSON.parse(sm.data)) === JSON.stringify(want) &&
    sseEv.indexOf(sj) < sseEv.indexOf(sm), show(sseEv));

  try {
    const browser = await cdp(`ws://127.0.0.1:${devPort}${browserPath}`);
    await browser.call('Browser.close').catch(() => {});
  } catch (e) { /* the runner kills it */ }
}

main().catch((e) => report('the page ran and could be read', false, e.message))
  .finally(() => process.exit(failed ? 1 : 0));
