#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The host half of `make conformance`: reads the console log of a
conformance/guest.py run and prints, per suite and per test, the native
verdict beside the rust_ipc one (through libripc_preload.so), then a
summary.

    report.py CONSOLE_LOG [KNOWN_DIFFERENCES]

A test native passes must pass on rust_ipc too; where it does not, the
difference must be listed, with its reason, in KNOWN_DIFFERENCES
(conformance/known-differences: "suite<TAB>test<TAB>pattern<TAB>reason"
lines, where pattern is a Python regular expression that rust_ipc's failure
detail must contain: the same test failing another way is not the known
difference), or the report fails.  A test native fails or skips is not a rust_ipc matter (it is
shown, not counted), but every suite must have at least one test that both
ran (native passed it): a suite that did not run, or ran on one side only
(CONF_RUNS), fails the report.  Every drop-in check (CONFCHECK) must pass.
Exits 0 when all that holds and the guest ran to the end, 1 otherwise.
"""
import re
import sys


def whole(test):
    """Whether a row is a run as a whole (a suite's or a test binary's),
    not a test."""
    return test == "(suite)" or test.endswith("(run)")


def main():
    log = sys.argv[1]
    known = {}
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as fh:
            for line in fh:
                if line.strip() and not line.startswith("#"):
                    suite, test, pattern, reason = line.rstrip("\n").split("\t", 3)
                    known[(suite, test)] = (re.compile(pattern), reason)
    suites = []
    res = {}        # (suite, test) -> {run: (status, detail)}
    order = {}      # suite -> [test]
    checks = {}     # suite -> [(what, status, detail)]
    perf = []       # (suite, test, native median, rust_ipc median)
    done = False
    with open(log, errors="replace") as fh:
        for raw in fh:
            line = raw.rstrip("\r\n")
            f = line.split("\t")
            if f[0] == "CONFSUITE" and len(f) >= 2:
                suites.append(f[1])
                order.setdefault(f[1], [])
                checks.setdefault(f[1], [])
            elif f[0] == "CONF" and len(f) >= 6:
                suite, test, run, status, detail = f[1], f[2], f[3], f[4], f[5]
                if (suite, test) not in res:
                    res[(suite, test)] = {}
                    order.setdefault(suite, []).append(test)
                res[(suite, test)][run] = (status, detail)
            elif f[0] == "CONFCHECK" and len(f) >= 5:
                checks.setdefault(f[1], []).append((f[2], f[3], f[4]))
            elif f[0] == "CONFPERF" and len(f) >= 5:
                perf.append((f[1], f[2], float(f[3]), float(f[4])))
            elif f[0] == "CONFDONE":
                done = True

    ok = done
    used_known = set()
    summary = []
    for suite in suites:
        W = min(72, max([len(t) for t in order.get(suite, [])] + [20]))
        print(f"\n=== {suite}")
        print(f"{'test':<{W}} {'native':<8} {'rust_ipc':<8} (rust_ipc through libripc_preload.so)")
        n = {"tests": 0, "native": 0, "rust": 0, "same": 0, "known": 0, "differ": 0}
        compared = 0    # tests, not rows of a run as a whole
        for test in order.get(suite, []):
            r = res[(suite, test)]
            nat = r.get("native", ("-", ""))
            rus = r.get("rust_ipc", ("(none)", "the run stopped before it"))
            n["tests"] += 1
            n["native"] += nat[0] == "PASS"
            n["rust"] += rus[0] == "PASS"
            if nat[0] != "PASS":
                verdict = f"native {nat[0]}: not compared"
            elif rus[0] == "PASS":
                verdict = "same"
                n["same"] += 1
                compared += not whole(test)
            elif (suite, test) in known and known[(suite, test)][0].search(rus[1]):
                verdict = "KNOWN: " + known[(suite, test)][1]
                used_known.add((suite, test))
                n["known"] += 1
                compared += not whole(test)
            else:
                verdict = ("DIFFERS (not as conformance/known-differences says)"
                           if (suite, test) in known else
                           "DIFFERS (not explained in conformance/known-differences)")
                n["differ"] += 1
                compared += not whole(test)
                ok = False
            name = test if len(test) <= W else test[:W - 3] + "..."
            print(f"{name:<{W}} {nat[0]:<8} {rus[0]:<8} {verdict}")
            for run, (st, detail) in (("native", nat), ("rust_ipc", rus)):
                if detail:
                    print(f"{'':<{W}}   {run}: {detail}")
        if compared == 0:
            print(f"{suite}: nothing compared (no test that native passed)")
            ok = False
        for what, st, detail in checks.get(suite, []):
            print(f"check: {what}: {st}{' (' + detail + ')' if detail else ''}")
            if st != "PASS":
                ok = False
        summary.append((suite, n))

    if perf:
        print("\n=== throughput through the drop-in: medians of bogo ops/s (real time),"
              " rust_ipc / native")
        for suite, test, nat, rus in perf:
            print(f"{suite + ' ' + test:<28} native {nat:>12.0f}  rust_ipc {rus:>12.0f}"
                  f"  ratio {rus / nat:.2f}")

    print("\n=== summary (a test counts for rust_ipc when native passes it)")
    print(f"{'suite':<16} {'tests':>6} {'native pass':>12} {'rust_ipc pass':>14} "
          f"{'same':>6} {'known diff':>11} {'unexplained':>12}")
    tot = {"tests": 0, "native": 0, "rust": 0, "same": 0, "known": 0, "differ": 0}
    for suite, n in summary:
        print(f"{suite:<16} {n['tests']:>6} {n['native']:>12} {n['rust']:>14} "
              f"{n['same']:>6} {n['known']:>11} {n['differ']:>12}")
        for k in tot:
            tot[k] += n[k]
    print(f"{'total':<16} {tot['tests']:>6} {tot['native']:>12} {tot['rust']:>14} "
          f"{tot['same']:>6} {tot['known']:>11} {tot['differ']:>12}")
    nchecks = sum(len(c) for c in checks.values())
    bad = sum(1 for c in checks.values() for x in c if x[1] != "PASS")
    print(f"drop-in checks: {nchecks - bad} of {nchecks} pass")
    # Listed, and passing now (or not run): a known difference that failed
    # another way is a DIFFERS row above.
    stale = [k for k in known if k[0] in suites and k not in used_known
             and res.get(k, {}).get("rust_ipc", ("PASS",))[0] == "PASS"]
    for suite, test in stale:
        print(f"note: known difference no longer seen: {suite}: {test}")
    if not done:
        print("the guest did not run to the end (CONFDONE missing)")
    print(f"conformance: {'ok' if ok else 'FAILED'}: rust_ipc passes {tot['rust']} tests, native "
          f"{tot['native']}; {tot['same']} the same, {tot['known']} known differences, "
          f"{tot['differ']} unexplained")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
