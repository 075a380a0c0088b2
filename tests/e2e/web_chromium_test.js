'use strict';
// The server's own pages (GET /, GET /dashboard; web/) in headless Chromium,
// driven over the DevTools protocol (chromium.js's cdp over npm ws):
//   - two pages join one room and see each other's messages, in one order;
//   - a page whose connection goes through a TCP proxy this test controls
//     loses it (the proxy cuts every connection and refuses new ones for a
//     while) as messages keep coming: it reconnects with backoff, resumes,
//     shows every message once and in order, and says how many it recovered;
//   - after a server restart (a new epoch) it says history did not reach back;
//   - the SSE + POST transport: history on join, sending, receiving;
//   - at 320 px wide nothing overflows sideways;
//   - the dashboard's numbers move while ringload runs against the server;
//   - no page logs a console error or throws (the proxied page may log the
//     network errors of its reconnects while its server is away, nothing else).
// Screenshots of both pages go to E2E_ARTIFACT_DIR (chat.png, dashboard.png),
// and to docs/img/ too when RINGCHAT_UPDATE_SCREENSHOTS=1.
//   RINGCHAT_BIN, RINGLOAD_BIN, CHROMIUM   the binaries
//   E2E_WORK                               a scratch directory
// Prints a PASS or FAIL line per check; exits 1 if any failed.

const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { cdp } = require('./chromium');
const { checks, show, sleep, poll, newName, mint } = require('./testlib');

const suite = checks('web');
const WORK = process.env.E2E_WORK;
const ARTIFACTS = process.env.E2E_ARTIFACT_DIR || WORK;
const started = [];  // processes this test started, stopped at the end

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---- the server ----

async function startServer(port, extra = []) {
  const log = fs.openSync(path.join(WORK, 'server.log'), 'a');
  // --drain-timeout 500: a restart's reconnect hint (retry_ms) stays short.
  const p = spawn(process.env.RINGCHAT_BIN, ['--port', String(port), '--bind', '127.0.0.1',
    '--threads', '2', '--pub-rate', '0', '--drain-timeout', '500', ...extra], { stdio: ['ignore', log, log] });
  started.push(p);
  await poll(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 10000, 'ringchat answers /healthz');
  return p;
}

function stopProcess(p, ms = 5000) {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), ms);
    p.once('exit', () => { clearTimeout(t); resolve(); });
    p.kill('SIGTERM');
  });
}

async function publish(port, room, text) {
  const r = await fetch(`http://127.0.0.1:${port}/rooms/${room}/messages`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text }),
  });
  if (r.status !== 201) throw new Error(`publish ${text}: ${r.status}`);
  return r.json();
}

// ---- a TCP proxy the test can cut ----

