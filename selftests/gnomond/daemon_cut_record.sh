#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A follower whose last WAL record was cut after it had been synced (issue
# 13, section 5) rejoins, and never helps elect a leader that lacks the
# write it lost (Documentation/wal-format.rst, "Lost entries").  On a
# 3-member loopback cluster:
#   - with one follower stopped, a write committed by the leader and the
#     other follower; that follower then loses the write's record; with the
#     leader away, it and the member that never had the write elect no
#     leader (before the fix they did, and the acknowledged write was
#     gone); once the old leader is back, the write is read back;
#   - a follower stopped, its last segment truncated a few bytes inside its
#     last record, and restarted keeps running with a stable leader, says
#     what it lost, gets the entry back and votes again (before the fix it
#     exited: "the data directory was lost").
# Every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

gd_etcdctl_plan 9 daemon-cut-record

# until_eq I SECONDS WANT CMD...: poll CMD until it prints WANT; give up
# after SECONDS, or as soon as member I is not running.  Prints the last
# output.
until_eq()
{
	local i=$1 end=$((SECONDS + $2)) want=$3 out=
	shift 3
	while [ $SECONDS -lt $end ] && gd_alive "$i"; do
		out=$("$@")
		[ "$out" = "$want" ] && break
		sleep 0.2
	done
	echo "$out"
}

# logged I TEXT: yes once member I's log has a line with TEXT.
logged() { grep -q "$2" "$GD_DIR/n$1.log" && echo yes; }

fail_early()
{
	ktap_fail "$1" "$2"
	ktap_finish
	exit 1
}

gd_cluster_init 3
for i in 1 2 3; do gd_start "$i"; done
leader=$(gd_wait_leader 15) || fail_early "a leader is elected" \
	"$(tail -n 5 "$GD_DIR"/n*.log)"
cut=$(( leader % 3 + 1 ))
other=$(( cut % 3 + 1 ))
for k in 1 2 3; do gd_etcdctl put "/c/$k" "v$k" >/dev/null; done

# 1. The safety rule: the write lives on the leader and on the member
# that loses it; the third member never had it.
gd_kill "$other" TERM
out=$(gd_etcdctl put /c/k2 only-two)
[ "$out" = OK ] || fail_early "a write with two members up" "put: [$out]"
[ "$(until_eq "$cut" 15 only-two gd_get "$cut" /c/k2)" = only-two ] ||
	fail_early "the follower has the write" ""
gd_kill "$cut" TERM
what=$(gd_cut_last_record "$GD_DIR/n$cut") ||
	fail_early "a record to cut" "$(ls -l "$GD_DIR/n$cut")"
ktap_diag "member $cut: cut $what"
gd_kill "$leader" TERM
gd_start "$cut"
gd_start "$other"
if new=$(gd_wait_leader 5); then
	ktap_fail "without the old leader, no leader lacking the write" \
		"member $new was elected"
else
	ktap_ok "without the old leader, no leader lacking the write"
fi
lost=$(gd_status "$cut" lost_upto)
if [ -n "$lost" ] && [ "$lost" != 0 ] && gd_alive "$cut"; then
	ktap_ok "the member that lost the write waits (lost_upto $lost)"
else
	ktap_fail "the member that lost the write waits" "lost_upto [$lost]"
fi
gd_start "$leader"
new=$(gd_wait_leader 15) || new=none
got=$(ETCDCTL_API=3 timeout 20 etcdctl --endpoints="$(gd_endpoints)" \
	--command-timeout=15s get --print-value-only /c/k2 2>&1)
if [ "$got" = only-two ]; then
	ktap_ok "the acknowledged write survives (leader $new)"
else
	ktap_fail "the acknowledged write survives (leader $new)" "get: [$got]"
fi
got=$(until_eq "$cut" 15 0 gd_status "$cut" lost_upto)
if [ "$got" = 0 ] &&
   [ "$(until_eq "$cut" 15 only-two gd_get "$cut" /c/k2)" = only-two ]; then
	ktap_ok "the member that lost it has it back and votes again"
else
	ktap_fail "the member that lost it has it back and votes again" \
		"lost_upto [$got]"
fi

# 2. The report: a stable leader, a follower with its last record cut.
leader=$(gd_wait_leader 15) || fail_early "a leader" ""
for cut in $(( leader % 3 + 1 )) $(( (leader + 1) % 3 + 1 )); do
	gd_alive "$cut" && break
done
: > "$GD_DIR/n$cut.log"
gd_etcdctl put /c/last yes >/dev/null
[ "$(until_eq "$cut" 15 yes gd_get "$cut" /c/last)" = yes ] ||
	fail_early "the follower has the last write" ""
gd_kill "$cut" TERM
what=$(gd_cut_last_record "$GD_DIR/n$cut") ||
	fail_early "a record to cut" "$(ls -l "$GD_DIR/n$cut")"
ktap_diag "member $cut: cut $what"
gd_start "$cut"
got=$(until_eq "$cut" 15 yes gd_get "$cut" /c/last)
if [ "$got" = yes ] && gd_alive "$cut"; then
	ktap_ok "the member with its last record cut rejoins and has the write"
else
	ktap_fail "the member with its last record cut rejoins and has the write" \
		"read [$got]; $(tail -n 3 "$GD_DIR/n$cut.log")"
fi
if grep -q "lost entries up to index" "$GD_DIR/n$cut.log"; then
	ktap_ok "it says it lost entries"
else
	ktap_fail "it says it lost entries" "$(tail -n 3 "$GD_DIR/n$cut.log")"
fi
# The status file from before the restart said 0 too: wait for the log.
voted=$(until_eq "$cut" 15 yes logged "$cut" "it votes again")
got=$(gd_status "$cut" lost_upto)
if [ "$voted" = yes ] && [ "$got" = 0 ]; then
	ktap_ok "once the leader gave the entries back it votes again"
else
	ktap_fail "once the leader gave the entries back it votes again" \
		"lost_upto [$got]"
fi
sleep 1
if ! grep -q "data directory was lost" "$GD_DIR/n$cut.log" &&
   gd_alive "$cut"; then
	ktap_ok "it is not taken for a lost data directory"
else
	ktap_fail "it is not taken for a lost data directory" \
		"$(grep -h "data directory" "$GD_DIR/n$cut.log")"
fi
dead=
for i in 1 2 3; do
	gd_alive "$i" || dead="$dead $i"
done
if [ -z "$dead" ]; then
	ktap_ok "every member still runs"
else
	ktap_fail "every member still runs" "stopped:$dead"
fi
ktap_finish
