#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lock safety under faults, as Jepsen tested etcd 3.4.3's locks: a lock
# alone does not keep a paused holder from writing after the next holder
# took over; the fencing token, checked by the storage, does.
#
# Three members (gnomond, then etcd if installed), each in its own network
# namespace (cluster_lib.sh).  Four clients loop, each a process group of
# its own: `etcdctl lock --ttl 2 lsafety -- THIS --holder ...` (the
# client-side recipe of etcdctl 3.4, unchanged), whose holder writes
# three times, tagged with its fencing token (the create revision of its
# lock key, ETCD_LOCK_KEY), to two stores (lock_safety_store.py): one
# refuses tokens below the highest it accepted, the other (the negative
# control) accepts everything.  A seeded schedule (LS_SEED; client 1's
# first holding is always a pause, client 2's a stall) picks for each
# holding, before its second write, one of:
#   none;
#   pause: the holder's whole process group (etcdctl, whose keepalives
#     hold the lease, and the holder) is SIGSTOPped for TTL + 3 s by a
#     timer outside the group, as a GC pause or a stopped VM;
#   stall: only etcdctl is stopped while the holder keeps running and
#     sleeps as long, as a holder cut off from the cluster.
# Either way the lease expires, the next client gets the lock and writes,
# and the deposed holder then writes with its old token.  Midway the
# leader is SIGKILLed and restarted.  Then two partitions: client 5
# takes the lock through the leader alone and writes once; the leader is
# cut off from the other members (cl_isolate; the clients still reach
# it), so its keepalives no longer reach the majority while it still
# believes it holds; client 6 asks the majority for the lock, gets it
# when client 5's lease ends there, and writes; client 5 writes twice
# more once the store has seen client 6's token (it asks the store:
# after, by construction).  Clients 7 and 8 do the same through a
# follower, which is cut off instead (its keepalives were forwarded).
#
# Checks: the tokens are unique and rise from one holder to the next; the
# checking store accepted no write after a write with a higher token and
# holds each acknowledged write exactly once; the same check applied to
# the non-checking store, fed the very same writes, finds the deposed
# holders' writes landing after newer holders' (it can fail); in each
# partition, the next client got a higher token and the cut-off holder's
# two later writes were refused with the check and landed without it.
# About 65 s per implementation.  LS_SEED picks another schedule, LS_KEEP=1 keeps
# each run's directory (logs, stores) as /tmp/lock-safety-IMPL.PID.
set -u

LS_TTL=2
LS_PAUSE_S=5
LS_WRITES=3
LS_CLIENTS=4
LS_SECONDS=24
LS_PORT_CHECKED=7001
LS_PORT_OPEN=7002
LS_SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# One write to both stores (descriptors 3 and 4); the answers are logged.
ls_write()
{
	local c=$1 tok=$2 seq=$3 a3 a4
	printf 'W %s %s %s\n' "$c" "$tok" "$seq" >&3
	read -r a3 _ <&3
	printf 'W %s %s %s\n' "$c" "$tok" "$seq" >&4
	read -r a4 _ <&4
	echo "wr c=$c tok=$tok seq=$seq checked=${a3:-none} open=${a4:-none}" \
		>>"$LS_LOG"
}

# ls_wait_newer TOKEN: wait (up to 30 s) until the store without the check
# (descriptor 4, written after the other) has accepted a higher token.
ls_wait_newer()
{
	local h='' i
	for i in $(seq 300); do
		printf 'H\n' >&4
		read -r _ h <&4
		[ "${h:-0}" -gt "$1" ] && break
		sleep 0.1
	done
	echo "newer c=$c tok=$1 highest=${h:-none} polls=$i" >>"$LS_LOG"
}