// Forwards 127.0.0.1:listenPort to the server. cut(ms) destroys every
// connection and, for `ms`, closes new ones at once (a network outage).
async function startProxy(serverPort) {
  const conns = new Set();
  let refuseUntil = 0;
  const srv = net.createServer((client) => {
    if (Date.now() < refuseUntil) { client.destroy(); return; }
    const upstream = net.connect(serverPort, '127.0.0.1');
    const pair = { client, upstream };
    conns.add(pair);
    const end = () => { client.destroy(); upstream.destroy(); conns.delete(pair); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: srv.address().port,
    cut(ms) {
      refuseUntil = Date.now() + ms;
      for (const { client, upstream } of conns) { client.destroy(); upstream.destroy(); }
      conns.clear();
    },
    close() { for (const { client, upstream } of conns) { client.destroy(); upstream.destroy(); } srv.close(); },
  };
}

// ---- Chromium over the DevTools protocol ----

async function startChromium() {
  const dir = path.join(WORK, 'chrome');
  fs.mkdirSync(dir, { recursive: true });
  const log = fs.openSync(path.join(WORK, 'chrome.log'), 'a');
  const p = spawn(process.env.CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu',
    '--no-first-run', '--no-default-browser-check', '--hide-scrollbars', `--user-data-dir=${dir}`,
    '--remote-debugging-port=0', 'about:blank'], { stdio: ['ignore', log, log] });
  started.push(p);
  const portFile = path.join(dir, 'DevToolsActivePort');
  const [devPort, browserPath] = await poll(() => {
    const lines = fs.readFileSync(portFile, 'utf8').split('\n');
    return lines.length >= 2 && lines[1] ? lines : null;
  }, 15000, 'Chromium writes DevToolsActivePort');
  const browser = await cdp(`ws://127.0.0.1:${devPort}${browserPath}`);
  return { p, devPort, browser };
}

// A new tab on `url`: {call, errors (console errors and exceptions, as
// text, with their source), eval(expr), close()}.
async function openPage(chrome, url, name) {
  const { targetId } = await chrome.browser.call('Target.createTarget', { url: 'about:blank' });
  const t = await poll(async () => {
    const r = await fetch(`http://127.0.0.1:${chrome.devPort}/json/list`);
    return (await r.json()).find((x) => x.id === targetId);
  }, 10000, `the tab for ${name}`);
  const page = await cdp(t.webSocketDebuggerUrl);
  const errors = [];
  page.ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'assert')) {
      errors.push({ source: 'console', text: m.params.args.map((a) => a.value || a.description).join(' ') });
    } else if (m.method === 'Runtime.exceptionThrown') {
      const e = m.params.exceptionDetails;
      errors.push({ source: 'exception', text: `${e.text} ${e.exception ? e.exception.description : ''}` });
    } else if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error') {
      errors.push({ source: m.params.entry.source, text: m.params.entry.text });
    }
  });
  await page.call('Runtime.enable');
  await page.call('Log.enable');
  await page.call('Page.enable');
  await page.call('Emulation.setDeviceMetricsOverride', { width: 1100, height: 720, deviceScaleFactor: 1, mobile: false });
  await page.call('Page.navigate', { url });
  const evaluate = async (expr) => {
    const r = await page.call('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`${name}: ${expr}: ${r.exceptionDetails.text}`);
    return r.result.value;
  };
  return { page, errors, eval: evaluate, name, url };
}

// What the chat page shows of `room`: its messages' texts in order, with
// their seqs, and its notices.
const shownExpr = (room) => `(() => {
  const r = window.ringchat && window.ringchat.rooms.get(${JSON.stringify(room)});
  return {
    joined: !!(r && r.joined),
    msgs: r ? r.msgs.filter((m) => !m.divider).map((m) => m.text) : [],
    dom: [...document.querySelectorAll('#messages li .text')].map((e) => e.textContent),
    notices: [...document.querySelectorAll('#notices li')].map((e) => e.textContent),
    conn: document.getElementById('conn').textContent,
  };
})()`;

async function shown(pg, room) { return pg.eval(shownExpr(room)); }

async function typeAndSend(pg, text) {
  await pg.eval(`(() => {
    const t = document.getElementById('text');
    t.value = ${JSON.stringify(text)};
    document.querySelector('#send-form button').click();
  })()`);
}

async function screenshot(pg, file, height) {
  await pg.page.call('Page.bringToFront');  // a tab in the background may never paint
  await pg.page.call('Emulation.setDeviceMetricsOverride', { width: 1100, height, deviceScaleFactor: 1, mobile: false });
  await sleep(300);
  // The newest messages in view, as a reader would have them.
  await pg.eval("document.getElementById('messages') && document.getElementById('messages').scrollTo(0, 1e9)");
  const { data } = await pg.page.call('Page.captureScreenshot', { format: 'png' });
  const png = Buffer.from(data, 'base64');
  fs.writeFileSync(path.join(ARTIFACTS, file), png);
  if (process.env.RINGCHAT_UPDATE_SCREENSHOTS === '1') {
    fs.writeFileSync(path.join(__dirname, '..', '..', 'docs', 'img', file), png);
  }
  return png.length;
}

const inOrder = (got, want) => JSON.stringify(got) === JSON.stringify(want);

// ---- the scenarios ----

