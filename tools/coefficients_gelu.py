#!/usr/bin/env python3
"""Coefficients of xact::gelu, exact (erf) form (include/xact/functions/gelu.hpp).

Needs python3 and mpmath (tested with 1.3). Run:
    python3 tools/coefficients_gelu.py [series|tables|tail|all] [--quick]
Prints C++ literals (21 significant digits for double, exact decimal values for float). The
header's coefficients come from a full run (--quick uses coarser grids: slightly different ones).

Notation: a = |x|, Phi the standard normal CDF, phi its density, D(a) = Phi(-a) - a phi(a) =
gelu'(-a). Then gelu(x) = x Phi(-a) for x < 0, x (1 - Phi(-a)) for x >= 0; gelu'(x) = D(a) for
x < 0, 1 - D(a) for x >= 0.

1. "series" (double, |x| <= 1/2): Phi(x) = 1/2 + x S(x^2), gelu'(x) = 1/2 + x S2(x^2) with
   S(u) = erf(sqrt(u/2)) / (2 sqrt u) and S2(u) = S(u) + phi(sqrt u), polynomials in u = x^2 on
   [0, 1/4]. Weighted so that the error counts as it enters the result: S by a / Phi(-a), S2 by
   a / max(|D(a)|, Phi(-a), a phi(a)) (the absolute floor of the tests near the zero of f').
2. "tables" (float, |x| <= L = 3.25): piecewise polynomials of degree d in t = a - c_j over N
   intervals of a, for Phi(-a) (relative error) and D(a) (same weight as S2). Two layouts:
   - "avx512": N = 32, d = 4, uniform: j = round(a / w), c_j = j w, w = 27/256 (j from the low
     mantissa bits of fma(a, 1/w, 1.5 2^23); t = fma(j, -w, a) is exact). One vpermt2ps per
     coefficient.
   - "default": N = 8, d = 6: j = round(q(a)), q(a) = a (s1 + s2 a), computed in float as
     fma(a, fma(a, s2, s1), 1.5 2^23). The density q' = s1 + 2 s2 a is proportional to 4 + a:
     it grows with a like the logarithmic derivative of Phi(-a) (about 0.8 + 0.83 a), so that
     the intervals see comparable relative changes of Phi, without starving the small a. c_j (a table) is a multiple of 2^-10 near the middle of
     interval j (c_0 = 0): t = a - c_j is exact. One vpermps per coefficient on AVX2.
   Interval 0 has Phi(-0) = D(0) = 1/2 exactly. The printed structs (pasted verbatim into the
   header) hold -Phi(-a) (table p, negated coefficients, exact) and D(a) (table d).
3. "tail" (float, 3.25 < |x| <= 15): a G(a) = a e^(a^2/2) Phi(-a) as a polynomial of degree 7
   in v = 1/a^2 on [1/15^2, 1/3.25^2] (the Mills ratio's asymptotic series 1 - v + 3 v^2 - ...,
   made near-minimax), relative error; gelu(x) = -(a G) e^(-a^2/2) for x < 0.
All fits are near-minimax (Lawson's iteration on a dense Chebyshev + uniform grid); the
coefficients are then rounded to the target type one at a time, lowest degree first, and the
remaining ones refitted, so that the rounding of each is compensated by the ones after it. The
error of the rounded polynomials is measured on a finer grid and printed.
"""
import sys

import mpmath as mp

from minimax import fit_poly, lit, log2, rnd

mp.mp.dps = 40
SQ2 = mp.sqrt(2)
PHI0 = 1 / mp.sqrt(2 * mp.pi)


def Phim(a):  # Phi(-a)
    return mp.erfc(a / SQ2) / 2


def phi(a):
    return PHI0 * mp.exp(-a * a / 2)


def D(a):  # gelu'(-a)
    return Phim(a) - a * phi(a)


def D_scale(a):
    return max(abs(D(a)), Phim(a), a * phi(a))


# ---------------------------------------------------------------- 1. series (double)

def series(quick):
    def S(u):
        return mp.erf(mp.sqrt(u / 2)) / (2 * mp.sqrt(u)) if u != 0 else PHI0

    def S2(u):
        return S(u) + PHI0 * mp.exp(-u / 2)

    def wS(u):
        a = mp.sqrt(u)
        return a / Phim(a)

    def wS2(u):
        a = mp.sqrt(u)
        return a / D_scale(a)

    for name, f, w in (("S", S, wS), ("S2", S2, wS2)):
        err, c = fit_poly(f, w, 0, mp.mpf(1) / 4, 8, 53, n=40 if quick else 60)
        print(f"series {name}, double, degree 8 in u on [0, 1/4]: weighted error {log2(err)}")
        print("  (highest degree first)")
        for v in reversed(c):
            print("    " + lit(v, 53))


# ---------------------------------------------------------------- 2. tables (float)

