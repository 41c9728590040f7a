# SPDX-License-Identifier: GPL-2.0
#
# A fresh local cluster for the benchmarks that set gnomond against etcd
# (sourced by gnomond-vs-etcd.sh and gnomond-coord-vs-etcd.sh): $members
# members of etcd 3.4 or build/bin/gnomond on 127.0.0.1, ports from $base,
# data under $dir; gnomond's members read TT.now() from one gnomon-syncd
# page (static source, 1 ms error, so its leases are on).  The caller sets
# top, dir, base and members, and keeps its processes' ids in pids; a
# command in wrap1 (e.g. valgrind and its options) runs gnomond's member 1
# under it, in the same process.
gnomond=$top/build/bin/gnomond
syncd=$top/build/bin/gnomon-syncd
pids=()
wrap1=()

cleanup()
{
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	pids=()
}

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
		elif [ "$i" = 1 ] && [ ${#wrap1[@]} -gt 0 ]; then
			"${wrap1[@]}" "$gnomond" "${args[@]}" \
				--peer-key-file "$dir/key" >"$dir/m$i.log" 2>&1 &
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

# The leader's client endpoint (member 1's if none says it leads).
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
