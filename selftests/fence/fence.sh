# SPDX-License-Identifier: GPL-2.0
# Helpers for the gnomon-fence tests in the VM: source this after ktap.sh.
#
#	fence_setup          under the VM harness reloads gnomon.ko (a fresh
#	                     clock and no leases, whatever ran before), loads
#	                     dm_mod and dm-gnomon-fence.ko (built beside
#	                     gnomon.ko, or installed), synchronizes the clock
#	fence_teardown       for the test's EXIT trap, after its tables are
#	                     removed: unloads what fence_setup loaded and, under
#	                     the VM harness, reloads gnomon.ko, so that the
#	                     next test in the guest starts from a fresh clock
#	                     and no leases
#	fence_loop MB        a loop device over a file in the guest's /tmp
#	fence_grant R T TTL  grant (or renew with a higher token) lease R
#	fence_status NAME K  field K (1-based) of `dmsetup status` after the
#	                     target name: resource token state passed refused
#	                     lapses parked reads_refused
#	fence_wait_status NAME K V   poll (bounded) until field K is V
#	fence_wait_state R S poll (bounded) until lease R's state is S
CTL=$top/build/bin/gnomonctl
LEASES=/sys/class/misc/gnomon/leases

fence_setup()
{
	local ko
	if [ -n "${GNOMON_VM_MODULE:-}" ] && [ ! -d /sys/module/dm_gnomon_fence ]; then
		rmmod gnomon && insmod "$GNOMON_VM_MODULE" || return 1
	fi
	modprobe dm_mod || return 1
	# Beside the gnomon.ko the VM harness loaded, else an installed one.
	if [ ! -d /sys/module/dm_gnomon_fence ]; then
		ko=$(dirname "${GNOMON_VM_MODULE:-/nonexistent/x}")/dm-gnomon-fence.ko
		if [ -f "$ko" ]; then
			insmod "$ko" || return 1
		else
			modprobe dm-gnomon-fence || return 1
		fi
		FENCE_LOADED=1
	fi
	$CTL discipline --error 1ms --interval 1h --source static > /dev/null
}

fence_teardown()
{
	if [ -n "${FENCE_LOADED:-}" ]; then
		rmmod dm_gnomon_fence || echo "# fence_teardown: dm_gnomon_fence stays loaded" >&2
	fi
	if [ -n "${GNOMON_VM_MODULE:-}" ]; then
		rmmod gnomon && insmod "$GNOMON_VM_MODULE" ||
			echo "# fence_teardown: gnomon.ko was not reloaded" >&2
	fi
}

fence_loop()
{
	local img
	modprobe loop || return 1
	img=$(mktemp /tmp/fence.XXXXXX) || return 1
	truncate -s "$1M" "$img" && losetup -f --show "$img"
}

fence_grant()
{
	$CTL lease grant "$1" --token "$2" --ttl "$3" > /dev/null
}

fence_status()
{
	dmsetup status "$1" | awk -v k="$2" '{ print $(3 + k) }'
}

fence_wait_status()
{
	local i
	for i in $(seq 1 300); do
		[ "$(fence_status "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

fence_wait_state()
{
	local i
	for i in $(seq 1 300); do
		[ "$(cat "$LEASES/$1/state" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# The dm device node of NAME (the guest has no udev: no /dev/mapper links).
fence_dev()
{
	echo "/dev/$(dmsetup info -c --noheadings -o blkdevname "$1")"
}

# dd one 4 KiB block of byte pattern CHAR to DEV at block BLK, O_DIRECT.
fence_write()
{
	local dev=$1 blk=$2 char=$3
	head -c 4096 /dev/zero | tr '\0' "$char" |
		dd of="$dev" bs=4096 seek="$blk" count=1 oflag=direct status=none 2>/dev/null
}

# The first byte of block BLK of DEV, read O_DIRECT.
fence_read()
{
	dd if="$1" bs=4096 skip="$2" count=1 iflag=direct status=none 2>/dev/null | head -c 1
}
