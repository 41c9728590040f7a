#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# python3-etcd3's watches, leases and locks against a 3-member gnomond
# cluster with a synchronized clock (daemon_python_coord.py does the
# checks and prints KTAP); the client talks to two different members.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

if ! /usr/bin/python3 -c 'import etcd3' 2>/dev/null; then
	ktap_plan 1
	ktap_skip "python3-etcd3" "python3-etcd3 is not installed"
	ktap_finish
	exit $?
fi
gd_cluster_init 3 --synchronized
trap gd_cluster_cleanup EXIT
for i in 1 2 3; do gd_start "$i"; done
if ! leader=$(gd_wait_leader 15); then
	ktap_plan 1
	ktap_fail "a leader is elected" "$(tail -n 5 "$GD_DIR"/n*.log)"
	ktap_finish
	exit 1
fi
sleep 0.5
f=$(( leader % 3 + 1 ))
timeout 180 /usr/bin/python3 "$top/selftests/gnomond/daemon_python_coord.py" \
	"$(gd_client_port "$f")" "$(gd_client_port "$leader")"
