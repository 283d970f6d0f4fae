// xact — log1p for float, double and xsimd batches (one body for all).
//
// Algorithm (branch-free): u = 1 + x rounded, with its rounding error c carried exactly
// (Fast2Sum); u = 2^k m with m in [sqrt(1/2), sqrt(2)) read from the bits of u, and
// f = m - 1 (exact). Then
//     log1p(x) = k ln2 + log(1 + f) + c / u,
//     log(1 + f) = f - f^2/2 + s (f^2/2 + z P(z)),  s = f / (2 + f), z = s^2, |s| <= 0.1716,
// so the leading term f is exact and every other term is a small correction (fdlibm's
// arrangement; f^2/2 enters exactly through an fma where FMA exists). One division
// serves s and c / u: q = 1 / (m (2 + f)), s = f q m, c / u = c 2^-k (1 - f (2 + f) q). ln2 is
// split in a short high part (k ln2_hi exact) and a low part. P is a polynomial in z of degree 2
// (float) or 6 (double), fitted to (2 atanh(s) - 2 s) / s^3 on [0, 0.1716^2] by Chebyshev
// interpolation in 60-digit arithmetic: tools/coefficients_log1p.py reproduces them (fit
// error 0.02 ULP of the result).
//
//   log1p(x): max 1 ULP (measured over all floats: see the README / tools); log1p(±0) = ±0,
//             subnormal x -> x, log1p(-1) = -inf, x < -1 -> NaN, log1p(+inf) = +inf,
//             NaN -> NaN.
#pragma once

#include "../detail/simd.hpp"

#include <limits>

XACT_DIAGNOSTIC_PUSH

