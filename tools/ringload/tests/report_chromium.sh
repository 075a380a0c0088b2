#!/usr/bin/env bash
# ringload's --html report in a real browser: a short run against ringchat
# (ramp, steady and spike phases, with churn so reconnects show) writes the
# report; check_report_html.py checks the file; headless Chromium loads it
# (tests/e2e/lib.sh run_chromium) and ringload_report_chromium_test.js checks
# it renders with no console error and non-blank charts, and saves a
# screenshot of the whole page to ARTIFACT_DIR/ringload_report.png. Then the
# same for bench/side_by_side.py's report.html, made with --retable from
# side_by_side_sample.json (a real short run's results, and an idle
# scenario): ARTIFACT_DIR/side_by_side_report.png.
#   report_chromium.sh RINGLOAD RINGCHAT ARTIFACT_DIR
# Chromium missing is a FAIL (tools/setup-deps.sh --test installs it). About 10 s.
set -uo pipefail
ringload="$1" ringchat="$2" artifacts="$3"
here="$(cd "$(dirname "$0")" && pwd)"
e2e="$(cd "$here/../../../tests/e2e" && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$e2e/lib.sh"
work="$(mktemp -d)"
cleanup() {
  stop "$test_pid" 3
  stop "$chrome_pid" 3
  stop "$server_pid" 3
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port="$(free_port)"
if ! start_server 10 "http://127.0.0.1:$port/healthz" -- \
    "$ringchat" --port "$port" --bind 127.0.0.1 --threads 1 --pub-rate 0; then
  fail "ringchat answers /healthz" "$(tail -5 "$work/server.log")"
  summary; exit
fi
if "$ringload" --url "ws://127.0.0.1:$port/ws/" --cpus 0 --mode rate -c 20 --rooms 2 --senders 4 \
    --rate 50 --churn 2 --ramp 1 --steady 2 --spike 1 --drain 1 --progress never \
    --room-prefix "report-$(rand_hex)" --server-pid "$server_pid" \
    --json "$work/report.json" --html "$work/report.html" >"$work/ringload.txt" 2>&1; then
  pass "ringload writes the report of a ramp, steady and spike run"
else
  fail "ringload writes the report of a ramp, steady and spike run" "$(oneline "$work/ringload.txt")"
  summary; exit
fi
check "the report file is well-formed and shows the run (check_report_html.py)" \
  "$("$py" "$here/check_report_html.py" "$work/report.html" "$work/report.json" | oneline /dev/stdin)" \
  "$py" "$here/check_report_html.py" "$work/report.html" "$work/report.json"

sbs="$work/side_by_side"
if "$py" "$here/../../../bench/side_by_side.py" --retable "$here/side_by_side_sample.json" \
    --out "$sbs" >"$work/sbs.txt" 2>&1 && grep -q '^| echo-20B-100 ' "$work/sbs.txt" &&
    "$py" -c 'import html.parser, sys; html.parser.HTMLParser().feed(open(sys.argv[1]).read())' \
      "$sbs/report.html"; then
  pass "side_by_side.py --retable prints the table and writes report.html"
else
  fail "side_by_side.py --retable prints the table and writes report.html" "$(oneline "$work/sbs.txt")"
fi

if have_chromium ringload_report; then
  ensure_node_modules || fail "npm ci in tests/e2e" "see above"
  mkdir -p "$artifacts"
  E2E_SCREENSHOT="$artifacts/ringload_report.png" \
    E2E_CANVAS_IDS=chart-throughput,chart-latency,chart-errors,chart-percentiles,chart-histogram \
    run_chromium "$work/chrome" "file://$work/report.html" --window-size=1280,900 -- \
    node "$e2e/ringload_report_chromium_test.js"
  # 4 overview charts, 4 per ringload scenario (3), 1 for the idle one.
  [[ -f "$sbs/report.html" ]] && E2E_WHAT=side-by-side E2E_MIN_CANVASES=17 \
    E2E_SCREENSHOT="$artifacts/side_by_side_report.png" \
    run_chromium "$work/chrome2" "file://$sbs/report.html" --window-size=1280,900 -- \
    node "$e2e/ringload_report_chromium_test.js"
fi
summary