# --holder C N FAULT T0 ENDPOINTS: run by etcdctl lock while it holds the
# lock.  The token is the create revision of its key, not ETCD_LOCK_REV
# (the revision at which etcdctl saw the lock free: two holders can share
# it when a waiter's lease expired while it waited).  A key already gone
# means the lock is already lost: no write.
ls_holder()
{
	local c=$1 n=$2 fault=$3 t0=$4 t1=$EPOCHREALTIME tok w pg
	tok=$(ETCDCTL_API=3 etcdctl --endpoints="$5" --dial-timeout=1s \
		--command-timeout=5s get "${ETCD_LOCK_KEY:-none}" -w json |
		sed -n 's/.*"create_revision":\([0-9]*\).*/\1/p')
	if [ -z "$tok" ]; then
		echo "lost c=$c n=$n rev=${ETCD_LOCK_REV:-}" >>"$LS_LOG"
		return 0
	fi
	echo "acq c=$c n=$n tok=$tok t0=$t0 t1=$t1 fault=$fault" \
		"rev=${ETCD_LOCK_REV:-} key=${ETCD_LOCK_KEY:-}" >>"$LS_LOG"
	exec 3<>"/dev/tcp/127.0.0.1/$LS_PORT_CHECKED" \
		4<>"/dev/tcp/127.0.0.1/$LS_PORT_OPEN" || return 1
	for w in $(seq "$LS_WRITES"); do
		if [ "$w" = 2 ]; then
			case $fault in
			pause)
				# The whole client (its loop, etcdctl and us),
				# by a timer in a session of its own.
				read -r _ _ _ _ pg _ <"/proc/$$/stat"
				setsid bash -c "kill -STOP -- -$pg
					sleep $LS_PAUSE_S; kill -CONT -- -$pg" &
				sleep 1
				;;
			stall)
				kill -STOP "$PPID"
				sleep "$LS_PAUSE_S"
				kill -CONT "$PPID"
				;;
			partition)
				# ls_partition cuts our member off now.
				: >"$LS_LOG.cut"
				ls_wait_newer "$tok"
				;;
			esac
		fi
		ls_write "$c" "$tok" $((n * 10 + w))
		sleep 0.1
	done
}

# ls_lock C N FAULT ENDPOINTS: one etcdctl lock call, the holder HOLDER.
ls_lock()
{
	ETCDCTL_API=3 timeout --foreground 30 etcdctl --endpoints="$4" \
		--dial-timeout=1s --command-timeout=5s \
		lock --ttl "$LS_TTL" lsafety -- \
		"$LS_SELF" --holder "$1" "$2" "$3" "$EPOCHREALTIME" "$4" \
		>>"$LS_LOG.out" 2>&1
}

# --once C FAULT ENDPOINTS: take the lock once, trying up to 5 times.
ls_once()
{
	local n
	for n in 1 2 3 4 5; do
		ls_lock "$1" "$n" "$2" "$3"
		grep -q '^acq ' "$LS_LOG" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}

# --client C SEED END ENDPOINTS: take the lock until the epoch second END.
ls_client()
{
	local c=$1 end=$3 eps=$4 n=0 r fault
	RANDOM=$(( $2 * 64 + c ))
	while [ "${EPOCHREALTIME%.*}" -lt "$end" ]; do
		n=$((n + 1))
		r=$((RANDOM % 100))
		if [ $r -lt 18 ]; then fault=pause
		elif [ $r -lt 33 ]; then fault=stall
		else fault=none
		fi
		# Every run has both kinds: the first holdings of clients 1, 2.
		[ "$n$c" = 11 ] && fault=pause
		[ "$n$c" = 12 ] && fault=stall
		# Too late for another client to take over: no fault.
		[ $(( ${EPOCHREALTIME%.*} + LS_PAUSE_S + 2 )) -lt "$end" ] ||
			fault=none
		ls_lock "$c" "$n" "$fault" "$eps"
		sleep "0.$((RANDOM % 3))"
	done
}

case "${1:-}" in
--holder) shift; ls_holder "$@"; exit ;;
--client) shift; ls_client "$@"; exit ;;
--once) shift; ls_once "$@"; exit ;;
esac

