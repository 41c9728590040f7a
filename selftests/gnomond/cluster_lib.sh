# SPDX-License-Identifier: GPL-2.0
# Run gnomond (or etcd) clusters for the tests and the demo; source it.
# Two shapes share the member flags, the peer key, the clock agent and the
# status reader below.
#
# Loopback (gd_*): members on 127.0.0.1, ports picked free at init.
#	gd_cluster_init N [--synchronized]   # temp dir, ports, key, (clock)
#	gd_start I [gnomond flags...]        # start member I (1..N)
#	gd_kill I [SIGNAL]                   # default SIGKILL; waits for it
#	gd_exited I SECONDS                  # wait for I to exit; $status
#	gd_wait_leader [SECONDS]             # prints the leader's number
#	gd_status I FIELD                    # a field of I's status file
#	gd_endpoints / gd_endpoint I         # etcdctl --endpoints values
#	gd_etcdctl ARGS...                   # etcdctl against every member
#	gd_get I KEY                         # KEY's value on member I (local)
#	gd_cut_last_record DIR               # truncate inside the last WAL record
#	gd_etcdctl_at I ARGS...              # etcdctl against member I only
#	gd_peer_url I                        # member I's peer URL
#	gd_member_id NAME|PEER_URL [I]       # its hex id (asking member I)
#	gd_member_count [I]                  # how many members are listed
#	gd_add_learners PREFIX FIRST LAST    # slot fillers that never start;
#	                                     # prints their ids
#	gd_etcdctl_plan PLAN NAME            # ktap_plan, skip without etcdctl
#	gd_start_all [SECONDS]               # start every member; the leader
#	                                     # in GD_LEADER; none: KTAP fail,
#	                                     # exit 1 (not in a subshell)
#	gd_etcd_cluster [--synchronized] PLAN NAME [MODULE...]
#	                                     # ktap_plan, skip without etcdctl
#	                                     # or a python3 MODULE,
#	                                     # gd_cluster_init 3, gd_start_all
#	gd_python_cluster [INIT FLAGS...]    # the same when a python3 script
#	                                     # prints the plan
#	gd_until_eq SECONDS WANT CMD...      # poll CMD until it prints WANT
#	gd_cluster_cleanup                   # stop everything, remove the dir
# --synchronized runs gnomon-syncd with a static 1 ms source into a private
# shared-memory file (GNOMON_SHM) so that TT.now() is SYNCHRONIZED and
# leases can work; without it, on a host with no synchronized clock, reads
# use ReadIndex.  GD_BIN picks another binary, GD_KEEP=1 keeps the dir.
#
# Namespaced, for fault tests (cl_*): every member in its own network
# namespace, joined by a bridge in a hub namespace where the clients run;
# faults are nftables rules on that bridge and signals to the members.
#	cl_init N                 # namespaces, addresses 198.19.77.1..N
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
# GNOMON_CLUSTER_IMPL=gnomond|etcd picks the store (default gnomond when
# build/bin/gnomond exists, else etcd).  Members are numbered from 1.
CL_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CL_SYNCD=$CL_TOP/build/bin/gnomon-syncd

# cluster_key DIR: a fresh peer key, DIR/cluster.key.
cluster_key()
{
	head -c 32 /dev/urandom > "$1/cluster.key"
	chmod 600 "$1/cluster.key"
}

# cluster_member_flags NAME DATA_DIR CLIENT_URL PEER_URL INITIAL_CLUSTER:
# the flags every member starts with, in CLUSTER_FLAGS.
cluster_member_flags()
{
	CLUSTER_FLAGS=(--name "$1" --data-dir "$2"
		--listen-client-urls "$3" --advertise-client-urls "$3"
		--listen-peer-urls "$4" --initial-advertise-peer-urls "$4"
		--initial-cluster "$5" --initial-cluster-state new
		--heartbeat-interval 50 --election-timeout 500)
}

# cluster_syncd FILE ERROR_NS LOG [ARGS...]: gnomon-syncd with a static
# source keeps FILE SYNCHRONIZED with that error (CLUSTER_SYNCD_ENV before
# the command, e.g. LD_PRELOAD=...); its pid in CLUSTER_SYNCD_PID.  Fails if
# the file does not appear within 5 s.
cluster_syncd()
{
	local f=$1 err=$2 log=$3
	shift 3
	env ${CLUSTER_SYNCD_ENV:-} "$CL_SYNCD" --foreground --source static \
		--error-ns "$err" --interval 100ms --shm "$f" "$@" \
		>>"$log" 2>&1 &
	CLUSTER_SYNCD_PID=$!
	for _ in $(seq 50); do
		[ -s "$f" ] && return 0
		sleep 0.1
	done
	return 1
}

