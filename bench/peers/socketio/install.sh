#!/usr/bin/env bash
# Installs the Socket.IO peer's npm dependencies (socket.io,
# @socket.io/redis-adapter, redis) into bench/peers/socketio/node_modules
# from the lock file (npm ci; the npm registry is the only network it needs).
set -euo pipefail
cd "$(dirname "$0")"
if [[ -d node_modules/socket.io && -d node_modules/@socket.io/redis-adapter && -d node_modules/redis ]]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
