#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# gnomon-fenced in the VM: a 3-member gnomond cluster on loopback, two
# agents A and B for one lock, each with its own kernel lease resource and
# its own gnomon-fence table over ONE shared loop device, and an application
# per agent (fenced_lib.sh), running from the start, that writes fence-record
# records whenever its kernel lease holds with a new token.
#   - A holds, B waits; A's writes pass, B writes nothing.
#   - SIGKILL A's agent: A's table refuses its writer after the lapse, B
#     gets the lock, B's kernel lease is granted only once B's earliest is
#     past E (the netlink grant event's time against B's logged E, and E
#     against A's last kernel lease end), B's writes pass.
#   - A's agent again (queued), SIGSTOP B's agent for 4 TTLs: A takes over;
#     after SIGCONT B's writer is refused and B's agent releases and queues.
#   - `fence-record check` finds no record of a lower token that landed
#     after a higher token's holder took over, and none lost.
# Both takeovers print their phases (fd_phases), in ms after the loss: the
# old holder's kernel lease lapsed, the new agent got the lock, its kernel
# lease was granted, its application saw it hold, read the disk and had its
# first write acknowledged.  No time is asserted: the numbers are for
# Documentation/performance.rst (tools/bench/fence-takeover-vm.sh).
# Negative control: the same SIGSTOP schedule with applications that bypass
# the gnomon-fence tables (straight to the loop device): the checker must
# find a stale write.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/fence/fence.sh"
. "$top/selftests/gnomond/cluster_lib.sh"
. "$top/selftests/fenced/fenced_lib.sh"

ktap_plan 15
[ -x "$FD_FENCED" ] && [ -x "$FD_RECORD" ] && [ -x "$GD_BIN" ] ||
	ktap_skip_all fenced "gnomon-fenced, fence-record or gnomond is not built"
fence_setup || ktap_skip_all fenced "dm_mod or dm-gnomon-fence.ko cannot be loaded"
loop=$(fence_loop 16) || ktap_skip_all fenced "no loop device"
fd_tables "$loop" "$loop" || ktap_skip_all fenced "gnomon-fence tables cannot be created"
RA=$FD_RA
RB=$FD_RB
devA=$FD_DEV_A
devB=$FD_DEV_B

fd_cluster_start
trap 'fd_rig_cleanup "$loop"' EXIT
gd_start_all
fd_monitor_start

passed() { fence_status "$1" 4; }
# last_seq WHAT NAME: the sequence of NAME's last "WHAT" line (first, ack).
last_seq()
{
	sed -n "s/^$1 $2 [0-9]* \([0-9]*\) at [0-9]*$/\1/p" "$FD_DIR/$2.acks" 2>/dev/null | tail -n 1
}

# 1. The applications run from the start; A holds, B waits.
fd_app A $RA "$devA"
fd_app B $RB "$devB"
fd_agent A $RA
fd_expect_holder "A takes the lock and grants its kernel lease" A
fd_agent B $RB
sleep 2
ktap_eq "B waits for the lock" idle "$(fd_field B state)"
a0=$(passed fda_$$)
if [ "${a0:-0}" -gt 0 ] && grep -q "^ack A " "$FD_DIR/A.acks" &&
	[ "$(passed fdb_$$)" = 0 ]; then
	ktap_ok "A's writes pass, B writes nothing"
else
	ktap_fail "A's writes pass, B writes nothing" "A passed $a0, B passed $(passed fdb_$$)"
fi

# 2. SIGKILL A's agent: its application keeps writing (its lease holds
# until its end).
loss=$(date +%s%N)
kill -KILL "${FD_PIDS[A]}"
wait "${FD_PIDS[A]}" 2>/dev/null
unset 'FD_PIDS[A]'
if fence_wait_status fda_$$ 3 fenced && fd_until_grep "^refused A " "$FD_DIR/A.acks" 10; then
	ktap_ok "A's table refuses A's writes after the lapse"
else
	ktap_fail "A's table refuses A's writes after the lapse" "$(dmsetup status fda_$$)"
fi
fd_expect_holder "B takes over after A's SIGKILL" B
tokB=$(fd_field B token)
E=$(sed -n "s/.*token $tokB, waiting for earliest > \([0-9]*\).*/\1/p" "$FD_DIR/B.log" | tail -n 1)
endA=$($CTL lease show $RA --json | sed -n 's/.*"end_ns":\([0-9]*\).*/\1/p')
grantB=$(awk -v r=$RB -v t="$tokB" '$1 == "lease_granted" && $0 ~ "name=" r " " && $0 ~ "token=" t " " {
	for (i = 2; i <= NF; i++) if ($i ~ /^time_ns=/) { sub("time_ns=", "", $i); print $i; exit } }' \
	"$FD_MONITOR")
if [ -n "$E" ] && [ -n "$endA" ] && [ -n "$grantB" ] && [ "$E" -ge "$endA" ] &&
	[ "$grantB" -gt "$E" ]; then
	ktap_ok "B's kernel lease granted after E, and E covers A's kernel lease"
else
	ktap_fail "B's kernel lease granted after E, and E covers A's kernel lease" \
		"E=$E A's end=$endA B's grant at $grantB"
