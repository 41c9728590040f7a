#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Client side of the gnomond-vs-etcd benchmarks (python3-etcd3).

usage: gnomond-kvbench.py reads ENDPOINT MODE SECONDS THREADS
       gnomond-kvbench.py load ENDPOINTS KEYS VALUE_BYTES THREADS

reads: THREADS threads read one existing key for SECONDS; MODE is
  linearizable or serializable.  Prints reads/s and the median and 99th
  percentile latency in microseconds.
load: write KEYS keys of VALUE_BYTES bytes in transactions of 128 puts,
  THREADS threads spread over the endpoints; prints keys/s.
"""
import sys
import threading
import time

import etcd3


def client(endpoint):
    host, port = endpoint.rsplit(":", 1)
    return etcd3.client(host=host, port=int(port), timeout=30)


def reads(endpoint, mode, seconds, threads):
    c = client(endpoint)
    c.put("/bench/read", "x" * 256)
    serializable = mode == "serializable"
    lat, lock = [], threading.Lock()
    end = time.monotonic() + seconds

    def run():
        cl = client(endpoint)
        mine = []
        while time.monotonic() < end:
            t0 = time.monotonic_ns()
            cl.get("/bench/read", serializable=serializable)
            mine.append(time.monotonic_ns() - t0)
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    lat.sort()
    print("reads/s %.0f p50_us %.0f p99_us %.0f" %
          (len(lat) / seconds, lat[len(lat) // 2] / 1000,
           lat[len(lat) * 99 // 100] / 1000))


def load(endpoints, keys, size, threads):
    eps = endpoints.split(",")
    value = "v" * size
    batches = list(range(0, keys, 128))
    next_batch, lock = [0], threading.Lock()

    def run(i):
        cl = client(eps[i % len(eps)])
        tx = cl.transactions
        while True:
            with lock:
                if next_batch[0] >= len(batches):
                    return
                start = batches[next_batch[0]]
                next_batch[0] += 1
            ops = [tx.put("/bench/k%08d" % k, value)
                   for k in range(start, min(start + 128, keys))]
            cl.transaction(compare=[], success=ops, failure=[])

    t0 = time.monotonic()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("keys/s %.0f" % (keys / (time.monotonic() - t0)))


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "reads":
        reads(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) == 6 and sys.argv[1] == "load":
        load(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
             int(sys.argv[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
