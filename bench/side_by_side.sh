#!/usr/bin/env bash
# ringchat vs the Node `ws` peer under identical tools/ringload scenarios:
# A/B interleaved, medians and ratios, server CPU per delivered message, and
# memory per idle connection. See bench/side_by_side.py for the scenarios.
# Writes the Markdown table to stdout, and OUT/results.json and
# OUT/report.html (one page comparing the servers, charts by web/charts.js).
#
#   bench/side_by_side.sh [--reps 3] [--steady 5] [--only echo,fan-1x100]
#                         [--skip-idle] [--rate 20] [--out DIR]
#
# Needs build/ringchat and build/tools/ringload/ringload (RINGCHAT_BIN and
# RINGLOAD_BIN override), node and npm (the peer's `ws` is installed here).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -x "$RINGCHAT_BIN" ]] || bench_die "no ringchat at $RINGCHAT_BIN: ninja -C build ringchat"
bench_have_ringload || bench_die "no ringload at $RINGLOAD_BIN: ninja -C build tools/ringload/ringload"
"$BENCH_ROOT/bench/peers/node-ws/install.sh" >&2 || bench_die "npm install of the peer failed"
exec "$PY" "$BENCH_ROOT/bench/side_by_side.py" "$@"
