#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gnomond's loop thread never blocks on a file (daemon/storage.c,
# storage_files.c, snapshot.c): a 3-member loopback cluster runs under
# `strace -f` with 128 KiB WAL segments and --snapshot-count 200, so that
# segments roll, members snapshot (in a child) and drop covered segments,
# and a follower stopped with SIGSTOP while the leader compacts past it is
# brought back with InstallSnapshot (written and renamed through the ring).
# After start-up (the main thread's io_uring_setup), the main thread (TID =
# PID) must have made no openat, fallocate, fsync, fdatasync, rename,
# unlink, read or write call, writes to stderr apart; io_uring workers and
# the snapshot child are other TIDs.  Then every member is restarted and
# every key is read back from each.  Last, one member on a tiny tmpfs
# fills it: the failed ring write stops it (exit 1), and restarted on a
# larger file system it has every write it acknowledged.  Every wait is
# bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/api_expect.sh"

N=12
ktap_plan $N
missing=
command -v etcdctl >/dev/null || missing="etcdctl is not installed"
/usr/bin/python3 -c 'import etcd3' 2>/dev/null ||
	missing="python3-etcd3 is not installed"
command -v strace >/dev/null || missing="strace is not installed"
if [ -n "$missing" ]; then
	ktap_skip_all daemon-nonblocking "$missing"
fi

TRACED="openat,open,fallocate,fsync,fdatasync,renameat,renameat2,unlinkat"
TRACED="$TRACED,pwrite64,write,read,pread64,io_uring_setup"
REAL_BIN=${GD_BIN:-$top/build/bin/gnomond}
# The members run under strace, one output file per member ($2 is nI).
WRAPPER=$(mktemp /tmp/gnomond-strace.XXXXXX)
GD_BIN=$WRAPPER
cat >"$WRAPPER" <<EOF
#!/bin/sh
exec strace -f --seccomp-bpf -qq -e signal=none -e trace=$TRACED \
	-o "\$GD_TRACE_DIR/\$2.strace" "$REAL_BIN" "\$@"
EOF
chmod +x "$WRAPPER"
. "$top/selftests/gnomond/cluster_lib.sh"
FLAGS=(--snapshot-count 200 --wal-segment-bytes 131072
       --max-request-bytes 65536)

cleanup()
{
	gd_cluster_cleanup
	rm -f "$WRAPPER"
}

# gnomond's own pid under strace I (strace's only child).
member_pid() { ps -o pid= --ppid "${GD_PIDS[$1]}" 2>/dev/null | tr -d ' '; }

# Stop member I with SIGTERM to gnomond itself (SIGTERM to strace would
# only detach it), then reap strace.
stop_traced()
{
	local pid
	pid=$(member_pid "$1")
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	[ -n "${GD_PIDS[$1]:-}" ] && wait "${GD_PIDS[$1]}" 2>/dev/null
	GD_PIDS[$1]=
}

# get I ARGS...: etcdctl get, serializable, from member I.
get()
{
	local i=$1
	shift
	ETCDCTL_API=3 timeout 10 etcdctl --endpoints="$(gd_endpoint "$i")" \
		--dial-timeout=2s --command-timeout=5s get --consistency=s \
		"$@" 2>/dev/null
}

# count I: keys under /nb/ as member I sees them ("dead" if it died).
count()
{
	if ! gd_alive "$1"; then
		echo dead
		return
	fi
	get "$1" --prefix /nb/ --keys-only | grep -c .
}

# wait_count SECONDS WANT I: poll count I until WANT, dead, or SECONDS.
wait_count()
{
	local end=$(( SECONDS + $1 )) out
	while :; do
		out=$(count "$3")
		[ "$out" = "$2" ] || [ "$out" = dead ] ||
			[ "$SECONDS" -ge "$end" ] && break
		sleep 0.2
	done
	echo "$out"
}

