#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gnomond under AddressSanitizer and UndefinedBehaviorSanitizer
# (build/san-bin/gnomond; valgrind cannot follow io_uring's asynchronous
# writes into user memory, so this is the daemon's memory check).  A
# 3-member loopback cluster with --snapshot-count 100 gets real traffic:
# etcdctl put/get/txn/del; a python3-etcd3 burst from 6 threads while a
# follower is stopped (SIGSTOP), so that the leader snapshots, compacts
# past what it keeps for slow followers and, after SIGCONT, sends that
# follower the snapshot; a leader SIGKILL, re-election and restart; bad
# input on client ports (garbage, truncated HTTP/2 frames, empty,
# undecodable and truncated gRPC messages, also ones a follower forwards)
# and on peer ports.  Then every member gets SIGTERM with a client
# connection open, so LeakSanitizer runs at exit; all restart (recovery
# from snapshot and WAL) and get SIGTERM again.  The test asserts that each
# exit had status 0 and that no member log holds a sanitizer report.
# Sanitizer reports go to stderr, which cluster_lib.sh appends to the
# member's log.  GD_BIN overrides the binary (the first line checks that it
# is sanitized); GD_KEEP=1 keeps the logs.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
GD_BIN=${GD_BIN:-$top/build/san-bin/gnomond}
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
SNAP=(--snapshot-count 100)
N=13
ktap_plan $N
if ! command -v etcdctl >/dev/null ||
   ! /usr/bin/python3 -c 'import etcd3' 2>/dev/null; then
	ktap_skip_all sanitized "no etcdctl or python3-etcd3"
fi

# Every client call and wait is bounded in wall time, so a crashed
# member fails the test quickly instead of stalling it.
ctl()
{
	ETCDCTL_API=3 timeout 10 etcdctl --endpoints="$(gd_endpoints)" \
		--command-timeout=5s --dial-timeout=2s "$@" 2>&1
}

# count I: keys under /b/ as member I sees them (serializable).
count()
{
	ETCDCTL_API=3 timeout 5 etcdctl --endpoints="$(gd_endpoint "$1")" \
		--command-timeout=4s --dial-timeout=2s get --prefix /b/ \
		--keys-only --consistency=s 2>/dev/null | grep -c .
}

# poll SECONDS WANT CMD...: run CMD until it prints WANT or SECONDS have
# passed; prints the last output.
poll()
{
	local end=$((SECONDS + $1)) want=$2 out
	shift 2
	while :; do
		out=$("$@")
		if [ "$out" = "$want" ] || [ "$SECONDS" -ge "$end" ]; then
			break
		fi
		sleep 0.2
	done
	echo "$out"
}

# stop I: SIGTERM; appends the exit status to status[I] ("hung", and
# SIGKILL, after 30 s).  Not in a subshell: wait needs the member as a
# child.
declare -a status held
stop()
{
	local pid=${GD_PIDS[$1]} rc
	if [ -z "$pid" ]; then
		status[$1]+="none "
		return
	fi
	kill -TERM "$pid" 2>/dev/null
	poll 30 gone sh -c "kill -0 $pid 2>/dev/null || echo gone" >/dev/null
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		wait "$pid"
		rc=hung
	else
		wait "$pid"
		rc=$?
	fi
	GD_PIDS[$1]=
	status[$1]+="$rc "
}

# stop_all: stop every member, each with a client connection open (its
# session must be freed too); LeakSanitizer runs at exit.
stop_all()
{
	local i fd
	held=()
	for i in 1 2 3; do
		exec {fd}<>"/dev/tcp/127.0.0.1/$(gd_client_port "$i")" &&
			printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' >&"$fd" &&
			held+=("$fd")
	done
	sleep 0.2
	for i in 1 2 3; do
		stop "$i"
	done
	for fd in "${held[@]}"; do exec {fd}>&-; done
}

