# SPDX-License-Identifier: GPL-2.0
# Run a gnomond cluster on loopback for tests and the demo; source it.
#
#	gd_cluster_init N [--synchronized]   # temp dir, ports, key, (clock)
#	gd_start I [gnomond flags...]        # start member I (1..N)
#	gd_kill I [SIGNAL]                   # default SIGKILL; waits for it
#	gd_wait_leader [SECONDS]             # prints the leader's number
#	gd_status I FIELD                    # a field of I's status file
#	gd_endpoints / gd_endpoint I         # etcdctl --endpoints values
#	gd_etcdctl ARGS...                   # etcdctl against every member
#	gd_until_eq SECONDS WANT CMD...      # poll CMD until it prints WANT
#	gd_cluster_cleanup                   # stop everything, remove the dir
#
# Members listen on 127.0.0.1 ports picked free at init.  --synchronized
# runs gnomon-syncd with a static 1 ms source into a private shared-memory
# file (GNOMON_SHM) so that TT.now() is SYNCHRONIZED and leases can work;
# without it, on a host with no synchronized clock, reads use ReadIndex.
GD_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
GD_BIN=${GD_BIN:-$GD_TOP/build/bin/gnomond}
GD_SYNCD=$GD_TOP/build/bin/gnomon-syncd
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
	head -c 32 /dev/urandom > "$GD_DIR/cluster.key"
	chmod 600 "$GD_DIR/cluster.key"
	for tries in $(seq 50); do
		base=$(( 21000 + (RANDOM % 400) * 50 ))
		local ok=1 i
		for i in $(seq "$n"); do
			gd_port_free $((base + i)) && gd_port_free $((base + 20 + i)) || ok=0
		done
		[ $ok = 1 ] && break
	done
	GD_PORT0=$base
	if [ "${2:-}" = --synchronized ]; then
		export GNOMON_SHM=$GD_DIR/clock
		"$GD_SYNCD" --foreground --source static --error-ns 1000000 \
			--interval 100ms --shm "$GNOMON_SHM" \
			>"$GD_DIR/syncd.log" 2>&1 &
		GD_SYNCD_PID=$!
		for _ in $(seq 50); do
			[ -s "$GNOMON_SHM" ] && break
			sleep 0.1
		done
	fi
	trap gd_cluster_cleanup EXIT
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
	"$GD_BIN" --name "n$i" --data-dir "$GD_DIR/n$i" \
		--listen-client-urls "http://127.0.0.1:$(gd_client_port "$i")" \
		--advertise-client-urls "http://127.0.0.1:$(gd_client_port "$i")" \
		--listen-peer-urls "http://127.0.0.1:$(gd_peer_port "$i")" \
		--initial-advertise-peer-urls "http://127.0.0.1:$(gd_peer_port "$i")" \
		--initial-cluster "$(gd_initial_cluster)" \
		--initial-cluster-state new \
		--peer-key-file "$GD_DIR/cluster.key" \
		--heartbeat-interval 50 --election-timeout 500 \
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

# gd_status I FIELD: from the JSON object in DATA_DIR/status.
gd_status()
{
	sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" "$GD_DIR/n$1/status" 2>/dev/null
}

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