async function twoPages(ctx) {
  const room = newName('web');
  const a = await openPage(ctx.chrome, `http://127.0.0.1:${ctx.proxy.port}/?room=${room}`, 'page A (via the proxy)');
  const b = await openPage(ctx.chrome, `http://127.0.0.1:${ctx.port}/?room=${room}`, 'page B');
  ctx.pages.push(a, b);
  await poll(async () => (await shown(a, room)).joined && (await shown(b, room)).joined, 15000, 'both pages joined');
  const sent = ['A says hello', 'B says hi', 'A: how is it going?', 'B: fine, thanks'];
  for (const [i, text] of sent.entries()) {
    const from = i % 2 === 0 ? a : b;
    await typeAndSend(from, text);
    // The next one after this one is shown: a conversation, not a race.
    await poll(async () => (await shown(from, room)).msgs.includes(text), 10000, `${text} echoed`);
  }
  const both = await poll(async () => {
    const [sa, sb] = [await shown(a, room), await shown(b, room)];
    return sa.msgs.length >= 4 && sb.msgs.length >= 4 ? [sa, sb] : null;
  }, 10000, 'both pages show the four messages').catch(() => null);
  suite.report('two pages in one room see each other\'s messages, in the same order on both, DOM as state',
    both && inOrder(both[0].msgs, sent) && inOrder(both[1].msgs, sent) && inOrder(both[0].dom, sent),
    show(both, 600));
  const members = await b.eval('document.getElementById("members").children.length');
  suite.report('the presence list shows both pages', members === 2, `${members} members shown`);
  return { room, a, b };
}

async function cutAndResume(ctx, room, a) {
  // Messages keep coming while the proxied page is cut off for 2 s.
  const want = [];
  const publishing = (async () => {
    for (let i = 1; i <= 60; i++) {
      const text = `m${i}`;
      await publish(ctx.port, room, text);
      want.push(text);
      if (i === 15) ctx.proxy.cut(2000);
      await sleep(50);
    }
  })();
  await poll(async () => /reconnecting in/.test((await shown(a, room)).conn), 10000, 'the page notices the cut')
    .then(() => suite.report('the cut page says it is reconnecting (with its backoff delay)', true))
    .catch((e) => suite.report('the cut page says it is reconnecting (with its backoff delay)', false, e.message));
  await publishing;
  const before = ['A says hello', 'B says hi', 'A: how is it going?', 'B: fine, thanks'];
  const s = await poll(async () => {
    const v = await shown(a, room);
    return v.msgs.length >= before.length + want.length ? v : null;
  }, 20000, 'the cut page shows every message').catch(() => null);
  const got = s ? s.msgs : (await shown(a, room)).msgs;
  suite.report('after the cut the page shows every message once, in order (4 + 60)',
    inOrder(got, before.concat(want)), show(got, 800));
  const note = s && s.notices.find((n) => /(\d+) messages? recovered/.test(n));
  const n = note ? Number(/(\d+) messages? recovered/.exec(note)[1]) : 0;
  suite.report('it reconnected and said how many messages it recovered (N > 0)', n > 0, show(s && s.notices));
  const attempts = await a.eval('window.ringchat.attempt');
  suite.report('a good join reset its backoff', attempts === 0, `attempt ${attempts}`);
}

async function restart(ctx, room, a) {
  await stopProcess(ctx.server);
  ctx.server = await startServer(ctx.port);
  const s = await poll(async () => {
    const v = await shown(a, room);
    return v.notices.some((x) => /history did not reach back/.test(x)) ? v : null;
  }, 20000, 'the page says history did not reach back').catch(() => null);
  suite.report('after a server restart the page says history did not reach back (a new epoch)', !!s,
    show(s ? s.notices : (await shown(a, room)).notices));
  await publish(ctx.port, room, 'after the restart');
  const after = await poll(async () => {
    const v = await shown(a, room);
    return v.msgs[v.msgs.length - 1] === 'after the restart' ? v : null;
  }, 10000, 'a message after the restart').catch(() => null);
  suite.report('and goes on receiving on the new server', !!after, show(after && after.msgs.slice(-3)));
}

