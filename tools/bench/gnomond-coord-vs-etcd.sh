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
#   3. leases: writes/s (4 threads, saturating) before, with and after
#      10,000 leases kept alive (TTL 15 s, each renewed every 5 s, from
#      another process, build/bench/gnomond-leasebench hold), and the CPU
#      the members and that process used meanwhile;
#   4. memory: each member's VmRSS fresh, with the 10,000 leases, and with
#      10,000 watchers (on the leader) on top (held by the Python client);
#   5. lease-cost: what the leases cost a write, in pairs of windows, the
#      first without the leases, the second with them (a holder granting
#      them before and revoking them after): writes at a fixed rate, well
#      under saturation (BENCH_RATE, 300/s, open loop, gnomond-leasebench
#      writes), their median and p99 latency, and the CPU each write costs
#      the leader and all members.
#      The keepalives' own cost is taken out: in each pair an idle window
#      gives the members' CPU a second without writes, a window of
#      keepalives alone the cost of one, and a write with the leases is
#      charged what is left of its window's CPU after the idle CPU and its
#      keepalives'.  The windows' raw figures are in the -windows lines.
#   6. lease-instr (gnomond): the same without timing: the leader (member 1,
#      made leader by MoveLeader) runs under callgrind, and the windows
#      count its instructions per write (at BENCH_CG_RATE, 50/s), without
#      and with the leases (kept alive at BENCH_CG_TTL, 60 s: 500
#      keepalives/s, what callgrind's leader keeps up with).  User space
#      only: the kernel's share (most of a keepalive's CPU) is in 5.
# Figures go to stdout, one "RESULT impl test value" line each, then the
# gnomond/etcd ratios; copy them to Documentation/performance.rst
# ("Coordination: gnomond vs etcd").  BENCH_IMPLS="gnomond" narrows a run,
# and so does BENCH_PARTS="lease-cost" (of lock, watch, leases, lease-cost
# and lease-instr; leases has the memory figures, 3 and 4 above);
# BENCH_SECONDS (default 5), BENCH_LEASES and BENCH_WATCHERS (10000),
# BENCH_FANOUT (1000), and for lease-cost and lease-instr BENCH_RATE (300),
# BENCH_WINDOW (10 s), BENCH_PAIRS (3), BENCH_CG_RATE (50) and BENCH_CG_TTL
# (60) scale it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bench=$top/tools/bench/gnomond-coordbench.py
leasebench=$top/build/bench/gnomond-leasebench
dir=$(mktemp -d /tmp/gnomond-coord.XXXXXX)
secs=${BENCH_SECONDS:-5}
leases=${BENCH_LEASES:-10000}
watchers=${BENCH_WATCHERS:-10000}
fanout=${BENCH_FANOUT:-1000}
rate=${BENCH_RATE:-300}
window=${BENCH_WINDOW:-10}
pairs=${BENCH_PAIRS:-3}
cgrate=${BENCH_CG_RATE:-50}
cgttl=${BENCH_CG_TTL:-60}
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

members_cpu() { cpu "${pids[@]: -$members}"; }

# writes: the write measurement, with the CPU the members and the lease
# holder (if any) used during it, in ms per second of it.
writes()
{
	local m0 h0 t0 out
	m0=$(members_cpu)
	h0=$(cpu $holder)
	t0=$(date +%s%N)
	out=$(run writes "$ep" "$secs" 4)
	awk -v m="$(( $(members_cpu) - m0 ))" \
	    -v h="$(( $(cpu $holder) - h0 ))" -v hz="$(getconf CLK_TCK)" \
	    -v s="$(( $(date +%s%N) - t0 ))" -v out="$out" 'BEGIN {
		printf "%s members_cpu_ms/s %.0f holder_cpu_ms/s %.0f\n", out,
		       m * 1e3 / hz / (s / 1e9), h * 1e3 / hz / (s / 1e9) }'
}

