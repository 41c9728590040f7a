#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The phases of a gnomon-fenced takeover, in one VM (Debian 6.1 under TCG):
# the rig of selftests/fenced/fenced_takeover_test.sh (a 3-member gnomond
# cluster on loopback, agents A and B with a 1 s TTL and a 100 ms margin,
# each with its kernel lease and its gnomon-fence table over one shared
# loop device) and an application per host that is already running when
# its host takes over (`fence-record write --wait`, fenced_lib.sh's
# fd_app).  FENCE_TAKEOVERS faults (default 6) hit the holder in turn:
# SIGKILL of its agent (then restarted, queued) and SIGSTOP of it (SIGCONT
# once the other holds: it gives up and queues).  Each takeover prints its
# phases in ms after the loss (fenced_lib.sh's fd_phases): the old kernel
# lease lapsed, the new agent got the lock, its kernel lease was granted,
# its application saw it hold, read the disk, had its first write
# acknowledged; then the median and maximum of each phase and of the
# application's share (app: from the kernel lease granted to the first
# acknowledged write), and the disk check (no stale, no lost write).
# Root; about 6 minutes for 8 takeovers.
top=$(cd "$(dirname "$0")/../.." && pwd)

if [ -z "${GNOMON_VM_KERNEL:-}" ]; then
	echo "## gnomon-fenced takeover phases, one VM (Debian 6.1 under TCG), TTL 1 s, ${FENCE_TAKEOVERS:-6} takeovers, load $(cut -d' ' -f1 /proc/loadavg)"
	exec "$top/tools/vm/run" --kernel 6.1 --timeout 1200 -- "$0" "${FENCE_TAKEOVERS:-6}"
fi

. "$top/selftests/ktap.sh"
. "$top/selftests/fence/fence.sh"
. "$top/selftests/gnomond/cluster_lib.sh"
. "$top/selftests/fenced/fenced_lib.sh"

n=${1:-6}	# FENCE_TAKEOVERS, passed into the guest
die() { echo "fence-takeover-vm: $*" >&2; exit 1; }
fence_setup || die "dm_mod or dm-gnomon-fence.ko cannot be loaded"
# 64 MB and a record every 100 ms: room for 26 minutes of writing.
loop=$(fence_loop 64) || die "no loop device"
FD_APP_INTERVAL=100ms
FD_TTL=1s
fd_tables "$loop" "$loop" || die "gnomon-fence tables cannot be created"
declare -A res=([A]=$FD_RA [B]=$FD_RB) dev=([A]=$FD_DEV_A [B]=$FD_DEV_B)
fd_cluster_start
trap 'fd_rig_cleanup "$loop"' EXIT
gd_start_all > /dev/null
fd_monitor_start

fd_app A "${res[A]}" "${dev[A]}"
fd_app B "${res[B]}" "${dev[B]}"
fd_agent A "${res[A]}"
fd_holds A || die "A does not take the lock"
fd_agent B "${res[B]}"
fd_wait B state idle 30 || die "B does not queue"
old=A new=B
declare -A all
for i in $(seq 1 "$n"); do
	kind=kill
	[ $(( i % 2 )) = 0 ] && kind=pause
	sleep 2
	loss=$(date +%s%N)
	if [ $kind = kill ]; then
		kill -KILL "${FD_PIDS[$old]}"
		wait "${FD_PIDS[$old]}" 2>/dev/null
	else
		kill -STOP "${FD_PIDS[$old]}"
	fi
	fd_holds $new || die "$new does not take over after the $kind of $old: $(fd_diag_logs)"
	tok=$(fd_field $new token)
	fd_until_grep "^ack $new $tok " "$FD_DIR/$new.acks" 20 ||
		die "$new's application does not write with token $tok"
	line=$(fd_phases "$loss" "${res[$old]}" $new "${res[$new]}" "$tok")
	echo "# $i: $kind of $old's agent, $new holds with token $tok: $line"
	for kv in $line; do all[${kv%%=*}]="${all[${kv%%=*}]} ${kv#*=}"; done
	# The application's share: from the kernel lease granted to its write.
	app=$(awk -v l="$line" 'BEGIN { n = split(l, f, /[ =]/)
		for (i = 1; i < n; i += 2) v[f[i]] = f[i + 1]
		if (v["kernel"] != "-" && v["write"] != "-") print v["write"] - v["kernel"] }')
	all[app]="${all[app]} $app"
	# The old agent queues again: restarted, or continued (it gives up).
	if [ $kind = kill ]; then
		fd_agent $old "${res[$old]}"
	else
		kill -CONT "${FD_PIDS[$old]}"
	fi
	fd_wait $old state idle 30 || die "$old does not queue again"
	tmp=$old old=$new new=$tmp
done
sleep 1
fd_apps_stop
blockdev --flushbufs "$loop"
out=$("$FD_RECORD" check "$loop") || die "the disk check failed: $out"
echo "# disk check: $(echo "$out" | head -n 1)"
# Tokens granted (renewals repeat one): more than the takeovers + 1 means
# an agent lost its session unasked (keepalives late under load) and the
# lock moved on its own.
tokens=$(awk '$1 == "lease_granted" { for (i = 2; i <= NF; i++) if ($i ~ /^token=/ && $i != "token=1") print $i }' \
	"$FD_MONITOR" | sort -u | grep -c .)
echo "# tokens granted: $tokens, for $n takeovers and the first hold"
echo "phase (ms after the loss)  median  max"
for p in lapse lock kernel open read write app; do
	tr ' ' '\n' <<< "${all[$p]}" | grep -x '[0-9][0-9]*' | sort -n |
		awk -v p="$p" '{ a[NR] = $1 } END {
			if (NR) printf "%-26s %6d  %5d\n", p, a[int((NR + 1) / 2)], a[NR] }'
done
tr ' ' '\n' <<< "${all[write]}" | grep -x '[0-9][0-9]*' |
	awk '$1 < 2000 { k++ } END { printf "first write under 2 s: %d of %d takeovers\n", k, NR }'
