#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One lease holding on a fresh 3-member gnomond cluster, to tell a client
# that renews late from a server that lets leases go early:
#   gnomond-coord-hold.sh LEASES TTL HOLD_SECONDS [STOP_SECONDS]
# grants LEASES leases of TTL seconds and keeps them alive
# (gnomond-coordbench.py hold) for HOLD_SECONDS, then, if STOP_SECONDS is
# given, starves the holder by stopping it (SIGSTOP) that long, and ends
# the holding.  The holder's last line says how many revocations found
# their lease gone (NOT_FOUND) and whether each was late (sent a TTL or
# more after the last answered renewal: the lease may rightly have
# expired) or early (gnomond broke Documentation/lease-safety.rst's
# guarantee).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bench=$top/tools/bench/gnomond-coordbench.py
if [ $# -lt 3 ]; then
	sed -n '4,14s/^# \{0,1\}//p' "$0" >&2
	exit 2
fi
dir=$(mktemp -d /tmp/gnomond-hold.XXXXXX)
base=$(( 27000 + (RANDOM % 100) * 20 ))
members=3
holder=
. "$top/tools/bench/cluster.sh"
trap '[ -z "$holder" ] || kill -KILL "$holder" 2>/dev/null; cleanup; rm -rf "$dir"' EXIT

start gnomond || exit 1
ep=$(leader)
echo "# leader $ep, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 "$bench" hold "$ep" "$1" "$2" 0 >"$dir/hold.out" 2>&1 &
holder=$!
for _ in $(seq 600); do
	grep -q '^ready' "$dir/hold.out" && break
	kill -0 "$holder" 2>/dev/null || break
	sleep 0.5
done
if ! grep '^ready' "$dir/hold.out"; then
	echo "# holder not ready: $(tail -1 "$dir/hold.out")" >&2
	exit 1
fi
sleep "$3"
if [ "${4:-0}" != 0 ]; then
	kill -STOP "$holder"
	sleep "$4"
	kill -CONT "$holder"
fi
kill -TERM "$holder"
wait "$holder"
holder=
tail -1 "$dir/hold.out"
