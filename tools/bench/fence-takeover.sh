#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Takeover time of gnomon-fenced between two hosts: the multi-host rig of
# selftests/fenced/multihost_lib.sh (two Debian 6.1 VMs under TCG sharing
# one raw disk, a 3-member gnomond cluster in network namespaces, agents
# with a 2 s TTL (MH_TTL_MS) and a 200 ms margin, no PR).  FENCE_TAKEOVERS
# faults (default 6: pause, cut and kill in turn) hit the holder; each is timed
# from the holder's loss (SIGSTOP of its qemu, its link dropped, its agent
# SIGKILLed) to the new holder's first acknowledged write through its
# gnomon-fence table, and to the new holder's application seeing its agent
# hold (the lock granted, E waited out, the kernel lease granted; the rest
# is the application reading the disk and writing).  Prints the median and
# the maximum, overall and per fault, and the ratios of sanlock's and SBD's
# documented takeover times (REFERENCE.md: about 140 s and 10 s) to the
# median.  Needs root; 12 minutes for 6 takeovers at a load of 26 on 2
# cores, 7 of them booting the guests.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/fenced/multihost_lib.sh"

n=${FENCE_TAKEOVERS:-6}
echo "## gnomon-fenced takeover time, two VMs (Debian $MH_KERNEL under TCG), $n takeovers"
why=$(mh_missing)
[ -z "$why" ] || { echo "# skipped: $why"; exit 0; }
mh_setup 16 || { echo "fence-takeover: $MH_ERR" >&2; exit 1; }
mh_start mh_bench fence || { echo "fence-takeover: $MH_ERR" >&2; exit 1; }
kinds=(pause cut kill)
declare -A per
all=
grants=
for i in $(seq 0 $(( n - 1 ))); do
	k=${kinds[$(( i % 3 ))]}
	mh_takeover "$k" || { echo "fence-takeover: $MH_ERR" >&2; exit 1; }
	echo "# $((i + 1)): $k of $MH_OLD, $MH_NEW holds after $MH_GRANT_MS ms, writes after $MH_MS ms"
	per[$k]="${per[$k]} $MH_MS"
	all="$all $MH_MS"
	grants="$grants $MH_GRANT_MS"
done
mh_stop_apps
out=$(mh_check) || { echo "fence-takeover: the disk check failed: $out" >&2; exit 1; }
echo "# disk check: $out"

# median and max of a list of integers
stats()
{
	tr ' ' '\n' <<< "$1" | grep . | sort -n |
		awk '{ a[NR] = $1 } END { printf "median %d ms, max %d ms (%d takeovers)", a[int((NR + 1) / 2)], a[NR], NR }'
}
for k in "${kinds[@]}"; do
	echo "$k: $(stats "${per[$k]}")"
done
echo "all: $(stats "$all")"
echo "all, to the new holder's agent holding: $(stats "$grants")"
med=$(tr ' ' '\n' <<< "$all" | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
awk -v m="$med" 'BEGIN { printf "sanlock (140 s) / gnomon-fenced median: %.0fx; SBD (10 s) / gnomon-fenced median: %.1fx\n", 140000 / m, 10000 / m }'
mh_quit || { echo "fence-takeover: a VM run failed (see its kernel log)" >&2; exit 1; }
