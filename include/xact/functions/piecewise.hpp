// xact — piecewise-linear activations: identity, relu, relu6, leaky_relu, hardtanh,
// hard_sigmoid, hard_swish.
//
// Every functor is a small value type. Its members are templates over T = float, double or
// xsimd::batch<float|double, A>; one body serves the scalar and the SIMD path, which
// therefore agree bitwise. Common contract (spec.md §1):
//   - NaN in gives NaN out, for f and for every derivative;
//   - ±inf gives the mathematical limit;
//   - derivatives at kinks follow one convention, listed per function;
//   - double parameters are rounded once to the element type (as frameworks store them),
//     and results are then exact: bitwise equal to the formula evaluated in T.
#pragma once

#include "../detail/simd.hpp"

#include <cmath>
#include <limits>

XACT_DIAGNOSTIC_PUSH

namespace xact {

namespace detail {
/// 1/6 rounded to the element type.
template <class T>
XACT_INLINE T one_sixth() noexcept {
    return splat<T>(scalar_t<T>(1) / scalar_t<T>(6));
}

/// x > 0 ? x : a*x — the body of leaky_relu and of PReLU (a already in T). At x = -inf the
/// limit of a*x: ∓inf for a ≷ 0, and ∓0 for a = ±0 (where -inf * 0 would give NaN).
template <class T>
XACT_INLINE T leaky(const T& x, const T& a) noexcept {
    const T neg_inf = splat<T>(-std::numeric_limits<scalar_t<T>>::infinity());
    // Depends on a only: hoisted out of the array loops.
    const T at_neg_inf = detail::select(a == T(0), splat<T>(-0.0) * a, neg_inf * a);
    return detail::select(x > T(0), x, detail::select(x == neg_inf, at_neg_inf, x * a));
}

/// l < x < h ? v : 0, NaN for NaN: v + 0 x is v for finite x and NaN for NaN, and infinite x
/// lie outside (l <= h). On AVX-512 two compares and one zero-masked fma.
template <class T>
XACT_INLINE T step_between(const T& x, const T& l, const T& h, const T& v = T(1)) noexcept {
    return detail::select(detail::between_or_nan(x, l, h), x * T(0) + v, T(0));
}

/// detail::leaky(x, a) where a != 0: a * x is then the limit at x = -inf too.
template <class T>
XACT_INLINE T leaky_nonzero(const T& x, const T& a) noexcept {
    return detail::select(x > T(0), x, x * a);
}

/// x > 0 ? 1 : a (NaN for NaN) — the derivative of detail::leaky(x, a) in x.
template <class T>
XACT_INLINE T leaky_derivative(const T& x, const T& a) noexcept {
    return detail::positive_or(x, a);
}
} // namespace detail

/// f(x) = x; f'(x) = 1 (NaN for NaN). Exact.
struct identity {
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        return x;
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        return detail::nan_or(x, detail::splat<T>(1));
    }
    /// From y = x: 1 (NaN for NaN).
    template <class T>
    XACT_INLINE T derivative_from_output(T y) const noexcept {
        return derivative(y);
    }
};

/// f(x) = x > 0 ? x : +0 (relu(-0) = +0); f'(x) = x > 0 ? 1 : 0, so relu'(0) = 0. Exact.
struct relu {
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        // Not a SIMD max: max(x, 0) drops a NaN depending on the operand order.
        return detail::select(x <= T(0), T(0), x);
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        return detail::positive_or(x, T(0));
    }
    /// From y = relu(x): y > 0 ? 1 : 0.
    template <class T>
    XACT_INLINE T derivative_from_output(T y) const noexcept {
        return derivative(y);
    }
};

/// f(x) = min(max(x, 0), 6) (relu6(-0) = +0); f'(x) = 0 < x < 6 ? 1 : 0, so
/// relu6'(0) = relu6'(6) = 0. Exact.
struct relu6 {
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        // x <= 0 ? +0 : min(x, 6) with NaN kept: on AVX-512 one compare and one zero-masked
        // min (at_most puts x second, so vminps returns a NaN x).
        return detail::select(x <= T(0), T(0), detail::at_most(x, detail::splat<T>(6)));
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        return detail::step_between(x, T(0), detail::splat<T>(6));
    }
    /// From y = relu6(x): 0 < y < 6 ? 1 : 0.
    template <class T>
    XACT_INLINE T derivative_from_output(T y) const noexcept {
        return derivative(y);
    }
};

