#!/usr/bin/env bash
# The server's own pages (GET / and GET /dashboard, from web/) in headless
# Chromium: web_chromium_test.js starts ringchat, a TCP proxy it can cut,
# Chromium and ringload itself, and checks chatting, reconnecting and
# resuming, a restart, SSE + POST, 320 px, the dashboard under load and the
# console. Screenshots land in ARTIFACT_DIR (chat.png, dashboard.png); with
# RINGCHAT_UPDATE_SCREENSHOTS=1 also in docs/img/.
# Usage: web_pages.sh RINGCHAT RINGLOAD ARTIFACT_DIR
set -u
source "$(dirname "$0")/lib.sh"
ringchat="$1" ringload="$2" artifacts="$3"
work="$(mktemp -d)"
trap 'kill "$test_pid" 2>/dev/null; rm -rf "$work"' EXIT

if ! have_chromium "the chat page and the dashboard"; then summary; exit; fi
ensure_node_modules || { fail "npm packages for the e2e tests"; summary; exit; }
mkdir -p "$artifacts"
test_timeout=150
CHROMIUM="$chromium" RINGCHAT_BIN="$ringchat" RINGLOAD_BIN="$ringload" E2E_WORK="$work" \
  E2E_ARTIFACT_DIR="$artifacts" run_test web node "$e2e_dir/web_chromium_test.js"
if ((failed > 0)); then
  echo "--- server log (tail)"; tail -n 20 "$work/server.log" 2>/dev/null
  echo "--- ringload log (tail)"; tail -n 10 "$work/ringload.log" 2>/dev/null
fi
summary
