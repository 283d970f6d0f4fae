// xact — elu, selu and celu: x for x > 0, a scaled expm1 below (one body for scalars and
// batches). Parameters are rounded to T once; selu's constants are carried as double-words
// so that their own rounding adds no error.
#pragma once

#include "../detail/simd.hpp"
#include "../math/exp.hpp"

#include <cmath>
#include <limits>

XACT_DIAGNOSTIC_PUSH

namespace xact {

/// elu(x) = x > 0 ? x : α expm1(x) (elu(-0) = -0, elu(-inf) = -α); f' = x > 0 ? 1 : α e^x, so
/// elu'(0) = α; from the output: y > 0 ? 1 : y + α. Max error 2 ULP (expm1 plus one rounding),
/// for every finite α (f' = α e^x formed without overflow or a premature 0).
struct elu {
    double alpha = 1.0;

    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        if (alpha == 1.0) return value<1>(x, alpha);
        if (alpha > 0.0) return value<2>(x, alpha);
        return value<0>(x, alpha);
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        // α e^x = (α_m m) 2^(n + α_e) with α = α_m 2^α_e, α_m in [1, 2) (split once, hoisted
        // out of the loop), so that the product cannot overflow where α e^x does not (α = 3e38,
        // x = -0.4) and a subnormal α loses no bits; the scaling comes last. x is first raised
        // to where 2^(n + α_e) < 2^-247 (float) / 2^-1989 (double), below which α e^x is 0
        // anyway: n + α_e stays in scale2's reach, and the deep reduction (x down to -200 /
        // -1500) covers the largest α (α = 1e20, x = -inf gave 2^-149 with a clamp at -150).
        using S = detail::scalar_t<T>;
        using I = detail::int_t<T>;
        constexpr bool f32 = std::is_same_v<S, float>;
        int a_e = 0;
        const S a_m = detail::split_exponent(static_cast<S>(alpha), a_e);
        const S x_floor = S((f32 ? -248 : -1990) - a_e) * S(0.693147180559945309);
        const auto e = math::detail::exp_parts_of<T, false, true>(
            detail::at_least(x, detail::splat<T>(x_floor)));
        const T v = detail::scale2(detail::splat<T>(a_m) * e.hi, e.n + I(a_e));
        return detail::select(x > T(0), detail::splat<T>(1), v);
    }
    /// From y = elu(x): y > 0 ? 1 : y + α. Needs α >= 0 (else y > 0 does not mean x > 0).
    template <class T>
    XACT_INLINE T derivative_from_output(T y) const noexcept {
        return detail::select(y > T(0), detail::splat<T>(1), y + detail::splat<T>(alpha));
    }
    /// For the array calls (algorithm.hpp): fn with the form of f for this α (1, > 0, other),
    /// so that a loop holds one.
    template <class Fn>
    void specialize(Fn&& fn) const {
        if (alpha == 1.0)
            fn(form<1>{alpha});
        else if (alpha > 0.0)
            fn(form<2>{alpha});
        else
            fn(form<0>{alpha});
    }
    /// α must be finite, also once rounded to the element type (checked once per array call).
    void check() const {
        if (!(alpha - alpha == 0.0)) detail::invalid_argument("elu::alpha must be finite");
    }
    template <class T>
    void check_for() const {
        detail::check_param_in<T>(alpha, false, "elu::alpha: overflows the element type");
    }
    /// Precondition of backward_from_output.
    void check_from_output() const {
        if (!(alpha >= 0.0))
            detail::invalid_argument("elu::alpha: backward_from_output needs alpha >= 0");
    }

