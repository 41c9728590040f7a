# SPDX-License-Identifier: GPL-2.0
"""etcd's Lock service (v3lockpb.Lock) on a gnomond cluster, called with
grpcio directly (no client library has it): Lock returns the holder's
key, a second Lock on the same name waits until Unlock, its key's create
revision (the fencing token) is higher, and a lock whose lease expires
passes on by itself.  Prints KTAP.

usage: python3 daemon_lock_service.py PORT1 PORT2
"""
import os
import sys
import threading
import time

import etcd3
import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ktap import check, finish  # noqa: E402  (selftests/ktap.py)


def varint(n):
    out = b''
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_int(num, v):
    return varint(num << 3) + varint(v)


def parse(buf):
    """Top-level fields of a protobuf message: {number: value}."""
    out, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            out[num], i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            out[num], i = buf[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wt)
    return out


def read_varint(buf, i):
    v, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def main():
    p1, p2 = (int(p) for p in sys.argv[1:3])
    ident = (lambda b: b)
    calls = []
    for p in (p1, p2):
        ch = grpc.insecure_channel("127.0.0.1:%d" % p)
        calls.append((
            ch.unary_unary('/v3lockpb.Lock/Lock', request_serializer=ident,
                           response_deserializer=ident),
            ch.unary_unary('/v3lockpb.Lock/Unlock',
                           request_serializer=ident,
                           response_deserializer=ident)))
    c = etcd3.client(host="127.0.0.1", port=p1, timeout=10)
    l1, l2 = c.lease(30), c.lease(30)
    lock1, unlock1 = calls[0]
    lock2, _ = calls[1]
    r = parse(lock1(field_bytes(1, b'res') + field_int(2, l1.id),
                    timeout=10))
    key1 = r.get(2, b'')
    check("Lock returns the holder's key name/<lease in hex>",
          key1 == b'res/%x' % l1.id, repr(key1))
    rev1 = c.get(key1)[1].create_revision
    got = {}

    def second():
        got['r'] = parse(lock2(field_bytes(1, b'res') + field_int(2, l2.id),
                               timeout=20))
        got['t'] = time.time()
    t = threading.Thread(target=second)
    t.start()
    time.sleep(1.5)
    check("a second Lock (other member) waits while the lock is held",
          'r' not in got)
    released = time.time()
    unlock1(field_bytes(1, key1), timeout=10)
    t.join(20)
    key2 = got.get('r', {}).get(2, b'')
    check("Unlock lets it through", key2 == b'res/%x' % l2.id and
          got['t'] >= released, repr(key2))
    rev2 = c.get(key2)[1].create_revision if key2 else 0
    check("its fencing token is higher", rev2 > rev1,
          "%d then %d" % (rev1, rev2))
    try:
        lock1(field_bytes(1, b'res') + field_int(2, 12345), timeout=10)
        check("Lock with a missing lease fails", False)
    except grpc.RpcError as e:
        check("Lock with a missing lease fails",
              "requested lease not found" in e.details(), e.details())
    # The holder's lease runs out: the waiter gets the lock by itself.
    short = c.lease(2)
    parse(lock1(field_bytes(1, b'exp') + field_int(2, short.id), timeout=10))
    start = time.time()
    r = parse(lock2(field_bytes(1, b'exp') + field_int(2, l1.id), timeout=20))
    check("an expired holder's lock passes on after its TTL",
          r.get(2) == b'exp/%x' % l1.id and time.time() - start > 1,
          "%.1f s" % (time.time() - start))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
