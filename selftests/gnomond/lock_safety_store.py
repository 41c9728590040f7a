# SPDX-License-Identifier: GPL-2.0
"""The storage side of selftests/gnomond/lock_safety_faults.sh: a small
store that lock holders write to, and the checks of what it kept.
Python's standard library only.

  serve PORT LOG DATA [--no-check]
      Listen on 127.0.0.1:PORT.  Each line "W CLIENT TOKEN SEQ" is one
      write, tagged with the writer's fencing token (its lock key's create
      revision).  With the check (the default), a write whose token is
      lower than the highest the store has accepted is refused: the answer
      is "stale HIGHEST", the check a storage system makes (Kleppmann,
      "How to do distributed locking").  Otherwise the write is appended to
      the store and answered "ok".  Every attempt is logged to LOG, one
      line "t=NS c=CLIENT tok=TOKEN seq=SEQ res=ok|stale", in the order the
      store decided them (one lock orders decisions, appends and log
      lines).  On SIGTERM the store's content (the accepted writes in
      order, "CLIENT TOKEN SEQ") is written to DATA and the store exits.
      --no-check accepts every write: the negative control.  A line "H"
      is answered "highest TOKEN", the highest token accepted so far (0
      if none): a deposed holder asks it to write only once its
      successor's write has been decided.

  check-store LOG DATA FIELD CLIENT_LOG...
      Judge one store.  Exit 0 when no write was accepted after a write
      with a higher token (no deposed holder's write landed after a newer
      holder's), 1 when some were (each is printed), 2 when the store's
      content is not exactly the accepted writes, each once, and exactly
      the writes the clients saw acknowledged ("wr" lines of the client
      logs, answer in field FIELD: checked or open).

  check-tokens CLIENT_LOG...
      Judge the lock: every holding ("acq" lines) has its own token, and a
      holding whose lock call started after another's was granted (t0
      after the other's t1) has the higher token, and no two holdings
      share etcdctl's ETCD_LOCK_REV (the revision of the grant).  Exit 0
      or 1.  Also says how many holders started with their key already
      gone ("lost" lines, which may share an ETCD_LOCK_REV) and what each
      fault did.
"""
import signal
import socketserver
import sys
import threading
import time


def fields(line):
    """{name: value} of a line of name=value words (other words skipped)."""
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


class Store:
    def __init__(self, log, data, check):
        self.lock = threading.Lock()
        self.log = open(log, "a", buffering=1)
        self.data_path = data
        self.check = check
        self.highest = 0
        self.writes = []

    def write(self, client, token, seq):
        with self.lock:
            if self.check and token < self.highest:
                res = "stale %d" % self.highest
            else:
                self.highest = max(self.highest, token)
                self.writes.append((client, token, seq))
                res = "ok"
            self.log.write("t=%d c=%s tok=%d seq=%s res=%s\n" %
                           (time.time_ns(), client, token, seq,
                            res.split()[0]))
            return res

    def dump(self):
        with self.lock:
            with open(self.data_path, "w") as f:
                for w in self.writes:
                    f.write("%s %d %s\n" % w)


def serve(port, log, data, check):
    store = Store(log, data, check)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            for raw in self.rfile:
                words = raw.decode(errors="replace").split()
                if len(words) == 4 and words[0] == "W" and \
                        words[2].isdigit():
                    ans = store.write(words[1], int(words[2]), words[3])
                elif words == ["H"]:
                    ans = "highest %d" % store.highest
                else:
                    ans = "error"
                self.wfile.write((ans + "\n").encode())

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    srv = Server(("127.0.0.1", port), Handler)

    def stop(_sig, _frame):
        store.dump()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("listening on 127.0.0.1:%d" % port, flush=True)
    srv.serve_forever()


def read_client_logs(paths, kinds=("acq", "wr")):
    """The lines of each kind ("acq", "wr", "lost"), as fields()."""
    out = {k: [] for k in kinds}
    for p in paths:
        with open(p) as f:
            for line in f:
                kind = line.split(" ", 1)[0]
                if kind in out:
                    out[kind].append(fields(line))
    return [out[k] for k in kinds]


