#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Instructions per message from a `ripc_bench --insn` run under QEMU with
bench/out/insn_plugin.so (scripts/bench --insn).

    insn_report.py CONSOLE_LOG PLUGIN_LOG JSON_OUT
    insn_report.py --profile [--path GUEST=HOST]... CONSOLE_LOG PLUGIN_LOG [TOP [FUNCTION]]
    insn_report.py --gap [--path GUEST=HOST]... NATIVE CONSOLE PLUGIN RIPC CONSOLE PLUGIN...
    insn_report.py --entry CONSOLE_LOG PLUGIN_LOG [TIMING_LOG]

CONSOLE_LOG holds ripc_bench's "RIPC-INSN-CELL test n size contender M"
lines, one per measurement, in order; PLUGIN_LOG the plugin's "RIPC-INSN
START|END total" lines, one pair per measurement, in the same order.  The
k-th pair's difference is the guest instructions (every vCPU, kernel and
user) the k-th measurement took; divided by M it gives instructions per
message (stream) or per round trip (pingpong).  Prints a table (median over
the runs, min and max, and native's median over the contender's: > 1 means
fewer instructions than native) and writes the figures as JSON.  Exits 1 if
the two logs do not pair up.  The drop-in contenders (dropin-mq,
dropin-sysv: the native ones under LD_PRELOAD=libripc_preload.so) also get
their ratio to libripc's single calls (ripc-mq, ripc-sysv): libripc's
median over the drop-in's (>= 0.97 is the issue's "within 3%").

--profile: the plugin ran with profile=on, and CONSOLE_LOG ends with the
guest's /proc/kallsyms: prints the TOP (default 40) functions by guest
instructions inside the marked measurements, per message (per round trip)
over all of them.  User space is one line, unless the console log has
ripc_bench --maps's "RIPC-MAPS" lines (scripts/bench --profile, with the
guest's address-space randomisation off): then each user-space block is
named by its file and function (the file read on the host, at its guest
path or where a --path GUEST=HOST prefix maps it; nm's symbols, the
dynamic ones where a file has no others), "[vdso]" and the like by their
mapping.  With FUNCTION (a substring of a symbol), also the blocks inside
the first function that matches, by offset from its start (to read beside
`objdump -d` of the function).