async function sse(ctx) {
  const room = newName('sse');
  await publish(ctx.port, room, 'from history');
  const c = await openPage(ctx.chrome, `http://127.0.0.1:${ctx.port}/?room=${room}&transport=sse`, 'page C (SSE)');
  ctx.pages.push(c);
  await poll(async () => (await shown(c, room)).joined, 10000, 'the SSE page joined');
  await typeAndSend(c, 'posted by the page');
  await publish(ctx.port, room, 'from node');
  const s = await poll(async () => {
    const v = await shown(c, room);
    return v.msgs.length >= 3 ? v : null;
  }, 10000, 'the SSE page shows three messages').catch(() => null);
  suite.report('SSE + POST: history on join, its own POST and another publisher\'s message, in order',
    s && inOrder(s.msgs, ['from history', 'posted by the page', 'from node']), show(s));
  const transport = await c.eval('window.ringchat.transport');
  suite.report('the page used the SSE transport', transport === 'sse', transport);
  return c;
}

async function narrow(pg) {
  await pg.page.call('Emulation.setDeviceMetricsOverride', { width: 320, height: 640, deviceScaleFactor: 1, mobile: true });
  await sleep(300);
  const w = await pg.eval('document.documentElement.scrollWidth');
  suite.report('at 320 px wide the chat page does not overflow sideways', w <= 320, `scrollWidth ${w}`);
  const labelled = await pg.eval(`[...document.querySelectorAll('input:not([type=radio])')]
    .every((i) => i.labels && i.labels.length > 0)`);
  suite.report('every text input has a label', labelled === true);
}

async function dashboard(ctx) {
  const d = await openPage(ctx.chrome, `http://127.0.0.1:${ctx.port}/dashboard`, 'the dashboard');
  ctx.pages.push(d);
  await poll(async () => /^live/.test(await d.eval('document.getElementById("status").textContent')), 10000, 'the dashboard is live');
  const read = () => d.eval(`({
    delivered: Number(document.getElementById('total-delivered').dataset.value),
    conns: Number(document.getElementById('total-conns').dataset.value),
    shards: document.querySelectorAll('#shards tbody tr').length,
    hot: [...document.querySelectorAll('#hot tbody tr')].filter((tr) => !tr.querySelector('.empty')).length,
    doctor: document.querySelectorAll('#doctor tbody tr').length,
    build: document.getElementById('build').textContent,
  })`);
  const idle = await read();
  const loadLog = fs.openSync(path.join(WORK, 'ringload.log'), 'a');
  // A gentle open-loop load (8 senders x 50/s into 4 rooms of 10): the
  // machine is shared, and the numbers only have to move.
  const load = spawn(process.env.RINGLOAD_BIN, ['--url', `ws://127.0.0.1:${ctx.port}/ws/`, '--mode', 'rate',
    '-c', '40', '--rooms', '4', '--senders', '8', '--rate', '50', '--room-prefix', newName('dash'),
    '--steady', '10', '--progress', 'never'],
  { stdio: ['ignore', loadLog, loadLog] });
  started.push(load);
  const busy = await poll(async () => {
    const v = await read();
    return v.delivered > 0 && v.conns >= 40 && v.hot > 0 ? v : null;
  }, 15000, 'the dashboard shows the load').catch(() => null);
  suite.report('the dashboard\'s numbers move under ringload: deliveries/s, connections, hottest rooms',
    !!busy && idle.delivered === 0, `idle ${show(idle)} busy ${show(busy || await read())}`);
  suite.report('it shows a row per shard, the build and doctor\'s verdicts',
    !!busy && busy.shards === 2 && /version/.test(busy.build) && busy.doctor > 5, show(busy));
  const drawn = await d.eval(`[...document.querySelectorAll('canvas')].every((c) => {
    const x = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < x.length; i += 4) if (x[i] !== 0) return true;
    return false;
  })`);
  suite.report('every chart is drawn (no blank canvas)', drawn === true);
  await sleep(4000);  // a few seconds of the load on the charts
  ctx.dashShot = await screenshot(d, 'dashboard.png', 1300);
  await new Promise((r) => (load.exitCode !== null ? r() : load.once('exit', r)));
  suite.report('ringload ran to its end', load.exitCode === 0, `exit ${load.exitCode}`);
}

