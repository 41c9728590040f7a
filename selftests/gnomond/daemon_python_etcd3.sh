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

if ! /usr/bin/python3 -c 'import etcd3' 2>/dev/null; then
	ktap_plan 1
	ktap_skip "python3-etcd3" "python3-etcd3 is not installed"
	ktap_finish
	exit $?
fi
gd_cluster_init 3
for i in 1 2 3; do gd_start "$i"; done
if ! gd_wait_leader 15 >/dev/null; then
	ktap_plan 1
	ktap_fail "a leader is elected" "$(tail -n 5 "$GD_DIR"/n*.log)"
	ktap_finish
	exit 1
fi
# Let every follower learn the leader before the first forwarded write.
sleep 0.5
timeout 120 /usr/bin/python3 "$top/selftests/gnomond/daemon_python_etcd3.py" \
	"$(gd_client_port 1)" "$(gd_client_port 2)" "$(gd_client_port 3)"
