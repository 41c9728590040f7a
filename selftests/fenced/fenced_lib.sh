# SPDX-License-Identifier: GPL-2.0
# Helpers for the gnomon-fenced VM tests; source after ktap.sh, fence.sh and
# cluster_lib.sh.
#
#	fd_agent NAME RESOURCE [FLAGS]   start gnomon-fenced NAME (no PR) on the
#	                                 cluster's lock; log FD_DIR/NAME.log,
#	                                 status FD_DIR/NAME.status, pid FD_PIDS[NAME]
#	fd_field NAME KEY                a key=value of NAME's status line
#	fd_wait NAME KEY VALUE [SECS]    poll NAME's status until KEY is VALUE
#	fd_app NAME DEV                 NAME's application (below), background
#	fd_apps_stop                    stop every application and its writers
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
# An application writes while its agent says it holds the lock: whenever
# NAME's status file shows state=holding with a token it has not written
# with yet, it starts `fence-record write DEV NAME TOKEN` (selftests/fence/
# fence_record.h: records in order from one past the highest sequence on
# the disk; a refused write ends it), output in FD_DIR/NAME.acks.  A paused
# or killed agent leaves "holding" in its status file, so its application
# keeps writing, as a real one that believes it holds would.  At the end
# `fence-record check` proves from the disk image alone whether a record
# with a lower token landed after a holder with a higher one took over.
FD_LOCK=fenced_lock_$$
FD_FENCED=$top/build/bin/gnomon-fenced
FD_RECORD=$top/build/tests/fence/fence-record
declare -A FD_PIDS FD_APIDS

fd_agent()
{
	local name=$1 res=$2
	shift 2
	"$FD_FENCED" --endpoints "$(gd_endpoints)" --lock "$FD_LOCK" \
		--resource "$res" --holder "$name" --no-pr --ttl 1s \
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
	local name=$1 dev=$2
	(
		local line tok last=
		while [ ! -e "$FD_DIR/stop" ]; do
			line=
			read -r line < "$FD_DIR/$name.status" 2>/dev/null
			case " $line " in
			*" state=holding "*)
				tok=${line#*token=}
				tok=${tok%% *}
				if [ "$tok" != "$last" ]; then
					last=$tok
					"$FD_RECORD" write "$dev" "$name" "$tok" \
						1000000 20ms >> "$FD_DIR/$name.acks" 2>&1 &
				fi ;;
			esac
			sleep 0.1
		done
		kill $(jobs -p) 2>/dev/null
		wait
	) &
	FD_APIDS[$name]=$!
}

fd_apps_stop()
{
	local n
	touch "$FD_DIR/stop"
	for n in "${!FD_APIDS[@]}"; do wait "${FD_APIDS[$n]}" 2>/dev/null; done
	FD_APIDS=()
	rm -f "$FD_DIR/stop"
}

fd_cleanup()
{
	local n
	touch "$FD_DIR/stop" 2>/dev/null
	for n in "${!FD_PIDS[@]}"; do
		kill -CONT "${FD_PIDS[$n]}" 2>/dev/null
		kill -KILL "${FD_PIDS[$n]}" 2>/dev/null
		wait "${FD_PIDS[$n]}" 2>/dev/null
	done
	for n in "${!FD_APIDS[@]}"; do wait "${FD_APIDS[$n]}" 2>/dev/null; done
	rm -f "$FD_DIR/stop"
}

# fd_agent_pr NAME RESOURCE DEVICE [FLAGS]: fd_agent with persistent
# reservations on DEVICE (its gnomon-fence device): the takeover registers
# the token as its key and preempts the previous holder's.
fd_agent_pr()
{
	local name=$1 res=$2 dev=$3
	shift 3
	"$FD_FENCED" --endpoints "$(gd_endpoints)" --lock "$FD_LOCK" \
		--resource "$res" --holder "$name" --device "$dev" --ttl 1s \
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