// With token auth on: the token field (here ?token=) over a WebSocket (a
// bearer.<token> subprotocol) and over SSE + POST (?token=, Authorization).
async function withToken(ctx) {
  const secret = require('crypto').randomBytes(24).toString('hex');
  const file = path.join(WORK, 'jwt.secret');
  fs.writeFileSync(file, secret);
  const port = await freePort();
  const server = await startServer(port, ['--jwt-secret-file', file]);
  const room = newName('auth');
  const token = mint(secret, 'alice', ['auth-*'], ['auth-*']);
  const e = await openPage(ctx.chrome, `http://127.0.0.1:${port}/?room=${room}&token=${token}`, 'page E (token, WebSocket)');
  const f = await openPage(ctx.chrome, `http://127.0.0.1:${port}/?room=${room}&transport=sse&token=${token}`, 'page F (token, SSE)');
  ctx.pages.push(e, f);
  const joined = await poll(async () => (await shown(e, room)).joined && (await shown(f, room)).joined, 10000,
    'both token pages joined').catch(() => false);
  suite.report('with token auth, a page with a token joins over a WebSocket and over SSE', !!joined);
  await typeAndSend(e, 'signed in over ws');
  await poll(async () => (await shown(f, room)).msgs.includes('signed in over ws'), 10000, 'F gets E\'s message').catch(() => {});
  await typeAndSend(f, 'signed in over sse');
  const s = await poll(async () => {
    const v = await shown(e, room);
    return v.msgs.length >= 2 ? v : null;
  }, 10000, 'E gets F\'s message').catch(() => null);
  const meta = await e.eval(`[...document.querySelectorAll('#messages li .meta')].map((m) => m.textContent)`);
  const members = await e.eval(`document.getElementById('members').textContent`);
  suite.report('they publish as the token\'s user (alice), over the socket and by POST',
    s && inOrder(s.msgs, ['signed in over ws', 'signed in over sse']) && meta.every((m) => / alice$/.test(m)) &&
    /alice/.test(members), show({ s, meta, members }));
  await stopProcess(server);
}

async function main() {
  const port = await freePort();
  const ctx = { port, pages: [] };
  try {
    ctx.server = await startServer(port);
    ctx.proxy = await startProxy(port);
    ctx.chrome = await startChromium();
    const { room, a, b } = await twoPages(ctx);
    await cutAndResume(ctx, room, a);
    await restart(ctx, room, a);
    const c = await sse(ctx);
    // The chat page's picture: page A, which lived through the cut and the
    // restart, with a conversation after them.
    // (B came back from the restart on its own schedule: the server's hint.)
    await poll(async () => (await shown(b, room)).joined, 15000, 'page B back after the restart');
    for (const t of ['Welcome back', 'ringchat serves this page itself']) {
      await typeAndSend(b, t);
      await poll(async () => (await shown(b, room)).msgs.includes(t), 10000, `${t} echoed`);
    }
    await poll(async () => (await shown(a, room)).msgs.includes('ringchat serves this page itself'), 10000, 'the last words');
    const chatShot = await screenshot(a, 'chat.png', 640);
    await narrow(c);
    await dashboard(ctx);
    await withToken(ctx);
    suite.report('screenshots of both pages saved', chatShot > 10000 && ctx.dashShot > 10000,
      `${chatShot} and ${ctx.dashShot} bytes in ${ARTIFACTS}`);
    for (const pg of ctx.pages) {
      // Pages A and B lived through the cut or the restart: Chromium logs
      // their reconnects while the proxy or the server was away as network
      // errors. Nothing else may be logged, on any page.
      const bad = pg === a || pg === b ? pg.errors.filter((e) => e.source !== 'network') : pg.errors;
      suite.report(`${pg.name}: no console error, no exception`, bad.length === 0, show(pg.errors, 800));
    }
  } finally {
    if (ctx.chrome) await ctx.chrome.browser.call('Browser.close').catch(() => {});
    if (ctx.proxy) ctx.proxy.close();
    for (const p of started.reverse()) await stopProcess(p);
  }
}

suite.run(main, 'the pages ran and could be read');
