// charts.js — small canvas charts for ringchat's pages (ringload's HTML
// report, the side-by-side bench report, the server's live dashboard).
// Plain JavaScript, no library, nothing fetched. Defines one global,
// RingCharts (and module.exports under Node, for the formatting tests).
//
// API
//
//   RingCharts.timeSeries(canvas, opts)   line chart over time
//     opts.title   string (drawn above the plot; optional)
//     opts.x       [seconds, ...]  shared x values, ascending
//     opts.series  [{label, values: [y|null, ...], color?, dash?: [on, off],
//                    axis?: 'right'}]  a null y breaks the line
//     opts.unit    y unit (below); opts.rightUnit for series on axis 'right'
//     opts.xUnit   'time' (default: x in seconds) or any unit below
//     opts.bands   [{from, to, label, color?}]  shaded x intervals (phases)
//     opts.marks   [{at, label, color?}]  vertical lines (events)
//     opts.yMin    default 0; opts.yMax to fix the top
//     opts.xMin, opts.xMax  the x range (default: 0 or the first x, to the
//                  last x or band end); a live chart passes a sliding window
//     opts.hover   default true: a crosshair and a readout under the mouse
//     opts.height  CSS px when the canvas has no CSS height (default 240)
//   RingCharts.percentiles(canvas, opts)  latency by percentile (HDR style)
//     opts.series  [{label, points: [[pct, value], ...], color?, dash?}]
//     x is "nines": 0, 90, 99, 99.9, 99.99 equally spaced; opts.unit as below
//   RingCharts.histogram(canvas, opts)    a distribution as bars
//     opts.bins    [{lo, hi, count}]  (value range [lo, hi) in opts.unit)
//     opts.logX    default true: bins on a log x axis (latency buckets)
//     opts.marks   [{at, label}]  e.g. p50, p99 lines
//   RingCharts.bars(canvas, opts)         grouped bars (one group per category)
//     opts.categories [name, ...]; opts.series [{label, values, color?}]
//     opts.unit
//   Every chart takes opts.title and draws a legend when there are several
//   series. Calling a chart again on the same canvas redraws it (live pages).
//   The chart fills the canvas's CSS box: give it a CSS width (width:100%)
//   or width/height attributes.
//
// Units (values are in the unit named; ticks pick a readable scale):
//   'count'   1.2k, 3.4M, 5.6G          'rate'  the same with /s
//   'bytes'   B, KiB, MiB, GiB (ticks on binary steps)
//   'ns', 'us', 'ms', 's'  durations: shown as ns, us, ms, s, min
//   'time'    seconds on a time axis: 250 ms, 30 s, 2 min, 1 h
//   'percent' 0..100 shown with %       ''  a plain number
//
//   RingCharts.format(value, unit)       one value as text ("1.2k/s", "3.4 ms")
//   RingCharts.ticks(lo, hi, unit, n)    about n ticks: [{v, label}], covering
//                                        [lo, hi] with readable steps
//   RingCharts.palette                   the series colours, in order
(function (root) {
  'use strict';

  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b',
    '#e377c2', '#7f7f7f', '#bcbd22'];
  const bandColors = ['rgba(31,119,180,0.07)', 'rgba(255,127,14,0.09)', 'rgba(44,160,44,0.08)',
    'rgba(148,103,189,0.08)'];
  const font = '12px system-ui, sans-serif';

  // ---- numbers and units -------------------------------------------------

  function trim(x, digits) {
    // At most `digits` significant decimals, no trailing zeros: 1.50 -> 1.5.
    let s = x.toFixed(digits);
    if (s.indexOf('.') >= 0) s = s.replace(/0+$/, '').replace(/\.$/, '');
    return s === '-0' ? '0' : s;
  }

  function short(x) {
    // Three significant digits for the magnitudes a label shows.
    const a = Math.abs(x);
    if (a >= 100) return trim(x, 0);
    if (a >= 10) return trim(x, 1);
    if (a >= 1) return trim(x, 2);
    if (a === 0) return '0';
    return trim(x, 3);
  }

  const kDecimal = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  const kBinary = [[1099511627776, 'TiB'], [1073741824, 'GiB'], [1048576, 'MiB'], [1024, 'KiB']];
  const kToNs = {ns: 1, us: 1e3, ms: 1e6, s: 1e9};
  const kDur = [[3600e9, 'h'], [60e9, 'min'], [1e9, 's'], [1e6, 'ms'], [1e3, 'us'], [1, 'ns']];

  // The scale a unit shows `mag` (the largest value on an axis) in: {div, suffix}.
  function scaleFor(mag, unit) {
    mag = Math.abs(mag);
    if (unit === 'count' || unit === 'rate') {
      const tail = unit === 'rate' ? '/s' : '';
      for (const [d, s] of kDecimal) if (mag >= d) return {div: d, suffix: s + tail, sep: ''};
      return {div: 1, suffix: tail, sep: ''};
    }
    if (unit === 'bytes') {
      for (const [d, s] of kBinary) if (mag >= d) return {div: d, suffix: s, sep: ' '};
      return {div: 1, suffix: 'B', sep: ' '};
    }
    if (unit in kToNs || unit === 'time') {
      const toNs = unit === 'time' ? 1e9 : kToNs[unit];
      const ns = mag * toNs;
      for (const [d, s] of kDur) {
        if (ns >= d || d === 1) return {div: d / toNs, suffix: s, sep: ' '};
      }
    }
    if (unit === 'percent') return {div: 1, suffix: '%', sep: ''};
    return {div: 1, suffix: '', sep: ''};
  }

  function format(v, unit) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
    const sc = scaleFor(v, unit || '');
    const n = short(v / sc.div);
    return sc.suffix ? n + sc.sep + sc.suffix : n;
  }

  // A step of about `raw` from 1, 2, 5 x 10^k (or from `allowed`, ascending).
  function niceStep(raw, allowed) {
    if (!(raw > 0)) return 1;
    if (allowed) {
      for (const a of allowed) if (a >= raw) return a;
    }
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
  }

  // Steps that read well on a time axis (seconds) and for binary sizes.
  const kTimeSteps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15,
    30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

  function ticks(lo, hi, unit, n) {
    n = n || 5;
    if (!(hi > lo)) hi = lo + 1;
    const raw = (hi - lo) / n;
    let step;
    let sc = scaleFor(Math.max(Math.abs(lo), Math.abs(hi)), unit || '');
    if (unit === 'time') {
      step = raw <= 86400 ? niceStep(raw, kTimeSteps) : niceStep(raw / 86400) * 86400;
    } else if (unit === 'bytes' && sc.div > 1) {
      step = niceStep(raw / sc.div) * sc.div;  // 1, 2, 5 of the binary unit
    } else if (unit in kToNs) {
      step = niceStep(raw / sc.div) * sc.div;
    } else {
      step = niceStep(raw);
    }
    // One scale for the whole axis: the largest tick's, so labels line up.
    const first = Math.ceil(lo / step - 1e-9) * step;
    const out = [];
    for (let v = first; v <= hi + step * 1e-9 && out.length < 50; v += step) {
      const x = Math.abs(v) < step * 1e-9 ? 0 : v;
      out.push({v: x});
    }
    const top = out.length ? out[out.length - 1].v : hi;
    for (const t of out) {
      if (t.v === 0) {
        t.label = '0';
      } else if (unit === 'time' && top >= 60) {
        t.label = timeLabel(t.v);
      } else {
        // Each tick in its own scale (500 us, 1 ms, 1.5 ms), with enough
        // decimals to write the step exactly in it (0.25k).
        sc = scaleFor(t.v, unit || '');
        const num = trim(t.v / sc.div, stepDigits(step / sc.div));
        t.label = sc.suffix ? num + sc.sep + sc.suffix : num;
      }
    }
    return out;
  }

  function stepDigits(unitStep) {
    let d = 0;
    while (d < 6 && Math.abs(Math.round(unitStep * 10 ** d) - unitStep * 10 ** d) > 1e-6 * 10 ** d) {
      ++d;
    }
    return d;
  }

  function timeLabel(s) {
    // Mixed units past a minute: 90 -> 1m30s, 3600 -> 1 h, 172800 -> 2 d.
    const neg = s < 0;
    s = Math.round(Math.abs(s));
    if (s >= 86400 && s % 86400 === 0) return (neg ? '-' : '') + s / 86400 + ' d';
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    let out = '';
    if (h) out += h + 'h';
    if (m) out += m + 'm';
    if (r || !out) out += r + 's';
    if (h && !m && !r) out = h + ' h';
    else if (!h && m && !r) out = m + ' min';
    else if (!h && !m) out = r + ' s';
    return (neg ? '-' : '') + out;
  }

  // ---- canvas plumbing ---------------------------------------------------

  // Sizes the canvas's backing store to its CSS box at the device's pixel
  // ratio and returns a context in CSS pixels.
  function setup(canvas, opts) {
    const st = canvas._rc || (canvas._rc = {w0: canvas.width || 600, h0: canvas.height || 240});
    if (!st.sized) {
      // A canvas without CSS size would grow with its backing store: pin it.
      const cs = root.getComputedStyle ? root.getComputedStyle(canvas) : null;
      if (!canvas.style.width && (!cs || parseFloat(cs.width) === st.w0)) {
        canvas.style.width = st.w0 + 'px';
      }
      if (!canvas.style.height && (!cs || parseFloat(cs.height) === st.h0)) {
        canvas.style.height = (opts.height || st.h0) + 'px';
      }
      st.sized = true;
    }
    const w = canvas.clientWidth || st.w0;
    const h = canvas.clientHeight || opts.height || st.h0;
    const dpr = root.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
    if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = font;
    ctx.textBaseline = 'middle';
    return {ctx, w, h};
  }

  function colorOf(s, i) { return s.color || palette[i % palette.length]; }

  // Title and legend across the top; returns the y where the plot may start.
  function header(ctx, w, title, items) {
    let y = 4;
    if (title) {
      ctx.fillStyle = '#222';
      ctx.font = 'bold 13px system-ui, sans-serif';
      ctx.textAlign = 'left';
      ctx.fillText(title, 8, y + 9);
      ctx.font = font;
      y += 20;
    }
    if (items && items.length > 1) {
      let x = 60;
      ctx.textAlign = 'left';
      for (const it of items) {
        const tw = ctx.measureText(it.label).width;
        if (x + tw + 30 > w && x > 60) { x = 60; y += 16; }
        ctx.fillStyle = it.color;
        ctx.fillRect(x, y + 4, 14, 3);
        ctx.fillStyle = '#333';
        ctx.fillText(it.label, x + 18, y + 6);
        x += tw + 34;
      }
      y += 16;
    }
    return y + 6;
  }

  function yAxis(ctx, box, tk, side) {
    ctx.fillStyle = '#555';
    ctx.textAlign = side === 'right' ? 'left' : 'right';
    for (const t of tk.list) {
      const y = tk.map(t.v);
      if (side !== 'right') {
        ctx.strokeStyle = '#e4e4e4';
        ctx.beginPath();
        ctx.moveTo(box.l, Math.round(y) + 0.5);
        ctx.lineTo(box.r, Math.round(y) + 0.5);
        ctx.stroke();
      }
      ctx.fillText(t.label, side === 'right' ? box.r + 6 : box.l - 6, y);
    }
  }

  function xAxis(ctx, box, list, map) {
    ctx.fillStyle = '#555';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    let lastRight = -Infinity;
    for (const t of list) {
      const x = map(t.v);
      ctx.strokeStyle = '#ccc';
      ctx.beginPath();
      ctx.moveTo(Math.round(x) + 0.5, box.b);
      ctx.lineTo(Math.round(x) + 0.5, box.b + 4);
      ctx.stroke();
      const tw = ctx.measureText(t.label).width;
      if (x - tw / 2 > lastRight + 4) {
        ctx.fillText(t.label, x, box.b + 6);
        lastRight = x + tw / 2;
      }
    }
    ctx.textBaseline = 'middle';
    ctx.strokeStyle = '#999';
    ctx.beginPath();
    ctx.moveTo(box.l, box.b + 0.5);
    ctx.lineTo(box.r, box.b + 0.5);
    ctx.stroke();
  }

  function linear(d0, d1, r0, r1) {
    const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
    return (v) => r0 + (v - d0) * k;
  }

  function extent(arrays, yMin, yMax) {
    let hi = -Infinity, lo = Infinity;
    for (const a of arrays) {
      for (const v of a) {
        if (v === null || v === undefined || !Number.isFinite(v)) continue;
        if (v > hi) hi = v;
        if (v < lo) lo = v;
      }
    }
    if (hi === -Infinity) { hi = 1; lo = 0; }
    lo = yMin !== undefined ? yMin : Math.min(0, lo);
    if (yMax !== undefined) hi = yMax;
    if (hi <= lo) hi = lo + 1;
    return [lo, hi];
  }

  // Ticks for a y axis from lo to hi: the top tick at or above hi.
  function yTicks(lo, hi, unit, box) {
    let list = ticks(lo, hi, unit, Math.max(2, Math.min(6, Math.floor((box.b - box.t) / 40))));
    const last = list.length ? list[list.length - 1].v : hi;
    if (last < hi * 0.999) {
      const step = list.length > 1 ? list[1].v - list[0].v : hi - lo;
      list = ticks(lo, last + step, unit, list.length);
    }
    const top = list.length ? Math.max(list[list.length - 1].v, hi) : hi;
    return {list, map: linear(lo, top, box.b, box.t), top};
  }

  function labelWidth(ctx, list) {
    let m = 0;
    for (const t of list) m = Math.max(m, ctx.measureText(t.label).width);
    return m;
  }

  // ---- time series -------------------------------------------------------

  function timeSeries(canvas, opts) {
    canvas._rcOpts = opts;
    drawTimeSeries(canvas, opts, null);
    if (opts.hover !== false) hover(canvas);
  }

  function drawTimeSeries(canvas, opts, mouseX) {
    const {ctx, w, h} = setup(canvas, opts);
    const series = opts.series || [];
    const xs = opts.x || [];
    const items = series.map((s, i) => ({label: s.label, color: colorOf(s, i)}));
    const top = header(ctx, w, opts.title, items);
    const left = series.filter((s) => s.axis !== 'right');
    const right = series.filter((s) => s.axis === 'right');
    const box = {l: 60, r: w - (right.length ? 60 : 14), t: top + 4, b: h - 24};
    const [lo, hi] = extent(left.map((s) => s.values), opts.yMin, opts.yMax);
    const yl = yTicks(lo, hi, opts.unit, box);
    box.l = Math.max(40, labelWidth(ctx, yl.list) + 12);
    let yr = null;
    if (right.length) {
      const [rlo, rhi] = extent(right.map((s) => s.values), opts.yMin, undefined);
      yr = yTicks(rlo, rhi, opts.rightUnit, box);
      box.r = w - Math.max(30, labelWidth(ctx, yr.list) + 12);
    }
    const xUnit = opts.xUnit || 'time';
    const x0 = opts.xMin !== undefined ? opts.xMin : xs.length ? Math.min(xs[0], 0) : 0;
    let x1 = opts.xMax !== undefined ? opts.xMax : xs.length ? xs[xs.length - 1] : 1;
    for (const b of opts.bands || []) x1 = Math.max(x1, b.to);
    if (x1 <= x0) x1 = x0 + 1;
    const mx = linear(x0, x1, box.l, box.r);
    drawBands(ctx, box, opts.bands || [], mx);
    yAxis(ctx, box, yl, 'left');
    if (yr) yAxis(ctx, box, yr, 'right');
    const xt = ticks(x0, x1, xUnit, Math.max(2, Math.floor((box.r - box.l) / 90)));
    xAxis(ctx, box, xt, mx);
    drawMarks(ctx, box, opts.marks || [], mx);
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.l, box.t - 2, box.r - box.l, box.b - box.t + 4);
    ctx.clip();
    series.forEach((s, i) => {
      const my = s.axis === 'right' ? yr.map : yl.map;
      ctx.strokeStyle = colorOf(s, i);
      ctx.lineWidth = 1.6;
      ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      let pen = false;
      const n = Math.min(xs.length, s.values.length);
      for (let k = 0; k < n; ++k) {
        const v = s.values[k];
        if (v === null || v === undefined || !Number.isFinite(v)) { pen = false; continue; }
        const px = mx(xs[k]), py = my(v);
        if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        pen = true;
      }
      ctx.stroke();
      if (n === 1 && Number.isFinite(s.values[0])) {
        ctx.fillStyle = colorOf(s, i);
        ctx.fillRect(mx(xs[0]) - 2, my(s.values[0]) - 2, 4, 4);
      }
    });
    ctx.setLineDash([]);
    ctx.lineWidth = 1;
    ctx.restore();
    if (mouseX !== null && xs.length) readout(ctx, box, opts, xs, mx, mouseX, xUnit);
  }

  function drawBands(ctx, box, bands, mx) {
    ctx.textAlign = 'left';
    bands.forEach((b, i) => {
      const a = Math.max(box.l, mx(b.from)), z = Math.min(box.r, mx(b.to));
      if (z <= a) return;
      ctx.fillStyle = b.color || bandColors[i % bandColors.length];
      ctx.fillRect(a, box.t, z - a, box.b - box.t);
      ctx.strokeStyle = 'rgba(0,0,0,0.15)';
      ctx.beginPath();
      ctx.moveTo(Math.round(a) + 0.5, box.t);
      ctx.lineTo(Math.round(a) + 0.5, box.b);
      ctx.stroke();
      if (b.label) {
        ctx.fillStyle = '#777';
        ctx.font = '11px system-ui, sans-serif';
        const tw = ctx.measureText(b.label).width;
        if (tw + 6 < z - a) ctx.fillText(b.label, a + 4, box.t + 8);
        ctx.font = font;
      }
    });
  }

  function drawMarks(ctx, box, marks, mx) {
    ctx.textAlign = 'left';
    for (const m of marks) {
      const x = mx(m.at);
      if (x < box.l - 1 || x > box.r + 1) continue;
      ctx.strokeStyle = m.color || '#444';
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(Math.round(x) + 0.5, box.t);
      ctx.lineTo(Math.round(x) + 0.5, box.b);
      ctx.stroke();
      ctx.setLineDash([]);
      if (m.label) {
        ctx.fillStyle = m.color || '#444';
        ctx.font = '11px system-ui, sans-serif';
        const tw = ctx.measureText(m.label).width;
        ctx.fillText(m.label, x + tw + 6 > box.r ? x - tw - 3 : x + 3, box.t + 22);
        ctx.font = font;
      }
    }
  }

  function readout(ctx, box, opts, xs, mx, mouseX, xUnit) {
    // The sample nearest the mouse: a line and a box with every series' value.
    let best = 0;
    for (let k = 1; k < xs.length; ++k) {
      if (Math.abs(mx(xs[k]) - mouseX) < Math.abs(mx(xs[best]) - mouseX)) best = k;
    }
    const px = mx(xs[best]);
    ctx.strokeStyle = 'rgba(0,0,0,0.35)';
    ctx.beginPath();
    ctx.moveTo(Math.round(px) + 0.5, box.t);
    ctx.lineTo(Math.round(px) + 0.5, box.b);
    ctx.stroke();
    const lines = [{text: format(xs[best], xUnit), color: '#222'}];
    const band = (opts.bands || []).find((b) => xs[best] >= b.from && xs[best] < b.to);
    if (band && band.label) lines[0].text += '  ' + band.label;
    (opts.series || []).forEach((s, i) => {
      const unit = s.axis === 'right' ? opts.rightUnit : opts.unit;
      lines.push({text: s.label + ': ' + format(s.values[best], unit), color: colorOf(s, i)});
    });
    let bw = 0;
    for (const l of lines) bw = Math.max(bw, ctx.measureText(l.text).width);
    bw += 12;
    const bh = lines.length * 15 + 6;
    const bx = px + 10 + bw > box.r ? px - 10 - bw : px + 10;
    const by = box.t + 4;
    ctx.fillStyle = 'rgba(255,255,255,0.92)';
    ctx.fillRect(bx, by, bw, bh);
    ctx.strokeStyle = '#bbb';
    ctx.strokeRect(bx + 0.5, by + 0.5, bw, bh);
    ctx.textAlign = 'left';
    lines.forEach((l, k) => {
      ctx.fillStyle = l.color;
      ctx.fillText(l.text, bx + 6, by + 11 + k * 15);
    });
  }

  function hover(canvas) {
    if (canvas._rcHover) return;
    canvas._rcHover = true;
    canvas.addEventListener('mousemove', (e) => {
      const r = canvas.getBoundingClientRect();
      drawTimeSeries(canvas, canvas._rcOpts, e.clientX - r.left);
    });
    canvas.addEventListener('mouseleave', () => drawTimeSeries(canvas, canvas._rcOpts, null));
  }

  // ---- latency by percentile ---------------------------------------------

  // x position of a percentile in "nines": 90 -> 1, 99 -> 2, 99.9 -> 3.
  function nines(p) { return -Math.log10(Math.max(1e-7, 1 - p / 100)); }

  function percentiles(canvas, opts) {
    const {ctx, w, h} = setup(canvas, opts);
    const series = opts.series || [];
    const items = series.map((s, i) => ({label: s.label, color: colorOf(s, i)}));
    const top = header(ctx, w, opts.title, items);
    const box = {l: 60, r: w - 16, t: top + 4, b: h - 24};
    // Percentiles below 100 on the nines; 100 (the max) half a step past them.
    let maxP = 99;
    let hasMax = false;
    for (const s of series) {
      for (const [p] of s.points) {
        if (p >= 100) hasMax = true;
        else maxP = Math.max(maxP, p);
      }
    }
    const n1 = Math.min(6, Math.ceil(nines(maxP) - 1e-9));
    const end = hasMax ? n1 + 0.6 : n1;
    const px = (p) => (p >= 100 ? end : Math.min(nines(p), n1));
    const [lo, hi] = extent(series.map((s) => s.points.map((pt) => pt[1])), 0, opts.yMax);
    const yt = yTicks(lo, hi, opts.unit, box);
    box.l = Math.max(40, labelWidth(ctx, yt.list) + 12);
    const mx = linear(0, end, box.l, box.r);
    yAxis(ctx, box, yt, 'left');
    const xt = [];
    const names = ['0', '90', '99', '99.9', '99.99', '99.999', '99.9999'];
    for (let k = 0; k <= n1; ++k) xt.push({v: k, label: names[k] + '%'});
    if (hasMax) xt.push({v: end, label: 'max'});
    xAxis(ctx, box, xt, mx);
    series.forEach((s, i) => {
      ctx.strokeStyle = colorOf(s, i);
      ctx.fillStyle = colorOf(s, i);
      ctx.lineWidth = 1.8;
      ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      s.points.forEach(([p, v], k) => {
        const x = mx(px(p)), y = yt.map(v);
        if (k) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      });
      ctx.stroke();
      ctx.setLineDash([]);
      for (const [p, v] of s.points) {
        ctx.fillRect(mx(px(p)) - 2, yt.map(v) - 2, 4, 4);
      }
      ctx.lineWidth = 1;
    });
  }

  // ---- histogram ---------------------------------------------------------

  function histogram(canvas, opts) {
    const {ctx, w, h} = setup(canvas, opts);
    const bins = (opts.bins || []).filter((b) => b.hi > b.lo);
    const top = header(ctx, w, opts.title, null);
    const box = {l: 60, r: w - 16, t: top + 4, b: h - 24};
    const logX = opts.logX !== false && bins.length && bins[0].lo >= 0;
    let cmax = 1;
    for (const b of bins) cmax = Math.max(cmax, b.count);
    const yt = yTicks(0, cmax, 'count', box);
    box.l = Math.max(40, labelWidth(ctx, yt.list) + 12);
    let x0 = bins.length ? bins[0].lo : 0, x1 = bins.length ? bins[bins.length - 1].hi : 1;
    if (logX) x0 = Math.max(x0, x1 / 1e9, bins.length ? bins[0].hi / 2 : 1e-9);
    const f = logX ? (v) => Math.log10(Math.max(v, x0)) : (v) => v;
    const mx = linear(f(x0), f(x1), box.l, box.r);
    const mxv = (v) => mx(f(v));
    yAxis(ctx, box, yt, 'left');
    let xt;
    if (logX) {
      // 1-2-5 per decade, or fewer where the width cannot hold them.
      const room = Math.floor((box.r - box.l) / 60);
      for (const mults of [[1, 2, 5], [1, 3], [1]]) {
        xt = [];
        for (let e = Math.floor(Math.log10(x0)); Math.pow(10, e) <= x1 * 1.0001; ++e) {
          for (const m of mults) {
            const v = m * Math.pow(10, e);
            if (v >= x0 && v <= x1) xt.push({v, label: format(v, opts.unit)});
          }
        }
        if (xt.length <= room) break;
      }
    } else {
      xt = ticks(x0, x1, opts.unit, Math.max(2, Math.floor((box.r - box.l) / 80)));
    }
    ctx.fillStyle = opts.color || palette[0];
    for (const b of bins) {
      const a = mxv(b.lo), z = mxv(b.hi), y = yt.map(b.count);
      ctx.fillRect(a, y, Math.max(1, z - a - 0.5), box.b - y);
    }
    xAxis(ctx, box, xt, mxv);
    drawMarks(ctx, box, opts.marks || [], mxv);
  }

  // ---- grouped bars ------------------------------------------------------

  function bars(canvas, opts) {
    const {ctx, w, h} = setup(canvas, opts);
    const cats = opts.categories || [];
    const series = opts.series || [];
    const items = series.map((s, i) => ({label: s.label, color: colorOf(s, i)}));
    const top = header(ctx, w, opts.title, items);
    const box = {l: 60, r: w - 16, t: top + 14, b: h - 24};
    const [lo, hi] = extent(series.map((s) => s.values), 0, opts.yMax);
    const yt = yTicks(lo, hi, opts.unit, box);
    box.l = Math.max(40, labelWidth(ctx, yt.list) + 12);
    yAxis(ctx, box, yt, 'left');
    const gw = (box.r - box.l) / Math.max(1, cats.length);
    const bw = Math.min(60, (gw * 0.8) / Math.max(1, series.length));
    ctx.textAlign = 'center';
    cats.forEach((c, ci) => {
      const g0 = box.l + ci * gw + (gw - bw * series.length) / 2;
      series.forEach((s, si) => {
        const v = s.values[ci];
        if (v === null || v === undefined || !Number.isFinite(v)) return;
        const x = g0 + si * bw, y = yt.map(v);
        ctx.fillStyle = colorOf(s, si);
        ctx.fillRect(x + 1, y, bw - 2, yt.map(0) - y);
        // The value above its bar, where it fits.
        ctx.fillStyle = '#333';
        ctx.font = '11px system-ui, sans-serif';
        const text = format(v, opts.unit);
        if (ctx.measureText(text).width <= bw + 6) ctx.fillText(text, x + bw / 2, y - 7);
        ctx.font = font;
      });
    });
    const xt = cats.map((c, ci) => ({v: ci, label: String(c)}));
    xAxis(ctx, box, xt, (ci) => box.l + (ci + 0.5) * gw);
  }

  const api = {timeSeries, percentiles, histogram, bars, format, ticks, palette};
  root.RingCharts = api;
  if (typeof module === 'object' && module.exports) module.exports = api;
})(typeof window !== 'undefined' ? window : globalThis);
