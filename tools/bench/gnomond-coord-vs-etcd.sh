#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gnomond's coordination services against etcd 3.4 on this machine, each as
# 3 members on loopback (the same cluster setup as gnomond-vs-etcd.sh), in
# one run, every client request to the leader, a fresh cluster for each
# part (tools/bench/gnomond-coordbench.py is the client):
#   1. lock: acquire-and-release cycles through the Lock service
#      (v3lockpb), 1 and 10 contenders, and the same through
#      python3-etcd3's client-side lock recipe;
#   2. watch: put-to-event latency of one watcher; events/s to 1,000
#      watchers of one key (300 puts), on one connection and over 4;
#   3. leases: writes/s before, with and after 10,000 leases kept alive
#      (TTL 15 s, each renewed every 5 s, from another process), and the
#      CPU the members and that process used meanwhile;
#   4. memory: each member's VmRSS fresh, with the 10,000 leases, and with
#      10,000 watchers (on the leader) on top.
# Figures go to stdout, one "RESULT impl test value" line each, then the
# gnomond/etcd ratios; copy them to Documentation/performance.rst
# ("Coordination: gnomond vs etcd").  BENCH_IMPLS="gnomond" narrows a run,
# and so does BENCH_PARTS="leases" (of lock, watch and leases, the last
# with the memory figures, 3 and 4 above); BENCH_SECONDS (default 5),
# BENCH_LEASES and BENCH_WATCHERS (10000) and BENCH_FANOUT (1000) scale it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bench=$top/tools/bench/gnomond-coordbench.py
dir=$(mktemp -d /tmp/gnomond-coord.XXXXXX)
secs=${BENCH_SECONDS:-5}
leases=${BENCH_LEASES:-10000}
watchers=${BENCH_WATCHERS:-10000}
fanout=${BENCH_FANOUT:-1000}
holder=
base=$(( 25000 + (RANDOM % 100) * 20 ))
members=3

. "$top/tools/bench/cluster.sh"
trap 'unhold; cleanup; rm -rf "$dir"' EXIT

# fresh IMPL: a fresh cluster, its leader's endpoint in $ep.
fresh()
{
	start "$1" || return 1
	ep=$(leader)
}

# rss: VmRSS of each member in MiB, in member order.
rss()
{
	local p out=
	for p in $(member_pids); do
		out="$out${out:+/}$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' \
			"/proc/$p/status")"
	done
	echo "${out} MiB"
}

run() { timeout 300 /usr/bin/python3 "$bench" "$@" 2>&1 | tail -1; }

# cpu PID...: their user + system CPU so far together, in clock ticks.
cpu() { cpu_ticks "$@" | awk '{ t += $1 } END { print t + 0 }'; }

# writes: the write measurement, with the CPU the members and the lease
# holder (if any) used during it, in ms per second of it.
writes()
{
	local m0 h0 t0 out
	m0=$(cpu $(member_pids))
	h0=$(cpu $holder)
	t0=$(date +%s%N)
	out=$(run writes "$ep" "$secs" 4)
	awk -v m="$(( $(cpu $(member_pids)) - m0 ))" \
	    -v h="$(( $(cpu $holder) - h0 ))" -v hz="$(getconf CLK_TCK)" \
	    -v s="$(( $(date +%s%N) - t0 ))" -v out="$out" 'BEGIN {
		printf "%s members_cpu_ms/s %.0f holder_cpu_ms/s %.0f\n", out,
		       m * 1e3 / hz / (s / 1e9), h * 1e3 / hz / (s / 1e9) }'
}

# hold LEASES WATCHERS: a keepalive (and watch) holder in the background;
# returns once it is ready.
hold()
{
	/usr/bin/python3 "$bench" hold "$ep" "$1" 15 "$2" >"$dir/hold.out" 2>&1 &
	holder=$!
	for _ in $(seq 1200); do
		grep -q '^ready' "$dir/hold.out" && return 0
		kill -0 "$holder" 2>/dev/null || break
		sleep 0.25
	done
	echo "# holder not ready: $(tail -1 "$dir/hold.out")" >&2
	return 1
}