# hold LEASES WATCHERS [TTL]: a keepalive (and watch) holder in the
# background, the C one unless there are watchers to hold; returns once it
# is ready.  TTL: 15 s.
hold()
{
	if [ "$2" = 0 ]; then
		"$leasebench" hold "$ep" "$1" "${3:-15}" >"$dir/hold.out" 2>&1 &
	else
		/usr/bin/python3 "$bench" hold "$ep" "$1" 15 "$2" \
			>"$dir/hold.out" 2>&1 &
	fi
	holder=$!
	for _ in $(seq 2400); do
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
part()
{
	[[ " ${BENCH_PARTS:-lock watch leases lease-cost lease-instr} " == \
	   *" $1 "* ]]
}

# cpu_ns PID...: the CPU time they used so far, in ns (of clock ticks: the
# threads' schedstat would be finer, but io_uring's workers come and go,
# and an exited thread's time is only in the process's ticks).
cpu_ns()
{
	cpu_ticks "$@" | awk -v hz="$(getconf CLK_TCK)" \
		'{ t += $1 } END { printf "%.0f\n", t * 1e9 / hz }'
}

# answers: the keepalive answers the holder has had (0 without a holder);
# it prints them on SIGUSR1.
answers()
{
	local n
	if [ -z "$holder" ]; then
		echo 0
		return
	fi
	n=$(grep -c '^count' "$dir/hold.out")
	kill -USR1 "$holder"
	for _ in $(seq 100); do
		[ "$(grep -c '^count' "$dir/hold.out")" -gt "$n" ] && break
		sleep 0.02
	done
	grep '^count' "$dir/hold.out" | tail -1 | awk '{ print $3 }'
}

# measure idle|writes: a window of $window s, idle or with writes at $rate/s
# to the leader ($lpid); prints its length, the CPU of the leader and of
# all members in it (ns), the keepalives answered in it, then the writer's
# line (or "-").
measure()
{
	local t0 l0 m0 k0 out
	k0=$(answers)
	t0=$(date +%s%N)
	l0=$(cpu_ns "$lpid")
	m0=$(cpu_ns "${pids[@]: -$members}")
	if [ "$1" = writes ]; then
		out=$("$leasebench" writes "$ep" "$rate" "$window")
	else
		sleep "$window"
		out=-
	fi
	echo "$(( $(date +%s%N) - t0 )) $(( $(cpu_ns "$lpid") - l0 ))" \
	     "$(( $(cpu_ns "${pids[@]: -$members}") - m0 ))" \
	     "$(( $(answers) - k0 )) $out"
}

# cost IMPL: the lease-cost part (5 above) on a fresh cluster.
cost()
{
	local idle a k b p load
	fresh "$1" || return 1
	lpid=${pids[$(( ${#pids[@]} - members + ${ep##*:} - base - 1 ))]}
	"$leasebench" writes "$ep" "$rate" 2 >/dev/null	# warm-up
	echo "# $1 leader $ep, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
	for p in $(seq "$pairs"); do
		load=$(cut -d' ' -f1 /proc/loadavg)
		idle=$(measure idle)
		a=$(measure writes)
		hold "$leases" 0 || return 1
		sleep 3		# the grants' last entries settle
		k=$(measure idle)
		b=$(measure writes)
		unhold
		sleep 3		# and the revocations'
		# Without: (window CPU - idle CPU) / writes; with: the same,
		# less the keepalives' (each costs what one did alone).
		awk -v im="$1" -v p="$p" -v load="$load" -v i="$idle" \
		    -v a="$a" -v k="$k" -v b="$b" \
		    -v ka="$(tail -1 "$dir/hold.out")" '
# Fields of a window: 1 length, 2 CPU of the leader, 3 of all members (ns),
# 4 keepalives, then from the writer: 6 writes/s, 8 p50, 10 p99, 12 max
# (us), 14 writes, 16 failed.
function line(W, name, extra) {
	printf "RESULT %s lease-cost-%d-%s writes/s %s p50_us %s p99_us %s" \
	       " max_us %s n %s failed %s%s\n", im, p, name, W[6], W[8],
	       W[10], W[12], W[14], W[16], extra
}
BEGIN {
	split(i, I, " "); split(a, A, " "); split(k, K, " ")
	split(b, B, " ")
	il = I[2] / I[1]; ir = I[3] / I[1]
	kl = (K[2] - il * K[1]) / K[4]
	km = (K[3] - ir * K[1]) / K[4]
	al = (A[2] - il * A[1]) / A[14] / 1e3
	am = (A[3] - ir * A[1]) / A[14] / 1e3
	bl = (B[2] - il * B[1] - kl * B[4]) / B[14] / 1e3
	bm = (B[3] - ir * B[1] - km * B[4]) / B[14] / 1e3
	line(A, "without", sprintf(" leader_us/write %.1f" \
	     " members_us/write %.1f load %s", al, am, load))
	line(B, "with", sprintf(" leader_us/write %.1f" \
	     " members_us/write %.1f keepalives/s %.0f" \
	     " leader_us/keepalive %.1f members_us/keepalive %.1f" \
	     " during_writes %.0f", bl, bm, K[4] / (K[1] / 1e9),
	     kl / 1e3, km / 1e3, B[4] / (B[1] / 1e9)))
	printf "RESULT %s lease-cost-%d-holder %s\n", im, p, ka
	printf "RESULT %s lease-cost-%d-windows idle %s without %s" \
	       " keepalives %s with %s\n", im, p, i, a, k, b
	printf "RATIO %s lease-cost-%d with/without p50 %.2f p99 %.2f" \
	       " leader_us/write %.2f members_us/write %.2f\n", im, p,
	       B[8] / A[8], B[10] / A[10], bl / al, bm / am
}' | tee -a "$dir/results"
	done
}

# result IMPL TEST FIGURES...: one line, to stdout and to the results.
result()
{
	echo "RESULT $*"
	echo "RESULT $*" >> "$dir/results"
}

# dump: callgrind's counts of member 1 ($vpid) since the last dump; prints
# its instructions.
dump()
{
	local n
	callgrind_control -d "$vpid" >/dev/null 2>&1 || return 1
	n=$(printf '%s\n' "$dir"/cg/out.* | sed 's/.*\.//' | sort -n | tail -1)
	awk -v n="$n" '/^totals:/ { print $2, n }' "$dir/cg/out.$n"
}

# cgwindow idle|writes: a window of $window s, idle or with writes at
# $cgrate/s, counted by callgrind; prints its instructions, its dump's
# number, its keepalives and writes.
cgwindow()
{
	local k0 n=0
	dump >/dev/null || return 1
	k0=$(answers)
	if [ "$1" = writes ]; then
		n=$("$leasebench" writes "$ep" "$cgrate" "$window" | \
		    awk '{ print $10 }')
	else
		sleep "$window"
	fi
	echo "$(dump) $(( $(answers) - k0 )) $n"
}

# path DUMP WRITES: instructions a write in the dump spent in the parts of
# the write path that a keepalive does not enter (inclusive: the state
# machine's apply, the Raft appends' sending, the WAL's).
path()
{
	callgrind_annotate --inclusive=yes --threshold=100 "$dir/cg/out.$1" \
		2>/dev/null | awk -v w="$2" '
		/=>/ || $1 !~ /^[0-9,]+$/ { next }
		{ gsub(",", "", $1) }
		/:mvcc_store__apply / && !a { a = $1 }
		/:gd_peers__send_raft / && !r { r = $1 }
		/:gd_storage__kick / && !s { s = $1 }
		END { printf "apply %.0f raft_send %.0f wal %.0f\n", a / w,
			     r / w, s / w }'
}

# instr: the lease-instr part (6 above), gnomond only.
instr()
{
	local id1 i w k b
	mkdir -p "$dir/cg"
	wrap1=(valgrind --tool=callgrind --compress-strings=no
	       --compress-pos=no "--callgrind-out-file=$dir/cg/out")
	fresh gnomond --election-timeout 5000 || return 1
	wrap1=()
	vpid=${pids[$(( ${#pids[@]} - members ))]}
	if [ "$ep" != "127.0.0.1:$((base + 1))" ]; then
		id1=$(ETCDCTL_API=3 etcdctl --endpoints="$ep" member list | \
		      awk -F', ' '$3 == "m1" { print $1 }')
		ETCDCTL_API=3 etcdctl --endpoints="$ep" move-leader "$id1" \
			>/dev/null
		sleep 2
		ep=$(leader)
	fi
	if [ "$ep" != "127.0.0.1:$((base + 1))" ]; then
		echo "# member 1 (under callgrind) did not become the leader" >&2
		return 1
	fi
	"$leasebench" writes "$ep" "$cgrate" 2 >/dev/null	# warm-up
	echo "# gnomond leader $ep under callgrind, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
	i=$(cgwindow idle) && w=$(cgwindow writes) &&
		hold "$leases" 0 "$cgttl" && k=$(cgwindow idle) &&
		b=$(cgwindow writes) || return 1
	unhold
	# As in cost(): the idle window's instructions (the windows are of
	# the same length), then the keepalives' own.
	awk -v i="$i" -v w="$w" -v k="$k" -v b="$b" \
	    -v pw="$(path "$(cut -d' ' -f2 <<<"$w")" "$(cut -d' ' -f4 <<<"$w")")" \
	    -v pb="$(path "$(cut -d' ' -f2 <<<"$b")" "$(cut -d' ' -f4 <<<"$b")")" '
	BEGIN {
		split(i, I, " "); split(w, W, " "); split(k, K, " ")
		split(b, B, " ")
		ka = (K[1] - I[1]) / K[3]
		without = (W[1] - I[1]) / W[4]
		with = (B[1] - I[1] - ka * B[3]) / B[4]
		printf "RESULT gnomond lease-instr-without instr/write %.0f" \
		       " writes %d, of which %s\n", without, W[4], pw
		printf "RESULT gnomond lease-instr-with instr/write %.0f" \
		       " writes %d instr/keepalive %.0f keepalives %d" \
		       " during_writes %d, of which %s\n", with, B[4], ka,
		       K[3], B[3], pb
		printf "RESULT gnomond lease-instr-windows idle %s without %s" \
		       " keepalives %s with %s\n", i, w, k, b
		printf "RATIO gnomond lease-instr with/without %.2f\n",
		       with / without
	}' | tee -a "$dir/results"
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

	if part lease-cost; then
		cost "$impl" || exit 1
	fi
	if part lease-instr && [ "$impl" = gnomond ]; then
		if command -v callgrind_control >/dev/null; then
			instr || exit 1
		else
			echo "# valgrind is not installed; skipping lease-instr"
		fi
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
