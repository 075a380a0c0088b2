'use strict';
// Drives a headless Chromium that auth_clients.sh started on about:blank,
// over the DevTools protocol (npm `ws`), as chat_chromium_test.js does: it
// mints a token (node:crypto, HS256), navigates the tab to auth_page.html
// served from an origin in --origins, then from one that is not, reads what
// each page wrote into <pre id=result> once document.title says "done" or
// "failed", checks it, and closes the browser (Browser.close).
//   E2E_PORT          ringchat's port
//   E2E_SECRET_FILE   the HS256 secret, raw bytes
//   E2E_PAGE_PORT     python3 -m http.server's port: an origin in --origins
//   E2E_BAD_PAGE_PORT another one serving the same page: an origin not in it
//   E2E_CHROME_DIR    Chromium's --user-data-dir (it writes DevToolsActivePort there)
// Prints a PASS or FAIL line per check; exits 1 if any failed.

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');

const PORT = Number(process.env.E2E_PORT);
const SECRET = fs.readFileSync(process.env.E2E_SECRET_FILE);
const PAGE_PORT = Number(process.env.E2E_PAGE_PORT);
const BAD_PAGE_PORT = Number(process.env.E2E_BAD_PAGE_PORT);
const CHROME_DIR = process.env.E2E_CHROME_DIR;
const DEADLINE_MS = 15000;
let failed = 0;

function report(name, ok, why) {
  if (!ok) failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} chromium: ${name}${ok ? '' : `: ${why}`}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const show = (v) => { const s = JSON.stringify(v); return s.length > 600 ? `${s.slice(0, 600)}...` : s; };
const b64url = (x) => Buffer.from(x).toString('base64url');

function mint(sub, rooms, pub) {
  const exp = Math.floor(Date.now() / 1000) + 600;
  const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.` +
    `${b64url(JSON.stringify({ sub, exp, rooms, pub }))}`;
  return `${input}.${crypto.createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

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

// ringchat_auth_failures_total{kind="origin"}, summed over shards.
async function originRefusals() {
  const text = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('ringchat_auth_failures_total{') &&
    l.includes('kind="origin"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

// Navigates the tab to the page on `pagePort` and returns {title, res}.
async function runPage(page, pagePort, room, token, expect) {
  const url = `http://127.0.0.1:${pagePort}/auth_page.html?port=${PORT}&room=${room}` +
    `&token=${encodeURIComponent(token)}&expect=${expect}`;
  await page.call('Page.navigate', { url });
  const expr = `JSON.stringify({ href: location.href, title: document.title,
    result: (document.getElementById('result') || {}).textContent || '' })`;
  const dom = await poll(async () => {
    const r = await page.call('Runtime.evaluate', { expression: expr, returnByValue: true });
    const v = JSON.parse(r.result.value);
    return v.href === url && (v.title === 'done' || v.title === 'failed') ? v : null;
  }, DEADLINE_MS, `the page (${expect}) to finish (title done/failed)`);
  let res;
  try { res = JSON.parse(dom.result); } catch (e) { res = { ok: false, why: `bad result ${dom.result}` }; }
  return { title: dom.title, res, events: res.events || [] };
}

async function main() {
  const portFile = path.join(CHROME_DIR, 'DevToolsActivePort');
  const [devPort, browserPath] = await poll(() => {
    const lines = fs.readFileSync(portFile, 'utf8').split('\n');
    return lines.length >= 2 && lines[1] ? lines : null;
  }, 15000, 'Chromium writes DevToolsActivePort');
  const target = await poll(async () => {
    const r = await fetch(`http://127.0.0.1:${devPort}/json/list`);
    return (await r.json()).find((t) => t.type === 'page');
  }, 10000, 'the page target');
  const page = await cdp(target.webSocketDebuggerUrl);
  const sub = `chromium-${crypto.randomBytes(5).toString('hex')}`;
  const token = mint(sub, ['authweb-*'], ['authweb-*']);

  try {
    const room = `authweb-${crypto.randomBytes(5).toString('hex')}`;
    const good = await runPage(page, PAGE_PORT, room, token, 'open');
    const ev = good.events;
    const open = ev.find((e) => e.via === 'ws' && e.type === 'open');
    const msg = ev.find((e) => e.via === 'ws' && e.type === 'msg');
    const sm = ev.find((e) => e.via === 'sse' && e.type === 'message');
    report(`a page from ${good.res.origin} (in --origins): new WebSocket(url, ["ringchat", ` +
      '"bearer." + token]) opens with protocol ringchat, joins and gets its own msg from the sub',
    good.title === 'done' && open && open.protocol === 'ringchat' && msg &&
      msg.from === sub && msg.data && msg.data.text === 'from chromium',
    `${good.title}: ${good.res.why} ${show(ev)}`);
    report('the same page: new EventSource(url + "?token=" + token) gets that message',
      good.title === 'done' && sm && msg && JSON.parse(sm.data).text === 'from chromium' &&
      sm.lastEventId.endsWith(`:${msg.seq}`), `${good.title}: ${good.res.why} ${show(ev)}`);

    const before = await originRefusals();
    const bad = await runPage(page, BAD_PAGE_PORT, room, token, 'refused');
    const after = await originRefusals();
    const bev = bad.events;
    report(`a page from ${bad.res.origin} (not in --origins), same token: its WebSocket is ` +
      'refused (error and close, never open) and its EventSource fails, ' +
      `counted as origin refusals (${after - before})`,
    bad.title === 'done' && bad.res.origin === `http://127.0.0.1:${BAD_PAGE_PORT}` &&
      !bev.some((e) => e.type === 'open' || e.type === 'joined' || e.type === 'message') &&
      bev.some((e) => e.via === 'ws' && e.type === 'error') && after - before >= 2,
    `${bad.title}: ${bad.res.why} ${show(bev)}; origin refusals ${before} -> ${after}`);
  } finally {
    page.ws.close();
    try {
      const browser = await cdp(`ws://127.0.0.1:${devPort}${browserPath}`);
      await browser.call('Browser.close').catch(() => {});
    } catch (e) { /* the runner kills it */ }
  }
}

main().catch((e) => report('the pages ran and could be read', false, e.message))
  .finally(() => process.exit(failed ? 1 : 0));
