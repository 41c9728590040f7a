# SPDX-License-Identifier: GPL-2.0
"""python3-etcd3 (Debian's) against a 3-member gnomond cluster: the
example a new user starts from, watch, watch_prefix, watch_once,
add_watch_callback, leases with refresh, and locks (acquire, release,
contention, a holder's lease running out, and several clients each
incrementing a counter under `with lock:`).  Prints KTAP.

The client is unmodified but for one adapter (tenacity_adapter below):
python3-etcd3 0.12's Lock.acquire hands tenacity a wait function of two
arguments (attempt number, seconds since the first attempt), the API of
tenacity before 5.0; Debian's tenacity 8 calls wait(retry_state), so the
first retry, that is any contention, raises TypeError ("wait() missing 1
required positional argument") in the client.  etcd 3.4.23 gets the same
TypeError from the same client: it is the client's bug, not the server's.

usage: python3 daemon_python_coord.py PORT1 PORT2
"""
import contextlib
import inspect
import os
import sys
import threading
import time

import etcd3
import etcd3.locks
import tenacity

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ktap import check, finish  # noqa: E402  (selftests/ktap.py)

class TenacityAdapter:
    """What etcd3.locks sees as tenacity: the real one, whose retry()
    turns a two-argument wait function into tenacity's one-argument
    form.  Lock.acquire's own logic (lease, create-revision txn, watch
    the key, retry until its timeout) runs unchanged."""

    def __getattr__(self, name):
        return getattr(tenacity, name)

    @staticmethod
    def retry(**kw):
        wait = kw.get("wait")
        if wait is not None and \
                len(inspect.signature(wait).parameters) == 2:
            kw["wait"] = lambda rs: wait(rs.attempt_number,
                                         rs.seconds_since_start)
        return tenacity.retry(**kw)


def tenacity_adapter():
    etcd3.locks.tenacity = TenacityAdapter()


def example(etcd):
    """The issue's example, as written."""
    etcd.put('/config/database/host', 'db.example.com')
    value, metadata = etcd.get('/config/database/host')
    check("example: put and get", value == b'db.example.com')
    t = etcd.transactions
    ok, _ = etcd.transaction(
        compare=[t.value('/config/database/host') == 'db.example.com'],
        success=[t.put('/config/database/port', '5432')],
        failure=[])
    check("example: transaction", ok)
    events_iterator, cancel = etcd.watch_prefix('/config/')
    threading.Timer(0.3, lambda: etcd.put('/config/x', 'y')).start()
    # Until a follower applies a write before relaying its answer (issue
    # 11, section 1), the transaction's own put may come first.
    for ev in events_iterator:
        if ev.key == b'/config/x':
            break
    cancel()
    check("example: watch_prefix", ev.key == b'/config/x' and
          ev.value == b'y', repr((ev.key, ev.value)))
    lease = etcd.lease(ttl=30)
    etcd.put('/services/api/instance-1', '192.168.1.10:8080', lease=lease)
    ttl = lease.refresh()[0].TTL
    check("example: lease and refresh", ttl == 30 and
          lease.keys == [b'/services/api/instance-1'], "ttl %r" % ttl)
    lock = etcd.lock('/locks/my-resource', ttl=30)
    with lock:
        check("example: with lock", lock.is_acquired())
    check("example: lock released", not lock.is_acquired())


def watches(c, c2):
    events = []
    it, cancel = c.watch('/wk')
    t = threading.Thread(target=lambda: events.extend(
        [e for _, e in zip(range(3), it)]))
    t.start()
    time.sleep(0.3)
    c2.put('/wk', 'a')
    c2.put('/wk', 'b')
    c2.delete('/wk')
    t.join(10)
    cancel()
    check("watch: put, put, delete from another member",
          [type(e).__name__ for e in events] ==
          ['PutEvent', 'PutEvent', 'DeleteEvent'] and
          [e.value for e in events[:2]] == [b'a', b'b'], repr(events))
    threading.Timer(0.3, lambda: c2.put('/once', 'v')).start()
    ev = c.watch_once('/once', timeout=10)
    check("watch_once", ev.key == b'/once' and ev.value == b'v')
    try:
        c.watch_once('/never', timeout=1)
        check("watch_once times out", False)
    except etcd3.exceptions.WatchTimedOut:
        check("watch_once times out", True)
    seen = []
    wid = c.add_watch_callback(
        '/cb', lambda r: seen.extend(e.value for e in r.events))
    c2.put('/cb', '1')
    c2.put('/cb', '2')
    for _ in range(50):
        if len(seen) == 2:
            break
        time.sleep(0.1)
    c.cancel_watch(wid)
    c2.put('/cb', '3')
    time.sleep(0.5)
    check("add_watch_callback, then cancel_watch", seen == [b'1', b'2'],
          repr(seen))
    rev = c.get('/cb')[1].mod_revision
    it, cancel = c.watch('/cb', start_revision=rev - 2)
    vals = [e.value for _, e in zip(range(3), it)]
    cancel()
    check("watch from a past revision", vals == [b'1', b'2', b'3'],
          repr(vals))


