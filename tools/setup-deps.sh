#!/usr/bin/env bash
# Installs, with apt-get, the Debian 12 packages ringchat needs and that are
# missing. Idempotent: installs nothing when everything is present.
#
#   tools/setup-deps.sh          build and run the server
#   tools/setup-deps.sh --test   also everything the test suite uses
set -euo pipefail

build_pkgs=(g++ meson ninja-build pkg-config liburing-dev libwolfssl-dev libxxhash-dev
            libmimalloc-dev node-llhttp libsimdjson-dev libcli11-dev libgtest-dev
            libbenchmark-dev libhiredis-dev)
# clang and its runtime libraries (libFuzzer, sanitizers) build fuzz/.
test_pkgs=(python3 python3-websockets nodejs npm curl openssl iproute2 procps clang-format
           chromium nginx libnginx-mod-nchan clang libclang-rt-14-dev prometheus
           redis-server)

pkgs=("${build_pkgs[@]}")
[[ "${1:-}" == "--test" ]] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  # nodejs/npm may come from another source than Debian's archive: a working
  # command is as good as the package.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup-deps: installing ${missing[*]}" >&2
sudo=""
[[ $(id -u) -ne 0 ]] && sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
