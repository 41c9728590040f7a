#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What a lock's next holder must wait for, on a 3-member gnomond cluster
# with a synchronized clock (daemon_lock_ends.py): LockResponse's
# gnomon_token, gnomon_prev_end_ns (E) and gnomon_prev_token (P) after a
# revoke, and after the leader that decided E was killed between holders
# (E and P are replicated).  GD_BIN=<gnomond from before the fields>: fails.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

ktap_plan 3
if ! /usr/bin/python3 -c 'import etcd3, grpc' 2>/dev/null ||
	[ ! -x "$CL_SYNCD" ]; then
	ktap_skip_all daemon-lock-ends "python3-etcd3, grpcio or gnomon-syncd missing"
fi
gd_cluster_init 3 --synchronized
trap gd_cluster_cleanup EXIT
for i in 1 2 3; do gd_start "$i"; done
leader=$(gd_wait_leader 15) || ktap_diag "no leader"
sleep 0.5
f=$(( ${leader:-1} % 3 + 1 ))

# py NAME ARGS...: one phase of daemon_lock_ends.py, one KTAP line.
py() {
	local name=$1 out
	shift
	out=$(timeout 60 /usr/bin/python3 "$top/selftests/gnomond/daemon_lock_ends.py" \
		"$@" 2>&1)
	if printf '%s\n' "$out" | grep -q '^# [0-9]* tests, 0 failed'; then
		ktap_ok "$name"
	else
		ktap_fail "$name" "$out"
	fi
	printf '%s\n' "$out" | sed 's/^/# /'
}
py "E and P after a revoke" first "$(gd_client_port "$leader")" \
	"$(gd_client_port "$f")" "$GD_DIR/ends.json"
gd_kill "$leader"
sleep 0.5
new=$(gd_wait_leader 15)
ktap_check "a new leader after the old one was killed" test -n "$new"
py "E and P survive the leader's death" second "$(gd_client_port "${new:-$f}")" \
	"$GD_DIR/ends.json"
ktap_finish
