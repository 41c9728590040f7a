#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""watch_check.py (tools/gnomond/lincheck) on hand-made logs: correct
watchers (prefix, one key, a range, from now, from an old revision,
resumed after a reconnect) pass; a dropped event, a repeated one, a
swapped pair, an uncommitted one, a missing tail and a cancel each fail
with their own reason, as do --doctor's copies of a correct log; the
committed history must match the workload's history."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from ktap import check, finish  # noqa: E402

CHECK = os.path.join(HERE, "..", "..", "tools", "gnomond", "lincheck",
                     "watch_check.py")
D = tempfile.mkdtemp(prefix="watch-check-test.")

# rev 2..9 on /w/a, /w/b, /w/c; rev 10 is the closing transaction.
COMMITTED = [
    (2, "put", "/w/a", "c1-1"), (3, "put", "/w/b", "c2-1"),
    (4, "put", "/w/a", "c1-2"), (5, "del", "/w/b", ""),
    (6, "put", "/w/c", "c3-1"), (7, "put", "/w/b", "c2-2"),
    (8, "put", "/w/a", "c3-2"), (9, "del", "/w/a", ""),
    (10, "put", "/w/a", "end"), (10, "put", "/w/b", "end"),
    (10, "put", "/w/c", "end"),
]
WORKLOAD = """# test
c=1 op=put k=/w/a v=c1-1 t0=1 t1=2 st=ok
c=2 op=put k=/w/b v=c2-1 t0=1 t1=3 st=ok
c=1 op=cas k=/w/a from=c1-1 v=c1-2 swapped=1 t0=3 t1=4 st=ok
c=2 op=del k=/w/b t0=4 t1=5 st=ok
c=3 op=put k=/w/c v=c3-1 t0=5 st=info
c=2 op=put k=/w/b v=c2-2 t0=6 t1=7 st=ok
c=1 op=cas k=/w/a from=zz v=c1-3 swapped=0 t0=6 t1=7 st=ok
c=3 op=put k=/w/a v=c3-2 t0=7 t1=8 st=ok
c=1 op=del k=/w/a t0=8 st=info
"""


def write(name, lines):
    path = os.path.join(D, name)
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


def ev(e):
    return json.dumps({"rev": e[0], "type": e[1], "key": e[2],
                       "value": e[3], "t": 0})


def log(name, key, end, start, events, created=None, extra=()):
    lines = [json.dumps({"spec": {"name": name}, "key": key,
                         "range_end": end, "start": start})]
    if created is not None:
        lines.append(json.dumps({"created": True, "start": start,
                                 "header": created}))
    lines += list(extra)
    lines += [ev(e) if isinstance(e, tuple) else e for e in events]
    return write(name + ".watch", lines)


def run(*args):
    p = subprocess.run([sys.executable, CHECK] + list(args),
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


committed = write("committed", [ev(e) for e in COMMITTED])
workload = write("history", WORKLOAD.splitlines())
prefix = [e for e in COMMITTED if e[2].startswith("/w/")]
resume = json.dumps({"error": "StatusCode.UNAVAILABLE"})


def judge(path, args=("--end", "10")):
    return run("--committed", committed, *args, path)


# Correct watchers.
whole = log("whole", "/w/", "/w0", 1, prefix[:4] + [resume] + prefix[4:],
            created=1)
rc, out = run("--committed", committed, "--workload", workload,
              "--end", "10", whole)
check("a prefix watcher from rev 1, resumed once, passes", rc == 0, out)
check("the committed history matches the workload", "ok committed" in out,
      out)
key_b = [e for e in COMMITTED if e[2] == "/w/b"]
rc, out = judge(log("key", "/w/b", "", 0, key_b[1:], created=4))
check("a one-key watcher from now (created at rev 4) passes", rc == 0, out)
rng = [e for e in COMMITTED if "/w/b" <= e[2] < "/w/c" and e[0] >= 5]
rc, out = judge(log("range", "/w/b", "/w/c", 5, rng))
check("a range watcher from rev 5 passes", rc == 0, out)

# Each fault alone.
bad = {
    "dropped": (prefix[:3] + prefix[4:], "gap: missed"),
    "repeated": (prefix[:4] + prefix[3:], "seen twice"),
    "swapped": (prefix[:3] + [prefix[4], prefix[3]] + prefix[5:],
                "out of order"),
    "uncommitted": (prefix[:3] + [(5, "put", "/w/b", "c9-9")] + prefix[4:],
                    "not committed"),
    "short": (prefix[:-2], "gap: missed 2 events"),
}
for what, (events, reason) in bad.items():
    rc, out = judge(log(what, "/w/", "/w0", 1, events))
    check("a %s event is caught (%s)" % (what, reason),
          rc == 1 and reason in out, "rc=%d: %s" % (rc, out))
rc, out = judge(log("early", "/w/b", "", 0, key_b, created=4))
check("an event before a from-now watcher's start is caught",
      rc == 1 and "seen twice" not in out and "FAIL" in out, out)
rc, out = judge(log("canceled", "/w/", "/w0", 1, [], extra=[json.dumps(
    {"canceled": True, "compact": 5, "reason": "compacted"})]))
check("a canceled watch is caught", rc == 1 and "canceled" in out, out)

# --doctor, the fault test's negative control, on the correct log.
for how, reason in (("drop", "gap"), ("dup", "twice"),
                    ("swap", "out of order")):
    dst = os.path.join(D, how + ".watch")
    rc0, _ = run("--doctor", how, whole, dst)
    rc, out = judge(dst)
    check("--doctor %s makes a log that is caught (%s)" % (how, reason),
          rc0 == 0 and rc == 1 and reason in out, out)

# The committed history against the workload.
for what, lines, reason in (
        ("an acknowledged put is missing",
         [ev(e) for e in COMMITTED if e[3] != "c2-2"], "not committed"),
        ("a put nobody wrote", [ev(e) for e in COMMITTED] +
         [ev((11, "put", "/w/c", "c7-7"))], "never written"),
        ("an unswapped compare-and-swap",
         [ev(e) for e in COMMITTED] + [ev((11, "put", "/w/a", "c1-3"))],
         "never written"),
        ("a delete nobody sent", [ev(e) for e in COMMITTED] +
         [ev((11, "del", "/w/c", ""))], "never sent")):
    path = write("committed-bad", lines)
    rc, out = run("--committed", path, "--workload", workload, "--end", "10",
                  whole)
    check("committed history with %s is caught" % what,
          rc == 1 and reason in out, out)

subprocess.run(["rm", "-rf", D])
sys.exit(finish())
