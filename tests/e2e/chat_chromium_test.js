'use strict';
// Reads what chat_page.html, loaded in a headless Chromium that
// chat_clients.sh started, received from ringchat (chromium.js: the DevTools
// protocol, the page's result once its title says done or failed), checks
// it, and closes the browser.
//   E2E_PORT          ringchat's port
//   E2E_PAGE_URL      the page's URL as loaded (another origin than ringchat's)
//   E2E_CHROME_DIR    Chromium's --user-data-dir (it writes DevToolsActivePort there)
// Prints a PASS or FAIL line per check; exits 1 if any failed.

const { attach, readResult, chatPageChecks } = require('./chromium');
const { checks, show } = require('./testlib');

const PORT = Number(process.env.E2E_PORT);
const DEADLINE_MS = 20000;
const suite = checks('chromium');

async function main() {
  const started = Date.now();
  const browser = await attach(true);
  try {
    const { title, res, events: ev } =
      await readResult(browser.page, DEADLINE_MS, 'the page to finish (title done/failed)');
    const server = `http://127.0.0.1:${PORT}`;
    suite.report(`the page (origin ${res.origin}, not ${server}) finished within the deadline ` +
      `(${Date.now() - started} ms)`, title === 'done' && res.ok === true &&
      typeof res.origin === 'string' && res.origin !== server, `${title}: ${res.why} ${show(ev, 600)}`);

    const c = chatPageChecks(ev);
    suite.report('the browser\'s WebSocket on /ws: joined (id j1), its own msg back with the same data, ' +
      'then ack p1 with that seq', c.wsOk, show(c.wsEv, 600));
    suite.report('the browser\'s EventSource (cross-origin) got joined, then that message with id ' +
      'EPOCH:SEQ of the msg and the same data', c.sseOk, show(c.sseEv, 600));
  } finally {
    await browser.close();
  }
}

suite.run(main, 'the page ran and could be read');
