# SPDX-License-Identifier: GPL-2.0
# Helpers for the gnomon-fenced VM tests; source after ktap.sh, fence.sh and
# cluster_lib.sh.
#
#	fd_agent NAME RESOURCE [FLAGS]   start gnomon-fenced NAME (no PR) on the
#	                                 cluster's lock; log FD_DIR/NAME.log,
#	                                 status FD_DIR/NAME.status, pid FD_PIDS[NAME]
#	fd_field NAME KEY                a key=value of NAME's status line
#	fd_wait NAME KEY VALUE [SECS]    poll NAME's status until KEY is VALUE
#	fd_app NAME RESOURCE DEV        NAME's application (below), background,
#	                                 pid FD_APIDS[NAME]; a record every
#	                                 FD_APP_INTERVAL (default 20ms)
#	fd_apps_stop                    stop every application
#	fd_phases LOSS OLD_RES NEW NEW_RES TOKEN  a takeover's phases (below)
#	fd_cluster_start                 gd_cluster_init 3, FD_DIR its directory
#	fd_monitor_start                 `gnomonctl monitor` into FD_MONITOR
#	fd_rig_cleanup LOOP              the EXIT trap of the one-VM rig: every
#	                                 application, agent, the monitor, the
#	                                 cluster, fd_tables, LOOP, fence_teardown
#	fd_agent_pr NAME RES DEV [FLAGS] fd_agent with PR on DEV (below)
#	fd_tables DEV_A DEV_B            two resources, two gnomon-fence tables
#	fd_until_grep PATTERN FILE [SECS] poll until FILE has a matching line
#	fd_diag_logs                     A's and B's last log lines, one line
#	fd_holds NAME                    NAME holds the lock (within 30 s) and
#	                                 its kernel lease is granted (5 s more)
#	fd_expect_holder DESC NAME [ABOVE]  a KTAP line DESC: ok when fd_holds
#	                                 NAME, with a token above ABOVE if given
#	fd_pause_takeover OLD NEW DESC [ABOVE]  SIGSTOP OLD's agent, then
#	                                 fd_expect_holder DESC NEW [ABOVE]
#
# An application is already running when its host takes over, as a
# storage application would be: `fence-record write --wait RESOURCE`
# (selftests/fence/fence_record_main.c) waits, woken by gnomon's netlink
# events, until the kernel lease RESOURCE holds with a token above the one
# it had when the application started; only then it finds the first
# sequence to write on DEV (fence_record.h: one past the highest on the
# disk) and writes records in order; a refused write sends it back to
# waiting, for a higher token.
# Its lines, stamped with CLOCK_REALTIME ("... at NS"), go to
# FD_DIR/NAME.acks.  A paused or killed agent leaves its kernel lease to
# lapse at its end, so its application writes until its table refuses it,
# as a real one that believes it holds would.  At the end `fence-record
# check` proves from the disk image alone whether a record with a lower
# token landed after a holder with a higher one took over.
FD_LOCK=fenced_lock_$$
# The agents' TTL: 2 s, so that a loaded TCG guest's keepalives do not miss
# it and move the lock while a test asserts who holds; the takeover bench
# (tools/bench/fence-takeover-vm.sh) sets FD_TTL=1s.
FD_TTL=${FD_TTL:-2s}
FD_FENCED=$top/build/bin/gnomon-fenced
FD_RECORD=$top/build/tests/fence/fence-record
declare -A FD_PIDS FD_APIDS

fd_agent()
{
	local name=$1 res=$2
	shift 2
	"$FD_FENCED" --endpoints "$(gd_endpoints)" --lock "$FD_LOCK" \
		--resource "$res" --holder "$name" --no-pr --ttl "$FD_TTL" \
		--margin 100ms --status-file "$FD_DIR/$name.status" "$@" \
		>> "$FD_DIR/$name.log" 2>&1 &
	FD_PIDS[$name]=$!
}

fd_field()
{
	tr ' ' '\n' 2>/dev/null < "$FD_DIR/$1.status" | sed -n "s/^$2=//p"
}

