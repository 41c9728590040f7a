#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# etcd's Watch on a 3-member gnomond cluster through Debian's etcdctl 3.4,
# unchanged: watch --prefix --prev-kv on a follower, watch --rev from the
# history, a single key, a compacted start revision (canceled as etcd
# does), and a watcher on a follower that sees every write, in order and
# once, while the leader is SIGKILLed in the middle of the writes.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

ktap_plan 8
if ! command -v etcdctl >/dev/null; then
	ktap_skip_all daemon-etcd-watch "etcdctl missing"
fi
gd_cluster_init 3
trap gd_cluster_cleanup EXIT
for i in 1 2 3; do gd_start "$i"; done
leader=$(gd_wait_leader 15) || ktap_diag "no leader"
sleep 0.5
f=$(( leader % 3 + 1 ))
g=$(( f % 3 + 1 ))
[ "$g" = "$leader" ] && g=$(( g % 3 + 1 ))
out_dir=$GD_DIR

ec()
{
	local i=$1
	shift
	ETCDCTL_API=3 timeout 20 etcdctl --endpoints="$(gd_endpoint "$i")" \
		--command-timeout=10s "$@" 2>&1
}
# watch_bg I SECONDS FILE ARGS...: etcdctl watch in the background.
watch_bg()
{
	local i=$1 secs=$2 file=$3
	shift 3
	ETCDCTL_API=3 timeout "$secs" etcdctl \
		--endpoints="$(gd_endpoint "$i")" watch "$@" >"$file" 2>&1 &
}

ec "$leader" put /w/a 1 >/dev/null
ec "$f" put /w/b 2 >/dev/null
watch_bg "$f" 30 "$out_dir/prefix" --prefix /w/ --prev-kv
w1=$!
watch_bg "$leader" 30 "$out_dir/rev" --prefix /w/ --rev=1
w2=$!
watch_bg "$g" 30 "$out_dir/one" /w/a
w3=$!
sleep 1.5
ec "$leader" put /w/a 11 >/dev/null
ec "$f" del /w/b >/dev/null
ec "$g" put /x/other 1 >/dev/null
ec "$g" txn >/dev/null <<'EOF'

put /w/c 3
put /w/d 4


EOF
for _ in $(seq 50); do
	grep -q /w/d "$out_dir/prefix" && grep -q /w/d "$out_dir/rev" && break
	sleep 0.2
done
sleep 0.5
kill "$w1" "$w2" "$w3" 2>/dev/null
wait "$w1" "$w2" "$w3" 2>/dev/null
ktap_eq "watch --prefix --prev-kv on a follower" \
	"PUT /w/a 1 /w/a 11 DELETE /w/b 2 /w/b PUT /w/c 3 PUT /w/d 4" \
	"$(tr '\n' ' ' <"$out_dir/prefix" | sed 's/  */ /g; s/ $//')"
ktap_eq "watch --rev=1 replays the history, then goes live" \
	"PUT /w/a 1 PUT /w/b 2 PUT /w/a 11 DELETE /w/b PUT /w/c 3 PUT /w/d 4" \
	"$(tr '\n' ' ' <"$out_dir/rev" | sed 's/  */ /g; s/ $//')"
ktap_eq "watch of one key" "PUT /w/a 11" \
	"$(tr '\n' ' ' <"$out_dir/one" | sed 's/  */ /g; s/ $//')"

rev=$(ec "$leader" get /w/a -w json | sed 's/.*"revision":\([0-9]*\).*/\1/')
ec "$leader" compaction "$rev" >/dev/null
# The follower watches from what it has applied: a linearizable read
# through it first (ReadIndex: it applies up to the leader's commit before
# it answers) makes sure that the compaction is applied there too.
ec "$f" get /w/a >/dev/null
out=$(ETCDCTL_API=3 timeout 5 etcdctl --endpoints="$(gd_endpoint "$f")" \
	watch --rev=2 /w/a 2>&1)
case $out in
*"required revision has been compacted"*)
	ktap_ok "a compacted start revision cancels the watch" ;;
*)	ktap_fail "a compacted start revision cancels the watch" "$out" ;;
esac

# Every write of a writer that runs through a leader change reaches a
# watcher on a member that stays up, once and in order.
watch_bg "$g" 40 "$out_dir/failover" --prefix /seq/ -w json
sleep 1
(
	for n in $(seq 1 60); do
		ETCDCTL_API=3 timeout 15 etcdctl --endpoints="$(gd_endpoint "$g")" \
			--command-timeout=10s put "/seq/$(printf %03d "$n")" "$n" \
			>/dev/null 2>&1 || echo "$n" >>"$out_dir/failed"
	done
) &
writer=$!
sleep 2
gd_kill "$leader"
wait "$writer"
sleep 2
# Nothing else is written meanwhile: the revisions seen must be
# consecutive, and the keys seen those the member has.
revs=$(grep -o '"mod_revision":[0-9]*' "$out_dir/failover" | cut -d: -f2)
first=$(echo "$revs" | head -n 1)
gaps=$(echo "$revs" | awk -v n="$first" '$1 != n++ { bad++ } END { print bad + 0 }')
keys_seen=$(grep -o '"key":"[^"]*"' "$out_dir/failover" | cut -d'"' -f4 |
	base64 -d -i 2>/dev/null | tr -d '\n' | fold -w 8 | sort -u | tr '\n' ' ')
keys_have=$(ETCDCTL_API=3 timeout 10 etcdctl --endpoints="$(gd_endpoint "$g")" \
	get --prefix /seq/ --keys-only | grep . | tr '\n' ' ')
ktap_check "the writes went on after the leader's death" \
	test -n "$(gd_wait_leader 10)"
ktap_eq "a follower's watcher saw consecutive revisions, once each" \
	"0 $(echo "$revs" | wc -l)" "$gaps $(echo "$revs" | sort -un | wc -l)"
ktap_eq "and every key the member has" "$keys_have" "$keys_seen"
ktap_check "at least the acknowledged writes are there" \
	test "$(echo "$keys_have" | wc -w)" -ge \
	"$(( 60 - $(cat "$out_dir/failed" 2>/dev/null | wc -l) ))"
ktap_finish