  private:
    /// f for α = 1 (Form 1), α > 0 (2) or any other α (0). x > 0 lanes are discarded:
    /// expm1's x > 0 form is not needed (bitwise the same). For α > 0, α expm1(±0) = ±0 = x,
    /// so the zeros take the x side too.
    template <int Form, class T>
    XACT_INLINE static T value(const T& x, double alpha) noexcept {
        if constexpr (Form == 1)
            return detail::select(x >= T(0), x, math::detail::expm1_negative(x));
        else if constexpr (Form == 2)
            return detail::select(x >= T(0), x,
                                  detail::splat<T>(alpha) * math::detail::expm1_negative(x));
        else
            return detail::select(x > T(0), x,
                                  detail::splat<T>(alpha) * math::detail::expm1_nonpositive(x));
    }
    /// One form of f; the derivatives are elu's own.
    template <int Form>
    struct form {
        double alpha;
        template <class T>
        XACT_INLINE T operator()(T x) const noexcept {
            return value<Form>(x, alpha);
        }
        template <class T>
        XACT_INLINE T derivative(T x) const noexcept {
            return elu{alpha}.derivative(x);
        }
        template <class T>
        XACT_INLINE T derivative_from_output(T y) const noexcept {
            return elu{alpha}.derivative_from_output(y);
        }
    };
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
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        return detail::select(x > T(0), times(x, lambda_hi, lambda_lo),
                              times(math::detail::expm1_nonpositive(x), la_hi, la_lo));
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        using S = detail::scalar_t<T>;
        const auto e = math::detail::exp_parts_of(x); // λα e^x = λα m 2^n, scaled last
        return detail::select(x > T(0), detail::splat<T>(static_cast<S>(lambda_hi)),
                              detail::scale2(times(e.hi, la_hi, la_lo), e.n));
    }
};

/// celu(x) = x > 0 ? x : α expm1(x / α); f' = x > 0 ? 1 : e^(x/α), so celu'(0) = 1.
/// α != 0 and finite (checked once per array call). x / α is carried as a double-word: its
/// rounding alone, magnified by e^(x/α), would cost |x/α| / 2 ULP in the tail of f'.
/// Max error 2 ULP, f' 4 ULP.
struct celu {
    double alpha = 1.0;

  private:
    /// Where |α| < 2^-80 (2^-900) the residual of x / α and the product by α lose their low
    /// bits below the subnormal range (f' 32 ULP off for α = 1e-40 with FMA, 250 ULP without;
    /// f 2.4 ULP without FMA): there x and α are scaled by 2^64 (2^600) first, exactly. This
    /// scale (1 otherwise) is a per-call constant: no branch in the loop.
    template <class S>
    XACT_INLINE static S tiny_scale(double alpha) noexcept {
        const S a = static_cast<S>(alpha);
        constexpr bool f32 = std::is_same_v<S, float>;
        return std::abs(a) < (f32 ? S(0x1p-80) : S(0x1p-900)) ? (f32 ? S(0x1p64) : S(0x1p600))
                                                              : S(1);
    }

    /// z + z_lo = x / α (z_lo: the rounding error of the quotient, to first order); the
    /// residual is formed from x and α times up = tiny_scale (exact).
    template <class T>
    XACT_INLINE static void quotient(const T& x, const T& a, const T& up, T& z, T& z_lo) noexcept {
        using S = detail::scalar_t<T>;
        z = x / a;
        // The residual x - z α is exact. Beyond |z| = 200 (float) or 1500 (double) e^z is 0
        // or overflows whatever z_lo is (and x / α or x up may have overflowed),
        // so it is dropped.
        const T lim = detail::splat<T>(std::is_same_v<S, float> ? 200.0 : 1500.0);
#if XACT_HAS_FMA
        const T as = a * up;
        const T zl = detail::residual(x * up, z, as) / as;
#else
        // Dekker's product in the residual overflows beyond 2^100: there x and α are scaled
        // by 2^-40 first (exact: both are far from the subnormal range where it matters).
        const T big = detail::splat<T>(0x1p100);
        const T s = detail::select((detail::abs(x) < big) & (detail::abs(a) < big), up,
                                   detail::splat<T>(0x1p-40));
        const T as = a * s;
        const T zl = detail::residual(x * s, z, as) / as;
#endif
        z_lo = detail::select(detail::abs(z) < lim, zl, T(0));
    }

