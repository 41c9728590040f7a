#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Maintenance.Snapshot on a 3-member gnomond cluster with unmodified
# etcdctl 3.4 (daemon/backup_send.c): `etcdctl snapshot save` from a
# follower while writes are in flight writes gnomond's backup file (its
# magic, a size etcdctl accepts, the SHA-256 it ends with, one revision in
# its header); once the writes stop, a backup's store bytes end with the
# member's Maintenance.Hash at the same revision, so the file holds
# exactly that member's store.  `gnomond --restore-snapshot` (backup.c)
# makes a new single-member cluster from that file that serves the same
# revision, the same keys and values and the same HashKV, and the backup
# taken mid-writes restores to the old cluster's HashKV at its revision
# (the backup is one revision's store); a file with one
# byte flipped, a truncated one, and restoring over a data directory are
# refused.  Every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"
. "$top/selftests/gnomond/cluster_lib.sh"

gd_etcd_cluster 12 daemon-backup etcd3
leader=$GD_LEADER
follower=$(( leader % 3 + 1 ))

E() { gd_etcdctl_at "$@"; }
# revision I...: the members' revisions, read locally, one line each
# distinct value.
revision() {
	local i
	for i in "$@"; do
		E "$i" get /none --consistency=s -w json |
			sed -n 's/.*"revision":\([0-9]*\).*/\1/p'
	done | sort -u
}
# check FILE: "ok REVISION LASTCRC" for a whole gnomond backup, or why not.
check() {
	/usr/bin/python3 - "$1" <<'PY'
import hashlib, struct, sys
b = open(sys.argv[1], "rb").read()
if b[:16] != b"gnomond backup\n\0":
    sys.exit("bad magic %r" % b[:16])
if len(b) % 512 != 32:
    sys.exit("size %d is not 32 past a multiple of 512" % len(b))
if hashlib.sha256(b[:-32]).digest() != b[-32:]:
    sys.exit("sha256 mismatch")
rev, = struct.unpack_from("<q", b, 24)
dlen, = struct.unpack_from("<Q", b, len(b) - 40)
crc, = struct.unpack_from("<I", b, 64 + dlen - 4)
print("ok", rev, crc)
PY
}

out=$(timeout 60 /usr/bin/python3 - "$(gd_client_port "$leader")" 2>&1 <<'PY'
import sys, etcd3
c = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), timeout=10)
for i in range(600):
    c.put("/big/%04d" % i, "%04d" % i * 1024)
print("done")
PY
)
ktap_eq "2.4 MB of values written" done "$out"

# Writes in flight while the follower streams its backup.
stop=$GD_DIR/stop-writing
timeout 60 /usr/bin/python3 - "$(gd_client_port "$leader")" "$stop" \
	>"$GD_DIR/writer.log" 2>&1 <<'PY' &
import os, sys, threading, etcd3
def work(t):
    c = etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), timeout=10)
    i = 0
    while not os.path.exists(sys.argv[2]):
        c.put("/w/%d/%06d" % (t, i), "x" * 100)
        i += 1
ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("stopped")
PY
writer=$!
r0=$(revision "$follower")
for _ in $(seq 100); do
	[ "$(revision "$follower")" -gt $((r0 + 50)) ] && break
	sleep 0.1
done
out=$(E "$follower" snapshot save "$GD_DIR/inflight.db")
sleep 0.5
touch "$stop"
wait "$writer"
if [[ $out == *"Snapshot saved at"* ]]; then
	ktap_ok "etcdctl snapshot save from a follower while writes are in flight"
else
	ktap_fail "etcdctl snapshot save from a follower while writes are in flight" "$out"
fi
got=$(check "$GD_DIR/inflight.db" 2>&1)
rev=$(awk '{print $2}' <<<"$got")
inflight_rev=$rev
r2=$(revision "$follower")
if [[ $got == ok* ]] && [ "$rev" -gt $((r0 + 50)) ] && [ "$rev" -lt "$r2" ]; then
	ktap_ok "a gnomond backup (sha256 checked) at revision $rev, taken mid-writes ($r0 before, $r2 after)"
else
	ktap_fail "a gnomond backup taken mid-writes" \
		"$got; revisions $r0 before, $r2 after; $(cat "$GD_DIR/writer.log")"
fi

for _ in $(seq 50); do
	rev=$(revision 1 2 3)
	[ "$(grep -c . <<<"$rev")" = 1 ] && break
	sleep 0.1
