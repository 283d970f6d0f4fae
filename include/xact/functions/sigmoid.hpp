// xact — sigmoid, tanh, swish/silu and softsign, with derivatives accurate in the tails.
//
// One body per function serves float, double and xsimd batches (bitwise-equal results).
// Everything is built on e = exp(-|x|) in (0, 1], so no intermediate overflows, and on one
// corrected division: q = n / d is refined once with the exact residual n - q d (d = 1 + e
// carried as a double-word), which leaves the error of exp as the main one. Measured max
// errors over all floats are listed per function and in the README (tools/verify).
#pragma once

#include "../detail/simd.hpp"
#include "../math/exp.hpp"

#include <limits>

XACT_DIAGNOSTIC_PUSH

namespace xact {
namespace detail {

/// (n + n_lo) / (d + d_err) for d in [1, 2], |d_err| <= ulp(d), |n_lo| <= ulp(n): the
/// quotient rounded, then corrected once by the exact residual n - q d (one fma, or Dekker's
/// product without FMA); 1/d for the correction only needs a few bits, so a linear fit is
/// used (relative error 1/17), costing an fma instead of a second division.
template <bool HasLow, class T>
XACT_INLINE T div_1_2_impl(const T& n, const T& n_lo, const T& d, const T& d_err) noexcept {
    const T q = n / d;
    T rho = detail::residual(n, q, d);
#if !XACT_HAS_FMA
    // Dekker's split overflows for huge quotients; there the correction is not needed.
    rho = detail::select(detail::abs(q) < splat<T>(0x1p100), rho, T(0));
#endif
    if constexpr (HasLow) rho = rho + n_lo;
    rho = detail::fnma(q, d_err, rho);
    const T inv = detail::fma(d, splat<T>(-8.0 / 17), splat<T>(24.0 / 17)); // 1/d within 6 %
    return detail::fma(rho, inv, q);
}
template <class T>
XACT_INLINE T div_1_2(const T& n, const T& n_lo, const T& d, const T& d_err) noexcept {
    return div_1_2_impl<true>(n, n_lo, d, d_err);
}
/// n / (d + d_err) (no low part: one addition fewer than adding a zero n_lo).
template <class T>
XACT_INLINE T div_1_2(const T& n, const T& d, const T& d_err) noexcept {
    return div_1_2_impl<false>(n, T(0), d, d_err);
}

/// sgn(b) b_lo, the first-order change of |βx| = |b + b_lo|; 0 where e^-|b| is 0 anyway
/// (|b| >= 200 float, 1500 double; also where βx overflowed and b_lo is NaN).
template <class T>
XACT_INLINE T abs_low_part(const T& b, const T& b_lo) noexcept {
    const T lim = splat<T>(std::is_same_v<scalar_t<T>, float> ? 200.0 : 1500.0);
    return detail::select(detail::abs(b) < lim, detail::select(b < T(0), -b_lo, b_lo), T(0));
}

/// The shared core of sigmoid, swish and tanh': for b + b_lo (b_lo a small low part),
/// e^-|b + b_lo| = m 2^n with m = hi + lo, and d + d_err = 1 + e^-|b + b_lo| exactly.
/// Each user divides once: by d (corrected with d_err) and scales by 2^n last.
template <class T>
struct logistic {
    T hi, lo, m, ev, d, d_err; // ev = m 2^n, rounded once
    int_t<T> n;
    T k;         // n as a real
    int_t<T> nb; // n plus a constant that scale2_down ignores (exp_parts::nb)
    /// num / (1 + e^-|b|), the quotient corrected once (div_1_2).
    XACT_INLINE T over_d(const T& num, const T& num_lo) const noexcept {
        return div_1_2(num, num_lo, d, d_err);
    }
    XACT_INLINE T over_d(const T& num) const noexcept {
#if XACT_HAS_FMA
        // The same value as div_1_2 with two operations fewer: q lies in [num/2, num] (d in
        // [1, 2]), so num - q is exact (Sterbenz) and one fnma gives the exact residual
        // num - q (1 + ev) rounded once, as div_1_2's residual and d_err correction do.
        const T q = num / d;
        const T rho = detail::fnma(q, ev, num - q);
        const T inv = detail::fma(d, splat<T>(-8.0 / 17), splat<T>(24.0 / 17));
        return detail::fma(rho, inv, q);
#else
        return div_1_2(num, d, d_err);
#endif
    }
    /// num / (1 + e^-|b|) from r = over_d(1): the product num r corrected once by the exact
    /// residual, as accurate as over_d(num) without a second division.
    XACT_INLINE T over_d_by(const T& num, const T& r) const noexcept {
        const T q = num * r;
        const T rho = detail::fnma(q, d_err, detail::residual(num, q, d)); // |num| <= 2^100
        return detail::fma(rho, r, q);
    }
};
/// d + d_err = 1 + m 2^n exactly (n <= 0).
template <class T>
XACT_INLINE void logistic_denominator(logistic<T>& l) noexcept {
    l.ev = detail::scale2_down(l.m, l.nb, l.k);
    const T one = splat<T>(1);
    l.d = one + l.ev;
    l.d_err = (one - l.d) + l.ev; // exact: Fast2Sum, ev <= 1
}
/// The core of b (no low part). Rounded: hi = 1 + s rounded once (s = e^r - 1 rounded),
/// within 0.75 ULP of e^r, two operations after the polynomial; hi + lo is still e^r to about
/// u^2 (lo = the rounding errors of both steps). Otherwise (Rounded = false, for silu's exact
/// numerator x (hi + lo)) hi is e^r rounded once (within 0.51 ULP), five operations.
/// Nonpositive: b is already -|b| (or NaN), so the sign is not set again.
template <bool Rounded = true, bool Nonpositive = false, class T>
XACT_INLINE logistic<T> logistic_of(const T& b) noexcept {
    logistic<T> l;
    const T neg = Nonpositive ? b : detail::neg_abs(b);
    if constexpr (Rounded) {
        const auto p = math::detail::exp_reduce<T, true>(neg);
        const T one = splat<T>(1);
        l.hi = one + p.s;
        l.lo = ((one - l.hi) + p.s) + p.s_lo; // (1 - hi) + s is exact (Fast2Sum)
        l.n = p.n;
        l.nb = p.nb;
        l.k = p.k;
    } else {
        const auto e = math::detail::exp_parts_of<T, true>(neg);
        l.hi = e.hi;
        l.lo = e.lo;
        l.n = e.n;
        l.nb = e.nb;
        l.k = e.k;
    }
    l.m = l.hi;
    logistic_denominator(l);
    return l;
}
template <class T>
XACT_INLINE logistic<T> logistic_of(const T& b, const T& b_lo) noexcept {
    const auto e = math::detail::exp_parts_of<T, true>(detail::neg_abs(b));
    logistic<T> l;
    // e^-|b + b_lo| = e^-|b| (1 - sgn(b) b_lo) to first order, folded into the low part.
    // That low part may reach |b| ulp(b) (hundreds of ulp(hi)), so hi + lo is renormalized
    // (Fast2Sum): callers such as div_1_2 assume |lo| <= ulp(hi).
    const T lo = detail::fnma(e.hi, abs_low_part(b, b_lo), e.lo);
    l.m = e.hi + lo;
    l.hi = l.m;
    l.lo = (e.hi - l.m) + lo;
    l.n = e.n;
    l.nb = e.nb;
    l.k = e.k;
    logistic_denominator(l);
    return l;
}

} // namespace detail

/// σ(x) = 1 / (1 + e^-x); σ' = σ(x) σ(-x) from the input (accurate in both tails: no 0 while
/// the true value is representable), y (1 - y) from the output. σ(-inf) = +0, σ(+inf) = 1.
/// Max error: f 2 ULP (measured in the README), f' 4 ULP.
struct sigmoid {
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        // x >= 0: 1 / (1 + e^-x). x < 0: e^x / (1 + e^x). One division serves both sides.
        // A subnormal e^x is rounded once before the division by d in [1, 1 + 2^-126): one
        // more half ULP of the subnormal result, against a scaling step on every element.
        // The side is read from the sign bit (one blendv on AVX2): x = -0 takes e^x = 1.
        const auto l = detail::logistic_of(x);
        return l.over_d(detail::select_sign(x, l.ev, detail::splat<T>(1)));
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        // σ(|x|) σ(-|x|) = (e^-|x| r) r with r = 1 / d (subnormal e^-|x|: as in operator()).
        const auto l = detail::logistic_of(x);
        const T r = l.over_d(detail::splat<T>(1));
        return (l.ev * r) * r;
    }
    /// From y = σ(x): y (1 - y), rounded once. Loses accuracy where y rounds to 1.
    template <class T>
    XACT_INLINE T derivative_from_output(T y) const noexcept {
#if XACT_HAS_FMA
        return detail::fnma(y, y, y);
#else
        return y * (detail::splat<T>(1) - y); // 1 - y exact for y >= 1/2: at most 1.5 ULP
#endif
    }
};