namespace xact::math {
namespace detail {
using namespace xact::detail;

/// log1p(x + x_lo) for -1 < x < +inf (x not NaN for a meaningful result; NaN propagates),
/// with |x_lo| small against ulp(1 + x): a low part of the argument (0 if none) enters the
/// rounding error c of 1 + x, which the formula carries anyway. No special-case handling.
template <class T>
XACT_INLINE T log1p_core(const T& x, const T& x_lo) noexcept {
    using S = scalar_t<T>;
    using I = int_t<T>;
    constexpr bool f32 = std::is_same_v<S, float>;
    constexpr int mant = f32 ? 23 : 52;
    const T one(S(1));
    // u = 1 + x and its rounding error c (Fast2Sum, larger operand first), plus x_lo.
    const T u = one + x;
    const T c_small = x - (u - one); // |x| <= 1
    const T c_big = one - (u - x);   // x > 1
    const T c = xact::detail::select(x > one, c_big, c_small) + x_lo;
    // u = 2^k m, m in [sqrt(1/2), sqrt(2)): shift the bits so that m's range starts an
    // exponent binade, read k, put the mantissa back over sqrt(1/2). u > 0 is normal here.
    using IS = std::conditional_t<f32, std::int32_t, std::int64_t>;
    constexpr IS one_bits = f32 ? IS(0x3f800000) : IS(0x3ff0000000000000LL);
    constexpr IS sqrt_half_bits = f32 ? IS(0x3f3504f3) : IS(0x3fe6a09e667f3bcdLL); // sqrt(1/2)
    const I offset(IS(one_bits - sqrt_half_bits)), sqrt_half(sqrt_half_bits);
    const I mask(IS((IS(1) << mant) - 1)), bias(IS(f32 ? 127 : 1023));
    I hu;
    if constexpr (is_batch_v<T>) {
        hu = as_int(u) + offset;
    } else { // wrapping, as the SIMD lanes do: for a NaN u the signed sum could overflow (UB)
        using U = std::make_unsigned_t<I>;
        hu = static_cast<I>(static_cast<U>(as_int(u)) + static_cast<U>(offset));
    }
    I k;
    if constexpr (f32)
        k = (hu >> mant) - bias;
    else // the same for hu >= 0 (every u > 0), one instruction on x86 before AVX-512
        k = shift_right_logical<mant>(hu) - bias;
    const T m = as_real<T>((hu & mask) + sqrt_half);
    // k as a real without an int -> real conversion: 1.5 * 2^mant + k, minus the constant.
    const T magic = splat<T>(f32 ? 0x1.8p23 : 0x1.8p52);
    const T kf = as_real<T>(k + as_int(magic)) - magic;
    const T f = m - one; // exact (Sterbenz)
    // One division for s = f / (2 + f) and c / u = c / (m 2^k); 2^-k is capped at 2^-60
    // (beyond, c / u is far below an ULP of k ln2).
    const T two_f = f + splat<T>(2);
    const T q = one / (m * two_f);
    const T s = (f * q) * m;
    const I cap(60);
    const T inv2k = pow2i<T>(-xact::detail::select(k > cap, cap, k));
    // c / u = c 2^-k / (1 + f) = c'' (1 - f / m), with c'' = c 2^-k exact and f / m =
    // f (2 + f) q: the product's rounding errors are |f| times smaller than c'', so c / u is
    // accurate (to one rounding) where it matters, when f and c are of similar size.
    const T c2 = c * inv2k;
    const T cu = detail::fnma(c2, (f * two_f) * q, c2);
    // P(z), Horner; the coefficients come from tools/coefficients_log1p.py.
    const T z = s * s;
    T p;
    if constexpr (f32) {
        p = splat<T>(2.957994938e-01);
        p = detail::fma(p, z, splat<T>(3.998878002e-01));
        p = detail::fma(p, z, splat<T>(6.666668653e-01));
    } else {
        p = splat<T>(1.46164496850434061e-01);
        p = detail::fma(p, z, splat<T>(1.53317216005560419e-01));
        p = detail::fma(p, z, splat<T>(1.81828891252617225e-01));
        p = detail::fma(p, z, splat<T>(2.22222111347950807e-01));
        p = detail::fma(p, z, splat<T>(2.85714286259754868e-01));
        p = detail::fma(p, z, splat<T>(3.99999999998995048e-01));
        p = detail::fma(p, z, splat<T>(6.66666666666666963e-01));
    }
    const T half_f = splat<T>(0.5) * f;
    const T h = half_f * f; // f^2 / 2 rounded
    // ln2 = ln2_hi + ln2_lo with ln2_hi short (float 13 bits, double 32 bits): k ln2_hi exact.
    const T ln2_hi = splat<T>(f32 ? 0x1.62ep-1 : 0x1.62e42feep-1);
    const T ln2_lo = splat<T>(f32 ? 3.194618329871446e-05 : 1.9082149292705877e-10);
    // w = s (h + z P) + k ln2_lo + c/u - f^2/2 (f^2/2 exact inside the fma where FMA exists);
    // result = k ln2_hi + (f + w), fdlibm's order. Every product feeding a sum is an explicit
    // fma (k ln2_hi is exact anyway), so no compiler contraction can make paths differ.
    const T small = detail::fma(s, detail::fma(z, p, h), detail::fma(kf, ln2_lo, cu));
    const T w = detail::fnma(half_f, f, small);
    const T r = detail::fma(kf, ln2_hi, f + w);
    // Near 0 the series x - x^2/2 + x^3/3 (+ x_lo) rounds once; above, the steps f + c / u
    // would round twice where f and c are of similar size.
    const T tiny =
        x + detail::fma(x * x, detail::fma(x, splat<T>(S(1) / S(3)), splat<T>(-0.5)), x_lo);
    return xact::detail::select(xact::detail::abs(x) < splat<T>(f32 ? 0x1p-9 : 0x1p-19), tiny, r);
}

/// log1p(t + t_lo) for t in [0, 1] (or NaN) with |t_lo| <= ulp(t): the log1p(e^v) of softplus
/// and log_sigmoid (v <= 0). float: no division and no exponent extraction, so the chain from t
/// to the result is short. 1 + t = 2^k (1 + f) with k = (t > sqrt(2) - 1): f = t, or f = (t - 1)/2
/// as fb + fb_lo exactly (Fast2Sum of t/2 - 1/2), f in (-0.293, 0.415]. Then
///     log1p(t + t_lo) = k ln2 + f - f^2/2 + f^3 R(f) + c / (1 + f),
/// c = fb_lo + t_lo / 2^k the low part of the argument, c / (1 + f) ~ c (1 - f + f^2) (c is below
/// ulp(f), so the truncation is far below an ULP), f^2 = f2 + f2_lo exactly (two_product).
/// R: degree 8, near-minimax for (log1p(f) - f + f^2/2) / f^3 on [sqrt(1/2) - 1, sqrt(2) - 1]
/// weighted by f^3 / log1p(f), fit error 0.013 ULP of the result (tools/coefficients_log1p.py),
/// evaluated in Estrin's scheme. double: log1p_core (a polynomial in f would need degree ~20).
template <class T>
XACT_INLINE T log1p_unit(const T& t, const T& t_lo) noexcept {
    using S = scalar_t<T>;
    if constexpr (!std::is_same_v<S, float>) {
        return log1p_core(t, t_lo);
    } else {
        const T half(0.5f), one(1.0f), zero(0.0f);
        const auto big = t > splat<T>(0x1.a8279ap-2f); // sqrt(2) - 1
        const T a = t * half;                          // exact: t > 0.41 here
        const T fb = a - half;                         // Fast2Sum: |-1/2| >= a
        const T fb_lo = a - (fb + half);
        const T f = xact::detail::select(big, fb, t);
        const T c = xact::detail::select(big, xact::detail::fma(t_lo, half, fb_lo), t_lo);
        T f2, f2_lo;
        xact::detail::two_product(f, f, f2, f2_lo);
        // R(f) by Estrin's scheme:
        // (r0 + r1 f) + f^2 (r2 + r3 f) + f^4 ((r4 + r5 f) + f^2 (r6 + r7 f)) + f^8 r8.
        const T q0 = xact::detail::fma(splat<T>(-2.500000894e-01), f, splat<T>(3.333331347e-01));
        const T q1 = xact::detail::fma(splat<T>(-1.666799188e-01), f, splat<T>(2.000207156e-01));
        const T q2 = xact::detail::fma(splat<T>(-1.240614951e-01), f, splat<T>(1.422036141e-01));
        const T q3 = xact::detail::fma(splat<T>(-1.167070121e-01), f, splat<T>(1.188343242e-01));
        const T f4 = f2 * f2;
        const T lower = xact::detail::fma(q1, f2, q0);
        const T upper = xact::detail::fma(q3, f2, q2);
        const T r = xact::detail::fma(splat<T>(6.750356406e-02), f4 * f4,
                                      xact::detail::fma(upper, f4, lower));
        const T cu = c * xact::detail::fma(f, f - one, one);
        const T ln2_lo = xact::detail::select(big, splat<T>(3.194618329871446e-05f), zero);
        const T small = xact::detail::fma(f2 * f, r, xact::detail::fma(-half, f2_lo, cu + ln2_lo));
        const T w = xact::detail::fma(-half, f2, small); // f2 / 2 is exact
        const T ln2_hi = xact::detail::select(big, splat<T>(0x1.62ep-1f), zero);
        return ln2_hi + (f + w);
    }
}

} // namespace detail

/// log(1 + x), max 1 ULP, accurate near 0 (±0 and subnormal x give x); see the file comment.
template <class T>
XACT_INLINE T log1p(const T& x) noexcept {
    using S = detail::scalar_t<T>;
    const T inf = detail::splat<T>(std::numeric_limits<S>::infinity());
    const T m1 = detail::splat<T>(-1);
    T r = detail::log1p_core(x, T(S(0)));
    r = detail::select(x == inf, inf, r);
    r = detail::select(x == m1, -inf, r);
    r = detail::select(x < m1, detail::splat<T>(std::numeric_limits<S>::quiet_NaN()), r);
    // ±0 keeps its sign; a NaN input is returned as is (same bits in every code path).
    return detail::select((x == T(S(0))) | detail::is_nan(x), x, r);
}

} // namespace xact::math

XACT_DIAGNOSTIC_POP
