#!/usr/bin/env bash
# Installs the peer's npm dependencies (ws) into bench/peers/node-ws/node_modules.
# Uses the lock file when present (npm ci), else resolves package.json.
set -euo pipefail
cd "$(dirname "$0")"
if [[ -d node_modules/ws ]]; then exit 0; fi
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
