#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# gnomon-fenced's endpoint failover in the VM: a 3-member gnomond cluster,
# agent A holding the lock through a follower (its first endpoint), agent B
# queued.  SIGKILL that member: A moves to the next endpoint with the same
# session, keeps the lock with the same token and goes on renewing its
# kernel lease; B never gets it.  Never two holders: in the netlink events
# (gnomonctl monitor), no kernel lease of one agent is granted or renewed
# before the other's last granted end.
# Negative control: A with that one member as its only endpoint: when it is
# killed A loses the lock and B takes over (so "keeps the lock" can fail),
# again never two holders.  TTL 2s: TCG under load is slow.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/fence/fence.sh"
. "$top/selftests/gnomond/cluster_lib.sh"
. "$top/selftests/fenced/fenced_lib.sh"

ktap_plan 9
[ -x "$FD_FENCED" ] && [ -x "$GD_BIN" ] ||
	ktap_skip_all fenced_failover "gnomon-fenced or gnomond is not built"
fence_setup || ktap_skip_all fenced_failover "dm_mod or dm-gnomon-fence.ko cannot be loaded"
RA=fenced_foa_$$
RB=fenced_fob_$$
fence_grant $RA 1 1ms
fence_grant $RB 1 1ms

gd_cluster_init 3
FD_DIR=$GD_DIR
MON_PID=
cleanup()
{
	[ -n "$MON_PID" ] && kill "$MON_PID" 2>/dev/null && wait "$MON_PID" 2>/dev/null
	fd_cleanup
	gd_cluster_cleanup
	fence_teardown
}
trap cleanup EXIT
gd_start_all
$CTL monitor > "$GD_DIR/monitor.log" 2>&1 &
MON_PID=$!

agent() { fd_agent "$@" --ttl 2s; }
# The agents' lease_granted events (grants and renewals; token 1 is the
# resources' creation) of one resource that came while the other's last
# granted end was still ahead: two holders.
overlaps()
{
	awk -v a=$RA -v b=$RB '$1 == "lease_granted" {
		n = t = e = k = ""
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "name") n = kv[2]
			else if (kv[1] == "time_ns") t = kv[2]
			else if (kv[1] == "end_ns") e = kv[2]
			else if (kv[1] == "token") k = kv[2]
		}
		if ((n != a && n != b) || k + 0 <= 1) next
		o = n == a ? b : a
		if ((o in end) && end[o] + 0 > t + 0) bad++
		end[n] = e
		grants++
	} END { print bad + 0, grants + 0 }' "$GD_DIR/monitor.log"
}
end_ns() { cat "$LEASES/$RA/end_ns"; }
# A follower, and every member with it first.
f=1
[ "$GD_LEADER" = 1 ] && f=2
eps=$(gd_endpoint $f)
for i in 1 2 3; do
	[ $i = $f ] || eps=$eps,$(gd_endpoint $i)
done

# 1. A holds through the follower f, B waits.
agent A $RA --endpoints "$eps"
if fd_holds A && [ "$(fd_field A endpoint)" = "$(gd_endpoint $f)" ]; then
	ktap_ok "A holds the lock through member $f, a follower"
else
	ktap_fail "A holds the lock through member $f, a follower" "$(fd_diag_logs)"
fi
tokA=$(fd_field A token)
agent B $RB
fd_until_grep "asking for lock" "$FD_DIR/B.log"
sleep 2
ktap_eq "B waits for the lock" idle "$(fd_field B state)"

# 2. SIGKILL member f: A fails over and keeps the lock.
gd_kill $f
for i in $(seq 100); do
	[ "$(fd_field A reconnects)" != 0 ] && break
	sleep 0.1
done
if [ "$(fd_field A reconnects)" != 0 ] && [ "$(fd_field A endpoint)" != "$(gd_endpoint $f)" ]; then
	ktap_ok "A moves to another endpoint ($(fd_field A endpoint))"
else
	ktap_fail "A moves to another endpoint" "$(fd_diag_logs)"
fi
e0=$(end_ns)
sleep 3
e1=$(end_ns)
if [ "$(fd_field A state)" = holding ] && [ "$(fd_field A token)" = "$tokA" ] &&
	[ "$(fd_field A losses)" = 0 ] && [ "$(cat "$LEASES/$RA/state")" = held ] &&
	[ "$e1" -gt "$e0" ]; then
	ktap_ok "A keeps the lock, token $tokA, and renews its kernel lease"
else
	ktap_fail "A keeps the lock, token $tokA, and renews its kernel lease" \
		"end $e0 -> $e1 $(cat "$FD_DIR/A.status") $(fd_diag_logs)"
fi
ktap_eq "B still waits" idle "$(fd_field B state)"
set -- $(overlaps)
ktap_eq "never two holders ($2 kernel lease grants and renewals)" 0 "$1"

# 3. Negative control: A's only endpoint is the member that dies.
fd_cleanup
FD_PIDS=()
gd_start $f
gd_wait_leader 10 > /dev/null
mkdir -p "$GD_DIR/ctl"
FD_DIR=$GD_DIR/ctl
FD_LOCK=fenced_ctl_$$
agent A $RA --endpoints "$(gd_endpoint $f)"
fd_holds A
tokA=$(fd_field A token)
agent B $RB
fd_until_grep "asking for lock" "$FD_DIR/B.log"
sleep 2
ktap_eq "control: A holds through member $f alone, B waits" "holding idle" \
	"$(fd_field A state) $(fd_field B state)"
gd_kill $f
# A's agent gives up when its earliest passes its bound, about when B may
# grant (B waits for its earliest to pass E, A's last possible end): the
# two status files change within moments of each other, in either order.
a_gone()
{
	local i
	for i in $(seq 50); do
		[ "$(fd_field A state)" != holding ] && return 0
		sleep 0.1
	done
	return 1
}
if fd_wait B state holding 30 && a_gone; then
	ktap_ok "negative control: with no other endpoint A loses the lock, B takes over"
else
	ktap_fail "negative control: with no other endpoint A loses the lock, B takes over" \
		"$(fd_diag_logs)"
fi
sleep 1
set -- $(overlaps)
ktap_eq "control: never two holders ($2 kernel lease grants and renewals)" 0 "$1"
ktap_finish
