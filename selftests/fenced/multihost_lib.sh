# SPDX-License-Identifier: GPL-2.0
# The multi-host fencing rig, shared by selftests/fenced/multihost_test.sh
# and tools/bench/fence-takeover.sh; source it (it sources cluster_lib.sh).
#
# Two VMs ("hosts" A and B, Debian kernels under TCG, each its own: by
# default 6.1 for both) share one LUN: tgtd (Debian's tgt, a userspace
# iSCSI target with SCSI-3 persistent reservations) serves a raw disk file
# on the hub's address, and each VM's QEMU logs in with its own initiator
# name and passes the LUN through whole (tools/vm/run --iscsi), so the
# guests' reservation commands reach tgtd and a frozen guest's queued
# writes meet the reservation when they arrive.
# A network namespace (cluster_lib.sh's hub) holds a bridge, a tap per VM,
# tgtd and, each in its own namespace behind the bridge, a 3-member gnomond
# cluster: members 198.19.77.1-3, A .11, B .12, the hub .254.  No other
# network, never user-mode networking; the storage path (QEMU to tgtd) does
# not cross the bridge, so a cut host still reaches its storage, as with a
# separate storage network.  Each VM runs multihost_guest.sh: gnomon.ko,
# dm-gnomon-fence over the LUN, gnomon-fenced and a fence-record
# application.
#
#	mh_missing                  why this host cannot run the rig, or nothing
#	mh_setup DISK_MB            cluster, taps, clock server, disk; boots both
#	                            VMs in parallel and waits for them (a boot
#	                            that dies in the kernel is retried: listed
#	                            in MH_BOOT_RETRIES)
#	mh_cmd NAME LINE            a command to NAME's guest (multihost_guest.sh),
#	                            waiting until it is done
#	mh_field NAME KEY           a key of NAME's agent status line
#	mh_wait_field NAME KEY V S  poll (S seconds) until KEY is V
#	mh_start LOCK fence|raw     agents on LOCK, A first (it holds), and the
#	                            applications; waits for A's first write.
#	                            fence: agents with reservations, writers
#	                            through the tables; raw (the negative
#	                            control): neither
#	mh_takeover KIND            one fault of KIND (pause: SIGSTOP of the
#	                            holder's whole qemu; cut: its link dropped at
#	                            the bridge; kill: SIGKILL of its agent;
#	                            step: its CLOCK_REALTIME stepped back by
#	                            MH_STEP_S from inside the guest) to the
#	                            holder, held until the other host has
#	                            written; then undone (the step: the clock
#	                            set and disciplined again) and the old
#	                            holder queued again.  Then the old holder
#	                            writes one late record past its table (a
#	                            write its path held) and MH_LATE says what
#	                            the storage did with it: "ack" or
#	                            "refused".  Sets MH_MS (holder loss to
#	                            the new holder's first acknowledged write),
#	                            MH_OLD, MH_NEW, MH_OLD_TOKEN; MH_ERR on failure
#	mh_stop_apps                stop both applications and agents
#	mh_hangs                    what a guest found hanging when it stopped
#	                            them (nothing if none)
#	mh_pr_clear                 A clears the LUN's reservation and every
#	                            registration (agents stopped: for a raw run
#	                            after a fence run)
#	mh_check                    fence-record check of the disk file
#	mh_wipe                     zero the disk (applications stopped)
#	mh_quit                     stop both guests; 0 if both VM runs passed
#	                            (their kernel logs clean)
#	mh_cleanup                  everything down (an EXIT trap)
# MH_KERNEL_A and MH_KERNEL_B (the hosts' kernels, each by default
# MH_KERNEL, default 6.1), MH_TTL_MS (the agents' TTL, default 2000, twice
# the agent's own default: two TCG guests on a loaded 2-core host miss
# keepalives at 1 s; the margin is a tenth), MH_STEP_S (default 5: more
# than the clock's claimed error and the TTL, backwards, the direction that
# would make a lease seem to hold longer), MH_DIR (the run's files, under
# build/; MH_KEEP=1 keeps them).
MH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$MH_TOP/selftests/gnomond/cluster_lib.sh"
MH_KERNEL=${MH_KERNEL:-6.1}
declare -A MH_KERNELS=([A]=${MH_KERNEL_A:-$MH_KERNEL} [B]=${MH_KERNEL_B:-$MH_KERNEL}) MH_MODULES
MH_STEP_S=${MH_STEP_S:-5}
MH_RECORD=$MH_TOP/build/tests/fence/fence-record
MH_GUEST=$MH_TOP/selftests/fenced/multihost_guest.sh
MH_CLOCK=$MH_TOP/selftests/fenced/multihost_clock.py
MH_CLOCK_PORT=12399
MH_IQN=iqn.2026-12.org.gnomon
MH_TGT_PID=
MH_TGT_CTL=
MH_VM_LIMIT=${MH_VM_LIMIT:-900}
MH_TTL_MS=${MH_TTL_MS:-2000}
declare -A MH_ADDR=([A]=198.19.77.11 [B]=198.19.77.12) MH_RUN MH_NCMD
MH_DIR=
MH_DISK=
MH_CLOCK_PID=
MH_ERR=
MH_LOCK=
MH_BOOT_RETRIES=

