'use strict';
// Shared by the headless-Chromium drivers (chat_, auth_, tls_chromium_test.js;
// require('./chromium')): the DevTools protocol over npm `ws`, finding the
// browser lib.sh's run_chromium started, and reading what a test page
// wrote. A page writes its outcome as JSON into <pre id=result> and sets
// document.title to "done" or "failed"; the DOM is polled until then.
// --dump-dom is not used: with an EventSource open the page never finishes
// loading, and --virtual-time-budget then never runs out.
//   E2E_CHROME_DIR    Chromium's --user-data-dir (it writes DevToolsActivePort there)
//   E2E_PAGE_URL      the URL Chromium was started on

const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');
const { poll } = require('./testlib');

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

// The browser in E2E_CHROME_DIR and its page target: the one showing
// E2E_PAGE_URL if `samePage`, else any. Returns {page (a cdp connection to
// the tab), close()}; close() ends that connection and the browser
// (Browser.close; if that fails the runner kills it).
async function attach(samePage) {
  const portFile = path.join(process.env.E2E_CHROME_DIR, 'DevToolsActivePort');
  const [devPort, browserPath] = await poll(() => {
    const lines = fs.readFileSync(portFile, 'utf8').split('\n');
    return lines.length >= 2 && lines[1] ? lines : null;
  }, 15000, 'Chromium writes DevToolsActivePort');
  const target = await poll(async () => {
    const r = await fetch(`http://127.0.0.1:${devPort}/json/list`);
    return (await r.json()).find((t) => t.type === 'page' &&
      (!samePage || t.url === process.env.E2E_PAGE_URL));
  }, 10000, 'the page target');
  const page = await cdp(target.webSocketDebuggerUrl);
  return {
    page,
    async close() {
      page.ws.close();
      try {
        const browser = await cdp(`ws://127.0.0.1:${devPort}${browserPath}`);
        await browser.call('Browser.close').catch(() => {});
      } catch (e) { /* the runner kills it */ }
    },
  };
}

// Polls the tab until its title is "done" or "failed" (and, if `href` is
// given, it shows that URL), for at most `ms`; `what` names the wait.
// Returns {title, res: the parsed result, events: res.events or []}.
async function readResult(page, ms, what, href) {
  const expr = `JSON.stringify({ href: location.href, title: document.title,
    result: (document.getElementById('result') || {}).textContent || '' })`;
  const dom = await poll(async () => {
    const r = await page.call('Runtime.evaluate', { expression: expr, returnByValue: true });
    const v = JSON.parse(r.result.value);
    return (!href || v.href === href) && (v.title === 'done' || v.title === 'failed') ? v : null;
  }, ms, what);
  let res;
  try { res = JSON.parse(dom.result); } catch (e) { res = { ok: false, why: `bad result ${dom.result}` }; }
  return { title: dom.title, res, events: res.events || [] };
}

// What chat_page.html publishes.
const CHAT_PAGE_DATA = { text: 'from chromium \u00e9\u6f22\u{1F600} "q"\nline2', n: 1 };

// What chat_page.html did, read from its events (each {via: 'ws' | 'sse',
// type, ...}): over a WebSocket on /ws, join (id j1) and publish
// CHAT_PAGE_DATA (id p1); an EventSource on the same room. Returns {wsEv,
// sseEv, wsOk, sseOk}: wsOk if the socket got joined j1, its own msg with
// that data at the next seq, then ack p1 with that seq; sseOk if the
// EventSource got joined (the same epoch), then that message with id
// EPOCH:SEQ and the same data.
function chatPageChecks(ev) {
  const want = CHAT_PAGE_DATA;
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const wsEv = ev.filter((e) => e.via === 'ws');
  const joined = wsEv.find((e) => e.type === 'joined');
  const msg = wsEv.find((e) => e.type === 'msg');
  const ack = wsEv.find((e) => e.type === 'ack');
  const wsOk = !!(joined && joined.id === 'j1' && msg && same(msg.data, want) &&
    msg.seq === joined.seq + 1 && ack && ack.id === 'p1' && ack.seq === msg.seq &&
    wsEv.indexOf(msg) < wsEv.indexOf(ack));
  const sseEv = ev.filter((e) => e.via === 'sse');
  const sj = sseEv.find((e) => e.type === 'joined');
  const sm = sseEv.find((e) => e.type === 'message');
  const sseOk = !!(sj && sm && msg && joined && sj.data.epoch === joined.epoch &&
    sm.lastEventId === `${joined.epoch}:${msg.seq}` && same(JSON.parse(sm.data), want) &&
    sseEv.indexOf(sj) < sseEv.indexOf(sm));
  return { wsEv, sseEv, wsOk, sseOk };
}

module.exports = { cdp, attach, readResult, chatPageChecks };
