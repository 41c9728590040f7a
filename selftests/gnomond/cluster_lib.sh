# SPDX-License-Identifier: GPL-2.0
# Fault-test clusters: every member in its own network namespace, joined by
# a bridge in a hub namespace where the clients run; faults are nftables
# rules on that bridge and signals to the member processes.  Source it.
#
#	cl_init N                 # namespaces, addresses 10.77.0.1..N
#	cl_start I                # start member I (etcd or gnomond)
#	cl_leader [SECONDS]       # the leader's number, waiting for one
#	cl_kill I SIGNAL          # signal member I (SIGKILL: wait for it)
#	cl_isolate I... / cl_partition "A B" "C D E" / cl_heal
#	cl_workload SECONDS OUT   # record a history while faults run
#	                          # (CL_WORKLOAD_ARGS: more kv_workload.py flags)
#	cl_check OUT              # gnomon-lincheck (and a stale copy: caught)
#	cl_clock I ERROR_NS [ARGS] # gnomond: member I's own clock file, kept
#	                          # SYNCHRONIZED with that error by gnomon-syncd
#	cl_status I FIELD         # gnomond: a field of member I's status file
#
# GNOMON_CLUSTER_IMPL=gnomond|etcd picks the store (default gnomond when
# build/bin/gnomond exists, else etcd).  Members are numbered from 1.
CL_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CL_LINCHECK=$CL_TOP/build/bin/gnomon-lincheck
CL_WORKLOAD=$CL_TOP/tools/gnomond/lincheck/kv_workload.py
CL_GNOMOND=$CL_TOP/build/bin/gnomond
if [ -z "${GNOMON_CLUSTER_IMPL:-}" ]; then
	[ -x "$CL_GNOMOND" ] && GNOMON_CLUSTER_IMPL=gnomond ||
		GNOMON_CLUSTER_IMPL=etcd
fi
CL_IMPL=$GNOMON_CLUSTER_IMPL
CL_NS=gncl$$
CL_N=0
CL_DIR=
declare -a CL_PIDS CL_ENV CL_CLOCK_PIDS

cl_ns() { echo "$CL_NS-$1"; }
cl_addr() { echo "10.77.0.$1"; }
cl_hub() { ip netns exec "$CL_NS-hub" "$@"; }

# Why this host cannot run the tests, or nothing.
cl_missing()
{
	[ "$(id -u)" -eq 0 ] || { echo "needs root"; return; }
	command -v nft >/dev/null || { echo "nft (nftables) is not installed"; return; }
	/usr/bin/python3 -c 'import etcd3' 2>/dev/null ||
		{ echo "python3-etcd3 is not installed"; return; }
	case $CL_IMPL in
	etcd) command -v etcd >/dev/null || echo "etcd is not installed" ;;
	gnomond) [ -x "$CL_GNOMOND" ] || echo "gnomond is not built" ;;
	*) echo "GNOMON_CLUSTER_IMPL must be etcd or gnomond" ;;
	esac
	unshare -n true 2>/dev/null || echo "no network namespaces"
}

cl_cleanup()
{
	local i
	for i in "${CL_CLOCK_PIDS[@]}"; do
		kill -CONT "$i" 2>/dev/null
		kill "$i" 2>/dev/null
		wait "$i" 2>/dev/null
	done
	for i in "${!CL_PIDS[@]}"; do
		kill -CONT "${CL_PIDS[$i]}" 2>/dev/null
		kill -KILL "${CL_PIDS[$i]}" 2>/dev/null
		wait "${CL_PIDS[$i]}" 2>/dev/null
	done
	for i in $(seq "$CL_N") hub; do
		ip netns del "$(cl_ns "$i")" 2>/dev/null
	done
	[ -n "$CL_DIR" ] && rm -rf "$CL_DIR"
}

