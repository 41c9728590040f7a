#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Takeover time of gnomon-fenced between two hosts: the multi-host rig of
# selftests/fenced/multihost_lib.sh (two Debian 6.1 VMs under TCG, or the
# kernels MH_KERNEL_A and MH_KERNEL_B, sharing one iSCSI LUN with
# persistent reservations, a 3-member gnomond cluster in network
# namespaces, agents with a 2 s TTL (--ttl or MH_TTL_MS), a margin of a
# tenth of it and reservations (plain PREEMPT)).  FENCE_TAKEOVERS
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
#	--ttl Ns     the agents' TTL in whole seconds (gnomond's lease TTL
#	             is whole seconds; default MH_TTL_MS or 2 s), the margin
#	             a tenth of it
top=$(cd "$(dirname "$0")/../.." && pwd)
usage() { echo "usage: fence-takeover.sh [--ttl Ns]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--ttl)
		[ $# -ge 2 ] || usage
		[[ $2 =~ ^[1-9][0-9]*s$ ]] || usage
		MH_TTL_MS=$(( ${2%s} * 1000 ))
		shift 2 ;;
	*) usage ;;
	esac
done
. "$top/selftests/fenced/multihost_lib.sh"

n=${FENCE_TAKEOVERS:-6}
echo "## gnomon-fenced takeover time, two VMs (Debian ${MH_KERNELS[A]} and ${MH_KERNELS[B]} under TCG), TTL $MH_TTL_MS ms, $n takeovers, load $(cut -d' ' -f1 /proc/loadavg)"
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