fi
if fd_until_grep "^ack B $tokB " "$FD_DIR/B.acks" 10; then
	ktap_ok "B's writes pass"
else
	ktap_fail "B's writes pass" "$(dmsetup status fdb_$$)"
fi
ktap_diag "takeover after SIGKILL, ms after the loss: $(fd_phases "$loss" $RA B $RB "$tokB")"

# 3. A's agent again, queued; SIGSTOP B's agent for 4 TTLs, then SIGCONT.
fd_agent A $RA
sleep 2
loss=$(date +%s%N)
fd_pause_takeover B A "A takes over from the paused B"
fd_until_grep "^refused B $tokB " "$FD_DIR/B.acks" 10
r0=$?
kill -CONT "${FD_PIDS[B]}"
if fd_wait B state idle 10 && [ "$(fd_field B losses)" -ge 1 ] 2>/dev/null &&
	grep -q "given up" "$FD_DIR/B.log"; then
	ktap_ok "B's agent releases and queues again after SIGCONT"
else
	ktap_fail "B's agent releases and queues again after SIGCONT" "$(fd_diag_logs)"
fi
if [ $r0 = 0 ] && [ "$(fence_status fdb_$$ 3)" = fenced ]; then
	ktap_ok "B's writes are refused while A holds"
else
	ktap_fail "B's writes are refused while A holds" "$(dmsetup status fdb_$$) $(fd_diag_logs)"
fi
tokA=$(fd_field A token)
fd_until_grep "^ack A $tokA " "$FD_DIR/A.acks" 10
ktap_diag "takeover after SIGSTOP, ms after the loss: $(fd_phases "$loss" $RB A $RA "$tokA")"
sleep 1
fd_apps_stop
blockdev --flushbufs "$loop"
out=$("$FD_RECORD" check "$loop")
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q "stale 0 lost 0"; then
	ktap_ok "no record of a lower token lands after a takeover"
else
	ktap_fail "no record of a lower token lands after a takeover" "$(echo "$out" | head -n 3)"
fi
holders=$(echo "$out" | sed -n 's/.* holders \([0-9]*\) .*/\1/p')
if [ "${holders:-0}" -ge 3 ]; then
	ktap_ok "three holders' records are on the disk ($holders)"
else
	ktap_fail "three holders' records are on the disk" "$out"
fi

# 4. SIGTERM: the kernel lease is released first, then the session revoked.
kill -TERM "${FD_PIDS[A]}"
wait "${FD_PIDS[A]}"
rc=$?
unset 'FD_PIDS[A]'
st=$(cat "$LEASES/$RA/state" 2>/dev/null)
if [ $rc = 0 ] && [ "$st" = released ] && grep -q "session .* given up: stopping" "$FD_DIR/A.log"; then
	ktap_ok "SIGTERM releases the kernel lease and revokes the session"
else
	ktap_fail "SIGTERM releases the kernel lease and revokes the session" "rc $rc state $st"
fi
fd_cleanup
FD_PIDS=()

# 5. Negative control: the same pause with applications that bypass the
# tables, on a wiped disk.
dd if=/dev/zero of="$loop" bs=1M count=16 oflag=direct status=none
FD_LOCK=fenced_ctl_$$
mkdir -p "$FD_DIR/ctl"
FD_DIR=$GD_DIR/ctl
fd_app A $RA "$loop"
fd_app B $RB "$loop"
fd_agent A $RA
fd_wait A state holding 30
fd_agent B $RB
sleep 2
kill -STOP "${FD_PIDS[A]}"
fd_wait B state holding 30
# Until A's writer, which believes it holds, has written past B's first
# record (bounded: 10 s), so the schedule always has a stale write to find.
for _ in $(seq 100); do
	bfirst=$(last_seq first B)
	alast=$(last_seq ack A)
	[ -n "$bfirst" ] && [ "${alast:-0}" -ge "$bfirst" ] && break
	sleep 0.1
done
# The checker reads only the image, where B's later write of a slot hides
# A's earlier one: stop B's writer first, and let A's write past B's last.
kill -TERM "${FD_APIDS[B]}"
wait "${FD_APIDS[B]}"
unset 'FD_APIDS[B]'
blast=$(last_seq ack B)
for _ in $(seq 100); do
	alast=$(last_seq ack A)
	[ "${alast:-0}" -gt "${blast:-0}" ] && break
	sleep 0.1
done
kill -CONT "${FD_PIDS[A]}"
fd_apps_stop
blockdev --flushbufs "$loop"
out=$("$FD_RECORD" check "$loop")
if [ $? = 1 ] && ! echo "$out" | grep -q " stale 0 "; then
	ktap_ok "negative control: bypassing the fence, the checker finds a stale write"
	ktap_diag "$(echo "$out" | sed -n 2p)"
else
	ktap_fail "negative control: bypassing the fence, the checker finds a stale write" \
		"$out B's first $bfirst, B's last $blast, A's last $alast $(tail -n 2 "$FD_DIR"/*.acks | tr '\n' ' ')"
fi
ktap_eq "the control's agents took over too" holding "$(fd_field B state)"
ktap_finish
