#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# python3-etcd3 against a 3-member gnomond cluster on loopback
# (daemon_python_etcd3.py does the checks and prints KTAP).  Uses Debian's
# /usr/bin/python3, where python3-etcd3 is installed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

gd_python_cluster
# Let every follower learn the leader before the first forwarded write.
sleep 0.5
timeout 120 /usr/bin/python3 "$top/selftests/gnomond/daemon_python_etcd3.py" \
	"$(gd_client_port 1)" "$(gd_client_port 2)" "$(gd_client_port 3)"
