#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gnomond's read modes: with a SYNCHRONIZED clock (gnomon-syncd, static
# 1 ms source, into a private shared-memory file) the leader serves
# linearizable reads under its lease and says so (status file, log line);
# when the clock stops being synchronized (the agent is stopped and its
# data ages), the leader falls back to ReadIndex by itself and reads keep
# working.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

N=6
ktap_plan $N
if ! command -v etcdctl >/dev/null || [ ! -x "$GD_SYNCD" ]; then
	ktap_skip_all daemon-lease "etcdctl or gnomon-syncd missing"
fi

# wait_field SECONDS I FIELD WANT
wait_field()
{
	for _ in $(seq $(( $1 * 10 ))); do
		[ "$(gd_status "$2" "$3")" = "$4" ] && return 0
		sleep 0.1
	done
	return 1
}

gd_cluster_init 3 --synchronized
for i in 1 2 3; do gd_start "$i"; done
leader=$(gd_wait_leader 15) || leader=
if [ -n "$leader" ] && wait_field 10 "$leader" read_mode lease; then
	ktap_ok "the leader reads under its lease with a synchronized clock"
else
	ktap_fail "the leader reads under its lease with a synchronized clock" \
		"leader ${leader:-none}: $(cat "$GD_DIR"/n*/status 2>/dev/null)"
fi
ktap_check "the log says so" grep -q "read mode lease (clock synchronized)" \
	"$GD_DIR/n${leader:-1}.log"
get_lease() {
	gd_etcdctl put /lease v >/dev/null
	ETCDCTL_API=3 timeout 20 etcdctl --endpoints="$(gd_endpoint "${leader:-1}")" \
		get /lease --print-value-only 2>&1
}
if [ "$(get_lease)" = v ]; then
	ktap_ok "a lease read returns the last write"
else
	ktap_fail "a lease read returns the last write" "$(get_lease)"
fi

kill "$GD_SYNCD_PID"
wait "$GD_SYNCD_PID" 2>/dev/null
GD_SYNCD_PID=
if [ -n "$leader" ] && wait_field 20 "$leader" read_mode read-index; then
	ktap_ok "without a synchronized clock the leader falls back to ReadIndex"
else
	ktap_fail "without a synchronized clock the leader falls back to ReadIndex" \
		"$(cat "$GD_DIR/n${leader:-1}/status" 2>/dev/null)"
fi
ktap_check "the log says so" grep -q "read mode read-index" \
	"$GD_DIR/n${leader:-1}.log"
put_get() {
	gd_etcdctl put /lease w >/dev/null
	gd_etcdctl get /lease --print-value-only
}
if [ "$(put_get)" = w ]; then
	ktap_ok "ReadIndex reads return the last write"
else
	ktap_fail "ReadIndex reads return the last write" "$(put_get)"
fi
ktap_finish
