#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# One host of the multi-host fencing rig (multihost_lib.sh), run inside its
# VM by tools/vm/run:  multihost_guest.sh NAME ADDR DIR
#
# Brings up eth0 (the test's tap) with ADDR in 198.19.77.0/24, sets the
# clock from the host's (multihost_clock.py; the guest's clocksource is
# switched to the HPET, whose rate is the host's own; the host's clock
# server on PORT), claims a TT.now()
# error that covers what is left, loads dm-gnomon-fence and puts the table
# NAME (lease resource mh_NAME) over the shared iSCSI LUN (/dev/sda, QEMU's
# initiator under this host's own name, so reservations tell A from B).
# Then it runs the commands the host appends to DIR/NAME.cmd, one a line,
# and appends each line's number to DIR/NAME.ack when done:
#	agent LOCK fence|raw  start gnomon-fenced on LOCK with TTL and a
#	                  margin of a tenth of it, status in DIR/NAME.status;
#	                  fence: with persistent reservations through the
#	                  table (plain PREEMPT: tgt has no PREEMPT AND ABORT);
#	                  raw: without (the negative control)
#	kill-agent        SIGKILL it (its application goes on writing)
#	step SECONDS      step CLOCK_REALTIME by SECONDS (the time just before
#	                  it in DIR/NAME.stepped): gnomon.ko sees the step, the
#	                  clock is disrupted, the kernel lease stops holding
#	                  and the agent gives its session up
#	resync            set the clock from the host's again and discipline it
#	app fence|raw     the application, its lines in DIR/NAME.acks, each
#	                  prefixed with this clock's time.  fence: what a
#	                  storage system runs, started before the agent and
#	                  running throughout: fence-record write --wait on the
#	                  gnomon-fence table waits until its kernel lease holds
#	                  with a token above the one it had ("open NAME T"),
#	                  then reads and writes with T until refused, and waits
#	                  again.  raw (the negative control, on /dev/sda
#	                  itself, where nothing refuses): whenever the agent's
#	                  status says holding with a new token, a new
#	                  fence-record writer ("start NAME TOKEN") that writes
#	                  until stopped
#	late TOKEN        one record with TOKEN written to /dev/sda itself,
#	                  past the table: what a write the table passed before
#	                  the lapse and the path then held (a frozen host, a
#	                  stuck queue) does when it reaches the storage late;
#	                  fence-record's line ("ack ..." or "refused ...") to
#	                  DIR/NAME.late
#	pr-clear          clear the LUN's reservation and every registration
#	                  (REGISTER AND IGNORE EXISTING KEY, then CLEAR with
#	                  that key), agents stopped, for the next run; "ok" or
#	                  why not in DIR/NAME.prclear
#	stop              stop the application, then the agent (SIGTERM)
#	quit              stop and leave
# DIR/NAME.log has the setup's and the agent's output.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/fence/fence.sh"
name=$1 addr=$2 dir=$3 port=$4 ttl=$5
hub=198.19.77.254
log=$dir/$name.log
RECORD=$top/build/tests/fence/fence-record
FENCED=$top/build/bin/gnomon-fenced
CLOCK_ERR_MS=${MH_CLOCK_ERR_MS:-10}
PR_CLEAR_KEY=999999
exec >> "$log" 2>&1

die() { echo "guest $name: $*"; echo "setup failed: $*" > "$dir/$name.ready"; exit 1; }

modprobe virtio_net && modprobe virtio_scsi && modprobe sd_mod || die "virtio modules"
for _ in $(seq 100); do [ -e /sys/class/net/eth0 ] && [ -b /dev/sda ] && break; sleep 0.1; done
[ -b /dev/sda ] || die "no /dev/sda: the iSCSI LUN did not attach"
ip addr add "$addr/24" dev eth0 && ip link set eth0 up || die "eth0"
cs=/sys/devices/system/clocksource/clocksource0
grep -qw hpet "$cs/available_clocksource" && echo hpet > "$cs/current_clocksource"
echo "clocksource $(cat "$cs/current_clocksource")"
for _ in $(seq 50); do ping -c1 -W1 "$hub" > /dev/null 2>&1 && break; sleep 0.2; done

