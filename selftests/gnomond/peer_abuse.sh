#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Connections to the peer port that do not hold the cluster key cannot make
# a member hold memory or descriptors (issue 13 §4).  On a 3-member
# loopback cluster, against a follower:
#   - 8 connections without the key, each declaring a 255 MiB Raft frame
#     and sending up to 48 MiB of it: all are closed, the follower's peak
#     RSS (VmHWM) grows by less than CEILING_MIB, and the rejections are
#     counted and logged, rate-limited;
#   - 8 connections sending a bad magic are closed the same way;
#   - 12 connections that say nothing: at most 8 wait for a hello at once
#     (the oldest make room), and none outlives the hello timeout (5 s);
#   - with the key: a hello naming the leader's slot with another member
#     id is refused (a removed member whose slot was reused); one over the
#     challenge's nonce is taken (the connection outlives the hello
#     timeout); one over another nonce (a replay) is refused; after a good
#     hello, a frame declaring 255 MiB is refused too (longer than a member
#     sends), and so is one from another member than the hello's;
#   - the cluster still serves writes through that follower.
# On the code before the hello, the follower's peak RSS grows by hundreds
# of MiB.  Every wait is bounded.
set -u
N=12
NAME=peer-abuse
CEILING_MIB=32
. "$(dirname "$0")/daemon_limits_lib.sh"

gd_cluster_init 3
abuse_start
f=$(( leader % 3 + 1 ))
gd_etcdctl put /abuse/before yes >/dev/null

# abuse MODE N SECONDS: N connections to the follower's peer port until
# the server closed them all or SECONDS passed; prints the holder's report.
abuse()
{
	timeout $(( $3 + 60 )) /usr/bin/python3 "$conns" "$1" 127.0.0.1 \
		"$(gd_peer_port "$f")" "$2" "$GD_DIR/no-stop-file" "$3" |
		grep '^open'
}

# closes NAME MODE N SECONDS CLOSED: of N connections, the server closed
# CLOSED within SECONDS.
closes()
{
	local got
	got=$(abuse "$2" "$3" "$4")
	ktap_eq "$1" "open $3 closed $5" "$(echo "$got" | cut -d' ' -f1-4)"
}

# vm FIELD: the follower's /proc status field, in KiB.
vm() { awk -v k="$1:" '$1 == k {print $2}' "/proc/${GD_PIDS[$f]}/status"; }

before=$(vm VmHWM)
got=$(abuse bigpeer 8 20)
after=$(vm VmHWM)
grow=$(( (${after:-0} - ${before:-0}) / 1024 ))
ktap_diag "keyless 255 MiB frames: $got; follower peak RSS ${before:-?} -> ${after:-?} KiB (+$grow MiB)"
ktap_eq "8 keyless connections declaring 255 MiB frames are closed" \
	"open 8 closed 8" "$(echo "$got" | cut -d' ' -f1-4)"
if [ -n "$after" ] && [ "$grow" -lt "$CEILING_MIB" ]; then
	ktap_ok "the follower's peak RSS grows by less than $CEILING_MIB MiB"
else
	ktap_fail "the follower's peak RSS grows by less than $CEILING_MIB MiB" \
		"+$grow MiB"
fi
closes "8 connections with a bad magic are closed" badpeer 8 10 8
logged=$(grep -c 'rejected a peer connection' "$GD_DIR/n$f.log")
counted=$(grep -o 'malformed [0-9]*' "$GD_DIR/n$f.log" | tail -n 1)
ktap_diag "$logged lines logged, last count: $counted"
if [ "$logged" -ge 1 ] && [ "$logged" -le 4 ]; then
	ktap_ok "the rejections are logged, rate-limited"
else
	ktap_fail "the rejections are logged, rate-limited" "$logged lines"
fi

# Twelve silent connections: four are closed at once to make room, the
# other eight when the hello timeout (5 s) passes.
closes "at most 8 keyless connections wait for a hello" idle 12 2 4
closes "none outlives the hello timeout" idle 12 9 12

export GD_KEY_FILE=$GD_DIR/cluster.key GD_FROM=$leader
GD_FWD_VERSION=$(sed -n 's/^#define FWD_VERSION[[:space:]]*//p' \
	"$top/tools/gnomond/daemon/forward.h")
export GD_FWD_VERSION
# The leader's slot with another id: a removed member whose slot was
# reused says that (peer_auth.h).
export GD_MEMBER_ID=1234abcd
closes "a hello naming another member id for the slot is refused" hello 1 7 1
GD_MEMBER_ID=$(gd_etcdctl member list | awk -F', ' -v k="n$leader" \
	'$3 == k { print $1 }')
closes "a hello over the challenge's nonce is taken" hello 1 7 0
closes "a hello over another nonce (a replay) is refused" stalehello 2 7 2
closes "after a good hello, a 255 MiB frame is refused" hellobig 2 7 2
export GD_OTHER=$(( 6 - leader - f ))
closes "after a good hello, a frame from another member is refused" \
	helloother 1 4 1

fds=$(ls "/proc/${GD_PIDS[$f]}/fd" 2>/dev/null | wc -l)
ktap_diag "the follower holds $fds descriptors, peak RSS $(vm VmHWM) KiB"
out=$(ETCDCTL_API=3 timeout 20 etcdctl --endpoints="$(gd_endpoint "$f")" \
	--command-timeout=10s put /abuse/after yes 2>&1)
ktap_eq "the follower still forwards writes to the leader" OK "$out"
ktap_finish
