#!/usr/bin/env python3
"""Reproduces the coefficients of include/xact/math/erfc.hpp (and so of functions/gelu.hpp).

Needs python3 and mpmath (tested with 1.3). Run: python3 tools/coefficients_erfc.py [--quick]
Prints C++ literals (21 significant digits; the compiler rounds them to float or double).

1. exp kernel: e^r - 1 = r + r^2 P(r) on [-ln2/2, ln2/2], P by Chebyshev interpolation
   (mpmath.chebyfit) of (e^r - 1 - r) / r^2; degree 4 for float, 9 for double.
2. G(a) = e^(a^2/2) Phi(-a) = erfcx(a / sqrt2) / 2 (G(0) = 1/2, G ~ 1/(a sqrt(2 pi)) for large
   a) is written 1 / (2 (K a + H(a))), K = sqrt(pi/2) (the Mills ratio's continued fraction
   shape), and H = P / Q, P(0) = Q(0) = 1, is fitted with near-minimax *relative* error on
   [0, A] (A = 15 float, 39.5 double: beyond, every result built on it underflows to 0). The
   code evaluates G = (Q/2) / ((K a) Q + P): G(0) = 1/2 exactly; for large a, rounding errors of
   Q cancel between numerator and denominator and those of P are damped by P / (K a Q), so G
   stays within ~1 ULP where a plain rational in a loses several ULP to Horner's scheme.
   The fit is linearised least squares (P - G Q) / (G Q_prev) on Chebyshev + uniform points
   with Lawson reweighting towards the minimax solution, in 110-digit arithmetic.
3. erfcx(z) = 2 G(sqrt2 z) = Q~ / ((sqrt(pi) z) Q~ + P~) with Q~(z) = Q(sqrt2 z), P~(z) =
   P(sqrt2 z): coefficients rescaled exactly (by 2^(k/2)) before rounding, so erfc does not
   round z * sqrt2.
All coefficients come out positive, so Horner's scheme has no cancellation.
4. erfc(x) = 1 - x E(x^2) for |x| <= 1/2: E(u) = erf(sqrt u) / sqrt u, degree 4 (float) / 8
   (double) in u on [0, 1/4], weighted by sqrt(u) / erfc(sqrt u) (the error of E as it enters
   erfc(x) for x > 0, the worse side); fitted with tools/minimax.py (coefficients rounded to the
   type one at a time and the rest refitted).
Split constants (exact by construction, printed for reference): sqrt(pi) and sqrt(pi/2) as
hi + lo (hi rounded to the type, lo the remainder).
"""
import sys
import mpmath as mp

from minimax import fit_poly, log2

mp.mp.dps = 110


def G(a):
    return mp.erfc(a / mp.sqrt(2)) * mp.exp(a * a / 2) / 2


def ratfit(f, A, m, n, N=300, iters=40):
    """Near-minimax relative P/Q (deg m, n; Q(0) = 1) for f on [0, A]; returns (err, p, q)."""
    xs = sorted([A * (1 - mp.cos(mp.pi * (i + mp.mpf(0.5)) / N)) / 2 for i in range(N)] +
                [A * (i + mp.mpf(0.5)) / N for i in range(N)])
    N = len(xs)
    fs = [f(x) for x in xs]
    ss = [x / A for x in xs]  # fit in s = a / A for conditioning
    w = [mp.mpf(1)] * N
    qprev = [mp.mpf(1)] * N
    best = None
    for _ in range(iters):
        M = mp.matrix(N, m + 1 + n)
        b = mp.matrix(N, 1)
        for i in range(N):
            sc = mp.sqrt(w[i]) / (fs[i] * qprev[i])
            for k in range(m + 1):
                M[i, k] = sc * ss[i] ** k
            for k in range(1, n + 1):
                M[i, m + k] = -sc * fs[i] * ss[i] ** k
            b[i] = sc * fs[i]
        c, _ = mp.qr_solve(M, b)
        p = [c[k] for k in range(m + 1)]
        q = [mp.mpf(1)] + [c[m + k] for k in range(1, n + 1)]
        qv = [mp.polyval(q[::-1], s) for s in ss]
        e = [mp.polyval(p[::-1], ss[i]) / qv[i] / fs[i] - 1 for i in range(N)]
        err = max(abs(x) for x in e)
        if best is None or err < best[0]:
            best = (err, p, q)
        qprev = qv
        w = [w[i] * abs(e[i]) for i in range(N)]
        sw = sum(w)
        w = [max(x / sw * N, mp.mpf(10) ** -30) for x in w]
    _, p, q = best
    p = [p[k] / mp.mpf(A) ** k for k in range(m + 1)]
    q = [q[k] / mp.mpf(A) ** k for k in range(n + 1)]
    # independent check on a fine uniform grid
    err = max(abs(mp.polyval(p[::-1], a) / mp.polyval(q[::-1], a) / f(a) - 1)
              for a in mp.linspace(0, A, 4001))
    return err, p, q


