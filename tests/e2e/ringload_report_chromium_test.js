'use strict';
// Loads a report page made with web/charts.js (a file:// page that
// report_chromium.sh made: ringload's --html report of a short run, or
// bench/side_by_side.py's report.html) in the headless Chromium it started,
// and checks that the page renders: no exception or console error while it
// loads (reloaded once the DevTools listeners are on, so none is missed),
// every chart drawn (data-rendered set) on a canvas that is not blank, the
// hover readout drawing without error; then saves a screenshot of the whole
// page.
//   E2E_PAGE_URL        the report's file:// URL
//   E2E_CHROME_DIR      Chromium's --user-data-dir (chromium.js)
//   E2E_SCREENSHOT      where to write the PNG
//   E2E_WHAT            the checks' tag (default "report")
//   E2E_CANVAS_IDS      canvases the page must have (comma-separated), if set
//   E2E_MIN_CANVASES    ... and at least this many (default 1)
// Prints a PASS or FAIL line per check; exits 1 if any failed.

const fs = require('fs');
const { attach } = require('./chromium');
const { checks, poll, show, sleep } = require('./testlib');

const DEADLINE_MS = 15000;
const suite = checks(process.env.E2E_WHAT || 'report');
const WANT_IDS = (process.env.E2E_CANVAS_IDS || '').split(',').filter((x) => x);
const MIN_CANVASES = Number(process.env.E2E_MIN_CANVASES || 1);

// Per canvas: its size and how much of it is painted (not white, not
// transparent) and in how many colours, from its own pixels.
const CANVASES = `JSON.stringify([...document.querySelectorAll('canvas')].map((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  const colours = new Set();
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0 && (d[i] < 245 || d[i + 1] < 245 || d[i + 2] < 245)) {
      painted++;
      colours.add((d[i] >> 4) << 8 | (d[i + 1] >> 4) << 4 | (d[i + 2] >> 4));
    }
  }
  return {id: c.id, w: c.width, h: c.height, painted: painted / (d.length / 4), colours: colours.size};
}))`;

async function evaluate(page, expression) {
  const r = await page.call('Runtime.evaluate', { expression, returnByValue: true });
  if (r.exceptionDetails) throw new Error(show(r.exceptionDetails, 300));
  return r.result.value;
}

function listen(page) {
  const problems = [];
  page.ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    if (m.method === 'Runtime.exceptionThrown') {
      problems.push(`exception: ${show(m.params.exceptionDetails, 300)}`);
    } else if (m.method === 'Runtime.consoleAPICalled' && ['error', 'assert'].includes(m.params.type)) {
      problems.push(`console.${m.params.type}: ${show(m.params.args, 300)}`);
    } else if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error') {
      problems.push(`log: ${m.params.entry.text}`);
    }
  });
  return problems;
}

async function screenshot(page, path) {
  const { cssContentSize: size } = await page.call('Page.getLayoutMetrics');
  const shot = await page.call('Page.captureScreenshot', {
    format: 'png', captureBeyondViewport: true,
    clip: { x: 0, y: 0, width: Math.ceil(size.width), height: Math.ceil(size.height), scale: 1 },
  });
  fs.writeFileSync(path, Buffer.from(shot.data, 'base64'));
  return fs.statSync(path).size;
}

async function main() {
  const browser = await attach(true);
  const { page } = browser;
  try {
    const problems = listen(page);
    await page.call('Runtime.enable');
    await page.call('Log.enable');
    await page.call('Page.enable');
    await page.call('Page.reload', { ignoreCache: true });
    const rendered = await poll(() => evaluate(page,
      "document.readyState === 'complete' && document.body.dataset.rendered === '1'"),
    DEADLINE_MS, 'the report sets data-rendered').catch(() => false);
    suite.report('the report draws every chart (body data-rendered="1")', rendered === true,
      show(problems));

    const canvases = JSON.parse(await evaluate(page, CANVASES));
    suite.report(`the page has its charts (${WANT_IDS.join(', ') || 'any'}; at least ` +
      `${MIN_CANVASES})`, canvases.length >= MIN_CANVASES &&
      WANT_IDS.every((id) => canvases.some((c) => c.id === id)), show(canvases.map((c) => c.id)));
    const blank = canvases.filter((c) => !(c.w > 100 && c.h > 100 && c.painted > 0.01 && c.colours >= 4));
    suite.report(`every canvas is drawn on (${canvases.length}: >1% of its pixels painted, in >= 4 ` +
      'colours)', canvases.length > 0 && blank.length === 0, show(blank));

    // The hover readout: a mouse move over the first chart (time series
    // redraw with a readout, others ignore it).
    const box = JSON.parse(await evaluate(page,
      "JSON.stringify(document.querySelector('canvas').getBoundingClientRect())"));
    await page.call('Input.dispatchMouseEvent', { type: 'mouseMoved',
      x: box.x + box.width / 2, y: box.y + box.height / 2 });
    await sleep(200);
    suite.report('no exception or console error while loading, drawing and hovering',
      problems.length === 0, show(problems, 800));

    const bytes = await screenshot(page, process.env.E2E_SCREENSHOT);
    suite.report(`a screenshot of the whole page is saved (${process.env.E2E_SCREENSHOT})`,
      bytes > 10000, `${bytes} bytes`);
  } finally {
    await browser.close();
  }
}

suite.run(main, 'the report page could be loaded and read');
