'use strict';
// ringchat's dashboard: reads GET /stats every second (docs/METRICS.md
// "/stats") and shows each shard's health. /stats gives counters and
// histogram buckets as they stand; every rate and every quantile "over the
// last second" here is the difference of two snapshots, divided by the
// time between them (the server's clock, now_ms). Charts by charts.js
// (RingCharts), the last WINDOW_S seconds.

const POLL_MS = 1000;
const WINDOW_S = 120;

const $ = (id) => document.getElementById(id);
const fmt = (v, unit) => (v == null || Number.isNaN(v) ? '–' : RingCharts.format(v, unit));

let prev = null;      // the last snapshot
const hist = [];      // per poll: {t (s), ...what the charts draw}
let t0 = null;        // now_ms of the first snapshot
let aboutShown = false;

// The q-quantile of per-bucket counts `c` (the last past the last bound)
// with upper bounds `b` (ms): linear inside the bucket, as the server's
// own bucket_quantile and Prometheus' histogram_quantile do.
function quantile(c, b, q) {
  const total = c.reduce((a, x) => a + x, 0);
  if (!total) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < b.length; i++) {
    if (c[i] > 0 && below + c[i] >= rank) {
      const lo = i ? b[i - 1] : 0;
      return lo + (b[i] - lo) * (rank - below) / c[i];
    }
    below += c[i];
  }
  return b[b.length - 1];
}

const minus = (a, b) => a.map((x, i) => Math.max(0, x - (b ? b[i] : 0)));
const sum = (xs) => xs.reduce((a, x) => a + x, 0);

function cell(row, text, value) {
  const td = document.createElement('td');
  td.textContent = text;
  if (value !== undefined) td.dataset.value = value;
  row.append(td);
  return td;
}

// Rows of `id`'s body, each a list of cell texts (the first a row header);
// none: one row saying `empty`.
function fillTable(id, rows, empty) {
  const body = $(id).querySelector('tbody');
  if (!rows.length && empty) {
    const td = document.createElement('td');
    td.colSpan = $(id).querySelectorAll('thead th').length;
    td.className = 'empty';
    td.textContent = empty;
    const tr = document.createElement('tr');
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement('tr');
    cells.forEach((c, i) => {
      if (i === 0) {
        const th = document.createElement('th');
        th.scope = 'row';
        th.textContent = c;
        tr.append(th);
      } else {
        cell(tr, c);
      }
    });
    return tr;
  }));
}

function setValue(id, text, value) {
  $(id).textContent = text;
  $(id).dataset.value = value;
}

// One snapshot `s` against the one before: per-shard rates and interval
// quantiles.
function derive(s, p) {
  const dt = p ? (s.now_ms - p.now_ms) / 1000 : 0;
  const bounds = s.bucket_bounds_ms;
  const shards = s.shards.map((sh, i) => {
    const ps = p && p.shards[i];
    const rate = (k) => (ps && dt > 0 ? Math.max(0, sh[k] - ps[k]) / dt : null);
    const lag = ps ? minus(sh.loop_lag_buckets, ps.loop_lag_buckets) : null;
    return {
      shard: sh.shard,
      conns: sh.connections,
      inRate: rate('messages_in'),
      outRate: rate('delivered'),
      lagP50: lag ? quantile(lag, bounds, 0.5) : null,
      lagP99: lag ? quantile(lag, bounds, 0.99) : null,
      ring: sh.mailbox_depth,
      waiting: sh.mailbox_waiting,
      backlog: sh.send_backlog_bytes,
      overHalf: sh.over_half_backlog,
      rooms: sh.rooms_owned,
    };
  });
  const p2s = p ? minus(s.publish_to_send_buckets, p.publish_to_send_buckets) : null;
  const q = (c, x) => (c ? quantile(c, bounds, x) : null);
  return {
    shards,
    p2sNow: { p50: q(p2s, 0.5), p90: q(p2s, 0.9), p99: q(p2s, 0.99), p999: q(p2s, 0.999), n: p2s ? sum(p2s) : 0 },
    p2sAll: { p50: s.publish_to_send_ms.p50, p90: s.publish_to_send_ms.p90, p99: s.publish_to_send_ms.p99, p999: s.publish_to_send_ms.p999, n: s.publish_to_send_ms.count },
  };
}

function showTotals(d) {
  const conns = sum(d.shards.map((x) => x.conns.http + x.conns.ws_raw + x.conns.ws_json + x.conns.sse));
  const inRate = sum(d.shards.map((x) => x.inRate || 0));
  const outRate = sum(d.shards.map((x) => x.outRate || 0));
  const backlog = sum(d.shards.map((x) => x.backlog));
  setValue('total-conns', fmt(conns, 'count'), conns);
  setValue('total-in', fmt(inRate, 'rate'), inRate);
  setValue('total-delivered', fmt(outRate, 'rate'), outRate);
  setValue('total-backlog', fmt(backlog, 'bytes'), backlog);
  $('total-p2s').textContent = d.p2sNow.n
    ? `p50 ${fmt(d.p2sNow.p50, 'ms')}, p99 ${fmt(d.p2sNow.p99, 'ms')}` : 'no deliveries in the last second';
}

