#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where one module function's instructions go, by source: the blocks of
`scripts/bench --profile` with PROFILE_FUNC (instructions per message at
each block's offset), mapped through a build of the same code with line
tables (`KRUSTFLAGS=-Cdebuginfo=line-tables-only`, which changes no code:
the function's instructions are compared first) by `llvm-symbolizer
--inlines`.  Each block's count is spread evenly over its instructions.
Prints the instructions per message by inlined function (inclusive: a
function's own lines and those inlined into it) and by source line.

  lines_report.py PROFILE_OUTPUT MODULE_WITH_LINES MODULE_PROFILED [N]
"""
import collections
import json
import re
import subprocess
import sys


def disassemble(ko, sym):
    """The function's instructions: [(address, text)]."""
    out = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", ko],
                         capture_output=True, text=True, check=True).stdout
    ins, on = [], False
    for line in out.split("\n"):
        if not on:
            on = line.endswith(f"<{sym}>:")
            continue
        if not line.strip():
            break
        m = re.match(r"\s*([0-9a-f]+):\s*(.*)", line)
        if m:
            ins.append((int(m.group(1), 16), m.group(2)))
    return ins


def shape(ins):
    """The code without its addresses, to compare two builds."""
    base = ins[0][0] if ins else 0
    return [(a - base, re.sub(r"0x[0-9a-f]+", "", t)) for a, t in ins]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    prof, lined, profiled = sys.argv[1:4]
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    sym, blocks, on = None, {}, False
    for line in open(prof):
        m = re.match(r"blocks of (\S+)", line)
        if m:
            sym, on = m.group(1), True
            continue
        m = re.match(r"\s+\+0x([0-9a-f]+)\s+([\d.]+)", line)
        if on and m:
            blocks[int(m.group(1), 16)] = float(m.group(2))
        elif on:
            on = False
    if not sym:
        sys.exit("lines_report: no 'blocks of' in the profile (set PROFILE_FUNC)")
    ins = disassemble(lined, sym)
    if not ins or shape(ins) != shape(disassemble(profiled, sym)):
        sys.exit(f"lines_report: {sym} differs between the two builds")
    base = ins[0][0]
    at = {a - base: i for i, (a, _) in enumerate(ins)}
    weight = collections.Counter()
    for off, count in blocks.items():
        i = at.get(off)
        if i is None:
            continue
        block = []
        for a, text in ins[i:]:
            block.append(a)
            if text.startswith(("j", "ret", "call", "ud2")):
                break
        for a in block:
            weight[a] += count / len(block)
    addrs = sorted(weight)
    out = subprocess.run(["llvm-symbolizer", "--obj=" + lined, "--output-style=JSON",
                          "--inlines"] + [hex(a) for a in addrs],
                         capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.strip().split("\n"):
        v = json.loads(line)
        found += v if isinstance(v, list) else [v]
    by_fn, by_line = collections.Counter(), collections.Counter()
    for d in found:
        c = weight[int(d["Address"], 16)]
        frames = d.get("Symbol") or []
        seen = set()
        for f in frames:
            name = re.sub(r"::h[0-9a-f]{16}$", "", f["FunctionName"])
            if name not in seen:
                by_fn[name] += c
                seen.add(name)
        if frames:
            f = frames[0]
            path = "/".join(f["FileName"].split("/")[-3:])
            by_line[f"{path}:{f['Line']}"] += c
    print(f"{sym}: {sum(weight.values()):.0f} instructions per message")
    print("by inlined function (inclusive):")
    for name, c in by_fn.most_common(top):
        print(f"{c:8.1f}  {name[:150]}")
    print("by source line (innermost):")
    for name, c in by_line.most_common(top):
        print(f"{c:8.1f}  {name}")


if __name__ == "__main__":
    main()
