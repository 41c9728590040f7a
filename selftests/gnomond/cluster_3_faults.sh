#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Three members, each in its own network namespace; six clients record a
# history while the leader is killed (SIGKILL, restarted), stopped
# (SIGSTOP, then SIGCONT) and isolated from the other members; the history
# must be linearizable (gnomon-lincheck).  Six watchers (cl_watchers) run
# through the same faults and must each see exactly the committed events
# of their range.  GNOMON_CLUSTER_IMPL=etcd|gnomond.
set -u
. "$(dirname "$0")/cluster_faults_lib.sh"

cl_plan 16 "$(cl_missing)"
ktap_diag "implementation: $CL_IMPL"
cl_init 3 || { ktap_fail "namespaces"; exit 1; }
if [ "$CL_IMPL" = gnomond ]; then
	for i in $(seq "$CL_N"); do cl_clock "$i" 1000000; done
fi
for i in 1 2 3; do cl_start "$i"; done
cl_leader 30 >/dev/null && ktap_ok "$CL_IMPL: 3 members elect a leader" ||
	ktap_fail "$CL_IMPL: 3 members elect a leader" "$(tail -5 "$CL_DIR/m1.log")"
cl_expect_lease_reads
cl_workload 26 "$CL_DIR/history"
cl_watchers 26
sleep 2
cl_step_kill_leader 2
sleep 3
cl_step_stop_leader 2
sleep 3
cl_step_isolate_leader 3
cl_check "$CL_DIR/history" "3 members"
cl_watch_check "3 members" "$CL_DIR/history"
ktap_finish