LAYOUTS = {  # name: (intervals, degree, uniform width or None)
    "avx512": (32, 4, mp.mpf(27) / 256),
    "default": (8, 6, None),
}
L = mp.mpf(13) / 4  # tables for a <= 3.25; the Gaussian-tail kernel beyond


def mapping(N):
    """s1, s2 (float) with q(a) = a (s1 + s2 a): density proportional to 4 + a, q(L) = N - 0.55."""
    k = (N - mp.mpf(0.55)) / (4 * L + L * L / 2)
    return rnd(4 * k, 24), rnd(k / 2, 24)


def tables(quick):
    for name, (N, d, w) in LAYOUTS.items():
        if w is None:
            s1, s2 = mapping(N)

            def qinv(v):
                return (-s1 + mp.sqrt(s1 * s1 + 4 * s2 * v)) / (2 * s2)

            assert L * (s1 + s2 * L) <= N - mp.mpf(0.5) - mp.mpf(10) ** -3
        else:
            inv_w = rnd(1 / w, 24)

            def qinv(v):
                return v * w

            assert L * inv_w <= N - mp.mpf(0.5) - mp.mpf(10) ** -3
        delta = mp.mpf(2) ** -16  # the float rounding of q moves the boundaries by ~1e-6
        C, P, Dt = [], [], []
        eP = eD = mp.mpf(0)
        for j in range(N):
            lo = qinv(j - mp.mpf(0.5)) if j > 0 else mp.mpf(0)
            hi = min(qinv(j + mp.mpf(0.5)), L + delta) if j < N - 1 else L + delta
            if w is None:
                c = mp.mpf(0) if j == 0 else mp.nint((lo + hi) / 2 * 1024) / 1024
            else:
                c = j * w
            tl, th = (lo - c - delta if j > 0 else mp.mpf(0)), hi - c
            fixed = {0: mp.mpf(0.5)} if j == 0 else None
            n = 24 if quick else 40
            e1, p = fit_poly(lambda t: Phim(c + t), lambda t: 1 / Phim(c + t), tl, th, d, 24, fixed, n=n)
            e2, dd = fit_poly(lambda t: D(c + t), lambda t: 1 / D_scale(c + t), tl, th, d, 24, fixed, n=n)
            eP, eD = max(eP, e1), max(eD, e2)
            C.append(c)
            P.append(p)
            Dt.append(dd)
            print(f"  // {name} interval {j}: a in [{mp.nstr(lo, 6)}, {mp.nstr(hi, 6)}], c = {mp.nstr(c, 10)}:"
                  f" Phi(-a) {log2(e1)}, D {log2(e2)}", flush=True)
        print(f"// layout '{name}': N = {N}, degree {d}, L = 3.25; max error of the rounded"
              f" polynomials: Phi(-a) {log2(eP)} (relative), D {log2(eD)} (weighted)")
        print(f"struct gelu_table_{name} {{")
        print(f"    static constexpr int n = {N}, degree = {d};")
        if w is None:
            print("    static constexpr bool uniform = false;")
            print(f"    static constexpr float s1 = {lit(s1, 24)}f, s2 = {lit(s2, 24)}f;")
            print(f"    alignas(64) static constexpr float c[{N}] = {{{', '.join(lit(v, 24) + 'f' for v in C)}}};")
        else:
            print("    static constexpr bool uniform = true;")
            print(f"    static constexpr float inv_w = {lit(inv_w, 24)}f, w = {lit(w, 24)}f;")
        # p holds -Phi(-a) (negated coefficients, exact): gelu = fma(a, p(t), x >= 0 ? x : -0).
        for label, T, sign in (("p", P, -1), ("d", Dt, 1)):
            print(f"    alignas(64) static constexpr float {label}[{d + 1}][{N}] = {{")
            for k in range(d + 1):
                print(f"        {{{', '.join(lit(sign * T[j][k], 24) + 'f' for j in range(N))}}},")
            print("    };")
        print("};")


# ---------------------------------------------------------------- 3. tail (float)

def tail(quick):
    def AG(v):
        a = 1 / mp.sqrt(v)
        return a * mp.exp(a * a / 2) * Phim(a)

    lo, hi = 1 / (mp.mpf(15) ** 2), 1 / (L ** 2)
    err, c = fit_poly(AG, lambda v: 1 / AG(v), lo, hi, 7, 24, n=30 if quick else 50)
    print(f"tail a G(a), float, degree 7 in v = 1/a^2 on [1/15^2, 1/3.25^2]: relative error {log2(err)}")
    print("  (highest degree first)")
    for v in reversed(c):
        print("    " + lit(v, 24))


def main():
    what = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "all"
    quick = "--quick" in sys.argv
    if what in ("series", "all"):
        series(quick)
    if what in ("tables", "all"):
        tables(quick)
    if what in ("tail", "all"):
        tail(quick)


if __name__ == "__main__":
    main()
