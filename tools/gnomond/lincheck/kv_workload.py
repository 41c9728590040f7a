#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Record a history of concurrent key-value operations against an etcd v3
endpoint set (etcd or gnomond), in gnomon-lincheck's text format.

usage: kv_workload.py --endpoints H:P,H:P,... --out FILE [--clients N]
                      [--keys N] [--duration S] [--timeout S] [--prefix P]
                      [--serializable-reads] [--sticky]
       kv_workload.py --inject-stale IN OUT

Each client is a thread with its own python3-etcd3 connection, first to
endpoint (i mod n) and, after any error, to the next one (with --sticky,
it stays).  --serializable-reads makes every get serializable: answered
from the asked member's own state, which is not linearizable; the tests
use it to show that the whole pipeline catches a real stale read.  It loops over
random operations on a few keys: linearizable get, put of a unique value,
compare-and-swap (a transaction comparing the value it last saw), delete.
Times come from CLOCK_MONOTONIC, shared by all threads, read just before a
request is sent and just after its answer arrives, so each interval
contains the instant the operation took effect.  A request that fails or
times out is recorded with an unknown outcome (st=info): it may have been
applied.  The run stops after --duration seconds; a request then still in
flight is bounded by --timeout.

--inject-stale copies a history and appends one read, after everything
else, of the first value written to a key that was later overwritten: a
stale read that the checker must reject.
"""
import argparse
import random
import sys
import threading
import time

import etcd3

T0 = time.monotonic_ns()


def now():
    return time.monotonic_ns() - T0


class Client(threading.Thread):
    def __init__(self, cid, args, endpoints, lines, lock, stop):
        super().__init__(daemon=True)
        self.cid, self.args, self.endpoints = cid, args, endpoints
        self.lines, self.lock, self.stop = lines, lock, stop
        self.ep = cid % len(endpoints)
        self.seq = 0
        self.pending = None
        self.conn = None
        self.seen = {}
        self.rng = random.Random(cid * 7919 + int(T0))

    def connect(self):
        host, port = self.endpoints[self.ep].rsplit(":", 1)
        self.conn = etcd3.client(host=host, port=int(port),
                                 timeout=self.args.timeout)

    def record(self, fields, t0, t1, st):
        line = "c=%d %s t0=%d" % (self.cid, fields, t0)
        if st != "info":
            line += " t1=%d" % t1
        line += " st=" + st
        with self.lock:
            self.pending = None
            if not self.stop.closed:
                self.lines.append(line)

    def one(self):
        key = "%s%d" % (self.args.prefix, self.rng.randrange(self.args.keys))
        r = self.rng.random()
        self.seq += 1
        val = "c%d-%d" % (self.cid, self.seq)
        old = self.seen.get(key, "")
        if r < 0.45:
            fields = None
        elif r < 0.80:
            fields = "op=put k=%s v=%s" % (key, val)
        elif r < 0.95:
            fields = "op=cas k=%s from=%s v=%s" % (key, old, val)
        else:
            fields = "op=del k=" + key
        t0 = now()
        with self.lock:
            self.pending = (fields, t0)
        try:
            if r < 0.45:
                got, _ = self.conn.get(
                    key, serializable=self.args.serializable_reads)
                t1 = now()
                got = got.decode() if got is not None else ""
                self.seen[key] = got
                self.record("op=get k=%s v=%s" % (key, got), t0, t1, "ok")
            elif r < 0.80:
                self.conn.put(key, val)
                self.record(fields, t0, now(), "ok")
            elif r < 0.95:
                tx = self.conn.transactions
                if old:
                    cmp = [tx.value(key) == old]
                else:
                    cmp = [tx.version(key) == 0]
                ok, _ = self.conn.transaction(compare=cmp,
                                              success=[tx.put(key, val)],
                                              failure=[])
                self.record(fields + " swapped=%d" % (1 if ok else 0),
                            t0, now(), "ok")
            else:
                self.conn.delete(key)
                self.record(fields, t0, now(), "ok")
        except Exception:  # any failure: the outcome is unknown
            if fields:
                self.record(fields, t0, 0, "info")
            else:
                self.record("op=get k=" + key, t0, 0, "info")
            if not self.args.sticky:
                self.ep = (self.ep + 1) % len(self.endpoints)
                self.conn = None
            time.sleep(0.05)

    def run(self):
        while not self.stop.is_set():
            try:
                if self.conn is None:
                    self.connect()
            except Exception:
                time.sleep(0.1)
                continue
            self.one()


def inject_stale(src, dst):
    first, last, t_end = {}, {}, 0
    with open(src) as f:
        lines = f.read().splitlines()
    for line in lines:
        kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
        if kv.get("st") != "ok" or kv.get("op") != "put":
            continue
        first.setdefault(kv["k"], kv["v"])
        last[kv["k"]] = kv["v"]
        t_end = max(t_end, int(kv["t1"]))
    for key in first:
        if first[key] != last[key]:
            break
    else:
        sys.exit("no key was overwritten")
    with open(dst, "w") as f:
        f.write("\n".join(lines) + "\n")
        f.write("c=999999 op=get k=%s v=%s t0=%d t1=%d st=ok\n" %
                (key, first[key], t_end + 1, t_end + 2))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoints")
    p.add_argument("--out")
    p.add_argument("--clients", type=int, default=6)
    p.add_argument("--keys", type=int, default=6)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--timeout", type=float, default=1.0)
    p.add_argument("--prefix", default="/lin/")
    p.add_argument("--serializable-reads", action="store_true")
    p.add_argument("--sticky", action="store_true")
    p.add_argument("--inject-stale", nargs=2, metavar=("IN", "OUT"))
    a = p.parse_args()
    if a.inject_stale:
        inject_stale(*a.inject_stale)
        return
    if not a.endpoints or not a.out:
        p.error("--endpoints and --out are required")
    endpoints = a.endpoints.split(",")
    lines, lock, stop = [], threading.Lock(), threading.Event()
    stop.closed = False
    clients = [Client(i + 1, a, endpoints, lines, lock, stop)
               for i in range(a.clients)]
    for c in clients:
        c.start()
    time.sleep(a.duration)
    stop.set()
    for c in clients:
        c.join(a.timeout + 2)
    with lock:
        # Requests still unanswered may yet be applied: unknown outcome.
        for c in clients:
            if c.pending and c.pending[0]:
                lines.append("c=%d %s t0=%d st=info" % (c.cid, *c.pending))
        stop.closed = True
        snapshot = list(lines)
    with open(a.out, "w") as f:
        f.write("# %d clients, %d keys, %.0f s against %s\n" %
                (a.clients, a.keys, a.duration, a.endpoints))
        f.write("\n".join(snapshot) + "\n")
    ok = sum(1 for x in snapshot if x.endswith("st=ok"))
    print("workload: %d operations, %d completed, %d unknown" %
          (len(snapshot), ok, len(snapshot) - ok))


if __name__ == "__main__":
    main()
