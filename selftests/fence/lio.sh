# SPDX-License-Identifier: GPL-2.0
# LIO inside the test VM, as three SCSI hosts sharing one disk (tcm_loop),
# or as two iSCSI initiators of one LUN (lio_iscsi_*, below): source this.
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
		d=$(lio_wait_disk lio_disk_of "$wwn") || return 1
		sds+=("$d")
	done
	LIO_DEV_A=${sds[0]}
	LIO_DEV_B=${sds[1]}
	LIO_DEV_C=${sds[2]}
}

# Poll (bounded) until FUNC ARG names a disk; print its /dev node.
lio_wait_disk()
{
	local i d
	for i in $(seq 1 50); do
		d=$("$1" "$2")
		if [ -n "$d" ] && [ -b "/dev/$d" ]; then
			echo "/dev/$d"
			return 0
		fi
		sleep 0.2
	done
	return 1
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

# LIO's iSCSI fabric, inside the guest only: a target on 127.0.0.1:3260
# exporting one iblock backstore, and the kernel's open-iscsi initiator
# logged in twice under two initiator names (two ifaces), so that two sd
# disks are two I_T nexuses of one LUN.  PREEMPT AND ABORT completes here,
# where through tcm_loop it never does.
#
#	lio_iscsi_setup BLOCKDEV  sets LIO_DEV_A and LIO_DEV_B (/dev/sdX)
#	lio_iscsi_teardown        logs out, stops iscsid, removes the target
#
# iscsid and iscsiadm keep their state in /etc/iscsi and /run: the guest
# sees the host's root over 9p, so a tmpfs goes over /etc/iscsi first
# (/run is the guest's own tmpfs).  Never outside the VM harness.
LIO_ISCSI_IQN=iqn.2026-12.org.gnomon:disk
LIO_ISCSI_TPG=$LIO_CFS/iscsi/$LIO_ISCSI_IQN/tpgt_1
LIO_ISCSI_BACKSTORE=$LIO_CFS/core/iblock_0/gnomon_iscsi
LIO_ISCSI_PORTAL=127.0.0.1:3260
LIO_ISCSI_IFACES="gnomon-a gnomon-b"

lio_iscsi_setup()
{
	local dev=$1 iface d sds

	[ -n "${GNOMON_VM_KERNEL:-}" ] || return 1
	command -v iscsid > /dev/null && command -v iscsiadm > /dev/null || return 1
	modprobe configfs || return 1
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config || return 1
	modprobe target_core_mod && modprobe target_core_iblock && modprobe iscsi_target_mod || return 1
	modprobe sd_mod && modprobe sg && modprobe iscsi_tcp || return 1
	# sd's REGISTER sets APTPL: LIO's PR state file goes to the guest's /tmp.
	mkdir -p "$LIO_DBROOT/pr" || return 1
	echo "$LIO_DBROOT" > "$LIO_CFS/dbroot" || return 1
	mkdir -p "$LIO_ISCSI_BACKSTORE" || return 1
	echo "udev_path=$dev" > "$LIO_ISCSI_BACKSTORE/control" || return 1
	echo 1 > "$LIO_ISCSI_BACKSTORE/enable" || return 1
	mkdir -p "$LIO_ISCSI_TPG/lun/lun_0" || return 1
	ln -s "$LIO_ISCSI_BACKSTORE" "$LIO_ISCSI_TPG/lun/lun_0/gnomon_iscsi" || return 1
	mkdir "$LIO_ISCSI_TPG/np/$LIO_ISCSI_PORTAL" || return 1
	# Any initiator name logs in (an ACL of its own is made for each).
	echo 1 > "$LIO_ISCSI_TPG/attrib/generate_node_acls" &&
		echo 0 > "$LIO_ISCSI_TPG/attrib/demo_mode_write_protect" &&
		echo 0 > "$LIO_ISCSI_TPG/attrib/authentication" &&
		echo 1 > "$LIO_ISCSI_TPG/enable" || return 1

	mountpoint -q /etc/iscsi || mount -t tmpfs -o mode=0700 tmpfs /etc/iscsi || return 1
	# No NOP-Outs: nothing but the test's own commands on the wire.
	cat > /etc/iscsi/iscsid.conf <<-CONF || return 1
	node.startup = manual
	node.session.scan = auto
	node.session.initial_login_retry_max = 2
	node.session.timeo.replacement_timeout = 10
	node.session.err_timeo.abort_timeout = 10
	node.session.err_timeo.lu_reset_timeout = 10
	node.session.err_timeo.tgt_reset_timeout = 10
	node.conn[0].timeo.login_timeout = 5
	node.conn[0].timeo.logout_timeout = 5
	node.conn[0].timeo.noop_out_interval = 0
	node.conn[0].timeo.noop_out_timeout = 0
	CONF
	echo "InitiatorName=iqn.2026-12.org.gnomon:guest" > /etc/iscsi/initiatorname.iscsi || return 1
	mkdir -p /run/lock/iscsi || return 1
	iscsid -c /etc/iscsi/iscsid.conf -i /etc/iscsi/initiatorname.iscsi || return 1
	for iface in $LIO_ISCSI_IFACES; do
		timeout 20 iscsiadm -m iface -I "$iface" -o new > /dev/null &&
			timeout 20 iscsiadm -m iface -I "$iface" -o update \
				-n iface.initiatorname -v "iqn.2026-12.org.gnomon:$iface" > /dev/null || return 1
	done
	timeout 30 iscsiadm -m discovery -t st -p "$LIO_ISCSI_PORTAL" \
		-I gnomon-a -I gnomon-b > /dev/null || return 1
	sds=()
	for iface in $LIO_ISCSI_IFACES; do
		timeout 30 iscsiadm -m node -T "$LIO_ISCSI_IQN" -p "$LIO_ISCSI_PORTAL" \
			-I "$iface" --login > /dev/null || return 1
		d=$(lio_wait_disk lio_iscsi_disk_of "$iface") || return 1
		sds+=("$d")
	done
	LIO_DEV_A=${sds[0]}
	LIO_DEV_B=${sds[1]}
}

# The sd disk of the session logged in through IFACE: its session's
# initiator name, then the disk under that session's SCSI host.
lio_iscsi_disk_of()
{
	local s blk
	for s in /sys/class/iscsi_session/session*; do
		[ "$(cat "$s/initiatorname" 2>/dev/null)" = "iqn.2026-12.org.gnomon:$1" ] || continue
		for blk in "$s"/device/target*/*/block/*; do
			[ -e "$blk" ] && basename "$blk"
		done
	done
}

lio_iscsi_teardown()
{
	local iface a l
	if [ -f /run/iscsid.pid ]; then
		for iface in $LIO_ISCSI_IFACES; do
			timeout 30 iscsiadm -m node -T "$LIO_ISCSI_IQN" -p "$LIO_ISCSI_PORTAL" \
				-I "$iface" --logout > /dev/null 2>&1
		done
		timeout 20 iscsiadm -k 0 > /dev/null 2>&1 ||
			kill "$(cat /run/iscsid.pid)" 2> /dev/null
	fi
	mountpoint -q /etc/iscsi && umount /etc/iscsi
	[ -d "$LIO_ISCSI_TPG" ] || return 0
	echo 0 > "$LIO_ISCSI_TPG/enable" 2>/dev/null
	rmdir "$LIO_ISCSI_TPG/np/$LIO_ISCSI_PORTAL" 2>/dev/null
	for a in "$LIO_ISCSI_TPG"/acls/*; do
		[ -d "$a" ] || continue
		for l in "$a"/lun_*; do
			[ -d "$l" ] && rm -f "$l"/* && rmdir "$l"
		done
		rmdir "$a"
	done
	rm -f "$LIO_ISCSI_TPG/lun/lun_0/gnomon_iscsi"
	rmdir "$LIO_ISCSI_TPG/lun/lun_0" "$LIO_ISCSI_TPG" "$LIO_CFS/iscsi/$LIO_ISCSI_IQN" 2>/dev/null
	rmdir "$LIO_ISCSI_BACKSTORE" "$LIO_CFS/core/iblock_0" 2>/dev/null
	rm -rf "$LIO_DBROOT"
}