def lit(x):
    return mp.nstr(x, 21, min_fixed=-4, max_fixed=4)


def show(name, cs):
    # highest degree first, the order Horner's scheme uses
    print(f"  {name} (highest degree first):")
    for c in reversed(cs):
        print(f"    {lit(c)}")


def main():
    quick = "--quick" in sys.argv
    L = mp.log(2) / 2
    f = lambda r: (mp.expm1(r) - r) / r ** 2 if r != 0 else mp.mpf(0.5)
    for label, deg, u in (("float", 4, mp.mpf(2) ** -24), ("double", 9, mp.mpf(2) ** -53)):
        c = mp.chebyfit(f, [-L, L], deg + 1)  # highest degree first
        err = max(abs((mp.expm1(r) - r - r * r * mp.polyval(c, r)) / mp.exp(r))
                  for r in mp.linspace(-L, L, 2001))
        print(f"exp kernel, {label}: relative error {mp.nstr(err, 3)} = {mp.nstr(err / u, 3)} * 2^-{24 if label == 'float' else 53}")
        show("P", c[::-1])
    s2 = mp.sqrt(2)
    for label, A, m, n, u in (("float", 15, 4, 5, mp.mpf(2) ** -24),
                              ("double", 39.5, 10, 11, mp.mpf(2) ** -53)):
        if quick and label == "double":
            continue
        K = mp.sqrt(mp.pi / 2)
        err, p, q = ratfit(lambda a: 1 / (2 * G(a)) - K * a, A, m, n)
        assert abs(p[0] - 1) < u
        p[0] = mp.mpf(1)  # H(0) = 1 exactly, so that G(0) = 1/2 exactly
        eg = max(abs(1 / (2 * (K * a + mp.polyval(p[::-1], a) / mp.polyval(q[::-1], a))) / G(a) - 1)
                 for a in mp.linspace(0, A, 4001))
        print(f"G(a) = 1 / (2 (K a + P/Q)) on [0, {A}], {label}, P/Q degrees {m}/{n}: relative error "
              f"of H {mp.nstr(err, 3)}, of G {mp.nstr(eg, 3)} = {mp.nstr(eg / u, 3)} * 2^-{24 if label == 'float' else 53}")
        show("P (gelu)", p)
        show("Q (gelu)", q)
        show("P (erfc)", [p[k] * s2 ** k for k in range(m + 1)])
        show("Q (erfc)", [q[k] * s2 ** k for k in range(n + 1)])

    # 4. erfc near 0
    def E(u):
        return mp.erf(mp.sqrt(u)) / mp.sqrt(u) if u != 0 else 2 / mp.sqrt(mp.pi)

    def wE(u):
        a = mp.sqrt(u)
        return a / mp.erfc(a)

    for label, deg, bits in (("float", 4, 24), ("double", 8, 53)):
        if quick and label == "double":
            continue
        err, c = fit_poly(E, wE, 0, mp.mpf(1) / 4, deg, bits, n=50, iters=30)
        print(f"erfc(x) = 1 - x E(x^2), |x| <= 1/2, {label}, degree {deg}: weighted error {log2(err)}")
        show("E", c)
    for name, v in (("sqrt(pi)", mp.sqrt(mp.pi)), ("sqrt(pi/2)", mp.sqrt(mp.pi / 2))):
        for label, bits in (("float", 24), ("double", 53)):
            with mp.workprec(bits):
                hi = +v
            print(f"{name} = hi + lo, {label}: hi = {mp.nstr(hi, 20)}, lo = {mp.nstr(v - hi, 20)}")


if __name__ == "__main__":
    main()
