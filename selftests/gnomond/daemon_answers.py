# SPDX-License-Identifier: GPL-2.0
"""etcd's answers where gnomond once gave wrong ones, asked of a 3-member
cluster by unmodified clients (python3-etcd3, raw gRPC calls, etcdctl 3.4):

  - read your own write on any member: a write answered by a follower is
    visible to a serializable read sent right after to that follower;
  - alarms are per member: raised for X, listed under X on every member;
    two members' alarms are two alarms; disarming one leaves the other;
    writes are refused while any NOSPACE alarm stands; a write past the
    quota makes every member raise its own NOSPACE alarm, as etcd's do;
  - an HTTP/2 :authority in URL form (etcdctl endpoint status --cluster);
  - a method gnomond does not serve answers UNIMPLEMENTED, never
    UNAVAILABLE (which clients retry as an outage); Defragment answers OK;
  - MemberList is in etcd's order (ascending member id).

Prints KTAP.  usage: daemon_answers.py LEADER_PORT FOLLOWER_PORT OTHER_PORT
"""
import json
import os
import subprocess
import sys

import etcd3
import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ktap import check, finish  # noqa: E402  (selftests/ktap.py)

ROUNDS = 100


def client(port):
    return etcd3.client(host="127.0.0.1", port=port, timeout=10)


def read_your_writes(port):
    c = client(port)
    stale = 0
    for i in range(ROUNDS):
        c.put("/ryw", str(i))
        value, _ = c.get("/ryw", serializable=True)
        if value != str(i).encode():
            stale += 1
    check("a follower's serializable read sees the write it just answered",
          stale == 0, "%d of %d reads were stale" % (stale, ROUNDS))
    c.close()


def member_id(port):
    c = client(port)
    st = c.maintenancestub.Status(etcd3.etcdrpc.StatusRequest(), 10)
    c.close()
    return st.header.member_id


def alarm_set(port):
    c = client(port)
    got = sorted((a.member_id, a.alarm_type) for a in c.list_alarms())
    c.close()
    return got


def status_errors(port):
    rc, out = etcdctl(port, "endpoint", "status", "-w", "json")
    try:
        return sorted(json.loads(out)[0]["Status"].get("errors", []))
    except (ValueError, KeyError, IndexError):
        return out.strip()


def alarms(ports):
    ids = [member_id(p) for p in ports]
    x, y = ids[1], ids[2]
    nospace = etcd3.etcdrpc.NOSPACE
    c = client(ports[0])
    c.create_alarm(member_id=x)
    want = [(x, nospace)]
    got = [alarm_set(p) for p in ports]
    check("an alarm raised for member X is listed under X on every member",
          all(g == want for g in got), "want %r got %r" % (want, got))
    c.create_alarm(member_id=y)
    want = sorted([(x, nospace), (y, nospace)])
    got = [alarm_set(p) for p in ports]
    check("two members' alarms are two alarms, on every member",
          all(g == want for g in got), "want %r got %r" % (want, got))
    want_err = sorted("memberID:%d alarm:NOSPACE" % i for i in (x, y))
    got = [status_errors(p) for p in ports]
    check("Status lists both alarms on every member",
          all(g == want_err for g in got), "want %r got %r" % (want_err, got))
    c.disarm_alarm(member_id=x)
    want = [(y, nospace)]
    got = [alarm_set(p) for p in ports]
    check("disarming X's alarm leaves Y's, on every member",
          all(g == want for g in got), "want %r got %r" % (want, got))
    try:
        client(ports[1]).put("/alarm/refused", "x")
        refused = None
    except Exception as e:  # the client's own exception for NOSPACE
        refused = e
    check("a write is refused while any NOSPACE alarm stands",
          refused is not None and "space" in repr(refused).lower(),
          "got %r" % (refused,))
    c.disarm_alarm(member_id=y)
    got = [alarm_set(p) for p in ports]
    check("disarming Y's alarm leaves none", all(g == [] for g in got),
          "got %r" % (got,))
    try:
        client(ports[1]).put("/alarm/accepted", "x")
        ok = True
    except Exception as e:
        ok = False
        why = repr(e)
    check("writes are accepted again once no alarm stands", ok,
          "" if ok else why)
    c.close()


