#!/usr/bin/env bash
# Runs nginx with the nchan module in the foreground for the SSE benches:
#   bench/peers/nchan/start.sh DIR PORT
# writes DIR/nginx.conf from nginx.conf.in (pid, logs and temp files in DIR,
# 127.0.0.1:PORT, one worker) and execs nginx; its pid is the master's, and
# SIGTERM stops it with its worker. Needs Debian's nginx and
# libnginx-mod-nchan (tools/setup-deps.sh --test).
set -euo pipefail
dir="$1" port="$2"
here="$(cd "$(dirname "$0")" && pwd)"
[[ -x /usr/sbin/nginx ]] || { echo "nchan peer: no /usr/sbin/nginx (apt-get install nginx libnginx-mod-nchan)" >&2; exit 1; }
[[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ]] ||
  { echo "nchan peer: no nchan module (apt-get install libnginx-mod-nchan)" >&2; exit 1; }
mkdir -p "$dir"
nofile=$(ulimit -Hn)
[[ "$nofile" == unlimited ]] && nofile=1048576
conns=$((nofile - 100))
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@NOFILE@|$nofile|g" -e "s|@CONNS@|$conns|g" \
  "$here/nginx.conf.in" >"$dir/nginx.conf"
exec /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log"
