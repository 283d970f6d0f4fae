#!/usr/bin/env python3
"""Ratios from one xact_bench run, as a Markdown table (Python 3 standard library only).

    python3 bench/ratios.py bench.json                 # JSON from --benchmark_format=json
                                                       #   (or --benchmark_out=bench.json)
    python3 bench/ratios.py build/bench/bench/xact_bench [-- extra xact_bench arguments]

For each function, element type and n: xact time / memcpy time (memcpy of n elements, the
bytes of one output array), plain-loop time / memcpy time, the speed-up of xact over the
loop (loop time / xact time) and, where the run has Eigen rows, xact speed / Eigen speed
(Eigen time / xact time; above 1 xact is faster). The add2 rows (dx = x + dy, a plain loop)
give the floor of any backward, which reads two arrays: printed as a ratio to memcpy. Times are CPU times unless --time real.
With repetitions, the minimum over the repetitions is used (least disturbed by other
processes); with aggregates only, the median.

Targets (float unless said, one thread) are marked ✓ or ✗ and the misses listed at the end.
"""

import argparse
import json
import os
import re
import subprocess
import sys

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

PIECEWISE = ["identity", "relu", "relu6", "leaky_relu", "hardtanh", "hard_sigmoid", "hard_swish"]
TRANSCENDENTAL = ["sigmoid", "tanh", "silu", "swish_1.5", "softsign", "elu", "selu", "celu",
                  "gelu", "gelu_tanh", "softplus", "log_sigmoid", "mish"]
FUNCTION_ORDER = PIECEWISE + TRANSCENDENTAL
MI16 = 16 * 1024 * 1024

# Targets, time / memcpy time at most this, by (op, function, n); float.
TARGETS = {}
for _f in ("relu", "leaky_relu", "relu6", "hardtanh"):
    TARGETS[("fwd", _f, 4096)] = 1.10
    TARGETS[("fwd", _f, MI16)] = 1.05
TARGETS[("fwd", "hard_swish", 4096)] = 1.25
for _n in (4096, 262144):
    TARGETS[("fwd", "elu", _n)] = 6.0
for _f in TRANSCENDENTAL:  # at 16 Mi every forward keeps up with memory
    TARGETS[("fwd", _f, MI16)] = 1.05

# Targets (issue #3), xact speed / Eigen speed at least this, by (op, function), float, at
# n = 4096 and 262144. Double: every function with an Eigen row at least 1.0.
EIGEN_TARGETS = {
    ("fwd", "sigmoid"): 1.25, ("fwd", "tanh"): 1.25, ("fwd", "silu"): 1.25,
    ("fwd", "elu"): 1.25, ("fwd", "gelu"): 1.0,
    ("bwd", "sigmoid"): 1.0, ("bwd", "tanh"): 1.0, ("bwd", "silu"): 1.0, ("bwd", "gelu"): 1.0,
}
EIGEN_SIZES = (4096, 262144)


def target_for(op, function, type_, n):
    """Time / memcpy time at most this, or None."""
    if type_ != "f32":
        return None
    if function.startswith(("softmax_", "log_softmax_")):  # issue #4
        if op == "bwd":
            return 1.6
        return 4.0 if function.rsplit("_", 1)[-1].count("x") == 2 else 3.2
    if op == "fwd" and function.startswith("prelu") and n == 4096:
        return 1.25
    if op == "bwd" and n == 4096 and (function in PIECEWISE or function.startswith("prelu")):
        return 1.6
    return TARGETS.get((op, function, n))


