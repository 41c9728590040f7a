#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Locks and elections on a 3-member gnomond cluster with a synchronized
# clock: etcdctl 3.4's client-side recipes, unchanged (lock with
# ETCD_LOCK_KEY and ETCD_LOCK_REV, two holders in turn with a rising
# ETCD_LOCK_REV; elect and elect -l), then etcd's Lock service called directly
# (daemon_lock_service.py), and etcd's Election service called directly
# (daemon_election_service.py).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

gd_etcd_cluster --synchronized 6 daemon-etcd-lock etcd3 grpc
leader=$GD_LEADER
sleep 0.5
f=$(( leader % 3 + 1 ))
export ETCDCTL_API=3

lk() { timeout 20 etcdctl --endpoints="$(gd_endpoint "$1")" lock mylock -- \
	sh -c "echo \"\$ETCD_LOCK_KEY \$ETCD_LOCK_REV \$(date +%s.%N)\"; sleep $2"; }
lk "$leader" 2 >"$GD_DIR/lk1" 2>&1 &
first=$!
sleep 0.7
lk "$f" 0 >"$GD_DIR/lk2" 2>&1
wait "$first"
read -r k1 r1 t1 <"$GD_DIR/lk1"
read -r k2 r2 t2 <"$GD_DIR/lk2"
case "$k1 $k2" in
mylock/*" "mylock/*) ktap_ok "etcdctl lock exports ETCD_LOCK_KEY" ;;
*)	ktap_fail "etcdctl lock exports ETCD_LOCK_KEY" "$k1 / $k2" ;;
esac
ktap_check "the second holder waited for the first (2 s)" \
	awk -v a="${t1:-0}" -v b="${t2:-0}" 'BEGIN { exit !(b - a >= 1.9) }'
ktap_check "and got a higher ETCD_LOCK_REV (the granting revision, not the token: operations.rst)" \
	test "${r2:-0}" -gt "${r1:-0}"

timeout 6 etcdctl --endpoints="$(gd_endpoint "$leader")" elect ours p1 \
	>"$GD_DIR/elect" 2>&1 &
sleep 1.5
ktap_eq "elect -l on another member sees the leader's proposal" "p1" \
	"$(timeout 3 etcdctl --endpoints="$(gd_endpoint "$f")" elect -l ours |
		sed -n 2p)"
# A grpcio test of one service against the leader and a follower.
service_test() {
	out=$(timeout 90 /usr/bin/python3 "$top/selftests/gnomond/$2" \
		"$(gd_client_port "$leader")" "$(gd_client_port "$f")" 2>&1)
	if printf '%s\n' "$out" | grep -q '^# [0-9]* tests, 0 failed'; then
		ktap_ok "the $1 service ($2)"
	else
		ktap_fail "the $1 service ($2)" "$out"
	fi
	printf '%s\n' "$out" | sed 's/^/# /'
}
service_test Lock daemon_lock_service.py
service_test Election daemon_election_service.py
ktap_finish
