#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gnomond refuses bad command lines with a clear message and exit status 2
# (no cluster key, bad URLs, a name missing from --initial-cluster, bad
# numbers, a request that cannot fit a WAL segment), a too-short key with
# status 1; and members authenticate each
# other: a member started with a different cluster key gets its messages
# rejected (and logged) and never joins.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

N=10
ktap_plan $N
gd_cluster_init 3

# refused NAME STATUS REGEX FLAGS...: gnomond exits with STATUS and says REGEX.
refused()
{
	local name=$1 want=$2 re=$3 out rc
	shift 3
	out=$(timeout 10 "$GD_BIN" --data-dir "$GD_DIR/bad" "$@" 2>&1)
	rc=$?
	if [ $rc = "$want" ] && [[ $out =~ $re ]]; then
		ktap_ok "$name"
	else
		ktap_fail "$name" "status $rc, output [$out]"
	fi
}

refused "no cluster key" 2 "peer-key-file" --name a
refused "an https URL" 2 "only http:// is supported" \
	--insecure-no-peer-auth --listen-client-urls https://127.0.0.1:1
refused "a host name" 2 "IPv4 address or localhost" \
	--insecure-no-peer-auth --listen-peer-urls http://example.org:2380
refused "a name not in --initial-cluster" 2 "no member named 'zz'" \
	--insecure-no-peer-auth --name zz --initial-cluster a=http://127.0.0.1:1
refused "heartbeat too long for the election timeout" 2 "at least 5 times" \
	--insecure-no-peer-auth --heartbeat-interval 300 --election-timeout 1000
refused "a bad number" 2 "'1x' is not a number" \
	--insecure-no-peer-auth --election-timeout 1x
refused "a request larger than the default WAL segment" 2 \
	"67108864 \(the default\) is too small" \
	--insecure-no-peer-auth --max-request-bytes 67108864
printf short > "$GD_DIR/short.key"
refused "a key shorter than 16 bytes" 1 "at least 16 bytes" \
	--peer-key-file "$GD_DIR/short.key" --name default \
	--listen-client-urls "http://127.0.0.1:$(gd_client_port 1)" \
	--listen-peer-urls "http://127.0.0.1:$(gd_peer_port 1)"

# Member 3 has another key: 1 and 2 elect a leader and reject 3.
head -c 32 /dev/urandom > "$GD_DIR/other.key"
gd_start 1
gd_start 2
gd_start 3 --peer-key-file "$GD_DIR/other.key"
leader=$(gd_wait_leader 15)
if [ "${leader:-3}" != 3 ] && [ "$(gd_status 3 leader)" = "" ]; then
	ktap_ok "a member with the wrong key does not join"
else
	ktap_fail "a member with the wrong key does not join" \
		"leader ${leader:-none}; n3: $(cat "$GD_DIR/n3/status" 2>/dev/null)"
fi
sleep 0.5
ktap_check "its messages are rejected and counted" \
	grep -q "rejected a .*not signed with the cluster key\|rejected a peer message (bad MAC [1-9]" \
	"$GD_DIR/n${leader:-1}.log"
ktap_finish
