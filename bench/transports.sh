#!/usr/bin/env bash
# ringchat's transports side by side under tools/ringload (not a test): the
# JSON socket vs the raw room socket (server CPU per delivery, json/raw),
# and SSE fan-out and idle streams of ringchat vs nginx with nchan
# (deliveries per server CPU-second, bytes per idle stream). A/B interleaved,
# medians and ratios. See bench/transports.py for the scenarios.
#
#   bench/transports.sh [--reps 3] [--steady 5] [--only json,sse] [--idle-n 10000] [--out DIR]
#
# Needs build/ringchat and build/tools/ringload/ringload (RINGCHAT_BIN and
# RINGLOAD_BIN override) and, for the sse scenarios, Debian's nginx and
# libnginx-mod-nchan (tools/setup-deps.sh --test).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -x "$RINGCHAT_BIN" ]] || bench_die "no ringchat at $RINGCHAT_BIN: ninja -C build ringchat"
bench_have_ringload || bench_die "no ringload at $RINGLOAD_BIN: ninja -C build tools/ringload/ringload"
export RINGCHAT_BIN RINGLOAD_BIN
exec "$PY" "$BENCH_ROOT/bench/transports.py" "$@"
