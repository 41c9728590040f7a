#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Judge watchers against the committed history (kv_watch.py's logs).

usage: watch_check.py --committed HIST [--workload HISTORY] [--end REV]
                      WATCHLOG...
       watch_check.py --doctor drop|dup|swap IN OUT

The committed history (kv_watch.py history: every revision's puts and
deletes) is first tied to the workload's history (kv_workload.py, which
gnomon-lincheck judged): every committed put carries a value the workload
tried to write to that key (values are unique), none twice, and none
from a compare-and-swap that answered "not swapped"; every put and
swap the workload saw acknowledged is committed; every committed delete
matches a delete the workload sent to that key.  The value "end" at
revision --end is the test's closing transaction.

Then each watcher must have seen exactly the committed events of its
range from its start revision (the spec's, or for a start of 0 the first
created header's revision + 1) up to the last revision it was waiting
for (--end, or the committed history's last): in revision order, each
once, with nothing that was not committed, whatever reconnects it made.
A cancel (a compacted start revision) is a failure too: nothing is
compacted in these runs.  Prints one line per watcher ("ok NAME ..." or
"FAIL NAME: first fault"), exits 0 when all pass, 1 when one fails, 2 on
bad input.

--doctor copies a log with one fault made in it, for the negative
controls: drop removes an event from the middle, dup repeats one, swap
exchanges two adjacent events of different revisions.
"""
import argparse
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]


def ev_of(o):
    return (o["rev"], o["type"], o["key"], o.get("value", ""))


def in_range(key, lo, hi):
    if not hi:
        return key == lo
    if hi == "\0":
        return key >= lo
    return lo <= key < hi


def check_workload(committed, path, end):
    """Faults in tying the committed history to the workload's."""
    tried, acked, dels = {}, set(), {}
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
            op, st = kv.get("op"), kv.get("st")
            if op in ("put", "cas"):
                if op == "cas" and kv.get("swapped") == "0":
                    continue
                tried[(kv["k"], kv["v"])] = op
                if st == "ok":
                    acked.add((kv["k"], kv["v"]))
            elif op == "del":
                dels[kv["k"]] = dels.get(kv["k"], 0) + 1
    faults, seen, ndel = [], set(), {}
    for rev, typ, key, val in committed:
        if typ == "put":
            if val == "end" and rev == end:
                continue
            if (key, val) not in tried:
                faults.append("rev %d: put %s=%s was never written" %
                              (rev, key, val))
            if (key, val) in seen:
                faults.append("rev %d: put %s=%s committed twice" %
                              (rev, key, val))
            seen.add((key, val))
        else:
            ndel[key] = ndel.get(key, 0) + 1
            if ndel[key] > dels.get(key, 0):
                faults.append("rev %d: delete of %s was never sent" %
                              (rev, key))
    for key, val in sorted(acked - seen):
        faults.append("acknowledged put %s=%s is not committed" % (key, val))
    return faults


def check_watcher(committed, log, end):
    """(name, summary, fault or None) for one watcher's log."""
    spec = log[0]
    name = spec["spec"]["name"]
    start = spec["start"]
    if not start:
        created = [o for o in log if o.get("created")]
        if not created:
            return name, "", "no stream was ever created"
        start = created[0]["header"] + 1
    lo, hi = spec["key"], spec["range_end"]
    last = end or (committed[-1][0] if committed else 0)
    want = [e for e in committed
            if start <= e[0] <= last and in_range(e[2], lo, hi)]
    got = [ev_of(o) for o in log if "rev" in o and o["rev"] <= last]
    breaks = sum(1 for o in log if "error" in o or "hop" in o)
    where = "m%s" % spec["spec"].get("member", "?")
    if "hop" in spec["spec"]:
        where = "every member from " + where
    summary = "%s on %s: %d events from rev %d, %d reconnects" % (
        name, where, len(got), start, breaks)
    committed_set = set(committed)
    for o in log:
        if o.get("canceled"):
            return name, summary, "canceled (compact %d): %s" % (
                o["compact"], o["reason"])
    for i, e in enumerate(got):
        if i >= len(want):
            return name, summary, "extra event %r after the last" % (e,)
        if e == want[i]:
            continue
        if e not in committed_set:
            return name, summary, "event %r was not committed" % (e,)
        if not in_range(e[2], lo, hi) or e[0] < start:
            return name, summary, "event %r is outside its range" % (e,)
        if e in got[:i]:
            return name, summary, "event %r seen twice" % (e,)
        if e[0] < want[i][0] or want[i] in got[i + 1:]:
            return name, summary, "event %r out of order (%r due)" % (
                e, want[i])
        return name, summary, "gap: missed %r (next seen %r)" % (want[i], e)
    if len(got) < len(want):
        return name, summary, "gap: missed %d events from %r" % (
            len(want) - len(got), want[len(got)])
    return name, summary, None


def doctor(how, src, dst):
    lines = open(src).read().splitlines()
    evs = [i for i, x in enumerate(lines) if '"rev"' in x]
    if len(evs) < 3:
        sys.exit("doctor: %s has fewer than 3 events" % src)
    mid = len(evs) // 2
    if how == "drop":
        del lines[evs[mid]]
    elif how == "dup":
        lines.insert(evs[mid] + 1, lines[evs[mid]])
    else:
        for j in range(mid, len(evs) - 1):
            a, b = evs[j], evs[j + 1]
            if json.loads(lines[a])["rev"] != json.loads(lines[b])["rev"]:
                lines[a], lines[b] = lines[b], lines[a]
                break
        else:
            sys.exit("doctor: no adjacent pair of revisions to swap")
    with open(dst, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--committed")
    p.add_argument("--workload")
    p.add_argument("--end", type=int, default=0)
    p.add_argument("--doctor", choices=("drop", "dup", "swap"))
    p.add_argument("logs", nargs="*")
    a = p.parse_args()
    if a.doctor:
        if len(a.logs) != 2:
            p.error("--doctor takes IN and OUT")
        doctor(a.doctor, *a.logs)
        return 0
    if not a.committed or not a.logs:
        p.error("--committed and at least one log are required")
    try:
        committed = [ev_of(o) for o in load(a.committed)]
        logs = [load(x) for x in a.logs]
    except (OSError, ValueError, KeyError) as e:
        print("bad input: %s" % e)
        return 2
    failed = 0
    if a.workload:
        faults = check_workload(committed, a.workload, a.end)
        if faults:
            failed += 1
            print("FAIL committed history: %d faults, first: %s" %
                  (len(faults), faults[0]))
        else:
            print("ok committed history: %d events, all from the workload"
                  % len(committed))
    for log in logs:
        if not log or "spec" not in log[0]:
            print("bad input: a log without its spec")
            return 2
        name, summary, fault = check_watcher(committed, log, a.end)
        if fault:
            failed += 1
            print("FAIL %s: %s" % (summary or name, fault))
        else:
            print("ok " + summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
