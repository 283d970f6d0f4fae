#!/usr/bin/env python3
"""Ratios from one xact_bench run, as a Markdown table (Python 3 standard library only).

    python3 bench/ratios.py bench.json                 # JSON from --benchmark_format=json
                                                       #   (or --benchmark_out=bench.json)
    python3 bench/ratios.py build/bench/bench/xact_bench [-- extra xact_bench arguments]

For each function, element type and n: xact time / memcpy time (memcpy of n elements, the
bytes of one output array), plain-loop time / memcpy time, and the speed-up of xact over the
loop (loop time / xact time). Times are CPU times unless --time real. With repetitions, the minimum over the repetitions is used
(least disturbed by other processes); with aggregates only, the median.
"""

import argparse
import json
import os
import re
import subprocess
import sys

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

FUNCTION_ORDER = ["identity", "relu", "relu6", "leaky_relu", "hardtanh", "hard_sigmoid",
                  "hard_swish"]

# Targets (float, one thread): time / memcpy time at most this, by (op, function, n).
TARGETS = {}
for _f in ("relu", "leaky_relu", "relu6", "hardtanh"):
    TARGETS[("fwd", _f, 4096)] = 1.10
    TARGETS[("fwd", _f, 16 * 1024 * 1024)] = 1.05
TARGETS[("fwd", "hard_swish", 4096)] = 1.25


def target_for(op, function, type_, n):
    if type_ != "f32":
        return None
    if op == "fwd" and function.startswith("prelu") and n == 4096:
        return 1.25
    if op == "bwd" and n == 4096:
        return 1.6
    return TARGETS.get((op, function, n))


def load(args):
    path = args.source
    if os.path.isfile(path) and os.access(path, os.X_OK) and not path.endswith(".json"):
        cmd = [path, "--benchmark_format=json"] + args.extra
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout
        return json.loads(out)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def base_name(entry):
    name = entry.get("run_name") or entry["name"]
    # Drop the suffixes Google Benchmark adds: /min_time:0.200, /repeats:3, /real_time, ...
    parts = [p for p in name.split("/") if not re.match(r"^(min_time|min_warmup_time|repeats|"
                                                          r"iterations|threads):", p)
             and p not in ("real_time", "manual_time")]
    return "/".join(parts)


def collect(data, field, stat):
    runs, aggregates = {}, {}
    for e in data.get("benchmarks", []):
        if e.get("error_occurred"):
            continue
        t = float(e[field]) * UNIT_NS[e.get("time_unit", "ns")]
        name = base_name(e)
        if e.get("run_type") == "aggregate":
            aggregates.setdefault(name, {})[e.get("aggregate_name")] = t
        else:
            runs.setdefault(name, []).append(t)
    times = {}
    for name in set(runs) | set(aggregates):
        r, a = runs.get(name), aggregates.get(name, {})
        if stat == "min" and r:
            times[name] = min(r)
        elif stat in a:
            times[name] = a[stat]
        elif r:
            times[name] = {"min": min, "median": lambda v: sorted(v)[len(v) // 2],
                           "mean": lambda v: sum(v) / len(v)}[stat](r)
        elif "median" in a:
            times[name] = a["median"]
        elif "mean" in a:
            times[name] = a["mean"]
    return times


def human(n):
    for unit, size in (("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n % size == 0:
            return f"{n // size} {unit}"
    return str(n)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("source", help="JSON output of xact_bench, or the xact_bench executable")
    p.add_argument("extra", nargs="*", help="arguments for xact_bench when it is run (after --)")
    p.add_argument("--time", choices=("cpu", "real"), default="cpu",
                   help="cpu_time (default: on a shared machine it leaves out the time other\n"
                        "processes ran) or real_time")
    p.add_argument("--stat", choices=("min", "median", "mean"), default="min",
                   help="statistic over repetitions (default min; median if only aggregates)")
    args = p.parse_args()

    data = load(args)
    times = collect(data, args.time + "_time", args.stat)

    rows = []
    for name, t in times.items():
        parts = name.split("/")
        if len(parts) != 4 or parts[0] not in ("fwd", "bwd"):
            continue
        op, function, type_, n = parts[0], parts[1], parts[2], int(parts[3])
        memcpy = times.get(f"memcpy/{type_}/{n}")
        loop = times.get(f"{op}_loop/{function}/{type_}/{n}")
        rows.append((op, function, type_, n, t, memcpy, loop))

    def order(row):
        op, function, type_, n = row[:4]
        f = FUNCTION_ORDER.index(function) if function in FUNCTION_ORDER else len(FUNCTION_ORDER)
        return (op != "fwd", type_, f, function, n)

    ctx = data.get("context", {})
    print(f"xact_bench, {ctx.get('date', '?')}, {ctx.get('host_name', '?')}: "
          f"{ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, "
          f"SIMD {ctx.get('xsimd_arch', '?')}; {args.time} time, {args.stat} over repetitions.")
    print()
    print("| op | function | type | n | xact ÷ memcpy | loop ÷ memcpy | speed-up over loop | target |")
    print("|---|---|---|---|---:|---:|---:|---|")
    missed = []
    for op, function, type_, n, t, memcpy, loop in sorted(rows, key=order):
        r_xact = f"{t / memcpy:.2f}" if memcpy else "–"
        r_loop = f"{loop / memcpy:.2f}" if memcpy and loop else "–"
        speedup = f"{loop / t:.2f}×" if loop else "–"
        goal = target_for(op, function, type_, n)
        if goal is None or not memcpy:
            mark = ""
        elif t / memcpy <= goal:
            mark = f"≤ {goal:.2f} ✓"
        else:
            mark = f"≤ {goal:.2f} ✗"
            missed.append(f"{op}/{function}/{type_}/{n}: {t / memcpy:.2f} > {goal:.2f}")
        print(f"| {op} | {function} | {type_} | {human(n)} | {r_xact} | {r_loop} | {speedup} | {mark} |")
    print()
    for m in ("memcpy/f32/4096", "memcpy/f32/262144", f"memcpy/f32/{16 << 20}",
              "memcpy/f64/4096", "memcpy/f64/262144", f"memcpy/f64/{16 << 20}"):
        if m in times:
            print(f"- {m}: {times[m]:.1f} ns")
    if missed:
        print()
        print("Targets missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
