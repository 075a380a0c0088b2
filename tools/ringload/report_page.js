// ringload's HTML report: draws the charts from the run's data, which
// report_html.cc embeds in the page as a JSON script element (id
// ringload-data), with web/charts.js (RingCharts) before this script.
// The data:
//   bands      [{label, from, to}]  the connect stage, each phase, the drain (s)
//   timeline   {t, sent, delivered, open, handshakes, p50, p99, max, errors,
//               reconnects, connect_failures}: one value per second (rates
//               per second, latencies in us)
//   curves     [{label, points: [[percentile, us], ...]}]  per phase, and total
//   histogram  {bins: [[lo_us, hi_us, count], ...], p50, p99}  the whole run
//   rolling    {bucket_s, connected, reconnects, drops, term_s}  --rolling-server only
//   handshake  true in handshake mode
// When everything is drawn, <body data-rendered="1">.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('ringload-data').textContent);
  const C = window.RingCharts;
  const bands = data.bands || [];
  const tl = data.timeline || {t: []};
  const el = (id) => document.getElementById(id);

  function throughput() {
    const series = [];
    if (data.handshake) {
      series.push({label: 'handshakes/s', values: tl.handshakes});
    } else {
      series.push({label: 'sent/s', values: tl.sent}, {label: 'delivered/s', values: tl.delivered});
    }
    series.push({label: 'open connections (right)', values: tl.open, axis: 'right', dash: [5, 3],
      color: '#7f7f7f'});
    C.timeSeries(el('chart-throughput'), {title: 'Throughput', unit: 'rate', rightUnit: 'count',
      x: tl.t, series, bands});
  }

  function latency() {
    C.timeSeries(el('chart-latency'), {title: 'Latency per second', unit: 'us', x: tl.t, bands,
      series: [{label: 'p50', values: tl.p50}, {label: 'p99', values: tl.p99},
        {label: 'max', values: tl.max, dash: [3, 3]}]});
  }

  function errors() {
    C.timeSeries(el('chart-errors'), {title: 'Errors and reconnects', unit: 'rate', x: tl.t, bands,
      series: [{label: 'errors/s', values: tl.errors, color: '#d62728'},
        {label: 'reconnects/s', values: tl.reconnects, color: '#ff7f0e'},
        {label: 'failed connects/s', values: tl.connect_failures, color: '#8c564b'}]});
  }

  function rolling() {
    const r = data.rolling;
    const canvas = el('chart-rolling');
    if (!r || !canvas) return;
    const x = r.connected.map((_, i) => i * r.bucket_s);
    C.timeSeries(canvas, {title: 'Rolling restart: clients per ' + C.format(r.bucket_s, 'time'),
      unit: 'count', x, bands, marks: r.term_s >= 0 ? [{at: r.term_s, label: 'SIGTERM'}] : [],
      series: [{label: 'connected', values: r.connected},
        {label: 'reconnects', values: r.reconnects, color: '#ff7f0e'},
        {label: 'drops', values: r.drops, color: '#d62728'}]});
  }

  function distribution() {
    const curves = data.curves || [];
    C.percentiles(el('chart-percentiles'), {title: 'Latency by percentile', unit: 'us',
      series: curves.map((c) => ({label: c.label, points: c.points,
        dash: c.label === 'total' ? [4, 3] : undefined}))});
    const h = data.histogram || {bins: []};
    const marks = [];
    if (h.bins.length) marks.push({at: h.p50, label: 'p50'}, {at: h.p99, label: 'p99'});
    C.histogram(el('chart-histogram'), {title: 'Latency distribution (messages per bin)',
      unit: 'us', bins: h.bins.map((b) => ({lo: b[0], hi: b[1], count: b[2]})), marks});
  }

  throughput();
  latency();
  errors();
  rolling();
  distribution();
  document.body.dataset.rendered = '1';
})();