def check_store(log, data, field, client_logs):
    accepted, highest, stale, refused = [], 0, [], 0
    with open(log) as f:
        for line in f:
            a = fields(line)
            tok = int(a["tok"])
            if a["res"] != "ok":
                refused += 1
                continue
            if tok < highest:
                stale.append("%s (highest accepted before it: %d)" %
                             (line.strip(), highest))
            highest = max(highest, tok)
            accepted.append((a["c"], tok, a["seq"]))
    with open(data) as f:
        kept = [(w[0], int(w[1]), w[2]) for w in map(str.split, f) if w]
    _, acks = read_client_logs(client_logs)
    acked = [(a["c"], int(a["tok"]), a["seq"]) for a in acks
             if a[field] == "ok"]
    print("%d attempts: %d accepted, %d refused, %d accepted after a "
          "higher token" % (len(accepted) + refused, len(accepted), refused,
                            len(stale)))
    for s in stale:
        print("stale write accepted: " + s)
    problems = []
    if kept != accepted:
        problems.append("the store holds %d writes, the log accepted %d" %
                        (len(kept), len(accepted)))
    ids = [(c, s) for c, _, s in kept]
    if len(set(ids)) != len(ids):
        problems.append("%d writes are held more than once" %
                        (len(ids) - len(set(ids))))
    if sorted(acked) != sorted(kept):
        problems.append("%d acknowledged writes are not held, %d held "
                        "writes were not acknowledged" %
                        (len(set(acked) - set(kept)),
                         len(set(kept) - set(acked))))
    for p in problems:
        print(p)
    if problems:
        return 2
    return 1 if stale else 0


def check_tokens(client_logs):
    acqs, acks, lost = read_client_logs(client_logs, ("acq", "wr", "lost"))
    bad = []
    toks = [int(a["tok"]) for a in acqs]
    if len(set(toks)) != len(toks):
        bad.append("%d holdings share a token" % (len(toks) - len(set(toks))))
    for a in acqs:
        for b in acqs:
            if float(a["t1"]) < float(b["t0"]) and \
                    int(a["tok"]) >= int(b["tok"]):
                bad.append("c%s's token %s (granted at %s) is not below "
                           "c%s's %s (asked at %s)" %
                           (a["c"], a["tok"], a["t1"], b["c"], b["tok"],
                            b["t0"]))
    faults = {}
    for a in acqs:
        faults[a["fault"]] = faults.get(a["fault"], 0) + 1
    print("%d holdings, tokens %s..%s, faults %s" %
          (len(acqs), min(toks, default=0), max(toks, default=0),
           " ".join("%s=%d" % kv for kv in sorted(faults.items()))))
    # Two holders whose keys both still existed when they started cannot
    # have been granted at one revision: each grant's read saw no older
    # key, and both keys existed at that revision.  A shared
    # ETCD_LOCK_REV is only possible with a "lost" holding.
    revs = [a["rev"] for a in acqs]
    shared = sorted(r for r in set(revs) if revs.count(r) > 1)
    if shared:
        bad.append("holdings with their keys present share ETCD_LOCK_REV %s" %
                   " ".join(shared))
    lost_revs = set(x["rev"] for x in lost)
    print("ETCD_LOCK_REV: %d lost holdings (the key gone on start: the "
          "lease ended while waiting), %d of them sharing one with a holder" %
          (len(lost), len(lost_revs & set(revs))))
    for a in acqs:
        if a["fault"] != "none":
            mine = [w for w in acks if (w["c"], w["tok"]) == (a["c"], a["tok"])]
            print("c%s token %s, %s: %d of its %d writes refused" %
                  (a["c"], a["tok"], a["fault"],
                   sum(w["checked"] == "stale" for w in mine), len(mine)))
    for b in bad[:5]:
        print(b)
    return 1 if bad or not acqs else 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "serve":
        serve(int(argv[2]), argv[3], argv[4], "--no-check" not in argv[5:])
        return 0
    if len(argv) >= 6 and argv[1] == "check-store":
        return check_store(argv[2], argv[3], argv[4], argv[5:])
    if len(argv) >= 3 and argv[1] == "check-tokens":
        return check_tokens(argv[2:])
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