syms=$(nm "$GD_BIN" 2>/dev/null | grep -c -e ' __asan_init$' -e ' __ubsan_handle_type_mismatch')
ktap_eq "the daemon is built with ASan and UBSan" "2" "$(( syms >= 2 ? 2 : syms ))"

gd_cluster_init 3
# A member left stopped (SIGSTOP) would hang the cleanup's wait.
trap 'for p in "${GD_PIDS[@]}"; do [ -n "$p" ] && kill -CONT "$p"; done 2>/dev/null
      gd_cluster_cleanup' EXIT
for i in 1 2 3; do gd_start "$i" "${SNAP[@]}"; done
if ! leader=$(gd_wait_leader 20); then
	ktap_fail "a leader is elected" "$(tail -n 5 "$GD_DIR"/n*.log)"
	ktap_finish
	exit 1
fi
sleep 0.5

out=$(ctl put /k/a 1; ctl put /k/b 2; ctl get /k/a --print-value-only
      printf 'value("/k/a") = "1"\n\nput /k/t yes\n\nput /k/t no\n\n' | ctl txn
      ctl get /k/t --print-value-only; ctl del --prefix /k/)
ktap_eq "etcdctl put, get, txn and del" "$(printf 'OK\nOK\n1\nSUCCESS\n\nOK\nyes\n3')" "$out"

# Stop a follower; the burst must go past the 1024 entries the leader keeps
# for slow followers plus a snapshot interval.
follower=$(( leader % 3 + 1 ))
kill -STOP "${GD_PIDS[$follower]}"
out=$(timeout 60 /usr/bin/python3 - "$(gd_client_port "$leader")" 2>&1 <<'PY'
import sys, threading, etcd3
errors = []
def work(t):
    try:
        c = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), timeout=20)
        for i in range(t, 1300, 6):
            c.put("/b/%04d" % i, "v%d" % i)
            if i % 50 == 0:
                assert c.get("/b/%04d" % i)[0] == b"v%d" % i
        c.close()
    except Exception as e:
        errors.append(repr(e))
ts = [threading.Thread(target=work, args=(t,)) for t in range(6)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(errors[0] if errors else "done")
PY
)
ktap_eq "a 6-thread python3-etcd3 burst with a follower stopped" "done" "$out"
# The leader takes its snapshots in a child, and compacts its log (1024
# entries behind the snapshot) once one is done: wait, bounded, for one
# far enough on that the log it keeps no longer reaches back to where the
# follower stopped.
for _ in $(seq 150); do
	snap=$(grep -o 'snapshot at index [0-9]*' "$GD_DIR/n$leader.log" |
	       tail -n 1)
	[ "${snap##* }" -ge 1100 ] 2>/dev/null && break
	sleep 0.2
done
kill -CONT "${GD_PIDS[$follower]}"
got=$(poll 30 1300 count "$follower")
installed=$(grep -c "installed a snapshot up to index" "$GD_DIR/n$follower.log")
ktap_eq "the stopped follower catches up from the leader's snapshot" "1300 1" \
	"$got $(( installed >= 1 ))"

gd_kill "$leader" KILL
if new=$(gd_wait_leader 20); then
	ctl put /b/after-kill x >/dev/null
	gd_start "$leader" "${SNAP[@]}"
	got=$(poll 30 1301 count "$leader")
else
	got="no new leader"
	new=$follower
fi
ktap_eq "a new leader after SIGKILL; the old one rejoins" "1301" "$got"

