// xact — erfc for float, double and xsimd batches (one body for all), and the Gaussian-tail
// kernel it shares with gelu.
//
// Algorithm: for z >= 0, erfc(z) = e^(-z^2) erfcx(z). z^2 is carried exactly as hi + lo
// (two_product); e^(-hi - lo) is reduced as 2^-k e^r (Cody–Waite, r kept with its rounding
// error), and erfcx(z) = 1 / (sqrt(pi) z + H(z)), H = P / Q one near-minimax rational (degrees
// 4/5 for float, 10/11 for double, positive coefficients) on [0, 10.6] (float) / [0, 27.93] (double), beyond
// which erfc underflows to +0 (z is clamped there). The product is scaled by 2^-k last, in two
// exact steps, so results in the subnormal range are rounded once, never flushed. For z < 0,
// erfc(z) = 2 - erfc(-z), which lies in [1, 2]: no cancellation.
// Coefficients: tools/coefficients_erfc.py (mpmath; the fit error of erfcx is 0.28 * 2^-24
// relative for float and 0.04 * 2^-53 for double, the exp kernel's 0.17 * 2^-24 / 0.15 * 2^-53).
//
//   erfc(x): max 4 ULP for all x (measured 3.8 float FMA / 4.0 float SSE2 on every 7th float,
//            3.6 / 3.9 double on 10^6 samples; worst just below 1, |x| < 0.01, where a
//            small-|x| polynomial would do better); erfc(-inf) = 2, erfc(+inf) = +0,
//            NaN -> NaN; erfc(x) = +0 for x > 10.06 (float) / 27.23 (double).
#pragma once

#include "../detail/simd.hpp"

namespace xact::math {
namespace detail {
using namespace xact::detail;

/// e^-(h + l) = 2^n (1 + q), for 0 <= h <= 800 and |l| <= ulp(h) (h + l: a double-word).
template <class T>
struct exp_neg_parts {
    T q;
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
    const T r_hi = detail::fma(kf, ln2_hi, -h);
    const T r_add = detail::fma(kf, ln2_lo, -l);
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
    p.q = s + detail::fma(r_lo, s + T(1), s_lo);
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
    XACT_INLINE T minus(const T& c) const noexcept { return detail::fma(m, -p2, c); }
};

template <class T>
XACT_INLINE scaled<T> exp_neg_scale(const T& y, const exp_neg_parts<T>& e) noexcept {
    const int_t<T> n1 = e.n >> 1;
    return {detail::fma(y, e.q, y) * pow2i<T>(n1), pow2i<T>(e.n - n1)};
}

/// G(a) = e^(a^2/2) Phi(-a) = erfcx(a / sqrt2) / 2 for 0 <= a <= 15 (float) / 39.5 (double),
/// as (Q/2) / ((K a) Q + P), K = sqrt(pi/2) (see tools/coefficients_erfc.py: G(0) = 1/2 exactly,
/// Horner's rounding errors cancel or are damped for large a). Phi(-a) = e^(-a^2/2) G(a) is the Gaussian tail of gelu.
template <class T>
XACT_INLINE T gauss_tail_ratio(const T& a) noexcept {
    T p, q;
    if constexpr (std::is_same_v<scalar_t<T>, float>) {
        p = splat<T>(0.00386892278689921520355);
        p = detail::fma(p, a, splat<T>(0.0432841062738455716956));
        p = detail::fma(p, a, splat<T>(0.229653099757509323473));
        p = detail::fma(p, a, splat<T>(0.669167063722157442244));
        p = detail::fma(p, a, splat<T>(1.0));
        q = splat<T>(0.0030868539504839940284);
        q = detail::fma(q, a, splat<T>(0.0345415899304462746532));
        q = detail::fma(q, a, splat<T>(0.189260721655432340853));
        q = detail::fma(q, a, splat<T>(0.60520319817314862794));
        q = detail::fma(q, a, splat<T>(1.1245971847210884487));
        q = detail::fma(q, a, splat<T>(1.0));
    } else {
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
    return (q * T(0.5)) / detail::fma(a * splat<T>(1.2533141373155003), q, p);
}

/// erfcx(z) = e^(z^2) erfc(z) for 0 <= z <= 10.6 (float) / 27.93 (double); = 2 G(sqrt2 z), as
/// Q / ((sqrt(pi) z) Q + P) with rescaled coefficients.
template <class T>
XACT_INLINE T erfcx_ratio(const T& z) noexcept {
    T p, q;
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
    return q / detail::fma(z * splat<T>(1.7724538509055159), q, p);
}
} // namespace detail

/// erfc(x) = 1 - erf(x), max 4 ULP, subnormal results not flushed; see the file comment.
template <class T>
XACT_INLINE T erfc(const T& x) noexcept {
    using S = detail::scalar_t<T>;
    // Clamp |x| where erfc(|x|) has underflowed to +0 for good (select keeps NaN).
    const T zmax = detail::splat<T>(std::is_same_v<S, float> ? 10.6 : 27.93);
    T z = detail::abs(x);
    z = detail::select(z > zmax, zmax, z);
    T h, l;
    detail::two_product(z, z, h, l); // z^2 = h + l exactly
    const auto e = detail::exp_neg_scale(detail::erfcx_ratio(z), detail::exp_neg(h, l));
    return detail::select(x < T(0), e.minus(T(2)), e.value());
}

} // namespace xact::math