/// tanh(x): an odd polynomial for |x| < 0.55, 1 - 2t / (1 + t) with t = e^(-2|x|) above; odd
/// (tanh(-0) = -0), ±1 at ±inf. tanh' = 1 - tanh² from the input, computed as 4t / (1 + t)²
/// in the tails (nonzero while representable); 1 - y² from the output. Max error 2 ULP, f' 4.
struct tanh {
  private:
    template <class T>
    XACT_INLINE static T small(const T& a) noexcept {
        // tanh(a) = a + a^3 Q(a^2), Q fitted on [0, 0.55^2] (tools/coefficients.py).
        const T u = a * a;
        T q;
        if constexpr (std::is_same_v<detail::scalar_t<T>, float>) {
            q = detail::splat<T>(-0.006591692422835224947473);
            q = detail::fma(q, u, detail::splat<T>(0.02129948654157458890755));
            q = detail::fma(q, u, detail::splat<T>(-0.05390780714714143475833));
            q = detail::fma(q, u, detail::splat<T>(0.1333310544741713564294));
            q = detail::fma(q, u, detail::splat<T>(-0.3333333194427643039836));
        } else {
            q = detail::splat<T>(-0.00002047588229699226174408);
            q = detail::fma(q, u, detail::splat<T>(0.00008492963117452886266267));
            q = detail::fma(q, u, detail::splat<T>(-0.0002345222396597347957431));
            q = detail::fma(q, u, detail::splat<T>(0.0005888979771589568573613));
            q = detail::fma(q, u, detail::splat<T>(-0.001455654068126177862578));
            q = detail::fma(q, u, detail::splat<T>(0.003592109402894985766382));
            q = detail::fma(q, u, detail::splat<T>(-0.008863234323440806682359));
            q = detail::fma(q, u, detail::splat<T>(0.02186948849042626388281));
            q = detail::fma(q, u, detail::splat<T>(-0.05396825396736269246044));
            q = detail::fma(q, u, detail::splat<T>(0.1333333333333265432045));
            q = detail::fma(q, u, detail::splat<T>(-0.3333333333333333247652));
        }
        return detail::fma(a * u, q, a);
    }
    /// 1 - 2t / (1 + t) for t = e^(-2a), a >= 0.55 (t < 1/3): q = 2t / (1 + t) <= 1/2 enters
    /// the result with half its relative error, so one plain division suffices (bound: t's
    /// rounding, d's and q's together 1.3 ULP of the result, then 1 - q rounds; measured over
    /// every float in [0.5, 16]: 1.50 FMA, 1.51 SSE2), where (1 - t) / (1 + t) needed the
    /// corrected division with both parts carried exactly (about seven operations more).
    /// -2a is clamped at -41 (exp_reduce's shallow form): beyond, 2t / (1 + t) < 2^-57 and the
    /// result rounds to 1 for any such t. So 2^(n+1) is a normal number and one product gives
    /// 2t = (1 + s) 2^(n+1) exactly, and d = 1 + t is one fma of it (both as from logistic_of,
    /// two operations fewer than its subnormal-safe scaling, then ev + ev).
    template <class T>
    XACT_INLINE static T large(const T& a) noexcept {
        const T one = detail::splat<T>(1);
        const auto p = math::detail::exp_reduce<T, true, false, true>(detail::splat<T>(-2) * a);
        const T hi = one + p.s;
        const T t2 = detail::scalef_or(hi, p.k + one, hi * detail::pow2i<T>(p.nb, 1));
        const T d = detail::fma(t2, detail::splat<T>(0.5), one);
        return one - t2 / d;
    }
    static constexpr double split = 0.55;

