#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Membership changes with etcdctl 3.4 and python3-etcd3 against a gnomond
# cluster on loopback (Documentation/operations.rst, "Changing
# membership"):
#   - member list shows the three members, started;
#   - bad requests get etcd's errors: removing an unknown id ("member not
#     found"), promoting a voter, promoting a learner that has not caught
#     up, adding a peer URL already in use, adding a tenth member (the
#     limit of 9 named);
#   - a learner is added, started with --initial-cluster-state existing on
#     an empty data directory, catches up (a key written before it was
#     added), is promoted, and serves writes made after;
#   - member update: to a peer URL in use is refused; to a new one,
#     through the member moved, it is answered (the others keep their
#     established connections), a configuration entry every member
#     applies and member list shows, and the member applies later writes;
#   - python3-etcd3's members, add_member and remove_member;
#   - a member that was not added is not let in (the negative control of
#     the join: it waits, saying no member lists it).
# Every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

gd_etcdctl_plan 16 daemon-members

gd_cluster_init 5
GD_N=3
gd_start_all
leader=$GD_LEADER
gd_etcdctl put /m/before yes >/dev/null

list=$(gd_etcdctl member list)
n=$(grep -c ', started, n[123], ' <<<"$list")
ktap_rc "member list shows the three members, started" $(( n != 3 )) "$list"

out=$(gd_etcdctl member remove 1234abcd)
grep -q 'etcdserver: member not found' <<<"$out"
ktap_rc "removing an unknown member: member not found" $? "$out"

out=$(gd_etcdctl member promote "$(gd_member_id n1)")
grep -q 'etcdserver: can only promote a learner member' <<<"$out"
ktap_rc "promoting a voter is refused" $? "$out"

out=$(gd_etcdctl member add dup --peer-urls="$(gd_peer_url 2)")
grep -q 'Peer URLs already exists' <<<"$out"
ktap_rc "adding a peer URL in use is refused" $? "$out"

out=$(gd_etcdctl member add n4 --peer-urls="$(gd_peer_url 4)" --learner)
grep -q "ETCD_INITIAL_CLUSTER=.*n4=$(gd_peer_url 4)" <<<"$out" &&
	grep -q 'ETCD_INITIAL_CLUSTER_STATE="existing"' <<<"$out"
ktap_rc "member add --learner prints the joining member's settings" $? "$out"
id4=$(gd_member_id "$(gd_peer_url 4)")

out=$(gd_etcdctl member promote "$id4")
grep -q 'can only promote a learner member which is in sync with leader' \
	<<<"$out"
ktap_rc "promoting a learner that has not caught up is refused" $? "$out"