fd_wait()
{
	local i
	for i in $(seq $(( ${4:-20} * 10 ))); do
		[ "$(fd_field "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

fd_app()
{
	local name=$1 res=$2 dev=$3 above
	above=$(cat "$LEASES/$res/token" 2>/dev/null)
	"$FD_RECORD" write --wait "$res" --time "$dev" "$name" $(( ${above:-0} + 1 )) \
		1000000 "${FD_APP_INTERVAL:-20ms}" >> "$FD_DIR/$name.acks" 2>&1 &
	FD_APIDS[$name]=$!
}

fd_apps_stop()
{
	local n
	for n in "${!FD_APIDS[@]}"; do
		kill -TERM "${FD_APIDS[$n]}" 2>/dev/null
		wait "${FD_APIDS[$n]}" 2>/dev/null
	done
	FD_APIDS=()
}

fd_cleanup()
{
	local n
	fd_apps_stop
	for n in "${!FD_PIDS[@]}"; do
		kill -CONT "${FD_PIDS[$n]}" 2>/dev/null
		kill -KILL "${FD_PIDS[$n]}" 2>/dev/null
		wait "${FD_PIDS[$n]}" 2>/dev/null
	done
}

# fd_phases LOSS OLD_RES NEW NEW_RES TOKEN: the phases of a takeover from
# the old holder's loss at LOSS (CLOCK_REALTIME ns), in ms after it, on one
# line: lapse= the old holder's kernel lease OLD_RES lapsed (the netlink
# event, from FD_MONITOR, `gnomonctl monitor`'s output), lock= NEW's agent
# got the lock with TOKEN (its log), kernel= NEW's kernel lease NEW_RES
# granted with TOKEN (netlink), open= NEW's application saw it hold, read=
# it had read the disk, write= its first acknowledged write (NEW.acks).
# A phase not found is "-".
fd_phases()
{
	local loss=$1 old=$2 new=$3 res=$4 tok=$5 lapse lock grant open read ack
	lapse=$(awk -v r="$old" -v l="$loss" '$1 == "lease_lapsed" && $0 ~ "name=" r " " {
		for (i = 2; i <= NF; i++) if ($i ~ /^time_ns=/) { sub("time_ns=", "", $i);
			if ($i + 0 >= l + 0) { print $i; exit } } }' "$FD_MONITOR")
	grant=$(awk -v r="$res" -v t="$tok" '$1 == "lease_granted" && $0 ~ "name=" r " " && $0 ~ "token=" t " " {
		for (i = 2; i <= NF; i++) if ($i ~ /^time_ns=/) { sub("time_ns=", "", $i); print $i; exit } }' \
		"$FD_MONITOR")
	lock=$(sed -n "s/.* granted: token $tok,.* at \([0-9]*\)$/\1/p" "$FD_DIR/$new.log" | head -n 1)
	open=$(sed -n "s/^open $new $tok at \([0-9]*\)$/\1/p" "$FD_DIR/$new.acks" | head -n 1)
	read=$(sed -n "s/^first $new $tok [0-9]* at \([0-9]*\)$/\1/p" "$FD_DIR/$new.acks" | head -n 1)
	ack=$(sed -n "s/^ack $new $tok [0-9]* at \([0-9]*\)$/\1/p" "$FD_DIR/$new.acks" | head -n 1)
	awk -v l="$loss" -v lapse="$lapse" -v lock="$lock" -v grant="$grant" \
		-v open="$open" -v read="$read" -v ack="$ack" 'function ms(t) {
			return t == "" ? "-" : sprintf("%d", (t - l) / 1000000) }
		BEGIN { printf "lapse=%s lock=%s kernel=%s open=%s read=%s write=%s\n",
			ms(lapse), ms(lock), ms(grant), ms(open), ms(read), ms(ack) }'
}

fd_cluster_start()
{
	gd_cluster_init 3
	FD_DIR=$GD_DIR
	FD_MON_PID=
}

fd_monitor_start()
{
	FD_MONITOR=$FD_DIR/monitor.log
	$CTL monitor > "$FD_MONITOR" 2>&1 &
	FD_MON_PID=$!
}

fd_rig_cleanup()
{
	fd_cleanup
	[ -n "$FD_MON_PID" ] && kill "$FD_MON_PID" 2>/dev/null && wait "$FD_MON_PID" 2>/dev/null
	gd_cluster_cleanup
	fd_tables_remove
	losetup -d "$1"
	fence_teardown
}

# fd_agent_pr NAME RESOURCE DEVICE [FLAGS]: fd_agent with persistent
# reservations on DEVICE (its gnomon-fence device): the takeover registers
# the token as its key and preempts the previous holder's.
fd_agent_pr()
{
	local name=$1 res=$2 dev=$3
	shift 3
	"$FD_FENCED" --endpoints "$(gd_endpoints)" --lock "$FD_LOCK" \
		--resource "$res" --holder "$name" --device "$dev" --ttl "$FD_TTL" \
		--margin 100ms --status-file "$FD_DIR/$name.status" "$@" \
		>> "$FD_DIR/$name.log" 2>&1 &
	FD_PIDS[$name]=$!
}

# fd_tables DEV_A DEV_B: kernel lease resources FD_RA and FD_RB (created,
# lapsed at once) and gnomon-fence tables fda_PID over DEV_A with FD_RA and
# fdb_PID over DEV_B with FD_RB, their nodes in FD_DEV_A and FD_DEV_B;
# fails if a table cannot be created.  fd_tables_remove removes them.
fd_tables()
{
	local sz
	sz=$(blockdev --getsz "$1") || return 1
	FD_RA=fenced_a_$$
	FD_RB=fenced_b_$$
	fence_grant $FD_RA 1 1ms
	fence_grant $FD_RB 1 1ms
	dmsetup create fda_$$ --table "0 $sz gnomon-fence $1 $FD_RA" &&
		dmsetup create fdb_$$ --table "0 $sz gnomon-fence $2 $FD_RB" ||
		return 1
	FD_DEV_A=$(fence_dev fda_$$)
	FD_DEV_B=$(fence_dev fdb_$$)
}

fd_tables_remove()
{
	dmsetup remove --force fda_$$ > /dev/null 2>&1
	dmsetup remove --force fdb_$$ > /dev/null 2>&1
}

# fd_until_grep PATTERN FILE [SECS]: poll (default 20 s) until FILE has a
# line matching PATTERN (grep's basic regular expression).
fd_until_grep()
{
	local i
	for i in $(seq $(( ${3:-20} * 10 ))); do
		grep -q "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

fd_diag_logs() { tail -n 6 "$FD_DIR"/A.log "$FD_DIR"/B.log | tr '\n' ' '; }

fd_holds() { fd_wait "$1" state holding 30 && fd_wait "$1" kernel granted 5; }

fd_expect_holder()
{
	local desc=$1 name=$2 above=${3:-}
	if fd_holds "$name" &&
		{ [ -z "$above" ] || [ "$(fd_field "$name" token)" -gt "$above" ]; }; then
		ktap_ok "$desc"
	else
		ktap_fail "$desc" "$(fd_diag_logs)"
	fi
}

# The paused holder: its status file still says holding, its application
# goes on writing, and only its kernel lease lapsing stops it.
fd_pause_takeover()
{
	kill -STOP "${FD_PIDS[$1]}"
	fd_expect_holder "$3" "$2" "${4:-}"
}