mh_missing()
{
	local why k
	why=$(cl_missing)
	[ -n "$why" ] && { echo "$why"; return; }
	[ "$CL_IMPL" = gnomond ] || { echo "gnomond is not built"; return; }
	[ -x "$MH_RECORD" ] && [ -x "$MH_TOP/build/bin/gnomon-fenced" ] ||
		{ echo "fence-record or gnomon-fenced is not built"; return; }
	command -v qemu-system-x86_64 > /dev/null || { echo "qemu is not installed"; return; }
	[ -c /dev/net/tun ] || { echo "no /dev/net/tun"; return; }
	command -v tgtd > /dev/null && command -v tgtadm > /dev/null ||
		{ echo "tgt (the iSCSI target) is not installed (make deps)"; return; }
	ls /usr/lib/*/qemu/block-iscsi.so > /dev/null 2>&1 ||
		{ echo "QEMU's iSCSI initiator (qemu-block-extra) is not installed (make deps)"; return; }
	for k in $(mh_kernels); do
		"$MH_TOP/tools/vm/kernel-fetch" --root "$k" > /dev/null 2>&1 ||
			{ echo "kernel $k is not fetched (make deps)"; return; }
	done
}

mh_hub_addr() { echo 198.19.77.254; }

# The kernel series the two hosts run, each once.
mh_kernels() { printf '%s\n' "${MH_KERNELS[@]}" | sort -u; }

# Boot NAME's VM in the background (inside the hub namespace, on its tap
# mhNAME).
mh_boot()
{
	local name=$1
	: > "$MH_DIR/$name.cmd"
	MH_NCMD[$name]=0
	cl_hub "$MH_TOP/tools/vm/run" \
		--kernel "${MH_KERNELS[$name]}" --module "${MH_MODULES[${MH_KERNELS[$name]}]}" \
		--timeout "$MH_VM_LIMIT" \
		--tap "mh$name" --pidfile "$MH_DIR/$name.qemu" \
		--iscsi "iscsi://$(mh_hub_addr)/$MH_IQN:disk/1" \
		--initiator "$MH_IQN:host-${name,,}" \
		-- "$MH_GUEST" "$name" "${MH_ADDR[$name]}" "$MH_DIR" "$MH_CLOCK_PORT" "$MH_TTL_MS" \
		> "$MH_DIR/$name.vm" 2>&1 &
	MH_RUN[$name]=$!
}

# Wait for NAME's guest to be set up.  A kernel that dies while booting,
# before the guest script starts (TCG on a loaded host can fail the boot's
# IO-APIC timer check), is booted again, twice at most.
mh_wait_ready()
{
	local n=$1 tries=0 i
	for i in $(seq $(( MH_VM_LIMIT * 5 ))); do
		[ -s "$MH_DIR/$n.ready" ] && break
		if ! kill -0 "${MH_RUN[$n]}" 2>/dev/null; then
			wait "${MH_RUN[$n]}" 2>/dev/null
			[ ! -e "$MH_DIR/$n.log" ] && [ $tries -lt 2 ] || break
			tries=$((tries + 1))
			MH_BOOT_RETRIES="$MH_BOOT_RETRIES $n: $(grep -m1 -o 'Kernel panic.*' "$MH_DIR/$n.vm" | cut -c1-80)"
			mh_boot "$n"
		fi
		sleep 0.2
	done
	[ "$(cut -d' ' -f1 "$MH_DIR/$n.ready" 2>/dev/null)" = ok ] && return 0
	MH_ERR="VM $n: $(cat "$MH_DIR/$n.ready" 2>/dev/null) $(tail -n 5 "$MH_DIR/$n.log" "$MH_DIR/$n.vm" 2>/dev/null | tr '\n' ' ')"
	return 1
}

# tgtd in the hub, serving MH_DISK as LUN 1 of target MH_IQN:disk on the
# hub's address, with its own control socket (-C), so that other tgtd
# instances on this host are left alone.
mh_tgt()
{
	local i
	MH_TGT_CTL=$(( 100 + $$ % 30000 ))
	ip netns exec "$CL_NS-hub" tgtd -f -C "$MH_TGT_CTL" \
		--iscsi "portal=$(mh_hub_addr):3260" > "$MH_DIR/tgtd.log" 2>&1 &
	MH_TGT_PID=$!
	for i in $(seq 50); do
		tgtadm -C "$MH_TGT_CTL" --lld iscsi --op show --mode sys > /dev/null 2>&1 && break
		sleep 0.1
	done
	tgtadm -C "$MH_TGT_CTL" --lld iscsi --op new --mode target --tid 1 -T "$MH_IQN:disk" &&
		tgtadm -C "$MH_TGT_CTL" --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 \
			-b "$MH_DISK" &&
		tgtadm -C "$MH_TGT_CTL" --lld iscsi --op bind --mode target --tid 1 -I ALL
}

mh_setup()
{
	local i n k
	MH_DIR=$(mktemp -d "$MH_TOP/build/multihost.XXXXXX") || return 1
	MH_DISK=$MH_DIR/disk.raw
	truncate -s "${1}M" "$MH_DISK" || return 1
	trap mh_cleanup EXIT
	for k in $(mh_kernels); do
		MH_MODULES[$k]=$("$MH_TOP/tools/vm/build-module" "$k" 2> "$MH_DIR/build-module.log") ||
			{ MH_ERR="build-module $k failed: $(tail -n 3 "$MH_DIR/build-module.log")"; return 1; }
		# Once, before the two boots: two runs rebuilding it at once clash.
		"$MH_TOP/tools/vm/make-initramfs" "$k" > /dev/null ||
			{ MH_ERR="make-initramfs $k failed"; return 1; }
	done
	cl_init 3 || { MH_ERR="network namespaces"; return 1; }
	trap mh_cleanup EXIT
	for i in 1 2 3; do
		cl_clock "$i" 1000000 || { MH_ERR="gnomon-syncd for member $i"; return 1; }
		cl_start "$i"
	done
	# Not through cl_hub: a backgrounded function is a subshell, and
	# killing it would leave the server running.  ip netns exec execs.
	ip netns exec "$CL_NS-hub" /usr/bin/python3 "$MH_CLOCK" serve "$(mh_hub_addr)" \
		"$MH_CLOCK_PORT" > "$MH_DIR/clock.log" 2>&1 &
	MH_CLOCK_PID=$!
	mh_tgt > "$MH_DIR/tgtadm.log" 2>&1 ||
		{ MH_ERR="tgtd: $(tail -n 3 "$MH_DIR/tgtd.log" "$MH_DIR/tgtadm.log" | tr '\n' ' ')"; return 1; }
	for n in A B; do
		cl_hub ip tuntap add dev "mh$n" mode tap &&
			cl_hub ip link set "mh$n" master br0 up || { MH_ERR="taps"; return 1; }
		mh_boot "$n"
	done
	cl_leader 30 > /dev/null || { MH_ERR="no gnomond leader"; return 1; }
	mh_wait_ready A && mh_wait_ready B
}

mh_cmd()
{
	local name=$1 i
	echo "$2" >> "$MH_DIR/$name.cmd"
	MH_NCMD[$name]=$(( ${MH_NCMD[$name]} + 1 ))
	for i in $(seq 300); do
		[ "$(tail -n 1 "$MH_DIR/$name.ack" 2>/dev/null)" = "${MH_NCMD[$name]}" ] && return 0
		sleep 0.1
	done
	MH_ERR="guest $name did not run '$2'"
	return 1
}

mh_field()
{
	tr ' ' '\n' 2>/dev/null < "$MH_DIR/$1.status" | sed -n "s/^$2=//p"
}

mh_wait_field()
{
	local i
	for i in $(seq $(( $4 * 10 ))); do
		[ "$(mh_field "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# "TIME TOKEN" of NAME's first acknowledged write with a token above
# ABOVE (TIME: the guest's clock, seconds), waiting up to SECS; nothing if
# none.  Any token above: under load a new holder may lose its first
# session and take the lock again with a higher token before it writes.
mh_first_ack()
{
	local i r
	for i in $(seq $(( $3 * 10 ))); do
		r=$(awk -v n="$1" -v above="$2" '$2 == "ack" && $3 == n && $4 > above { print $1, $4; exit }' \
			"$MH_DIR/$1.acks" 2>/dev/null)
		[ -n "$r" ] && { echo "$r"; return 0; }
		sleep 0.1
	done
	return 1
}

# The guest time at which NAME's application saw TOKEN hold (fence: its
# kernel lease; raw: its agent's status).
mh_app_start()
{
	awk -v n="$1" -v tok="$2" '($2 == "start" || $2 == "open") && $3 == n && $4 == tok { print $1; exit }' \
		"$MH_DIR/$1.acks"
}

mh_start()
{
	local mode=$2
	MH_LOCK=$1 MH_MODE=$2
	# The applications first: a fence one waits for a token above the
	# kernel lease's at its start.
	mh_cmd A "app $mode" && mh_cmd B "app $mode" || return 1
	mh_cmd A "agent $MH_LOCK $mode" || return 1
	mh_wait_field A state holding 30 ||
		{ MH_ERR="A does not take the lock: $(tail -n 3 "$MH_DIR/A.log" | tr '\n' ' ')"; return 1; }
	mh_cmd B "agent $MH_LOCK $mode" || return 1
	mh_first_ack A 0 20 > /dev/null ||
		{ MH_ERR="A does not write: $(tail -n 3 "$MH_DIR/A.acks" | tr '\n' ' ')"; return 1; }
}

# The holder: the host whose agent says holding with the higher token.
mh_holder()
{
	local a b
	[ "$(mh_field A state)" = holding ] && a=$(mh_field A token)
	[ "$(mh_field B state)" = holding ] && b=$(mh_field B token)
	if [ -n "${a:-}" ] && [ "${a:-0}" -gt "${b:-0}" ]; then
		echo A
	elif [ -n "${b:-}" ]; then
		echo B
	fi
}

# Drop every frame to and from NAME's address at the bridge.
mh_cut()
{
	cl_hub nft add rule bridge gncl forward_filter ip saddr "${MH_ADDR[$1]}" drop &&
		cl_hub nft add rule bridge gncl forward_filter ip daddr "${MH_ADDR[$1]}" drop
}

mh_takeover()
{
	local kind=$1 h o qpid t0 t1 t2 r
	MH_ERR=
	for _ in $(seq 200); do
		h=$(mh_holder)
		[ -n "$h" ] && break
		sleep 0.1
	done
	[ -n "$h" ] || { MH_ERR="no holder for 20 s"; return 1; }
	[ "$h" = A ] && o=B || o=A
	MH_OLD=$h MH_NEW=$o MH_OLD_TOKEN=$(mh_field "$h" token)
	mh_wait_field "$o" state idle 20 || { MH_ERR="$o is not queued"; return 1; }
	qpid=$(cat "$MH_DIR/$h.qemu")
	case $kind in
	pause)
		t0=$EPOCHREALTIME
		kill -STOP "$qpid" ;;
	cut)
		t0=$EPOCHREALTIME
		mh_cut "$h" ;;
	kill)
		mh_cmd "$h" kill-agent || return 1
		t0=$(cat "$MH_DIR/$h.killed") ;;
	step)
		mh_cmd "$h" "step -$MH_STEP_S" || return 1
		t0=$(cat "$MH_DIR/$h.stepped") ;;
	esac
	r=$(mh_first_ack "$o" "$MH_OLD_TOKEN" 45)
	# Undo the fault only now: a paused holder resumes after the new one
	# wrote, with a write of its own due.
	case $kind in
	pause) kill -CONT "$qpid" ;;
	cut) cl_heal ;;
	kill) mh_cmd "$h" "agent $MH_LOCK $MH_MODE" || return 1 ;;
	step) mh_cmd "$h" resync || return 1 ;;
	esac
	[ -n "$r" ] || { MH_ERR="$o does not take over from $h ($kind) and write: $(mh_field "$o" state) $(mh_field "$o" token)"; return 1; }
	read -r t1 MH_NEW_TOKEN <<< "$r"
	t2=$(mh_app_start "$o" "$MH_NEW_TOKEN")
	MH_GRANT_MS=$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%d", (b - a) * 1000 }')
	MH_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')
	for _ in $(seq 200); do
		[ "$(mh_field "$h" state)" != holding ] ||
			[ "$(mh_field "$h" token)" != "$MH_OLD_TOKEN" ] && break
		sleep 0.1
	done
	[ "$(mh_field "$h" state)" != holding ] || [ "$(mh_field "$h" token)" != "$MH_OLD_TOKEN" ] ||
		{ MH_ERR="$h still holds $MH_OLD_TOKEN after the $kind is undone"; return 1; }
	mh_cmd "$h" "late $MH_OLD_TOKEN" || return 1
	MH_LATE=$(awk -v n="$h" -v t="$MH_OLD_TOKEN" '($1 == "ack" || $1 == "refused") && $2 == n && $3 == t { r = $1 } END { print r }' \
		"$MH_DIR/$h.late")
	[ -n "$MH_LATE" ] || { MH_ERR="$h's late write did not run: $(tail -n 2 "$MH_DIR/$h.late" | tr '\n' ' ')"; return 1; }
}

mh_stop_apps()
{
	mh_cmd A stop && mh_cmd B stop
}

# What the guests' stop found hanging (multihost_guest.sh stop_pid), if any.
mh_hangs()
{
	grep -h -A 40 "does not end on SIGTERM" "$MH_DIR/A.log" "$MH_DIR/B.log" 2>/dev/null
}

mh_pr_clear()
{
	rm -f "$MH_DIR/A.prclear"
	mh_cmd A pr-clear || return 1
	[ "$(cat "$MH_DIR/A.prclear" 2>/dev/null)" = ok ] ||
		{ MH_ERR="A could not clear the reservation: $(cat "$MH_DIR/A.prclear" 2>/dev/null)"; return 1; }
}

mh_check() { "$MH_RECORD" check "$MH_DISK"; }

mh_wipe()
{
	fallocate -p -o 0 -l "$(stat -c %s "$MH_DISK")" "$MH_DISK" &&
		rm -f "$MH_DIR"/?.acks "$MH_DIR"/?.status "$MH_DIR"/?.late
}

mh_quit()
{
	local rc=0 n
	for n in A B; do
		echo quit >> "$MH_DIR/$n.cmd"
	done
	for n in A B; do
		wait "${MH_RUN[$n]}" || rc=1
		MH_RUN[$n]=
	done
	return $rc
}

mh_cleanup()
{
	local n p
	for n in A B; do
		[ -n "${MH_RUN[$n]:-}" ] || continue
		p=$(cat "$MH_DIR/$n.qemu" 2>/dev/null)
		[ -n "$p" ] && kill -CONT "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
		wait "${MH_RUN[$n]}" 2>/dev/null
	done
	if [ -n "$MH_TGT_PID" ]; then
		# tgtd ignores SIGTERM; the image needs no flush (it pwrites).
		kill -KILL "$MH_TGT_PID" 2>/dev/null
		wait "$MH_TGT_PID" 2>/dev/null
	fi
	if [ -n "$MH_CLOCK_PID" ]; then
		kill "$MH_CLOCK_PID" 2>/dev/null
		wait "$MH_CLOCK_PID" 2>/dev/null
	fi
	cl_cleanup
	[ -n "${MH_KEEP:-}" ] || { [ -n "$MH_DIR" ] && rm -rf "$MH_DIR"; }
}
