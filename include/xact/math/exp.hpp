// xact — exp and expm1 for float, double and xsimd batches (one body for all).
//
// Algorithm: x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2 (Cody–Waite: ln2 split
// in a short high part, so n * ln2_hi is exact, and a low part); e^r - 1 = r + r^2 P(r), with
// P a near-minimax polynomial (degree 5 for float, 10 for double) fitted to (e^r - 1 - r)/r^2
// on [-ln2/2, ln2/2] by Chebyshev interpolation in 60-digit arithmetic (tools/coefficients.py
// reproduces them; fit error 0.003 ULP for float, 0.002 ULP for double). The result is then
// scaled by 2^n in two exact steps, so subnormal results are rounded once, never flushed.
//
//   exp(x):   max 1 ULP (measured: see README); exp(-inf) = +0, exp(+inf) = +inf, NaN -> NaN;
//             overflow -> +inf (x > 88.72 float, 709.78 double); results below the smallest
//             subnormal round to +0.
//   expm1(x): max 1 ULP; expm1(±0) = ±0, expm1(-inf) = -1, expm1(+inf) = +inf, NaN -> NaN.
#pragma once

#include "../detail/simd.hpp"

#include <limits>

XACT_DIAGNOSTIC_PUSH

namespace xact::math {
namespace detail {
using namespace xact::detail;

/// x = n ln2 + r: returns r, sets n (as an integer per lane) and s = e^r - 1. x is clamped
/// first to the range where n keeps 2^n within one step of the exponent range (NaN kept).
template <class T>
struct exp_parts {
    T r, r_lo, s, s_lo, k; // e^r - 1 = s + s_lo (s_lo: the rounding error of s); k: n as a real
    T r2, q;               // r^2 and P(r): e^r - 1 = r + r^2 P(r)
    int_t<T> n;            // r_lo: the rounding error of r (x - k ln2 = r + r_lo)
    // nb: the bits of the rounding sum, n plus a constant that the shift into the exponent
    // field clears; pow2i and scale2_down read it with one integer operation fewer than n.
    int_t<T> nb;
};

// nonpositive: the caller knows x <= 0 (or NaN). deep: the clamps below widen to [-200, 240]
// (float) / [-1500, 1800] (double), for callers that scale 2^n further before one rounding
// (n then exceeds the reach of scale2 alone; the caller clamps what it passes on). shallow:
// the lower clamp is -41 instead, for expm1 of x <= 0 (below -41 it is -1 in float and
// double alike), which keeps n >= -60 without a clamp of its own.
// low: the argument is x_in + x_lo, x_lo a small low part (|x_lo| <= ulp(x_in), and 0 where
// x_in is below the lower clamp); it joins r with the low part of ln2.
template <class T, bool nonpositive, bool deep, bool shallow, bool low>
XACT_INLINE exp_parts<T> exp_reduce_impl(const T& x_in, const T& x_lo) noexcept {
    using S = scalar_t<T>;
    constexpr bool f32 = std::is_same_v<S, float>;
    // Clamp (select keeps NaN): above hi, e^x overflows; lo lies far below the subnormal
    // range (e^x 2^k still rounds to 0 for the scalings k <= 64 callers apply), while
    // 2^n stays within the reach of scale2.
    const T lo = splat<T>(shallow ? -41.0
                          : deep  ? (f32 ? -200.0 : -1500.0)
                                  : (f32 ? -150.0 : -1100.0));
    const T hi = splat<T>(deep ? (f32 ? 240.0 : 1800.0) : (f32 ? 89.0 : 710.0));
    T x = xact::detail::at_least(x_in, lo);
    if constexpr (!nonpositive) x = xact::detail::at_most(x, hi);
    // n = round(x / ln2) by the 1.5 * 2^(p-1) trick (round to nearest even, exact for |n| <
    // 2^(p-2)); its integer value is read from the low bits of the sum.
    const T magic = splat<T>(f32 ? 0x1.8p23 : 0x1.8p52);
    const T t = detail::fma(x, splat<T>(f32 ? 0x1.715476p+0 : 0x1.71547652b82fep+0), magic);
    const T kf = t - magic;
    exp_parts<T> p;
    p.nb = as_int(t);
    p.n = p.nb - as_int(magic);
    p.k = kf;
    // ln2 = hi + lo with hi short (float: 13 bits, double: 32 bits): kf * hi is exact and so
    // is x - kf * hi (Sterbenz).
    const T ln2_hi = splat<T>(f32 ? 0x1.62ep-1 : 0x1.62e42feep-1);
    const T ln2_lo = splat<T>(f32 ? 3.194618329871446e-05 : 1.9082149292705877e-10);
    // The constants carry the minus sign: -kf would be +0 for kf = +0 in some xsimd versions.
    const T r_hi = detail::fma(kf, -ln2_hi, x);
    T r;
    if constexpr (low) {
        const T c = detail::fma(kf, -ln2_lo, x_lo);
        r = r_hi + c;
        p.r_lo = (r_hi - r) + c; // not read by the callers of this form (softmax)
    } else {
        r = detail::fma(kf, -ln2_lo, r_hi);
        p.r_lo = detail::fma(kf, -ln2_lo, r_hi - r); // only expm1 (double) reads it
    }
    p.r = r;
    // P(r) by Estrin's scheme (a shorter dependency chain than Horner; the kernels are
    // latency-bound); the coefficients come from tools/coefficients.py.
    const T r2 = r * r;
    T q;
    if constexpr (f32) {
        const T p01 =
            detail::fma(splat<T>(1.666666668253435607e-1), r, splat<T>(5.000000014286223417e-1));
        const T p23 =
            detail::fma(splat<T>(8.333310024225292430e-3), r, splat<T>(4.166645680967787603e-2));
        const T p45 =
            detail::fma(splat<T>(1.989198131397769021e-4), r, splat<T>(1.393454192827026448e-3));
        q = detail::fma(r2, detail::fma(r2, p45, p23), p01);
    } else {
        const T p01 = detail::fma(splat<T>(1.666666666666667143841611e-1), r, splat<T>(0.5));
        const T p23 = detail::fma(splat<T>(8.33333333332554469956261e-3), r,
                                  splat<T>(4.166666666666667007437566e-2));
        const T p45 = detail::fma(splat<T>(1.984126987686435492946973e-4), r,
                                  splat<T>(1.38888888888833266743687e-3));
        const T p67 = detail::fma(splat<T>(2.755725283351690974812657e-6), r,
                                  splat<T>(2.480158732700718673101561e-5));
        const T p89 = detail::fma(splat<T>(2.510627473357329468825298e-8), r,
                                  splat<T>(2.755727181021979956946633e-7));
        const T r4 = r2 * r2;
        const T hi4 = detail::fma(r2, splat<T>(2.091544229778011521684555e-9), p89); // r^8 part
        q = detail::fma(r4, detail::fma(r4, hi4, detail::fma(r2, p67, p45)),
                        detail::fma(r2, p23, p01));
    }
    p.r2 = r2;
    p.q = q;
    p.s = detail::fma(r2, q, r);
#if XACT_HAS_FMA
    p.s_lo = detail::fma(r2, q, r - p.s); // r - s is exact (|r^2 q| < |r| / 4)
#else
    T pq, pq_err; // without FMA, r^2 q is split exactly so that s_lo catches both roundings
    two_product(r2, q, pq, pq_err);
    p.s_lo = ((r - p.s) + pq) + pq_err;
#endif
    return p;
}
template <class T, bool nonpositive = false, bool deep = false, bool shallow = false>
XACT_INLINE exp_parts<T> exp_reduce(const T& x) noexcept {
    return exp_reduce_impl<T, nonpositive, deep, shallow, false>(x, T(0));
}
/// exp_reduce of x + x_lo (|x_lo| <= ulp(x), and 0 where x < -150 float / -1100 double): r
/// takes x_lo in, so e^r - 1 = s + s_lo is e^(x + x_lo - n ln2) - 1 to within r's rounding.
template <class T, bool nonpositive = false>
XACT_INLINE exp_parts<T> exp_reduce(const T& x, const T& x_lo) noexcept {
    return exp_reduce_impl<T, nonpositive, false, false, true>(x, x_lo);
}
/// e^x = (hi + lo) 2^n with hi in [0.7, 1.42] rounded once and lo its rounding error (so
/// hi + lo rounds to hi): for callers that multiply e^x by something before the one rounding
/// into the subnormal range (scale2 at the end), or that need the low part.
template <class T>
struct exp_split {
    T hi, lo;
    int_t<T> n;
    T k;         // n as a real (for scale2_down(x, n, k))
    int_t<T> nb; // n plus a constant that scale2_down ignores (see exp_parts)
};
template <class T, bool nonpositive = false, bool deep = false>
XACT_INLINE exp_split<T> exp_parts_of(const T& x) noexcept {
    const auto p = exp_reduce<T, nonpositive, deep>(x);
    // e^r = (1 + r) + r^2 P(r): 1 + r is carried exactly (Fast2Sum, |r| < 1) and its error
    // joins the small term, so hi rounds once; lo = what hi left out. Two steps after P(r).
    const T one = splat<T>(1);
    const T r1 = one + p.r;
    const T t = detail::fma(p.r2, p.q, (one - r1) + p.r);
    const T hi = r1 + t;
    return {hi, t - (hi - r1), p.n, p.k, p.nb}; // hi - r1 is exact
}
/// m 2^n for callers of exp_parts_of<..., deep = true>, which may pass n beyond the reach of
/// scale2: n is clamped to [-250, 250] (float) / [-2000, 2000] (double) first, where the
/// result is already 0 or inf for every m those callers pass (|m| < 2^64 / 2^512 and > 2^-64).
template <class T>
XACT_INLINE T scale2_clamped(const T& m, const int_t<T>& n) noexcept {
    const int_t<T> lim(std::is_same_v<scalar_t<T>, float> ? 250 : 2000);
    return scale2(m, xact::detail::select(n < -lim, -lim, xact::detail::select(n > lim, lim, n)));
}
} // namespace detail

/// e^x, max 1 ULP, subnormal results rounded once (not flushed); see the file comment.
template <class T>
XACT_INLINE T exp(const T& x) noexcept {
    const auto e = detail::exp_parts_of(x);
    return detail::scale2(e.hi, e.n, e.k); // hi + lo rounds to hi: lo is hi's own rounding error
}

namespace detail {
/// The low part of e^r - 1 = s + lo: s_lo, and for double also r's rounding, r_lo (1 + s).
template <class T>
XACT_INLINE T expm1_low(const exp_parts<T>& p) noexcept {
    if constexpr (std::is_same_v<scalar_t<T>, float>)
        return p.s_lo;
    else
        return detail::fma(p.r_lo, p.s, p.r_lo) + p.s_lo;
}

/// The n <= 0 form of expm1 (see expm1): 2^n s + (2^n - 1), rounded once. Lanes with n >= 1
/// get a meaningless (finite or NaN) value that the caller discards; with nonpositive (the
/// caller discards every x > 0 lane) n is not even clamped to 0 for them, and with shallow (p
/// from exp_reduce<..., shallow = true>, so n >= -60) not at all.
template <bool nonpositive = false, bool shallow = false, class T>
XACT_INLINE T expm1_small(const exp_parts<T>& p) noexcept {
    using I = int_t<T>;
    constexpr bool f32 = std::is_same_v<scalar_t<T>, float>;
    I n_lo = p.n;
    T k_lo = p.k; // n_lo as a real (for pow2i(n, k))
    if constexpr (!shallow) {
        const I cap(60);
        n_lo = xact::detail::select(p.n < -cap, -cap, p.n);
        k_lo = xact::detail::at_least(p.k, detail::splat<T>(-60));
    }
    if constexpr (!nonpositive) {
        const I zero(0);
        n_lo = xact::detail::select(p.n > zero, zero, n_lo);
        k_lo = xact::detail::at_most(k_lo, detail::splat<T>(0));
    }
    const T two_n = detail::pow2i<T>(n_lo, k_lo);
    if constexpr (f32) {
#if XACT_HAS_FMA
        // At n = 0 the result is s itself. s + s_lo (s_lo: the rounding error of s, itself
        // rounded once) rounds to s again except at near-ties: 6 float inputs, where the result
        // is then up to 0.5 ULP farther from the true value (max error unchanged, see README).
        return detail::fma(two_n, p.s, two_n - T(1));
#else
        // Without FMA s_lo also holds the rounding of r^2 P(r) and may correct s at n = 0.
        return detail::fma(two_n, p.s,
                           (two_n - T(1)) + xact::detail::select(p.k == T(0), p.s_lo, T(0)));
#endif
    } else {
        // Double also carries the rounding of r: e^(r + r_lo) - 1 = s + s_lo + r_lo (1 + s).
        // Where |2^n e^r - 1| < 2^n e^r that error is magnified (up to 3x at n = 1), which
        // alone cost 0.3 ULP. The sum 2^n s + (2^n - 1) is then formed exactly (Fast2Sum:
        // |2^n - 1| >= |2^n s| for n <= -1, and n = 0 adds 0) and rounded once with the
        // low parts.
        const T lo = expm1_low(p);
        const T u = two_n * p.s, v = two_n - T(1);
        const T h = v + u;
        return h + detail::fma(two_n, lo, (v - h) + u);
    }
}

/// expm1(x) for x < 0 (and NaN), bitwise equal to expm1 there, without the work of its
/// x > 0 form. Other x, ±0 included, give a meaningless value.
template <class T>
XACT_INLINE T expm1_negative(const T& x) noexcept {
    return expm1_small<true, true>(exp_reduce<T, true, false, true>(x));
}
/// expm1(x) for x <= 0 (and NaN), bitwise equal to expm1 there (expm1(±0) = ±0): elu and
/// selu discard their x > 0 lanes. Other x give a meaningless value.
template <class T>
XACT_INLINE T expm1_nonpositive(const T& x) noexcept {
    return xact::detail::select(x == T(0), x, expm1_negative(x));
}
} // namespace detail

/// e^x - 1, max 1 ULP, accurate near 0 (expm1(±0) = ±0); see the file comment.
template <class T>
XACT_INLINE T expm1(const T& x) noexcept {
    const auto p = detail::exp_reduce(x);
    using I = detail::int_t<T>;
    // 2^n (1 + s) - 1, two forms that each round once:
    //   n <= 0: 2^n s + (2^n - 1), one fma (detail::expm1_small); 2^n - 1 is exact down to
    //           n = -digits (below, it rounds to -1 and so does the result); n is kept >= -60
    //           for 2^n.
    //   n >= 1: 2^n ((1 + s) - 2^-n), exact scaling of one rounded sum: 1 + s is carried
    //           exactly as a + a_err; 2^-n (capped at 2^-60) is taken from a exactly while
    //           n < digits, from a_err beyond.
    const bool f32 = std::is_same_v<detail::scalar_t<T>, float>;
    const T small = detail::expm1_small(p);
    const T lo = detail::expm1_low(p); // added to a_err by the n >= 1 form
    const I cap(60);
    const I n_hi = xact::detail::select(p.n > cap, cap, p.n);
    const T a = p.s + T(1);
    const T a_err = (T(1) - a) + p.s; // exact (Fast2Sum, |s| < 1)
    // 2^-n leaves a exactly while it is a multiple of ulp(a) (n <= p - 1), else a_err.
    const T m = detail::pow2i<T>(-n_hi);
    const auto exact = p.k < detail::splat<T>(f32 ? 24 : 53);
    const T m_hi = xact::detail::select(exact, m, T(0)),
            m_lo = xact::detail::select(exact, T(0), m);
    const T big = detail::scale2((a - m_hi) + ((a_err + lo) - m_lo), p.n, p.k);
    const T y = xact::detail::select(p.k > T(0), big, small);
    // ±0 (and tiny x, where s = x exactly anyway) returns x itself: the sign of -0 is kept.
    return detail::select(x == T(0), x, y);
}

} // namespace xact::math

XACT_DIAGNOSTIC_POP
