'use strict';
// Shared by the Node end-to-end scripts (require('./testlib')): their PASS/FAIL
// lines, deadlines, an inbox of received items and HS256 tokens. What each
// script checks stays in it.

const crypto = require('crypto');

// The checks of one script. report(name, ok, why) prints `PASS TAG: name` or
// `FAIL TAG: name: why`; `failed` counts the FAILs; run(main, what) runs
// main, reports a throw out of it as the FAIL `what`, then exits 1 if any
// check failed.
function checks(tag) {
  const t = {
    failed: 0,
    report(name, ok, why) {
      if (!ok) t.failed++;
      console.log(`${ok ? 'PASS' : 'FAIL'} ${tag}: ${name}${ok ? '' : `: ${why}`}`);
    },
    run(main, what) {
      return main().catch((e) => t.report(what, false, e.message))
        .finally(() => process.exit(t.failed ? 1 : 0));
    },
  };
  return t;
}

// JSON of `v`, cut after `max` characters.
function show(v, max = 400) {
  const s = JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// `promise`, or a rejection "deadline: WHAT" after `ms`.
function withDeadline(promise, what, ms) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`deadline: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// Polls `f` every 100 ms until it returns a truthy value (a throw counts as
// falsy) or `ms` pass; then rejects with "deadline: WHAT".
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

// A queue that resolves waiters with the first item matching their
// predicate, within `ms` (the constructor's unless wait is given one).
class Inbox {
  constructor(ms) { this.ms = ms; this.items = []; this.waiters = []; }
  push(x) {
    const i = this.waiters.findIndex((w) => w.pred(x));
    if (i >= 0) { this.waiters.splice(i, 1)[0].resolve(x); return; }
    this.items.push(x);
  }
  wait(pred, what, ms = this.ms) {
    const i = this.items.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0]);
    let w;
    const p = new Promise((resolve) => { w = { pred, resolve }; this.waiters.push(w); });
    return withDeadline(p, what, ms).finally(() => {
      const k = this.waiters.indexOf(w);
      if (k >= 0) this.waiters.splice(k, 1);
    });
  }
}

// PREFIX-<2n random hex digits>: a room or subject of its own.
const newName = (prefix, n = 6) => `${prefix}-${crypto.randomBytes(n).toString('hex')}`;

const b64url = (x) => Buffer.from(x).toString('base64url');

// An HS256 JWS compact token (RFC 7515) signed with `secret`, with sub, exp
// (`expIn` s from now), rooms and pub.
function mint(secret, sub, rooms, pub, expIn = 600) {
  const exp = Math.floor(Date.now() / 1000) + expIn;
  const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.` +
    `${b64url(JSON.stringify({ sub, exp, rooms, pub }))}`;
  return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
}

module.exports = { checks, show, sleep, withDeadline, poll, Inbox, newName, b64url, mint };
