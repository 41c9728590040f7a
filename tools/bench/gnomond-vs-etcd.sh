#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gnomond against etcd 3.4 on this machine, each as 3 members on loopback
# with durable writes (both sync their log before acknowledging), driven by
# the same clients:
#   1. etcdctl check perf --load=l and --load=xl: PASS/FAIL, writes/s,
#      slowest request;
#   2. reads of one key for 5 s, 1 and 4 client threads: linearizable
#      (gnomond: lease, then ReadIndex with --lease-ms 0; etcd: ReadIndex)
#      and serializable;
#   3. resident memory of each member after loading 1,000,000 keys of 256
#      bytes (transactions of 128 puts).
# Figures go to stdout, one "RESULT impl test value" line each; copy them to
# Documentation/performance.rst ("gnomond vs etcd").  BENCH_SKIP_MEMORY=1,
# BENCH_SKIP_READS=1, BENCH_SKIP_CEILING=1 and BENCH_SKIP_PERF=1 shorten a
# run; BENCH_IMPLS="gnomond" and
# BENCH_LOADS="xl" narrow one.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
kvbench=$top/tools/bench/gnomond-kvbench.py
dir=$(mktemp -d /tmp/gnomond-bench.XXXXXX)
base=$(( 23000 + (RANDOM % 100) * 20 ))

trap 'cleanup; rm -rf "$dir"' EXIT

members=3
. "$top/tools/bench/cluster.sh"

perf()
{
	local impl=$1 load=$2 out before after i=0 cpu=0 hz writes
	hz=$(getconf CLK_TCK)
	before=($(cpu_ticks $(member_pids)))
	# Its progress bar redraws with carriage returns: one line each.
	out=$(ETCDCTL_API=3 timeout 120 /usr/bin/time -f '%U %S' \
		-o "$dir/client-cpu" etcdctl --endpoints="$(endpoints)" \
		check perf --load="$load" 2>&1 | tr '\r' '\n')
	after=($(cpu_ticks $(member_pids)))
	for i in "${!after[@]}"; do
		cpu=$((cpu + (after[i] - before[i])))
	done
	# CPU per write: the client's, and the members' together, in
	# microseconds.  To pass --load=xl both must fit in 13,500 writes/s.
	writes=$(grep -oE '[0-9]+ writes/s' <<<"$out" | grep -oE '^[0-9]+')
	if [ -n "$writes" ] && [ "$writes" -gt 0 ]; then
		awk -v c="$(tail -1 "$dir/client-cpu")" -v m="$cpu" \
		    -v hz="$hz" -v w="$writes" -v tag="$impl perf-$load" \
		    -v cores="$(nproc)" '
			BEGIN { split(c, t, " "); n = w * 60
				cl = (t[1] + t[2]) * 1e6 / n
				printf "RESULT %s cpu-per-write client %.0f us," \
				       " members %.0f us; the client alone" \
				       " could do %.0f writes/s on %d cores\n",
				       tag, cl, m / hz * 1e6 / n,
				       cores * 1e6 / cl, cores }'
	fi
	if grep -qE 'Throughput|Slowest' <<<"$out"; then
		grep -E 'Throughput|Slowest|Stddev|^(PASS|FAIL)' <<<"$out" |
			sed "s/^/# $impl $load: /"
	else
		tail -3 <<<"$out" | sed "s/^/# $impl $load: no result: /"
	fi
	echo "RESULT $impl perf-$load $(grep -oE '[0-9]+ writes/s' <<<"$out") ," \
		"slowest $(grep 'Slowest request' <<<"$out" | grep -oE '[0-9.]+s$')," \
		"$(tail -1 <<<"$out" | grep -oE 'PASS|FAIL')"
}

reads()
{
	local impl=$1 mode=$2 label=$3 t ep
	ep=$(leader)
	for t in 1 4; do
		echo "RESULT $impl reads-$label-${t}thr $(/usr/bin/python3 "$kvbench" \
			reads "$ep" "$mode" 5 "$t")"
	done
}

memory()
{
	local impl=$1 p rss=
	echo "RESULT $impl load-1M-256B $(timeout 600 /usr/bin/python3 "$kvbench" \
		load "$(endpoints)" 1000000 256 4)"
	sleep 2
	for p in $(member_pids); do
		rss="$rss $(awk '/VmRSS/ {printf "%.0fMiB", $2/1024}' /proc/$p/status)"
	done
	echo "RESULT $impl rss-1M-256B$rss"
}

# The client's own ceiling: etcdctl against one gnomond member (no
# replication), its CPU per write, and the writes/s this machine's cores
# could give it if the server cost nothing.
if [ -z "${BENCH_SKIP_CEILING:-}" ] && [ -x "$gnomond" ]; then
	members=1
	start gnomond || exit 1
	perf gnomond-1-member xl
	members=3
fi

for impl in ${BENCH_IMPLS:-etcd gnomond}; do
	if [ "$impl" = gnomond ] && [ ! -x "$gnomond" ]; then
		echo "# gnomond is not built; skipping it"
		continue
	fi
	if [ -z "${BENCH_SKIP_PERF:-}" ]; then
		for load in ${BENCH_LOADS:-l xl}; do
			start "$impl" || exit 1
			perf "$impl" "$load"
		done
	fi
	if [ -z "${BENCH_SKIP_READS:-}" ]; then
		start "$impl" || exit 1
		if [ "$impl" = gnomond ]; then
			grep -h "read mode" "$dir"/m*.log | tail -1 | sed 's/^/# /'
			reads "$impl" linearizable lease
			reads "$impl" serializable serializable
			start "$impl" --lease-ms 0 || exit 1
			reads "$impl" linearizable readindex
		else
			reads "$impl" linearizable readindex
			reads "$impl" serializable serializable
		fi
	fi
	if [ -z "${BENCH_SKIP_MEMORY:-}" ]; then
		start "$impl" || exit 1
		memory "$impl"
	fi
done
