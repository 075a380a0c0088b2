#!/usr/bin/env bash
# Starts the node-ws peer, installing its npm dependencies first if needed.
#   bench/peers/node-ws/start.sh [--port N] [--bind ADDR] [--no-echo]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/install.sh" >&2
exec node "$here/server.js" "$@"
