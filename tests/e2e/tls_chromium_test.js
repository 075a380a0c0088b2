'use strict';
// Reads what chat_page.html?tls=1, loaded in a headless Chromium that
// tls_clients.sh started, received from ringchat's TLS port (chromium.js: the DevTools
// protocol, the page's result once its title says done or failed), checks
// it, and closes the browser.
//   E2E_PAGE_URL      the page's URL as loaded
//   E2E_CHROME_DIR    Chromium's --user-data-dir (it writes DevToolsActivePort there)
// Prints a PASS or FAIL line per check; exits 1 if any failed.

const { attach, readResult, chatPageChecks } = require('./chromium');
const { checks, show } = require('./testlib');

const DEADLINE_MS = 20000;
const suite = checks('chromium');

async function main() {
  const started = Date.now();
  const browser = await attach(true);
  try {
    const { title, res, events: ev } =
      await readResult(browser.page, DEADLINE_MS, 'the page to finish (title done/failed)');
    suite.report(`the page finished within the deadline (${Date.now() - started} ms), its WebSocket on ` +
      `wss:// and its EventSource on https://`, title === 'done' && res.ok === true &&
      /^wss:\/\/127\.0\.0\.1:\d+\/ws$/.test(res.wsUrl) && /^https:\/\/127\.0\.0\.1:\d+\/sse\//.test(res.esUrl),
      `${title}: ${res.why} ${res.wsUrl} ${res.esUrl} ${show(ev, 600)}`);

    const c = chatPageChecks(ev);
    suite.report('the browser\'s wss:// WebSocket on /ws: joined j1, its own msg back with the same data, ' +
      'then ack p1 with that seq', c.wsOk, show(c.wsEv, 600));
    suite.report('the browser\'s https:// EventSource got joined, then that message with id EPOCH:SEQ',
      c.sseOk, show(c.sseEv, 600));
  } finally {
    await browser.close();
  }
}

suite.run(main, 'the page ran and could be read');
