#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A damaged clock page under a running gnomond cluster (issue 13, sections
# 1 and 2).  Three members in their own namespaces read TT.now() from one
# agent file, as members on one host do, written by one gnomon-syncd.
# While a workload runs:
#
#  - the agent is killed and the page's counter left odd, as an agent
#    killed between its two increments leaves it: every member must go on
#    serving (writes, linearizable and serializable reads), the leader must
#    report the clock disrupted and read through ReadIndex, and say so in
#    its log;
#  - the agent restarts: it repairs the page in place, and the members,
#    which keep the file open, follow it back to lease reads;
#  - the file is truncated to 0 bytes under the running agent and members
#    (this once killed every member with SIGBUS), then with the agent
#    stopped: members report the clock unsynchronized and keep serving
#    until an agent puts a valid page back.
#
# The history must be linearizable throughout, and no member may exit.
set -u
. "$(dirname "$0")/cluster_faults_lib.sh"

why=
[ "$CL_IMPL" = gnomond ] || why="only gnomond reads the clock page"
[ -n "$why" ] || why=$(cl_missing)
cl_plan 20 "$why"
cl_init 3 || { ktap_fail "namespaces"; exit 1; }
page=$CL_DIR/clock1

# One agent file for all three members.
start_agent() { cl_clock 1 1000000 --freerun-intervals 5; }
start_agent || { ktap_fail "the agent writes its page"; exit 1; }
CL_ENV[2]=${CL_ENV[1]}
CL_ENV[3]=${CL_ENV[1]}
for i in 1 2 3; do cl_start "$i"; done
cl_leader 30 >/dev/null && ktap_ok "members reading one page elect a leader" ||
	ktap_fail "members reading one page elect a leader"
cl_expect_lease_reads
CL_MIN_OPS=100 cl_workload 40 "$CL_DIR/history"
sleep 2

stop_agent()
{
	kill -KILL "${CL_CLOCK_PIDS[1]}" 2>/dev/null
	wait "${CL_CLOCK_PIDS[1]}" 2>/dev/null
}

# The page's seq (offset 8) made odd, as a killed agent leaves it.
set_odd_counter()
{
	/usr/bin/python3 -c 'import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(8)
    seq = struct.unpack("<I", f.read(4))[0]
    f.seek(8)
    f.write(struct.pack("<I", seq | 1))' "$page"
}

# Wait (bounded) until member I's status FIELD is VALUE; print the last.
wait_status()
{
	local v=
	for _ in $(seq 50); do
		v=$(cl_status "$1" "$2")
		[ "$v" = "$3" ] && break
		sleep 0.1
	done
	echo "$v"
}

# The leader's status FIELD becomes VALUE (KTAP).
expect_leader()
{
	local l
	l=$(cl_leader 20)
	ktap_eq "$1: leader m$l has $2 $3" "$3" "$(wait_status "$l" "$2" "$3")"
}

# The agent's log says PATTERN (KTAP; bounded wait for it).
expect_agent_said()
{
	for _ in $(seq 30); do
		grep -q "$2" "$CL_DIR/syncd1.log" && break
		sleep 0.1
	done
	grep -q "$2" "$CL_DIR/syncd1.log" && ktap_ok "$1" ||
		ktap_fail "$1" "$(tail -n 3 "$CL_DIR/syncd1.log" | tr '\n' ' ')"
}

# Every member answers a write, a linearizable and a serializable read.
expect_serving()
{
	local what=$1 i k=clockpage-$RANDOM bad=
	for i in 1 2 3; do
		cl_etcdctl --endpoints="$(cl_addr "$i"):2379" put "$k-$i" v \
			>/dev/null 2>&1 || bad="$bad put@m$i"
		cl_etcdctl --endpoints="$(cl_addr "$i"):2379" get "$k-$i" \
			>/dev/null 2>&1 || bad="$bad get@m$i"
		cl_etcdctl --endpoints="$(cl_addr "$i"):2379" get --consistency=s \
			"$k-$i" >/dev/null 2>&1 || bad="$bad serializable-get@m$i"
	done
	[ -z "$bad" ] && ktap_ok "$what: every member serves writes and both kinds of read" ||
		ktap_fail "$what: every member serves writes and both kinds of read" "failed:$bad"
}

expect_alive()
{
	local i dead=
	for i in 1 2 3; do
		kill -0 "${CL_PIDS[$i]}" 2>/dev/null || dead="$dead m$i"
	done
	[ -z "$dead" ] && ktap_ok "$1: all three members run" ||
		ktap_fail "$1: all three members run" "exited:$dead $(tail -n 3 "$CL_DIR"/m*.log | tr '\n' ' ')"
}

# 1. An odd counter, the agent gone.
stop_agent
set_odd_counter
expect_leader "odd counter" clock disrupted
expect_leader "odd counter" read_mode read-index
l=$(cl_leader 20)
grep -Eq "read mode read-index \(clock disrupted\)|clock disrupted \(was [a-z-]+\): read mode read-index" "$CL_DIR/m$l.log" &&
	ktap_ok "odd counter: leader m$l says so in its log" ||
	ktap_fail "odd counter: leader m$l says so in its log" \
		"$(grep 'read mode' "$CL_DIR/m$l.log" | tail -n 2)"
expect_serving "odd counter"
expect_alive "odd counter"

# 2. The agent restarts: it repairs the page in place.
start_agent || ktap_diag "the restarted agent did not write its page"
expect_agent_said "the restarted agent repairs the page in place" \
	"repairing the page in place"
expect_leader "repaired" read_mode lease
expect_leader "repaired" clock synchronized

# 3. Truncated under the running agent and members.
truncate -s 0 "$page"
sleep 1
expect_alive "truncated under the agent"
expect_agent_said "the running agent puts a new page in place" \
	"truncated, damaged or replaced"
expect_leader "truncated under the agent, new page" clock synchronized

# 4. Truncated with the agent stopped: unsynchronized until it is back.
stop_agent
truncate -s 0 "$page"
expect_leader "truncated, no agent" clock unsynchronized
expect_serving "truncated, no agent"
expect_alive "truncated, no agent"
start_agent || ktap_diag "the restarted agent did not write its page"
expect_leader "page back" read_mode lease

CL_MIN_OPS=100 cl_check "$CL_DIR/history" "damaged clock page"
ktap_finish
