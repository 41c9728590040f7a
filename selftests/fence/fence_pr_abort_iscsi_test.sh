#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What PREEMPT AND ABORT adds over a plain PREEMPT, shown on LIO's iSCSI
# fabric in the VM (through tcm_loop it never completes).  One iblock
# backstore on a dm-delay device (reads at once, every write held DELAY_MS
# in the backend) is exported on 127.0.0.1 and logged into twice by the
# kernel's iSCSI initiator under two initiator names: /dev/sdX is host A,
# /dev/sdY host B.  Each round: A takes over with its key through its
# gnomon-fence device; one write of A is put in flight, and is waiting in
# the backend when B takes over through its own gnomon-fence device.
#
#   PREEMPT AND ABORT: the takeover returns only once LIO has drained A's
#   aborted command; A's write is not acknowledged (it fails with
#   RESERVATION CONFLICT), the block read when the takeover returned does
#   not change afterwards, and B's later write is what stays.
#   Control, plain PREEMPT (--no-abort): A's write is acknowledged after
#   the takeover returned, and its data lands after it too (the block read
#   when the takeover returned is not the block a moment later).
#
# The control cannot show A's data landing over B's: dm-delay holds every
# write for the same time, so B's later write lands after A's.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/fence/fence.sh"
. "$top/selftests/fence/lio.sh"

DELAY_MS=5000

ktap_plan 16
fence_setup || ktap_skip_all pr-abort "dm_mod or dm-gnomon-fence.ko cannot be loaded"
command -v sg_persist > /dev/null || ktap_skip_all pr-abort "sg3-utils is not installed (tools/vm/install-deps)"
command -v iscsid > /dev/null || ktap_skip_all pr-abort "open-iscsi is not installed (tools/vm/install-deps)"
[ -n "${GNOMON_VM_KERNEL:-}" ] ||
	ktap_skip_all pr-abort "runs only in the test VM (it starts an iscsid of its own)"
modprobe dm_delay || ktap_skip_all pr-abort "dm-delay cannot be loaded"
WORK=$(mktemp -d /tmp/pr-abort.XXXXXX)
LOOP=$(fence_loop 32) || ktap_skip_all pr-abort "no loop device"
cleanup()
{
	local d
	for d in pa pb; do
		dmsetup remove "$d" > /dev/null 2>&1
	done
	lio_iscsi_teardown
	dmsetup remove gdelay > /dev/null 2>&1
	losetup -d "$LOOP"
	rm -rf "$WORK"
	fence_teardown
}
trap cleanup EXIT
echo "0 $(blockdev --getsz "$LOOP") delay $LOOP 0 0 $LOOP 0 $DELAY_MS" | dmsetup create gdelay ||
	ktap_skip_all pr-abort "dm-delay table refused"
lio_iscsi_setup "$(fence_dev gdelay)" ||
	ktap_skip_all pr-abort "LIO's iSCSI target or the open-iscsi initiator is unavailable"
A=$LIO_DEV_A
B=$LIO_DEV_B
sz=$(blockdev --getsz "$A")
R=fence_pr_abort_$$
fence_grant $R 11 1h
dmsetup create pa --table "0 $sz gnomon-fence $A $R"
dmsetup create pb --table "0 $sz gnomon-fence $B $R"
DA=$(fence_dev pa)
PB=$(fence_dev pb)
ktap_diag "host A: $A through $DA, host B: $B through $PB, writes held ${DELAY_MS} ms"

# Writes dm-delay holds now (its status: reads writes flushes held).
held_writes()
{
	dmsetup status gdelay | awk '{ print $5 }'
}

# wait_held some|none: poll (bounded) until dm-delay holds a write, or none.
wait_held()
{
	local i n
	for i in $(seq 1 200); do
		n=$(held_writes)
		case $1 in
		some) [ "$n" -ge 1 ] && return 0 ;;
		none) [ "$n" = 0 ] && return 0 ;;
		esac
		sleep 0.1
	done
	return 1
}

# The first byte of block BLK as seen by host B, empty for a zero byte.
block_of()
{
	fence_read "$B" "$1" | tr -d '\0'
}

