#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What clients do cannot take a member down (issue 13 §3, §6).  A 3-member
# loopback cluster runs under `prlimit --nofile=256` with small WAL
# segments, so that writes open new segment files:
#   - 400 idle TCP connections to the leader's client port, then 30 writes
#     of 3 KB straight to the leader: every write succeeds (the cap keeps
#     descriptors for the WAL and peers, and a new client takes the place
#     of a connection that never finished its handshake), the leader stays
#     up, holds fewer descriptors than its limit, never runs out of them
#     (one accept at a time: a multishot accept would take a descriptor
#     for each connection of the burst), and logs a handful of lines about
#     it, not a flood;
#   - a follower restarted with --client-handshake-timeout 2000 and
#     --client-idle-timeout 2000 closes connections that never send the
#     HTTP/2 preface, and sends a GOAWAY to those that finish it and then
#     say nothing;
#   - garbage on a client port gets a GOAWAY before the close.
# On the code before the cap, the leader's accept loop spins on EMFILE and
# the writes fail.  Every wait is bounded.
set -u
N=8
NAME=daemon-limits
NOFILE=256
IDLE=400
. "$(dirname "$0")/daemon_limits_lib.sh"

gd_cluster_init 3
real_bin=$GD_BIN
GD_BIN=$GD_DIR/gnomond-limited
printf '#!/bin/sh\nexec prlimit --nofile=%s:%s -- %s "$@"\n' \
	"$NOFILE" "$NOFILE" "$real_bin" > "$GD_BIN"
chmod +x "$GD_BIN"
small_wal=(--max-request-bytes 4096 --wal-segment-bytes 70000)
abuse_start "${small_wal[@]}"
follower=$(( leader % 3 + 1 ))

# hold MODE I N SECONDS: N connections to member I in the background;
# their report goes to $GD_DIR/hold.MODE once $GD_DIR/stop.MODE exists.
hold()
{
	rm -f "$GD_DIR/stop.$1"
	timeout $(( $4 + 30 )) /usr/bin/python3 "$conns" "$1" 127.0.0.1 \
		"$(gd_client_port "$2")" "$3" "$GD_DIR/stop.$1" "$4" \
		>"$GD_DIR/hold.$1" 2>&1 &
	for _ in $(seq 100); do
		grep -qs ready "$GD_DIR/hold.$1" && return 0
		sleep 0.1
	done
	return 1
}

# report MODE: stop the holder and print its last line.
report()
{
	touch "$GD_DIR/stop.$1"
	for _ in $(seq 100); do
		grep -qs '^open' "$GD_DIR/hold.$1" && break
		sleep 0.1
	done
	grep '^open' "$GD_DIR/hold.$1"
}

hold idle "$leader" "$IDLE" 60 || ktap_diag "holder: $(cat "$GD_DIR/hold.idle")"
value=$(head -c 3000 /dev/zero | tr '\0' v)
ok=0
for k in $(seq 30); do
	out=$(ETCDCTL_API=3 timeout 15 etcdctl \
		--endpoints="$(gd_endpoint "$leader")" --dial-timeout=3s \
		--command-timeout=5s put "/limits/$k" "$value" 2>&1)
	[ "$out" = OK ] && ok=$((ok + 1))
done
ktap_eq "30 writes to the leader under $IDLE idle connections succeed" 30 "$ok"
fds=$(ls "/proc/${GD_PIDS[$leader]}/fd" 2>/dev/null | wc -l)
ktap_diag "the leader holds $fds descriptors (limit $NOFILE)"
if gd_alive "$leader" && [ "$fds" -lt "$NOFILE" ]; then
	ktap_ok "the leader stays up, below its descriptor limit"
else
	ktap_fail "the leader stays up, below its descriptor limit" \
		"$fds descriptors; $(tail -n 3 "$GD_DIR/n$leader.log")"
fi
lines=$(grep -c 'accept\|client connection' "$GD_DIR/n$leader.log")
ktap_diag "holder: $(report idle)"
if [ "$lines" -le 10 ]; then
	ktap_ok "the leader logs $lines lines about it, not a flood"
else
	ktap_fail "the leader logs $lines lines about it, not a flood" \
		"$(grep 'accept\|client connection' "$GD_DIR/n$leader.log" | sort | uniq -c | head -n 3)"
fi
emfile=$(grep -c 'Too many open files' "$GD_DIR/n$leader.log")
ktap_eq "the leader never ran out of descriptors" 0 "$emfile"
out=$(gd_etcdctl get --print-value-only /limits/30)
ktap_eq "the cluster has the last write" "$value" "$out"

gd_kill "$follower" TERM
gd_start "$follower" "${small_wal[@]}" --client-handshake-timeout 2000 \
	--client-idle-timeout 2000
gd_until_eq 15 follower gd_status "$follower" role >/dev/null
hold idle "$follower" 20 8
hold h2idle "$follower" 20 8
sleep 6
got=$(report idle)
ktap_eq "connections without a handshake are closed after the timeout" \
	"open 20 closed 20 goaway 0" "${got% sent*}"
got=$(report h2idle)
ktap_eq "idle HTTP/2 connections get a GOAWAY after the idle timeout" \
	"open 20 closed 20 goaway 20" "${got% sent*}"
hold garbage "$follower" 5 5
got=$(report garbage)
ktap_eq "garbage on a client port gets a GOAWAY before the close" \
	"open 5 closed 5 goaway 5" "${got% sent*}"
ktap_finish