/// f(x) = x > 0 ? x : alpha*x (sign of zero kept); f'(x) = x > 0 ? 1 : alpha, so
/// leaky_relu'(0) = alpha. Exact: alpha is rounded to T, then x * alpha rounds once.
struct leaky_relu {
    double alpha = 0.01;

    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        // alpha != 0 (the usual case) needs no care at x = -inf. The test is the same for every
        // element, so the compiler hoists it out of the array loop (or the branch is predicted):
        // one compare and one blend less per vector (n = 4096: 133 -> 90 ns).
        const auto a = static_cast<detail::scalar_t<T>>(alpha);
        if (a != 0) return detail::leaky_nonzero(x, detail::splat<T>(a));
        return detail::leaky(x, detail::splat<T>(a));
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        return detail::leaky_derivative(x, detail::splat<T>(alpha));
    }
    /// From y = leaky_relu(x): y > 0 ? 1 : alpha. Needs alpha >= 0 (else the sign of y does
    /// not tell the side of the kink); the array calls check this.
    template <class T>
    XACT_INLINE T derivative_from_output(T y) const noexcept {
        return derivative(y);
    }
    /// alpha must be finite, also once rounded to the element type (checked once per array
    /// call): an infinite slope would give NaN for x = ±0 (0 * inf).
    void check() const {
        if (!(alpha - alpha == 0.0)) detail::invalid_argument("leaky_relu::alpha must be finite");
    }
    template <class T>
    void check_for() const {
        detail::check_param_in<T>(alpha, false, "leaky_relu::alpha: overflows the element type");
    }
    /// Precondition of backward_from_output, checked once per array call.
    void check_from_output() const {
        if (!(alpha >= 0.0))
            detail::invalid_argument("leaky_relu::alpha: backward_from_output needs alpha >= 0");
    }
};

/// f(x) = min(max(x, lo), hi) (sign of zero kept inside); f'(x) = lo < x < hi ? 1 : 0, so
/// hardtanh'(lo) = hardtanh'(hi) = 0. Exact. Needs lo <= hi (checked by the array calls).
struct hardtanh {
    double lo = -1.0;
    double hi = 1.0;

    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        // x < lo ? lo : x > hi ? hi : x (NaN kept): one max and one min with x second. Equal
        // to the two selects bitwise, signed zeros included, since lo <= hi.
        return detail::at_most(detail::at_least(x, detail::splat<T>(lo)), detail::splat<T>(hi));
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        return detail::step_between(x, detail::splat<T>(lo), detail::splat<T>(hi));
    }
    /// From y = hardtanh(x): lo < y < hi ? 1 : 0.
    template <class T>
    XACT_INLINE T derivative_from_output(T y) const noexcept {
        return derivative(y);
    }
    /// Parameters, checked once per array call.
    void check() const {
        if (!(lo <= hi)) detail::invalid_argument("hardtanh: needs lo <= hi (and neither NaN)");
    }
};

/// f(x) = min(max(x + 3, 0), 6) / 6: 0 for x <= -3, 1 for x >= 3; f'(x) = -3 < x < 3 ? 1/6 : 0,
/// so hard_sigmoid'(±3) = 0. Max error 1 ULP (measured 0.67 over all floats).
struct hard_sigmoid {
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        const T three = detail::splat<T>(3), c6 = detail::one_sixth<T>();
        // Below -1.5, x + 3 is exact (Sterbenz), leaving one rounding; above it the product
        // x * (1/6) is small against 1/2, whose addition rounds last.
        const T low = (x + three) * c6;
        const T high = detail::fma(x, c6, detail::splat<T>(0.5));
        const T mid = detail::select(x < detail::splat<T>(-1.5), low, high);
        // Clamped to [0, 1] by a max and a min that keep NaN: mid <= 0 exactly where x <= -3
        // (+0 at -3), and mid >= 1 for x >= 3 (c6 > 1/6) while mid <= 1 below 3.
        return detail::at_most(detail::at_least(mid, T(0)), detail::splat<T>(1));
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        return detail::step_between(x, detail::splat<T>(-3), detail::splat<T>(3),
                                    detail::one_sixth<T>());
    }
};

