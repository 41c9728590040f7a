#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A member's ports may still be held for a moment when it starts: a member
# killed by a signal leaves its listeners to the kernel's teardown of its
# ring, which finishes after the process is reaped (listen.c).  On a
# 1-member loopback cluster:
#   - a client port another program holds for good fails start-up with
#     exit status 1 and a message naming the port, after the bounded wait;
#   - a client port released 1 s after the member starts is taken, and the
#     member serves writes;
#   - a member killed with SIGKILL and restarted at once, 10 times over,
#     binds its ports and serves a write every time (seen failing in CI
#     before the wait).
# Every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

RESTARTS=10

gd_etcdctl_plan 7 daemon-port-busy
gd_cluster_init 1
port=$(gd_client_port 1)

# hold_port SECONDS: another program listens on the member's client port
# for that long; returns once it listens.  Its pid in HOLDER.
hold_port()
{
	/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening", flush=True)
time.sleep(float(sys.argv[2]))
' "$port" "$1" > "$GD_DIR/holder.out" &
	HOLDER=$!
	[ "$(gd_until_eq 5 listening cat "$GD_DIR/holder.out")" = listening ]
}

# serves: member 1 leads and acknowledges a write.
serves()
{
	gd_wait_leader 10 >/dev/null && [ "$(gd_etcdctl put /p/k "$1")" = OK ]
}

hold_port 30
gd_start 1
gd_exited 1 15
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
ktap_eq "a client port held for good fails start-up" 1 "$status"
ktap_check "and the member says which port, and that it waited" \
	grep -q "listen on http://127.0.0.1:$port: Address already in use; waiting up to" \
	"$GD_DIR/n1.log"

rm -rf "${GD_DIR:?}/n1"
hold_port 1
gd_start 1
if serves released && gd_alive 1; then
	ktap_ok "a client port released 1 s after start-up is taken"
else
	ktap_fail "a client port released 1 s after start-up is taken" \
		"$(tail -n 3 "$GD_DIR/n1.log")"
fi
wait "$HOLDER" 2>/dev/null
ktap_check "the member listens on it" \
	grep -q "listening for clients on http://127.0.0.1:$port" "$GD_DIR/n1.log"

served=0
: > "$GD_DIR/n1.log"
for k in $(seq "$RESTARTS"); do
	gd_kill 1 KILL
	gd_start 1
	serves "restart $k" && served=$((served + 1))
done
ktap_eq "a member killed and restarted at once serves, $RESTARTS times" \
	"$RESTARTS" "$served"
if ! grep -q "error: listen on" "$GD_DIR/n1.log"; then
	ktap_ok "no restart failed to listen"
else
	ktap_fail "no restart failed to listen" \
		"$(grep -m 3 'error: listen on' "$GD_DIR/n1.log")"
fi
ktap_eq "the last write is the last restart's" "restart $RESTARTS" \
	"$(gd_get 1 /p/k)"
ktap_finish
