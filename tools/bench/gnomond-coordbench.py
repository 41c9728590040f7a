#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Client side of the coordination benchmarks (gnomond-coord-vs-etcd.sh).

usage: gnomond-coordbench.py lock ENDPOINT SECONDS CONTENDERS
       gnomond-coordbench.py recipe ENDPOINT SECONDS CONTENDERS
       gnomond-coordbench.py watch-latency ENDPOINT SECONDS
       gnomond-coordbench.py watch-fanout ENDPOINT WATCHERS CONNS PUTS
       gnomond-coordbench.py writes ENDPOINT SECONDS THREADS
       gnomond-coordbench.py hold ENDPOINT LEASES TTL WATCHERS

lock: CONTENDERS threads, each on its own connection with its own lease,
  acquire and release one lock name through the Lock service
  (v3lockpb.Lock/Lock then Unlock) for SECONDS; prints cycles/s and the
  median and 99th percentile of one cycle in microseconds.
recipe: the same with python3-etcd3's own lock (a client-side recipe:
  a lease, a create-revision Txn, watch_once while held elsewhere).
watch-latency: one watcher on one key and one writer, each on its own
  connection; from sending a put to its event arriving, median and p99.
watch-fanout: WATCHERS watchers of one key, spread over CONNS processes
  (one connection and one Watch stream each); PUTS puts to the key, sent
  at once; events delivered per second from the first put to the last
  event.
writes: THREADS threads put 256-byte values to distinct keys for SECONDS;
  writes/s, median and p99 in microseconds.
hold: grant LEASES leases of TTL seconds and keep every one alive on one
  LeaseKeepAlive stream (renewals start as the grants go on; each lease
  is then renewed every TTL/3 s); open WATCHERS watchers of distinct,
  unwritten keys on one Watch stream; print "ready" and hold until
  SIGTERM, then print the keepalive rate reached since "ready", how many
  answers said a lease had expired (TTL <= 0) and the longest time between
  the sending of two answered renewals of a lease (or of the last one and
  the revocation), and revoke them all.  A revocation answered NOT_FOUND is
  "late" if it was sent TTL or more after the sending of the last grant or
  keepalive answered for the lease (the lease may rightly have expired),
  "early" if its answer came back before that (gnomond let the lease go
  before the guarantee of Documentation/lease-safety.rst), and neither if
  it was sent before and answered after.

