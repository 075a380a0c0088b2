#!/usr/bin/env bash
# ringchat over TLS against plain under tools/ringload --tls (not a test):
# ws vs wss echo and fan-out with 1 KiB and 64 B messages (server CPU per
# delivery, throughput, wss/ws), full vs resumed TLS handshakes (handshakes
# per server CPU-second), and memory per idle TLS connection vs plain
# (bench/idle_memory.sh --tls). A/B interleaved, medians and ratios; server
# pinned to CPU 0, ringload to CPU 1, loopback only. See bench/tls.py for
# the scenarios.
#
#   bench/tls.sh [--reps 3] [--steady 5] [--only echo,fanout,hs,idle] [--idle-n 10000] [--out DIR]
#
# Needs build/ringchat and build/tools/ringload/ringload (RINGCHAT_BIN and
# RINGLOAD_BIN override) and the openssl command line (certificates are made
# for the run).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -x "$RINGCHAT_BIN" ]] || bench_die "no ringchat at $RINGCHAT_BIN: ninja -C build ringchat"
bench_have_ringload || bench_die "no ringload at $RINGLOAD_BIN: ninja -C build tools/ringload/ringload"
command -v openssl >/dev/null || bench_die "no openssl command line (apt-get install openssl)"
export RINGCHAT_BIN RINGLOAD_BIN
exec "$PY" "$BENCH_ROOT/bench/tls.py" "$@"
