# SPDX-License-Identifier: GPL-2.0
"""python3-etcd3 (Debian's, over grpcio), unmodified, against gnomond's etcd
API: put, get, get_prefix, get_range, delete, delete_prefix, transactions
with value, version, create and mod revision compares, put_if_not_exists,
replace, members, status, defragment, alarms, compact, large values, and
etcd's errors.  Prints KTAP.

usage: python3 api_python_etcd3.py PORT
"""
import os
import sys

import etcd3
import etcd3.exceptions

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ktap import check, finish  # noqa: E402  (selftests/ktap.py)


def run(port):
    c = etcd3.client(host="127.0.0.1", port=port, timeout=10)
    c.put("/py/a", "1")
    value, meta = c.get("/py/a")
    check("put then get", value == b"1" and meta.version == 1,
          "got %r" % (value,))
    c.put("/py/a", "2")
    value, meta = c.get("/py/a")
    check("second put bumps version and mod revision",
          value == b"2" and meta.version == 2 and
          meta.mod_revision > meta.create_revision,
          "version %d" % meta.version)
    created, modified = meta.create_revision, meta.mod_revision

    t = c.transactions
    ok, _ = c.transaction(compare=[t.value("/py/a") == "2"],
                          success=[t.put("/py/b", "yes")],
                          failure=[t.put("/py/b", "no")])
    check("txn value == takes success", ok and c.get("/py/b")[0] == b"yes")
    ok, _ = c.transaction(compare=[t.version("/py/a") > 5],
                          success=[t.put("/py/b", "yes2")],
                          failure=[t.put("/py/b", "no")])
    check("txn version > takes failure", not ok and c.get("/py/b")[0] == b"no")
    ok, _ = c.transaction(compare=[t.create("/py/a") == created,
                                   t.mod("/py/a") == modified],
                          success=[t.get("/py/a")], failure=[])
    check("txn create and mod revision ==", ok)
    ok, _ = c.transaction(compare=[t.mod("/py/a") < modified],
                          success=[], failure=[t.delete("/py/b")])
    check("txn mod < false runs failure delete",
          not ok and c.get("/py/b")[0] is None)
    ok, _ = c.transaction(compare=[t.value("/py/missing") == ""],
                          success=[], failure=[])
    check("value compare on a missing key is false (as etcd)", not ok)
    ok, _ = c.transaction(compare=[t.version("/py/missing") == 0],
                          success=[], failure=[])
    check("version compare on a missing key sees 0", ok)

    for i in range(5):
        c.put("/py/list/%d" % i, str(i))
    got = sorted(v for v, _ in c.get_prefix("/py/list/"))
    check("get_prefix", got == [b"0", b"1", b"2", b"3", b"4"], repr(got))
    got = [m.key for _, m in c.get_range("/py/list/1", "/py/list/3")]
    check("get_range", got == [b"/py/list/1", b"/py/list/2"], repr(got))
    check("delete existing", c.delete("/py/a") is True)
    check("delete missing", c.delete("/py/a") is False)
    check("deleted key reads None", c.get("/py/a") == (None, None))
    check("delete_prefix", c.delete_prefix("/py/list/").deleted == 5)
    st = c.status()
    check("status", st.version and st.db_size > 0 and
          st.raft_term == 1, repr(st.version))
    check("put_if_not_exists on a new key", c.put_if_not_exists("/py/n", "1"))
    check("put_if_not_exists on an existing key",
          not c.put_if_not_exists("/py/n", "2") and c.get("/py/n")[0] == b"1")
    check("replace with the right old value", c.replace("/py/n", "1", "3"))
    check("replace with a wrong old value",
          not c.replace("/py/n", "1", "4") and c.get("/py/n")[0] == b"3")
    check("members", [m.name for m in c.members] == ["gnomond-api-test"])
    c.defragment()
    check("defragment", True)
    check("no alarms", list(c.list_alarms()) == [])

    big = b"x" * (1400 * 1024)  # under etcd's 1.5 MiB request limit
    c.put("/py/big", big)
    check("a 1.4 MiB value round-trips", c.get("/py/big")[0] == big)
    try:
        c.put("/py/big2", b"y" * (1600 * 1024))
    except Exception as e:
        check("a 1.6 MiB put is etcd's 'request is too large'",
              "etcdserver: request is too large" in str(e), str(e)[:200])
    else:
        check("a 1.6 MiB put is etcd's 'request is too large'", False,
              "accepted")
    c.delete("/py/big")

    rev = c.put("/py/c", "x").header.revision
    c.compact(rev)
    check("compact at the current revision", c.get("/py/c")[0] == b"x")
    try:
        c.compact(rev)
    except Exception as e:
        check("compacting again is etcd's error",
              "required revision has been compacted" in str(e), str(e))
    else:
        check("compacting again is etcd's error", False, "no error")


def main():
    port = int(sys.argv[1])
    try:
        run(port)
    except Exception as e:
        check("client raised", False, repr(e))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