    /// α expm1(x / α) for x <= 0, with z + z_lo = x / α (up = tiny_scale, down = 1 / up). With
    /// `negative_z` (α > 0) only the z <= 0 form of expm1 is computed: the x > 0 lanes are
    /// discarded.
    template <bool negative_z, class T>
    XACT_INLINE static T scaled_expm1(const T& x, const T& a, const T& up, const T& down, T& z,
                                      T& z_lo) noexcept {
        quotient(x, a, up, z, z_lo);
        // α (expm1(z) + e^z z_lo), rounded once after expm1; no correction where expm1
        // overflowed (inf z_lo could be NaN).
        T em1;
        if constexpr (negative_z)
            em1 = math::detail::expm1_nonpositive(z);
        else
            em1 = math::expm1(z);
        const T c =
            detail::select(em1 <= detail::splat<T>(std::numeric_limits<detail::scalar_t<T>>::max()),
                           detail::fma(em1, z_lo, z_lo), T(0));
        T ac = a * c;
        // α < 0 near the top of the range: α c alone may overflow (with the sign of -z_lo) where
        // α expm1(z) does too; then α expm1(z) alone gives the right infinity (α = -1e300,
        // z = 67: +inf or NaN otherwise). For α > 0, |α c| <= |x| u stays finite.
        if constexpr (!negative_z)
            ac = detail::select(
                detail::abs(ac) <=
                    detail::splat<T>(std::numeric_limits<detail::scalar_t<T>>::max()),
                ac, T(0));
        T y;
        if constexpr (!XACT_HAS_FMA) { // Dekker's low parts of α em1 would underflow at tiny α
            y = detail::fma_exact_product(a * up, em1, ac * up) * down;
        } else {
            y = detail::fma_exact_product(a, em1, ac);
        }
        // |x/α| tiny: α expm1(x/α) = x (1 + x/2α + …) rounds to x (x/α may even underflow).
        const T tiny =
            detail::splat<T>(std::is_same_v<detail::scalar_t<T>, float> ? 0x1p-30 : 0x1p-60);
        return detail::select(detail::abs(z) < tiny, x, y);
    }

  public:
    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        using S = detail::scalar_t<T>;
        const T a = detail::splat<T>(alpha);
        const S sc = tiny_scale<S>(alpha);
        const T up = detail::splat<T>(sc), down = detail::splat<T>(S(1) / sc);
        T z, z_lo;
        // α > 0 (the usual case; a per-call constant the compiler hoists): the lanes kept have
        // z = x / α <= 0, so neither expm1's z > 0 form nor the large-z path below is needed.
        if (detail::scalar_t<T>(alpha) > 0)
            return detail::select(x > T(0), x, scaled_expm1<true>(x, a, up, down, z, z_lo));
        const T neg = scaled_expm1<false>(x, a, up, down, z, z_lo);
        // α < 0 and z = x/α large: α expm1(z) = α e^z within e^-z < u^2, formed as
        // α_m m 2^(n + α_e) (α = α_m 2^α_e, α_m in [1, 2)) and scaled last, since e^z alone
        // overflows where α e^z may not (α = -0.0364, x = -3.25).
        using I = detail::int_t<T>;
        constexpr bool f32 = std::is_same_v<S, float>;
        int a_e = 0;
        const S a_m = detail::split_exponent(static_cast<S>(alpha), a_e);
        const auto big = z > detail::splat<T>(f32 ? 40.0 : 80.0);
        const auto e = math::detail::exp_parts_of<T, false, true>(detail::select(big, z, T(0)));
        const I lim(f32 ? 250 : 2000);
        I n = e.n + I(a_e);
        n = detail::select(n > lim, lim, n);
        const T y_big =
            detail::scale2(detail::splat<T>(a_m) * (e.hi + detail::fma(e.hi, z_lo, e.lo)), n);
        const T neg_big = detail::select(big, y_big, neg);
        return detail::select(x > T(0), x, neg_big);
    }
    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        T z, z_lo;
        const T up = detail::splat<T>(tiny_scale<detail::scalar_t<T>>(alpha));
        quotient(x, detail::splat<T>(alpha), up, z, z_lo);
        const auto e = math::detail::exp_parts_of(z); // e^(z + z_lo) = (hi + lo)(1 + z_lo) 2^n
        const T v = detail::scale2(e.hi + detail::fma(e.hi, z_lo, e.lo), e.n);
        return detail::select(x > T(0), detail::splat<T>(1), v);
    }
    /// Parameters, checked once per array call: alpha finite and nonzero, also once rounded
    /// to the element type.
    void check() const {
        if (!(alpha - alpha == 0.0) || alpha == 0.0)
            detail::invalid_argument("celu::alpha must be finite and nonzero");
    }
    template <class T>
    void check_for() const {
        detail::check_param_in<T>(alpha, true,
                                  "celu::alpha: rounds to 0 or infinity in the element type");
    }
};

} // namespace xact

XACT_DIAGNOSTIC_POP
