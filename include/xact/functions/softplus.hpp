// xact — log1p(e^x) family: softplus, log_sigmoid, mish.
//
// Same conventions as functions/piecewise.hpp: small value types whose members are templates
// over T = float, double or xsimd::batch<float|double, A>, one branch-free body for the
// scalar and the SIMD path (bitwise equal), NaN in -> NaN out for f and f', ±inf -> the
// limits, subnormal results computed (never flushed), no overflow in intermediates.
//
// Shared building blocks (namespace detail):
//   - e^v for v <= 0 as a double-word value (t + t_lo), from math::detail::exp_reduce: its
//     low part keeps the error of e^v near 0.01 ULP, so log1p(e^v), σ and the tanh of
//     softplus round essentially once more than the exact value;
//   - log1p of a double-word argument (math::detail::log1p_core);
//   - σ(z) = 1 / (1 + e^-z) for z >= 0 and e^z / (1 + e^z) for z < 0: accurate in both tails.
#pragma once

#include "../detail/simd.hpp"
#include "../math/exp.hpp"
#include "../math/log1p.hpp"

#include <cmath>
#include <limits>

XACT_DIAGNOSTIC_PUSH

namespace xact {
namespace detail {

/// e^v = (a + b) 2^n with a in [0.7, 1.5) and |b| <= ulp(a) / 2, for v <= 0 (NaN kept).
/// With extended = true the range reaches far enough below exp's clamp for x e^x (mish):
/// there v is first shifted by C ~ 64 ln2 (exact addition), and the residue 64 ln2 - C enters b.
template <class T>
struct exp_scaled {
    T a, b, p1, p2; // 2^n = p1 * p2 (two normal factors: a subnormal result rounds once)
    /// a 2^n and b 2^n: e^v = t + t_lo.
    XACT_INLINE T hi() const noexcept { return (a * p1) * p2; }
    XACT_INLINE T lo() const noexcept { return (b * p1) * p2; }
    /// y 2^n, for y in the normal range.
    XACT_INLINE T scale(const T& y) const noexcept { return (y * p1) * p2; }
};

template <bool extended, class T>
XACT_INLINE exp_scaled<T> exp_neg(const T& v) noexcept {
    using S = scalar_t<T>;
    constexpr bool f32 = std::is_same_v<S, float>;
    const T one(S(1));
    T vs = v, shift_k(S(0)), rho(S(0));
    if constexpr (extended) {
        // Below -64 (float) / -512 (double): v + C is exact down to -128 / -1024 (C a multiple
        // of ulp(v) there, |v + C| < |v|; below, e^v is not used), e^v = e^(v + C) 2^-64 e^rho,
        // rho = 64 ln2 - C (|rho| < 2^-22 / 2^-47).
        const auto shift = v < splat<T>(f32 ? -64.0 : -512.0);
        const T C = splat<T>(f32 ? 0x1.62e43p+5 : 0x1.62e42fefa39fp+5);
        vs = xact::detail::select(shift, v + C, v);
        shift_k = xact::detail::select(shift, splat<T>(64), T(S(0)));
        rho = xact::detail::select(
            shift, splat<T>(f32 ? -1.2189787519729715e-07 : -5.62123739673937e-15), T(S(0)));
    }
    // Clamped here (NaN kept) so that 2^n stays well inside pow2i's range whatever clamp
    // exp_reduce applies: below -110 (float) / -760 (double) every use of e^v rounds to 0.
    const T lo = splat<T>(f32 ? -110.0 : -760.0);
    vs = xact::detail::at_least(vs, lo);
    const auto p = math::detail::exp_reduce(vs);
    // 1 + s + s_lo (times e^rho) as a + b (Fast2Sum: |a0| > |e|).
    const T a0 = one + p.s;
    T e = ((one - a0) + p.s) + p.s_lo;
    if constexpr (extended) e = detail::fma(a0, rho, e);
    exp_scaled<T> r;
    r.a = a0 + e;
    r.b = (a0 - r.a) + e;
    // n (minus the shift) as an integer, read from 1.5 * 2^mant + n (no int conversion).
    const T magic = splat<T>(f32 ? 0x1.8p23 : 0x1.8p52);
    const int_t<T> n = as_int((p.k - shift_k) + magic) - as_int(magic);
    const int_t<T> n1 = n >> 1;
    r.p1 = pow2i<T>(n1);
    r.p2 = pow2i<T>(n - n1);
    return r;
}

/// a b + c as hi + lo, hi rounded once and lo its rounding error (itself rounded), where
/// c - hi is exact and Fast2Sum applies: |a b| <= |c| with the same sign, or c a power of two
/// and |a b| < 2|c|. With FMA: hi = fma(a, b, c), lo = fma(a, b, c - hi); without: a b =
/// p + p_lo exactly (two_product), then Fast2Sum of c + p, plus p_lo.
template <class T>
XACT_INLINE void mul_add_dw(const T& a, const T& b, const T& c, T& hi, T& lo) noexcept {
#if XACT_HAS_FMA
    hi = detail::fma(a, b, c);
    lo = detail::fma(a, b, c - hi);
#else
    T p, p_lo;
    detail::two_product(a, b, p, p_lo);
    hi = c + p;
    lo = ((c - hi) + p) + p_lo;
#endif
}

/// z = β x as zh + zl (zl = 0 for β = 1); zl is dropped where the product overflows or
/// zh is far outside the range where it matters (zl is then NaN, inf or huge).
template <class T>
XACT_INLINE void scaled_input(const T& x, const T& b, bool unit, T& zh, T& zl) noexcept {
    if (unit) {
        zh = x;
        zl = T(scalar_t<T>(0));
        return;
    }
    // _wide: without FMA, Dekker's split of x or β overflows above 2^115 (float) / 2^996
    // (double); two_product_wide splits such an operand at a smaller scale.
    detail::two_product_wide(b, x, zh, zl);
    zl = detail::select(detail::abs(zl) < splat<T>(1), zl, T(scalar_t<T>(0)));
}

/// log1p(e^-|z|) for z = zh + zl: the smooth part of softplus, in (0, ln2].
template <class T>
XACT_INLINE T log1p_exp_neg_abs(const T& zh, const T& zl) noexcept {
    const T v = -detail::abs(zh);
    const T v_lo = detail::select(zh < T(scalar_t<T>(0)), zl, -zl); // -|zh + zl| = v + v_lo
    const auto e = detail::exp_neg<false>(v);
    const T t = e.hi();
    const T t_lo = detail::fma(t, v_lo, e.lo()); // e^(v + v_lo) ~ t + t_lo + t v_lo
    return math::detail::log1p_unit(t, t_lo);
}

/// σ(z) for z = zh + zl: 1 / (1 + t) for z >= 0, t / (1 + t) for z < 0, t = e^-|z|.
template <class T>
XACT_INLINE T sigmoid2(const T& zh, const T& zl) noexcept {
    const T one(scalar_t<T>(1));
    const T v = -detail::abs(zh);
    const T v_lo = detail::select(zh < T(scalar_t<T>(0)), zl, -zl);
    const auto e = detail::exp_neg<false>(v);
    const T t = e.hi();
    const T tt = t + detail::fma(t, v_lo, e.lo());
    return detail::select(zh < T(scalar_t<T>(0)), tt, one) / (one + tt);
}

} // namespace detail

/// f(x) = (1/β) log1p(e^(βx)) = max(x, 0) + log1p(e^-|βx|) / β (stable, no threshold);
/// f'(x) = σ(βx). β is rounded to T once and βx is carried exactly (two_product), so the
/// error stays within bound even where f ~ e^(βx) is sensitive to βx. Bounds 2 ULP for f,
/// 4 for f'; measured with FMA: f 1.18 (all floats) / 1.00 (double; β = 0.7: 1.57), f' 2.40 / 2.23.
/// softplus(+inf) = +inf, softplus(-inf) = +0, softplus(-100.f) = 3.7e-44 (subnormal, not flushed),
/// softplus(1e30) = 1e30. The far-left tail e^(βx) / β is computed as e^(βx - k ln2) / m for
/// β = m 2^k: within the bound for any β, subnormal to largest, down to underflow (tested).
struct softplus {
    double beta = 1.0;

    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        const T b = detail::splat<T>(beta);
        const bool unit = detail::scalar_t<T>(beta) == 1;
        using S = detail::scalar_t<T>;
        // The split of β for the far-left tail below, before any branch: code run on every
        // call is loop-invariant and hoisted out of an array loop (GCC does not hoist it out
        // of the β != 1 branch or the tail's lambda: 45 % more instructions in the tail).
        int k = 0;
        const S m = detail::split_exponent(static_cast<S>(beta), k);
        // -k ln2 = c_hi + c_lo with |c_lo| <= ulp(c_hi): e^(w_lo) is taken to first order
        // below, so w_lo must stay that small. ln2 = h1 + h2 + h3 (26 + 27 + 53 bits), k h1
        // and k h2 exact for |k| <= 1075; Fast2Sum, then rounded to S.
        const double kd = -static_cast<double>(k);
        const double p1 = kd * 0x1.62e42f8p-1, p2 = kd * 0x1.be8e7bcp-27;
        const double ch = p1 + p2;
        // An explicit fma: nothing left for -ffp-contract to fuse in one path only.
        const double cl = detail::fma(kd, 0x1.abc9e3b39803fp-56, (p1 - ch) + p2);
        const S c_hi = static_cast<S>(ch);
        const S c_lo = static_cast<S>((ch - static_cast<double>(c_hi)) + cl);
        T zh, zl;
        detail::scaled_input(x, b, unit, zh, zl);
        const T l = detail::log1p_exp_neg_abs(zh, zl);
        if (unit) {
            const T pos = detail::select(x > T(0), x, T(0)); // NaN: l is NaN
            return detail::nan_or(x, pos + l);
        }
        // β != 1, far left (z < -18 float, -38 double): f = e^z / β (log1p(t) = t to within
        // t/2 relative). l is rounded once already (maybe subnormal), so l / β would round
        // twice and could flush a result the true value keeps. With β = m 2^k (m in [1, 2)),
        // e^z / β = e^w / m for w = z - k ln2 (carried as w + w_lo): the quotient is taken
        // before the one scaling, and w, not z, meets exp_neg's clamp at -110 / -760, below
        // which e^w / m rounds to 0 (-inf included). For tiny β, w reaches +85 / +706.
        // A batch computes this tail only when one of its lanes needs it (two_regimes).
        constexpr bool f32 = std::is_same_v<S, float>;
        const auto tail = [&](const T& zh_) XACT_LAMBDA_INLINE {
            T w, w_err; // w + w_err = zh + c_hi exactly
            detail::two_sum(zh_, detail::splat<T>(c_hi), w, w_err);
            const T w_lo = w_err + (zl + detail::splat<T>(c_lo)); // zh < 0 here
            const auto e = detail::exp_neg<false>(w);
            const T t = e.scale((e.a + detail::fma(e.a, w_lo, e.b)) / detail::splat<T>(m));
            const T cut = detail::splat<T>(f32 ? -110.0 : -760.0); // also -inf (w_err is NaN)
            return detail::select(w < cut, T(S(0)), t);
        };
        const T far = detail::splat<T>(f32 ? -18.0 : -38.0);
        const T lb = detail::two_regimes(
            zh, zh < far, [&](const T&) XACT_LAMBDA_INLINE { return l / b; }, tail);
        const T pos = detail::select(x > T(0), x, T(0)); // NaN: l is NaN
        return detail::nan_or(x, pos + lb);              // a NaN input comes back as is
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        const T b = detail::splat<T>(beta);
        T zh, zl;
        detail::scaled_input(x, b, detail::scalar_t<T>(beta) == 1, zh, zl);
        return detail::nan_or(x, detail::sigmoid2(zh, zl));
    }
    /// Parameters, checked once per array call: β finite and > 0, also once rounded to the
    /// element type (β = 1e300 or 1e-50 is no float).
    void check() const {
        if (!(std::isfinite(beta) && beta > 0.0))
            detail::invalid_argument("softplus::beta: must be finite and > 0");
    }
    template <class T>
    void check_for() const {
        detail::check_param_in<T>(beta, true,
                                  "softplus::beta: rounds to 0 or infinity in the element type");
    }
};

