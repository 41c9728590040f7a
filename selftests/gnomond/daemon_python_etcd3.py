# SPDX-License-Identifier: GPL-2.0
"""python3-etcd3 (Debian's), unmodified, against a 3-member gnomond
cluster: every member in turn (followers forward to the leader) does put,
get, delete and transactions with value, version, create and mod revision
compares.  Prints KTAP.

usage: python3 daemon_python_etcd3.py PORT1 PORT2 PORT3
"""
import os
import sys

import etcd3

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ktap import check, finish  # noqa: E402  (selftests/ktap.py)


def member(port, i):
    c = etcd3.client(host="127.0.0.1", port=port, timeout=10)
    k = "/py/%d" % i
    c.put(k, "a")
    c.put(k, "b")
    value, meta = c.get(k)
    check("member %d: put, put, get" % i,
          value == b"b" and meta.version == 2, "got %r" % (value,))
    t = c.transactions
    ok, _ = c.transaction(
        compare=[t.value(k) == "b", t.version(k) == 2,
                 t.create(k) == meta.create_revision,
                 t.mod(k) == meta.mod_revision],
        success=[t.put(k + "/txn", "yes")],
        failure=[t.put(k + "/txn", "no")])
    check("member %d: txn with value, version, create, mod compares" % i,
          ok and c.get(k + "/txn")[0] == b"yes")
    ok, _ = c.transaction(compare=[t.value(k) == "zzz"],
                          success=[t.put(k + "/txn", "yes2")],
                          failure=[t.put(k + "/txn", "no")])
    check("member %d: failing compare takes the failure branch" % i,
          not ok and c.get(k + "/txn")[0] == b"no")
    check("member %d: delete" % i,
          c.delete(k) and c.get(k)[0] is None)
    c.close()


def main():
    ports = [int(p) for p in sys.argv[1:]]
    for i, port in enumerate(ports, 1):
        try:
            member(port, i)
        except Exception as e:  # a client error is a failed test
            check("member %d: no client error" % i, False, repr(e))
    # Every write went through Raft: all members see all of them.
    for i, port in enumerate(ports, 1):
        c = etcd3.client(host="127.0.0.1", port=port, timeout=10)
        keys = sorted(m.key for _, m in c.get_prefix("/py/"))
        check("member %d sees every member's writes" % i,
              keys == [b"/py/%d/txn" % j for j in range(1, len(ports) + 1)],
              "got %r" % (keys,))
        c.close()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
