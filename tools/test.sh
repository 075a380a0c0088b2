#!/usr/bin/env bash
# Installs what is missing, builds everything (server, tests, benchmarks,
# ringload) and runs every test: unit, integration, end-to-end with real
# clients, and ringload's own, after checking the C++ layout (.clang-format);
# then, in the release run, each fuzz target for a few seconds (fuzz/,
# tools/fuzz.sh; skipped only where clang++ is missing).
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
# The fuzz targets, 3 s each on their seed corpora: about 20 s, plus about
# 2 minutes (2 cores) the first time, to build build-fuzz/ with clang. A
# crash input is saved in fuzz/crashes/.
if [[ -z "${1:-}" ]]; then
  if command -v clang++ >/dev/null && command -v clang >/dev/null; then
    bash tools/fuzz.sh -t 3 2>&1 | tee -a "$out"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || rc=1
  else
    echo "fuzz: skipped (clang++ not installed)" | tee -a "$out"
  fi
fi
set -e
# meson's summary ("Ok: N", "Fail: N", ...) restated in the plain form, the
# fuzz targets counted as tests.
awk '/^Ok:/ {ok+=$2} /^(Fail|Timeout|Unexpected Pass):/ {bad+=$NF} /^Skipped:/ {skip+=$2}
     /^fuzz [a-z_]+: ok/ {ok++} /^fuzz [a-z_]+: CRASH/ {bad++} /^fuzz: skipped/ {skip++}
     END {printf "%d passed, %d failed, %d skipped\n", ok, bad, skip}' "$out"
rm -f "$out"
exit $rc
