# SPDX-License-Identifier: GPL-2.0
"""etcd's Election service (v3electionpb.Election) on a gnomond cluster,
called with grpcio directly: Campaign answers the LeaderKey, Leader
answers the leader's kv, Proclaim changes its value, a second candidate
(on another member) waits until the first resigns, Observe sees both
leaders, and Proclaim by a non-leader is refused with etcd's "election:
not leader".  Prints KTAP.

usage: python3 daemon_election_service.py PORT1 PORT2
"""
import os
import sys
import threading
import time

import etcd3
import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
from ktap import check, finish  # noqa: E402  (selftests/ktap.py)
from daemon_lock_service import field_bytes, field_int, parse  # noqa: E402

SVC = '/v3electionpb.Election/'


def stubs(port):
    ch = grpc.insecure_channel("127.0.0.1:%d" % port)
    ident = (lambda b: b)
    out = {m: ch.unary_unary(SVC + m, request_serializer=ident,
                             response_deserializer=ident)
           for m in ('Campaign', 'Proclaim', 'Leader', 'Resign')}
    out['Observe'] = ch.unary_stream(SVC + 'Observe',
                                     request_serializer=ident,
                                     response_deserializer=ident)
    return out


def refused(call, req, name, text):
    """Check that @call(@req) fails with etcd's @text."""
    try:
        call(req, timeout=10)
        check(name, False, "it succeeded")
    except grpc.RpcError as e:
        check(name, text in (e.details() or ""), e.details())


def leader_key(lk):
    """The LeaderKey message again, from its parsed fields."""
    return (field_bytes(1, lk.get(1, b'')) + field_bytes(2, lk.get(2, b'')) +
            field_int(3, lk.get(3, 0)) + field_int(4, lk.get(4, 0)))


def main():
    p1, p2 = (int(p) for p in sys.argv[1:3])
    e1, e2 = stubs(p1), stubs(p2)
    c = etcd3.client(host="127.0.0.1", port=p1, timeout=10)
    l1, l2 = c.lease(30), c.lease(30)

    seen = []
    obs = e2['Observe'](field_bytes(1, b'ele'), timeout=30)

    def observe():
        try:
            for m in obs:
                kv = parse(parse(m).get(2, b''))
                seen.append((kv.get(1), kv.get(5)))  # key, value
        except grpc.RpcError:
            pass
    ot = threading.Thread(target=observe)
    ot.start()

    r = parse(e1['Campaign'](field_bytes(1, b'ele') + field_int(2, l1.id) +
                             field_bytes(3, b'v1'), timeout=10))
    lk1 = parse(r.get(2, b''))
    rev1 = c.get(b'ele/%x' % l1.id)[1].create_revision
    check("Campaign answers the LeaderKey {name, key, rev, lease}",
          lk1.get(1) == b'ele' and lk1.get(2) == b'ele/%x' % l1.id and
          lk1.get(3) == rev1 and lk1.get(4) == l1.id, repr(lk1))
    kv = parse(parse(e2['Leader'](field_bytes(1, b'ele'),
                                  timeout=10)).get(2, b''))
    check("Leader (other member) answers the leader's kv",
          kv.get(1) == b'ele/%x' % l1.id and kv.get(5) == b'v1', repr(kv))
    e1['Proclaim'](field_bytes(1, leader_key(lk1)) + field_bytes(2, b'v2'),
                   timeout=10)
    check("Proclaim by the leader changes the value",
          c.get(b'ele/%x' % l1.id)[0] == b'v2')

    got = {}

    def second():
        got['r'] = parse(e2['Campaign'](field_bytes(1, b'ele') +
                                        field_int(2, l2.id) +
                                        field_bytes(3, b'w1'), timeout=20))
        got['t'] = time.time()
    t = threading.Thread(target=second)
    t.start()
    time.sleep(1.5)
    check("a second Campaign (other member) waits while the first leads",
          'r' not in got)
    lk2_early = {1: b'ele', 2: b'ele/%x' % l2.id, 4: l2.id,
                 3: c.get(b'ele/%x' % l2.id)[1].create_revision}
    refused(e2['Proclaim'], field_bytes(1, leader_key(lk2_early)) +
            field_bytes(2, b'x'), "Proclaim by a waiting candidate is refused",
            "election: not leader")
    resigned = time.time()
    e1['Resign'](field_bytes(1, leader_key(lk1)), timeout=10)
    t.join(20)
    lk2 = parse(got.get('r', {}).get(2, b''))
    check("Resign lets the second candidate lead",
          lk2.get(2) == b'ele/%x' % l2.id and got['t'] >= resigned,
          repr(lk2))
    check("the first leader's key is gone",
          c.get(b'ele/%x' % l1.id)[0] is None)
    refused(e1['Proclaim'], field_bytes(1, leader_key(lk1)) +
            field_bytes(2, b'v3'), "Proclaim by the resigned leader is refused",
            "election: not leader")
    deadline = time.time() + 10
    while time.time() < deadline and (b'ele/%x' % l2.id, b'w1') not in seen:
        time.sleep(0.1)
    obs.cancel()
    ot.join(10)
    check("Observe sees the first leader, its proclaimed value, then the "
          "second leader",
          seen[:3] == [(b'ele/%x' % l1.id, b'v1'), (b'ele/%x' % l1.id, b'v2'),
                       (b'ele/%x' % l2.id, b'w1')], repr(seen))
    c.revoke_lease(l2.id)
    refused(e1['Leader'], field_bytes(1, b'ele'),
            "Leader with no candidate: election: no leader",
            "election: no leader")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