function showTables(s, d) {
  fillTable('shards', d.shards.map((x) => [String(x.shard), fmt(x.conns.http, 'count'),
    fmt(x.conns.ws_raw, 'count'), fmt(x.conns.ws_json, 'count'), fmt(x.conns.sse, 'count'),
    fmt(x.inRate, 'rate'), fmt(x.outRate, 'rate'), fmt(x.lagP50, 'ms'), fmt(x.lagP99, 'ms'),
    fmt(x.ring, 'count'), fmt(x.waiting, 'count'), fmt(x.backlog, 'bytes'),
    fmt(x.overHalf, 'count'), fmt(x.rooms, 'count')]));
  const row = (name, p) => [name, fmt(p.p50, 'ms'), fmt(p.p90, 'ms'), fmt(p.p99, 'ms'), fmt(p.p999, 'ms'), fmt(p.n, 'count')];
  fillTable('p2s', [row('last second', d.p2sNow), row('since start', d.p2sAll)]);
  // The shards list these while someone watches: a rate over their interval.
  const per = s.lists_interval_ms > 0 ? 1000 / s.lists_interval_ms : null;
  fillTable('hot', s.hot_rooms.map((h) => [h.room, per ? fmt(h.messages * per, 'rate') : '–',
    fmt(h.members, 'count'), `shard ${h.shard}`]), 'no messages in the last interval');
  $('hot-note').textContent = s.lists_age_ms == null ? '(starting…)' : '';
  fillTable('slow', s.slow_consumers.map((c) => [c.id, c.transport, c.room, fmt(c.bytes, 'bytes')]),
    'every connection is keeping up (nothing unsent)');
}

// Build, configuration and doctor do not change while the server runs.
function showAbout(s) {
  if (aboutShown) return;
  aboutShown = true;
  const kv = (id, obj) => $(id).replaceChildren(...Object.entries(obj || {}).flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = typeof v === 'string' ? v : JSON.stringify(v);
    return [dt, dd];
  }));
  kv('build', s.build || { build: 'not stated' });
  kv('config', s.config || { config: 'not stated' });
  if (!s.doctor) {
    $('doctor-verdict').textContent = '(not run)';
    return;
  }
  $('doctor-verdict').textContent = `: ${s.doctor.verdict}`;
  $('doctor-verdict').className = `verdict-${s.doctor.verdict}`;
  $('doctor').querySelector('tbody').replaceChildren(...s.doctor.findings.map((f) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = f.name;
    tr.append(th);
    cell(tr, f.verdict).className = `verdict-${f.verdict}`;
    cell(tr, f.seen);
    cell(tr, f.need).title = f.fix || '';
    return tr;
  }));
}

function remember(s, d) {
  if (t0 === null) t0 = s.now_ms;
  hist.push({ t: (s.now_ms - t0) / 1000, s, d });
  while (hist.length && hist[hist.length - 1].t - hist[0].t > WINDOW_S) hist.shift();
}

function drawCharts() {
  const x = hist.map((h) => h.t);
  const n = hist.length ? hist[hist.length - 1].d.shards.length : 0;
  const perShard = (f) => Array.from({ length: n }, (_, i) => ({
    label: `shard ${i}`, values: hist.map((h) => (h.d.shards[i] ? f(h.d.shards[i]) : null)),
  }));
  const byTransport = (k) => hist.map((h) => sum(h.d.shards.map((sh) => sh.conns[k])));
  RingCharts.timeSeries($('c-conns'), { x, unit: 'count', height: 140, series: [
    { label: 'http', values: byTransport('http') }, { label: 'ws raw', values: byTransport('ws_raw') },
    { label: 'ws json', values: byTransport('ws_json') }, { label: 'sse', values: byTransport('sse') }] });
  RingCharts.timeSeries($('c-in'), { x, unit: 'rate', height: 140, series: perShard((v) => v.inRate) });
  RingCharts.timeSeries($('c-out'), { x, unit: 'rate', height: 140, series: perShard((v) => v.outRate) });
  RingCharts.timeSeries($('c-lag'), { x, unit: 'ms', height: 140, series: perShard((v) => v.lagP99) });
  RingCharts.timeSeries($('c-ring'), { x, unit: 'count', height: 140, series: perShard((v) => v.ring) });
  RingCharts.timeSeries($('c-backlog'), { x, unit: 'bytes', height: 140, series: perShard((v) => v.backlog) });
  RingCharts.timeSeries($('c-p2s'), { x, unit: 'ms', height: 140, series: [
    { label: 'p50', values: hist.map((h) => h.d.p2sNow.p50) },
    { label: 'p99', values: hist.map((h) => h.d.p2sNow.p99) }] });
}

async function poll() {
  try {
    const r = await fetch('/stats', { cache: 'no-store' });
    if (!r.ok) throw new Error(`/stats answered ${r.status}`);
    const s = await r.json();
    const d = derive(s, prev);
    prev = s;
    remember(s, d);
    showTotals(d);
    showTables(s, d);
    showAbout(s);
    drawCharts();
    $('status').textContent = `live: ${s.shards.length} shard${s.shards.length === 1 ? '' : 's'}, updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    // The server may be restarting: say so and keep asking.
    $('status').textContent = `cannot read /stats (${e.message}); retrying`;
    prev = null;
  }
  setTimeout(poll, POLL_MS);
}

poll();
