// xact — gelu, exact (erf) form and tanh approximation, with derivatives from the input.
//
// Same contract as every functor (spec.md §1): members are templates over T = float, double or
// xsimd::batch<float|double, A>, one body for the scalar and the SIMD path (bitwise equal);
// NaN gives NaN for f and f'; no intermediate overflows: gelu(1e30) = 1e30, gelu(-1e30) = -0,
// gelu(+inf) = +inf, gelu(-inf) = -0, gelu(-0) = -0, f'(+inf) = 1, f'(-inf) = 0; results in
// the subnormal range are rounded once, never flushed.
#pragma once

#include "../detail/simd.hpp"
#include "../math/erfc.hpp"

#include <type_traits>

namespace xact {

namespace detail {

/// The Gaussian tail at a = min(|x|, A): Phi(-a) = e^-(h + l) G(a) with a^2 / 2 = h + l exact.
template <class T>
struct gelu_erf_parts {
    T a, g;
    math::detail::exp_neg_parts<T> e;
};

template <class T>
XACT_INLINE gelu_erf_parts<T> gelu_erf_tail(const T& x) noexcept {
    // Beyond A, f, f' and the tail below have underflowed to 0 (select keeps NaN).
    const T amax = splat<T>(std::is_same_v<scalar_t<T>, float> ? 15.0 : 39.5);
    gelu_erf_parts<T> p;
    const T ax = detail::abs(x);
    p.a = detail::select(ax > amax, amax, ax);
    T h, l;
    detail::two_product(p.a, p.a, h, l);
    p.e = math::detail::exp_neg(h * T(0.5), l * T(0.5)); // x / sqrt2 is never rounded
    p.g = math::detail::gauss_tail_ratio(p.a);
    return p;
}

/// The approximation's e^-|2u|, 2u = x (c1 + c3 x^2), c1 = 2 sqrt(2/pi), c3 = 0.044715 c1, at
/// x clamped to [-L, L] (beyond, f and f' are x and 1, or have underflowed to 0). 2u is carried
/// as a double-word, constants included: e^-|2u| has relative error |2u| times that of 2u.
template <class T>
struct gelu_tanh_parts {
    T xc, x2, e_small, d; // clamped x, x^2 (rounded), e^-|2u| with the exponent capped, 1 + that
    math::detail::exp_neg_parts<T> e;
};

template <class T>
XACT_INLINE gelu_tanh_parts<T> gelu_tanh_exp(const T& x) noexcept {
    constexpr bool f32 = std::is_same_v<scalar_t<T>, float>;
    const T lim = splat<T>(f32 ? 12.0 : 22.0);
    gelu_tanh_parts<T> p;
    p.xc = detail::select(x < -lim, -lim, detail::select(x > lim, lim, x));
    const T c1h = splat<T>(f32 ? 1.5957691669464111 : 1.5957691216057308);
    const T c1l = splat<T>(f32 ? -4.534068054340423e-08 : -9.96930880911092e-17);
    const T c3h = splat<T>(f32 ? 0.07135481387376785 : 0.07135481627260025);
    const T c3l = splat<T>(f32 ? 2.3988324659995897e-09 : -6.175149918155315e-19);
    T x2, x2e;
    detail::two_product(p.xc, p.xc, x2, x2e);
    // c3 x^2 = t + te exactly. With FMA, t comes from an fma, not a bare product that GCC could
    // fuse into the addition below in one code path only; without, nothing can be fused.
#if XACT_HAS_FMA
    const T t = detail::fma(c3h, x2, T(0));
    const T te = detail::fma(c3h, x2, -t);
#else
    T t, te;
    detail::two_product(c3h, x2, t, te);
#endif
    const T tl = detail::fma(c3h, x2e, detail::fma(c3l, x2, te)); // c3 x^2 = t + tl
    const T w = c1h + t;                                             // TwoSum: w + w_err
    const T bb = w - c1h;
    const T w_err = (c1h - (w - bb)) + (t - bb);
    const T wl = (w_err + tl) + c1l; // c1 + c3 x^2 = w + wl
    T u, ue;
    detail::two_product(p.xc, w, u, ue);
    ue = detail::fma(p.xc, wl, ue); // 2u = u + ue
    const auto neg = u < T(0);
    p.e = math::detail::exp_neg(detail::abs(u), detail::select(neg, -ue, ue));
    // e^-|2u| itself, only for 1 + e^-|2u| and terms added to 1: exponent capped at -120 /
    // -1000, far below where it still matters and within the normal range.
    const int_t<T> cap(f32 ? -120 : -1000);
    const T scale = detail::pow2i<T>(detail::select(p.e.n < cap, cap, p.e.n));
    p.e_small = (p.e.q + T(1)) * scale;
    p.d = detail::fma(p.e.q + T(1), scale, T(1)); // 1 + e_small, one explicit fma
    p.x2 = x2;
    return p;
}

} // namespace detail

/// GELU. approximate = false: f(x) = x Phi(x) = (x/2) erfc(-x/sqrt2), f'(x) = Phi(x) + x phi(x).
/// approximate = true: f(x) = (x/2)(1 + tanh(u)), u = sqrt(2/pi)(x + 0.044715 x^3), and its
/// exact derivative. Measured max error (float: every 61st bit pattern; double: 10^6 samples):
/// exact form f 4.0 / f' 4.1 ULP (worst for |x| < 0.01), tanh form f 2.6 / f' 5.3 ULP (worst
/// near x ~ -3.8 float, -5 double); f' in ULP of max(|f'|, |Phi|, |x phi|) (resp. |S|, |t|).
struct gelu {
    bool approximate = false;

    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        if (approximate) {
            // (x/2)(1 + tanh u) = x sigma(2u): x / (1 + e^-2u) for x >= 0, x e^2u / (1 + e^2u)
            // below (e^2u scaled in last, so a subnormal result is rounded once).
            const auto p = detail::gelu_tanh_exp(x);
            const T neg = math::detail::exp_neg_scale(p.xc, p.e).value();
            return detail::select(x < T(0), neg, x) / p.d;
        }
        // x >= 0: x - x Phi(-x); x < 0: x Phi(x) = -(a G(a)) e^-(x^2/2).
        const auto p = detail::gelu_erf_tail(x);
        const auto w = math::detail::exp_neg_scale(p.g * p.a, p.e);
        return detail::select(x < T(0), w.neg_value(), w.minus(x));
    }

    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        if (approximate) {
            // f' = S + x S (1 - S) 2u', S = sigma(2u), 2u' = c1 + 3 c3 x^2; with E = e^-|2u| and
            // d = 1 + E: x >= 0: (d + x 2u' E) / d^2; x < 0: E (d + x 2u') / d^2 (E scaled last).
            const auto p = detail::gelu_tanh_exp(x);
            constexpr bool f32 = std::is_same_v<detail::scalar_t<T>, float>;
            const T d2u = detail::fma(detail::splat<T>(f32 ? 0.21406444907188416 : 0.21406444881780073),
                                      p.x2, detail::splat<T>(f32 ? 1.5957691669464111 : 1.5957691216057308));
            const auto neg = x < T(0);
            const T z = detail::fma(p.xc * d2u, detail::select(neg, T(1), p.e_small), p.d) / (p.d * p.d);
            return detail::select(neg, math::detail::exp_neg_scale(z, p.e).value(), z);
        }
        // x < 0: Phi(x) + x phi(x) = e^-(x^2/2) (G(a) - a / sqrt(2 pi)); x >= 0: 1 minus that.
        const auto p = detail::gelu_erf_tail(x);
        const T d = detail::fma(-p.a, detail::splat<T>(0.3989422804014327), p.g);
        const auto v = math::detail::exp_neg_scale(d, p.e);
        return detail::select(x < T(0), v.value(), v.minus(T(1)));
    }
};

} // namespace xact
