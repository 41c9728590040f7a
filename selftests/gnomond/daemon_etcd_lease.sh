#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# etcd leases on a 3-member gnomond cluster with a synchronized clock,
# through Debian's etcdctl 3.4, unchanged: grant (on a follower: forwarded),
# put --lease, timetolive --keys, list, keep-alive (the bidirectional
# stream), revoke deleting the keys, expiry without keepalives, a lease
# kept alive past several TTLs, and one kept alive across the SIGKILL of
# the leader, which survives the change and then expires on the new one.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

gd_etcd_cluster --synchronized 14 daemon-etcd-lease
leader=$GD_LEADER
sleep 0.5
f=$(( leader % 3 + 1 ))

# ec I ARGS...: etcdctl against member I only.
ec()
{
	local i=$1
	shift
	ETCDCTL_API=3 timeout 20 etcdctl --endpoints="$(gd_endpoint "$i")" \
		--command-timeout=10s "$@" 2>&1
}
get() { ec "$1" get "$2" --print-value-only; }

out=$(ec "$f" lease grant 30)
id=$(echo "$out" | awk '/granted/ {print $2}')
ktap_check "lease grant on a follower" test -n "$id"
ktap_eq "put --lease" OK "$(ec "$f" put --lease="$id" /svc/a 198.18.9.1)"
out=$(ec "$leader" lease timetolive "$id" --keys)
case $out in
*"granted with TTL(30s)"*"attached keys([/svc/a])"*)
	ktap_ok "timetolive --keys lists the key" ;;
*)	ktap_fail "timetolive --keys lists the key" "$out" ;;
esac
ktap_check "lease list" sh -c "echo '$(ec "$f" lease list)' | grep -qx '$id'"
ktap_eq "keep-alive --once" "lease $id keepalived with TTL(30)" \
	"$(ec "$f" lease keep-alive --once "$id")"
out=$(ec "$f" put --lease=1234 /svc/b x)
case $out in
*"requested lease not found"*) ktap_ok "put with a missing lease" ;;
*)	ktap_fail "put with a missing lease" "$out" ;;
esac
ktap_eq "revoke" "lease $id revoked" "$(ec "$f" lease revoke "$id")"
ktap_eq "the revoke deleted the key on every member" ",,," \
	"$(for i in 1 2 3; do printf '%s,' "$(get "$i" /svc/a)"; done)"

# Expiry: no keepalive, the key goes after its TTL (2 s), not at once.
id=$(ec "$f" lease grant 2 | awk '/granted/ {print $2}')
ec "$f" put --lease="$id" /svc/short x >/dev/null
ktap_eq "a fresh lease's key is there" x "$(get "$f" /svc/short)"
ktap_eq "without keepalives the lease expires and its key goes" "" \
	"$(gd_until_eq 15 "" get "$f" /svc/short)"

# A keepalive stream keeps a 2 s lease for 6 s.
id=$(ec "$f" lease grant 2 | awk '/granted/ {print $2}')
ec "$f" put --lease="$id" /svc/kept x >/dev/null
ec "$f" lease keep-alive "$id" >/dev/null &
ka=$!
sleep 6
ktap_eq "a kept-alive lease outlives three TTLs" x "$(get "$f" /svc/kept)"
kill "$ka" 2>/dev/null
wait "$ka" 2>/dev/null
ktap_eq "and expires once the keepalives stop" "" \
	"$(gd_until_eq 15 "" get "$f" /svc/kept)"

# Across a leader change: keepalives through every endpoint (the client
# moves on when its member dies) keep a 3 s lease while the leader is
# killed and a new one elected; the new leader then expires it.
id=$(ec "$f" lease grant 3 | awk '/granted/ {print $2}')
ec "$f" put --lease="$id" /svc/failover x >/dev/null
ETCDCTL_API=3 etcdctl --endpoints="$(gd_endpoints)" lease keep-alive "$id" \
	>/dev/null 2>&1 &
ka=$!
sleep 1
gd_kill "$leader"
sleep 8
ktap_eq "a kept-alive lease survives the leader's death" x \
	"$(get "$f" /svc/failover)"
kill "$ka" 2>/dev/null
wait "$ka" 2>/dev/null
ktap_eq "the new leader expires it once the keepalives stop" "" \
	"$(gd_until_eq 15 "" get "$f" /svc/failover)"
ktap_finish