The Lock service is not in python3-etcd3: its messages are encoded by hand
with the helpers of its test, selftests/gnomond/daemon_lock_service.py
(LockRequest name = 1, lease = 2; LockResponse key = 2; UnlockRequest
key = 1).
"""
import collections
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time

import etcd3
import grpc
from etcd3.etcdrpc import rpc_pb2, rpc_pb2_grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "../../selftests/gnomond"))
# The Lock service test's protobuf helpers (selftests/gnomond).
from daemon_lock_service import field_bytes, field_int, parse  # noqa: E402


def channel(endpoint):
    return grpc.insecure_channel(endpoint)


def summary(lat, seconds, unit):
    lat.sort()
    if not lat:
        return "%s 0" % unit
    return "%s %.0f p50_us %.0f p99_us %.0f n %d" % (
        unit, len(lat) / seconds, lat[len(lat) // 2] / 1000,
        lat[len(lat) * 99 // 100] / 1000, len(lat))


def timed_threads(threads, seconds, body):
    """Run body(i, end) in THREADS threads; the latencies they return."""
    lat, lock = [], threading.Lock()
    end = time.monotonic() + seconds

    def run(i):
        mine = body(i, end)
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return lat


def lock(endpoint, seconds, contenders):
    def body(_, end):
        ch = channel(endpoint)
        grant = rpc_pb2_grpc.LeaseStub(ch).LeaseGrant(
            rpc_pb2.LeaseGrantRequest(TTL=60), timeout=30)
        lk = ch.unary_unary("/v3lockpb.Lock/Lock")
        unlk = ch.unary_unary("/v3lockpb.Lock/Unlock")
        req = field_bytes(1, b"/bench/lock") + field_int(2, grant.ID)
        mine = []
        while time.monotonic() < end:
            t0 = time.monotonic_ns()
            key = parse(lk(req, timeout=30)).get(2, b"")
            unlk(field_bytes(1, key), timeout=30)
            mine.append(time.monotonic_ns() - t0)
        return mine

    print(summary(timed_threads(contenders, seconds, body), seconds,
                  "cycles/s"))


def recipe(endpoint, seconds, contenders):
    host, port = endpoint.rsplit(":", 1)
    fails = [0]

    def body(_, end):
        c = etcd3.client(host=host, port=int(port), timeout=30)
        mine = []
        while time.monotonic() < end:
            lk = c.lock("/bench/recipe", ttl=60)
            t0 = time.monotonic_ns()
            if not lk.acquire(timeout=10):
                fails[0] += 1
                continue
            lk.release()
            mine.append(time.monotonic_ns() - t0)
        return mine

    print(summary(timed_threads(contenders, seconds, body), seconds,
                  "cycles/s"), "timeouts", fails[0])


class Watches:
    """One Watch stream; create() watchers, then count their events."""

    def __init__(self, endpoint):
        self.reqs = queue.Queue()
        self.call = rpc_pb2_grpc.WatchStub(channel(endpoint)).Watch(
            iter(self.reqs.get, None))

    def create(self, keys):
        for k in keys:
            self.reqs.put(rpc_pb2.WatchRequest(
                create_request=rpc_pb2.WatchCreateRequest(key=k)))
        created = 0
        for r in self.call:
            if r.created:
                created += 1
                if created == len(keys):
                    return

    def close(self):
        self.reqs.put(None)
        self.call.cancel()


def watch_latency(endpoint, seconds):
    w = Watches(endpoint)
    w.create([b"/bench/wl"])
    kv = rpc_pb2_grpc.KVStub(channel(endpoint))
    seen, cond = {}, threading.Condition()

    def reader():
        try:
            for r in w.call:
                now = time.monotonic_ns()
                with cond:
                    for e in r.events:
                        seen[int(e.kv.value)] = now
                    cond.notify()
        except grpc.RpcError:
            pass

    threading.Thread(target=reader, daemon=True).start()
    lat, i = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic_ns()
        kv.Put(rpc_pb2.PutRequest(key=b"/bench/wl", value=b"%d" % i),
               timeout=30)
        with cond:
            if not cond.wait_for(lambda: i in seen, timeout=30):
                sys.exit("watch-latency: event %d never came" % i)
            lat.append(seen.pop(i) - t0)
        i += 1
    w.close()
    print(summary(lat, seconds, "puts/s"))


def fanout_child(endpoint, watchers, puts, ready, go, out):
    w = Watches(endpoint)
    w.create([b"/bench/fan"] * watchers)
    ready.release()
    go.wait()
    want, got, last = watchers * puts, 0, 0
    for r in w.call:
        got += len(r.events)
        if got >= want:
            last = time.time_ns()
            break
    w.close()
    out.put((got, last))


def watch_fanout(endpoint, watchers, conns, puts):
    ready, go = multiprocessing.Semaphore(0), multiprocessing.Event()
    out = multiprocessing.Queue()
    per = [watchers // conns + (i < watchers % conns) for i in range(conns)]
    ps = [multiprocessing.Process(target=fanout_child,
                                  args=(endpoint, n, puts, ready, go, out))
          for n in per]
    for p in ps:
        p.start()
    for _ in ps:
        ready.acquire()
    kv = rpc_pb2_grpc.KVStub(channel(endpoint))
    go.set()
    t0 = time.time_ns()
    # All at once, so the put round trip does not bound the event rate.
    fs = [kv.Put.future(rpc_pb2.PutRequest(key=b"/bench/fan",
                                           value=b"%d" % i), timeout=60)
          for i in range(puts)]
    for f in fs:
        f.result()
    t_puts = time.time_ns()
    res = [out.get(timeout=300) for _ in ps]
    for p in ps:
        p.join()
    got = sum(g for g, _ in res)
    span = (max(t for _, t in res) - t0) / 1e9
    print("events/s %.0f events %d of %d seconds %.2f puts/s %.0f" % (
        got / span, got, watchers * puts, span,
        puts / ((t_puts - t0) / 1e9)))


def writes(endpoint, seconds, threads):
    value = b"v" * 256

    def body(i, end):
        kv = rpc_pb2_grpc.KVStub(channel(endpoint))
        mine, n = [], 0
        while time.monotonic() < end:
            t0 = time.monotonic_ns()
            kv.Put(rpc_pb2.PutRequest(key=b"/bench/w%d/%d" % (i, n),
                                      value=value), timeout=30)
            mine.append(time.monotonic_ns() - t0)
            n += 1
        return mine

    print(summary(timed_threads(threads, seconds, body), seconds,
                  "writes/s"))


def hold(endpoint, leases, ttl, watchers):
    ch = channel(endpoint)
    ids, stop, full = [], threading.Event(), threading.Event()
    # The longest time between the sending of two grants or keepalives
    # answered for a lease, or of the last one and the revocation: over
    # the TTL, it may rightly have expired.
    gap = [0.0]
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    reqs = queue.Queue(maxsize=1000)
    # Per lease: when the keepalives not answered yet left (taken by
    # grpc, not queued: a starved client queues them for seconds), and
    # when the last one answered with a TTL left.
    sent, answered = {}, {}

    def requests():
        for r in iter(reqs.get, None):
            sent[r.ID].append(time.monotonic())
            yield r

    ka = rpc_pb2_grpc.LeaseStub(ch).LeaseKeepAlive(requests())
    answers, expired = [0], [0]

    def reader():
        try:
            for r in ka:
                answers[0] += 1
                t = sent[r.ID].popleft() if sent.get(r.ID) else 0
                if r.TTL <= 0:
                    expired[0] += 1
                elif t > answered.get(r.ID, 0):
                    gap[0] = max(gap[0], t - answered[r.ID])
                    answered[r.ID] = t
        except grpc.RpcError:
            pass

    def renew():
        """Rounds of TTL/3 s, each renewing the leases granted before it
        began, spread over the round: a lease is renewed within 2/3 of
        its TTL of its grant, and then every TTL/3."""
        period = ttl / 3
        while not stop.is_set():
            start, n = time.monotonic(), len(ids)
            if n == leases:
                full.set()
            for i in range(n):
                delay = start + period * i / n - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    return
                reqs.put(rpc_pb2.LeaseKeepAliveRequest(ID=ids[i]))
            delay = start + (period if n else 0.1) - time.monotonic()
            if delay > 0:
                stop.wait(delay)

    threading.Thread(target=reader, daemon=True).start()
    renewer = threading.Thread(target=renew)
    renewer.start()
    grant = rpc_pb2_grpc.LeaseStub(ch).LeaseGrant
    t0 = time.monotonic()
    for start in range(0, leases, 100):
        t_sent = time.monotonic()
        fs = [grant.future(rpc_pb2.LeaseGrantRequest(TTL=ttl), timeout=60)
              for _ in range(start, min(start + 100, leases))]
        got = [f.result().ID for f in fs]
        for i in got:
            sent[i], answered[i] = collections.deque(), t_sent
        ids.extend(got)
    granted = time.monotonic() - t0
    w = None
    if watchers:
        w = Watches(endpoint)
        w.create([b"/bench/unwritten/%d" % i for i in range(watchers)])
    # Ready once a round renews them all.
    while not full.wait(1):
        if not renewer.is_alive():
            sys.exit("hold: the renewals stopped")
    print("ready leases %d (granted in %.1f s) watchers %d" % (
        len(ids), granted, watchers), flush=True)
    t1, before = time.monotonic(), answers[0]
    while not stop.wait(1):
        pass
    renewer.join(5)
    span = time.monotonic() - t1
    rate = (answers[0] - before) / span
    reqs.put(None)
    ka.cancel()
    if w:
        w.close()
    # Revoke them, so that no expiry runs into the next measurement.
    revoke = rpc_pb2_grpc.LeaseStub(ch).LeaseRevoke
    failed, error, late, early, unrenewed = 0, "", 0, 0, float("inf")
    for start in range(0, len(ids), 100):
        batch = ids[start:start + 100]
        t_sent = time.monotonic()
        fs = [revoke.future(rpc_pb2.LeaseRevokeRequest(ID=i), timeout=60)
              for i in batch]
        for i, f in zip(batch, fs):
            gap[0] = max(gap[0], t_sent - answered[i])
            try:
                f.result()
            except grpc.RpcError as e:
                failed, error = failed + 1, " (%s)" % e.code().name
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    continue
                late += t_sent - answered[i] >= ttl
                early += time.monotonic() - answered[i] < ttl
                unrenewed = min(unrenewed, t_sent - answered[i])
    print("keepalives/s %.0f expired %d of %d answers, leases %d,"
          " granted in %.1f s, longest renewal gap %.1f s,"
          " revoke failed %d%s, late %d early %d%s" % (
              rate, expired[0], answers[0], len(ids), granted, gap[0],
              failed, error, late, early,
              ", NOT_FOUND sent %.1f s or more unrenewed" % unrenewed
              if failed else ""), flush=True)


def main():
    a = sys.argv[1:]
    cmds = {
        ("lock", 4): lambda: lock(a[1], float(a[2]), int(a[3])),
        ("recipe", 4): lambda: recipe(a[1], float(a[2]), int(a[3])),
        ("watch-latency", 3): lambda: watch_latency(a[1], float(a[2])),
        ("watch-fanout", 5): lambda: watch_fanout(a[1], int(a[2]),
                                                  int(a[3]), int(a[4])),
        ("writes", 4): lambda: writes(a[1], float(a[2]), int(a[3])),
        ("hold", 5): lambda: hold(a[1], int(a[2]), int(a[3]), int(a[4])),
    }
    cmd = cmds.get((a[0] if a else "", len(a)))
    if not cmd:
        sys.exit(__doc__)
    cmd()


if __name__ == "__main__":
    main()
