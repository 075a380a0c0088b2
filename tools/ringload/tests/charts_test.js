'use strict';
// web/charts.js's numbers without a browser: RingCharts.format picks a
// readable unit per value, RingCharts.ticks readable steps per scale.
//   node charts_test.js PATH/TO/web/charts.js
// Prints a PASS or FAIL line per check; exits 1 if any failed.

const assert = require('assert');
const C = require(process.argv[2]);

let failed = 0;
function check(name, f) {
  try {
    f();
    console.log(`PASS charts.js: ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL charts.js: ${name}: ${e.message}`);
  }
}
const labels = (lo, hi, unit, n) => C.ticks(lo, hi, unit, n).map((t) => t.label);

check('counts and rates get k, M, G', () => {
  assert.strictEqual(C.format(999, 'count'), '999');
  assert.strictEqual(C.format(1234, 'rate'), '1.23k/s');
  assert.strictEqual(C.format(3.4e6, 'count'), '3.4M');
  assert.strictEqual(C.format(5.6e9, 'rate'), '5.6G/s');
});

check('bytes get binary units', () => {
  assert.strictEqual(C.format(512, 'bytes'), '512 B');
  assert.strictEqual(C.format(1536, 'bytes'), '1.5 KiB');
  assert.strictEqual(C.format(5 * 1048576, 'bytes'), '5 MiB');
});

check('durations pick ns, us, ms, s or min from their unit', () => {
  assert.strictEqual(C.format(0.3, 'us'), '300 ns');
  assert.strictEqual(C.format(238.6, 'us'), '239 us');
  assert.strictEqual(C.format(1500, 'us'), '1.5 ms');
  assert.strictEqual(C.format(2.5e6, 'us'), '2.5 s');
  assert.strictEqual(C.format(90, 'time'), '1.5 min');
  assert.strictEqual(C.format(0.25, 'time'), '250 ms');
  assert.strictEqual(C.format(12, 'percent'), '12%');
});

check('missing values show as a dash', () => {
  assert.strictEqual(C.format(null, 'us'), '–');
  assert.strictEqual(C.format(NaN, 'count'), '–');
});

check('time axis ticks: seconds, then minutes with mixed labels', () => {
  assert.deepStrictEqual(labels(0, 10, 'time', 5), ['0', '2 s', '4 s', '6 s', '8 s', '10 s']);
  assert.deepStrictEqual(labels(0, 95, 'time', 4), ['0', '30 s', '1 min', '1m30s']);
  assert.deepStrictEqual(labels(0, 600, 'time', 5), ['0', '2 min', '4 min', '6 min', '8 min', '10 min']);
  assert.deepStrictEqual(labels(0, 4000, 'time', 5), ['0', '15 min', '30 min', '45 min', '1 h']);
  assert.deepStrictEqual(labels(0, 1.7, 'time', 4), ['0', '500 ms', '1 s', '1.5 s']);
  assert.deepStrictEqual(labels(0, 86400 * 30, 'time', 5), ['0', '10 d', '20 d', '30 d']);
});

check('value ticks step 1, 2, 2.5 or 5 and label each in its own scale', () => {
  assert.deepStrictEqual(labels(0, 1234, 'rate', 5), ['0', '250/s', '500/s', '750/s', '1k/s']);
  assert.deepStrictEqual(labels(0, 3.4e6, 'count', 4), ['0', '1M', '2M', '3M']);
  assert.deepStrictEqual(labels(0, 0.8, '', 4), ['0', '0.2', '0.4', '0.6', '0.8']);
});

check('latency ticks cross from us to ms', () => {
  assert.deepStrictEqual(labels(0, 2500, 'us', 5), ['0', '500 us', '1 ms', '1.5 ms', '2 ms', '2.5 ms']);
  assert.deepStrictEqual(labels(0, 3e6, 'us', 3), ['0', '1 s', '2 s', '3 s']);
});

check('byte ticks step in whole binary units', () => {
  assert.deepStrictEqual(labels(0, 5e6, 'bytes', 5), ['0', '1 MiB', '2 MiB', '3 MiB', '4 MiB']);
  assert.deepStrictEqual(labels(0, 3e9, 'bytes', 3), ['0', '1 GiB', '2 GiB']);
});

check('ticks stay within the range and ascend', () => {
  for (const [lo, hi, unit] of [[0, 7, 'count'], [3, 97, 'us'], [0, 86400 * 3, 'time'], [0, 1e-3, '']]) {
    const t = C.ticks(lo, hi, unit, 5);
    assert.ok(t.length >= 2 && t.length <= 12, `${t.length} ticks for ${lo}..${hi}`);
    for (let i = 0; i < t.length; i++) {
      assert.ok(t[i].v >= lo - 1e-12 && t[i].v <= hi + 1e-9, `${t[i].v} in ${lo}..${hi}`);
      if (i) assert.ok(t[i].v > t[i - 1].v);
    }
  }
});

process.exit(failed ? 1 : 0);
