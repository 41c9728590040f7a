#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Five members, each in its own network namespace; six clients record a
# history while the leader and one other member are split from the other
# three (minority | majority), the leader is killed (SIGKILL, restarted),
# stopped (SIGSTOP, SIGCONT) and isolated; the history must be
# linearizable (gnomon-lincheck), and six watchers (cl_watchers) must
# each see exactly the committed events of their range.
# GNOMON_CLUSTER_IMPL=etcd|gnomond; gnomond members get synchronized
# clocks (1 ms), so their leaders serve lease reads.
set -u
. "$(dirname "$0")/cluster_faults_lib.sh"

cl_plan 17 "$(cl_missing)"
ktap_diag "implementation: $CL_IMPL"
cl_init 5 || { ktap_fail "namespaces"; exit 1; }
if [ "$CL_IMPL" = gnomond ]; then
	for i in $(seq "$CL_N"); do cl_clock "$i" 1000000; done
fi
for i in 1 2 3 4 5; do cl_start "$i"; done
cl_leader 30 >/dev/null && ktap_ok "$CL_IMPL: 5 members elect a leader" ||
	ktap_fail "$CL_IMPL: 5 members elect a leader" "$(tail -5 "$CL_DIR/m1.log")"
cl_expect_lease_reads
cl_workload 30 "$CL_DIR/history"
cl_watchers 30
sleep 2
cl_step_partition 3
sleep 2
cl_step_kill_leader 2
sleep 2
cl_step_stop_leader 2
sleep 2
cl_step_isolate_leader 3
cl_check "$CL_DIR/history" "5 members"
cl_watch_check "5 members" "$CL_DIR/history"
ktap_finish
