#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Small TCP peers for the stamping tests, each bounded in time.

  tcp_peer.py serve PORT ROUNDS       accept one connection, echo ROUNDS
                                      messages back, then close
  tcp_peer.py ping HOST PORT ROUNDS   connect, send ROUNDS messages, each
                                      after the previous echo came back
  tcp_peer.py relay PORT HOST PORT2   accept one message on PORT, pass it on
                                      to HOST:PORT2
  tcp_peer.py sink PORT COUNT         accept COUNT connections, read each
                                      to the end, print "received BYTES"
  tcp_peer.py send HOST PORT [FILE]   connect, send one message, close; with
                                      FILE, wait for FILE to exist before
                                      sending (at most 20 seconds)

A listener prints "listening" once it is ready.  Every socket has a
20 second timeout, so a broken peer ends the test instead of hanging it.
"""
import os
import socket
import sys
import time

TIMEOUT = 20.0
MSG = b"gnomon!\n"


def listen(port):
    # Dual-stack, as many servers are: IPv4 peers show up IPv4-mapped.
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.settimeout(TIMEOUT)
    s.bind(("::", port))
    s.listen(8)
    print("listening", flush=True)
    return s


def connect(host, port):
    c = socket.create_connection((host, port), timeout=TIMEOUT)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def read_exact(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            raise EOFError("peer closed early")
        buf += chunk
    return buf


def main(argv):
    mode = argv[1]
    if mode == "serve":
        s = listen(int(argv[2]))
        c, _ = s.accept()
        c.settimeout(TIMEOUT)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(int(argv[3])):
            c.sendall(read_exact(c, len(MSG)))
        c.close()
    elif mode == "ping":
        c = connect(argv[2], int(argv[3]))
        for _ in range(int(argv[4])):
            c.sendall(MSG)
            read_exact(c, len(MSG))
        c.close()
    elif mode == "relay":
        s = listen(int(argv[2]))
        c, _ = s.accept()
        c.settimeout(TIMEOUT)
        msg = read_exact(c, len(MSG))
        out = connect(argv[3], int(argv[4]))
        out.sendall(msg)
        out.close()
        c.close()
    elif mode == "sink":
        s = listen(int(argv[2]))
        total = 0
        for _ in range(int(argv[3])):
            c, _ = s.accept()
            c.settimeout(TIMEOUT)
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                total += len(chunk)
            c.close()
        print("received %d" % total, flush=True)
    elif mode == "send":
        c = connect(argv[2], int(argv[3]))
        if len(argv) > 4:
            for _ in range(200):
                if os.path.exists(argv[4]):
                    break
                time.sleep(0.1)
            else:
                raise SystemExit("no go signal " + argv[4])
        c.sendall(MSG)
        c.close()
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
