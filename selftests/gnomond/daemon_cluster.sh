#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gnomond as a 3-member cluster on loopback, driven by unmodified etcdctl
# 3.4 with all three endpoints (followers forward to the leader): election,
# put/get/prefix/rev/del/txn, endpoint status, member list, serializable
# reads on a follower; then SIGKILL of the leader (writes resume under a
# new leader with a higher term, the fencing token), a restart of the
# killed member (WAL recovery and catch-up), and a full-cluster restart
# (nothing acknowledged is lost).  Every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"
. "$top/selftests/gnomond/api_expect.sh"

gd_etcdctl_plan 18 daemon-cluster

# One endpoint only: E I ARGS...
E() { gd_etcdctl_at "$@"; }

gd_cluster_init 3
for i in 1 2 3; do gd_start "$i"; done
if leader=$(gd_wait_leader 15); then
	ktap_ok "a leader is elected"
else
	ktap_fail "a leader is elected" "$(tail -n 5 "$GD_DIR"/n*.log)"
	ktap_finish
	exit 1
fi
term1=$(gd_status "$leader" term)
follower=$(( leader % 3 + 1 ))

put_each() {
	for i in 1 2 3; do E "$i" put "/each/$i" "v$i" >/dev/null || return 1; done
	gd_etcdctl get --prefix /each/ --print-value-only
}
expect "put through every member (followers forward)" $'v1\nv2\nv3' put_each
expect "linearizable get through a follower" "v2" \
	E "$follower" get /each/2 --print-value-only
expect "serializable get on a follower" "v3" \
	gd_until_eq 5 v3 E "$follower" get /each/3 --print-value-only --consistency=s
rev_get() {
	gd_etcdctl put /r one >/dev/null
	local rev
	rev=$(gd_etcdctl get /r -w json | sed -n 's/.*"mod_revision":\([0-9]*\).*/\1/p')
	gd_etcdctl put /r two >/dev/null
	gd_etcdctl get /r --rev="$rev" --print-value-only
	gd_etcdctl get /r --print-value-only
}
expect "get --rev reads history" $'one\ntwo' rev_get
expect "del --prefix" "3" gd_etcdctl del --prefix /each/
txn() {
	printf 'value("/r") = "two"\n\nput /t yes\n\nput /t no\n\n' |
		gd_etcdctl txn >/dev/null
	gd_etcdctl get /t --print-value-only
}
expect "txn takes the success branch" "yes" txn
expect_match "endpoint status: one leader, one term" \
	"^(.*, (true|false), false, $term1, [0-9]+, [0-9]+, *$(printf '\n')?){3}" \
	gd_etcdctl endpoint status
leaders=$(gd_etcdctl endpoint status | grep -c ', true, false, ')
expect "exactly one member says it leads" "1" echo "$leaders"
# In etcd's order (by id; daemon_answers.sh checks it), so sorted here.
members_named() {
	gd_etcdctl member list | sed -n 's|^[0-9a-f]*, started, \(n[0-9]\), http://127.0.0.1:[0-9]*, http://127.0.0.1:[0-9]*, false$|\1|p' |
		sort | tr '\n' ' '
}
expect "member list names the three members" "n1 n2 n3 " members_named

# Kill the leader: a new one, with a higher term (the fencing token).
for k in $(seq 20); do gd_etcdctl put "/before/$k" "$k" >/dev/null; done
gd_kill "$leader" KILL
old=$leader
if leader=$(gd_wait_leader 15); then
	ktap_ok "a new leader after SIGKILL of the old one"
else
	ktap_fail "a new leader after SIGKILL of the old one" "$(tail -n 5 "$GD_DIR"/n*.log)"
fi
term2=$(gd_status "$leader" term)
token2=$(gd_status "$leader" fencing_token)
if [ "${term2:-0}" -gt "$term1" ] && [ "$token2" = "$term2" ]; then
	ktap_ok "the fencing token grows ($term1 -> $term2)"
else
	ktap_fail "the fencing token grows" "term $term1 -> ${term2:-?}, token ${token2:-?}"
fi
status_term=$(E "$leader" endpoint status -w json | sed -n 's/.*"raft_term":\([0-9]*\).*/\1/p')
expect "Maintenance.Status gives the token as raft_term" "$term2" echo "$status_term"
expect "writes resume under the new leader" "after" \
	gd_until_eq 10 after sh -c "ETCDCTL_API=3 timeout 10 etcdctl --endpoints=$(gd_endpoints) \
		--command-timeout=3s put /after after >/dev/null 2>&1 &&
		ETCDCTL_API=3 timeout 10 etcdctl --endpoints=$(gd_endpoints) get /after --print-value-only 2>&1"

# Restart the killed member: WAL recovery, then catch-up.
gd_start "$old"
expect "the restarted member catches up" "after" \
	gd_until_eq 15 after E "$old" get /after --print-value-only --consistency=s
expect "and kept what it had before" "20" \
	sh -c "ETCDCTL_API=3 timeout 10 etcdctl --endpoints=$(gd_endpoint "$old") get --prefix /before/ --consistency=s --keys-only | grep -c ."

# Full-cluster restart: everything acknowledged is still there.
for i in 1 2 3; do gd_kill "$i" KILL; done
for i in 1 2 3; do gd_start "$i"; done
leader=$(gd_wait_leader 15)
expect "data survives a full-cluster restart" $'two\nyes\nafter' \
	sh -c "for k in /r /t /after; do ETCDCTL_API=3 timeout 20 etcdctl \
		--endpoints=$(gd_endpoints) --command-timeout=10s get \$k \
		--print-value-only 2>/dev/null; done"
term3=$(gd_status "${leader:-1}" term)
if [ "${term3:-0}" -gt "$term2" ]; then
	ktap_ok "terms keep growing across restarts ($term2 -> $term3)"
else
	ktap_fail "terms keep growing across restarts" "$term2 -> ${term3:-?}"
fi
ktap_finish
