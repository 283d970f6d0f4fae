#!/usr/bin/env python3
"""Coefficients of xact::math::log1p (include/xact/math/log1p.hpp).

log(1 + f) = 2 atanh(s) with s = f / (2 + f), for f in [sqrt(1/2) - 1, sqrt(2) - 1], so
|s| <= s_max = (sqrt(2) - 1) / (sqrt(2) + 1) = 3 - 2 sqrt(2). Written as
    log(1 + f) = f - f^2/2 + s (f^2/2 + z P(z)),   z = s^2,
where P(z) = (2 atanh(s) - 2 s) / (s z) = 2/3 + 2z/5 + 2z^2/7 + ...  (even in s, a function of z).
P is fitted on [0, s_max^2] by Chebyshev interpolation in 60-digit arithmetic (near-minimax),
then the coefficients are rounded to the target type and the error of the rounded polynomial
is measured on a dense grid. The term s z P(z) is at most s_max^2 / 3 ~ 1% of the result,
so P needs an absolute error of about 2^-(p+1) * 100 / (2/3) for precision p.

Run: python3 tools/coefficients_log1p.py   (mpmath 1.3)
"""
import struct
import mpmath as mp

mp.mp.dps = 60
S_MAX = 3 - 2 * mp.sqrt(2)
Z_MAX = S_MAX ** 2


def P(z):
    if z == 0:
        return mp.mpf(2) / 3
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) - 2 * s) / (s * z)


def cheb_fit(n):
    """Degree-n polynomial interpolating P at the Chebyshev nodes of [0, Z_MAX] (monomial
    coefficients, lowest first)."""
    a, b = mp.mpf(0), Z_MAX
    nodes = [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (2 * k + 1) / (2 * (n + 1))) for k in range(n + 1)]
    vals = [P(z) for z in nodes]
    # Solve the Vandermonde system in high precision (small n: well enough conditioned).
    M = mp.matrix([[z ** j for j in range(n + 1)] for z in nodes])
    c = mp.lu_solve(M, mp.matrix(vals))
    return [c[j] for j in range(n + 1)]


def round_to(x, bits):
    if bits == 24:
        return mp.mpf(struct.unpack('f', struct.pack('f', float(x)))[0])
    return mp.mpf(float(x))


def max_err_in_result(coeffs, grid=4000):
    """Max over f of |s z (P(z) - Q(z))| / log(1+f): the effect of the fit on the result,
    in units of the result (relative)."""
    worst = mp.mpf(0)
    lo, hi = mp.sqrt(0.5) - 1, mp.sqrt(2) - 1
    for i in range(1, grid + 1):
        f = lo + (hi - lo) * i / (grid + 1)
        if f == 0:
            continue
        s = f / (2 + f)
        z = s * s
        q = mp.mpf(0)
        for c in reversed(coeffs):
            q = q * z + c
        e = abs(s * z * (P(z) - q) / mp.log1p(f))
        worst = max(worst, e)
    return worst


for name, bits, fmt in (("float", 24, "{:.9e}"), ("double", 53, "{:.17e}")):
    for n in range(1, 10):
        c = [round_to(x, bits) for x in cheb_fit(n)]
        err = max_err_in_result(c, grid=1500)
        ulps = err * mp.mpf(2) ** (bits - 1)  # relative error in units of 2^-(p-1) (>= 1 ULP)
        if ulps < 0.025:  # the smallest degree whose fit error is negligible
            print(f"{name}: degree {n} in z, max fit error {mp.nstr(ulps, 3)} ULP of the result")
            for j, x in enumerate(c):
                print(f"  c{j} = " + fmt.format(float(x)))
            break


# log1p_unit (float): log1p(f) = f - f^2/2 + f^3 R(f) on [sqrt(1/2) - 1, sqrt(2) - 1], R of
# degree 8, near-minimax for the error f^3 (R - r) / log1p(f) (tools/minimax.py, Lawson's
# iteration, coefficients rounded to float one at a time). Fit error: 0.013 ULP of the result.
import sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimax import fit_poly


def R(f):
    if f == 0:
        return mp.mpf(1) / 3
    return (mp.log1p(f) - f + f * f / 2) / f ** 3


def R_weight(f):
    return mp.mpf(0) if f == 0 else abs(f ** 3 / mp.log1p(f)) * mp.mpf(2) ** 24


err, c = fit_poly(R, R_weight, mp.sqrt(mp.mpf(1) / 2) - 1, mp.sqrt(2) - 1, 8, 24, n=80, iters=30)
print(f"log1p_unit float: R of degree 8, max fit error {mp.nstr(err, 3)} ULP of the result")
for j, x in enumerate(c):
    print(f"  r{j} = {float(x):.9e}")
