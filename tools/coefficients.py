#!/usr/bin/env python3
"""Reproduces the polynomial coefficients of include/xact/math/exp.hpp and of tanh's small-|x|
polynomial in include/xact/functions/sigmoid.hpp (mpmath, 60 digits, Chebyshev fits).

    python3 tools/coefficients.py

exp:  e^r - 1 = r + r^2 P(r) on [-ln2/2, ln2/2]; P of degree 5 (float) and 10 (double), fitted to
      (e^r - 1 - r) / r^2 on a slightly wider interval. Printed highest degree first.
tanh: tanh(a) = a + a^3 Q(a^2) on [0, 0.55]; Q of degree 4 (float) and 10 (double) in u = a^2,
      with the max relative error of the fit in ULP of the type.
"""
import mpmath as mp

mp.mp.dps = 60


def exp_fit():
    half_ln2 = mp.log(2) / 2

    def g(r):
        if r == 0:
            return mp.mpf(1) / 2
        return (mp.exp(r) - 1 - r) / r**2

    for deg in (5, 10):
        c = mp.chebyfit(g, [-half_ln2 * 1.01, half_ln2 * 1.01], deg + 1)
        print(f"exp P, degree {deg}:", [mp.nstr(x, 25) for x in c])


def tanh_fit():
    split = mp.mpf("0.55")

    def q(u):
        if u == 0:
            return mp.mpf(-1) / 3
        a = mp.sqrt(u)
        return (mp.tanh(a) / a - 1) / u

    for deg, name, bits in ((4, "float", 24), (10, "double", 53)):
        c = mp.chebyfit(q, [0, split * split * 1.01], deg + 1)
        worst = 0
        for i in range(1, 1001):
            a = split * i / 1000
            v = a + a**3 * mp.polyval(c, a * a)
            worst = max(worst, abs(v - mp.tanh(a)) / mp.tanh(a))
        print(f"tanh Q, {name}, degree {deg}: fit error {mp.nstr(worst * 2**bits, 4)} ULP,",
              [mp.nstr(x, 22) for x in c])


if __name__ == "__main__":
    exp_fit()
    tanh_fit()
