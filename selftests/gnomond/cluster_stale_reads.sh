#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The fault-test pipeline must catch a real anomaly, not only an injected
# one.  Three members; a follower is isolated from the others while the
# workload reads with serializable reads (each member answers from its own
# state: etcd's and gnomond's documented non-linearizable mode) and every
# client sticks to its member.  The isolated follower keeps answering with
# the values it had, while the majority moves on: gnomon-lincheck must
# report the history as not linearizable.  GNOMON_CLUSTER_IMPL=etcd|gnomond.
set -u
. "$(dirname "$0")/cluster_faults_lib.sh"

cl_plan 3 "$(cl_missing)"
cl_init 3 || { ktap_fail "namespaces"; exit 1; }
for i in 1 2 3; do cl_start "$i"; done
l=$(cl_leader 30)
if [ -z "$l" ]; then
	ktap_fail "$CL_IMPL: 3 members elect a leader"
	exit 1
fi
ktap_ok "$CL_IMPL: 3 members elect a leader"
f=$(( l % 3 + 1 ))
CL_WORKLOAD_ARGS="--serializable-reads --sticky" cl_workload 12 "$CL_DIR/history"
sleep 2
cl_isolate "$f"
ktap_diag "follower m$f isolated; serializable reads, sticky clients"
if wait "$CL_WL_PID"; then
	ktap_ok "workload ran"
else
	ktap_fail "workload ran" "$(tail -3 "$CL_DIR/workload.log")"
fi
ktap_diag "$(cat "$CL_DIR/workload.log")"
out=$("$CL_LINCHECK" "$CL_DIR/history" 2>&1)
rc=$?
ktap_diag "$(tail -1 <<<"$out")"
[ $rc -eq 1 ] && ktap_ok "the stale reads of the isolated follower are caught" ||
	ktap_fail "the stale reads of the isolated follower are caught" "rc=$rc"
ktap_finish
