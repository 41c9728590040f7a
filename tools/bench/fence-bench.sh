#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cost per write of the gnomon-fence target: O_DIRECT 4 KiB writes to a
# brd ramdisk bare, through dm-linear and through gnomon-fence (lease
# holding), in one VM run, rounds alternated; reported as ratios to the bare
# device measured side by side.  In the VM (TCG) on Debian's 6.1 kernel.
top=$(cd "$(dirname "$0")/../.." && pwd)

if [ -z "${GNOMON_VM_KERNEL:-}" ]; then
	echo "## gnomon-fence: cost per write, VM, Debian 6.1 under TCG"
	exec "$top/tools/vm/run" --kernel 6.1 -- "$0"
fi

. "$top/selftests/fence/fence.sh"
writes=${FENCE_BENCH_WRITES:-10000}
rounds=${FENCE_BENCH_ROUNDS:-9}
fence_setup || exit 1
modprobe brd rd_nr=1 rd_size=131072 || exit 1
sz=$(blockdev --getsz /dev/ram0)
$CTL lease grant fence_bench --token 1 --ttl 1h > /dev/null || exit 1
dmsetup create bench_linear --table "0 $sz linear /dev/ram0 0" || exit 1
dmsetup create bench_fence --table "0 $sz gnomon-fence /dev/ram0 fence_bench" || exit 1
declare -A dev=([bare]=/dev/ram0 [linear]=$(fence_dev bench_linear) [fence]=$(fence_dev bench_fence))
declare -A per

# ns per write of one dd run of $writes O_DIRECT 4 KiB writes.
one_run()
{
	local t0 t1
	t0=$(date +%s%N)
	dd if=/dev/zero of="$1" bs=4096 count="$writes" oflag=direct status=none || return 1
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / writes ))
}

for r in $(seq 1 "$rounds"); do
	for k in bare linear fence; do
		per[$k]="${per[$k]} $(one_run "${dev[$k]}")"
	done
done
median() { tr ' ' '\n' <<< "$1" | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# Ratios within each round (the three runs of a round are seconds apart),
# then the median over the rounds: steadier than a ratio of medians on a
# shared, noisy machine.
ratios()
{
	local -a a b
	local i
	read -ra a <<< "$1"
	read -ra b <<< "$2"
	for i in "${!a[@]}"; do
		awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN { printf " %.3f", x / y }'
	done
}
echo "# $rounds rounds x $writes writes, ns per write: bare${per[bare]} | dm-linear${per[linear]} | gnomon-fence${per[fence]}"
echo "# medians: bare $(median "${per[bare]}"), dm-linear $(median "${per[linear]}"), gnomon-fence $(median "${per[fence]}")"
fb=$(ratios "${per[fence]}" "${per[bare]}")
lb=$(ratios "${per[linear]}" "${per[bare]}")
fl=$(ratios "${per[fence]}" "${per[linear]}")
echo "gnomon-fence / bare      $(median "$fb")   (rounds:$fb)"
echo "dm-linear / bare         $(median "$lb")   (rounds:$lb)"
echo "gnomon-fence / dm-linear $(median "$fl")   (rounds:$fl)"
echo "# status: $(dmsetup status bench_fence)"
dmsetup remove bench_fence
dmsetup remove bench_linear