def quota(ports):
    """The cluster runs with a small --quota-backend-bytes."""
    import time
    c = client(ports[1])
    refused = None
    for i in range(200):
        try:
            c.put("/quota/%d" % i, "v" * 4000)
        except Exception as e:
            refused = e
            break
    check("a write past the quota is refused",
          refused is not None and "space" in repr(refused).lower(),
          "got %r" % (refused,))
    ids = sorted(member_id(p) for p in ports)
    want = [(i, etcd3.etcdrpc.NOSPACE) for i in ids]
    for _ in range(50):
        got = alarm_set(ports[2])
        if got == want:
            break
        time.sleep(0.1)
    check("every member raises its own NOSPACE alarm", got == want,
          "want %r got %r" % (want, got))
    rc, out = etcdctl(ports[0], "del", "--prefix", "/quota/")
    rev = c.get_response("/").header.revision
    c.compact(rev)
    rc, out = etcdctl(ports[0], "alarm", "disarm")
    try:
        c.put("/quota/after", "x")
        ok, why = True, ""
    except Exception as e:
        ok, why = False, repr(e)
    check("delete, compact, alarm disarm: writes resume", ok, why)
    c.close()


def raw_call(port, path):
    ch = grpc.insecure_channel("127.0.0.1:%d" % port)
    call = ch.unary_unary(path, request_serializer=lambda m: m,
                          response_deserializer=lambda m: m)
    try:
        call(b"", timeout=10)
        code = grpc.StatusCode.OK
    except grpc.RpcError as e:
        code = e.code()
    ch.close()
    return code


# Every etcd v3 method that carries no state change for an empty request
# (or whose absence must not look like an outage).
AUTH = ["AuthEnable", "AuthDisable", "Authenticate", "UserAdd", "UserGet",
        "UserList", "UserDelete", "UserChangePassword", "UserGrantRole",
        "UserRevokeRole", "RoleAdd", "RoleGet", "RoleList", "RoleDelete",
        "RoleGrantPermission", "RoleRevokePermission"]
OTHERS = ["/etcdserverpb.Maintenance/Hash", "/etcdserverpb.Maintenance/HashKV",
          "/etcdserverpb.Maintenance/Snapshot",
          "/etcdserverpb.Maintenance/Status",
          "/etcdserverpb.Cluster/MemberList",
          "/etcdserverpb.Lease/LeaseLeases",
          "/etcdserverpb.Lease/LeaseTimeToLive",
          "/v3lockpb.Lock/Unlock", "/v3electionpb.Election/Leader",
          "/etcdserverpb.NoSuch/Method"]


def unimplemented(port):
    bad = [(m, str(c)) for m, c in
           (("/etcdserverpb.Auth/" + m, raw_call(port, "/etcdserverpb.Auth/" + m))
            for m in AUTH) if c != grpc.StatusCode.UNIMPLEMENTED]
    check("every Auth method answers UNIMPLEMENTED", not bad, "%r" % bad)
    bad = [(m, str(c)) for m, c in ((m, raw_call(port, m)) for m in OTHERS)
           if c == grpc.StatusCode.UNAVAILABLE]
    check("no method answers UNAVAILABLE for being unsupported", not bad,
          "%r" % bad)
    code = raw_call(port, "/etcdserverpb.Maintenance/Defragment")
    check("Defragment answers OK", code == grpc.StatusCode.OK, str(code))


def etcdctl(port, *args):
    env = dict(os.environ, ETCDCTL_API="3")
    p = subprocess.run(["timeout", "30", "etcdctl",
                        "--endpoints=127.0.0.1:%d" % port,
                        "--command-timeout=10s", "--dial-timeout=3s"]
                       + list(args), env=env, capture_output=True,
                       text=True)
    return p.returncode, p.stdout + p.stderr


def authority(port):
    rc, out = etcdctl(port, "endpoint", "status", "--cluster")
    lines = [ln for ln in out.splitlines() if ln.startswith("http://")]
    check("endpoint status --cluster (:authority in URL form) answers",
          rc == 0 and len(lines) == 3, out.strip())


def member_order(ports):
    c = client(ports[1])
    ids = [m.id for m in c.members]
    c.close()
    check("MemberList is in etcd's order (ascending id)",
          len(ids) == 3 and ids == sorted(ids), "%r" % ids)
    rc, out = etcdctl(ports[0], "member", "list", "-w", "json")
    try:
        ids = [m["ID"] for m in json.loads(out)["members"]]
    except (ValueError, KeyError):
        ids = []
    check("etcdctl member list is in etcd's order",
          rc == 0 and len(ids) == 3 and ids == sorted(ids), out.strip())


def main():
    ports = [int(p) for p in sys.argv[1:4]]
    for part in (lambda: read_your_writes(ports[1]), lambda: alarms(ports),
                 lambda: quota(ports), lambda: authority(ports[2]),
                 lambda: unimplemented(ports[1]),
                 lambda: member_order(ports)):
        try:
            part()
        except Exception as e:  # a client error is a failed test
            check("no client error", False, repr(e))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
