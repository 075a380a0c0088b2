#!/usr/bin/env bash
# Installs what is missing, builds everything (server, tests, benchmarks,
# ringload) and runs every test: unit, integration, end-to-end with real
# clients, and ringload's own, after checking the C++ layout (.clang-format).
# The last line is "N passed, N failed".
#
#   tools/test.sh            release build in build-test/
#   tools/test.sh --asan     ASan+UBSan debug build in build-asan/
#   tools/test.sh --tsan     ThreadSanitizer debug build in build-tsan/
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh --test
# Layout first: a file clang-format would change fails the run (the
# sanitizer runs build the same files, so they skip it).
[[ -z "${1:-}" ]] && bash tools/check-format.sh

dir=build-test
opts=(--buildtype=release -Dwerror=true)
case "${1:-}" in
  --asan) dir=build-asan; opts=(--buildtype=debug -Db_sanitize=address,undefined -Dwerror=true) ;;
  # No -Werror: GCC warns (-Wtsan) that TSan does not model the mailbox's fences.
  --tsan) dir=build-tsan; opts=(--buildtype=debug -Db_sanitize=thread) ;;
esac
if [[ ! -f $dir/build.ninja ]]; then
  meson setup "$dir" "${opts[@]}" >/dev/null
fi
ninja -C "$dir"

out=$(mktemp)
set +e
meson test -C "$dir" --print-errorlogs --num-processes 2 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
# meson's summary ("Ok: N", "Fail: N", ...) restated in the plain form.
awk '/^Ok:/ {ok=$2} /^(Fail|Timeout|Unexpected Pass):/ {bad+=$NF} /^Skipped:/ {skip=$2}
     END {printf "%d passed, %d failed, %d skipped\n", ok, bad, skip}' "$out"
rm -f "$out"
exit $rc
