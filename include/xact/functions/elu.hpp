// xact — elu, selu and celu: x for x > 0, a scaled expm1 below (one body for scalars and
// batches). Parameters are rounded to T once; selu's constants are carried as double-words
// so that their own rounding adds no error.
#pragma once

#include "../detail/simd.hpp"
#include "../math/exp.hpp"

#include <limits>

namespace xact {

/// elu(x) = x > 0 ? x : α expm1(x) (elu(-0) = -0, elu(-inf) = -α); f' = x > 0 ? 1 : α e^x, so
/// elu'(0) = α; from the output: y > 0 ? 1 : y + α. Max error 2 ULP (expm1 plus one rounding).
struct elu {
    double alpha = 1.0;

    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        return detail::select(x > T(0), x, detail::splat<T>(alpha) * math::expm1(x));
    }
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        // α e^x = α m 2^n, scaled last: one rounding even for subnormal results.
        const auto e = math::detail::exp_parts_of(x);
        const T v = detail::scale2(detail::splat<T>(alpha) * (e.hi + e.lo), e.n);
        return detail::select(x > T(0), detail::splat<T>(1), v);
    }
    /// From y = elu(x): y > 0 ? 1 : y + α. Needs α >= 0 (else y > 0 does not mean x > 0).
    template <class T>
    XACT_INLINE T derivative_from_output(T y) const noexcept {
        return detail::select(y > T(0), detail::splat<T>(1), y + detail::splat<T>(alpha));
    }
    /// α must be finite (checked once per array call).
    void check() const {
        if (!(alpha - alpha == 0.0)) detail::invalid_argument("elu::alpha must be finite");
    }
    /// Precondition of backward_from_output.
    void check_from_output() const {
        if (!(alpha >= 0.0))
            detail::invalid_argument("elu::alpha: backward_from_output needs alpha >= 0");
    }
};

/// selu(x) = λ elu(x, α) with α = 1.6732632423543772848, λ = 1.0507009873554804934;
/// f' = x > 0 ? λ : λα e^x (selu'(0) = λα). selu(-inf) = -λα, selu(-0) = -0. Max error 2 ULP.
struct selu {
  private:
    // λ and λα as hi + lo pairs in T: the products below round once.
    template <class T>
    XACT_INLINE static T times(const T& v, double hi_d, double lo_d) noexcept {
        using S = detail::scalar_t<T>;
        const S hi = static_cast<S>(hi_d);
        const S lo = static_cast<S>((hi_d - static_cast<double>(hi)) + lo_d);
        // The low term is dropped for infinite v (lo * inf could be -inf against +inf).
        const T v_lo = detail::select(
            detail::abs(v) <= detail::splat<T>(std::numeric_limits<S>::max()), v, T(0));
        return detail::fma(detail::splat<T>(hi), v, detail::splat<T>(lo) * v_lo);
    }
    // λ = 1.0507009873554804934193349852946, λα = 1.7580993408473768599402175208123,
    // each as a double plus the double of its remainder.
    static constexpr double lambda_hi = 1.0507009873554805, lambda_lo = 3.9874847667154144e-17;
    static constexpr double la_hi = 1.7580993408473768, la_lo = 1.41535193800845e-17;

  public:
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        return detail::select(x > T(0), times(x, lambda_hi, lambda_lo),
                              times(math::expm1(x), la_hi, la_lo));
    }
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        using S = detail::scalar_t<T>;
        const auto e = math::detail::exp_parts_of(x); // λα e^x = λα m 2^n, scaled last
        return detail::select(x > T(0), detail::splat<T>(static_cast<S>(lambda_hi)),
                              detail::scale2(times(e.hi + e.lo, la_hi, la_lo), e.n));
    }
};

/// celu(x) = x > 0 ? x : α expm1(x / α); f' = x > 0 ? 1 : e^(x/α), so celu'(0) = 1.
/// α != 0 and finite (checked once per array call). Max error 2 ULP.
struct celu {
    double alpha = 1.0;

    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        const T a = detail::splat<T>(alpha);
        const T z = x / a;
        // |x/α| tiny: α expm1(x/α) = x (1 + x/2α + …) rounds to x (x/α may even underflow).
        const T tiny =
            detail::splat<T>(std::is_same_v<detail::scalar_t<T>, float> ? 0x1p-30 : 0x1p-60);
        const T neg = detail::select(detail::abs(z) < tiny, x, a * math::expm1(z));
        return detail::select(x > T(0), x, neg);
    }
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        const T e = math::exp(x / detail::splat<T>(alpha));
        return detail::select(x > T(0), detail::splat<T>(1), e);
    }
    void check() const {
        if (!(alpha - alpha == 0.0) || alpha == 0.0)
            detail::invalid_argument("celu::alpha must be finite and nonzero");
    }
};

} // namespace xact
