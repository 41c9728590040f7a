#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# gnomon-fenced with SCSI-3 persistent reservations against real LIO in the
# VM: one fileio backstore exported through tcm_loop HBAs
# (selftests/fence/lio.sh), so /dev/sdX and /dev/sdY are hosts A and B of
# one disk, each with its own kernel lease resource and gnomon-fence table,
# and an agent per side with PR, on a 3-member gnomond cluster.
#   - A takes the lock: its token is its registered key and holds the
#     WRITE EXCLUSIVE - REGISTRANTS ONLY reservation (sg_persist reads it
#     back through B's path); A's write lands.
#   - A's agent SIGSTOPped past the TTL: B takes over with a higher token
#     and preempts A's key; only B's key is left.
#   - A's kernel lease re-granted by hand (a paused holder whose kernel
#     still says "held"): its table passes the write, the storage refuses
#     it with RESERVATION CONFLICT, B's write lands.
# The agents preempt without ABORT (--pr-no-abort): LIO's PREEMPT AND ABORT
# through tcm_loop does not complete on 6.1 and 6.12 (Documentation/
# fencing.rst; an agent with it hangs in the ioctl); no command of A is
# queued here, so the outcome is the same.  TTL 2s: the PR commands block
# the agent's loop, which TCG makes slow.
# Negative control: the same with B's agent --no-pr: A's write lands.
# FENCED_PR_FABRIC=iscsi (selftests/fence/fenced_pr_iscsi_test.sh): the
# same on LIO's iSCSI fabric (lio_iscsi_setup over a loop device), where
# PREEMPT AND ABORT completes, with the agents' default pr_abort = on.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/fence/fence.sh"
. "$top/selftests/fence/lio.sh"
. "$top/selftests/gnomond/cluster_lib.sh"
. "$top/selftests/fenced/fenced_lib.sh"

fabric=${FENCED_PR_FABRIC:-tcm_loop}
ktap_plan 14
[ -x "$FD_FENCED" ] && [ -x "$GD_BIN" ] ||
	ktap_skip_all fenced_pr "gnomon-fenced or gnomond is not built"
fence_setup || ktap_skip_all fenced_pr "dm_mod or dm-gnomon-fence.ko cannot be loaded"
command -v sg_persist > /dev/null ||
	ktap_skip_all fenced_pr "sg3-utils is not installed (tools/vm/install-deps)"
cleanup()
{
	if [ -n "$GD_DIR" ]; then
		fd_cleanup
		gd_cluster_cleanup
	fi
	fd_tables_remove
	if [ "$fabric" = iscsi ]; then
		lio_iscsi_teardown
		[ -z "${LOOP:-}" ] || losetup -d "$LOOP"
	else
		lio_teardown
	fi
	fence_teardown
}
trap cleanup EXIT
if [ "$fabric" = iscsi ]; then
	abort=()
	command -v iscsid > /dev/null ||
		ktap_skip_all fenced_pr "open-iscsi is not installed (tools/vm/install-deps)"
	[ -n "${GNOMON_VM_KERNEL:-}" ] ||
		ktap_skip_all fenced_pr "runs only in the test VM (it starts an iscsid of its own)"
	LOOP=$(fence_loop 32) && lio_iscsi_setup "$LOOP" ||
		ktap_skip_all fenced_pr "LIO's iSCSI target or the open-iscsi initiator is unavailable"
else
	abort=(--pr-no-abort)
	lio_setup 32 ||
		ktap_skip_all fenced_pr "LIO (target_core_mod, tcm_loop, target_core_file) is unavailable"
fi
ktap_diag "fabric $fabric, agents ${abort[*]:-with PREEMPT AND ABORT}"
fd_tables "$LIO_DEV_A" "$LIO_DEV_B" ||
	ktap_skip_all fenced_pr "gnomon-fence tables cannot be created"
RA=$FD_RA
RB=$FD_RB
devA=$FD_DEV_A
devB=$FD_DEV_B