. "$(dirname "$0")/cluster_faults_lib.sh"
LS_STORE=$CL_TOP/selftests/gnomond/lock_safety_store.py
LS_SEED=${LS_SEED:-11}
declare -a LS_GROUPS

ls_cleanup()
{
	local p
	for p in "${LS_GROUPS[@]}"; do
		kill -CONT -- "-$p" 2>/dev/null
		kill -KILL -- "-$p" 2>/dev/null
	done
	LS_GROUPS=()
	cl_cleanup
}

# ls_diag PREFIX TEXT: each line of TEXT as a KTAP diagnostic.
ls_diag()
{
	local l
	while IFS= read -r l; do ktap_diag "$1$l"; done <<<"$2"
}

# A store in the hub namespace: PORT NAME [--no-check].
ls_store()
{
	ip netns exec "$CL_NS-hub" setsid /usr/bin/python3 "$LS_STORE" serve \
		"$1" "$CL_DIR/$2.log" "$CL_DIR/$2.data" ${3:-} \
		>"$CL_DIR/$2.out" 2>&1 &
	LS_GROUPS+=($!)
}

# ls_result RC NAME [WHY]: ok if RC is 0.
ls_result()
{
	if [ "$1" = 0 ]; then ktap_ok "$2"; else ktap_fail "$2" "${3:-}"; fi
}

# ls_in_hub C ARGS...: this script, as client C, in the hub namespace, a
# process group of its own; its pid in LS_PID.
ls_in_hub()
{
	local c=$1
	shift
	ip netns exec "$CL_NS-hub" setsid env LS_LOG="$CL_DIR/client$c" \
		"$LS_SELF" "$@" &
	LS_PID=$!
	LS_GROUPS+=($!)
}

# ls_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
ls_until()
{
	local i
	for i in $(seq $(($1 * 10))); do
		"${@:2}" && return 0
		sleep 0.1
	done
	return 1
}

ls_wrote_all() { [ "$(grep -c '^wr ' "$CL_DIR/client$1")" -ge "$LS_WRITES" ]; }
ls_token() { sed -n 's/^acq .* tok=\([0-9]*\) .*/\1/p' "$CL_DIR/client$1"; }

# ls_partition C WHO: a partition (see the top), client C holding through
# WHO (leader or follower) alone, that member then cut off, client C+1
# asking the others; 2 KTAP lines.
ls_partition()
{
	local impl=$CL_IMPL c=$1 d=$(($1 + 1)) l i eps='' pc tc td wc
	l=$(cl_leader 20) || l=1
	[ "$2" = follower ] && l=$((l % CL_N + 1))
	for i in $(seq "$CL_N"); do
		[ "$i" = "$l" ] || eps=${eps:+$eps,}$(cl_addr "$i"):2379
	done
	ls_in_hub "$c" --once "$c" partition "$(cl_addr "$l"):2379"
	pc=$LS_PID
	ls_until 40 test -e "$CL_DIR/client$c.cut" ||
		ktap_diag "partition: client $c never held the lock"
	cl_isolate "$l"
	ls_in_hub "$d" --once "$d" none "$eps"
	wait "$LS_PID"
	ls_until 40 ls_wrote_all "$c"
	cl_heal
	wait "$pc"
	tc=$(ls_token "$c")
	td=$(ls_token "$d")
	ls_diag "partition: " "$(grep -h '^newer ' "$CL_DIR/client$c")"
	ls_result $(( ${td:-0} <= ${tc:-0} )) "$impl: partition: client $c holds through m$l ($2), m$l cut off, the majority grants client $d a higher token" \
		"tokens ${tc:-none}, then ${td:-none}"
	# Client C's writes after the cut, each after client D's first.
	wc=$(grep "^wr c=$c .* seq=[0-9]*[2-9] " "$CL_DIR/client$c")
	ls_diag "partition: " "$wc"
	ls_result $(( $(grep -c 'checked=stale open=ok' <<<"$wc") != LS_WRITES - 1 )) \
		"$impl: partition: client $c's writes after client $d's: refused with the check, landed without it"
}