# Bad input: each connection is answered or closed, never crashes a
# member.  The hand-made HTTP/2 is checked on a good request first (a
# linearizable Range a follower forwards); each malformed gRPC request must
# get its stream ended (trailers with the error).
out=$(timeout 60 /usr/bin/python3 - "$(gd_client_port "$new")" \
	"$(gd_client_port "$leader")" "$(gd_peer_port "$new")" \
	"$(gd_peer_port "$leader")" 2>&1 <<'PY'
import socket, struct, sys
def frame(ftype, flags, stream, payload, length=None):
    n = len(payload) if length is None else length
    return struct.pack(">I", n)[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload
def lit(name, value):  # HPACK literal, new name, not indexed, no Huffman
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value
def headers(method):  # :method POST, :scheme http (static table)
    return b"\x83\x86" + lit(b":path", b"/etcdserverpb.KV/" + method) + \
        lit(b":authority", b"x") + \
        lit(b"content-type", b"application/grpc") + lit(b"te", b"trailers")
def stream_ended(data):  # a HEADERS frame with END_STREAM on stream 1
    i = 0
    while i + 9 <= len(data):
        n = int.from_bytes(data[i:i + 3], "big")
        if data[i + 3] == 1 and data[i + 4] & 1 and \
                int.from_bytes(data[i + 5:i + 9], "big") == 1:
            return True
        i += 9 + n
    return False
def send(port, data, half_close=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    if half_close:
        s.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while not stream_ended(got):
            b = s.recv(4096)
            if not b:
                break
            got += b
    except OSError:
        pass
    s.close()
    return got
preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"")
def grpc(port, method, msg):
    return send(port, preface + frame(1, 4, 1, headers(method)) +
                frame(0, 1, 1, struct.pack(">BI", 0, len(msg)) + msg), False)
leader, follower = int(sys.argv[1]), int(sys.argv[2])
peers = [int(p) for p in sys.argv[3:]]
good = grpc(follower, b"Range", b"\x0a\x07/b/0006")
print("value" if b"v6" in good else "no value: %r" % good)
answered = 0
for port in (leader, follower):
    for msg in (b"", b"\xff\xff\xff\xff\xff\x0f", b"\x0a\x50/b/"):
        for method in (b"Range", b"Put", b"Txn"):
            answered += stream_ended(grpc(port, method, msg))
print("answered %d" % answered)
hdrs = headers(b"Put")
send(leader, bytes(range(256)) * 8)
send(leader, preface + frame(1, 4, 1, hdrs)[:12])
send(leader, preface + frame(0, 1, 1, b"\x00" * 20, length=4000))
send(leader, preface + frame(1, 4, 1, hdrs) +
     frame(0, 1, 1, b"\x00\x00\x10\x00\x00\x0a\x02"))
send(leader, preface + frame(1, 4, 3, b"\xff" * 40))
for p in peers:
    send(p, bytes(range(256)) * 4 + b"\xff" * 64)
    send(p, struct.pack("<I", 0xffffffff) + b"\x00" * 12)
print("sent")
PY
)
out=$(echo $out)
ctl put /b/after-garbage y >/dev/null
alive=0
for i in 1 2 3; do gd_alive "$i" && alive=$((alive + 1)); done
ktap_eq "garbage on client and peer ports: all members up, writes go on" \
	"value answered 18 sent 3 1302" "$out $alive $(poll 20 1302 count "$new")"

# SIGTERM all, restart all (recovery from snapshot and WAL), SIGTERM all.
stop_all
for i in 1 2 3; do gd_start "$i" "${SNAP[@]}"; done
leader=$(gd_wait_leader 20)
ktap_eq "a full-cluster restart keeps every write" 1302 \
	"$(poll 30 1302 count "${leader:-1}")"
stop_all
for i in 1 2 3; do
	ktap_eq "member $i exits with status 0 after each SIGTERM" "0 0 " \
		"${status[$i]}"
done
for i in 1 2 3; do
	reports=$(grep -E -c 'Sanitizer|runtime error:' "$GD_DIR/n$i.log")
	if [ "$reports" = 0 ]; then
		ktap_ok "member $i log has no sanitizer report"
	else
		ktap_fail "member $i log has no sanitizer report" \
			"$(grep -E -m1 -A 20 'Sanitizer|runtime error:' "$GD_DIR/n$i.log")"
	fi
done
ktap_finish
