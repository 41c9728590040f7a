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
