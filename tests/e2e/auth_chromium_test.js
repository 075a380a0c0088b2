'use strict';
// Drives a headless Chromium that auth_clients.sh started on about:blank,
// over the DevTools protocol (chromium.js), as chat_chromium_test.js does: it
// mints a token (testlib.js: node:crypto, HS256), navigates the tab to auth_page.html
// served from an origin in --origins, then from one that is not, reads what
// each page wrote into <pre id=result> once document.title says "done" or
// "failed", checks it, and closes the browser (Browser.close).
//   E2E_PORT          ringchat's port
//   E2E_SECRET_FILE   the HS256 secret, raw bytes
//   E2E_PAGE_PORT     python3 -m http.server's port: an origin in --origins
//   E2E_BAD_PAGE_PORT another one serving the same page: an origin not in it
//   E2E_CHROME_DIR    Chromium's --user-data-dir (it writes DevToolsActivePort there)
// Prints a PASS or FAIL line per check; exits 1 if any failed.

const fs = require('fs');
const { attach, readResult } = require('./chromium');
const lib = require('./testlib');

const { show } = lib;
const PORT = Number(process.env.E2E_PORT);
const SECRET = fs.readFileSync(process.env.E2E_SECRET_FILE);
const PAGE_PORT = Number(process.env.E2E_PAGE_PORT);
const BAD_PAGE_PORT = Number(process.env.E2E_BAD_PAGE_PORT);
const DEADLINE_MS = 15000;
const suite = lib.checks('chromium');
const { report } = suite;

// ringchat_auth_failures_total{kind="origin"}, summed over shards.
async function originRefusals() {
  const text = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('ringchat_auth_failures_total{') &&
    l.includes('kind="origin"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

// Navigates the tab to the page on `pagePort` and returns {title, res, events}.
async function runPage(page, pagePort, room, token, expect) {
  const url = `http://127.0.0.1:${pagePort}/auth_page.html?port=${PORT}&room=${room}` +
    `&token=${encodeURIComponent(token)}&expect=${expect}`;
  await page.call('Page.navigate', { url });
  return readResult(page, DEADLINE_MS, `the page (${expect}) to finish (title done/failed)`, url);
}

async function main() {
  const browser = await attach(false);
  const { page } = browser;
  const sub = lib.newName('chromium', 5);
  const token = lib.mint(SECRET, sub, ['authweb-*'], ['authweb-*']);

  try {
    const room = lib.newName('authweb', 5);
    const good = await runPage(page, PAGE_PORT, room, token, 'open');
    const ev = good.events;
    const open = ev.find((e) => e.via === 'ws' && e.type === 'open');
    const msg = ev.find((e) => e.via === 'ws' && e.type === 'msg');
    const sm = ev.find((e) => e.via === 'sse' && e.type === 'message');
    report(`a page from ${good.res.origin} (in --origins): new WebSocket(url, ["ringchat", ` +
      '"bearer." + token]) opens with protocol ringchat, joins and gets its own msg from the sub',
    good.title === 'done' && open && open.protocol === 'ringchat' && msg &&
      msg.from === sub && msg.data && msg.data.text === 'from chromium',
    `${good.title}: ${good.res.why} ${show(ev, 600)}`);
    report('the same page: new EventSource(url + "?token=" + token) gets that message',
      good.title === 'done' && sm && msg && JSON.parse(sm.data).text === 'from chromium' &&
      sm.lastEventId.endsWith(`:${msg.seq}`), `${good.title}: ${good.res.why} ${show(ev, 600)}`);

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
    `${bad.title}: ${bad.res.why} ${show(bev, 600)}; origin refusals ${before} -> ${after}`);
  } finally {
    await browser.close();
  }
}

suite.run(main, 'the pages ran and could be read');