# cluster_status_field FILE FIELD: a top-level field of a member's JSON
# status file, unquoted; nothing if absent.
cluster_status_field()
{
	sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" "$1" 2>/dev/null
}

# ---- loopback ----
GD_BIN=${GD_BIN:-$CL_TOP/build/bin/gnomond}
GD_SYNCD=$CL_SYNCD
GD_DIR=
GD_N=0
GD_PORT0=0
GD_SYNCD_PID=
declare -a GD_PIDS

gd_port_free()
{
	! ss -Htan 2>/dev/null | awk '{print $4}' | grep -q ":$1\$"
}

gd_cluster_init()
{
	local n=$1 base tries
	GD_N=$n
	GD_DIR=$(mktemp -d /tmp/gnomond-cluster.XXXXXX)
	cluster_key "$GD_DIR"
	for tries in $(seq 50); do
		base=$(( 21000 + (RANDOM % 400) * 50 ))
		local ok=1 i
		for i in $(seq "$n"); do
			gd_port_free $((base + i)) && gd_port_free $((base + 20 + i)) || ok=0
		done
		[ $ok = 1 ] && break
	done
	GD_PORT0=$base
	trap gd_cluster_cleanup EXIT
	if [ "${2:-}" = --synchronized ]; then
		export GNOMON_SHM=$GD_DIR/clock
		cluster_syncd "$GNOMON_SHM" 1000000 "$GD_DIR/syncd.log"
		GD_SYNCD_PID=$CLUSTER_SYNCD_PID
	fi
}

gd_client_port() { echo $((GD_PORT0 + $1)); }
gd_peer_port() { echo $((GD_PORT0 + 20 + $1)); }
gd_endpoint() { echo "127.0.0.1:$(gd_client_port "$1")"; }

gd_endpoints()
{
	local i out=
	for i in $(seq "$GD_N"); do
		out=${out:+$out,}$(gd_endpoint "$i")
	done
	echo "$out"
}

gd_initial_cluster()
{
	local i out=
	for i in $(seq "$GD_N"); do
		out=${out:+$out,}n$i=http://127.0.0.1:$(gd_peer_port "$i")
	done
	echo "$out"
}

gd_start()
{
	local i=$1
	shift
	cluster_member_flags "n$i" "$GD_DIR/n$i" \
		"http://127.0.0.1:$(gd_client_port "$i")" \
		"http://127.0.0.1:$(gd_peer_port "$i")" "$(gd_initial_cluster)"
	"$GD_BIN" "${CLUSTER_FLAGS[@]}" --peer-key-file "$GD_DIR/cluster.key" \
		"$@" >>"$GD_DIR/n$i.log" 2>&1 &
	GD_PIDS[$i]=$!
}