/// f(x) = x * min(max(x + 3, 0), 6) / 6: -0 for x <= -3 (the limit, also at -inf), x for
/// x >= 3 (no overflow: hard_swish(1e38) = 1e38); f'(x) = x < -3 ? 0 : x <= 3 ? x/3 + 1/2 : 1,
/// so hard_swish'(-3) = -1/2 and hard_swish'(3) = 3/2. f within 1 ULP (measured 0.50 over all
/// floats); f' correctly rounded (spec: exact piecewise).
struct hard_swish {
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        using S = detail::scalar_t<T>;
        const T three = detail::splat<T>(3), c6 = detail::one_sixth<T>();
        // x (x + 3) / 6 = x h with h = (x + 3) / 6 carried as hi + lo to about u^2: x + 3 =
        // t + t_err (Fast2Sum, |x| < 3 in the lanes kept), 1/6 = c6 + c6_lo, t c6 = h + h_err
        // exactly, and lo = h_err + t c6_lo + t_err c6 (small terms: their roundings are
        // negligible). Then x h + x lo rounds once: max 0.5 ULP + ε, also for subnormal x.
        const T c6_lo =
            detail::splat<T>(std::is_same_v<S, float> ? -0x1.555556p-28 : 0x1.5555555555555p-57);
        const T t = x + three;
        const T t_err = (three - t) + x;
        T h, h_err;
        detail::two_product(t, c6, h, h_err);
        const T lo = detail::fma(t_err, c6, detail::fma(t, c6_lo, h_err));
        const T m = detail::fma_exact_product(x, h, x * lo);
        // f has the sign of x in (-3, 3) (also where m underflows to a zero); m is +0 for
        // x = -0 where x lo is +0: or'ing x's sign bit in gives copysign(m, x).
        const T mid = detail::or_sign(m, x);
        const T neg_zero = detail::splat<T>(-0.0);
        return detail::select(x <= -three, neg_zero, detail::select(x >= three, x, mid));
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above); correctly rounded.
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        using S = detail::scalar_t<T>;
        const T three = detail::splat<T>(3), third = detail::splat<T>(S(1) / S(3));
        const T three_halves = detail::splat<T>(1.5);
        // (x + 3/2) / 3 correctly rounded, ties included (a plain 1/2 + x/3 is off by many ULP
        // where the result nears zero). x + 3/2 = a + e exactly, e = x - (a - 3/2): Fast2Sum
        // for |x| < 2 (no larger exponent than 3/2); for 2 <= |x| <= 3, a - 3/2 and the
        // difference are exact (Sterbenz). Then (a + e) / 3 = qa + (rem + e) / 3 with
        // rem = a - 3 qa exact, and rem + e exact. Both products are fmas with addend 0 so that
        // no -ffp-contract=fast can fuse one into the final sum (a fused form breaks ties).
        // Checked over every float in (-3, 3] and 3e7 doubles (3.7e6 of them exact ties) with
        // GCC's and Clang's -ffp-contract=fast and without, and on targets without FMA.
        const T a = x + three_halves;
        const T e = x - (a - three_halves);
        const T qa = detail::fma(a, third, T(0)); // a * third, but never contracted either
        const T w = detail::residual(a, qa, three) + e;
        const T mid = qa + detail::fma(w, third, T(0));
        // NaN x: mid is NaN and both compares false, so d is NaN without nan_or.
        return detail::select(x < -three, T(0),
                              detail::select(x > three, detail::splat<T>(1), mid));
    }
};

} // namespace xact

XACT_DIAGNOSTIC_POP
