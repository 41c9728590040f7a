#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Set a test VM's CLOCK_REALTIME from the host's, over the test's network.

The multi-host fencing test (multihost_test.sh) compares instants taken on
three clocks: each guest's TT.now() (its kernel lease, its agent's wait for
E) and the gnomond members' (E itself).  A guest boots with its clock read
from the emulated RTC, whole seconds only, so it can be a second off: far
outside the error its TT.now() claims.  This puts it right.

    multihost_clock.py serve ADDR PORT     host side: answer each UDP
                                           datagram with CLOCK_REALTIME ns
    multihost_clock.py sync ADDR PORT      guest side: the exchange with the
                                           shortest round trip of 16 sets
                                           the clock to the server's time at
                                           its midpoint, again until what is
                                           left is under 0.5 ms (8 times at
                                           most); prints "offset_ns rtt_ns"
                                           measured after
    multihost_clock.py check ADDR PORT     prints "offset_ns rtt_ns" only
    multihost_clock.py step SECONDS        steps this clock by SECONDS (the
                                           test's "clock step" fault);
                                           prints the time just before, s

One step leaves some of the offset behind in the TCG guests (a quarter of
it, measured); the steps repeat until it is gone.  The error after a sync
is at most what `check` measures plus half the round trip; at the end of a
run `check` shows how far the guest's clock drifted.
"""
import socket
import sys
import time


def serve(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(64)
        s.sendto(str(time.clock_gettime_ns(time.CLOCK_REALTIME)).encode(), peer)


def best_exchange(addr, port, rounds=16):
    """(offset_ns, rtt_ns) of the shortest of `rounds` exchanges: the
    server's time minus the midpoint of ours."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    best = None
    for _ in range(rounds):
        t0 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        try:
            s.sendto(b"t", (addr, port))
            data, _peer = s.recvfrom(64)
        except socket.timeout:
            continue
        t1 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        rtt = t1 - t0
        if best is None or rtt < best[1]:
            best = (int(data) - (t0 + t1) // 2, rtt)
    if best is None:
        sys.exit("multihost_clock: no answer from %s:%d" % (addr, port))
    return best


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "step":
        now = time.clock_gettime_ns(time.CLOCK_REALTIME)
        time.clock_settime_ns(time.CLOCK_REALTIME,
                              now + int(float(sys.argv[2]) * 1e9))
        print("%d.%09d" % divmod(now, 1000000000))
        return
    if len(sys.argv) != 4 or sys.argv[1] not in ("serve", "sync", "check"):
        sys.exit(__doc__)
    addr, port = sys.argv[2], int(sys.argv[3])
    if sys.argv[1] == "serve":
        serve(addr, port)
    off, rtt = best_exchange(addr, port)
    steps = 8 if sys.argv[1] == "sync" else 0
    while steps and abs(off) + rtt // 2 >= 500000:
        now = time.clock_gettime_ns(time.CLOCK_REALTIME)
        time.clock_settime_ns(time.CLOCK_REALTIME, now + off)
        off, rtt = best_exchange(addr, port)
        steps -= 1
    print(off, rtt)


if __name__ == "__main__":
    main()