  public:
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        const T a = detail::abs(x);
        const T r = detail::select(a < detail::splat<T>(split), small(a), large(a));
        return detail::or_sign(r, x); // r >= 0
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        const T a = detail::abs(x);
        const T f = small(a);
        const T near0 = detail::fnma(f, f, detail::splat<T>(1));
        // 4t / (1 + t)^2 = (2 σ(2a)) (2 σ(-2a))... written directly: with d = 1 + t,
        // 4t/d^2 = (4t/d) (1/d).
        // t = e^(-2a) = m 2^n; 4t is m 2^(n+2), scaled last so that a subnormal result is
        // rounded once (4t may be representable where t alone underflows).
        const auto l = detail::logistic_of<true, true>(detail::splat<T>(-2) * a);
        const T r1 = l.over_d(detail::splat<T>(1));
        // n, not nb: nb + 2 overflows a scalar int for a NaN lane (nb is a NaN's bits).
        const T tail = detail::scale2_down((l.m * r1) * r1, l.n + detail::int_t<T>(2),
                                           l.k + detail::splat<T>(2));
        return detail::select(a < detail::splat<T>(split), near0, tail);
    }
    /// From y = tanh(x): 1 - y², rounded once. Loses accuracy where |y| rounds to 1.
    template <class T>
    XACT_INLINE T derivative_from_output(T y) const noexcept {
        const T one = detail::splat<T>(1);
#if XACT_HAS_FMA
        return detail::fnma(y, y, one);
#else
        // Without FMA 1 - y² cancels near |y| = 1; there (1 - |y|) is exact instead.
        const T a = detail::abs(y);
        return detail::select(a < detail::splat<T>(0.5), one - y * y, (one - a) * (one + a));
#endif
    }
};

