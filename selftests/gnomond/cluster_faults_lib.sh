# SPDX-License-Identifier: GPL-2.0
# Fault steps shared by the cluster tests; source it (it brings ktap.sh and
# cluster_lib.sh).  Each step prints KTAP lines and leaves the cluster whole
# again.
. "$(dirname "${BASH_SOURCE[0]}")/../ktap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

# Plan N tests; if WHY is set, skip them all with it and exit.
cl_plan()
{
	ktap_plan "$1"
	[ -z "${2:-}" ] && return 0
	ktap_skip_all "$(basename "$0")" "$2"
}

# SIGKILL the leader, expect another leader, restart the old one.
cl_step_kill_leader()
{
	local l n
	l=$(cl_leader 20) || { ktap_fail "kill: a leader exists"; return; }
	cl_kill "$l" KILL
	n=$(cl_leader 20)
	if [ -n "$n" ] && [ "$n" != "$l" ]; then
		ktap_ok "SIGKILL of leader m$l: m$n took over"
	else
		ktap_fail "SIGKILL of leader m$l: another member took over" "got '$n'"
	fi
	sleep "${1:-1}"
	cl_start "$l"
}

# SIGSTOP the leader for a while (longer than the election timeout).
cl_step_stop_leader()
{
	local l n
	l=$(cl_leader 20) || { ktap_fail "stop: a leader exists"; return; }
	cl_kill "$l" STOP
	sleep "${1:-2}"
	n=$(cl_leader 20)
	cl_kill "$l" CONT
	if [ -n "$n" ] && [ "$n" != "$l" ]; then
		ktap_ok "SIGSTOP of leader m$l: m$n took over"
	else
		ktap_fail "SIGSTOP of leader m$l: another member took over" "got '$n'"
	fi
}

# Cut the leader off from the other members (clients still reach it).
cl_step_isolate_leader()
{
	local l n
	l=$(cl_leader 20) || { ktap_fail "isolate: a leader exists"; return; }
	cl_isolate "$l"
	sleep "${1:-2}"
	n=$(cl_leader_other "$l" 20)
	cl_heal
	if [ -n "$n" ]; then
		ktap_ok "isolated leader m$l: m$n leads the majority"
	else
		ktap_fail "isolated leader m$l: the majority elected a leader"
	fi
}

# Split the leader and others into a minority, the rest a majority.
cl_step_partition()
{
	local l i minority majority=
	l=$(cl_leader 20) || { ktap_fail "partition: a leader exists"; return; }
	minority=$l
	for i in $(seq "$CL_N"); do
		[ "$i" = "$l" ] && continue
		if [ $(( $(wc -w <<<"$minority") * 2 + 2 )) -le "$CL_N" ]; then
			minority="$minority $i"
		else
			majority="$majority $i"
		fi
	done
	cl_partition "$minority" "$majority"
	sleep "${1:-2}"
	n=$(cl_leader_other "$minority" 20)
	cl_heal
	if [ -n "$n" ]; then
		ktap_ok "partition {$minority} | {$majority }: m$n leads the majority"
	else
		ktap_fail "partition {$minority} | {$majority }: the majority elected a leader"
	fi
}

# A leader outside the given members, as they themselves say.
cl_leader_other()
{
	local deadline=$(( $(date +%s) + $2 )) i st id lead
	while [ "$(date +%s)" -lt "$deadline" ]; do
		for i in $(seq "$CL_N"); do
			grep -qw "$i" <<<"$1" && continue
			st=$(cl_etcdctl --endpoints="$(cl_addr "$i"):2379" \
				endpoint status -w json 2>/dev/null) || continue
			id=$(jq -r '.[0].Status.header.member_id' <<<"$st")
			lead=$(jq -r '.[0].Status.leader' <<<"$st")
			[ "$id" = "$lead" ] && { echo "$i"; return 0; }
		done
		sleep 0.2
	done
	return 1
}

# gnomond with synchronized clocks: the leader says it serves lease reads.
cl_expect_lease_reads()
{
	local l m=
	if [ "$CL_IMPL" != gnomond ]; then
		ktap_skip "leader serves lease reads" "etcd has no bounded-clock leases"
		return
	fi
	l=$(cl_leader 20)
	for _ in $(seq 30); do
		m=$(cl_status "$l" read_mode)
		[ "$m" = lease ] && break
		sleep 0.2
	done
	[ "$m" = lease ] && ktap_ok "leader m$l serves lease reads" ||
		ktap_fail "leader m$l serves lease reads" "read_mode=$m"
}

# Watchers beside the workload (kv_watch.py, in the hub), one on each
# member from the leader on (on every member of a 5-member cluster, so
# one is on whichever member a fault kills): over the workload's prefix,
# one key or a range, from now or from an old revision (two join late),
# each reconnecting to its member after a fault from the last revision it
# saw + 1; and one that moves to the next member every 2 s and after
# every fault.  Call it after cl_workload; cl_watch_check judges them.
# CL_WATCHERS: their names.
CL_WATCH=$CL_TOP/tools/gnomond/lincheck/kv_watch.py
CL_WATCH_CHECK=$CL_TOP/tools/gnomond/lincheck/watch_check.py
CL_WATCHERS="prefix-now prefix-rev1 key-now range-rev1-late prefix-rev2-late
	prefix-rev1-hop"
