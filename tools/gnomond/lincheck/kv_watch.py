#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Watchers for the fault tests, and what they are judged against: every
event a watcher gets, and the committed history read back from the
cluster (watch_check.py compares the two).

usage: kv_watch.py watch --endpoints H:P,... --out DIR --spec SPEC...
                         [--stop-file F] [--grace S]
       kv_watch.py end --endpoints H:P,... --out F [--prefix P] [--keys N]
       kv_watch.py history --endpoints H:P,... --out F [--prefix P]
                         [--upto REV]

watch: one thread per SPEC "name=N,member=I,key=K[,prefix=1|,end=E]
[,start=R][,delay=S][,hop=S]" (member I of --endpoints, numbered from 1;
start 0: from now).  Each thread opens its own gRPC Watch stream on that member
(the raw etcdserverpb stubs of python3-etcd3, so that start_revision and
the created header are at hand) and logs to DIR/N.watch one JSON object a
line: the spec first, then "created" (with the header revision), each
event (rev, type put|del, key, value), "error" when the stream broke and
"canceled" when the member canceled it.  After an error or a cancel it
reconnects to the same member, as an etcd client resumes a watch, from
the last revision seen + 1 (or where it first started).  With hop=S it
instead moves on to the next member after an error, and also every S
seconds of its own accord ("hop"), as a client balancing its endpoints:
the members' histories must join without a seam.  A start of 0 is
pinned at the first created header's revision + 1, so a reconnect
without any event seen yet asks for exactly what the first stream would
have sent.  A thread stops once it saw an event at or past the revision
in --stop-file (written by `end`), or --grace seconds (default 30) after
that file appeared; the caller bounds the whole run.

end: one transaction puts "end" into every workload key (PREFIX0 ..
PREFIX(N-1)): an event at one revision for every watcher whose range holds
a workload key; writes that revision to F.

