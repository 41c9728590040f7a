#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Removing and replacing members of a gnomond cluster on loopback with
# etcdctl 3.4 (Documentation/operations.rst, "Changing membership"):
#   - a follower removed (asked through itself) while writes go on
#     through the others: none fails, the removal is answered, and the
#     removed member says so and exits by itself (status 0);
#   - a member whose data directory was lost is replaced: started with
#     --initial-cluster-state existing before it is removed and added back
#     it is refused (the negative control: its slot has started before);
#     after member remove, member add with the same peer URL and the same
#     start, it catches up from the leader's snapshot and log, and its
#     serializable read of a key written before the loss sees it;
#   - a member removed while stopped (kill -STOP), so that it never
#     applies its removal, and its slot reused by a new member: running
#     again, its hello names its old member id and is refused; the member
#     list keeps the new member's client URL (the negative control: with
#     the id check off, the old member's hello is taken as the new one's
#     and its client URL is listed), and the new member serves;
#   - the leader removed: it exits, a new leader is elected among the
#     others, and they serve writes.
# --snapshot-count 100 and 1300 writes (python3-etcd3, else etcdctl), so
# that the leader's log is compacted past what the replacement needs
# (1024 entries trail a snapshot).  Every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

gd_etcdctl_plan 12 daemon-members-replace

# writes FROM COUNT [MEMBER...]: COUNT puts of /r/FROM.. through the
# given members (default: all); prints the number that failed.
writes()
{
	local from=$1 n=$2 fail=0 k ep= i
	shift 2
	for i in "$@"; do ep=${ep:+$ep,}$(gd_endpoint "$i"); done
	for k in $(seq "$from" $(( from + n - 1 ))); do
		ETCDCTL_API=3 timeout 30 etcdctl \
			--endpoints="${ep:-$(gd_endpoints)}" \
			--command-timeout=10s put "/r/$k" "v$k" >/dev/null 2>&1 ||
			fail=$((fail + 1))
	done
	echo "$fail"
}

# many FROM COUNT PORT: COUNT puts, fast with python3-etcd3 if it is there.
many()
{
	/usr/bin/python3 -c '
import sys
import etcd3
c = etcd3.client(port=int(sys.argv[3]), timeout=10)
for k in range(int(sys.argv[1]), int(sys.argv[1]) + int(sys.argv[2])):
    c.put("/r/%d" % k, "v%d" % k)
' "$@" 2>/dev/null || writes "$1" "$2" >/dev/null
}

gd_cluster_init 5
GD_N=4
for i in 1 2 3 4; do gd_start "$i" --snapshot-count 100; done
leader=$(gd_wait_leader 15) || { ktap_fail "a leader is elected" \
	"$(tail -n 5 "$GD_DIR"/n*.log)"; ktap_finish; exit 1; }

# 1. Remove a follower while writing through the others.
gone=$(( leader % 4 + 1 ))
id=$(gd_member_id "n$gone")
stay=()
for i in 1 2 3 4; do [ "$i" != "$gone" ] && stay+=("$i"); done
( writes 1 40 "${stay[@]}" > "$GD_DIR/w1" ) &
wpid=$!
sleep 0.3
# Through the member removed: its forward is answered before it goes.
out=$(gd_etcdctl_at "$gone" member remove "$id")
wait "$wpid"
failed=$(cat "$GD_DIR/w1")
grep -q removed <<<"$out" && [ "$failed" = 0 ]
ktap_rc "a follower is removed while writes go on, none failing" $? \
	"$out; $failed writes failed"
gd_exited "$gone" 15
grep -q 'removed from the cluster' "$GD_DIR/n$gone.log" && [ "$status" = 0 ]
ktap_rc "the removed member says so and exits with status 0" $? \
	"status [$status]; $(tail -n 3 "$GD_DIR/n$gone.log")"
n=$(gd_until_eq 5 3 gd_member_count)
ktap_rc "the member list has three members" $(( n != 3 )) \
	"$(gd_etcdctl member list)"

# 2. Replace a member whose data directory was lost.
lost=$(( gone % 4 + 1 ))
[ "$lost" = "$leader" ] && lost=$(( lost % 4 + 1 ))
[ "$lost" = "$gone" ] && lost=$(( lost % 4 + 1 ))
gd_kill "$lost" KILL
rm -rf "${GD_DIR:?}/n$lost"
gd_etcdctl put /r/lost-before yes >/dev/null
many 100 1300 "$(gd_client_port "$leader")"
gd_start "$lost" --snapshot-count 100 --initial-cluster-state existing
gd_exited "$lost" 20
grep -q 'has started before: its data directory was lost' \
	"$GD_DIR/n$lost.log" && [ "$status" = 1 ]
ktap_rc "before member remove and add, the wiped member is refused" $? \
	"status [$status]; $(tail -n 3 "$GD_DIR/n$lost.log")"
