#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# etcdctl 3.4 (Debian's etcd-client), unmodified, against gnomond's etcd
# API as served by gnomond-api-test-server (one member, no Raft): put, get
# with prefix, revision, limit, keys-only and sort, del, txn, compaction,
# endpoint status, member list, alarms, and etcd's errors (compacted,
# future revision, empty key, request too large, NOSPACE, unknown service: Auth).
set -u
exec </dev/null	# never eat the runner's list of tests
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/api_server_lib.sh"
. "$top/selftests/gnomond/api_expect.sh"

N=19
ktap_plan $N
if ! command -v etcdctl >/dev/null; then
	ktap_skip_all etcdctl "etcdctl is not installed"
fi
export ETCDCTL_API=3
E() { timeout 20 etcdctl --endpoints="127.0.0.1:$API_PORT" --command-timeout=10s "$@" 2>&1; }

if ! api_server_start; then
	ktap_fail "server starts" "$(cat "$API_TMP/server.log")"
	ktap_finish
	exit 1
fi

put_get() { E put /k v1 >/dev/null && E put /k v2 >/dev/null && E get /k; }
expect "put and get" $'/k\nv2' put_get

prefix() {
	E put /p/a 1 >/dev/null; E put /p/b 2 >/dev/null; E put /p/c 3 >/dev/null
	E put /q 4 >/dev/null
	E get --prefix /p/ --print-value-only
}
expect "get --prefix" $'1\n2\n3' prefix
# /k was put at revisions 2 (v1) and 3 (v2).
expect "get --rev reads history" "v1" E get /k --rev=2 --print-value-only
expect "get --limit --keys-only" $'/p/a\n\n/p/b' E get --prefix /p/ --limit=2 --keys-only
expect "get --sort-by=MODIFY --order=DESCEND" $'3\n2\n1' \
	E get --prefix /p/ --sort-by=MODIFY --order=DESCEND --print-value-only
expect_match "header revision and versions (json)" \
	'"revision":7,.*"create_revision":2,"mod_revision":3,"version":2' \
	E get /k -w json
expect "del --prefix" "3" E del --prefix /p/
txn_ok() {
	printf 'value("/k") = "v2"\nmod("/k") = "3"\n\nput /t yes\n\nput /t no\n\n' |
		E txn >/dev/null && E get /t --print-value-only
}
expect "txn takes the success branch" "yes" txn_ok
txn_fail() {
	printf 'version("/k") > "5"\n\nput /t yes2\n\nput /t no\n\n' |
		E txn >/dev/null && E get /t --print-value-only
}
expect "txn takes the failure branch" "no" txn_fail
expect "compaction" "compacted revision 5" E compaction 5
expect_match "read below the compaction fails as in etcd" \
	'Error: etcdserver: mvcc: required revision has been compacted' \
	E get /k --rev=2
expect_match "future revision" \
	'Error: etcdserver: mvcc: required revision is a future revision' \
	E get /k --rev=1000
expect_match "empty key" 'Error: etcdserver: key is not provided' E get ""
expect_match "endpoint status" \
	'"member_id":1,.*"version":"3\.4\.0".*"leader":1' E endpoint status -w json
expect_match "member list" '^1, started, gnomond-api-test, , http://127\.0\.0\.1:[0-9]+, false$' \
	E member list
expect_match "unknown service is Unimplemented" \
	'code = Unimplemented desc = unknown service etcdserverpb.Auth' \
	E role list
expect_match "defrag is accepted (compaction already freed the space)" \
	'^Finished defragmenting etcd member\[127\.0\.0\.1:[0-9]+\]$' E defrag
api_server_stop

# A tiny store: the quota alarm, the request size limit, and recovery.
quota() {
	local big i out
	big=$(head -c 6000 /dev/zero | tr '\0' x)
	out=$(E put big "$big")
	[[ $out == *"etcdserver: request is too large"* ]] ||
		{ echo "too large: $out"; return 1; }
	big=$(head -c 1000 /dev/zero | tr '\0' y)
	for i in $(seq 40); do
		out=$(E put "k$i" "$big")
		[[ $out == *"database space exceeded"* ]] && break
	done
	[[ $out == *"etcdserver: mvcc: database space exceeded"* ]] ||
		{ echo "no NOSPACE after $i puts: $out"; return 1; }
	out=$(E alarm list)
	[ "$out" = "memberID:1 alarm:NOSPACE " ] || { echo "alarm list: [$out]"; return 1; }
	out=$(E put small x)
	[[ $out == *"database space exceeded"* ]] || { echo "alarm did not hold: $out"; return 1; }
	E del --prefix k >/dev/null || return 1
	rev=$(E endpoint status -w json | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
	E compaction "$rev" >/dev/null || { echo "compaction at $rev failed"; return 1; }
	out=$(E alarm disarm)
	[ "$out" = "memberID:1 alarm:NOSPACE " ] || { echo "disarm: [$out]"; return 1; }
	out=$(E put after ok)
	[ "$out" = "OK" ] || { echo "put after disarm: $out"; return 1; }
}
if api_server_start --quota-backend-bytes 20000 --max-request-bytes 4096; then
	ktap_check "quota: NOSPACE alarm, too-large request, disarm after compaction" quota
else
	ktap_fail "quota server starts" "$(cat "$API_TMP/server.log")"
fi
api_server_stop

# The server, session and store under memcheck while etcdctl talks to it.
traffic() {
	E put /v 1 && E get /v && E del /v && E endpoint status &&
		E member list && E compaction 2 && ! E role list
}
if ! command -v valgrind >/dev/null; then
	ktap_skip "valgrind-clean under etcdctl traffic" "valgrind is not installed"
elif API_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite" api_server_start; then
	out=$(traffic 2>&1)
	tr_rc=$?
	api_server_stop
	if [ $tr_rc -eq 0 ] && [ "$API_RC" -eq 0 ]; then
		ktap_ok "valgrind-clean under etcdctl traffic"
	else
		ktap_fail "valgrind-clean under etcdctl traffic" \
			"traffic $tr_rc, server $API_RC: $(grep '==' "$API_TMP/server.log" | head -n 5) $out"
	fi
else
	ktap_fail "valgrind-clean under etcdctl traffic" "server did not start"
fi
ktap_finish
