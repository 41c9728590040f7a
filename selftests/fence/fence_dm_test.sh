#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The gnomon-fence target over a loop device, against gnomon.ko's real
# leases: bad tables, writes passing / refused after the lapse / passing
# after a renewal with a higher token (checked on the media itself), the
# status line, the engaged fence, empty flushes, fenced reads, parking (a
# re-grant of the same token completes a parked write; a higher token, a
# new tenure, fails one at once; the deadline fails one; a forced removal
# fails one at once), and the table reproduced.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/fence/fence.sh"

ktap_plan 26
fence_setup || ktap_skip_all fence "dm_mod or dm-gnomon-fence.ko cannot be loaded"
loop=$(fence_loop 16) || ktap_skip_all fence "no loop device"
sz=$(blockdev --getsz "$loop")
R=fence_dm_$$
fence_grant $R 5 1h
trap 'dmsetup remove_all --force > /dev/null 2>&1; losetup -d "$loop"; fence_teardown' EXIT

# Bad tables: each refused, with its reason in the kernel log, never a WARN.
bad_table()
{
	local name=$1 table=$2 reason=$3 err
	err=$(dmsetup create "bad_$name" --table "$table" 2>&1)
	if [ $? -ne 0 ] && dmesg | grep -q "gnomon-fence: $reason"; then
		ktap_ok "bad table refused: $name"
	else
		ktap_fail "bad table refused: $name" "$err; $(dmesg | tail -n 2)"
	fi
	dmsetup remove "bad_$name" > /dev/null 2>&1
}
bad_table "no resource" "0 $sz gnomon-fence $loop" "Needs <device> <resource>"
bad_table "missing resource" "0 $sz gnomon-fence $loop nosuch_$$" "No such lease resource"
bad_table "invalid name" "0 $sz gnomon-fence $loop bad/name" "Invalid lease resource name"
bad_table "park_ms without value" "0 $sz gnomon-fence $loop $R 1 park_ms" "park_ms needs a value"
bad_table "park_ms 0" "0 $sz gnomon-fence $loop $R 2 park_ms 0" "park_ms needs a value"
bad_table "unknown option" "0 $sz gnomon-fence $loop $R 1 bogus" "Unknown optional argument"
bad_table "larger than the device" "0 $((sz + 8)) gnomon-fence $loop $R" "The device is smaller"
bad_table "no such device" "0 $sz gnomon-fence /dev/nonexistent $R" "Cannot open the device"

table="0 $sz gnomon-fence $((16#$(stat -c %t "$loop"))):$((16#$(stat -c %T "$loop"))) $R"
dmsetup create fa --table "0 $sz gnomon-fence $loop $R"
ktap_eq "the table is reproduced" "$table" "$(dmsetup table fa)"
D=$(fence_dev fa)

fence_write "$D" 1 a
ktap_eq "a write passes while the lease holds" a "$(fence_read "$loop" 1)"

$CTL lease renew $R --ttl 1s > /dev/null
fence_wait_state $R expired
if fence_write "$D" 1 b; then
	ktap_fail "a write after the lapse fails" "dd succeeded"
else
	ktap_ok "a write after the lapse fails"
fi
ktap_eq "the refused write did not reach the media" a "$(fence_read "$loop" 1)"
ktap_eq "status: fenced" fenced "$(fence_status fa 3)"

fence_grant $R 6 1h
fence_write "$D" 1 c
ktap_eq "a write passes after a renewal with a higher token" c "$(fence_read "$loop" 1)"
ktap_eq "status: resource token state passed refused lapses" \
	"$R 6 open 2 1 1" "$(dmsetup status fa | cut -d' ' -f4-9)"
ktap_eq "the refused write engaged the fence once" 1 "$(cat $LEASES/$R/fences)"

$CTL lease release $R --token 6 > /dev/null
if python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_WRONLY); os.fsync(fd)' "$D"; then
	ktap_ok "an empty flush passes while fenced"
else
	ktap_fail "an empty flush passes while fenced" "fsync failed"
fi
ktap_eq "a read passes while fenced (no fence_reads)" c "$(fence_read "$D" 1)"
dmsetup remove fa

# fence_reads
dmsetup create fr --table "0 $sz gnomon-fence $loop $R 1 fence_reads"
if dd if="$(fence_dev fr)" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; then
	ktap_fail "fence_reads: a read fails while fenced" "read succeeded"
else
	ktap_ok "fence_reads: a read fails while fenced"
fi
dmsetup remove fr

# Parking: a re-grant of the token it was parked under completes the write.
dmsetup create fp --table "0 $sz gnomon-fence $loop $R 2 park_ms 600000"
P=$(fence_dev fp)
fence_write "$P" 2 d &
writer=$!
if fence_wait_status fp 7 1; then
	ktap_ok "a write is parked while fenced"
else
	ktap_fail "a write is parked while fenced" "$(dmsetup status fp)"
fi
fence_grant $R 6 1h
wait $writer
rc=$?
ktap_eq "a re-grant of the same token completes the parked write (exit, media)" \
	"0 d" "$rc $(fence_read "$loop" 2)"

# A higher token is a new tenure: another host may have written since, so
# the write parked under the old token fails at once, and never lands.
$CTL lease release $R --token 6 > /dev/null
fence_write "$P" 2 x &
writer=$!
fence_wait_status fp 7 1
refused=$(fence_status fp 5)
fence_grant $R 7 1h
wait $writer
rc=$?
ktap_eq "a higher token fails the parked write (exit, media)" "1 d" "$rc $(fence_read "$loop" 2)"
ktap_eq "the takeover's refusal is counted, nothing left parked" \
	"$((refused + 1)) 0" "$(fence_status fp 5) $(fence_status fp 7)"

# A forced removal fails a parked write at once, long before its deadline.
$CTL lease release $R --token 7 > /dev/null
fence_write "$P" 2 e &
writer=$!
fence_wait_status fp 7 1
dmsetup remove --force fp > /dev/null 2>&1
for i in $(seq 1 300); do kill -0 $writer 2> /dev/null || break; sleep 0.1; done
if kill -0 $writer 2> /dev/null; then
	ktap_fail "removing the table fails the parked write" "the writer still waits"
	kill $writer
else
	wait $writer
	ktap_eq "removing the table fails the parked write (exit, media)" "1 d" "$? $(fence_read "$loop" 2)"
fi
dmsetup remove fp > /dev/null 2>&1

# The deadline fails a parked write.
dmsetup create fd --table "0 $sz gnomon-fence $loop $R 2 park_ms 1000"
fence_write "$(fence_dev fd)" 2 f
rc=$?
ktap_eq "the deadline fails the parked write (exit, media, parked)" "1 d 0" \
	"$rc $(fence_read "$loop" 2) $(fence_status fd 7)"
ktap_eq "the deadline's refusal is counted" 1 "$(fence_status fd 5)"
dmsetup remove fd

ktap_finish