cl_watchers()
{
	local l i m=()
	l=$(cl_leader 20) || l=1
	for i in 0 1 2 3 4; do m[$i]=$(( (l + i - 1) % CL_N + 1 )); done
	mkdir -p "$CL_DIR/watch"
	cl_hub timeout $(( $1 + 240 )) /usr/bin/python3 "$CL_WATCH" watch \
		--endpoints "$(cl_endpoints)" --out "$CL_DIR/watch" \
		--stop-file "$CL_DIR/watch.end" --grace 30 \
		--spec "name=prefix-now,member=${m[0]},key=/lin/,prefix=1" \
		--spec "name=prefix-rev1,member=${m[1]},key=/lin/,prefix=1,start=1" \
		--spec "name=key-now,member=${m[2]},key=/lin/1" \
		--spec "name=range-rev1-late,member=${m[3]},key=/lin/1,end=/lin/3,start=1,delay=8" \
		--spec "name=prefix-rev2-late,member=${m[4]},key=/lin/,prefix=1,start=2,delay=14" \
		--spec "name=prefix-rev1-hop,member=${m[1]},key=/lin/,prefix=1,start=1,hop=2" \
		>"$CL_DIR/watch.log" 2>&1 &
	CL_WATCH_PID=$!
	ktap_diag "watchers from m$l, the leader"
}

# After cl_check: one transaction ends every watcher's range, the
# committed history is read back revision by revision, and watch_check.py
# judges each watcher against it (and it against the workload's history);
# then three doctored copies of a watcher's log (an event dropped, one
# repeated, two swapped) must each be caught.  KTAP: 8 lines.
cl_watch_check()
{
	local name=$1 h=$2 endrev out rc w line how bad= log=
	ktap_diag "closing transaction at ${SECONDS}s"
	if ! cl_hub /usr/bin/python3 "$CL_WATCH" end --endpoints \
		"$(cl_endpoints)" --out "$CL_DIR/watch.end" \
		--keys "${CL_KEYS:-5}" >>"$CL_DIR/watch.log" 2>&1; then
		ktap_fail "$name: closing transaction" "$(tail -3 "$CL_DIR/watch.log")"
		kill "$CL_WATCH_PID"
	fi
	endrev=$(cat "$CL_DIR/watch.end" 2>/dev/null)
	cl_hub /usr/bin/python3 "$CL_WATCH" history --endpoints \
		"$(cl_endpoints)" --out "$CL_DIR/committed" \
		--upto "${endrev:-0}" >>"$CL_DIR/watch.log" 2>&1
	wait "$CL_WATCH_PID"
	ktap_diag "watchers done after ${SECONDS}s"
	ktap_diag "$(grep -v '^Traceback' "$CL_DIR/watch.log" | tail -2 | tr '\n' ' ')"
	out=$(/usr/bin/python3 "$CL_WATCH_CHECK" --committed "$CL_DIR/committed" \
		--workload "$h" --end "${endrev:-0}" "$CL_DIR"/watch/*.watch 2>&1)
	rc=$?
	for w in "committed history" $CL_WATCHERS; do
		line=$(grep -E "^(ok|FAIL) $w[: ]" <<<"$out" | head -1)
		case $line in
		ok*) ktap_ok "$name: ${line#ok }" ;;
		FAIL*) ktap_fail "$name: ${line#FAIL }"; bad=1 ;;
		*) ktap_fail "$name: $w judged" "rc=$rc: $(tail -3 <<<"$out")"; bad=1 ;;
		esac
	done
	if [ -n "$bad" ] || [ -n "${CL_WATCH_KEEP:-}" ]; then
		rm -rf /tmp/watch-faults.kept
		mkdir -p /tmp/watch-faults.kept
		cp -r "$CL_DIR/watch" "$CL_DIR/watch.log" "$CL_DIR/committed" "$h" \
			"$CL_DIR"/m*.log /tmp/watch-faults.kept/ 2>/dev/null
		ktap_diag "kept /tmp/watch-faults.kept"
	fi
	log=$CL_DIR/watch/prefix-rev1.watch
	for how in drop dup swap; do
		/usr/bin/python3 "$CL_WATCH_CHECK" --doctor "$how" "$log" \
			"$CL_DIR/doctored.watch" &&
			/usr/bin/python3 "$CL_WATCH_CHECK" --committed \
			"$CL_DIR/committed" --end "${endrev:-0}" \
			"$CL_DIR/doctored.watch" >/dev/null 2>&1
		rc=$?
		[ $rc -eq 1 ] || { bad="$how: rc=$rc"; break; }
		bad=
	done
	[ -z "$bad" ] && ktap_ok "$name: a dropped, a repeated and a swapped event are caught" ||
		ktap_fail "$name: a dropped, a repeated and a swapped event are caught" "$bad"
}