gd_kill()
{
	local i=$1 sig=${2:-KILL} pid=${GD_PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill -s "$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	GD_PIDS[$i]=
}

gd_alive() { [ -n "${GD_PIDS[$1]:-}" ] && kill -0 "${GD_PIDS[$1]}" 2>/dev/null; }

# gd_exited I SECONDS: wait for member I to exit by itself; its exit
# status goes to $status ("running" if it did not, and then it is killed).
# Not in a subshell: only this shell can wait for the member.
gd_exited()
{
	local i=$1
	status=running
	for _ in $(seq $(( $2 * 10 ))); do
		if ! gd_alive "$i"; then
			wait "${GD_PIDS[$i]}"
			status=$?
			GD_PIDS[$i]=
			return 0
		fi
		sleep 0.1
	done
	gd_kill "$i" KILL
}

gd_status() { cluster_status_field "$GD_DIR/n$1/status" "$2"; }

gd_wait_leader()
{
	local limit=$(( ${1:-10} * 10 )) t i
	for t in $(seq "$limit"); do
		for i in $(seq "$GD_N"); do
			if gd_alive "$i" && [ "$(gd_status "$i" role)" = leader ]; then
				echo "$i"
				return 0
			fi
		done
		sleep 0.1
	done
	return 1
}

gd_etcdctl()
{
	ETCDCTL_API=3 timeout 30 etcdctl --endpoints="$(gd_endpoints)" \
		--command-timeout=10s --dial-timeout=2s "$@" 2>&1
}

# gd_get I KEY: the value member I holds, read locally (serializable).
gd_get()
{
	ETCDCTL_API=3 timeout 10 etcdctl --endpoints="$(gd_endpoint "$1")" \
		--command-timeout=5s get --print-value-only \
		--consistency=s "$2" 2>/dev/null
}

# The offset after the last record of WAL segment $1 (0: none): record
# headers are 40 bytes with the magic "GNWR" at 0 and data_len at 28, and
# records are 8-byte aligned after a 32-byte segment header
# (Documentation/wal-format.rst).
gd_wal_record_end()
{
	local f=$1 off=32 end=0 size len n
	size=$(stat -c %s "$f")
	for n in $(seq 100000); do
		[ $((off + 40)) -le "$size" ] || break
		[ "$(od -An -tu4 -j "$off" -N4 "$f" | tr -d ' ')" = 1381453383 ] ||
			break
		len=$(od -An -tu4 -j $((off + 28)) -N4 "$f" | tr -d ' ')
		off=$(( off + (40 + len + 7) / 8 * 8 ))
		end=$off
	done
	echo "$end"
}

# gd_cut_last_record DIR: truncate the last segment holding records in the
# data directory DIR (member stopped) 3 bytes before the end of its last
# record; prints the segment and the new size.
gd_cut_last_record()
{
	local f end seg= at=0
	for f in "$1"/wal-*.seg; do
		end=$(gd_wal_record_end "$f")
		[ "$end" -gt 0 ] && { seg=$f; at=$end; }
	done
	[ -n "$seg" ] || return 1
	truncate -s $((at - 3)) "$seg" && echo "$(basename "$seg") at $((at - 3))"
}

gd_etcdctl_at()
{
	local i=$1
	shift
	ETCDCTL_API=3 timeout 20 etcdctl --endpoints="$(gd_endpoint "$i")" \
		--command-timeout=10s --dial-timeout=2s "$@" 2>&1
}

gd_peer_url() { echo "http://127.0.0.1:$(gd_peer_port "$1")"; }

# gd_member_id NAME-OR-PEER-URL [I]: its hex id, asking member I (default:
# any; give one while a member is stopped).  A member lists the table it
# has applied: right after a change made through another member it may not
# list it yet, so this asks again for up to 5 s.
gd_member_id()
{
	local ask=(gd_etcdctl) id end=$((SECONDS + 5))
	[ -n "${2:-}" ] && ask=(gd_etcdctl_at "$2")
	while :; do
		id=$("${ask[@]}" member list | awk -F', ' -v k="$1" \
			'$3 == k || $4 == k { print $1 }')
		{ [ -n "$id" ] || [ $SECONDS -ge $end ]; } && break
		sleep 0.2
	done
	echo "$id"
}

# gd_member_count [I]: how many members etcdctl lists, through member I
# (default: any); poll it with gd_until_eq after a change, as above.
gd_member_count()
{
	if [ -n "${1:-}" ]; then
		gd_etcdctl_at "$1" member list | wc -l
	else
		gd_etcdctl member list | wc -l
	fi
}

# gd_add_learners PREFIX FIRST LAST: learners PREFIX<k> for k in
# FIRST..LAST, at peer ports nothing listens on (GD_PORT0 + 100 + k), that
# never start: they take slots of the member table without changing the
# quorum.  Prints their ids, one a line.
gd_add_learners()
{
	local k url
	for k in $(seq "$2" "$3"); do
		url=http://127.0.0.1:$((GD_PORT0 + 100 + k))
		gd_etcdctl member add "$1$k" --learner --peer-urls="$url" \
			>/dev/null
		gd_member_id "$url"
	done
}

# For KTAP tests: the plan, the whole of it skipped without etcdctl.
gd_etcdctl_plan()
{
	ktap_plan "$1"
	command -v etcdctl >/dev/null ||
		ktap_skip_all "$2" "etcdctl is not installed"
}

# For KTAP tests: the plan, then a 3-member cluster with a leader
# (GD_LEADER) for tests that drive it with etcdctl and the python3 MODULEs
# (etcd3 is python3-etcd3); the whole plan skipped if one is missing.
# --synchronized: the cluster's clock is SYNCHRONIZED (gd_cluster_init),
# which needs gnomon-syncd.
gd_etcd_cluster()
{
	local init=() m missing=
	if [ "$1" = --synchronized ]; then
		init=(--synchronized)
		shift
		[ -x "$GD_SYNCD" ] || missing="gnomon-syncd (not built)"
	fi
	local plan=$1 name=$2
	shift 2
	ktap_plan "$plan"
	command -v etcdctl >/dev/null || missing+="${missing:+, }etcdctl"
	for m in "$@"; do
		/usr/bin/python3 -c "import $m" 2>/dev/null ||
			missing+="${missing:+, }python3 module $m"
	done
	[ -z "$missing" ] || ktap_skip_all "$name" "missing: $missing"
	gd_cluster_init 3 "${init[@]}"
	gd_start_all
}

# For tests whose python3 script prints the plan: a 3-member cluster with
# a leader (GD_LEADER), or one KTAP line that says why not, and the end.
# Skipped without python3-etcd3; the flags go to gd_cluster_init.
gd_python_cluster()
{
	if ! /usr/bin/python3 -c 'import etcd3' 2>/dev/null; then
		ktap_plan 1
		ktap_skip "python3-etcd3" "python3-etcd3 is not installed"
		ktap_finish
		exit $?
	fi
	gd_cluster_init 3 "$@"
	gd_start_all
}

# For KTAP tests (selftests/ktap.sh): a cluster with a leader, or the end
# (with a plan of its own if the test had printed none).
gd_start_all()
{
	local i
	for i in $(seq "$GD_N"); do gd_start "$i"; done
	if ! GD_LEADER=$(gd_wait_leader "${1:-15}"); then
		[ "$KTAP_PLANNED" -gt 0 ] || ktap_plan 1
		ktap_fail "a leader is elected" "$(tail -n 5 "$GD_DIR"/n*.log)"
		ktap_finish
		exit 1
	fi
}

# gd_until_eq SECONDS WANT CMD...: poll until the output equals WANT;
# prints the last output either way.
gd_until_eq()
{
	local limit=$(( $1 * 5 )) want=$2 out
	shift 2
	for _ in $(seq "$limit"); do
		out=$("$@")
		[ "$out" = "$want" ] && { echo "$out"; return 0; }
		sleep 0.2
	done
	echo "$out"
}

gd_cluster_cleanup()
{
	local i
	for i in $(seq "$GD_N"); do
		gd_kill "$i" TERM
	done
	if [ -n "$GD_SYNCD_PID" ]; then
		kill "$GD_SYNCD_PID" 2>/dev/null
		wait "$GD_SYNCD_PID" 2>/dev/null
	fi
	[ -n "${GD_KEEP:-}" ] || { [ -n "$GD_DIR" ] && rm -rf "$GD_DIR"; }
}

# ---- namespaced ----
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
cl_addr() { echo "198.19.77.$1"; }
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
	local i p
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
	# Whatever still runs in our namespaces (a helper started in the
	# background through a function is a subshell's child) goes too.
	for i in $(seq "$CL_N") hub; do
		for p in $(ip netns pids "$(cl_ns "$i")" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
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
	cl_hub ip addr add 198.19.77.254/24 dev br0
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
	cluster_key "$CL_DIR"
}

# Member I reads TT.now() from its own page ($CL_DIR/clockI), written by a
# gnomon-syncd with a static source of the given error; no kernel device.
# With CL_SKEW=1 the member and its agent also run under the skew shim,
# whose offset cl_skew sets.
cl_clock()
{
	local i=$1 f=$CL_DIR/clock$1 err=$2 pre= rc
	shift 2
	if [ "${CL_SKEW:-0}" = 1 ]; then
		[ -f "$CL_DIR/skew$i" ] || head -c 8 /dev/zero > "$CL_DIR/skew$i"
		pre="LD_PRELOAD=$CL_TOP/build/tests/gnomond/libskew.so GNOMON_TEST_SKEW_FILE=$CL_DIR/skew$i"
	fi
	CLUSTER_SYNCD_ENV=$pre cluster_syncd "$f" "$err" "$CL_DIR/syncd$i.log" "$@"
	rc=$?
	CL_CLOCK_PIDS[$i]=$CLUSTER_SYNCD_PID
	CL_ENV[$i]="$pre GNOMON_SHM=$f GNOMON_DEVICE=$CL_DIR/no-device"
	return $rc
}

# Member I's CLOCK_REALTIME (and its agent's) is off by NS (signed).
cl_skew()
{
	/usr/bin/python3 -c 'import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.write(struct.pack("<q", int(sys.argv[2])))' "$CL_DIR/skew$1" "$2"
}

cl_status() { cluster_status_field "$CL_DIR/m$1/status" "$2"; }

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
	cluster_member_flags "m$i" "$CL_DIR/m$i" "http://$a:2379" \
		"http://$a:2380" "$cluster"
	if [ "$CL_IMPL" = etcd ]; then
		ip netns exec "$(cl_ns "$i")" etcd "${CLUSTER_FLAGS[@]}" \
			>>"$CL_DIR/m$i.log" 2>&1 &
	else
		ip netns exec "$(cl_ns "$i")" env ${CL_ENV[$i]:-} "$CL_GNOMOND" \
			"${CLUSTER_FLAGS[@]}" --peer-key-file "$CL_DIR/cluster.key" \
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