/// swish(x) = x σ(βx) (silu: β = 1); f' = σ(βx) + βx σ(βx) σ(-βx). β is rounded to T once and
/// βx rounds once (exact for β = 1). Tails: swish(-inf) = -0, swish(+inf) = +inf for β > 0;
/// where x σ(βx) underflows the result is a zero with the sign of x. Max error 2 ULP (β = 1).
struct swish {
    double beta = 1.0;

    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        // β = 1 (silu): βx is exact, so the core needs no low part and, as |x| < 150 (float)
        // or 1100 (double) wherever the result is not 0, the cheaper scaling suffices.
        if (beta == 1.0) {
            // Far left (x < -64 float, -600 double, -inf included) the general form; elsewhere
            // the shorter one-sided form (bitwise the same for every lane either way).
            return detail::two_regimes(
                x, x < silu_far<T>(), [](const T& v) { return silu_near(v); },
                [](const T& v) { return value<true>(v, v, detail::logistic_of<false>(v)); });
        }
        // β rounded to 0: x/2 (βx would be 0 · inf = NaN at x = ±inf).
        if (detail::scalar_t<T>(beta) == 0) return x * detail::splat<T>(0.5);
        T b, b_lo; // βx = b + b_lo exactly (_wide: β or x may be beyond 2^100)
        detail::two_product_wide(detail::splat<T>(beta), x, b, b_lo);
        const auto l = detail::logistic_of(b, b_lo);
        // Rare lanes: βx far left (far_value), or |x| so large (a tiny |β|) that x e^b may
        // overflow before the scaling by 2^n; there x / 4 takes its place and the result is
        // multiplied by 4 (both exact: the result is far above the subnormal range).
        const auto far = b < far_below<T>();
        const T big =
            detail::splat<T>(std::is_same_v<detail::scalar_t<T>, float> ? 0x1p100 : 0x1p1000);
        return detail::two_regimes(
            x, far | (detail::abs(x) > big), [&](const T& v) { return value<false>(v, b, l); },
            [&](const T& v) {
                const T four = detail::splat<T>(4);
                return detail::select(far, far_value(v, b, b_lo),
                                      value<false>(v / four, b, l) * four);
            });
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        if (beta == 1.0) {
            return detail::two_regimes(
                x, x < silu_far<T>(), [](const T& v) { return silu_slope_near(v); },
                [](const T& v) { return slope<true>(v, detail::logistic_of(v)); });
        }
        if (detail::scalar_t<T>(beta) == 0) return detail::nan_or(x, detail::splat<T>(0.5));
        T bx, b_lo; // βx exactly, as in operator()
        detail::two_product_wide(detail::splat<T>(beta), x, bx, b_lo);
        return slope<false>(bx, detail::logistic_of(bx, b_lo));
    }
    /// For the array calls (algorithm.hpp): fn(silu's kernel) where β = 1, else fn(*this).
    template <class Fn>
    void specialize(Fn&& fn) const {
        if (beta == 1.0)
            fn(unit{});
        else
            fn(*this);
    }
    /// β must be finite, also once rounded to the element type (checked once per array call).
    void check() const {
        if (!(beta - beta == 0.0)) detail::invalid_argument("swish::beta must be finite");
    }
    template <class T>
    void check_for() const {
        detail::check_param_in<T>(beta, false, "swish::beta: overflows the element type");
    }

  private:
    /// swish with β = 1 known at compile time (the branch on β folds away).
    struct unit {
        template <class T>
        XACT_INLINE T operator()(T x) const noexcept {
            return swish{}(x);
        }
        template <class T>
        XACT_INLINE T derivative(T x) const noexcept {
            return swish{}.derivative(x);
        }
    };
    /// silu_near serves x >= silu_far (and NaN): there e^-x < 2^92 (float) / 2^866 (double).
    template <class T>
    XACT_INLINE static T silu_far() noexcept {
        return detail::splat<T>(std::is_same_v<detail::scalar_t<T>, float> ? -64.0 : -600.0);
    }
    /// 1 / (1 + e^-x) = q (1 + g) to about u^2 for x >= silu_far, and e^-x = eh + el.
    template <class T>
    struct silu_parts {
        T eh, el, q, g;
    };
    /// e^-x = (hi + lo) 2^n (-x is clamped to >= -41 first, where 1 + e^-x rounds to 1 and
    /// the corrections below still give correctly rounded results) and D = 1 + e^-x = d + d_err
    /// (Fast2Sum of 1 and eh = hi 2^n, ordered by max and min, plus el = lo 2^n). With q = 1/d
    /// rounded, 1/D = q (1 + g), g = (1 - q d) - q d_err (1 - q d exact). Error: r's rounding
    /// (2^-26 relative in e^-x, 2^-55 in double).
    template <class T>
    XACT_INLINE static silu_parts<T> silu_core(const T& x) noexcept {
        const T one = detail::splat<T>(1);
        // No upper clamp (nonpositive form): lanes with -x beyond 64 (600) are far lanes.
        const auto p = math::detail::exp_reduce<T, true, false, true>(detail::splat<T>(-0.0) - x);
        const T r1 = one + p.r;
        const T t = detail::fma(p.r2, p.q, (one - r1) + p.r);
        const T hi = r1 + t;
        const T lo = t - (hi - r1); // hi + lo = e^r to about 2^-34 (hi - r1 is exact)
        // 2^n from nb (n plus bits that pow2i ignores): one integer operation fewer.
        const T pw = detail::pow2i<T>(p.nb, p.k);
        silu_parts<T> s;
        s.eh = hi * pw; // exact: n in [-60, 92] (866)
        s.el = lo * pw;
        const T d = one + s.eh;
        const T d_err = ((detail::at_least(s.eh, one) - d) + detail::at_most(s.eh, one)) + s.el;
        s.q = one / d;
        s.g = detail::fnma(s.q, d_err, detail::residual(one, s.q, d));
        return s;
    }
    /// silu(x) = x / (1 + e^-x) for x >= silu_far: one reciprocal, corrected, for both signs:
    /// x q + (x q) g rounds once, under 1 ULP in all. x is capped at 2^100 inside the small
    /// term so that x = +inf gives inf + finite. The result has the sign of x: for x = ±0, g is
    /// exactly +0, so x q + (x q) g is x's zero (without FMA the sign is copied). For 0 < x it
    /// is at least the smallest subnormal (x = 2^-149 lands on the tie 2^-150 but is above it).
    template <class T>
    XACT_INLINE static T silu_near(const T& x) noexcept {
        using S = detail::scalar_t<T>;
        constexpr bool f32 = std::is_same_v<S, float>;
        const auto s = silu_core(x);
        const T xq = detail::at_most(x, detail::splat<T>(f32 ? 0x1p100 : 0x1p1000)) * s.q;
        T y = detail::fma_exact_product(x, s.q, xq * s.g);
#if !XACT_HAS_FMA
        y = detail::copysign(y, x); // Dekker's product may turn x = -0 into +0
#endif
        const T tiny = detail::splat<T>(std::numeric_limits<S>::denorm_min());
        return detail::at_least(y, detail::at_most(x, tiny));
    }
    /// silu'(x) = σ(x) (1 + x σ(-x)) for x >= silu_far, with σ(x) = q + q g and
    /// σ(-x) = e^-x / D = eh q + (eh g + el) q rounded once. x is capped at 41 in the factor
    /// (σ(-x) is that of 41 there, and the factor rounds to 1 either way), which also gives
    /// x = +inf the limit 1.
    template <class T>
    XACT_INLINE static T silu_slope_near(const T& x) noexcept {
        const T one = detail::splat<T>(1);
        const auto s = silu_core(x);
        const T sm = detail::fma_exact_product(s.eh, s.q, s.q * detail::fma(s.eh, s.g, s.el));
        const T fac = detail::fma_exact_product(detail::at_most(x, detail::splat<T>(41)), sm, one);
        return detail::fma_exact_product(s.q, fac, (s.q * s.g) * fac);
    }
    /// Below this βx, x σ(βx) rounds to 0 where |x| <= 1 (so always for β = 1).
    template <class T>
    XACT_INLINE static T far_below() noexcept {
        return detail::splat<T>(std::is_same_v<detail::scalar_t<T>, float> ? -150.0 : -1100.0);
    }
    /// x σ(b) = x e^(b + b_lo) for b below far_below, where a tiny |β| leaves |x| large enough
    /// for a representable result (β = 1e-36, x = -1.7e38: -2.5e-36). e^b = (hi + lo) 2^n
    /// (below -200 / -1500 the result is 0 for any x), x is scaled by 2^-64 (2^-512) first so
    /// that x hi cannot overflow (exact wherever the result is not 0), and the product is
    /// scaled by 2^(n + 64) last, rounding once. 0 with the sign of x below the clamp.
    template <class T>
    XACT_INLINE static T far_value(const T& x, const T& b, const T& b_lo) noexcept {
        constexpr bool f32 = std::is_same_v<detail::scalar_t<T>, float>;
        const auto e = math::detail::exp_parts_of<T, true, true>(b);
        const T xs = x * detail::splat<T>(f32 ? 0x1p-64 : 0x1p-512);
        const T m = detail::fma(xs, e.hi, xs * detail::fma(e.hi, b_lo, e.lo));
        const T y = detail::scale2(m, e.n + detail::int_t<T>(f32 ? 64 : 512));
        const T lim = detail::splat<T>(f32 ? -200.0 : -1500.0);
        return detail::select(b < lim, detail::copysign(T(0), x), y);
    }
    /// x 2^n (n of l) for the b < 0 side: scale2_down needs |x| <= 2^27 (true for β = 1).
    template <bool Unit, class T>
    XACT_INLINE static T scaled(const T& x, const detail::logistic<T>& l) noexcept {
        if constexpr (Unit) {
            return detail::scale2_down(x, l.nb, l.k);
        } else {
            return detail::scale2(x, l.n); // no vscalef: |x| may exceed scale2_down's range
        }
    }
    /// x σ(b) from the logistic core of b (+ its low part).
    template <bool Unit, class T>
    XACT_INLINE static T value(const T& x, const T& b, const detail::logistic<T>& l) noexcept {
        // b >= 0: x σ(b) = x / (1 + e^-b). b < 0: x m 2^n / (1 + e^b), scaled last so that a
        // subnormal result rounds once (x σ(b) may be representable where σ(b) underflows).
        // The numerators x and x (hi + lo) are carried exactly into one corrected division.
        // At x = ±inf on the b >= 0 side, x itself (σ = 1): the division would give inf - inf.
        const auto pos = b >= T(0);
        T xh, xl; // β = 1: |x| <= 150 (1100) wherever xh is used; else x may be huge
        if constexpr (Unit)
            detail::two_product(x, l.hi, xh, xl);
        else
            detail::two_product_wide(x, l.hi, xh, xl);
        const T q = l.over_d(detail::select(pos, x, xh),
                             detail::select(pos, T(0), detail::fma(x, l.lo, xl)));
        const T y = detail::select(pos, q, scaled<Unit>(q, l));
        // x > 0 with b >= 0: x σ(b) >= x / 2 > 0, yet for x = 2^-149 (float) the quotient is
        // the tie 2^-150 plus a tiny positive part the division cannot see; it rounds up.
        T y1 = detail::at_least_smallest_subnormal(pos & (x > T(0)), y);
        if constexpr (!Unit) {
            // The mirror for β < 0: x < 0 with b > 0 (x = -2^-149 gave -0).
            const T tiny = detail::splat<T>(std::numeric_limits<detail::scalar_t<T>>::denorm_min());
            y1 = detail::select(pos & (x < T(0)) & (y1 > T(0) - tiny), T(0) - tiny, y1);
        }
        // ±0 returns itself (the correction step would turn -0 into +0), and so does ±inf
        // (σ = 1 there, where the division gives inf - inf), unless b < far.
        const T y2 = detail::select(x == T(0), x, detail::inf_kept(y1, x));
        // Far out (and at x = ±inf, where inf * 0 would be NaN) the result is a zero with the
        // sign of x: below -150 (float) or -1100 (double), |x| e^-|x| rounds to 0. For β = 1
        // that x is negative.
        const T zero = Unit ? detail::splat<T>(-0.0) : detail::copysign(T(0), x);
        return detail::select(b < far_below<T>(), zero, y2);
    }
    /// f'(x) = σ(b) (1 + b σ(-b)) from the logistic core of b = βx.
    template <bool Unit, class T>
    XACT_INLINE static T slope(const T& bx, const detail::logistic<T>& l) noexcept {
        const T one = detail::splat<T>(1);
        const T big = l.over_d(one);                                            // σ(|βx|)
        const T small_m = l.over_d_by(l.m, big);                                // σ(-|βx|) / 2^n
        const T sm = detail::select(bx >= T(0), scaled<Unit>(small_m, l), big); // σ(-βx)
        // βx is clamped where σ(-βx) is already 0 or 1, so ±inf * 0 cannot make a NaN.
        const T lim = detail::splat<T>(std::is_same_v<detail::scalar_t<T>, float> ? 200.0 : 1500.0);
        const T b = detail::at_most(detail::at_least(bx, -lim), lim);
        // f' = σ(βx) (1 + βx σ(-βx)); for βx < 0, σ(βx) = small_m 2^n is scaled last.
#if XACT_HAS_FMA
        const T fac = detail::fma(b, sm, one);
#else
        // f' crosses 0 where b σ(-b) = -1: the product is kept exact, 1 + hi is exact there.
        T ph, pl;
        detail::two_product(b, sm, ph, pl);
        const T fac = (ph + one) + pl;
#endif
        return detail::select(bx >= T(0), big * fac, scaled<Unit>(small_m * fac, l));
    }
};
/// silu(x) = x σ(x): swish with β = 1.
using silu = swish;

/// softsign(x) = x / (1 + |x|), ±1 at ±inf; f' = 1 / (1 + |x|)², nonzero while representable
/// (no overflow of (1 + |x|)²). Max error 2 ULP, f' 4 ULP.
struct softsign {
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        const T d = detail::splat<T>(1) + detail::abs(x);
        const T q = x / d;
        return detail::select(
            d == detail::splat<T>(std::numeric_limits<detail::scalar_t<T>>::infinity()),
            detail::or_sign(detail::splat<T>(1), x), q);
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        const T r = detail::splat<T>(1) / (detail::splat<T>(1) + detail::abs(x));
        return detail::nan_or(x, r * r);
    }
};

} // namespace xact

XACT_DIAGNOSTIC_POP
