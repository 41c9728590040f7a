#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gnomond leases under clock faults.  Three members in their own network
# namespaces, each reading TT.now() from its own page, written by its own
# gnomon-syncd (static source) declaring errors of 1, 30 and 120 ms.  Each
# member and its agent run under a test shim that skews that process's
# CLOCK_REALTIME (cluster_skew_shim.c).  While a workload runs:
#
#  - within the bound: the leader's clock is set half its declared error
#    behind, the others half theirs ahead, and the leader is isolated;
#  - a stalled clock agent (SIGSTOP): after 5 missed updates the new
#    leader's clock is free-running, so it must turn lease reads off
#    (read-index), and back on once the agent resumes (SIGCONT);
#  - beyond the bound: the leader's clock is set 3 s behind while it
#    declares milliseconds, and it is isolated from the others.
#
# The history must be linearizable throughout.
set -u
. "$(dirname "$0")/cluster_faults_lib.sh"

why=
[ "$CL_IMPL" = gnomond ] || why="only gnomond has bounded-clock leases"
[ -n "$why" ] || why=$(cl_missing)
[ -n "$why" ] || [ -f "$CL_TOP/build/tests/gnomond/libskew.so" ] ||
	why="the skew shim is not built"
cl_plan 9 "$why"
CL_SKEW=1
cl_init 3 || { ktap_fail "namespaces"; exit 1; }
errors=(0 1000000 30000000 120000000)
for i in 1 2 3; do cl_clock "$i" "${errors[$i]}" --freerun-intervals 5; done
for i in 1 2 3; do cl_start "$i"; done
cl_leader 30 >/dev/null && ktap_ok "members declaring 1/30/120 ms elect a leader" ||
	ktap_fail "members declaring 1/30/120 ms elect a leader"
cl_expect_lease_reads
cl_workload 34 "$CL_DIR/history"
sleep 2

# Within the bound.
l=$(cl_leader 20)
for i in 1 2 3; do
	if [ "$i" = "$l" ]; then
		cl_skew "$i" $(( -errors[i] / 2 ))
	else
		cl_skew "$i" $(( errors[i] / 2 ))
	fi
done
ktap_diag "within the bound: leader m$l behind by half its error, others ahead"
sleep 1
cl_step_isolate_leader 3
for i in 1 2 3; do cl_skew "$i" 0; done
sleep 2

# A stalled clock agent.
l=$(cl_leader 20)
kill -STOP "${CL_CLOCK_PIDS[$l]}"
mode=
for _ in $(seq 40); do
	mode=$(cl_status "$l" read_mode)
	[ "$mode" = read-index ] && break
	sleep 0.1
done
[ "$mode" = read-index ] &&
	ktap_ok "leader m$l with a free-running clock reads through ReadIndex" ||
	ktap_fail "leader m$l with a free-running clock reads through ReadIndex" "read_mode=$mode"
sleep 1
kill -CONT "${CL_CLOCK_PIDS[$l]}"
for _ in $(seq 50); do
	mode=$(cl_status "$l" read_mode)
	[ "$mode" = lease ] && break
	sleep 0.1
done
[ "$mode" = lease ] &&
	ktap_ok "leader m$l with a synchronized clock again serves lease reads" ||
	ktap_fail "leader m$l with a synchronized clock again serves lease reads" \
		"read_mode=$mode (leader now m$(cl_leader 5))"
sleep 1

# Beyond the bound.
l=$(cl_leader 20)
cl_skew "$l" -3000000000
ktap_diag "beyond the bound: leader m$l 3 s behind, declaring ${errors[$l]} ns"
sleep 1
cl_step_isolate_leader 3
cl_skew "$l" 0
cl_check "$CL_DIR/history" "clock faults"
ktap_finish