gd_cluster_init 3
trap cleanup EXIT	# gd_cluster_init set its own
FD_DIR=$GD_DIR
gd_start_all

agent() { fd_agent_pr "$@" "${abort[@]}" --ttl 2s; }
# The registered keys and the reservation, read through B's path.
keys() { sg_persist -k "$LIO_DEV_B" | awk '/^ +0x/ { print $1 }' | xargs; }
holder() { sg_persist -r "$LIO_DEV_B" | awk '/Key=/ { print $1 }'; }
hex() { printf '0x%x' "$1"; }

# 1. A takes the lock: its token is its key and holds the reservation.
agent A $RA "$devA"
fd_expect_holder "A takes the lock and grants its kernel lease" A
tokA=$(fd_field A token)
ktap_eq "sg_persist -k: A's token is the one key" "$(hex "$tokA")" "$(keys)"
ktap_eq "sg_persist -r: A's key holds the reservation" "Key=$(hex "$tokA")" "$(holder)"
fence_write "$devA" 1 a
ktap_eq "A's write through its gnomon-fence device lands" a "$(fence_read "$LIO_DEV_B" 1)"

# 2. SIGSTOP A's agent past the TTL: B takes over and preempts A's key.
agent B $RB "$devB"
fd_until_grep "asking for lock" "$FD_DIR/B.log"
sleep 2
ktap_eq "B waits for the lock" idle "$(fd_field B state)"
fd_pause_takeover A B "B takes over from the paused A with a higher token" "$tokA"
tokB=$(fd_field B token)
how=" (no abort)"
[ "$fabric" = iscsi ] && how=" and aborted"
if grep -q "PR: $devB reserved with key $tokB, preempted $tokA$how" "$FD_DIR/B.log"; then
	ktap_ok "B's agent preempts A's key $tokA with $tokB$how"
else
	ktap_fail "B's agent preempts A's key $tokA with $tokB$how" "$(fd_diag_logs)"
fi
ktap_eq "sg_persist -k: only B's key is left" "$(hex "$tokB")" "$(keys)"
ktap_eq "sg_persist -r: B's key holds the reservation" "Key=$(hex "$tokB")" "$(holder)"
ktap_diag "B: $(cat "$FD_DIR/B.status")"

# 3. A paused holder whose kernel lease still holds: the storage refuses it.
fence_wait_status fda_$$ 3 fenced
$CTL lease grant $RA --token "$tokA" --holder A --ttl 1h > /dev/null
ktap_eq "A's kernel lease, re-granted by hand, holds" open "$(fence_status fda_$$ 3)"
lio_expect_conflict "A's SCSI WRITE gets RESERVATION CONFLICT" "$LIO_DEV_A" 32
fence_write "$devA" 2 y
fd_wait B kernel granted 10
fence_write "$devB" 2 b
ktap_eq "A's write through its open table fails at the storage, B's lands" b \
	"$(fence_read "$LIO_DEV_B" 2 | tr -d '\0')"
[ "$(fd_field B losses)" = 0 ] || ktap_diag "B lost the lock: $(fd_diag_logs)"
fd_cleanup
FD_PIDS=()
$CTL lease release $RA --token "$tokA" --holder A > /dev/null

# 4. Negative control: B's agent without PR; A's write lands.
mkdir -p "$GD_DIR/ctl"
FD_DIR=$GD_DIR/ctl
agent A $RA "$devA"
fd_holds A
tokA=$(fd_field A token)
fd_agent B $RB --ttl 2s
sleep 2
fd_pause_takeover A B "control: B --no-pr takes over from the paused A"
fence_wait_status fda_$$ 3 fenced
$CTL lease grant $RA --token "$tokA" --holder A --ttl 1h > /dev/null
fence_write "$devA" 3 z
ktap_eq "negative control: B's agent --no-pr, A's write lands" z \
	"$(fence_read "$LIO_DEV_B" 3 | tr -d '\0')"
ktap_diag "control: keys $(keys), reservation $(holder), A's token $tokA"
ktap_finish
