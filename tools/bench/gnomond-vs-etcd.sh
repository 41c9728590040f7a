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
gnomond=$top/build/bin/gnomond
syncd=$top/build/bin/gnomon-syncd
dir=$(mktemp -d /tmp/gnomond-bench.XXXXXX)
pids=()
base=$(( 23000 + (RANDOM % 100) * 20 ))

cleanup()
{
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	pids=()
}
trap 'cleanup; rm -rf "$dir"' EXIT

members=3

endpoints()
{
	local i out=
	for i in $(seq "$members"); do
		out=${out:+$out,}127.0.0.1:$((base + i))
	done
	echo "$out"
}

# start IMPL [extra member flags...]: a fresh cluster of $members members.
start()
{
	local impl=$1 i cluster=
	shift
	cleanup
	rm -rf "$dir/data"
	mkdir -p "$dir/data"
	base=$((base + 10))
	for i in $(seq "$members"); do
		cluster=${cluster:+$cluster,}m$i=http://127.0.0.1:$((base + 5 + i))
	done
	if [ "$impl" = gnomond ]; then
		head -c 32 /dev/urandom > "$dir/key"
		chmod 600 "$dir/key"
		export GNOMON_SHM=$dir/clock GNOMON_DEVICE=/nonexistent
		"$syncd" --foreground --source static --error-ns 1000000 \
			--interval 100ms --shm "$GNOMON_SHM" >"$dir/syncd.log" 2>&1 &
		pids+=($!)
		sleep 0.5
	fi
	for i in $(seq "$members"); do
		local args=(--name "m$i" --data-dir "$dir/data/m$i"
			--listen-client-urls "http://127.0.0.1:$((base + i))"
			--advertise-client-urls "http://127.0.0.1:$((base + i))"
			--listen-peer-urls "http://127.0.0.1:$((base + 5 + i))"
			--initial-advertise-peer-urls "http://127.0.0.1:$((base + 5 + i))"
			--initial-cluster "$cluster" --initial-cluster-state new "$@")
		if [ "$impl" = etcd ]; then
			etcd "${args[@]}" >"$dir/m$i.log" 2>&1 &
		else
			"$gnomond" "${args[@]}" --peer-key-file "$dir/key" \
				>"$dir/m$i.log" 2>&1 &
		fi
		pids+=($!)
	done
	for _ in $(seq 100); do
		ETCDCTL_API=3 etcdctl --endpoints="$(endpoints)" put /bench/up 1 \
			>/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "# $impl did not come up" >&2
	return 1
}

member_pids() { echo "${pids[@]: -$members}"; }

# cpu_ticks PID...: user + system clock ticks used so far, one per PID.
cpu_ticks()
{
	local p
	for p in "$@"; do
		awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0
	done
}

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

# The leader's client endpoint (reads go there, so none is forwarded).
leader()
{
	local ep st
	for ep in $(tr , ' ' <<<"$(endpoints)"); do
		st=$(ETCDCTL_API=3 etcdctl --endpoints="$ep" endpoint status \
			-w json 2>/dev/null) || continue
		if [ "$(jq -r '.[0].Status.header.member_id' <<<"$st")" = \
		     "$(jq -r '.[0].Status.leader' <<<"$st")" ]; then
			echo "$ep"
			return
		fi
	done
	echo "127.0.0.1:$((base + 1))"
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
