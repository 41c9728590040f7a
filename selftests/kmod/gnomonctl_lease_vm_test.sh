#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# gnomonctl lease and gnomonctl monitor against the real module: fencing
# events arrive in the order they happen (clock synchronized, grant, stale
# token refused, lapse, clock unsynchronized), the netlink dump lists the
# leases, and the lease commands and the event group refuse nobody.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
ctl=$top/build/bin/gnomonctl
tmp=$(mktemp -d)
mon=
cleanup()
{
	[ -n "$mon" ] && kill "$mon" 2> /dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ktap_plan 7

# Fresh state: no leases, an unsynchronized clock.
rmmod gnomon && insmod "$GNOMON_VM_MODULE" || { echo "Bail out! reload failed"; exit 1; }

$ctl monitor --json --count 6 --timeout 120s > "$tmp/events" 2> "$tmp/monitor.err" &
mon=$!
for _ in $(seq 100); do
	grep -q monitoring "$tmp/monitor.err" && break
	sleep 0.1
done
$ctl discipline --error 1ms --interval 10s > /dev/null
# 5 s: the stale grant must come before the lapse even in a slow guest.
$ctl lease grant lun0 --token 5 --ttl 5s --holder host-a > /dev/null
$ctl lease grant lun0 --token 4 --ttl 1s --holder host-b > /dev/null 2>&1
# Bounded: the lapse is due 5 s after the grant.
for _ in $(seq 300); do
	[ "$(jq -r 'select(.event == "lease_lapsed") | .name' "$tmp/events" 2> /dev/null)" = lun0 ] && break
	sleep 0.1
done
$ctl lease grant lun1 --token 1 --ttl 600s > /dev/null
$ctl discipline --unsync > /dev/null
wait "$mon"
rc=$?
mon=

ktap_eq "monitor saw six events and exited" "0 6" "$rc $(wc -l < "$tmp/events")"
ktap_eq "events in order: sync, grant, stale, lapse, grant, unsync" \
	"clock_status lease_granted stale_refused lease_lapsed lease_granted clock_status" \
	"$(jq -r .event "$tmp/events" | tr '\n' ' ' | sed 's/ $//')"
ktap_eq "event fields" \
	"synchronized|lun0 host-a 5|lun0 4 5|lun0 5 expired true|lun1  1|unsynchronized|" \
	"$(jq -r 'if .event == "clock_status" then .clock_status
		  elif .event == "lease_granted" then "\(.name) \(.holder) \(.token)"
		  elif .event == "stale_refused" then "\(.name) \(.token) \(.highest_token)"
		  elif .event == "lease_lapsed" then "\(.name) \(.token) \(.state) \(.late_ns >= 0)"
		  else "" end' "$tmp/events" | tr '\n' '|')"

# Judged now: the clock is unsynchronized, so neither holds for that reason.
out=$($ctl monitor --dump --json)
ktap_eq "the dump lists the leases" \
	"lun0 5 clock 1 1|lun1 1 clock 0 1|" \
	"$(jq -r '"\(.name) \(.token) \(.state) \(.stale_refused) \(.lapses)"' <<< "$out" | tr '\n' '|')"

out=$(setpriv --reuid=65534 --regid=65534 --clear-groups $ctl monitor --dump --json)
ktap_eq "nobody may dump" "lun0 lun1 " "$(jq -r .name <<< "$out" | tr '\n' ' ')"

# nobody_refused NAME ARGS...: gnomonctl ARGS as nobody exits 1 naming
# the capability it lacks.
nobody_refused()
{
	local name=$1 err rc
	shift
	err=$(setpriv --reuid=65534 --regid=65534 --clear-groups $ctl "$@" 2>&1)
	rc=$?
	ktap_eq "$name" "1 yes" "$rc $(grep -q CAP_SYS_ADMIN <<< "$err" && echo yes || echo "no: $err")"
}

nobody_refused "nobody may not join the fencing group" monitor --timeout 1s
nobody_refused "nobody may not release a lease" lease release lun0
ktap_finish
