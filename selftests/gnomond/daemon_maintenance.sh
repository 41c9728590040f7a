#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Maintenance on a 3-member gnomond cluster with unmodified etcdctl 3.4 and
# python3-etcd3: Hash and HashKV agree across members at the same revision
# (and differ between revisions, so the comparison can fail), and
# MoveLeader moves the leadership by Raft's leadership transfer (etcdctl
# move-leader), refuses a non-member ("bad leader transferee") and, asked
# of a follower, answers "not leader" as etcd does.  Every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

gd_etcd_cluster 10 daemon-maintenance etcd3 grpc
leader=$GD_LEADER

E() { gd_etcdctl_at "$@"; }
json_field() { sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p" | head -1; }
member_id() { E "$1" endpoint status -w json | json_field member_id; }
revision() { E "$1" endpoint status -w json | json_field revision; }
# The distinct hashes of every member (one line each).
hashkv_all() {
	local i
	for i in 1 2 3; do
		E "$i" endpoint hashkv "$@" | sed -n 's/^[^,]*, \([0-9]*\)$/\1/p'
	done | sort -u
}
same_revision() {
	local a b c
	a=$(revision 1) b=$(revision 2) c=$(revision 3)
	[ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ] && echo "$a"
}

sleep 0.5
for k in $(seq 30); do gd_etcdctl put "/m/$((k % 7))" "v$k" >/dev/null; done
gd_etcdctl del /m/3 >/dev/null
mid=$(revision "$leader")
for k in $(seq 10); do gd_etcdctl put "/n/$k" "w$k" >/dev/null; done
gd_etcdctl compaction 5 >/dev/null

rev=
for _ in $(seq 50); do rev=$(same_revision) && break; sleep 0.1; done
if [ -n "$rev" ]; then
	ktap_ok "every member reaches revision $rev"
else
	ktap_fail "every member reaches the same revision" \
		"$(revision 1) $(revision 2) $(revision 3)"
fi
now=$(hashkv_all)
ktap_eq "HashKV is the same on every member" 1 "$(grep -c . <<<"$now")"
old=$(hashkv_all --rev="$mid")
ktap_eq "HashKV at an older revision is the same on every member" 1 \
	"$(grep -c . <<<"$old")"
if [ -n "$now" ] && [ -n "$old" ] && [ "$now" != "$old" ]; then
	ktap_ok "HashKV tells the two revisions apart"
else
	ktap_fail "HashKV tells the two revisions apart" "[$now] [$old]"
fi
py_hash() {
	/usr/bin/python3 - "$@" <<'PY'
import sys, etcd3
print("\n".join(sorted({str(etcd3.client(host="127.0.0.1", port=int(p),
                                       timeout=10).hash())
                        for p in sys.argv[1:]})))
PY
}
hashes=$(py_hash "$(gd_client_port 1)" "$(gd_client_port 2)" "$(gd_client_port 3)" 2>&1)
ktap_eq "Hash (python3-etcd3) is the same on every member" 1 \
	"$(grep -c '^[0-9]*$' <<<"$hashes")"
expect_compacted() { E "$leader" endpoint hashkv --rev=3; }
out=$(expect_compacted)
if [[ $out == *"required revision has been compacted"* ]]; then
	ktap_ok "HashKV below the compaction: etcd's compacted error"
else
	ktap_fail "HashKV below the compaction: etcd's compacted error" "$out"
fi

# MoveLeader.
target=$(( leader % 3 + 1 ))
tid=$(printf '%x' "$(member_id "$target")")
out=$(gd_etcdctl move-leader "$tid")
new=$(gd_wait_leader 10)
if [ "$new" = "$target" ] && [[ $out == *"Leadership transferred"* ]]; then
	ktap_ok "etcdctl move-leader moves the leadership to n$target"
else
	ktap_fail "etcdctl move-leader moves the leadership to n$target" \
		"leader ${new:-none}: $out"
fi
out=$(gd_etcdctl move-leader 1234)
if [[ $out == *"bad leader transferee"* ]]; then
	ktap_ok "a non-member: bad leader transferee"
else
	ktap_fail "a non-member: bad leader transferee" "$out"
fi
follower=$(( target % 3 + 1 ))
code=$(/usr/bin/python3 - "$(gd_client_port "$follower")" <<'PY' 2>&1
import sys, grpc
ch = grpc.insecure_channel("127.0.0.1:" + sys.argv[1])
call = ch.unary_unary("/etcdserverpb.Maintenance/MoveLeader",
                      request_serializer=lambda m: m,
                      response_deserializer=lambda m: m)
try:
    call(b"\x08\x01", timeout=10)
    print("OK")
except grpc.RpcError as e:
    print(e.code().name, e.details())
PY
)
ktap_eq "asked of a follower: not leader, as etcd" \
	"FAILED_PRECONDITION etcdserver: not leader" "$code"
ktap_eq "writes work under the new leader" "after" \
	"$(gd_etcdctl put /after after >/dev/null; gd_etcdctl get /after --print-value-only)"
ktap_finish
