#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# etcd's answers where gnomond once gave wrong ones (daemon_answers.py does
# the checks and prints KTAP): read-your-writes on a follower, per-member
# alarms, :authority in URL form, UNIMPLEMENTED for what is not served,
# MemberList order.  The cluster is started again (new ports, so new
# member ids) until the configured order of the members is not already
# ascending by id, so that the order check can tell (at most 8 tries).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

if ! /usr/bin/python3 -c 'import etcd3, grpc' 2>/dev/null ||
   ! command -v etcdctl >/dev/null; then
	ktap_plan 1
	ktap_skip_all daemon-answers "python3-etcd3 or etcdctl is not installed"
fi

member_id() {
	ETCDCTL_API=3 timeout 20 etcdctl --endpoints="$(gd_endpoint "$1")" \
		--command-timeout=10s endpoint status -w json 2>/dev/null |
		sed -n 's/.*"member_id":\([0-9]*\).*/\1/p'
}

for try in $(seq 8); do
	gd_cluster_init 3
	for i in 1 2 3; do gd_start "$i" --quota-backend-bytes 300000; done
	if ! leader=$(gd_wait_leader 15); then
		ktap_plan 1
		ktap_fail "a leader is elected" "$(tail -n 5 "$GD_DIR"/n*.log)"
		ktap_finish
		exit 1
	fi
	ids=$(for i in 1 2 3; do member_id "$i"; done)
	[ "$ids" != "$(sort -n <<<"$ids")" ] && break
	gd_cluster_cleanup
done
follower=$(( leader % 3 + 1 ))
other=$(( follower % 3 + 1 ))
# Let every follower learn the leader before the first forwarded write.
sleep 0.5
timeout 300 /usr/bin/python3 "$top/selftests/gnomond/daemon_answers.py" \
	"$(gd_client_port "$leader")" "$(gd_client_port "$follower")" \
	"$(gd_client_port "$other")"
