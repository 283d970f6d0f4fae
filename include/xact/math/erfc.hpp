// xact — erfc for float, double and xsimd batches (one body for all), and the kernels it shares
// with gelu (functions/gelu.hpp): e^-(h + l) for a double-word argument, the scaled product
// that rounds subnormal results once, the batch-level choice between two kernels.
//
// erfc(x), two regimes (a batch computes the second one only when one of its lanes needs it):
//   |x| <= 1/2: 1 - x E(x^2), E(u) = erf(sqrt u) / sqrt u a near-minimax polynomial (degree 4
//               float, 8 double); one rounding (an fma, or Dekker's product and Fast2Sum without
//               FMA); E's error enters damped by |x E| / erfc(|x|) <= 1.09.
//   |x| >  1/2: z = min(|x|, zmax), erfc(z) = e^(-z^2) / S, S = sqrt(pi) z + H(z) = 1 / erfcx(z),
//               H = P / Q the Mills-ratio rational of tools/coefficients_erfc.py (degrees 4/5
//               float, 10/11 double, positive coefficients). z^2 = h + l exactly; e^-(h + l) =
//               2^n (1 + q + q_lo) (Cody-Waite, the rounding errors of r and of the polynomial
//               carried). The quotient (1 + q + q_lo) / (s_hi + s_lo), with sqrt(pi) z exact
//               (two_product, sqrt(pi) = hi + lo), is corrected once with its exact residual, so
//               it is rounded about once; what is left is H's error damped by H / S <= 0.46 and
//               the exp kernel's. 2^n is applied last in two exact-then-rounded steps (subnormal
//               results rounded once, never flushed). x < 0: 2 - that (in [1, 2], one fma).
//   zmax = 10.6 (float) / 27.93 (double): erfc is +0 beyond 10.06 / 27.23 in T.
// Coefficients: tools/coefficients_erfc.py (mpmath): exp kernel (P), P/Q (erfc), E, the hi/lo
// splits of sqrt(pi) and sqrt(pi/2); gelu's double tail uses P/Q (gelu).
//
// Measured (ULP of the long double / __float128 reference, as tests/test_transcendental.cpp
// does; float: every 97th bit pattern, [-10, 10] in steps of 2^-12 and 600k uniform samples;
// double: 1.0e6 samples):
//   erfc   float  1.53 (FMA: AVX-512, AVX2), 1.84 (SSE2, no FMA)
//          double 1.57 (FMA), 1.74 (SSE2)   (bound of the tests: 2).
// Special values: erfc(-inf) = 2, erfc(+inf) = +0, erfc(+-0) = 1, NaN -> NaN; scalar and SIMD
// results are bitwise equal (FMA and non-FMA builds, -std=c++17 and gnu++17).
#pragma once

#include <xact/detail/simd.hpp>

#include <type_traits>

XACT_DIAGNOSTIC_PUSH