def eigen_target_for(op, function, type_, n):
    """xact speed / Eigen speed at least this, or None."""
    if n not in EIGEN_SIZES:
        return None
    if type_ == "f64":
        return 1.0
    return EIGEN_TARGETS.get((op, function))


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

    rows = {}
    for name in times:
        parts = name.split("/")
        if len(parts) != 4 or parts[0] not in ("fwd", "bwd", "fwd_eigen", "bwd_eigen"):
            continue
        key = (parts[0].split("_")[0], parts[1], parts[2], int(parts[3]))
        rows.setdefault(key, None)  # an Eigen row alone (no xact row) still gets a line
    table = []
    for op, function, type_, n in rows:
        t = times.get(f"{op}/{function}/{type_}/{n}")
        memcpy = times.get(f"memcpy/{type_}/{n}")
        loop = times.get(f"{op}_loop/{function}/{type_}/{n}")
        eigen = times.get(f"{op}_eigen/{function}/{type_}/{n}")
        table.append((op, function, type_, n, t, memcpy, loop, eigen))

    def order(row):
        op, function, type_, n = row[:4]
        f = FUNCTION_ORDER.index(function) if function in FUNCTION_ORDER else len(FUNCTION_ORDER)
        return (op != "fwd", type_, f, function, n)

    ctx = data.get("context", {})
    print(f"xact_bench, {ctx.get('date', '?')}, {ctx.get('host_name', '?')}: "
          f"{ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, "
          f"SIMD {ctx.get('xsimd_arch', '?')}"
          + (f", Eigen {ctx['eigen_version']} ({ctx.get('eigen_simd', '?')})"
             if "eigen_version" in ctx else "")
          + f"; {args.time} time, {args.stat} over repetitions.")
    print()
    has_eigen = any(row[7] for row in table)
    head = ["op", "function", "type", "n", "xact el/ns", "xact ÷ memcpy", "loop ÷ memcpy",
            "speed-up over loop"]
    align = ["---", "---", "---", "---", "---:", "---:", "---:", "---:"]
    if has_eigen:
        head.append("xact speed ÷ Eigen speed")
        align.append("---:")
    head.append("target")
    align.append("---")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(align) + "|")
    missed = []
    for op, function, type_, n, t, memcpy, loop, eigen in sorted(table, key=order):
        r_xact = f"{t / memcpy:.2f}" if t and memcpy else "–"
        r_loop = f"{loop / memcpy:.2f}" if memcpy and loop else "–"
        speedup = f"{loop / t:.2f}×" if loop and t else "–"
        vs_eigen = f"{eigen / t:.2f}×" if eigen and t else "–"
        marks = []
        row = f"{op}/{function}/{type_}/{n}"
        goal = target_for(op, function, type_, n)
        if goal is not None and memcpy and t:
            ok = t / memcpy <= goal
            marks.append(f"≤ {goal:.2f} {'✓' if ok else '✗'}")
            if not ok:
                floor = times.get(f"add2/{type_}/{n}") if op == "bwd" else None
                missed.append(f"{row}: {t / memcpy:.2f} > {goal:.2f} × memcpy"
                              + (f" (two-input floor add2: {floor / memcpy:.2f})" if floor else ""))
        goal = eigen_target_for(op, function, type_, n)
        if goal is not None and eigen and t:
            ok = eigen / t >= goal
            marks.append(f"Eigen ≥ {goal:.2f}× {'✓' if ok else '✗'}")
            if not ok:
                missed.append(f"{row}: {eigen / t:.2f}× < {goal:.2f}× Eigen")
        rate = f"{n / t:.2f}" if t else "–"
        cells = [op, function, type_, human(n), rate, r_xact, r_loop, speedup]
        if has_eigen:
            cells.append(vs_eigen)
        cells.append("; ".join(marks))
        print("| " + " | ".join(cells) + " |")
    print()
    for m in ("memcpy/f32/4096", "memcpy/f32/262144", f"memcpy/f32/{MI16}",
              "memcpy/f64/4096", "memcpy/f64/262144", f"memcpy/f64/{MI16}"):
        if m in times:
            a2 = times.get(m.replace("memcpy/", "add2/"))
            print(f"- {m}: {times[m]:.1f} ns"
                  + (f"; add2 (dx = x + dy, the floor of a backward): {a2 / times[m]:.2f} × memcpy"
                     if a2 else ""))
    if missed:
        print()
        print("Targets missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
