#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gnomon-syncd disciplining gnomon.ko from a real ptp4l (runs in the VM).
#
# Two network namespaces joined by a veth pair; ptp4l in each, software
# timestamping, L2 transport: the one in "gm" is grandmaster (priority1 1),
# the one in "sl" is slaveOnly.  Each has its own management socket
# (uds_address).  The agent runs in "sl", reads the slave's socket and
# disciplines the module.  Both namespaces share one CLOCK_REALTIME, so the
# slave's servo converges at once; what is tested is the whole path:
# ptp4l's management answers -> the agent's error model -> the module.
#
# Asserted within a bounded time: the module is synchronized, its last
# update came from the ptp source, its error is one the agent computed from
# a SLAVE port's offset and path delay, and the bound is that error plus
# drift growth.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"

agent=$top/build/bin/gnomon-syncd
probe=$top/build/selftests/syncd/clock_probe
wait_s=60
tmp=
pids=()

cleanup()
{
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del gnomon-gm 2>/dev/null
	ip netns del gnomon-sl 2>/dev/null
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT

ktap_plan 4

skip_all()
{
	ktap_skip "ptp4l_namespaces" "$1"
	ktap_skip "ptp4l_slave_locked" "$1"
	ktap_skip "agent_disciplines_from_ptp" "$1"
	ktap_skip "bound_from_ptp_offset" "$1"
	ktap_finish
	exit $?
}

[ -e /dev/gnomon ] || skip_all "/dev/gnomon absent (module not loaded)"
command -v ptp4l > /dev/null || skip_all "ptp4l not installed (linuxptp)"
command -v pmc > /dev/null || skip_all "pmc not installed (linuxptp)"
modprobe veth 2>/dev/null

tmp=$(mktemp -d /tmp/gnomon-ptp.XXXXXX)
ptp_config()
{
	# $1 name, then extra "key value" lines
	local name=$1
	shift
	{
		echo "[global]"
		echo "uds_address $tmp/$name.sock"
		echo "time_stamping software"
		echo "network_transport L2"
		echo "logSyncInterval -2"
		echo "logAnnounceInterval -2"
		echo "announceReceiptTimeout 3"
		echo "logMinDelayReqInterval -2"
		echo "first_step_threshold 0.0"
		echo "step_threshold 0.0"
		printf '%s\n' "$@"
	} > "$tmp/$name.cfg"
}
ptp_config gm "priority1 1"
ptp_config sl "priority1 255" "slaveOnly 1"

setup_netns()
{
	ip netns add gnomon-gm && ip netns add gnomon-sl &&
	ip link add gnomon-v0 type veth peer name gnomon-v1 &&
	ip link set gnomon-v0 netns gnomon-gm &&
	ip link set gnomon-v1 netns gnomon-sl &&
	ip -n gnomon-gm link set lo up && ip -n gnomon-sl link set lo up &&
	ip -n gnomon-gm link set gnomon-v0 up && ip -n gnomon-sl link set gnomon-v1 up
}
if out=$(setup_netns 2>&1); then
	ktap_ok "ptp4l_namespaces"
else
	ktap_fail "ptp4l_namespaces" "$out"
	skip_all "no veth pair"
fi

ip netns exec gnomon-gm ptp4l -f "$tmp/gm.cfg" -i gnomon-v0 -m > "$tmp/gm.log" 2>&1 &
pids+=($!)
ip netns exec gnomon-sl ptp4l -f "$tmp/sl.cfg" -i gnomon-v1 -m > "$tmp/sl.log" 2>&1 &
pids+=($!)

# Wait (bounded) for the slave's port to reach SLAVE, asking as pmc does.
port_state()
{
	timeout 10 ip netns exec gnomon-sl pmc -u -b 0 -s "$tmp/sl.sock" \
		-i "$tmp/pmc.sock" 'GET PORT_DATA_SET' 2>/dev/null |
		awk '$1 == "portState" { print $2 }'
}
state=
for ((i = 0; i < wait_s; i++)); do
	state=$(port_state)
	[ "$state" = SLAVE ] && break
	sleep 1
done
if [ "$state" = SLAVE ]; then
	ktap_ok "ptp4l_slave_locked"
else
	ktap_fail "ptp4l_slave_locked" "slave port state '$state' after ${wait_s}s"
	ktap_diag "gm: $(tail -n 5 "$tmp/gm.log" | tr '\n' ' ')"
	ktap_diag "sl: $(tail -n 5 "$tmp/sl.log" | tr '\n' ' ')"
fi

ip netns exec gnomon-sl "$agent" --source ptp4l --ptp4l-socket "$tmp/sl.sock" \
	--interval 500ms --drift-ppm 50 --foreground -vv 2> "$tmp/agent.log" &
pids+=($!)

line=
for ((i = 0; i < wait_s * 2; i++)); do
	line=$("$probe" 2>&1)
	case "$line" in
	status=synchronized\ source=ptp\ *) break ;;
	esac
	sleep 0.5
done
case "$line" in
status=synchronized\ source=ptp\ *)
	ktap_ok "agent_disciplines_from_ptp" ;;
*)
	ktap_fail "agent_disciplines_from_ptp" "module: $line"
	ktap_diag "agent: $(tail -n 5 "$tmp/agent.log" | tr '\n' ' ')" ;;
esac

# The module's error must be one the agent derived from a SLAVE port:
# error >= |master offset| and error >= path delay (the asymmetry allowance),
# and the bound is that error plus at most a few seconds of 50 ppm drift.
error=$(sed -n 's/.*error_ns=\([0-9]*\).*/\1/p' <<< "$line")
bound=$(sed -n 's/.*bound_ns=\([0-9]*\).*/\1/p' <<< "$line")
if [ -n "$error" ] && [ "$error" -gt 0 ] &&
   [ "$bound" -ge "$error" ] && [ "$bound" -le $((error + 500000)) ] &&
   awk -v e="$error" '
	/ptp4l: port SLAVE, master offset/ {
		off = $8; if (off < 0) off = -off
		if ($15 == e && e >= off && e >= $12) found = 1
	}
	END { exit !found }' "$tmp/agent.log"; then
	ktap_ok "bound_from_ptp_offset"
	ktap_diag "module: $line"
else
	ktap_fail "bound_from_ptp_offset" "module: $line"
	ktap_diag "agent: $(grep 'port SLAVE' "$tmp/agent.log" | tail -n 3 | tr '\n' ' ')"
fi
ktap_finish
