# SPDX-License-Identifier: GPL-2.0
# LIO inside the test VM, as three SCSI hosts sharing one disk: source this.
#
#	lio_setup SIZE_MB     fileio backstore in the guest's /tmp, exported
#	                      through three tcm_loop HBAs; sets LIO_DEV_A,
#	                      LIO_DEV_B and LIO_DEV_C (/dev/sdX, one per
#	                      initiator; C stands for a third host, e.g. one
#	                      left registered with a stale key)
#	lio_scsi_write DEV LBA  one SCSI WRITE(10) of a block, straight to DEV
#	                      (no dm); prints sg_raw's output
#	lio_expect_conflict DESC DEV LBA  a KTAP line DESC: ok when that write
#	                      gets RESERVATION CONFLICT
#	lio_teardown          removes it all again
#
# The guest has no udev and no targetcli: configfs is driven by hand, the
# SCSI hosts are scanned by writing "- - -", device nodes come from devtmpfs.
LIO_CFS=/sys/kernel/config/target
LIO_BACKSTORE=$LIO_CFS/core/fileio_0/gnomon_disk
LIO_WWNS="naa.50014050000000a1 naa.50014050000000b2 naa.50014050000000c3"
LIO_IMG=/tmp/gnomon-lio.img
LIO_DBROOT=/tmp/gnomon-lio-db

lio_setup()
{
	local size_mb=$1 wwn i=0 tpg d sds

	modprobe configfs || return 1
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config || return 1
	modprobe target_core_mod && modprobe target_core_file && modprobe tcm_loop || return 1
	modprobe sd_mod && modprobe sg || return 1
	# sd registers with APTPL set, so LIO must be able to keep its PR
	# state file: in the guest's /tmp, never on the host's /var/target.
	# dbroot can change only while no backstore exists.
	mkdir -p "$LIO_DBROOT/pr" || return 1
	echo "$LIO_DBROOT" > "$LIO_CFS/dbroot" || return 1
	truncate -s "${size_mb}M" "$LIO_IMG" || return 1
	mkdir -p "$LIO_BACKSTORE" || return 1
	echo "fd_dev_name=$LIO_IMG,fd_dev_size=$((size_mb << 20))" > "$LIO_BACKSTORE/control" || return 1
	echo 1 > "$LIO_BACKSTORE/enable" || return 1
	for wwn in $LIO_WWNS; do
		tpg=$LIO_CFS/loopback/$wwn/tpgt_1
		mkdir -p "$tpg/lun/lun_0" || return 1
		ln -s "$LIO_BACKSTORE" "$tpg/lun/lun_0/gnomon_disk" || return 1
		echo "naa.5001405fffff00$((i++))0" > "$tpg/nexus" || return 1
	done
	for d in /sys/class/scsi_host/host*/scan; do
		echo "- - -" > "$d" 2>/dev/null
	done
	# One sd per initiator, in the order of the HBAs.
	sds=()
	for wwn in $LIO_WWNS; do
		for i in $(seq 1 50); do
			d=$(lio_disk_of "$wwn")
			[ -n "$d" ] && [ -b "/dev/$d" ] && break
			sleep 0.2
		done
		[ -n "$d" ] || return 1
		sds+=("/dev/$d")
	done
	LIO_DEV_A=${sds[0]}
	LIO_DEV_B=${sds[1]}
	LIO_DEV_C=${sds[2]}
}

# The first command after a preemption reports a UNIT ATTENTION: again.
lio_scsi_write()
{
	local i out lba
	lba=$(printf '%08x' "$2" | sed 's/../& /g')
	for i in 1 2 3; do
		# shellcheck disable=SC2086 # the LBA is four bytes
		out=$(head -c 512 /dev/zero |
			sg_raw -s 512 "$1" 2a 00 $lba 00 00 01 00 2>&1)
		grep -qi "unit attention" <<< "$out" || break
	done
	echo "$out"
}

lio_expect_conflict()
{
	local out
	out=$(lio_scsi_write "$2" "$3")
	if grep -qi "reservation conflict" <<< "$out"; then
		ktap_ok "$1"
	else
		ktap_fail "$1" "$out"
	fi
}

# The sd disk behind tcm_loop target WWN: the tpg's "address" attribute
# names its SCSI host (H:C:T), the disk is that host's LUN 0.
lio_disk_of()
{
	local addr blk
	addr=$(cat "$LIO_CFS/loopback/$1/tpgt_1/address" 2>/dev/null) || return
	for blk in /sys/class/scsi_disk/"$addr":0/device/block/*; do
		[ -e "$blk" ] && basename "$blk"
	done
}

lio_teardown()
{
	local wwn tpg
	for wwn in $LIO_WWNS; do
		tpg=$LIO_CFS/loopback/$wwn/tpgt_1
		[ -d "$tpg" ] || continue
		for d in /sys/block/sd*; do
			[ -e "$d/device/delete" ] && echo 1 > "$d/device/delete"
		done
		echo NULL > "$tpg/nexus" 2>/dev/null
		rm -f "$tpg/lun/lun_0/gnomon_disk"
		rmdir "$tpg/lun/lun_0" "$tpg" "$LIO_CFS/loopback/$wwn" 2>/dev/null
	done
	rmdir "$LIO_BACKSTORE" "$LIO_CFS/core/fileio_0" 2>/dev/null
	rm -rf "$LIO_IMG" "$LIO_DBROOT"
}
