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
#   - the leader removed: it exits, a new leader is elected among the
#     others, and they serve writes.
# --snapshot-count 100 and 1300 writes (python3-etcd3, else etcdctl), so
# that the leader's log is compacted past what the replacement needs
# (1024 entries trail a snapshot).  Every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

N=8
ktap_plan $N
if ! command -v etcdctl >/dev/null; then
	ktap_skip_all daemon-members-replace "etcdctl is not installed"
fi

member_id()
{
	gd_etcdctl member list | awk -F', ' -v k="$1" '$3 == k { print $1 }'
}

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

gd_cluster_init 4
GD_N=4
for i in 1 2 3 4; do gd_start "$i" --snapshot-count 100; done
leader=$(gd_wait_leader 15) || { ktap_fail "a leader is elected" \
	"$(tail -n 5 "$GD_DIR"/n*.log)"; ktap_finish; exit 1; }

# 1. Remove a follower while writing through the others.
gone=$(( leader % 4 + 1 ))
id=$(member_id "n$gone")
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
n=$(gd_etcdctl member list | wc -l)
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
id=$(member_id "n$lost")
out1=$(gd_etcdctl member remove "$id")
out2=$(gd_etcdctl member add "n$lost" \
	--peer-urls="http://127.0.0.1:$(gd_peer_port "$lost")")
gd_start "$lost" --snapshot-count 100 --initial-cluster-state existing
got=$(gd_until_eq 30 yes gd_get "$lost" /r/lost-before)
[ "$got" = yes ] && [ "$(gd_get "$lost" /r/1399)" = v1399 ]
ktap_rc "the replacement catches up; its serializable read sees a key written before" \
	$? "$out1; $out2; read [$got]; $(tail -n 5 "$GD_DIR/n$lost.log")"
grep -q 'installed a snapshot' "$GD_DIR/n$lost.log"
ktap_rc "it caught up from the leader's snapshot" $? \
	"$(tail -n 5 "$GD_DIR/n$lost.log")"

# 3. Remove the leader.
leader=$(gd_wait_leader 10)
id=$(member_id "n$leader")
out=$(gd_etcdctl_at "$leader" member remove "$id")
gd_exited "$leader" 15
new=
for _ in $(seq 100); do
	for i in 1 2 3 4; do
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
n=$(gd_etcdctl member list | wc -l)
[ "$failed" = 0 ] && [ "$n" = 2 ]
ktap_rc "the two left serve writes" $? "$failed failed; $n members"

ktap_finish
