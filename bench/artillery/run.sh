#!/usr/bin/env bash
# Runs bench/artillery/ringchat.yml with Artillery (npm `artillery`), installing
# it into bench/artillery/node_modules first if needed (a large install: a few
# minutes). Arguments go to `artillery run` (e.g. --target URL, -e quick,
# --output report.json). Artillery's telemetry is switched off.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$here/node_modules/.bin/artillery" ]]; then
  # The Playwright engine's browser download is not needed for WebSocket
  # scenarios (and could not reach its host here): skip install scripts.
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts \
    --no-audit --no-fund --loglevel=error) >&2
fi
export ARTILLERY_DISABLE_TELEMETRY=true NO_UPDATE_NOTIFIER=1
exec "$here/node_modules/.bin/artillery" run "$@" "$here/ringchat.yml"