# Fill the table with learners that never start (no quorum change), then
# one more.
mapfile -t extra < <(gd_add_learners x 31 35)
out=$(gd_etcdctl member add x99 --peer-urls=http://127.0.0.1:9 --learner)
grep -q 'at most 9' <<<"$out"
ktap_rc "a tenth member is refused, naming the limit" $? "$out"
for id in "${extra[@]}"; do
	[ -n "$id" ] && gd_etcdctl member remove "$id" >/dev/null
done
n=$(gd_until_eq 5 4 gd_member_count)
ktap_rc "the extra learners are removed" $(( n != 4 )) \
	"$(gd_etcdctl member list)"

GD_N=4
gd_start 4 --initial-cluster-state existing
got=$(gd_until_eq 30 yes gd_get 4 /m/before)
ktap_rc "the learner catches up (a key written before it was added)" \
	"$([ "$got" = yes ]; echo $?)" "read [$got]; $(tail -n 5 "$GD_DIR/n4.log")"

# Through the learner itself: the answer comes back on a connection the
# promotion must not drop.
out=
for _ in $(seq 40); do
	out=$(gd_etcdctl_at 4 member promote "$id4") && break
	sleep 0.5
done
grep -q 'promoted' <<<"$out"
ktap_rc "the learner is promoted once in sync" $? "$out"

gd_etcdctl put /m/after yes >/dev/null
got=$(gd_until_eq 15 yes gd_get 4 /m/after)
list=$(gd_etcdctl member list)
[ "$got" = yes ] && grep -q ", started, n4, .*, false$" <<<"$list"
ktap_rc "the promoted member is a started voter and applies writes" $? \
	"read [$got]; $list"

# MemberUpdate: a configuration change (the same config, new peer URLs).
# Asked through the member it moves (to where nothing listens): the
# others keep their established connections to it, so the answer comes
# back (before, the leader dropped its connection at once: timed out) and
# it goes on applying writes.
leader=$(gd_wait_leader 10)
out=$(gd_etcdctl_at "$leader" member update "$id4" --peer-urls="$(gd_peer_url 2)")
grep -q 'Peer URLs already exists' <<<"$out"
ktap_rc "updating to a peer URL in use is refused" $? "$out"
moved="http://127.0.0.1:$((GD_PORT0 + 140))"
out=$(gd_etcdctl_at 4 member update "$id4" --peer-urls="$moved")
for _ in $(seq 50); do
	applied=$(grep -l "member $id4 (slot 4) updated at index [0-9]*: peer URLs now $moved" \
		"$GD_DIR"/n[1-4].log | wc -l)
	[ "$applied" = 4 ] && break
	sleep 0.1
done
list=$(gd_etcdctl_at "$leader" member list)
grep -q "updated" <<<"$out" && grep -q ", n4, $moved, " <<<"$list" &&
	[ "$applied" = 4 ]
ktap_rc "member update through the member it moves: answered, a configuration entry all apply" \
	$? "$out; applied by $applied; $list"
gd_etcdctl_at "$leader" put /m/moved yes >/dev/null
got=$(gd_until_eq 15 yes gd_get 4 /m/moved)
out=$(gd_etcdctl_at "$leader" member update "$id4" --peer-urls="$(gd_peer_url 4)")
[ "$got" = yes ] && grep -q "updated" <<<"$out"
ktap_rc "on its established connections it applies a later write; updated back" \
	$? "$out; read [$got]; $(tail -n 3 "$GD_DIR/n4.log")"

if /usr/bin/python3 -c 'import etcd3' 2>/dev/null; then
	out=$(timeout 60 /usr/bin/python3 - "$(gd_client_port "$leader")" \
		"$(gd_peer_url 5)" <<'EOF' 2>&1
import sys
import etcd3
c = etcd3.client(port=int(sys.argv[1]), timeout=10)
before = list(c.members)
m = c.add_member([sys.argv[2]])
during = list(c.members)
assert any(x.id == m.id and x.peer_urls == [sys.argv[2]] for x in during)
c.remove_member(m.id)
after = list(c.members)
assert len(before) == 4 and len(during) == 5 and len(after) == 4, \
    (len(before), len(during), len(after))
print("ok")
EOF
)
	[ "$out" = ok ]
	ktap_rc "python3-etcd3: members, add_member, remove_member" $? "$out"
else
	ktap_skip "python3-etcd3: members, add_member, remove_member" \
		"python3-etcd3 is not installed"
fi

# The negative control of the join: member 5 was never added (python's
# was removed again), so no member lists it and it is not let in.  Each
# member lists the table it has applied: wait until all have applied the
# removal, or one may still hand the joiner python's slot.
for i in 1 2 3 4; do
	gd_until_eq 10 4 gd_member_count "$i" >/dev/null
done
GD_N=5
gd_start 5 --initial-cluster-state existing
for _ in $(seq 50); do
	grep -q 'does not list' "$GD_DIR/n5.log" 2>/dev/null && break
	sleep 0.2
done
grep -q 'does not list' "$GD_DIR/n5.log" && ! grep -q 'join: member' \
	"$GD_DIR/n5.log"
ktap_rc "a member that was not added is not let in" $? \
	"$(tail -n 3 "$GD_DIR/n5.log")"
gd_kill 5 KILL

ktap_finish
