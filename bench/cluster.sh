#!/usr/bin/env bash
# ringchat's cluster mode over Redis against one node, and Socket.IO with its
# Redis adapter on two Node processes, under identical tools/ringload
# scenarios: A/B interleaved, medians and ratios, CPU of the nodes and of
# redis-server per delivery, Redis round trips per publish, and whether
# every member sees one order. See bench/cluster.py for the scenarios.
# Starts its own redis-server (Debian's; loopback, no persistence). Writes
# the Markdown table to stdout, and OUT/results.json and OUT/report.html.
#
#   bench/cluster.sh [--reps 3] [--steady 5] [--only fan,rate] [--skip-order] [--out DIR]
#
# Needs build/ringchat and build/tools/ringload/ringload (RINGCHAT_BIN and
# RINGLOAD_BIN override), redis-server and redis-cli, node and npm (the
# Socket.IO peer's packages are installed here with npm ci), python3-websockets.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -x "$RINGCHAT_BIN" ]] || bench_die "no ringchat at $RINGCHAT_BIN: ninja -C build ringchat"
bench_have_ringload || bench_die "no ringload at $RINGLOAD_BIN: ninja -C build tools/ringload/ringload"
command -v redis-server >/dev/null || bench_die "no redis-server (Debian: apt-get install redis-server)"
command -v redis-cli >/dev/null || bench_die "no redis-cli (Debian: redis-tools)"
"$BENCH_ROOT/bench/peers/socketio/install.sh" >&2 || bench_die "npm ci of the Socket.IO peer failed"
exec "$PY" "$BENCH_ROOT/bench/cluster.py" "$@"