done
out=$(E "$follower" snapshot save "$GD_DIR/quiet.db")
got=$(check "$GD_DIR/quiet.db" 2>&1)
h=$(/usr/bin/python3 -c 'import sys, etcd3
print(etcd3.client(host="127.0.0.1", port=int(sys.argv[1]), timeout=10).hash())' \
	"$(gd_client_port "$follower")" 2>&1)
ktap_eq "the file holds the store at revision $rev: it ends with Maintenance.Hash" \
	"ok $rev $h" "$got"
size=$(stat -c %s "$GD_DIR/quiet.db")
if [ "$size" -gt 2400000 ]; then
	ktap_ok "the whole store came through ($size bytes, many 32 KiB messages)"
else
	ktap_fail "the whole store came through" "$size bytes"
fi

# The old cluster's answers at that revision, then a new cluster from the
# file.  kvs I: every key and value member I serves, as a checksum.
kvs() { E "$1" get "" --prefix --consistency=s | md5sum | cut -d' ' -f1; }
hashkv() { E "$1" endpoint hashkv --rev="$2" | sed -n 's/^[^,]*, //p'; }
want_kvs=$(kvs "$follower")
want_hash=$(hashkv "$follower" "$rev")
want_inflight=$(hashkv "$follower" "$inflight_rev")
for i in 1 2 3; do gd_kill "$i" TERM; done
mv "$GD_DIR/n1" "$GD_DIR/old1"
GD_N=1
out=$("$GD_BIN" --restore-snapshot "$GD_DIR/quiet.db" --data-dir "$GD_DIR/n1" \
	--insecure-no-peer-auth 2>&1)
gd_start 1
if [[ $out == restored* ]] && new=$(gd_wait_leader 15) &&
   [ "$(revision 1)" = "$rev" ]; then
	ktap_ok "a new member restored from the file serves revision $rev"
else
	ktap_fail "a new member restored from the file serves revision $rev" \
		"$out; revision $(revision 1); $(tail -n 5 "$GD_DIR/n1.log")"
fi
ktap_eq "it serves the same keys and values" "${want_kvs:-none}" "$(kvs 1)"
ktap_eq "and the same HashKV at revision $rev" "${want_hash:-none}" "$(hashkv 1 "$rev")"
gd_kill 1 TERM

# The backup taken mid-writes is the store at its one revision: restored,
# its HashKV is the old cluster's HashKV at that revision.
mv "$GD_DIR/n1" "$GD_DIR/new1"
"$GD_BIN" --restore-snapshot "$GD_DIR/inflight.db" --data-dir "$GD_DIR/n1" \
	--insecure-no-peer-auth >/dev/null 2>&1
gd_start 1
gd_wait_leader 15 >/dev/null
ktap_eq "the backup taken mid-writes restores to the old cluster's HashKV at revision $inflight_rev" \
	"$inflight_rev ${want_inflight:-none}" \
	"$(revision 1) $(hashkv 1 "$inflight_rev")"
gd_kill 1 TERM

# refused WHAT FILE DIR: restoring FILE into DIR fails, saying WHAT, and
# leaves DIR as it was.
refused() {
	local before after out
	before=$(ls -A "$3" 2>/dev/null | md5sum)
	out=$("$GD_BIN" --restore-snapshot "$2" --data-dir "$3" \
		--insecure-no-peer-auth 2>&1) && { echo "restored: $out"; return; }
	after=$(ls -A "$3" 2>/dev/null | md5sum)
	[[ $out == *"$1"* ]] || { echo "said: $out"; return; }
	[ "$before" = "$after" ] || { echo "$3 changed"; return; }
	echo refused
}
cp "$GD_DIR/quiet.db" "$GD_DIR/flipped.db"
printf '\x5a' | dd of="$GD_DIR/flipped.db" bs=1 seek=100000 conv=notrunc \
	status=none
cp "$GD_DIR/quiet.db" "$GD_DIR/short.db"
truncate -s -700 "$GD_DIR/short.db"
ktap_eq "a file with one byte changed is refused (its SHA-256)" refused \
	"$(refused SHA-256 "$GD_DIR/flipped.db" "$GD_DIR/x1")"
ktap_eq "a truncated file is refused" refused \
	"$(refused truncated "$GD_DIR/short.db" "$GD_DIR/x2")"
ktap_eq "a data directory in use is never overwritten" refused \
	"$(refused "never overwritten" "$GD_DIR/quiet.db" "$GD_DIR/old1")"
ktap_finish
