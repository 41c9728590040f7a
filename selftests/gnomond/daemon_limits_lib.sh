# SPDX-License-Identifier: GPL-2.0
# What daemon_limits.sh and peer_abuse.sh share; source it after setting
# N (the plan) and NAME (for a skipped plan).
#
#	abuse_start [gnomond flags...]   # 3 members; $leader, or fail and exit
#
# $conns is the connection holder, daemon_limits_conns.py.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"
conns=$top/selftests/gnomond/daemon_limits_conns.py

ktap_plan "$N"
for tool in etcdctl prlimit /usr/bin/python3; do
	command -v "$tool" >/dev/null ||
		ktap_skip_all "$NAME" "$tool is not installed"
done

abuse_start()
{
	local i
	for i in 1 2 3; do gd_start "$i" "$@"; done
	leader=$(gd_wait_leader 15) && return 0
	ktap_fail "a leader is elected" "$(tail -n 5 "$GD_DIR"/n*.log)"
	ktap_finish
	exit 1
}
