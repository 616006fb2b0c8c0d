#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The guest half of `make conformance` (scripts/conformance): run in the VM
(scripts/vm-run --host-root, the host's root file system under a tmpfs
overlay, rust_ipc loaded), it runs each third-party suite natively and then
through the drop-in (LD_PRELOAD=libripc_preload.so, on /dev/rust_ipc), in
this boot, and prints one line per test and run:

    CONF<TAB>SUITE<TAB>TEST<TAB>RUN<TAB>STATUS<TAB>DETAIL

RUN is native or rust_ipc, STATUS PASS, FAIL or SKIP (the suite's own
verdict), DETAIL a figure (bogo ops, latency, nsec/msg) or why it failed.
Checks of the drop-in itself (the program's calls bind to the preload, no
queue left behind) are

    CONFCHECK<TAB>SUITE<TAB>WHAT<TAB>STATUS<TAB>DETAIL

and everything else is commentary ("# ..."): the suites' own output of a run
that failed.  conformance/report.py turns this into the comparison.

    guest.py [SUITE...]      (default: all but stress-ng-perf; see SUITES below)
"""
import glob
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("RUST_IPC_CACHE") or os.path.expanduser("~/.cache/rust_ipc")
CONF = os.path.join(CACHE, "conformance")
PRELOAD = os.path.join(TOP, "libripc", "out", "libripc_preload.so")
RIPCCTL = os.path.join(TOP, "tools", "out", "ripcctl")
PY = os.path.join(CONF, "venv", "bin", "python")
RUNS = tuple(os.environ.get("CONF_RUNS", "native rust_ipc").split())
TMP = tempfile.mkdtemp(prefix="conformance.")


def emit(suite, test, run, status, detail=""):
    detail = " ".join(str(detail).split())
    print(f"CONF\t{suite}\t{test}\t{run}\t{status}\t{detail}", flush=True)


def check(suite, what, ok, detail=""):
    detail = " ".join(str(detail).split())
    print(f"CONFCHECK\t{suite}\t{what}\t{'PASS' if ok else 'FAIL'}\t{detail}", flush=True)


def note(text):
    for line in str(text).rstrip("\n").splitlines():
        print(f"# {line}", flush=True)


def env_for(run, extra=None):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if run == "rust_ipc":
        env["LD_PRELOAD"] = PRELOAD
    env.update(extra or {})
    return env


def execute(cmd, run, timeout, env=None, cwd=None, stdin=subprocess.DEVNULL):
    """Runs cmd (in its own process group, killed on timeout) natively or
    through the preload: (exit status or None on timeout, output, seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env_for(run, env), cwd=cwd, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        rc = None
    # Whatever it left running (stress-ng's workers, helpers).
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return rc, out.decode(errors="replace"), time.monotonic() - t0


def binds(suite, cmd, bound_file, env=None):
    """Under the preload, every mq_* and msg* function that bound_file (a
    path, or a regular expression for it) takes from the C library is taken
    from libripc_preload.so: otherwise the program would run on the native
    queues.  cmd should load bound_file and exit quickly; LD_BIND_NOW makes
    every binding happen at load."""
    log = os.path.join(TMP, "bind")
    for f in glob.glob(log + "*"):
        os.unlink(f)
    extra = {"LD_BIND_NOW": "1", "LD_DEBUG": "bindings", "LD_DEBUG_OUTPUT": log}
    extra.update(env or {})
    execute(cmd, "rust_ipc", 120, extra)
    text = ""
    for f in glob.glob(log + "*"):
        with open(f, errors="replace") as fh:
            text += fh.read()
    pat = re.compile(r"binding file (\S+) \[0\] to (\S+) \[0\]: normal symbol `([^']+)'")
    got = {}
    for m in pat.finditer(text):
        if re.fullmatch(bound_file, m.group(1)) and re.match(r"(__)?(mq_|msg)", m.group(3)):
            got.setdefault(m.group(3), set()).add(m.group(2))
    missing = sorted(s for s, libs in got.items() if libs != {PRELOAD})
    name = os.path.basename(bound_file.replace("\\", ""))
    syms = " ".join(sorted(got)) or "(no mq_*/msg* function)"
    check(suite, f"{name}: {syms} bind to libripc_preload.so", got and not missing,
          f"not bound to the preload: {' '.join(missing)}" if missing else "")


def leftovers(suite, run, allowed=None):
    """Queues the run left behind, reported and removed (so that the next
    suite starts from none); returned.  None must be left, or, with
    allowed, exactly those (names; keys for System V); allowed "any" only
    reports them."""
    left = []
    if run == "native":
        mqdir = "/dev/mqueue"
        for q in sorted(os.listdir(mqdir)) if os.path.isdir(mqdir) else ():
            left.append("/" + q)
            os.unlink(os.path.join("/dev/mqueue", q))
        with open("/proc/sysvipc/msg") as fh:
            for line in fh.readlines()[1:]:
                f = line.split()
                left.append(f"key {f[0]}")
                subprocess.run(["ipcrm", "-q", f[1]], check=False)
    else:
        rc, out, _ = execute([RIPCCTL, "list"], "native", 30)
        part = None
        mq, sysv = [], []
        for line in out.splitlines():
            if line.startswith("POSIX queues:"):
                part = mq
            elif line.startswith("System V queues:"):
                part = sysv
            elif part is not None and line.strip() and not re.match(r"\s*(name|key)\s", line):
                part.append(line.split())
        for f in mq:
            left.append(f[0])
        for f in sysv:
            left.append(f"key {f[0]}")
        if mq or sysv:
            # Removed through the preload, by name and by id.
            code = ("import ctypes, sys\n"
                    "c = ctypes.CDLL(None, use_errno=True)\n"
                    "for n in sys.argv[1].split():\n"
                    "    c.mq_unlink(n.encode())\n"
                    "for i in sys.argv[2].split():\n"
                    "    c.msgctl(int(i), 0, None)\n")
            execute(["/usr/bin/python3", "-c", code, " ".join(f[0] for f in mq),
                     " ".join(f[1] for f in sysv)], "rust_ipc", 60)
    shown = ("left: " + ", ".join(left[:8]) + (" ..." if len(left) > 8 else "")) if left else ""
    if allowed == "any":
        note(f"{suite} {run}: {shown or 'no queue left behind'}")
    elif allowed is None:
        check(suite, f"{run}: no queue left behind", not left, shown)
    else:
        # A suite whose tests do not clean up: the queues native's run
        # left, and at most one more per test that failed only here (it
        # stopped before its clean-up).
        names, extra = allowed
        more = set(left) - set(names)
        check(suite, f"{run}: the queues left behind are native's ({len(names)})"
              + (f" and {extra} of tests that failed only here" if extra else ""),
              set(names) <= set(left) and len(more) <= extra, shown)
    return left


def module_loaded():
    return os.path.exists("/dev/rust_ipc")


# ---- stress-ng ---------------------------------------------------------------

STRESS_SECS = int(os.environ.get("CONF_STRESS_SECS", "5"))
STRESS_TESTS = [
    ("mq", ["--mq", "2"]),
    ("mq --mq-size 1", ["--mq", "2", "--mq-size", "1"]),
    ("msg", ["--msg", "2"]),
    ("msg --msg-types 8", ["--msg", "2", "--msg-types", "8"]),
]


STRESS_NG = "/usr/bin/stress-ng"


def stress_once(args, run):
    """One stress-ng run of STRESS_SECS with --verify: (bogo ops, bogo ops/s
    of real time, None) if it passed, else (ops, rate, why) and its output
    noted."""
    yml = os.path.join(TMP, "stress.yaml")
    if os.path.exists(yml):
        os.unlink(yml)
    cmd = [STRESS_NG] + args + ["-t", f"{STRESS_SECS}s", "--verify", "--metrics-brief",
                                "--temp-path", TMP, "--yaml", yml]
    rc, out, _ = execute(cmd, run, STRESS_SECS * 6 + 60)
    ops = None
    rate = None
    if os.path.exists(yml):
        with open(yml) as fh:
            y = fh.read()
        m = re.search(r"bogo-ops:\s*(\d+)", y)
        ops = int(m.group(1)) if m else None
        m = re.search(r"bogo-ops-per-second-real-time:\s*([\d.]+)", y)
        rate = float(m.group(1)) if m else None
    # stress-ng's failure lines ("fail:", "FAILED"); newer ones also end
    # with a count, "failed: N", which is no failure when N is 0.
    fails = [l for l in out.splitlines() if re.search(r"\bfail:|FAILED|failed: *[1-9]", l)]
    if rc == 0 and not fails and ops and rate is not None:
        return ops, rate, None
    note(out)
    return ops, rate, fails[0] if fails else ("timed out" if rc is None else f"exit {rc}")


def suite_stress_ng():
    suite = "stress-ng"
    binds(suite, [STRESS_NG, "--version"], re.escape(STRESS_NG))
    for run in RUNS:
        for name, args in STRESS_TESTS:
            ops, rate, why = stress_once(args, run)
            detail = f"{ops} bogo ops, {rate:.0f}/s" if ops is not None and rate is not None else ""
            if why is None:
                emit(suite, name, run, "PASS", detail)
            else:
                emit(suite, name, run, "FAIL", f"{why}; {detail}")
        leftovers(suite, run)


# ---- stress-ng's throughput through the drop-in ------------------------------

PERF_RUNS = int(os.environ.get("CONF_PERF_RUNS", "5"))
PERF_TESTS = [("mq", ["--mq", "2"]), ("msg", ["--msg", "2"])]


def suite_stress_ng_perf():
    """stress-ng --mq 2 and --msg 2, PERF_RUNS times natively and PERF_RUNS
    times through the drop-in, taking turns in this boot (native first in
    odd rounds, the drop-in first in even ones): per test and run a CONF
    line with the median bogo ops/s (real time) and every run's, and a
    CONFPERF<TAB>suite<TAB>test<TAB>native median<TAB>rust_ipc median line
    (report.py prints their ratio).  Not in the default list: ask for it
    (scripts/conformance stress-ng-perf)."""
    suite = "stress-ng-perf"
    binds(suite, [STRESS_NG, "--version"], re.escape(STRESS_NG))
    for name, args in PERF_TESTS:
        rates = {run: [] for run in RUNS}
        failed = {run: None for run in RUNS}
        for i in range(PERF_RUNS):
            for run in (RUNS if i % 2 == 0 else tuple(reversed(RUNS))):
                _, rate, why = stress_once(args, run)
                if why is None:
                    rates[run].append(rate)
                else:
                    failed[run] = failed[run] or why
        med = {}
        for run in RUNS:
            r = rates[run]
            med[run] = statistics.median(r) if r else None
            detail = (f"median {med[run]:.0f}/s of {len(r)} runs:"
                      f" {' '.join(f'{x:.0f}' for x in r)}" if r else "")
            if failed[run]:
                emit(suite, name, run, "FAIL", f"{failed[run]}; {detail}")
            else:
                emit(suite, name, run, "PASS", detail)
        if med.get("native") and med.get("rust_ipc"):
            print(f"CONFPERF\t{suite}\t{name}\t{med['native']:.1f}\t{med['rust_ipc']:.1f}",
                  flush=True)
    for run in RUNS:
        leftovers(suite, run)


# ---- pmqtest (rt-tests) ----------------------------------------------------

PMQ_LOOPS = int(os.environ.get("CONF_PMQ_LOOPS", "1000"))
# pmqtest's -T (mq_timedreceive) is not used: in rt-tests 2.4 the sender
# then takes two sync messages per cycle (mq_timedreceive and mq_receive on
# the sync queue) while the receiver sends one, so it stalls on the native
# queues too.
PMQ_TESTS = [
    ("1 pair", ["-p", "80", "-i", "200", "-d", "0", "-l", str(PMQ_LOOPS)]),
    ("1 pair per CPU, pinned (-S)", ["-S", "-p", "80", "-i", "200", "-d", "0",
                                     "-l", str(PMQ_LOOPS)]),
    ("4 pairs, priorities 80..77 (-t 4)", ["-t", "4", "-p", "80", "-i", "200", "-d", "100",
                                          "-l", str(PMQ_LOOPS)]),
]


def suite_pmqtest():
    suite = "pmqtest"
    exe = "/usr/bin/pmqtest"
    binds(suite, [exe, "--help"], re.escape(exe))
    for run in RUNS:
        for name, args in PMQ_TESTS:
            js = os.path.join(TMP, "pmq.json")
            if os.path.exists(js):
                os.unlink(js)
            loops = int(args[args.index("-l") + 1])
            rc, out, _ = execute([exe, "-q", f"--json={js}"] + args, run, 300)
            why = None
            detail = ""
            try:
                with open(js) as fh:
                    j = json.load(fh)
                threads = list(j["thread"].values())
                # pmqtest stops every pair when the first has made its loops.
                done = [t["sender"]["samples"] for t in threads]
                if max(done) != loops or min(done) < 1:
                    why = f"loops made: {done}, want {loops} for the first to finish"
                avg = max(t["receiver"]["avg"] for t in threads)
                mx = max(t["receiver"]["max"] for t in threads)
                detail = f"latency avg {avg:.0f} us, max {mx} us"
                if j.get("return_code", 0) != 0:
                    why = why or f"return_code {j['return_code']}"
            except (OSError, ValueError, KeyError) as e:
                why = f"no JSON results ({e.__class__.__name__})"
            errs = [l for l in out.splitlines()
                    if re.search(r"could not|ERROR|mismatch", l)]
            if rc != 0 or errs or why:
                emit(suite, name, run, "FAIL",
                     (errs[0] if errs else why or ("timed out" if rc is None else f"exit {rc}")) +
                     (f"; {detail}" if detail else ""))
                note(out)
            else:
                emit(suite, name, run, "PASS", detail)
        leftovers(suite, run)


# ---- posix_ipc and sysv_ipc (PyPI) ----------------------------------------------

def suite_pypi(suite, module):
    src = sorted(glob.glob(os.path.join(CONF, "src", f"{module}-*")))
    if not src or not os.path.exists(PY):
        for run in RUNS:
            emit(suite, "(suite)", run, "SKIP", "not installed: run scripts/conformance-setup")
        return
    src = src[-1]
    so = glob.glob(os.path.join(CONF, "venv", "lib", "python3*", "site-packages",
                                f"{module}*.so"))
    if so:
        binds(suite, [PY, "-c", f"import {module}"], re.escape(so[0]))
    else:
        check(suite, f"{module}: the extension module is installed", False)
    for run in RUNS:
        rc, out, secs = execute([PY, os.path.join(TOP, "conformance", "pyunit.py"), suite, run,
                                 src], run, 900, {"PYTHONDONTWRITEBYTECODE": "1"})
        seen = 0
        for line in out.splitlines():
            if line.startswith("CONF\t"):
                print(line, flush=True)
                seen += 1
        # The run as a whole, on both sides, so that a run that fails
        # after its last verdict (a crash at exit) is compared too.
        if rc is None or not seen:
            emit(suite, "(suite)", run, "FAIL",
                 "timed out" if rc is None else f"exit {rc}, no test ran")
        else:
            emit(suite, "(suite)", run, "PASS" if rc == 0 else "FAIL", f"exit {rc}, {seen} tests")
        others = [l for l in out.splitlines() if not l.startswith("CONF\t")]
        if others:
            note("\n".join(others[-80:]))
        note(f"{suite} {run}: {seen} tests in {secs:.0f} s")
        leftovers(suite, run)


# ---- glibc's rt/tst-mqueue*.c ----------------------------------------------------

def suite_glibc():
    suite = "glibc"
    bins = sorted(glob.glob(os.path.join(CONF, "bin", "glibc", "tst-mqueue*")),
                  key=lambda p: int(re.sub(r"\D", "", os.path.basename(p)) or 0))
    if not bins:
        for run in RUNS:
            emit(suite, "(suite)", run, "SKIP", "not built: run scripts/conformance-setup")
        return
    for b in bins:
        binds(suite, [b, "--help"], re.escape(b))
    outputs = {}
    for run in RUNS:
        for b in bins:
            name = os.path.basename(b)
            # tst-mqueue7 re-executes itself (glibc's rt/Makefile gives it
            # "-- $(host-test-program-cmd)"); the driver's timeout is scaled
            # for TCG.
            args = ["--", b] if name == "tst-mqueue7" else []
            rc, out, _ = execute([b] + args, run, 600, {"TIMEOUTFACTOR": "10"})
            outputs[(name, run)] = out
            if rc == 0:
                differs = run == "rust_ipc" and outputs.get((name, "native")) != out
                emit(suite, name, run, "PASS", "output differs from native's" if differs else "")
                if differs:
                    note(out)
            elif rc == 77:
                emit(suite, name, run, "SKIP", "UNSUPPORTED: " + (out.strip().splitlines() or [""])[-1])
            else:
                lines = out.strip().splitlines()
                emit(suite, name, run, "FAIL",
                     ("timed out" if rc is None else f"exit {rc}") +
                     (": " + lines[-1] if lines else ""))
                note(out)
        leftovers(suite, run)


# ---- the kernel's mq_perf_tests ---------------------------------------------------

def suite_mq_perf():
    suite = "mq_perf_tests"
    exe = os.path.join(CONF, "bin", "mq_perf_tests")
    if not os.path.exists(exe):
        for run in RUNS:
            emit(suite, "(suite)", run, "SKIP", "not built: run scripts/conformance-setup")
        return
    binds(suite, [exe, "--help"], re.escape(exe))
    for run in RUNS:
        rc, out, secs = execute([exe], run, 3000)
        tests = []
        cur = None
        for line in out.splitlines():
            m = re.match(r"\s*Test #(\w+): (.*?):?\s*$", line)
            if m:
                cur = f"#{m.group(1)} {m.group(2)}"
                continue
            m = re.match(r"\s*(Send|Recv) msg:", line)
            if m and cur:
                kind = m.group(1).lower()
                continue
            m = re.match(r"\s*(\d+) nsec/msg", line)
            if m and cur:
                tests.append((f"{cur}: {kind}", int(m.group(1))))
        for name, ns in tests:
            emit(suite, name, run, "PASS" if rc == 0 else "FAIL", f"{ns} nsec/msg")
        if rc != 0 or not tests:
            emit(suite, "(run)", run, "FAIL", "timed out" if rc is None else f"exit {rc}")
            note(out)
        else:
            emit(suite, "(run)", run, "PASS", f"{secs:.0f} s")
            # The limits it ran with (it raises msg_max and msgsize_max as
            # far as they go: the native sysctls, or the module's through
            # the preload).
            m = re.search(r"Adjusted system state.*?\n(.*?)\n\s*Continuous mode", out, re.S)
            if m:
                note(f"mq_perf_tests {run}: " + "; ".join(
                    " ".join(l.split()) for l in m.group(1).splitlines() if l.strip()))
        leftovers(suite, run)


# ---- the posixmq and nix crates' tests --------------------------------------

def crate_binaries(suite):
    """(binary, libtest filter) of the crate's test binaries, as
    scripts/conformance-setup listed them."""
    try:
        with open(os.path.join(CONF, "bin", "rust-crates")) as fh:
            rows = [l.rstrip("\n").split("\t") for l in fh if not l.startswith("#")]
    except OSError:
        return []
    return [(r[1], r[2]) for r in rows if len(r) == 3 and r[0] == suite]


def suite_crate(suite):
    bins = crate_binaries(suite)
    if not bins:
        for run in RUNS:
            emit(suite, "(suite)", run, "SKIP", "not built: run scripts/conformance-setup")
        return
    for b, _ in bins:
        # A test binary without tests (a library's, here) calls nothing.
        if not re.match(r"0 tests", execute([b, "--list"], "native", 60)[1]):
            binds(suite, [b, "--list"], re.escape(b))
    native_left = "any"
    failed = {}
    for run in RUNS:
        failed[run] = set()
        for b, filt in bins:
            # The tests' own names, prefixed with the test target's (the
            # binary's name without cargo's hash) where there are several.
            target = re.sub(r"-[0-9a-f]{16}$", "", os.path.basename(b))
            prefix = f"{target}::" if len(bins) > 1 else ""
            # One thread: the tests of a binary share queue names.
            # --show-output prints what passing tests wrote, which tells a
            # test that returned early (nix's on ENOSYS) from one that ran.
            cmd = [b, "--test-threads=1", "--show-output"] + ([filt] if filt else [])
            rc, out, secs = execute(cmd, run, 600, {"RUST_BACKTRACE": "0"})
            verdicts = re.findall(r"^test (\S+) \.\.\. (ok|FAILED|ignored)\s*$", out, re.M)
            printed = dict(re.findall(r"^---- (\S+) stdout ----\n(.*?)(?=^---- |^failures:|^successes:|\Z)",
                                      out, re.M | re.S))
            for name, v in verdicts:
                said = " ".join(printed.get(name, "").split())
                if v == "ok" and "not supported" in said:
                    emit(suite, prefix + name, run, "SKIP", said)
                elif v == "ok":
                    emit(suite, prefix + name, run, "PASS")
                elif v == "ignored":
                    emit(suite, prefix + name, run, "SKIP", "#[ignore]")
                else:
                    emit(suite, prefix + name, run, "FAIL", said[:300])
                    failed[run].add(prefix + name)
            # The run as a whole, on both sides (its failed tests are
            # their own rows): a crash after the last verdict is compared.
            failed_tests = re.search(r"^test result: FAILED", out, re.M)
            # A binary without tests (a library's) runs none and exits 0.
            # libtest exits 101 when tests failed (their own rows); any other
            # status but 0 is the run's failure (a crash after its summary).
            if rc is None or not (rc == 0 or (rc == 101 and failed_tests)):
                emit(suite, prefix + "(run)", run, "FAIL",
                     "timed out" if rc is None else f"exit {rc}, {len(verdicts)} tests")
            else:
                emit(suite, prefix + "(run)", run, "PASS", f"{len(verdicts)} tests")
            if rc != 0:
                note(out[-4000:])
        # Some tests leave their queues behind (natively too).
        if run == "native":
            native_left = (leftovers(suite, run, "any"), failed[run])
        elif native_left == "any":
            leftovers(suite, run, "any")
        else:
            leftovers(suite, run, (native_left[0], len(failed[run] - native_left[1])))


SUITES = {
    "stress-ng": suite_stress_ng,
    "stress-ng-perf": suite_stress_ng_perf,
    "pmqtest": suite_pmqtest,
    "posix_ipc": lambda: suite_pypi("posix_ipc", "posix_ipc"),
    "sysv_ipc": lambda: suite_pypi("sysv_ipc", "sysv_ipc"),
    "glibc": suite_glibc,
    "posixmq": lambda: suite_crate("posixmq"),
    "nix": lambda: suite_crate("nix"),
    "mq_perf_tests": suite_mq_perf,
}


# Asked for by name only.
NOT_DEFAULT = ("stress-ng-perf",)


def main():
    names = sys.argv[1:] or [n for n in SUITES if n not in NOT_DEFAULT]
    for n in names:
        if n not in SUITES:
            sys.exit(f"guest.py: unknown suite {n} (have: {' '.join(SUITES)})")
    print(f"# conformance: {' '.join(names)}; kernel {os.uname().release};"
          f" rust_ipc {'loaded' if module_loaded() else 'MISSING'}", flush=True)
    for n in names:
        print(f"CONFSUITE\t{n}", flush=True)
        t0 = time.monotonic()
        if not module_loaded():
            check(n, "/dev/rust_ipc exists (module loaded)", False)
        SUITES[n]()
        print(f"# {n}: {time.monotonic() - t0:.0f} s", flush=True)
    print("CONFDONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