history: the committed events of PREFIX, revision by revision up to
--upto (default: the current revision), as JSON lines {rev, type, key,
value}, from linearizable reads of the range at each revision: a key
whose mod_revision is r was put at r, a key present at r-1 and gone at r
was deleted at r.  Watch plays no part in it.
"""
import argparse
import json
import os
import queue
import sys
import threading
import time

import grpc
from etcd3.etcdrpc import rpc_pb2, rpc_pb2_grpc

T0 = time.monotonic()


def prefix_end(key):
    b = bytearray(key.encode())
    while b and b[-1] == 0xff:
        b.pop()
    if not b:
        return b"\0"
    b[-1] += 1
    return bytes(b)


def channel(ep):
    return grpc.insecure_channel(ep)


class Watcher(threading.Thread):
    def __init__(self, spec, endpoints, out, stop_file, grace):
        super().__init__(daemon=True)
        self.spec = spec
        self.endpoints = endpoints
        self.idx = int(spec["member"]) - 1
        self.hop = float(spec.get("hop", "0"))
        self.hopping = False
        self.stream_t0 = 0
        self.key = spec["key"].encode()
        if spec.get("prefix") == "1":
            self.range_end = prefix_end(spec["key"])
        else:
            self.range_end = spec.get("end", "").encode()
        self.start_rev = int(spec.get("start", "0"))
        self.delay = float(spec.get("delay", "0"))
        self.stop_file, self.grace = stop_file, grace
        self.end_seen = None
        self.log = open(os.path.join(out, spec["name"] + ".watch"), "w")
        self.last = 0
        self.end_rev = None
        self.done = threading.Event()
        self.call = None
        self.lock = threading.Lock()

    def emit(self, obj):
        obj["t"] = round(time.monotonic() - T0, 3)
        self.log.write(json.dumps(obj, sort_keys=True) + "\n")
        self.log.flush()

    def stop_rev(self):
        if self.end_rev is None and self.stop_file:
            try:
                with open(self.stop_file) as f:
                    self.end_rev = int(f.read().strip() or 0) or None
            except (OSError, ValueError):
                pass
            if self.end_rev is not None:
                self.end_seen = time.monotonic()
        return self.end_rev

    def monitor(self):
        while not self.done.wait(0.2):
            r = self.stop_rev()
            late = (self.end_seen is not None and
                    time.monotonic() - self.end_seen > self.grace)
            with self.lock:
                if (self.hop and self.call is not None and not self.hopping
                        and time.monotonic() - self.stream_t0 > self.hop):
                    self.hopping = True
                    self.call.cancel()
            if late or (r is not None and self.last >= r):
                if late:
                    self.emit({"deadline": True, "last": self.last})
                self.done.set()
        with self.lock:
            if self.call is not None:
                self.call.cancel()

    def stream(self):
        reqs = queue.Queue()
        start = self.last + 1 if self.last else self.start_rev
        create = rpc_pb2.WatchCreateRequest(
            key=self.key, range_end=self.range_end, start_revision=start)
        reqs.put(rpc_pb2.WatchRequest(create_request=create))
        ch = channel(self.endpoints[self.idx])
        try:
            call = rpc_pb2_grpc.WatchStub(ch).Watch(iter(reqs.get, None))
            with self.lock:
                self.call = call
                self.stream_t0 = time.monotonic()
                self.hopping = False
            if self.done.is_set():
                call.cancel()
            for resp in call:
                if resp.created:
                    self.emit({"created": True, "start": start,
                               "header": resp.header.revision})
                    if start == 0:
                        self.start_rev = resp.header.revision + 1
                if resp.canceled:
                    self.emit({"canceled": True,
                               "compact": resp.compact_revision,
                               "reason": resp.cancel_reason})
                    return
                for ev in resp.events:
                    rev = ev.kv.mod_revision
                    self.emit({"rev": rev,
                               "type": "del" if ev.type == 1 else "put",
                               "key": ev.kv.key.decode(),
                               "value": ev.kv.value.decode()})
                    self.last = max(self.last, rev)
                r = self.stop_rev()
                if r is not None and self.last >= r:
                    self.done.set()
                    return
            self.emit({"error": "stream ended"})
        except grpc.RpcError as e:
            if self.hopping:
                self.emit({"hop": self.endpoints[self.idx]})
            elif not self.done.is_set():
                self.emit({"error": str(e.code())})
        finally:
            with self.lock:
                self.call = None
            reqs.put(None)
            ch.close()

    def run(self):
        time.sleep(self.delay)
        self.emit({"spec": self.spec, "key": self.key.decode(),
                   "range_end": self.range_end.decode("latin-1"),
                   "start": self.start_rev})
        threading.Thread(target=self.monitor, daemon=True).start()
        while not self.done.is_set():
            self.stream()
            if self.hop:
                self.idx = (self.idx + 1) % len(self.endpoints)
            if not self.done.is_set():
                time.sleep(0.2)
        self.emit({"stopped": True, "last": self.last})
        self.log.close()


def parse_spec(s):
    spec = dict(x.split("=", 1) for x in s.split(","))
    for need in ("name", "member", "key"):
        if need not in spec:
            sys.exit("spec %r: %s= missing" % (s, need))
    return spec


def kv_stub(endpoints):
    return rpc_pb2_grpc.KVStub(channel(endpoints[0]))


def retry(fn, tries=50):
    for i in range(tries):
        try:
            return fn()
        except grpc.RpcError:
            if i == tries - 1:
                raise
            time.sleep(0.2)


def end(a, endpoints):
    kv = kv_stub(endpoints)
    ops = [rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(
        key=("%s%d" % (a.prefix, i)).encode(), value=b"end"))
        for i in range(a.keys)]
    r = retry(lambda: kv.Txn(rpc_pb2.TxnRequest(success=ops), timeout=5))
    with open(a.out + ".tmp", "w") as f:
        f.write("%d\n" % r.header.revision)
    os.rename(a.out + ".tmp", a.out)
    print("end: revision %d" % r.header.revision)


def history(a, endpoints):
    kv = kv_stub(endpoints)
    key = a.prefix.encode()
    rend = prefix_end(a.prefix)

    def at(rev):
        return retry(lambda: kv.Range(rpc_pb2.RangeRequest(
            key=key, range_end=rend, revision=rev), timeout=5))

    upto = a.upto or at(0).header.revision
    before, n = {}, 0
    with open(a.out, "w") as f:
        for rev in range(1, upto + 1):
            now = {kv_.key.decode(): kv_ for kv_ in at(rev).kvs}
            evs = []
            for k, x in now.items():
                if x.mod_revision == rev:
                    evs.append({"rev": rev, "type": "put", "key": k,
                                "value": x.value.decode()})
            for k in before:
                if k not in now:
                    evs.append({"rev": rev, "type": "del", "key": k,
                                "value": ""})
            for e in sorted(evs, key=lambda e: e["key"]):
                f.write(json.dumps(e, sort_keys=True) + "\n")
                n += 1
            before = now
    print("history: %d events in %d revisions" % (n, upto))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("watch", "end", "history"))
    p.add_argument("--endpoints", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--spec", action="append", default=[])
    p.add_argument("--stop-file")
    p.add_argument("--grace", type=float, default=30)
    p.add_argument("--prefix", default="/lin/")
    p.add_argument("--keys", type=int, default=5)
    p.add_argument("--upto", type=int, default=0)
    a = p.parse_args()
    endpoints = a.endpoints.split(",")
    if a.mode == "end":
        return end(a, endpoints)
    if a.mode == "history":
        return history(a, endpoints)
    ws = [Watcher(parse_spec(s), endpoints, a.out, a.stop_file, a.grace)
          for s in a.spec]
    for w in ws:
        w.start()
    for w in ws:
        w.join()


if __name__ == "__main__":
    main()
