# SPDX-License-Identifier: GPL-2.0
# Helpers for the stamping tests: "hosts" are network namespaces, each with
# its own cgroup v2 (so that each gets its own stamper, node id and clock),
# joined by veth pairs:  a 198.18.1.1 <-> 198.18.1.2 b 198.18.2.2 <-> 198.18.2.3 c
# (a and b also have 2001:db8:1::1 and ::2).
# Source it, call trace_setup, and trace_cleanup on exit.  Every wait is
# bounded.
TRACE_TOP=${TRACE_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TRACE_BIN=${TRACE_BIN:-$TRACE_TOP/build/bin/gnomon-trace}
TRACE_PEER=$TRACE_TOP/selftests/trace/tcp_peer.py
# The system interpreter: a version manager's shim costs seconds per start.
TRACE_PY=${TRACE_PY:-$(command -v /usr/bin/python3 || command -v python3)}
TRACE_TAG=gnt$$
TRACE_RECORDERS=()
TRACE_PIDS=()

trace_cgroot()
{
	awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
}

trace_cgroup()
{
	echo "$TRACE_CG/$TRACE_TAG-$1"
}

trace_ns()
{
	echo "$TRACE_TAG-$1"
}

# trace_setup DIR: namespaces a, b, c, their cgroups, the links.
trace_setup()
{
	TRACE_DIR=$1
	TRACE_CG=$(trace_cgroot)
	[ -n "$TRACE_CG" ] || return 1
	mkdir -p "$TRACE_DIR"
	local h
	for h in a b c; do
		ip netns add "$(trace_ns $h)" || return 1
		ip -n "$(trace_ns $h)" link set lo up
		mkdir -p "$(trace_cgroup $h)" || return 1
	done
	ip link add "${TRACE_TAG}ab" netns "$(trace_ns a)" type veth peer name "${TRACE_TAG}ba" netns "$(trace_ns b)" || return 1
	ip link add "${TRACE_TAG}bc" netns "$(trace_ns b)" type veth peer name "${TRACE_TAG}cb" netns "$(trace_ns c)" || return 1
	ip -n "$(trace_ns a)" addr add 198.18.1.1/24 dev "${TRACE_TAG}ab"
	ip -n "$(trace_ns b)" addr add 198.18.1.2/24 dev "${TRACE_TAG}ba"
	ip -n "$(trace_ns b)" addr add 198.18.2.2/24 dev "${TRACE_TAG}bc"
	ip -n "$(trace_ns c)" addr add 198.18.2.3/24 dev "${TRACE_TAG}cb"
	ip -n "$(trace_ns a)" addr add 2001:db8:1::1/64 dev "${TRACE_TAG}ab" nodad
	ip -n "$(trace_ns b)" addr add 2001:db8:1::2/64 dev "${TRACE_TAG}ba" nodad
	ip -n "$(trace_ns a)" link set "${TRACE_TAG}ab" up
	ip -n "$(trace_ns b)" link set "${TRACE_TAG}ba" up
	ip -n "$(trace_ns b)" link set "${TRACE_TAG}bc" up
	ip -n "$(trace_ns c)" link set "${TRACE_TAG}cb" up
}

# trace_on HOST CMD...: run CMD in HOST's namespace and cgroup.
trace_on()
{
	local h=$1
	shift
	# Join the cgroup first: ip netns exec remounts /sys, hiding cgroupfs.
	sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' \
		"$(trace_cgroup "$h")" "$(trace_ns "$h")" "$@"
}

# trace_wait_for FILE PATTERN: up to 20 s for PATTERN to show in FILE.
trace_wait_for()
{
	local i
	for i in $(seq 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$2' in $1" >&2
	return 1
}

# trace_record HOST NODE: start a recorder for HOST into $TRACE_DIR/HOST.jsonl.
trace_record()
{
	local out=$TRACE_DIR/$1.jsonl
	rm -f "$out"
	"$TRACE_BIN" record --cgroup "$(trace_cgroup "$1")" --node-id "$2" -o "$out" \
		> /dev/null 2> "$TRACE_DIR/$1.record.err" &
	TRACE_RECORDERS+=($!)
	trace_wait_for "$out" gnomon_trace
}

# trace_stop_recorders: SIGINT every recorder and wait (bounded) for each.
trace_stop_recorders()
{
	local p rc=0 i
	for p in "${TRACE_RECORDERS[@]}"; do
		kill -INT "$p" 2>/dev/null
	done
	for p in "${TRACE_RECORDERS[@]}"; do
		for i in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null
			rc=1
		fi
		wait "$p" || rc=1
	done
	TRACE_RECORDERS=()
	return $rc
}

# trace_bg HOST CMD...: trace_on in the background, remembered for cleanup.
trace_bg()
{
	trace_on "$@" &
	TRACE_PIDS+=($!)
}

# trace_case CMD...: run a test case, then stop its recorders and helpers
# whatever it returned (a case runs in a subshell of ktap_check).
trace_case()
{
	local rc p
	"$@"
	rc=$?
	trace_stop_recorders > /dev/null 2>&1
	for p in "${TRACE_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	TRACE_PIDS=()
	return $rc
}

trace_cleanup()
{
	local p h
	for p in "${TRACE_PIDS[@]}" "${TRACE_RECORDERS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for h in a b c; do
		ip netns del "$(trace_ns $h)" 2>/dev/null
		[ -n "${TRACE_CG:-}" ] && "$TRACE_BIN" unpin --cgroup "$(trace_cgroup $h)" >/dev/null 2>&1
		[ -n "${TRACE_CG:-}" ] && rmdir "$(trace_cgroup $h)" 2>/dev/null
	done
	return 0
}
