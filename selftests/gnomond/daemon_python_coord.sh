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

gd_python_cluster --synchronized
leader=$GD_LEADER
sleep 0.5
f=$(( leader % 3 + 1 ))
timeout 180 /usr/bin/python3 "$top/selftests/gnomond/daemon_python_coord.py" \
	"$(gd_client_port "$f")" "$(gd_client_port "$leader")"
