#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# SCSI-3 PR fencing against real LIO in the VM: one fileio backstore
# exported through three tcm_loop HBAs, so /dev/sdX of host A, /dev/sdY of
# host B and /dev/sdZ of host C are three initiators of one disk.  Host A
# registers and reserves key T1 through its gnomon-fence device; host C is
# left registered with a stale key (under WRITE EXCLUSIVE - REGISTRANTS
# ONLY it may write); host B takes over with T2 and preempts both; A's and
# C's writes then get RESERVATION CONFLICT even while A's own kernel lease
# still holds (a paused holder), and sg_persist reads back only T2.
# (Negative control, run by hand: a takeover that preempts only the
# previous key, T1, leaves C's write passing.)  Also: SG_IO through
# gnomon-fence never reaches the media, where dm-linear's passthrough does
# (the control that shows the check can fail).
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/fence/fence.sh"
. "$top/selftests/fence/lio.sh"

ktap_plan 16
fence_setup || ktap_skip_all pr "dm_mod or dm-gnomon-fence.ko cannot be loaded"
command -v sg_persist > /dev/null || ktap_skip_all pr "sg3-utils is not installed (tools/vm/install-deps)"
lio_setup 32 || ktap_skip_all pr "LIO (target_core_mod, tcm_loop, target_core_file) is unavailable"
trap 'dmsetup remove_all --force > /dev/null 2>&1; lio_teardown; fence_teardown' EXIT
A=$LIO_DEV_A
B=$LIO_DEV_B
C=$LIO_DEV_C
sz=$(blockdev --getsz "$A")
R=fence_pr_$$
fence_grant $R 11 1h
dmsetup create pa --table "0 $sz gnomon-fence $A $R"
DA=$(fence_dev pa)

# Which reservation commands dm passes to the device without prepare_ioctl
# on this kernel (the rest pr.c sends to the underlying device).
via()
{
	local out
	out=$($CTL fence pr "$@" --json) || { echo failed; return; }
	[ "$(jq -r .via <<< "$out")" = "$2" ] && echo dm || echo lower
}
ktap_diag "through $DA on $(uname -r): register $(via register "$DA" --token 11)," \
	"reserve $(via reserve "$DA" --token 11), release $(via release "$DA" --token 11)," \
	"clear $(via clear "$DA" --token 11)"

ktap_check "A takes over with T1 through gnomon-fence" $CTL fence pr takeover "$DA" --token 11
ktap_eq "sg_persist -k: A's key" "0xb" "$(sg_persist -k "$B" | awk '/^ +0x/ { print $1 }' | xargs)"
ktap_eq "sg_persist -r: A holds WE-RO" "Key=0xb Write Exclusive, registrants only" \
	"$(sg_persist -r "$B" | awk '/Key=/ { k = $1 } /type:/ { sub(/.*type: /, ""); t = $0 } END { print k, t }')"

fence_write "$DA" 1 a
ktap_eq "A's write passes" a "$(fence_read "$B" 1)"
if fence_write "$B" 1 x; then
	ktap_fail "B's write before registering gets a conflict" "dd succeeded"
else
	ktap_ok "B's write before registering gets a conflict"
fi

# C: a third initiator registered with a stale key, 7 (an old holder that
# was never preempted, or a host registered by hand).  Every registrant
# may write under this reservation type.
$CTL fence pr register "$C" --token 7 > /dev/null
fence_write "$C" 2 c
ktap_eq "C, registered with stale key 7, writes too" c "$(fence_read "$B" 2)"

# LIO's PREEMPT AND ABORT through tcm_loop never completes on 6.1 and 6.12
# (the PR OUT command waits in blk_execute_rq): the takeover here preempts
# without the abort.  No command of A is queued, so the outcome is the same.
dmsetup create pb --table "0 $sz gnomon-fence $B $R"
PB=$(fence_dev pb)
out=$($CTL fence pr takeover "$PB" --token 22 --previous 11 --no-abort --json 2>&1)
ktap_eq "B takes over with T2 through gnomon-fence, preempting T1" 0 "$?"
ktap_diag "B's takeover: $out"
ktap_eq "B's takeover preempts T1 and the stale key 7" "7 11" \
	"$(jq -r '.preempted[]' <<< "$out" 2>/dev/null | sort -n | xargs)"
ktap_eq "sg_persist -k: only B's key" "0x16" "$(sg_persist -k "$B" | awk '/^ +0x/ { print $1 }' | xargs)"
ktap_eq "gnomonctl fence pr show: B holds the reservation" "[22] 22" \
	"$($CTL fence pr show "$A" --json | jq -c '[.keys, .reservation.key]' | tr -d '[]' | awk -F, '{ print "[" $1 "] " $2 }')"

# A's kernel lease still holds (a paused holder that did not notice): the
# storage refuses it anyway.
ktap_eq "A's lease still holds" open "$(fence_status pa 3)"
lio_expect_conflict "A's SCSI WRITE gets RESERVATION CONFLICT" "$A" 16
lio_expect_conflict "C's SCSI WRITE gets RESERVATION CONFLICT" "$C" 48
fence_write "$DA" 1 y
fence_write "$B" 1 b
ktap_eq "A's write through gnomon-fence fails, B's lands" b "$(fence_read "$B" 1)"

# Nothing goes around the fence: SG_IO through gnomon-fence is refused.
out=$(head -c 512 /dev/zero | tr '\0' s | sg_raw -s 512 "$PB" 2a 00 00 00 00 01 00 00 01 00 2>&1)
ktap_eq "SG_IO WRITE through gnomon-fence does not reach the media" "" \
	"$(dd if="$B" bs=512 skip=1 count=1 iflag=direct status=none | head -c 1 | tr -d '\0')"
ktap_diag "sg_raw through gnomon-fence: $(tail -n 1 <<< "$out")"
dmsetup create pl --table "0 $sz linear $B 0"
head -c 512 /dev/zero | tr '\0' l | sg_raw -s 512 "$(fence_dev pl)" 2a 00 00 00 00 01 00 00 01 00 > /dev/null 2>&1
ktap_eq "control: SG_IO WRITE through dm-linear does reach the media" l \
	"$(dd if="$B" bs=512 skip=1 count=1 iflag=direct status=none | head -c 1)"

ktap_finish