# One run against CL_IMPL: 11 KTAP lines.
ls_run()
{
	local impl=$CL_IMPL i end out rc logs pids=() p
	cl_init 3 || { ktap_fail "$impl: namespaces"; return; }
	trap ls_cleanup EXIT
	if [ "$impl" = gnomond ]; then
		for i in $(seq "$CL_N"); do cl_clock "$i" 1000000; done
	fi
	for i in $(seq "$CL_N"); do cl_start "$i"; done
	if cl_leader 30 >/dev/null; then
		ktap_ok "$impl: 3 members elect a leader"
	else
		ktap_fail "$impl: 3 members elect a leader" \
			"$(tail -5 "$CL_DIR/m1.log")"
	fi
	ls_store $LS_PORT_CHECKED checked
	ls_store $LS_PORT_OPEN open --no-check
	for _ in $(seq 50); do
		grep -q listening "$CL_DIR/checked.out" &&
			grep -q listening "$CL_DIR/open.out" && break
		sleep 0.1
	done
	end=$(( ${EPOCHREALTIME%.*} + LS_SECONDS ))
	for i in $(seq "$LS_CLIENTS"); do
		ls_in_hub "$i" --client "$i" "$LS_SEED" "$end" "$(cl_endpoints)"
		pids+=("$LS_PID")
	done
	sleep $((LS_SECONDS / 2))
	cl_step_kill_leader 1
	for p in "${pids[@]}"; do wait "$p"; done
	ls_partition 5 leader
	ls_partition 7 follower
	for p in "${LS_GROUPS[@]:0:2}"; do
		kill -TERM "$p"
		wait "$p"
	done
	logs=("$CL_DIR"/client[0-9])
	out=$(/usr/bin/python3 "$LS_STORE" check-tokens "${logs[@]}")
	rc=$?
	ls_diag "" "$out"
	ls_result $rc "$impl: every holding's token is its own and above every earlier holder's"
	i=$(grep -h '^wr ' "${logs[@]}" | grep -c 'checked=stale')
	ls_result $((i == 0)) "$impl: the faults deposed holders: $i of their writes refused"
	out=$(/usr/bin/python3 "$LS_STORE" check-store "$CL_DIR/checked.log" \
		"$CL_DIR/checked.data" checked "${logs[@]}")
	rc=$?
	ls_diag "token check on: " "$out"
	ls_result $((rc == 1)) "$impl: token check on: no deposed holder's write accepted after a newer holder's"
	ls_result $((rc == 2)) "$impl: token check on: the store holds each acknowledged write once"
	out=$(/usr/bin/python3 "$LS_STORE" check-store "$CL_DIR/open.log" \
		"$CL_DIR/open.data" open "${logs[@]}")
	rc=$?
	ls_diag "token check off: " "$out"
	ls_result $((rc != 1)) "$impl: token check off, same writes: stale writes land after newer holders' (the check can fail)" "check-store exit $rc"
	grep -ho '^Error: .*' "$CL_DIR"/client*.out | sort | uniq -c |
		while read -r l; do ktap_diag "etcdctl lock: $l"; done
	[ -n "${LS_KEEP:-}" ] && cp -r "$CL_DIR" "/tmp/lock-safety-$impl.$$"
	ls_cleanup
	trap - EXIT
	# shellcheck disable=SC2034  # cluster_lib.sh's, fresh for cl_init
	CL_PIDS=() CL_CLOCK_PIDS=() CL_ENV=()
	CL_DIR=
}

CL_IMPL=gnomond
cl_plan 22 "$(cl_missing)"
ktap_diag "seed $LS_SEED (LS_SEED), TTL ${LS_TTL} s, pauses $LS_PAUSE_S s"
ls_run
if command -v etcd >/dev/null; then
	CL_IMPL=etcd
	ls_run
else
	for i in $(seq 11); do
		ktap_skip "lock-safety-etcd-$i" "etcd is not installed"
	done
fi
ktap_finish