# round MODE KEY_A KEY_B BLOCK: A takes over with KEY_A and puts a write
# of "a" to BLOCK in flight; B takes over with KEY_B, with the abort
# (MODE abort) or without (MODE plain).  Sets TAKEOVER (B's exit status),
# DONE_AT_RETURN (1 when A's write had completed when B's takeover
# returned), AT_RETURN and LATER (BLOCK's first byte then and once nothing
# is held), A_RC (the exit status of A's write) and A_ERR.
round()
{
	local mode=$1 ka=$2 kb=$3 blk=$4 apid i flag=()

	[ "$mode" = abort ] || flag=(--no-abort)
	rm -f "$WORK/a.rc" "$WORK/a.err"
	$CTL fence pr takeover "$DA" --token "$ka" > /dev/null ||
		ktap_diag "A's takeover with $ka failed"
	(
		head -c 4096 /dev/zero | tr '\0' a |
			dd of="$DA" bs=4096 seek="$blk" count=1 oflag=direct status=none 2> "$WORK/a.err"
		echo $? > "$WORK/a.rc"
	) &
	apid=$!
	wait_held some || ktap_diag "A's write was never seen held in the backend"
	timeout 60 "$CTL" fence pr takeover "$PB" --token "$kb" --previous "$ka" "${flag[@]}" > /dev/null
	TAKEOVER=$?
	DONE_AT_RETURN=0
	[ -e "$WORK/a.rc" ] && DONE_AT_RETURN=1
	AT_RETURN=$(block_of "$blk")
	for i in $(seq 1 300); do
		kill -0 "$apid" 2> /dev/null || break
		sleep 0.1
	done
	wait "$apid"
	wait_held none || ktap_diag "writes still held in the backend"
	LATER=$(block_of "$blk")
	A_RC=$(cat "$WORK/a.rc" 2> /dev/null || echo none)
	A_ERR=$(tail -n 1 "$WORK/a.err" 2> /dev/null)
	ktap_diag "$mode: takeover exit $TAKEOVER, A's write exit $A_RC ($A_ERR)," \
		"done when the takeover returned: $DONE_AT_RETURN," \
		"block $blk then '$AT_RETURN', once nothing is held '$LATER'"
}

# With PREEMPT AND ABORT.
round abort 11 22 1
ktap_eq "B takes over with PREEMPT AND ABORT through gnomon-fence" 0 "$TAKEOVER"
if [ "$A_RC" != 0 ] && [ "$A_RC" != none ]; then
	ktap_ok "A's write in flight at the takeover is not acknowledged"
else
	ktap_fail "A's write in flight at the takeover is not acknowledged" "exit $A_RC"
fi
ktap_eq "nothing of A lands after the takeover returned" "$AT_RETURN" "$LATER"
ktap_eq "sg_persist -k: only B's key" "0x16" "$(sg_persist -k "$B" | awk '/^ +0x/ { print $1 }' | xargs)"
ktap_eq "sg_persist -r: B holds WE-RO" "Key=0x16 Write Exclusive, registrants only" \
	"$(sg_persist -r "$B" | awk '/Key=/ { k = $1 } /type:/ { sub(/.*type: /, ""); t = $0 } END { print k, t }')"
lio_expect_conflict "A's SCSI WRITE gets RESERVATION CONFLICT" "$A" 8
if fence_write "$DA" 1 y; then
	ktap_fail "A's next write through gnomon-fence fails" "dd succeeded"
else
	ktap_ok "A's next write through gnomon-fence fails"
fi
fence_write "$PB" 1 b
wait_held none
ktap_eq "B's write lands and stays" b "$(block_of 1)"
ktap_check "B clears the reservation" "$CTL" fence pr clear "$PB" --token 22

# Control: the same schedule with a plain PREEMPT.
round plain 33 44 2
ktap_eq "control: B takes over with a plain PREEMPT" 0 "$TAKEOVER"
if [ "$A_RC" = 0 ] && [ "$DONE_AT_RETURN" = 0 ]; then
	ktap_ok "control: A's write is acknowledged after the takeover returned"
else
	ktap_fail "control: A's write is acknowledged after the takeover returned" \
		"exit $A_RC, done at return $DONE_AT_RETURN"
fi
if [ "$AT_RETURN" != "$LATER" ] && [ "$LATER" = a ]; then
	ktap_ok "control: A's data lands after the takeover returned"
else
	ktap_fail "control: A's data lands after the takeover returned" \
		"then '$AT_RETURN', later '$LATER'"
fi
ktap_eq "control: sg_persist -k: only B's key" "0x2c" "$(sg_persist -k "$B" | awk '/^ +0x/ { print $1 }' | xargs)"
lio_expect_conflict "control: A's next SCSI WRITE gets RESERVATION CONFLICT" "$A" 16
fence_write "$PB" 2 b
wait_held none
ktap_eq "control: B's write lands after A's (dm-delay keeps the order)" b "$(block_of 2)"
ktap_check "control: B clears the reservation" "$CTL" fence pr clear "$PB" --token 44

ktap_finish