# Namespaces left by a run that was killed (its shell can no longer clean
# up): stop what runs in them and delete them.
cl_sweep()
{
	local ns owner p
	for ns in $(ip netns list 2>/dev/null | awk '/^gncl[0-9]+-/ {print $1}'); do
		owner=${ns#gncl}
		owner=${owner%%-*}
		kill -0 "$owner" 2>/dev/null && continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
}

cl_init()
{
	local i n=$1
	cl_sweep
	CL_N=$n
	CL_DIR=$(mktemp -d /tmp/gnomond-faults.XXXXXX)
	trap cl_cleanup EXIT
	ip netns add "$CL_NS-hub" || return 1
	cl_hub ip link set lo up
	cl_hub ip link add br0 type bridge
	cl_hub ip addr add 10.77.0.254/24 dev br0
	cl_hub ip link set br0 up
	for i in $(seq "$n"); do
		ip netns add "$(cl_ns "$i")" || return 1
		ip -n "$CL_NS-hub" link add "h$i" type veth peer name eth0 \
			netns "$(cl_ns "$i")" || return 1
		cl_hub ip link set "h$i" master br0 up
		ip -n "$(cl_ns "$i")" link set lo up
		ip -n "$(cl_ns "$i")" addr add "$(cl_addr "$i")/24" dev eth0
		ip -n "$(cl_ns "$i")" link set eth0 up
	done
	cl_hub nft -f - <<-NFT
	table bridge gncl {
		chain forward_filter { type filter hook forward priority 0; policy accept; }
	}
	NFT
	head -c 32 /dev/urandom > "$CL_DIR/cluster.key"
	chmod 600 "$CL_DIR/cluster.key"
}

# Member I reads TT.now() from its own page ($CL_DIR/clockI), written by a
# gnomon-syncd with a static source of the given error; no kernel device.
# With CL_SKEW=1 the member and its agent also run under the skew shim,
# whose offset cl_skew sets.
cl_clock()
{
	local i=$1 f=$CL_DIR/clock$1 err=$2 pre=
	shift 2
	if [ "${CL_SKEW:-0}" = 1 ]; then
		[ -f "$CL_DIR/skew$i" ] || head -c 8 /dev/zero > "$CL_DIR/skew$i"
		pre="LD_PRELOAD=$CL_TOP/build/tests/gnomond/libskew.so GNOMON_TEST_SKEW_FILE=$CL_DIR/skew$i"
	fi
	env $pre "$CL_TOP/build/bin/gnomon-syncd" --foreground --source static \
		--error-ns "$err" --interval 100ms --shm "$f" "$@" \
		>>"$CL_DIR/syncd$i.log" 2>&1 &
	CL_CLOCK_PIDS[$i]=$!
	CL_ENV[$i]="$pre GNOMON_SHM=$f GNOMON_DEVICE=$CL_DIR/no-device"
	for _ in $(seq 50); do
		[ -s "$f" ] && return 0
		sleep 0.1
	done
	return 1
}

# Member I's CLOCK_REALTIME (and its agent's) is off by NS (signed).
cl_skew()
{
	/usr/bin/python3 -c 'import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.write(struct.pack("<q", int(sys.argv[2])))' "$CL_DIR/skew$1" "$2"
}

cl_status()
{
	jq -r ".$2" "$CL_DIR/m$1/status" 2>/dev/null
}

cl_endpoints()
{
	local i out=
	for i in $(seq "$CL_N"); do
		out=${out:+$out,}$(cl_addr "$i"):2379
	done
	echo "$out"
}

cl_start()
{
	local i=$1 a cluster= j
	a=$(cl_addr "$i")
	for j in $(seq "$CL_N"); do
		cluster=${cluster:+$cluster,}m$j=http://$(cl_addr "$j"):2380
	done
	set -- --name "m$i" --data-dir "$CL_DIR/m$i" \
		--listen-client-urls "http://$a:2379" \
		--advertise-client-urls "http://$a:2379" \
		--listen-peer-urls "http://$a:2380" \
		--initial-advertise-peer-urls "http://$a:2380" \
		--initial-cluster "$cluster" --initial-cluster-state new \
		--heartbeat-interval 50 --election-timeout 500
	if [ "$CL_IMPL" = etcd ]; then
		ip netns exec "$(cl_ns "$i")" etcd "$@" \
			>>"$CL_DIR/m$i.log" 2>&1 &
	else
		ip netns exec "$(cl_ns "$i")" env ${CL_ENV[$i]:-} "$CL_GNOMOND" \
			"$@" --peer-key-file "$CL_DIR/cluster.key" \
			>>"$CL_DIR/m$i.log" 2>&1 &
	fi
	CL_PIDS[$i]=$!
}

cl_etcdctl()
{
	cl_hub env ETCDCTL_API=3 etcdctl --dial-timeout=1s \
		--command-timeout=2s "$@"
}

# The number of the member every reachable member calls leader.
cl_leader()
{
	local deadline=$(( $(date +%s) + ${1:-20} )) i st id lead
	while [ "$(date +%s)" -lt "$deadline" ]; do
		for i in $(seq "$CL_N"); do
			st=$(cl_etcdctl --endpoints="$(cl_addr "$i"):2379" \
				endpoint status -w json 2>/dev/null) || continue
			id=$(jq -r '.[0].Status.header.member_id' <<<"$st")
			lead=$(jq -r '.[0].Status.leader' <<<"$st")
			if [ -n "$id" ] && [ "$id" = "$lead" ]; then
				echo "$i"
				return 0
			fi
		done
		sleep 0.2
	done
	return 1
}

cl_kill()
{
	kill -"$2" "${CL_PIDS[$1]}" 2>/dev/null
	[ "$2" = KILL ] && wait "${CL_PIDS[$1]}" 2>/dev/null
	return 0
}

# Drop every frame between the given members and all the others; the
# hub (the clients) still reaches everyone.
cl_isolate()
{
	local i
	for i in "$@"; do
		cl_hub nft add rule bridge gncl forward_filter ip saddr "$(cl_addr "$i")" drop
		cl_hub nft add rule bridge gncl forward_filter ip daddr "$(cl_addr "$i")" drop
	done
}

# Split the members into two sides that cannot talk to each other.
cl_partition()
{
	local a b
	for a in $1; do
		for b in $2; do
			cl_hub nft add rule bridge gncl forward_filter ip saddr \
				"$(cl_addr "$a")" ip daddr "$(cl_addr "$b")" drop
			cl_hub nft add rule bridge gncl forward_filter ip saddr \
				"$(cl_addr "$b")" ip daddr "$(cl_addr "$a")" drop
		done
	done
}

cl_heal() { cl_hub nft flush chain bridge gncl forward_filter; }

# Start the workload in the background (CL_WL_PID); it records to OUT.
cl_workload()
{
	cl_hub timeout $(( $1 + 30 )) /usr/bin/python3 "$CL_WORKLOAD" \
		--endpoints "$(cl_endpoints)" --duration "$1" --out "$2" \
		--clients "${CL_CLIENTS:-6}" --keys "${CL_KEYS:-5}" \
		${CL_WORKLOAD_ARGS:-} \
		>"$CL_DIR/workload.log" 2>&1 &
	CL_WL_PID=$!
}

# KTAP lines for one recorded history: it is linearizable, it holds
# enough operations to mean something, and the checker rejects a copy
# with a stale read added (so it could have caught one here).
cl_check()
{
	local h=$1 name=$2 out rc ops
	if ! wait "$CL_WL_PID"; then
		ktap_fail "$name: workload ran" "$(tail -3 "$CL_DIR/workload.log")"
		return
	fi
	ktap_diag "$(cat "$CL_DIR/workload.log")"
	ops=$(grep -c 'st=ok' "$h")
	if [ "$ops" -ge "${CL_MIN_OPS:-200}" ]; then
		ktap_ok "$name: $ops operations completed"
	else
		ktap_fail "$name: $ops operations completed" "too few"
	fi
	out=$("$CL_LINCHECK" "$h" 2>&1)
	rc=$?
	ktap_diag "$(head -1 <<<"$out")"
	if [ $rc -eq 0 ]; then
		ktap_ok "$name: history is linearizable"
	else
		cp "$h" "/tmp/$(basename "$h").failed"
		ktap_fail "$name: history is linearizable" \
			"rc=$rc, kept /tmp/$(basename "$h").failed: $(head -20 <<<"$out")"
	fi
	/usr/bin/python3 "$CL_WORKLOAD" --inject-stale "$h" "$h.stale" &&
		"$CL_LINCHECK" --quiet "$h.stale" >/dev/null 2>&1
	rc=$?
	[ $rc -eq 1 ] && ktap_ok "$name: a stale read added to it is caught" ||
		ktap_fail "$name: a stale read added to it is caught" "rc=$rc"
}