# put FIRST LAST: keys /nb/FIRST../nb/LAST-1 through the leader.
put()
{
	timeout 120 /usr/bin/python3 - "$(gd_client_port "$leader")" "$1" "$2" \
		2>&1 <<'PY'
import sys, threading, etcd3
port, first, last = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def work(t):
    c = etcd3.client(host="127.0.0.1", port=port, timeout=10)
    for i in range(first + t, last, 8):
        c.put("/nb/%05d" % i, ("v%d." % i) * 40)
ts = [threading.Thread(target=work, args=(t,)) for t in range(8)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("done")
PY
}

# violations I: blocking calls of member I's main thread after start-up.
violations()
{
	awk '
	$2 ~ /^io_uring_setup\(/ && !main { main = $1; next }
	!main || $1 != main { next }
	$2 ~ /^write\(2,/ { next }
	$2 ~ /^(openat|open|fallocate|fsync|fdatasync|renameat2?|unlinkat|pwrite64|write|read|pread64)\(/ { print }
	' "$GD_DIR/n$1.strace"
}

# A segment must hold the largest request: exit 2 and why.
segment_refused()
{
	local out rc
	out=$("$REAL_BIN" --wal-segment-bytes 131071 --max-request-bytes 65536 \
		--insecure-no-peer-auth 2>&1)
	rc=$?
	echo "$rc $(echo "$out" | grep -c 'at least 131072')"
}
expect "too small a --wal-segment-bytes is refused" "2 1" segment_refused

gd_cluster_init 3
trap cleanup EXIT
export GD_TRACE_DIR=$GD_DIR
for i in 1 2 3; do gd_start "$i" "${FLAGS[@]}"; done
if ! leader=$(gd_wait_leader 30); then
	ktap_fail "a leader is elected" "$(tail -n 5 "$GD_DIR"/n*.log)"
	ktap_finish
	exit 1
fi
lagging=$(( leader % 3 + 1 ))
lagging_pid=$(member_pid "$lagging")
kill -STOP "$lagging_pid"
expect "1600 writes with a follower stopped" "done" echo "$(put 0 1600)"
# Past it: the log the leader keeps (1024 entries behind its snapshot)
# must no longer reach back to where the follower stopped.
got=$(gd_until_eq 30 1 sh -c "grep -o 'snapshot at index [0-9]*' \
	'$GD_DIR/n$leader.log' | awk '\$4 >= 1100 { f = 1 } END { print f + 0 }'")
expect "the leader snapshots past the stopped follower" "1" echo "$got"
kill -CONT "$lagging_pid"
expect "the stopped follower catches up" "1600" echo \
	"$(wait_count 60 1600 "$lagging")"
installed=$(grep -c "installed a snapshot up to index" "$GD_DIR/n$lagging.log")
expect "from the leader's snapshot" "1" echo "$(( installed >= 1 ))"
expect "400 more writes" "done" echo "$(put 1600 2000)"
for i in 1 2 3; do
	wait_count 60 2000 "$i" >/dev/null
done

# Segments rolled and covered ones were dropped: the oldest is gone and
# more than one was made.
segs=
for i in 1 2 3; do
	last=$(ls "$GD_DIR/n$i" | sed -n 's/^wal-0*\([0-9a-f]*\)\.seg$/\1/p' | tail -n 1)
	first=$(ls "$GD_DIR/n$i" | grep -c '^wal-0000000000000001\.seg$')
	segs="$segs n$i:${last:-none}/$first"
	[ $(( 0x${last:-0} )) -ge 2 ] && [ "$first" = 0 ] || bad_segs=1
done
expect "every member rolled segments and dropped old ones" "" echo \
	"${bad_segs:+$segs}"

for i in 1 2 3; do stop_traced "$i"; done
bad=
for i in 1 2 3; do
	v=$(violations "$i")
	[ -z "$v" ] || bad="$bad n$i: $(echo "$v" | head -n 5 | tr '\n' ' ')"
done
expect "no member's loop thread made a blocking file call" "" echo "$bad"
# The trace saw what it should: start-up opened files on the main thread
# and the snapshot child (another PID) renamed its file.
seen=$(for i in 1 2 3; do
	awk '$2 ~ /^io_uring_setup\(/ { exit } $2 ~ /^openat\(/ { n++ }
	     END { print (n > 0) }' "$GD_DIR/n$i.strace"
	grep -q 'renameat2\?(.*"snapshot.tmp"' "$GD_DIR/n$i.strace" && echo 1 || echo 0
done | tr -d '\n')
expect "the trace shows start-up opens and the child's renames" "111111" echo "$seen"

# Every member restarted (untraced) still has every key.
GD_BIN=$REAL_BIN
for i in 1 2 3; do gd_start "$i" "${FLAGS[@]}"; done
leader=$(gd_wait_leader 30)
want=$(/usr/bin/python3 -c '
for i in range(2000):
    print("/nb/%05d" % i)
    print(("v%d." % i) * 40)' | md5sum)
bad=
for i in 1 2 3; do
	n=$(wait_count 30 2000 "$i")
	got=$(get "$i" --prefix /nb/ | md5sum)
	[ "$got" = "$want" ] || bad="$bad n$i($n keys)"
done
expect "after a restart every member reads every key back" "" echo "$bad"
for i in 1 2 3; do gd_kill "$i" TERM; done

# A full disk (a 600 KiB tmpfs in a private mount namespace): a write or
# sync through the ring that fails stops the member (exit 1, the error
# logged) instead of hanging or going on; on the same file system made
# larger, it restarts with every write it acknowledged.
if ! unshare -m true 2>/dev/null; then
	ktap_skip "a full disk stops the member" "no mount namespaces here"
	ktap_skip "what it acknowledged survives" "no mount namespaces here"
	ktap_finish
	exit $?
fi
mkdir -p "$GD_DIR/full"
one=(--name n1 --data-dir "$GD_DIR/full/d" --peer-key-file "$GD_DIR/cluster.key"
     --listen-client-urls "http://$(gd_endpoint 1)"
     --advertise-client-urls "http://$(gd_endpoint 1)"
     --listen-peer-urls "http://127.0.0.1:$(gd_peer_port 1)"
     --initial-advertise-peer-urls "http://127.0.0.1:$(gd_peer_port 1)"
     --initial-cluster "n1=http://127.0.0.1:$(gd_peer_port 1)"
     --wal-segment-bytes 131072 --max-request-bytes 65536)
unshare -m sh -c '
	dir=$1; shift
	mount -t tmpfs -o size=600k tmpfs "$dir" || exit 9
	"$@" 2>"$dir.log1"
	echo $? >"$dir.exit"
	mount -o remount,size=8m "$dir" && exec "$@" 2>"$dir.log2"
' sh "$GD_DIR/full" "$REAL_BIN" "${one[@]}" &
full_pid=$!
acked=$(timeout 60 /usr/bin/python3 - "$(gd_client_port 1)" 2>&1 <<'PY'
import sys, time, etcd3
c = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), timeout=5)
n = 0
for _ in range(100):
    try:
        c.status()
        break
    except Exception:
        time.sleep(0.1)
try:
    for n in range(5000):
        c.put("/full/%05d" % n, "x" * 300)
    n = 5000
except Exception:
    pass
print(n)
PY
)
got=$(gd_until_eq 20 1 cat "$GD_DIR/full.exit" 2>/dev/null)
expect "a full disk stops the member" "1 1" echo \
	"$got $(grep -c 'No space left on device: stopping' "$GD_DIR/full.log1")"
GD_PIDS[1]=$full_pid
# full_kept: "ok" once the restarted member has every acknowledged key.
full_kept()
{
	local n
	n=$(get 1 --prefix /full/ --keys-only | grep -c .)
	[ "$n" -ge "$acked" ] && [ "$acked" -gt 0 ] && echo ok ||
		echo "$n of $acked"
}
expect "what it acknowledged survives" ok gd_until_eq 20 ok full_kept
gd_kill 1 TERM
ktap_finish
