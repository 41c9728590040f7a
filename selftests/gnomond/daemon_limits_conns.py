#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Abusive connections for daemon_limits.sh and peer_abuse.sh.

    daemon_limits_conns.py MODE HOST PORT N STOPFILE SECONDS

opens N connections to HOST:PORT, says what MODE says, and holds them until
STOPFILE exists, SECONDS have passed or the server closed them all; then
prints one line,
"open O closed C goaway G sent S", where C is how many the server closed
(EOF or reset), G how many of those got an HTTP/2 GOAWAY first, and S the
bytes sent in all.  "ready" is printed once every connection is open.

    idle     say nothing
    h2idle   send the HTTP/2 client preface and an empty SETTINGS, then
             nothing
    garbage  send a line of HTTP/1.1 (not HTTP/2)
    bigpeer  a gnomond Raft frame header declaring a 255 MiB frame, then up
             to 48 MiB of it per connection, as fast as the server reads
    badpeer  a frame header with a bad magic
    hello    a hello under the key in $GD_KEY_FILE, from slot $GD_FROM
             with member id $GD_MEMBER_ID (hex), over the challenge's
             nonce, then nothing (forwarding frame version $GD_FWD_VERSION)
    stalehello  the same hello over a nonce the server did not send
    hellobig a good hello, then a Raft frame declaring 255 MiB
    helloother  a good hello, then a forwarding frame (an answer to no
             request) from another member, $GD_OTHER
"""
import hashlib
import hmac
import os
import select
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
BIG_FRAME = 255 << 20
BIG_SEND = 48 << 20


def peer_header(magic, length):
    # magic, version 1, type APPEND (1), flags 0, length: peer_codec.h
    return struct.pack("<IBBHI", magic, 1, 1, 0, length) + bytes(84)


def fwd_frame(ftype, sender, body):
    """A forwarding frame (daemon/forward.h) under the key in $GD_KEY_FILE."""
    with open(os.environ["GD_KEY_FILE"], "rb") as f:
        key = f.read()
    length = 32 + len(body) + 32
    frame = struct.pack("<IBBHIIIiQ", 0x57464E47,
                        int(os.environ["GD_FWD_VERSION"]), ftype, 0, length,
                        sender, 0, 0, 0) + body
    return frame + hmac.new(key, frame, hashlib.sha256).digest()


def hello(nonce):
    """A HELLO over nonce from $GD_FROM, member id $GD_MEMBER_ID."""
    body = nonce + struct.pack("<Q", int(os.environ["GD_MEMBER_ID"], 16))
    return fwd_frame(1, int(os.environ["GD_FROM"]), body + b"abuser\n")


def greet(s, mode):
    """The hello modes: read the challenge, answer it."""
    challenge = b""
    while len(challenge) < 24:
        d = s.recv(24 - len(challenge))
        if not d:
            return b""
        challenge += d
    nonce = challenge[8:24] if mode != "stalehello" else bytes(16)
    out = hello(nonce)
    if mode == "hellobig":
        out += peer_header(0x50524E47, BIG_FRAME)
    if mode == "helloother":
        out += fwd_frame(3, int(os.environ["GD_OTHER"]), bytes(8))
    return out


def opening(mode):
    if mode == "h2idle":
        return PREFACE
    if mode == "garbage":
        return b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    if mode == "bigpeer":
        return peer_header(0x50524E47, BIG_FRAME)
    if mode == "badpeer":
        return peer_header(0x21212121, 200)
    return b""


def has_goaway(data):
    off = 0
    while len(data) - off >= 9:
        flen = int.from_bytes(data[off:off + 3], "big")
        if data[off + 3] == 7:
            return True
        off += 9 + flen
    return False


def main():
    mode, host, port, n, stopfile, seconds = sys.argv[1:7]
    n, deadline = int(n), time.time() + float(seconds)
    socks, got, dead, sent = [], {}, set(), 0
    for _ in range(n):
        s = socket.create_connection((host, int(port)), timeout=5)
        out = greet(s, mode) if "hello" in mode else opening(mode)
        s.sendall(out)
        sent += len(out)
        s.setblocking(False)
        socks.append(s)
        got[s] = b""
    print("ready", flush=True)
    chunk = bytes(256 << 10)
    left = {s: BIG_SEND if mode == "bigpeer" else 0 for s in socks}
    while time.time() < deadline and not os.path.exists(stopfile):
        live = [s for s in socks if s not in dead]
        if not live:
            break
        writers = [s for s in live if left[s] > 0]
        r, w, _ = select.select(live, writers, [], 0.1)
        for s in r:
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            if d:
                got[s] += d
            else:
                dead.add(s)
        for s in w:
            if s in dead:
                continue
            try:
                k = s.send(chunk[:min(len(chunk), left[s])])
            except OSError:
                dead.add(s)
                continue
            left[s] -= k
            sent += k
    goaway = sum(1 for s in dead if has_goaway(got[s]))
    print("open %d closed %d goaway %d sent %d" %
          (len(socks), len(dead), goaway, sent), flush=True)


if __name__ == "__main__":
    main()