def locks(c, c2):
    a = c.lock('/locks/res', ttl=30)
    b = c2.lock('/locks/res', ttl=30)
    check("lock: acquire", a.acquire())
    t = c2.transactions
    taken, _ = c2.transaction(compare=[t.create(b.key) == 0],
                              success=[t.put(b.key, 'x')], failure=[])
    check("lock: contention, the recipe's txn fails while held", not taken)
    check("lock: release", a.release())
    check("lock: the other then acquires", b.acquire())
    b.release()
    # A holder that stops refreshing loses the lock after its TTL.
    short = c.lock('/locks/short', ttl=2)
    short.acquire()
    rev = c.get(short.key)[1].create_revision
    deadline = time.time() + 15
    while time.time() < deadline and short.is_acquired():
        time.sleep(0.2)
    check("lock: a holder that stops refreshing loses it",
          not short.is_acquired())
    nxt = c2.lock('/locks/short', ttl=30)
    check("lock: the next holder gets it", nxt.acquire())
    rev2 = c2.get(nxt.key)[1].create_revision
    check("lock: the fencing token (create revision) rose",
          rev2 > rev, "%d then %d" % (rev, rev2))
    nxt.release()


def counter(ports, locked, clients=4, rounds=3):
    """CLIENTS threads, each with its own client on one of PORTS, each
    ROUNDS times: `with lock:` read the counter, wait for the other
    clients to have read it too, write it back plus one.  Returns (the
    final value, bodies run, bodies run without holding the lock, client
    errors).
    Without the lock (locked False, the negative control) the wait ends
    only when every client has read, so each round's writes all carry
    the same value: updates are lost by construction.  With it, no other
    client can read while one holds, so the wait ends after 0.1 s."""
    key = "/counter/%s" % ("locked" if locked else "open")
    cs = [etcd3.client(host="127.0.0.1", port=ports[i % len(ports)],
                       timeout=10) for i in range(clients)]
    cs[0].put(key, "0")
    cv = threading.Condition()
    reads = [0]
    held, unheld, errors = [0], [0], []

    def one(c):
        lock = c.lock("counter", ttl=10) if locked else \
            contextlib.nullcontext()
        try:
            for r in range(1, rounds + 1):
                with lock:
                    if locked and not lock.is_acquired():
                        unheld[0] += 1
                    v = int(c.get(key)[0])
                    with cv:
                        reads[0] += 1
                        cv.notify_all()
                        cv.wait_for(lambda: reads[0] >= r * clients,
                                    0.1 if locked else None)
                    c.put(key, str(v + 1))
                    held[0] += 1
        except Exception as e:  # a client error fails the check
            errors.append(repr(e))
            with cv:
                reads[0] += rounds * clients
                cv.notify_all()

    ts = [threading.Thread(target=one, args=(c,)) for c in cs]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    # Not closed: a closed client's watch thread (watch_once's) dies
    # noisily trying to reconnect.
    return int(cs[0].get(key)[0]), held[0], unheld[0], errors


def contention(ports):
    n = 4 * 3
    final, acq, unheld, errors = counter(ports, True)
    check("lock contention: 4 clients, 3 rounds each, every with-lock "
          "body held the lock", acq == n and unheld == 0 and not errors,
          "%d of %d bodies, %d without the lock, errors %r" %
          (acq, n, unheld, errors))
    check("lock contention: the counter equals the acquisitions "
          "(no lost update)", final == acq, "%d, %d acquisitions" %
          (final, acq))
    final, acq, _, errors = counter(ports, False)
    check("lock contention, negative control: without the lock, "
          "updates are lost", final < acq and acq == n and not errors,
          "counter %d after %d increments, errors %r" %
          (final, acq, errors))


def main():
    p1, p2 = (int(p) for p in sys.argv[1:3])
    tenacity_adapter()
    c = etcd3.client(host="127.0.0.1", port=p1, timeout=10)
    c2 = etcd3.client(host="127.0.0.1", port=p2, timeout=10)
    for f, args in ((example, (c,)), (watches, (c, c2)), (locks, (c, c2)),
                    (contention, ((p1, p2),))):
        try:
            f(*args)
        except Exception as e:  # a client error is a failed test
            check("%s: no client error" % f.__name__, False, repr(e))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
