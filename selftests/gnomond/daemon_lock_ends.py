# SPDX-License-Identifier: GPL-2.0
"""gnomond's LockResponse fields 1000-1002 (gnomon_token, gnomon_prev_end_ns,
gnomon_prev_token) on a running cluster, called with grpcio directly.
Driven by daemon_lock_ends.sh in two phases around a leader kill:

  first LEADER_PORT FOLLOWER_PORT STATE
      A locks (token T_A = its key's create revision), renews its lease
      once, its lease is revoked; B locks and gets P = T_A and E >= the
      instant A's keepalive was sent + TTL (the leader renews at its
      TT.now().latest, which is no earlier) and no later than its answer
      + TTL + SLACK.  Then B renews and is revoked too: STATE keeps B's
      token and times.
  second PORT STATE   (after the old leader was killed)
      C locks on a surviving member: P = T_B and E within B's window:
      the old leader's value, replicated.
Prints KTAP.  Times are the test's CLOCK_REALTIME: gnomond's clock here is
gnomon-syncd's static source on this host with a 1 ms error bound.
"""
import json
import os
import sys
import time

import etcd3
import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from daemon_lock_service import field_bytes, field_int, parse  # noqa: E402
from ktap import check, finish  # noqa: E402  (selftests/ktap.py)

SLACK_NS = 500 * 1000 * 1000    # the answer's trip back, the 1 ms bound
TOKEN, PREV_END, PREV_TOKEN = 1000, 1001, 1002


def lock_call(port):
    ch = grpc.insecure_channel("127.0.0.1:%d" % port)
    return ch.unary_unary('/v3lockpb.Lock/Lock',
                          request_serializer=lambda b: b,
                          response_deserializer=lambda b: b)


def lock(port, name, lease):
    return parse(lock_call(port)(field_bytes(1, name) + field_int(2, lease),
                                 timeout=20))


def renew_and_revoke(lease):
    """One keepalive, then a revoke: the window of the leader's renewal."""
    sent = time.time_ns()
    lease.refresh()
    answered = time.time_ns()
    lease.revoke()
    return sent, answered


def in_window(what, end, sent, answered, ttl_ns):
    check(what, sent + ttl_ns <= end <= answered + ttl_ns + SLACK_NS,
          "E %d, window [%d, %d]" % (end, sent + ttl_ns,
                                     answered + ttl_ns + SLACK_NS))


def first(p1, p2, state):
    c = etcd3.client(host="127.0.0.1", port=p1, timeout=10)
    la, lb = c.lease(5), c.lease(5)
    ttl_ns = la.granted_ttl * 10**9
    a = lock(p1, b'ends', la.id)
    tok_a = c.get(a.get(2, b''))[1].create_revision
    check("the first holder gets gnomon_token = its key's create revision",
          a.get(TOKEN) == tok_a, "%s vs %s" % (a.get(TOKEN), tok_a))
    check("and no previous holder (E = P = 0)",
          a.get(PREV_END, 0) == 0 and a.get(PREV_TOKEN, 0) == 0, repr(a))
    sent_a, ans_a = renew_and_revoke(la)
    b = lock(p2, b'ends', lb.id)
    check("the next holder (on a follower) gets P = A's token",
          b.get(PREV_TOKEN) == tok_a,
          "%s vs %s" % (b.get(PREV_TOKEN), tok_a))
    in_window("and E = A's last renewal + TTL", b.get(PREV_END, 0), sent_a,
              ans_a, ttl_ns)
    check("its own token is higher", b.get(TOKEN, 0) > tok_a, repr(b))
    sent_b, ans_b = renew_and_revoke(lb)
    with open(state, "w") as f:
        json.dump({"tok_b": b.get(TOKEN, 0), "sent": sent_b,
                   "answered": ans_b, "ttl_ns": ttl_ns,
                   "end_a": b.get(PREV_END, 0)}, f)


def second(port, state):
    with open(state) as f:
        st = json.load(f)
    c = etcd3.client(host="127.0.0.1", port=port, timeout=10)
    lc = c.lease(5)
    r = lock(port, b'ends', lc.id)
    check("after the leader's death, the next holder gets P = B's token",
          st["tok_b"] and r.get(PREV_TOKEN) == st["tok_b"],
          "%s vs %s" % (r.get(PREV_TOKEN), st["tok_b"]))
    in_window("and E = B's renewal + TTL, as the old leader knew it",
              r.get(PREV_END, 0), st["sent"], st["answered"], st["ttl_ns"])
    check("E is the running max over A and B",
          r.get(PREV_END, 0) >= st["end_a"] > 0)
    lc.revoke()


def main():
    if sys.argv[1] == "first":
        first(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        second(int(sys.argv[2]), sys.argv[3])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
