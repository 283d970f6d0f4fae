#!/usr/bin/env python3
"""Weighted near-minimax polynomial fits with coefficients rounded to float or double, shared by
tools/coefficients_gelu.py and tools/coefficients_erfc.py (mpmath; tested with 1.3).

fit_poly(f, w, lo, hi, deg, bits): minimises max |p(t) - f(t)| w(t) over [lo, hi] by Lawson's
iteration (iteratively reweighted least squares, which converges to the minimax solution) on a
Chebyshev + uniform grid; then rounds the coefficients to `bits` bits one at a time, lowest degree
first, refitting the ones not yet rounded, so that each rounding is compensated by the others.
The returned error is measured with the rounded coefficients on a finer grid.
"""
import mpmath as mp


def rnd(x, bits):
    with mp.workprec(bits):
        return +mp.mpf(x)


def grid(lo, hi, n):
    lo, hi = mp.mpf(lo), mp.mpf(hi)
    pts = [lo + (hi - lo) * (1 - mp.cos(mp.pi * i / (n - 1))) / 2 for i in range(n)]
    pts += [lo + (hi - lo) * mp.mpf(i) / (n - 1) for i in range(n)]
    return sorted(set(pts))


def lawson(B, fs, ws, iters):
    """c minimising max_i |sum_k c_k B[i][k] - fs[i]| ws[i] (weighted least squares, reweighted)."""
    N, K = len(fs), len(B[0])
    lw = [mp.mpf(1)] * N
    best = None
    for _ in range(iters):
        M = mp.matrix(N, K)
        b = mp.matrix(N, 1)
        for i in range(N):
            s = mp.sqrt(lw[i]) * ws[i]
            for k in range(K):
                M[i, k] = s * B[i][k]
            b[i] = s * fs[i]
        try:
            Mt = M.T
            c = mp.lu_solve(Mt * M, Mt * b)
        except ZeroDivisionError:
            break
        e = [(sum(c[k] * B[i][k] for k in range(K)) - fs[i]) * ws[i] for i in range(N)]
        err = max(abs(v) for v in e)
        if best is None or err < best[0]:
            best = (err, [c[k] for k in range(K)])
        lw = [lw[i] * abs(e[i]) for i in range(N)]
        tot = sum(lw)
        lw = [max(v / tot * N, mp.mpf(10) ** -12) for v in lw]
    return best


def fit_poly(f, w, lo, hi, deg, bits, fixed=None, n=60, iters=25):
    """Near-minimax sum_k c_k t^k for f on [lo, hi], weight w, coefficients rounded to `bits`
    (lowest degree first, refitting the rest). fixed: {k: value} kept as given.
    Returns (max weighted error of the rounded polynomial on a finer grid, coefficients)."""
    fixed = dict(fixed or {})
    xs = grid(lo, hi, n)
    fx = [f(x) for x in xs]
    wx = [w(x) for x in xs]
    S = max(abs(mp.mpf(lo)), abs(mp.mpf(hi)))

    def solve(fixed):
        free = [k for k in range(deg + 1) if k not in fixed]
        B = [[(x / S) ** k for k in free] for x in xs]
        tg = [fx[i] - sum(v * xs[i] ** k for k, v in fixed.items()) for i in range(len(xs))]
        _, c = lawson(B, tg, wx, iters)
        out = dict(fixed)
        for k, v in zip(free, c):
            out[k] = v / S ** k
        return [out[k] for k in range(deg + 1)]

    c = solve(fixed)
    for k in range(deg + 1):
        if k in fixed:
            continue
        fixed[k] = rnd(c[k], bits)
        c = solve(fixed) if len(fixed) <= deg else [fixed[j] for j in range(deg + 1)]
    fine = mp.linspace(mp.mpf(lo), mp.mpf(hi), 3 * n)
    err = max(abs((mp.polyval(c[::-1], x) - f(x)) * w(x)) for x in fine)
    return err, c


def lit(x, bits):
    if bits == 24:  # the exact decimal value of the float
        return mp.nstr(x, 24, min_fixed=-5, max_fixed=5, strip_zeros=True)
    return mp.nstr(x, 21, min_fixed=-5, max_fixed=5)


def log2(e):
    return "2^%.1f" % float(mp.log(e, 2)) if e > 0 else "0"