unhold()
{
	[ -n "$holder" ] || return 0
	kill -TERM "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	holder=
}

# part NAME: is NAME among BENCH_PARTS (all by default)?
part() { [[ " ${BENCH_PARTS:-lock watch leases} " == *" $1 "* ]]; }

# result IMPL TEST FIGURES...: one line, to stdout and to the results.
result()
{
	echo "RESULT $*"
	echo "RESULT $*" >> "$dir/results"
}

: > "$dir/results"
for impl in ${BENCH_IMPLS:-etcd gnomond}; do
	if [ "$impl" = gnomond ] && [ ! -x "$gnomond" ]; then
		echo "# gnomond is not built; skipping it"
		continue
	fi
	if part lock; then
		fresh "$impl" || exit 1
		echo "# $impl leader $ep, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
		for c in 1 10; do
			result "$impl lock-service-${c}c $(run lock "$ep" "$secs" "$c")"
		done
		for c in 1 10; do
			result "$impl lock-recipe-${c}c $(run recipe "$ep" "$secs" "$c")"
		done
	fi

	if part watch; then
		fresh "$impl" || exit 1
		result "$impl watch-latency $(run watch-latency "$ep" "$secs")"
		for conns in 1 4; do
			result "$impl watch-fanout-$fanout-${conns}conn" \
				"$(run watch-fanout "$ep" "$fanout" "$conns" 300)"
		done
	fi

	part leases || continue
	fresh "$impl" || exit 1
	echo "# $impl leader $ep, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
	result "$impl rss-fresh $(rss)"
	result "$impl writes-before $(writes)"
	hold "$leases" 0 || exit 1
	result "$impl rss-$leases-leases $(rss)"
	result "$impl writes-with-$leases-leases $(writes)"
	unhold
	result "$impl keepalive $(tail -1 "$dir/hold.out")"
	result "$impl writes-after $(writes)"
	hold "$leases" "$watchers" || exit 1
	sleep 2
	result "$impl rss-$leases-leases-$watchers-watchers $(rss)"
	unhold
	result "$impl keepalive-2 $(tail -1 "$dir/hold.out")"
done


# gnomond/etcd for each figure that both have: the rate (the first number
# after the test's name), the median and p99 latencies where there are, and
# the mean RSS of the members; then, for each, writes/s with the leases
# against the mean of the runs before and after.
awk '$1 != "RESULT" { next }
	$4 ~ /^[0-9]+\/[0-9]+\/[0-9]+$/ {
		n = split($4, m, "/")
		v[$2, $3] = (m[1] + m[2] + m[3]) / n
		tests[$3] = 1
		next
	}
	$5 ~ /^[0-9.]+$/ {
		v[$2, $3] = $5
		for (i = 6; i < NF; i++)
			if ($i == "p50_us" || $i == "p99_us")
				v[$2, $3, $i] = $(i + 1)
		tests[$3] = 1
	}
	END {
		for (t in tests) {
			if (!(("etcd", t) in v) || !(("gnomond", t) in v) ||
			    v["etcd", t] <= 0)
				continue
			line = sprintf("RATIO gnomond/etcd %s %.2f", t,
				       v["gnomond", t] / v["etcd", t])
			if ((("etcd", t, "p50_us") in v) && v["etcd", t, "p50_us"] > 0 &&
			    v["etcd", t, "p99_us"] > 0)
				line = line sprintf(", p50 %.2f, p99 %.2f",
					v["gnomond", t, "p50_us"] / v["etcd", t, "p50_us"],
					v["gnomond", t, "p99_us"] / v["etcd", t, "p99_us"])
			print line
		}
		for (t in tests) {
			if (t !~ /^writes-with-/)
				continue
			split("etcd gnomond", impls, " ")
			for (k = 1; k <= 2; k++) {
				im = impls[k]
				if (!((im, t) in v) || !((im, "writes-before") in v) ||
				    !((im, "writes-after") in v))
					continue
				w = (v[im, "writes-before"] + v[im, "writes-after"]) / 2
				if (w > 0)
					printf "RATIO %s %s/without %.2f\n", im, t,
					       v[im, t] / w
			}
		}
	}' "$dir/results" | sort
