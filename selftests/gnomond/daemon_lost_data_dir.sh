#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A member that lost its data directory must not rejoin as if nothing had
# happened (operations.rst, "Losing a data directory"), while one that kept
# it must.  On a 3-member loopback cluster:
#   - a follower killed and restarted with its data directory rejoins and
#     serves the writes made meanwhile (no false alarm);
#   - a follower killed, wiped and restarted stops by itself with exit
#     status 1 and says its data directory was lost, and the other two
#     keep serving writes;
#   - --initial-cluster-state existing with an empty data directory is
#     refused at start for a member that was not removed and added back
#     (its slot has started before); with the member's data directory it
#     starts.
# Every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

gd_etcdctl_plan 8 daemon-lost-data-dir

gd_cluster_init 3
gd_start_all
leader=$GD_LEADER
kept=$(( leader % 3 + 1 ))
wiped=$(( kept % 3 + 1 ))
for k in 1 2 3 4 5; do gd_etcdctl put "/d/$k" "v$k" >/dev/null; done

gd_kill "$kept" KILL
gd_etcdctl put /d/while-down yes >/dev/null
gd_start "$kept"
got=$(gd_until_eq 15 yes gd_get "$kept" /d/while-down)
if [ "$got" = yes ] && gd_alive "$kept"; then
	ktap_ok "a follower restarted with its data directory catches up"
else
	ktap_fail "a follower restarted with its data directory catches up" \
		"read [$got]; $(tail -n 3 "$GD_DIR/n$kept.log")"
fi

gd_kill "$wiped" KILL
rm -rf "${GD_DIR:?}/n$wiped"
gd_start "$wiped"
gd_exited "$wiped" 20
if [ "$status" = 1 ]; then
	ktap_ok "a follower restarted without its data directory stops"
else
	ktap_fail "a follower restarted without its data directory stops" \
		"status [$status]; $(tail -n 3 "$GD_DIR/n$wiped.log")"
fi
if grep -q "data directory was lost" "$GD_DIR/n$wiped.log"; then
	ktap_ok "it says its data directory was lost"
else
	ktap_fail "it says its data directory was lost" \
		"$(tail -n 3 "$GD_DIR/n$wiped.log")"
fi
if ! grep -q "lost" "$GD_DIR/n$kept.log" "$GD_DIR/n$leader.log"; then
	ktap_ok "the members that kept their data report nothing"
else
	ktap_fail "the members that kept their data report nothing" \
		"$(grep -h lost "$GD_DIR/n$kept.log" "$GD_DIR/n$leader.log")"
fi
out=$(gd_etcdctl put /d/after yes)
if [ "$out" = OK ] && [ "$(gd_until_eq 10 yes gd_get "$kept" /d/after)" = yes ]; then
	ktap_ok "the other two members keep serving writes"
else
	ktap_fail "the other two members keep serving writes" "put: [$out]"
fi

rm -rf "${GD_DIR:?}/n$wiped"
gd_start "$wiped" --initial-cluster-state existing
gd_exited "$wiped" 10
if [ "$status" = 1 ] && [ ! -e "$GD_DIR/n$wiped/meta1" ]; then
	ktap_ok "--initial-cluster-state existing refuses an empty data directory"
else
	ktap_fail "--initial-cluster-state existing refuses an empty data directory" \
		"status [$status]"
fi
if grep -q "has started before: its data directory was lost" \
	"$GD_DIR/n$wiped.log"; then
	ktap_ok "and says why"
else
	ktap_fail "and says why" "$(tail -n 2 "$GD_DIR/n$wiped.log")"
fi

gd_kill "$kept" TERM
gd_start "$kept" --initial-cluster-state existing
gd_etcdctl put /d/existing yes >/dev/null
got=$(gd_until_eq 15 yes gd_get "$kept" /d/existing)
if [ "$got" = yes ] && gd_alive "$kept"; then
	ktap_ok "--initial-cluster-state existing starts from the data directory"
else
	ktap_fail "--initial-cluster-state existing starts from the data directory" \
		"read [$got]; $(tail -n 3 "$GD_DIR/n$kept.log")"
fi
ktap_finish