--gap: profile logs as --profile's, one boot per contender, in pairs (a
native contender, then the rust_ipc one compared with it): for each pair,
the instructions per message by kind of work (syscall entry, the ioctl
path, argument structs, allocation, text copies, ..., the calls' own work:
the first of KINDS whose pattern a function's name matches) side by side
with the difference, then every function above 15 instructions per message
in either (scripts/bench writes it to bench/results/gap.txt).

--entry: a bench/ripc_entry run (scripts/bench --entry): its "RIPC-INSN-CELL
entry N 0 NAME N" lines pair with the plugin's marker pairs in order;
prints each measurement's instructions per call, over the bare system
call (getppid) and, for rust_ipc's, beside native's same call; with
TIMING_LOG (ripc_entry runs in a boot without the plugin), the median
nanoseconds per call and native's time over rust_ipc's.
"""
import os
import subprocess
import bisect
import json
import re
import statistics
import sys

# The contender each one is compared with (as ripc_bench's ratios).
NATIVE = {"ripc-mq": "native-mq", "native-mq": "native-mq", "ripc-sysv": "native-sysv",
          "native-sysv": "native-sysv", "pipe": "native-mq", "unix-dgram": "native-mq",
          "ripc-mq-batch": "native-mq", "ripc-sysv-batch": "native-sysv",
          "dropin-mq": "native-mq", "dropin-sysv": "native-sysv"}
# The drop-in's libripc counterpart.
LIBRIPC = {"dropin-mq": "ripc-mq", "dropin-sysv": "ripc-sysv"}
ORDER = list(NATIVE)
UNIT = {"pingpong": "insn/round trip", "stream": "insn/msg"}


class UserSpace:
    """Names user-space addresses from the RIPC-MAPS lines of a console log."""

    def __init__(self, text, paths):
        self.maps = []  # (start, end, file offset, guest path)
        seen = set()
        for a, b, off, path in re.findall(
                r"^RIPC-MAPS ([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s*(\S*)\s*$", text, re.M):
            key = (int(a, 16), int(b, 16), int(off, 16), path)
            if key not in seen:
                seen.add(key)
                self.maps.append(key)
        self.conflict = any(x[0] < y[1] and y[0] < x[1] and x[3] != y[3]
                            for i, x in enumerate(self.maps) for y in self.maps[i + 1:])
        self.paths = paths
        self.files = {}

    def host(self, guest):
        for g, h in self.paths:
            if guest == g or guest.startswith(g.rstrip("/") + "/"):
                return h.rstrip("/") + guest[len(g.rstrip("/")):]
        return guest

    def elf(self, guest):
        """(LOAD segments [(offset, vaddr, filesz)], sorted symbols [(addr, name)]) of a file."""
        if guest not in self.files:
            path, segs, syms = self.host(guest), [], []
            try:
                ph = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout
                for off, va, fs in re.findall(
                        r"^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)",
                        ph, re.M):
                    segs.append((int(off, 16), int(va, 16), int(fs, 16)))
                for flags in (["-n", "--defined-only"], ["-D", "-n", "--defined-only"]):
                    out = subprocess.run(["nm"] + flags + [path], capture_output=True,
                                         text=True).stdout
                    syms = sorted((int(a, 16), n) for a, t, n in
                                  re.findall(r"^([0-9a-f]+) ([tTwWiI]) (\S+)", out, re.M))
                    if syms:
                        break
            except OSError:
                pass
            self.files[guest] = (segs, syms)
        return self.files[guest]

    def name(self, pc):
        for start, end, off, path in self.maps:
            if start <= pc < end:
                break
        else:
            return "[user space]"
        if not path.startswith("/"):
            return path or "[anonymous]"
        base = os.path.basename(path)
        segs, syms = self.elf(path)
        fo = pc - start + off
        va = next((fo - o + v for o, v, fs in segs if o <= fo < o + fs), fo)
        i = bisect.bisect_right(syms, (va, "\uffff")) - 1
        return f"{base}: {syms[i][1]}" if i >= 0 else f"{base}: +{va:#x}"


def collect(console, plugin, func=None, paths=()):
    """Per function: guest instructions and block runs in the marked
    measurements of a profile boot; with the message count, total block
    runs, blocks translated, FUNCTION's blocks and the `pause`
    instructions run (a spinning waiter's; None from an older plugin)."""
    with open(console, errors="replace") as fh:
        text = fh.read().replace("\r", "")
    cells = re.findall(r"^RIPC-INSN-CELL (\S+) (\d+) (\d+) (\S+) (\d+)\s*$", text, re.M)
    msgs = sum(int(c[4]) for c in cells)
    syms = sorted((int(a, 16), n + (f" {m}" if m else ""))
                  for a, t, n, m in re.findall(
                      r"^([0-9a-f]{16}) ([tTwW]) (\S+)(?:\s+(\[\S+\]))?\s*$", text, re.M)
                  if int(a, 16))
    if not syms or not msgs:
        sys.exit("insn_report: no kallsyms or no measurement in " + console)
    addrs = [a for a, _ in syms]
    user = UserSpace(text, paths)
    if user.conflict:
        print("insn_report: the RIPC-MAPS lines disagree (processes with different layouts:"
              " profile one contender at a time, randomisation off); user space is approximate")
    with open(plugin, errors="replace") as fh:
        plog = fh.read()
    prof = re.findall(r"^RIPC-PROF ([0-9a-f]+) (\d+) (\d+)\s*$", plog, re.M)
    trans = re.findall(r"^RIPC-TRANS (\d+)\s*$", plog, re.M)
    pauses = re.findall(r"^RIPC-PAUSE (\d+)\s*$", plog, re.M)
    by, byruns, blocks, runs = {}, {}, {}, 0
    for pc, n, size in prof:
        runs += int(n) // max(int(size), 1)
        pc = int(pc, 16)
        if pc < 1 << 47:
            name = user.name(pc) if user.maps else "[user space]"
        else:
            i = bisect.bisect_right(addrs, pc) - 1
            name = syms[i][1] if i >= 0 else "?"
            if func and func in name:
                blocks.setdefault(name, []).append((pc - syms[i][0], int(n)))
        by[name] = by.get(name, 0) + int(n)
        byruns[name] = byruns.get(name, 0) + int(n) // max(int(size), 1)
    return (msgs, by, byruns, runs, (trans[0] if trans else "?"), blocks,
            int(pauses[0]) if pauses else None)


def profile(console, plugin, top, func=None, paths=()):
    msgs, by, byruns, runs, trans, blocks, pauses = collect(console, plugin, func, paths)
    total = sum(by.values())
    spin = "" if pauses is None else f", {pauses / msgs:.2f} of them `pause` (spinning)"
    print(f"{msgs} messages (round trips), "
          f"{total / msgs:.0f} instructions each{spin}, in {runs / msgs:.0f} block runs "
          f"(blocks translated while measuring: {trans}); per function "
          "(instructions, share, block runs):")
    for name, n in sorted(by.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {n / msgs:8.1f}  {100 * n / total:5.1f}%  {byruns[name] / msgs:6.1f}  {name}")
    for name, bl in list(blocks.items())[:1]:
        print(f"blocks of {name} (offset: instructions per message):")
        for off, n in sorted(bl):
            print(f"  +{off:#06x}  {n / msgs:8.1f}")


# Where a message's instructions go, by kind of work (--gap): the first
# pattern a function's name matches (a regular expression searched in it).
KINDS = [
    ("syscall entry and exit", r"^(entry_SYSCALL|do_syscall_64|syscall_return|x64_sys_call"
     r"|arch_exit_to_user|exit_to_user|tick_nohz_user|syscall_exit|fpregs_restore)"),
    ("fdget, ioctl path (sys_ioctl, misc device)", r"^(__x64_sys_ioctl|fdget|fput|"
     r"security_file_ioctl|do_vfs_ioctl)|MiscdeviceVTable"),
    ("argument structs", r"read_arg|rust_ipc_read_user_words|write_arg"),
    ("allocation (kmalloc, kfree)", r"kmalloc|kfree|kmem_cache|krealloc|slab|"
     r"memcg|obj_cgroup|mod_objcg"),
    ("text copies (user memory)", r"rep_movs|copy_from_user|copy_to_user|_nofault|read_raw|"
     r"write_slice|load_msg|store_msg|Msg4load|Msg11store|4sysv4load|read_user|write_user"),
    ("namespace counters (percpu_counter)", r"percpu_counter"),
    ("inode timestamps (mqueue)", r"inode_set_ctime|ktime_get_coarse_real_ts64|"
     r"simple_inode_init_ts|set_normalized_timespec|inode_"),
    ("scheduler, wake-ups, timers", r"schedule|update_|enqueue|dequeue|pick_|"
     r"set_next_task|put_prev|switch|wake|hrtimer|sched_|place_entity|requeue|"
     r"finish_task|ktime_get$|native_sched_clock|rb_insert_augmented|_entity|"
     r"tick_|rcu_note|__calc_delta|avg_vruntime|cpuacct|account_"),
    ("user space (bench, libc, library)", r"^(ripc_bench|libc|libripc|\[)"),
    ("the calls themselves: checks, lookup, lock, queue", r""),
]


def kind(name):
    for k, pat in KINDS:
        if re.search(pat, name):
            return k
    return KINDS[-1][0]


def gap(runs, paths=()):
    """--gap: LABEL CONSOLE PLUGIN per contender, natives first in each
    pair: instructions per message by kind of work, side by side, and the
    functions whose count differs most."""
    data = []
    for label, console, plugin in runs:
        msgs, by, _, nruns, _, _, pauses = collect(console, plugin, None, paths)
        data.append((label, {n: v / msgs for n, v in by.items()}, nruns / msgs,
                     (pauses or 0) / msgs))
    for (nl, nat, nruns, npause), (rl, rip, rruns, rpause) in zip(data[::2], data[1::2]):
        kn, kr = {}, {}
        for src, dst in ((nat, kn), (rip, kr)):
            for name, v in src.items():
                dst[kind(name)] = dst.get(kind(name), 0) + v
        print(f"{rl} against {nl}: guest instructions per message by kind of work")
        print(f"  {'':52} {nl:>11} {rl:>11} {'difference':>11}")
        for k, _ in KINDS:
            a, b = kn.get(k, 0), kr.get(k, 0)
            print(f"  {k:52} {a:11.0f} {b:11.0f} {b - a:+11.0f}")
        tn, tr = sum(kn.values()), sum(kr.values())
        print(f"  {'total':52} {tn:11.0f} {tr:11.0f} {tr - tn:+11.0f}")
        print(f"  {'block runs (what time follows under TCG)':52} {nruns:11.0f} {rruns:11.0f}"
              f" {rruns - nruns:+11.0f}")
        print(f"  {'pause instructions (spinning: ~130 ns each here)':52} {npause:11.2f}"
              f" {rpause:11.2f} {rpause - npause:+11.2f}")
        print(f"  ratio {nl} / {rl}: {tn / tr:.2f} in instructions, {nruns / rruns:.2f} in"
              " block runs")
        print(f"the functions of {nl} and {rl} above 15 instructions per message:")
        names = sorted(set(nat) | set(rip), key=lambda n: -max(nat.get(n, 0), rip.get(n, 0)))
        for n in names:
            a, b = nat.get(n, 0), rip.get(n, 0)
            if max(a, b) >= 15:
                short = n if len(n) < 90 else n[:40] + "..." + n[-45:]
                print(f"  {a:8.0f} {b:8.0f}  {short}  [{kind(n)}]")
        print()


def entry(console, plugin, timing=None):
    """The --entry table (see the module's documentation); with TIMING, a
    console log of ripc_entry runs without the plugin, the median time of
    each call (RIPC-ENTRY-NS lines) beside its instructions."""
    with open(console, errors="replace") as fh:
        cells = re.findall(r"RIPC-INSN-CELL entry (\d+) 0 (\S+) (\d+)", fh.read())
    with open(plugin, errors="replace") as fh:
        marks = [int(n) for n in re.findall(r"^RIPC-INSN (?:START|END) (\d+)\s*$", fh.read(), re.M)]
    if not cells or len(marks) != 2 * len(cells):
        sys.exit(f"insn_report: {len(cells)} measurements but {len(marks)} markers")
    per = {name: (marks[2 * i + 1] - marks[2 * i]) / int(n) for i, (n, name, _) in enumerate(cells)}
    ns = {}
    if timing:
        with open(timing, errors="replace") as fh:
            for name, t in re.findall(r"^RIPC-ENTRY-NS (\S+) ([\d.]+)\s*$",
                                      fh.read().replace("\r", ""), re.M):
                ns.setdefault(name, []).append(float(t))
        ns = {name: statistics.median(ts) for name, ts in ns.items()}
    base = per.get("getppid", 0.0)
    print("guest instructions per call (user and kernel), and over a bare system call (getppid)"
          + ("; ns: median time per call without the plugin" if ns else ""))
    print(f"  {'call':30} {'per call':>9} {'over getppid':>13} {'native':>8} {'rust_ipc - native':>18}"
          + (f" {'ns':>7} {'ns native':>10} {'time ratio':>11}" if ns else ""))
    for name, v in per.items():
        native_name = name.replace("ripc-", "native-", 1) if name.startswith("ripc-") else None
        native = per.get(native_name) if native_name else None
        cmp = f"{native:8.0f} {v - native:+18.0f}" if native is not None else f"{'':8} {'':18}"
        t = ""
        if name in ns:
            t = f" {ns[name]:7.0f}"
            if native_name in ns:
                t += f" {ns[native_name]:10.0f} {ns[native_name] / ns[name]:11.2f}"
        print(f"  {name:30} {v:9.0f} {v - base:13.0f} {cmp}{t}".rstrip())


def main():
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--entry":
        return entry(*sys.argv[2:])
    if len(sys.argv) >= 5 and sys.argv[1] == "--gap":
        args, paths = sys.argv[2:], []
        while len(args) >= 2 and args[0] == "--path" and "=" in args[1]:
            paths.append(tuple(args[1].split("=", 1)))
            args = args[2:]
        if len(args) % 6:
            sys.exit(__doc__)
        return gap([tuple(args[i:i + 3]) for i in range(0, len(args), 3)], paths)
    if len(sys.argv) >= 4 and sys.argv[1] == "--profile":
        args, paths = sys.argv[2:], []
        while len(args) >= 2 and args[0] == "--path" and "=" in args[1]:
            paths.append(tuple(args[1].split("=", 1)))
            args = args[2:]
        if len(args) < 2:
            sys.exit(__doc__)
        return profile(args[0], args[1], int(args[2]) if len(args) > 2 else 40,
                       args[3] if len(args) > 3 else None, paths)
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    with open(sys.argv[1], errors="replace") as fh:
        cells = re.findall(r"^RIPC-INSN-CELL (\S+) (\d+) (\d+) (\S+) (\d+)\s*$",
                           fh.read().replace("\r", ""), re.M)
    with open(sys.argv[2], errors="replace") as fh:
        marks = re.findall(r"^RIPC-INSN (START|END) (\d+)\s*$", fh.read(), re.M)
    pairs = []
    for i in range(0, len(marks) - 1, 2):
        if marks[i][0] != "START" or marks[i + 1][0] != "END":
            sys.exit(f"insn_report: marker {i} is {marks[i][0]}, {marks[i + 1][0]}:"
                     " not a START/END pair")
        pairs.append(int(marks[i + 1][1]) - int(marks[i][1]))
    if not cells or len(pairs) != len(cells) or len(marks) % 2:
        sys.exit(f"insn_report: {len(cells)} measurements but {len(marks)} markers"
                 " (want two per measurement)")
    per = {}  # (test, n, size, contender) -> [instructions per message]
    for (test, n, size, cont, m), d in zip(cells, pairs):
        per.setdefault((test, int(n), int(size), cont), []).append(d / int(m))
    med = {k: statistics.median(v) for k, v in per.items()}
    records = []
    for k in sorted(per, key=lambda k: (k[0] != "pingpong", k[1], k[2], ORDER.index(k[3])
                                        if k[3] in ORDER else 99)):
        test, n, size, cont = k
        ref = med.get((test, n, size, NATIVE.get(cont, "")))
        rec = {"test": test, "n": n, "size": size, "contender": cont,
               "unit": UNIT.get(test, "insn/msg"), "runs": len(per[k]),
               "min": min(per[k]), "median": med[k], "max": max(per[k]),
               "native": NATIVE.get(cont),
               "ratio_to_native": ref / med[k] if ref and med[k] else None}
        if cont in LIBRIPC:
            lib = med.get((test, n, size, LIBRIPC[cont]))
            rec["libripc"] = LIBRIPC[cont]
            rec["ratio_to_libripc"] = lib / med[k] if lib and med[k] else None
        records.append(rec)
    with open(sys.argv[3], "w") as fh:
        json.dump({"what": "guest instructions (all vCPUs, kernel and user) per message or"
                           " round trip, counted by bench/insn_plugin.so under QEMU TCG",
                   "records": records}, fh, indent=1)
    print("Guest instructions per message (stream) and per round trip (pingpong),")
    print("every vCPU, kernel and user, counted by QEMU (bench/insn_plugin.so);")
    print("ratio = native's median / the contender's (> 1: fewer than native);")
    print("vs lib (drop-in: the native contender under LD_PRELOAD=libripc_preload.so) =")
    print("libripc's median (ripc-mq, ripc-sysv) / the drop-in's (>= 0.97: within 3%).\n")
    last = None
    for r in records:
        if (r["test"], r["n"]) != last:
            last = (r["test"], r["n"])
            print(f"\n{r['test']} ({r['unit']})")
            print(f"  {'size':>6}  {'contender':<16} {'median':>10} {'min':>10} {'max':>10}"
                  f"  {'ratio':>6}  {'vs lib':>6}")
        ratio = f"{r['ratio_to_native']:.2f}" if r["ratio_to_native"] else "-"
        lib = f"{r['ratio_to_libripc']:.3f}" if r.get("ratio_to_libripc") else ""
        print(f"  {r['size']:>6}  {r['contender']:<16} {r['median']:>10.0f} {r['min']:>10.0f}"
              f" {r['max']:>10.0f}  {ratio:>6}  {lib:>6}")


if __name__ == "__main__":
    main()