# Set the clock from the host's and claim CLOCK_ERR_MS for what is left:
# "offset_ns rtt_ns" in sync; on failure the reason in why.
clock_sync()
{
	local off rtt
	sync=$(/usr/bin/python3 "$top/selftests/fenced/multihost_clock.py" sync "$hub" "$port") ||
		{ why="clock sync"; return 1; }
	read -r off rtt <<< "$sync"
	echo "clock set: offset after ${off} ns, round trip ${rtt} ns"
	[ $(( ${off#-} + rtt / 2 )) -lt $(( CLOCK_ERR_MS * 500000 )) ] ||
		{ why="clock error ${off} ns (round trip ${rtt} ns) exceeds half of ${CLOCK_ERR_MS} ms"; return 1; }
	$CTL discipline --error "${CLOCK_ERR_MS}ms" --interval 1h --source static > /dev/null ||
		{ why="discipline"; return 1; }
}
# clock_sync, tried up to 5 times: one reading on a loaded TCG host can
# come back with a long round trip or a late setting.
clock_sync_tries()
{
	local i
	for i in 1 2 3 4 5; do
		clock_sync && return 0
		echo "guest $name: clock sync, try $i: $why"
	done
	return 1
}
clock_sync_tries || die "$why"
fence_setup || die "dm-gnomon-fence"
res=mh_$name
fence_grant "$res" 1 1ms || die "lease resource"
dmsetup create "$name" --table "0 $(blockdev --getsz /dev/sda) gnomon-fence /dev/sda $res" ||
	die "table"
dev=$(fence_dev "$name")
echo "ok $sync" > "$dir/$name.ready"

agent=
app=
start_agent()
{
	local pr=(--device "$dev" --pr-no-abort)
	[ "$2" = fence ] || pr=(--no-pr)
	"$FENCED" --endpoints "198.19.77.1:2379,198.19.77.2:2379,198.19.77.3:2379" \
		--lock "$1" --resource "$res" --holder "$name" "${pr[@]}" --ttl "${ttl}ms" \
		--margin "$(( ttl / 10 ))ms" --status-file "$dir/$name.status" &
	agent=$!
}

stamp() { while read -r l; do echo "$EPOCHREALTIME $l"; done; }

# The fence application (see above).
run_app_fence()
{
	local above
	trap 'kill $(jobs -p) 2>/dev/null; wait; exit 0' TERM
	above=$(cat "$LEASES/$res/token" 2>/dev/null)
	mkfifo /tmp/mh.app
	stamp < /tmp/mh.app >> "$dir/$name.acks" &
	"$RECORD" write --wait "$res" "$dev" "$name" $(( ${above:-0} + 1 )) 1000000 \
		> /tmp/mh.app 2>&1 &
	wait
}

# The raw application (see above); its writer's pid in its own variable,
# so that stopping it ends exactly what it started.
run_app_raw()
{
	local target=$1 line tok last= w=
	# Every job, not only the writer: a writer stopped before it opened
	# its fifo leaves its stamp reader blocked in open() for ever.
	trap 'kill $(jobs -p) 2>/dev/null; wait; exit 0' TERM
	while :; do
		line=
		read -r line < "$dir/$name.status" 2>/dev/null
		case " $line " in
		*" state=holding "*)
			tok=${line#*token=}
			tok=${tok%% *}
			if [ "$tok" != "$last" ]; then
				last=$tok
				[ -n "$w" ] && kill "$w" 2>/dev/null
				echo "$EPOCHREALTIME start $name $tok" >> "$dir/$name.acks"
				mkfifo "/tmp/mh.$tok"
				stamp < "/tmp/mh.$tok" >> "$dir/$name.acks" &
				"$RECORD" write "$target" "$name" "$tok" > "/tmp/mh.$tok" 2>&1 &
				w=$!
			fi ;;
		esac
		sleep 0.05 &
		wait $!
	done
}

# SIGTERM to PID (WHAT), waited for 15 s at most; one that does not end
# is shown (its processes, their states and kernel stacks) and killed, so
# that a hang is a log entry, not a VM run into its time limit.
stop_pid()
{
	local pid=$1 what=$2 p
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "guest $name: the $what does not end on SIGTERM:"
		ps -eo pid,ppid,stat,wchan:24,args | grep -v ' \[' | tail -n 30
		for p in $pid $(pgrep -P "$pid"); do
			echo "stack of $p ($(cat /proc/$p/comm 2>/dev/null)):"
			cat /proc/$p/stack 2>/dev/null
		done
		pkill -KILL -P "$pid"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}

stop_all()
{
	[ -z "$app" ] || stop_pid "$app" application
	app=
	[ -z "$agent" ] || stop_pid "$agent" agent
	agent=
}

n=0
while :; do
	line=$(sed -n "$((n + 1))p" "$dir/$name.cmd" 2>/dev/null)
	if [ -z "$line" ]; then
		sleep 0.05
		continue
	fi
	n=$((n + 1))
	read -r cmd arg <<< "$line"
	echo "guest $name: command $n: $line"
	case $cmd in
	agent) start_agent $arg ;;
	kill-agent)
		echo "$EPOCHREALTIME" > "$dir/$name.killed"
		kill -KILL "$agent" 2>/dev/null
		wait "$agent" 2>/dev/null
		agent= ;;
	app)
		if [ "$arg" = raw ]; then
			run_app_raw /dev/sda &
		else
			run_app_fence &
		fi
		app=$! ;;
	step)
		/usr/bin/python3 "$top/selftests/fenced/multihost_clock.py" step "$arg" \
			> "$dir/$name.stepped"
		echo "clock stepped by $arg s: $($CTL now --json)" ;;
	late) "$RECORD" write /dev/sda "$name" "$arg" 1 >> "$dir/$name.late" 2>&1 ;;
	pr-clear)
		if $CTL fence pr register /dev/sda --token "$PR_CLEAR_KEY" &&
			$CTL fence pr clear /dev/sda --token "$PR_CLEAR_KEY" &&
			$CTL fence pr show /dev/sda | grep -q '^keys  *none$'; then
			echo ok > "$dir/$name.prclear"
		else
			echo "failed: $($CTL fence pr show /dev/sda | tr '\n' ' ')" > "$dir/$name.prclear"
		fi ;;
	resync) clock_sync_tries || echo "guest $name: resync failed: $why" ;;
	stop) stop_all ;;
	quit) stop_all; echo "$n" >> "$dir/$name.ack"; break ;;
	*) echo "guest $name: unknown command '$line'" ;;
	esac
	echo "$n" >> "$dir/$name.ack"
done
# A removal that hangs is shown (its kernel stack and the kernel log), not
# waited for until the VM's time limit.
echo "guest $name: removing the table"
dmsetup remove "$name" &
rm_pid=$!
for _ in $(seq 300); do kill -0 $rm_pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $rm_pid 2>/dev/null; then
	echo "guest $name: dmsetup remove hangs: $(cat /proc/$rm_pid/stack)"
	dmesg | tail -n 40
fi
fence_teardown
echo "guest $name: done"
exit 0