rm -rf "${GD_DIR:?}/n$lost"
id=$(gd_member_id "n$lost")
out1=$(gd_etcdctl member remove "$id")
out2=$(gd_etcdctl member add "n$lost" \
	--peer-urls="$(gd_peer_url "$lost")")
gd_start "$lost" --snapshot-count 100 --initial-cluster-state existing
got=$(gd_until_eq 30 yes gd_get "$lost" /r/lost-before)
[ "$got" = yes ] && [ "$(gd_get "$lost" /r/1399)" = v1399 ]
ktap_rc "the replacement catches up; its serializable read sees a key written before" \
	$? "$out1; $out2; read [$got]; $(tail -n 5 "$GD_DIR/n$lost.log")"
grep -q 'installed a snapshot' "$GD_DIR/n$lost.log"
ktap_rc "it caught up from the leader's snapshot" $? \
	"$(tail -n 5 "$GD_DIR/n$lost.log")"

# 3. A member removed while it is stopped, never applying its removal,
# its slot reused: every free slot is taken by a learner that never starts
# first, so that the member added next takes the removed one's.  When the
# removed member runs again its hello names its old id under the slot
# and is refused (on the code without the check it is taken, and the
# member list shows its client URL for the new member); the new member
# serves, and the cluster answers writes and reads.
leader=$(gd_wait_leader 10)
stale=
for i in 1 2 3 4; do
	[ "$i" != "$leader" ] && [ "$i" != "$lost" ] && gd_alive "$i" &&
		stale=$i
done
mapfile -t pads < <(gd_add_learners pad 1 6)
sid=$(gd_member_id "n$stale")
kill -STOP "${GD_PIDS[$stale]}"
out1=$(gd_etcdctl_at "$leader" member remove "$sid")
out2=$(gd_etcdctl_at "$leader" member add n5 --peer-urls="$(gd_peer_url 5)")
GD_N=5
gd_start 5 --initial-cluster-state existing
got=$(gd_until_eq 30 yes gd_get 5 /r/lost-before)
yid=$(gd_member_id n5 "$leader")
[ "$got" = yes ] && [ -n "$yid" ] && grep -q "join: member $yid, slot" "$GD_DIR/n5.log"
ktap_rc "a member added while the removed one is stopped takes its slot and catches up" \
	$? "$out1; $out2; read [$got]; $(tail -n 3 "$GD_DIR/n5.log")"
kill -CONT "${GD_PIDS[$stale]}"
refused=
for _ in $(seq 100); do
	refused=$(grep -h "a hello from member $sid as slot [0-9]*, which is member $yid's" \
		"$GD_DIR"/n[1-4].log | head -n 1)
	[ -n "$refused" ] && break
	sleep 0.1
done
[ -n "$refused" ]
ktap_rc "the removed member, running again, is refused under its reused slot" \
	$? "$(tail -n 3 "$GD_DIR/n$stale.log")"
sleep 2
# Through the leader: the removed member answers from the table it had.
list=$(gd_etcdctl_at "$leader" member list)
grep -q ", n5, http://127.0.0.1:$(gd_peer_port 5), http://127.0.0.1:$(gd_client_port 5)," <<<"$list" &&
	! grep -q "http://127.0.0.1:$(gd_client_port "$stale")," <<<"$list"
ktap_rc "the member list shows the new member's client URL, not the removed one's" \
	$? "$list"
gd_kill "$stale" KILL
failed=$(writes 3000 20 5)
[ "$failed" = 0 ] && [ "$(gd_get 5 /r/3019)" = v3019 ] &&
	[ "$(gd_get "$leader" /r/3019)" = v3019 ]
ktap_rc "the member in the reused slot serves writes and reads" $? \
	"$failed failed; $(tail -n 3 "$GD_DIR/n5.log")"
for id in "${pads[@]}"; do gd_etcdctl member remove "$id" >/dev/null; done

# 4. Remove the leader.
leader=$(gd_wait_leader 10)
id=$(gd_member_id "n$leader")
out=$(gd_etcdctl_at "$leader" member remove "$id")
gd_exited "$leader" 15
new=
for _ in $(seq 100); do
	for i in 1 2 3 4 5; do
		[ "$i" != "$leader" ] && gd_alive "$i" &&
			[ "$(gd_status "$i" role)" = leader ] && new=$i
	done
	[ -n "$new" ] && break
	sleep 0.1
done
[ -n "$new" ] && [ "$status" = 0 ]
ktap_rc "the leader removed: it exits and a new leader is elected" $? \
	"$out; new [$new], old status [$status]"
failed=$(writes 5000 20)
n=$(gd_until_eq 5 2 gd_member_count)
[ "$failed" = 0 ] && [ "$n" = 2 ]
ktap_rc "the two left serve writes" $? "$failed failed; $n members"

ktap_finish
