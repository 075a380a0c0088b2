#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (in build-fuzz/, module
# libraries instrumented) and runs each for a while on its seed corpus
# (fuzz/corpus/<target>/) with its dictionary (fuzz/dict/<target>.dict) if
# it has one. New inputs go to build-fuzz/corpus/<target>/ (kept between
# runs; the seeds in git are only read). An input that crashes a target, or
# breaks one of its invariants, is saved as fuzz/crashes/<target>/crash-*
# and the script exits 1 once every target has run. See fuzz/README.md.
#
#   tools/fuzz.sh                      every target, 10 s each
#   tools/fuzz.sh -t 300 http_request  one target, 5 minutes
#   tools/fuzz.sh -t 3                 the bounded run of tools/test.sh
#
# One line per target: "fuzz TARGET: ok (N runs, CPU s)" or
# "fuzz TARGET: CRASH (fuzz/crashes/TARGET/crash-...)". Exits 2 without
# clang++.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=10
dir=build-fuzz
while getopts "t:b:" opt; do
  case "$opt" in
    t) seconds=$OPTARG ;;
    b) dir=$OPTARG ;;
    *) sed -n '2,17p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

if ! command -v clang++ >/dev/null || ! command -v clang >/dev/null; then
  echo "fuzz: clang++ not found (tools/setup-deps.sh --test installs it)" >&2
  exit 2
fi

# Every target (fuzz/*_fuzz.cc, each listed in fuzz/meson.build), unless
# some are named.
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in fuzz/*_fuzz.cc; do targets+=("$(basename "$f" _fuzz.cc)"); done
fi

if [[ ! -f $dir/build.ninja ]]; then
  CC=clang CXX=clang++ meson setup "$dir" --buildtype=debugoptimized -Dfuzz=true -Dtests=false \
    -Dbench=false -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fsanitize=fuzzer-no-link -Dcpp_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C "$dir" $(printf "fuzz/%s_fuzz " "${targets[@]}") >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
for t in "${targets[@]}"; do
  bin=$dir/fuzz/${t}_fuzz
  work=$dir/corpus/$t
  crashes=fuzz/crashes/$t
  log=$dir/fuzz-$t.log
  mkdir -p "$work" "$crashes"
  args=(-max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$crashes/")
  [[ -f fuzz/dict/$t.dict ]] && args+=(-dict="fuzz/dict/$t.dict")
  TIMEFORMAT='%U %S'
  set +e
  { time "$bin" "${args[@]}" "$work" "fuzz/corpus/$t" >"$log" 2>&1; } 2>"$log.time"
  rc=$?
  set -e
  cpu=$(awk '{printf "%.1f", $1 + $2}' "$log.time")
  runs=$(awk '/stat::number_of_executed_units/ {print $NF}' "$log")
  if [[ $rc -eq 0 ]]; then
    echo "fuzz $t: ok (${runs:-?} runs, ${cpu} s CPU)"
  else
    failed=1
    artifact=$(grep -o "$crashes/[a-z-]*-[0-9a-f]*" "$log" | tail -1 || true)
    echo "fuzz $t: CRASH (${artifact:-see $log}, exit $rc)"
    tail -40 "$log" >&2
  fi
  rmdir "$crashes" fuzz/crashes 2>/dev/null || true
done
exit $failed