/// f(x) = -softplus(-x) = min(x, 0) - log1p(e^-|x|); f'(x) = σ(-x). Bitwise the mirror of
/// softplus (β = 1), so the same errors: f 1.18 / 1.00 ULP, f' 2.40 / 2.23 (float / double).
/// log_sigmoid(-inf) = -inf, log_sigmoid(+inf) = -0, log_sigmoid(100.f) = -3.7e-44.
struct log_sigmoid {
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        const T l = detail::log1p_exp_neg_abs(x, T(0));
        const T pos = detail::select(x < T(0), -x, T(0));
        // -(0 + 0) = -0 at +inf, as -softplus(-x) gives. A product by -1, not unary minus:
        // xsimd 8.1 negates AVX-512 batches as 0 - v, which turns -(+0) into +0.
        return detail::nan_or(x, detail::splat<T>(-1) * (pos + l));
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        return detail::nan_or(x, detail::sigmoid2(-x, T(0)));
    }
};

/// f(x) = x tanh(softplus(x)), with tanh(log1p(e^x)) = e^x (e^x + 2) / (e^x (e^x + 2) + 2)
/// (x <= 0; scaled by 2^n so that tiny results are rounded once) and (1 + 2w) / (1 + 2w + 2w²)
/// with w = e^-x (x > 0): no log, no overflow. f'(x) = tanh(sp) + x sech²(sp) σ(x) over one
/// common denominator (see the body). Bound 4 ULP for f and f' (f' absolute near its zero
/// x = -1.1924); measured with FMA: f 2.57 (all floats) / 2.15 (double), f' 3.93 / 3.26.
/// Without FMA (SSE2, AVX), double on [-40, 40]: f 2.58, f' 2.61 (the exact products below).
/// mish(-inf) = -0, mish(+inf) = +inf, mish(-0) = -0, mish(1e30) = 1e30.
struct mish {
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        using S = detail::scalar_t<T>;
        const T one(S(1)), two(S(2));
        const auto neg = x <= T(0);
        const auto e = detail::exp_neg<true>(-detail::abs(x));
        const T t = e.hi(); // e^-|x|
        // tanh(sp) = t (1 - corr) with corr = t (t + 1) / (t (t + 2) + 2) for x <= 0 (x t
        // with its 2^n applied last), 1 - corr with corr = 2t² / (1 + 2t + 2t²) for x > 0.
        // corr <= 0.4, so its rounding errors weigh little; the result is one fma.
        const T den_n = detail::fma(t, t + two, two);
        const T den_p = detail::fma(two * t, t, detail::fma(two, t, one));
        const T corr =
            detail::select(neg, t * (t + one), two * (t * t)) / detail::select(neg, den_n, den_p);
        const T xt = detail::select(neg, detail::fma(x, e.a, x * e.b), x);
        const T q = detail::fnma(xt, corr, xt);
        const T inf = detail::splat<T>(std::numeric_limits<S>::infinity());
        const T r = detail::select(neg, e.scale(q), detail::select(x == inf, inf, q));
        // Far below the range where x e^x is representable (and at -inf): -0.
        const T cut = detail::splat<T>(std::is_same_v<S, float> ? -120.0 : -760.0);
        // ±0 returns x (mish(-0) = -0: the fma above gives +0 for it).
        return detail::nan_or(
            x, detail::select(x == T(0), x, detail::select(x < cut, detail::splat<T>(-0.0), r)));
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        using S = detail::scalar_t<T>;
        const T one(S(1)), two(S(2)), four(S(4));
        const auto neg = x <= T(0);
        const auto e = detail::exp_neg<true>(-detail::abs(x));
        const T t = e.hi();
        // f' = tanh(sp) + x sech²(sp) σ(x) over one denominator:
        //   x <= 0: 4 t B / D², B = t³/4 + t² + (1.5 + x) t + (1 + x), D = t (t + 2) + 2
        //           (Horner; 1 + x and 1.5 + x are exact near the zero of f'; 2^n of t last);
        //   x > 0:  (u E + 4xw w (1 + w)) / E², u = 1 + 2w, E = u + 2w² (w = t = e^-x).
        // D, E, u are carried with their rounding errors (hi + lo), so numerator, denominator
        // and quotient each round about once. Every a b + c below that must round once is a
        // fma_exact_product and every hi + lo a mul_add_dw: plain fmas where the target has
        // FMA; without FMA the product is split exactly (two_product). A plain a * b + c there
        // rounds twice per step and drops the product's error from the low parts: 4.1 ULP
        // (float) / 3.6 (double), and an exact 0 for 8.1e-10 at x = -0x1.31432cp+0, the float
        // next to the zero of f', where B cancels below ulp(1 + x).
        T bq = detail::fma(detail::splat<T>(0.25), t, one); // t / 4 is exact
        bq = detail::fma_exact_product(bq, t, detail::splat<T>(1.5) + x);
        bq = detail::fma_exact_product(bq, t, one + x);
        const T num_n = four * detail::fma_exact_product(e.a, bq, e.b * bq);
        const T t2 = t + two;
        const T t2_lo = (two - t2) + t; // Fast2Sum
        T dn, dn_lo;
        detail::mul_add_dw(t, t2, two, dn, dn_lo);
        dn_lo = detail::fma(t, t2_lo, dn_lo);
        const T u = detail::fma(two, t, one);        // 2t is exact: one rounding in any build
        const T u_lo = detail::fma(two, t, one - u); // exact
        T dp, dp_lo;
        detail::mul_add_dw(two * t, t, u, dp, dp_lo);
        dp_lo = dp_lo + u_lo;
        const T k = (four * (x * t)) * (t * (one + t));
        const T num_p =
            detail::fma_exact_product(u, dp, detail::fma(u, dp_lo, detail::fma(u_lo, dp, k)));
        const T d = detail::select(neg, dn, dp), d_lo = detail::select(neg, dn_lo, dp_lo);
        const T den = detail::fma_exact_product(d, d, (d + d) * d_lo); // (d + d_lo)², one rounding
        const T q = detail::select(neg, num_n, num_p) / den;
        T r = detail::select(neg, e.scale(q), q);
        const T cut = detail::splat<T>(std::is_same_v<S, float> ? -120.0 : -760.0);
        r = detail::select(x < cut, detail::splat<T>(-0.0), r);
        r = detail::select(x == detail::splat<T>(std::numeric_limits<S>::infinity()), one, r);
        return detail::nan_or(x, r);
    }
};

} // namespace xact

XACT_DIAGNOSTIC_POP
