# SPDX-License-Identifier: GPL-2.0
"""KTAP for Python tests (as selftests/ktap.sh for shell):

    check("name", condition, "why it failed")   # record one result
    sys.exit(finish())                           # print KTAP, 0 if all ok
"""

results = []


def check(name, cond, why=""):
    results.append((name, bool(cond), why))


def finish():
    print("KTAP version 1")
    print("1..%d" % len(results))
    failed = 0
    for n, (name, ok, why) in enumerate(results, 1):
        if not ok:
            failed += 1
            if why:
                print("# %s: %s" % (name, why))
        print("%sok %d %s" % ("" if ok else "not ", n, name))
    print("# %d tests, %d failed" % (len(results), failed))
    return 1 if failed else 0