namespace xact::math {
namespace detail {
using namespace xact::detail;

/// a b = hi + lo exactly, like detail::two_product, but with hi from an fma when the target has
/// FMA: a bare product followed by an addition may be fused by GCC's -ffp-contract=fast in the
/// scalar path and not in the SIMD one (bitwise differences).
template <class T>
XACT_INLINE void exact_product(const T& a, const T& b, T& hi, T& lo) noexcept {
#if XACT_HAS_FMA
    hi = detail::fma(a, b, T(0));
    lo = detail::fms(a, b, hi);
#else
    detail::two_product(a, b, hi, lo);
#endif
}

/// e^-(h + l) = 2^n (1 + q + q_lo), for 0 <= h <= 800 and |l| <= ulp(h) (h + l: a double-word).
template <class T>
struct exp_neg_parts {
    T q, q_lo; // 1 + q + q_lo: q_lo is the rounding error of q
    int_t<T> n;
};

template <class T>
XACT_INLINE exp_neg_parts<T> exp_neg(const T& h, const T& l) noexcept {
    using S = scalar_t<T>;
    constexpr bool f32 = std::is_same_v<S, float>;
    // k = round(h / ln2) by the 1.5 * 2^(p-1) trick; n = -k read from the low bits.
    const T magic = splat<T>(f32 ? 0x1.8p23 : 0x1.8p52);
    const T t = detail::fma(h, splat<T>(f32 ? 0x1.715476p+0 : 0x1.71547652b82fep+0), magic);
    const T kf = t - magic;
    exp_neg_parts<T> p;
    p.n = as_int(magic) - as_int(t);
    // r = k ln2 - h - l: ln2_hi is short enough that k ln2_hi is exact (k <= 1155) and so is
    // k ln2_hi - h (Sterbenz); the low parts are added with their rounding error kept in r_lo.
    const T ln2_hi = splat<T>(f32 ? 0x1.62ep-1 : 0x1.62e42feep-1);
    const T ln2_lo = splat<T>(f32 ? 3.194618329871446e-05 : 1.9082149292705877e-10);
    const T r_hi = detail::fms(kf, ln2_hi, h);
    const T r_add = detail::fms(kf, ln2_lo, l);
    const T r = r_hi + r_add;
    const T r_lo = (r_hi - r) + r_add; // Fast2Sum (when |r_add| > |r_hi|, both are tiny)
    // e^r - 1 = r + r^2 P(r), |r| <= ln2/2; coefficients from tools/coefficients_erfc.py.
    T c;
    if constexpr (f32) {
        c = splat<T>(0.00139261761199355788836);
        c = detail::fma(c, r, splat<T>(0.00836317307451371090281));
        c = detail::fma(c, r, splat<T>(0.0416665546620505339818));
        c = detail::fma(c, r, splat<T>(0.166665770255979881901));
        c = detail::fma(c, r, splat<T>(0.5));
    } else {
        c = splat<T>(2.51003758325612336644e-8);
        c = detail::fma(c, r, splat<T>(2.76200758799833665859e-7));
        c = detail::fma(c, r, splat<T>(2.75572684803100255256e-6));
        c = detail::fma(c, r, splat<T>(2.4801521322368693266e-5));
        c = detail::fma(c, r, splat<T>(1.98412698630405452706e-4));
        c = detail::fma(c, r, splat<T>(0.00138888889171967190767));
        c = detail::fma(c, r, splat<T>(0.00833333333333006444947));
        c = detail::fma(c, r, splat<T>(0.0416666666666241619026));
        c = detail::fma(c, r, splat<T>(0.166666666666666674519));
        c = detail::fma(c, r, splat<T>(0.500000000000000102109));
    }
    const T r2 = r * r;
    const T s = detail::fma(r2, c, r);
#if XACT_HAS_FMA
    const T s_lo = detail::fma(r2, c, r - s); // r - s is exact (|r^2 c| < |r| / 4)
#else
    T pc, pc_err; // r^2 c split exactly, so that s_lo catches both roundings
    two_product(r2, c, pc, pc_err);
    const T s_lo = ((r - s) + pc) + pc_err;
#endif
    // (1 + s + s_lo)(1 + r_lo) - 1, to well below ulp(1): r_lo^2 and s_lo r_lo are negligible.
    const T corr = detail::fma(r_lo, s + T(1), s_lo);
    p.q = s + corr;
    p.q_lo = (s - p.q) + corr; // Fast2Sum (|corr| <= |s| unless s = 0, where it is exact anyway)
    return p;
}

/// y e^-(h + l) for the parts of exp_neg, as the product m * p2 of two values: m = (y + y q)
/// (rounded once) times 2^(n/2), exact, and p2 = 2^(n - n/2). Use value() for the product (a
/// subnormal result is rounded once more, as the true value would be) and minus(c) for
/// c - m * p2 with one rounding: never a bare product added to something, which GCC's
/// -ffp-contract=fast would fuse in one code path and not in another.
template <class T>
struct scaled {
    T m, p2;
    XACT_INLINE T value() const noexcept { return m * p2; }
    /// -(m p2) with the sign of zero kept (p2 is never 0; xsimd 8.1 negates some batches as 0 - x).
    XACT_INLINE T neg_value() const noexcept { return m * -p2; }
    XACT_INLINE T minus(const T& c) const noexcept { return detail::fnma(m, p2, c); }
};

template <class T>
XACT_INLINE scaled<T> exp_neg_scale(const T& y, const exp_neg_parts<T>& e) noexcept {
    const int_t<T> n1 = half_floor(e.n);
    return {detail::fma(y, e.q, y) * pow2i<T>(n1), pow2i<T>(e.n - n1)};
}

/// The Mills ratio of gelu's double tail: G(a) = e^(a^2/2) Phi(-a) = erfcx(a / sqrt2) / 2 =
/// 1 / (2 (K a + H(a))), K = sqrt(pi/2), H = P / Q (P(0) = Q(0) = 1, positive coefficients,
/// degrees 10/11, near-minimax relative on [0, 39.5]: tools/coefficients_erfc.py, "P/Q (gelu)").
/// Double only: the float gelu tail uses a polynomial in 1/a^2 (functions/gelu.hpp).
template <class T>
XACT_INLINE void gauss_tail_pq(const T& a, T& p, T& q) noexcept {
    static_assert(std::is_same_v<scalar_t<T>, double>, "gauss_tail_pq: double only");
    p = splat<T>(1.48921717923902232365e-7);
    p = detail::fma(p, a, splat<T>(4.89281048093433743418e-6));
    p = detail::fma(p, a, splat<T>(7.98387606362799508261e-5));
    p = detail::fma(p, a, splat<T>(8.40730453598534187709e-4));
    p = detail::fma(p, a, splat<T>(0.00628306157731000420108));
    p = detail::fma(p, a, splat<T>(0.0347102187975631127847));
    p = detail::fma(p, a, splat<T>(0.143533080949201073182));
    p = detail::fma(p, a, splat<T>(0.439968644180610437549));
    p = detail::fma(p, a, splat<T>(0.963135510397609129983));
    p = detail::fma(p, a, splat<T>(1.37656500736034799089));
    p = detail::fma(p, a, splat<T>(1.0));
    q = splat<T>(1.18822339499601208905e-7);
    q = detail::fma(q, a, splat<T>(3.90389794170113842417e-6));
    q = detail::fma(q, a, splat<T>(6.39397591410671132364e-5));
    q = detail::fma(q, a, splat<T>(6.7861364482789601458e-4));
    q = detail::fma(q, a, splat<T>(0.00513984911165775859293));
    q = detail::fma(q, a, splat<T>(0.0290129363446632245023));
    q = detail::fma(q, a, splat<T>(0.12417191348799823911));
    q = detail::fma(q, a, splat<T>(0.4025730034558212354));
    q = detail::fma(q, a, splat<T>(0.97006079704050662183));
    q = detail::fma(q, a, splat<T>(1.6608602555367259172));
    q = detail::fma(q, a, splat<T>(1.83199458387298337633));
    q = detail::fma(q, a, splat<T>(1.0));
}

/// c G(a) = c / (2 (K a + H)) (double): H's rounding errors (P, Q and their quotient, up to ~2.5
/// ulp) are damped by H / (K a + H) <= 0.56 for a >= 1/2; K a is carried as K_hi a + K_lo a.
template <class T>
XACT_INLINE T gauss_tail_times(const T& a, const T& c) noexcept {
    T p, q;
    gauss_tail_pq(a, p, q);
    const T s = detail::fma(a, splat<T>(1.2533141373155003429),
                            detail::fma(a, splat<T>(-9.164289990229583754e-17), p / q));
    return (c * T(0.5)) / s;
}

/// P, Q of H(z) = 1 / erfcx(z) - sqrt(pi) z for 0 <= z <= 10.6 (float) / 27.93 (double):
/// H(sqrt2 a) of G (above, and its float counterpart), coefficients rescaled by 2^(k/2).
template <class T>
XACT_INLINE void erfcx_pq(const T& z, T& p, T& q) noexcept {
    if constexpr (std::is_same_v<scalar_t<T>, float>) {
        p = splat<T>(0.0154756911475968608142);
        p = detail::fma(p, z, splat<T>(0.122425940255341558256));
        p = detail::fma(p, z, splat<T>(0.459306199515018646945));
        p = detail::fma(p, z, splat<T>(0.946345137009256173017));
        p = detail::fma(p, z, splat<T>(1.0));
        q = splat<T>(0.0174618828873577229767);
        q = detail::fma(q, z, splat<T>(0.138166359721785098613));
        q = detail::fma(q, z, splat<T>(0.53531015877926349118));
        q = detail::fma(q, z, splat<T>(1.21040639634629725588));
        q = detail::fma(q, z, splat<T>(1.59042059083916411307));
        q = detail::fma(q, z, splat<T>(1.0));
    } else {
        p = splat<T>(4.76549497356487143567e-6);
        p = detail::fma(p, z, splat<T>(1.10711663044137052737e-4));
        p = detail::fma(p, z, splat<T>(0.00127742017018047921322));
        p = detail::fma(p, z, splat<T>(0.00951177927823304896954));
        p = detail::fma(p, z, splat<T>(0.0502644926184800336087));
        p = detail::fma(p, z, splat<T>(0.196350648705805189709));
        p = detail::fma(p, z, splat<T>(0.574132323796804292729));
        p = detail::fma(p, z, splat<T>(1.24441924723824356198));
        p = detail::fma(p, z, splat<T>(1.92627102079521825997));
        p = detail::fma(p, z, splat<T>(1.94675690289722353835));
        p = detail::fma(p, z, splat<T>(1.0));
        q = splat<T>(5.37728524906356319293e-6);
        q = detail::fma(q, z, splat<T>(1.24924734134436429573e-4));
        q = detail::fma(q, z, splat<T>(0.00144679159283465904397));
        q = detail::fma(q, z, splat<T>(0.0108578183172463362333));
        q = detail::fma(q, z, splat<T>(0.0581507545780616540783));
        q = detail::fma(q, z, splat<T>(0.232103490757305796018));
        q = detail::fma(q, z, splat<T>(0.702422416482183040417));
        q = detail::fma(q, z, splat<T>(1.6102920138232849416));
        q = detail::fma(q, z, splat<T>(2.74374627100227761671));
        q = detail::fma(q, z, splat<T>(3.32172051107345183441));
        q = detail::fma(q, z, splat<T>(2.59083158670722768488));
        q = detail::fma(q, z, splat<T>(1.0));
    }
}

/// erfc(x) for |x| <= 1/2: 1 - x E(x^2), E(u) = erf(sqrt u) / sqrt u, a near-minimax
/// polynomial (tools/coefficients_erfc.py); one rounding of the fma, E's error damped by
/// |x E| / erfc(|x|) <= 1.09.
template <class T>
XACT_INLINE T erfc_small(const T& x) noexcept {
    const T u = x * x;
    T e;
    if constexpr (std::is_same_v<scalar_t<T>, float>) {
        e = splat<T>(0.00435199169442057609558);
        e = detail::fma(e, u, splat<T>(-0.0265473667532205581665));
        e = detail::fma(e, u, splat<T>(0.112787812948226928711));
        e = detail::fma(e, u, splat<T>(-0.376123160123825073242));
        e = detail::fma(e, u, splat<T>(1.12837910652160644531));
    } else {
        e = splat<T>(1.46302385900067217686e-6);
        e = detail::fma(e, u, splat<T>(-1.48358117928185301911e-5));
        e = detail::fma(e, u, splat<T>(0.000120529030206345167298));
        e = detail::fma(e, u, splat<T>(-0.000854828794406526965184));
        e = detail::fma(e, u, splat<T>(0.00522397724748015386542));
        e = detail::fma(e, u, splat<T>(-0.0268661706239427811038));
        e = detail::fma(e, u, splat<T>(0.112837916708928689968));
        e = detail::fma(e, u, splat<T>(-0.376126389031829988507));
        e = detail::fma(e, u, splat<T>(1.12837916709551255856));
    }
#if XACT_HAS_FMA
    return detail::fnma(x, e, splat<T>(1));
#else
    // 1 - x e rounded once: x e = ph + pl exactly, 1 - ph = y + err exactly (Fast2Sum, |ph| < 1).
    T ph, pl;
    detail::two_product(x, e, ph, pl);
    const T one = splat<T>(1);
    const T y = one - ph;
    return y + (((one - y) - ph) - pl);
#endif
}

/// erfc(x) for |x| > 1/2 (and non-finite x): 2^n (1 + q) / S with e^(-z^2) = 2^n (1 + q),
/// S = sqrt(pi) z + H(z) = 1 / erfcx(z). Numerator and denominator are carried as double-words
/// (1 + q exactly; sqrt(pi) z exactly by two_product, plus H) and the quotient is corrected once
/// with its exact residual, so it is rounded once; what is left is H's error damped by
/// H / S <= 0.46 and the exp kernel's.
template <class T>
XACT_INLINE T erfc_tail(const T& x) noexcept {
    using S = scalar_t<T>;
    constexpr bool f32 = std::is_same_v<S, float>;
    // Clamp |x| where erfc(|x|) has underflowed to +0 for good (at_most keeps NaN).
    const T zmax = splat<T>(f32 ? 10.6 : 27.93);
    T z = detail::abs(x);
    z = xact::detail::at_most(z, zmax);
    T h, l;
    detail::two_product(z, z, h, l); // z^2 = h + l exactly
    const auto e = exp_neg(h, l);
    T p, q;
    erfcx_pq(z, p, q);
    const T hq = p / q;
    // sqrt(pi) = k_hi + k_lo; s1 + s1_lo = k_hi z exactly; S = s_hi + s_lo.
    const T k_hi = splat<T>(f32 ? 1.7724539041519165039 : 1.772453850905516104);
    const T k_lo = splat<T>(f32 ? -5.3246400476608082517e-8 : -7.6665864998257988279e-17);
    T s1, s1_lo;
    exact_product(z, k_hi, s1, s1_lo);
    const T s_hi = s1 + hq;
    const T s_lo = ((s1 - s_hi) + hq) + detail::fma(z, k_lo, s1_lo); // Fast2Sum: s1 >= 0.88 > hq
    // 1 + q + q_lo = n_hi + n_lo
    const T one = splat<T>(1);
    const T n_hi = one + e.q;
    const T n_lo = ((one - n_hi) + e.q) + e.q_lo;
    // y = (n_hi + n_lo) / (s_hi + s_lo): y0 from the reciprocal, then one correction with the
    // exact residual n_hi - y0 s_hi.
    const T inv = one / s_hi;
    const T y0 = n_hi * inv;
#if XACT_HAS_FMA
    T rho = detail::fnma(y0, s_hi, n_hi);
#else
    T ph, pl; // without FMA the residual needs the exact product
    detail::two_product(y0, s_hi, ph, pl);
    T rho = (n_hi - ph) - pl; // n_hi - ph is exact (Sterbenz)
#endif
    rho = detail::fnma(y0, s_lo, rho + n_lo);
    const T y = detail::fma(rho, inv, y0);
    // y 2^n as m p2 (m exact), rounded once; 2 - that for x < 0 (in [1, 2]: no cancellation).
    const int_t<T> n1 = half_floor(e.n);
    const scaled<T> v{y * pow2i<T>(n1), pow2i<T>(e.n - n1)};
    return detail::select(x < T(0), v.minus(splat<T>(2)), v.value());
}
} // namespace detail

/// erfc(x) = 1 - erf(x), max 2 ULP (measured 1.84 float, 1.74 double: file comment); subnormal
/// results are rounded once, not flushed.
template <class T>
XACT_INLINE T erfc(const T& x) noexcept {
    return detail::two_regimes(
        x, detail::abs(x) > detail::splat<T>(0.5),
        [](const T& v) XACT_LAMBDA_INLINE { return detail::erfc_small(v); },
        [](const T& v) XACT_LAMBDA_INLINE { return detail::erfc_tail(v); });
}

} // namespace xact::math

XACT_DIAGNOSTIC_POP
