// Tests of the transcendental activations (spec.md §1 and §3): sigmoid, tanh, swish/silu, elu,
// selu, celu, gelu (erf form and tanh approximation), softplus, mish, softsign, log_sigmoid,
// and the math functions they are built on (xact::math::exp, expm1, log1p, erfc).
//
// References. Every expected value comes from a formula written here, independently of the
// kernels: in long double (64-bit significand) for float, and in __float128 (libquadmath,
// 113 bits) for double. Without libquadmath (XACT_TEST_QUADMATH undefined: not GCC, or the
// library is missing) the double accuracy checks are skipped with a WARN; every other double
// check still runs. The formulas are chosen to stay accurate in the tails (no 1 - tanh^2, no
// 1 + tanh(u) near -1): sigmoid = 1/(1+e^-x), sigmoid' = t/(1+t)^2 with t = e^-|x|,
// tanh' = 4t/(1+t)^2 with t = e^-2|x|, gelu = (x/2) erfc(-x/sqrt2), gelu_tanh = x sigma(2u),
// softplus = z + log1p(e^-z) for z > 0, mish = x tanh(softplus(x)). A double parameter is
// rounded to T once (as xact documents), then used exactly.
//
// Error measure. spec.md §3: |y - r| in ULP of the reference r in T, floored at the smallest
// subnormal (so "subnormal results within 1 subnormal ULP" is the same measure). A NaN
// mismatch, a wrong infinity, or an exact zero where T(r) is nonzero (a flushed subnormal) is
// an infinite error. Function values (not derivatives) must also return the sign of zero of
// the rounded reference: -0 where the true value is a negative number that rounds to zero
// (silu(-1e30) = -0, log_sigmoid(+inf) = -0), and f(-0) = -0 for the odd functions.
//
// Absolute floor near zeros of f'. swish', gelu', gelu_tanh' and mish' cross zero (near
// x = -1.278/beta, -0.752, -0.752 and -1.192); there the result is a difference of two terms
// of size ~0.2 - 0.6 and a relative bound is meaningless. For those four derivatives the error
// is measured in ULP of max(|r|, m(x)) where m(x) is the magnitude of the larger of the two
// terms of the derivative formula (documented at each reference: e.g. gelu' = Phi(x) + x phi(x),
// m = max(Phi(x), |x| phi(x))). Away from the zero the two terms do not cancel, m(x) is within
// a small factor of |r| and the bound is essentially relative, tails included.
//
// Bounds (spec.md §3): 2 ULP for sigmoid, tanh, swish, elu, selu, celu, softplus, log_sigmoid,
// softsign; 4 ULP for gelu (both forms) and mish; 4 ULP for every derivative from the input;
// 1 ULP for math::exp, expm1, log1p, 2 ULP for math::erfc (float and double). The from-output
// derivatives (sigmoid y(1-y), tanh 1-y^2, elu y+alpha) are checked against the exact formula
// evaluated at the given y (they cannot be better than y): within 2 ULP.
//
// Inputs, kept small so that the suite runs in seconds per instruction set: float — a grid of
// step 1/128 on [-110, 110], every 4099th bit pattern, magnitudes 10^(k/8), both signs,
// subnormals included, neighbours of the overflow/underflow thresholds, a dense sample around
// the zeros of the derivatives, special values; double — ~10^5 values: a grid of step 1/64 on
// [-110, 110], uniform samples on [-40, 40] and [-800, 800], random bit patterns, magnitudes,
// thresholds, special values. Functors with non-default parameters (swish{1.5}, elu{0.1}, ...)
// run on every third of those inputs. Nothing is ever compared with the kernel under test except
// the SIMD/scalar and array/scalar identities.
#include "catch.hpp"
#include "reference.hpp"
#include "wide.hpp"

#include <xact/xact.hpp>

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using xact_test::bits;
using xact_test::same;
using namespace xact_test::wide;

/// Constants in R, from decimal strings (no non-standard literal suffixes).
template <class R>
struct K {
    static R pi() {
        static const R v = rm::parse(R(0), "3.14159265358979323846264338327950288419716939937510");
        return v;
    }
    static R sqrt2() {
        static const R v = rm::sqrt(R(2));
        return v;
    }
    static R inv_sqrt_2pi() { // 1/sqrt(2 pi)
        static const R v = R(1) / rm::sqrt(2 * pi());
        return v;
    }
    static R sqrt_2_over_pi() { // sqrt(2/pi), gelu tanh approximation
        static const R v = rm::sqrt(2 / pi());
        return v;
    }
    static R gelu_k() { // 0.044715, gelu tanh approximation
        static const R v = rm::parse(R(0), "0.044715");
        return v;
    }
    static R selu_alpha() {
        static const R v = rm::parse(R(0), "1.6732632423543772848170429916717");
        return v;
    }
    static R selu_lambda() {
        static const R v = rm::parse(R(0), "1.0507009873554804934193349852946");
        return v;
    }
};

// ---------------------------------------------------------------- reference formulas
// x is the T input converted exactly to R; parameters are T values converted exactly to R.

template <class R>
R r_sigmoid(R x) { // 1/(1+e^-x): relative accuracy everywhere (e^-x never cancels)
    return 1 / (1 + rm::exp(-x));
}
template <class R>
R r_sigmoid_d(R x) { // sigma(x) sigma(-x) = t/(1+t)^2, t = e^-|x|
    const R t = rm::exp(-rm::fabs(x));
    return t / ((1 + t) * (1 + t));
}
template <class R>
R r_tanh(R x) {
    return rm::tanh(x);
}
template <class R>
R r_tanh_d(R x) { // 1 - tanh^2 = 4t/(1+t)^2, t = e^-2|x|
    const R t = rm::exp(-2 * rm::fabs(x));
    return 4 * t / ((1 + t) * (1 + t));
}

/// swish(x) = x sigma(bx). z = b x is exact in R (24+24 <= 64, 53+53 <= 113 bits).
template <class R>
R r_swish(R x, R b) {
    if (rm::isnan(x)) return x;
    if (rm::isinf(x)) { // limit of x sigma(bx)
        const R z = b * x;
        if (b == 0) return x / 2;
        return z > 0 ? x : (x > 0 ? R(0) : -R(0));
    }
    return x / (1 + rm::exp(-(b * x)));
}
/// swish'(x) = sigma(z) + z sigma(z) sigma(-z), z = b x; m(x) = max(sigma(z), |z| sigma(z)
/// sigma(-z)).
template <class R>
R r_swish_d(R x, R b) {
    if (rm::isnan(x)) return x;
    if (b == 0) return R(1) / 2;
    const R z = b * x;
    if (rm::isinf(z)) return z > 0 ? R(1) : R(0);
    const R s = 1 / (1 + rm::exp(-z)), sm = 1 / (1 + rm::exp(z));
    return s * (1 + z * sm);
}
template <class R>
R r_swish_d_scale(R x, R b) {
    if (rm::isnan(x) || rm::isinf(x) || b == 0) return R(0);
    const R z = b * x;
    const R s = 1 / (1 + rm::exp(-z)), sm = 1 / (1 + rm::exp(z));
    return rm::max(s, rm::fabs(z) * s * sm);
}

template <class R>
R r_elu(R x, R a) {
    return x > 0 ? x : a * rm::expm1(x);
}
template <class R>
R r_elu_d(R x, R a) {
    return x > 0 ? R(1) : a * rm::exp(x);
}
template <class R>
R r_selu(R x) {
    return K<R>::selu_lambda() * r_elu(x, K<R>::selu_alpha());
}
template <class R>
R r_selu_d(R x) {
    return K<R>::selu_lambda() * r_elu_d(x, K<R>::selu_alpha());
}
template <class R>
R r_celu(R x, R a) {
    return x > 0 ? x : a * rm::expm1(x / a);
}
template <class R>
R r_celu_d(R x, R a) {
    return x > 0 ? R(1) : rm::exp(x / a);
}

/// gelu(x) = x Phi(x) = (x/2) erfc(-x/sqrt2).
template <class R>
R r_gelu(R x) {
    if (rm::isinf(x)) return x > 0 ? x : -R(0);
    return x / 2 * rm::erfc(-x / K<R>::sqrt2());
}
/// gelu'(x) = Phi(x) + x phi(x); m(x) = max(Phi(x), |x| phi(x)).
template <class R>
R r_gelu_d(R x) {
    if (rm::isinf(x)) return x > 0 ? R(1) : R(0);
    return rm::erfc(-x / K<R>::sqrt2()) / 2 + x * K<R>::inv_sqrt_2pi() * rm::exp(-(x * x) / 2);
}
template <class R>
R r_gelu_d_scale(R x) {
    if (rm::isnan(x) || rm::isinf(x)) return R(0);
    return rm::max(rm::erfc(-x / K<R>::sqrt2()) / 2,
                   rm::fabs(x) * K<R>::inv_sqrt_2pi() * rm::exp(-(x * x) / 2));
}

/// gelu, tanh form: (x/2)(1 + tanh(u)) = x sigma(2u), u = sqrt(2/pi) (x + 0.044715 x^3), with
/// the constants exact (in R), not rounded to T.
template <class R>
R gelu_u(R x) {
    return K<R>::sqrt_2_over_pi() * (x + K<R>::gelu_k() * x * x * x);
}
template <class R>
R r_gelu_tanh(R x) {
    if (rm::isinf(x)) return x > 0 ? x : -R(0);
    return x / (1 + rm::exp(-2 * gelu_u(x)));
}
/// d/dx x sigma(2u) = s + 2 x u' s sm, s = sigma(2u), sm = sigma(-2u),
/// u' = sqrt(2/pi)(1 + 3 * 0.044715 x^2); m(x) = max(s, |2 x u'| s sm).
template <class R>
R r_gelu_tanh_d(R x) {
    if (rm::isinf(x)) return x > 0 ? R(1) : R(0);
    const R u = gelu_u(x);
    const R s = 1 / (1 + rm::exp(-2 * u)), sm = 1 / (1 + rm::exp(2 * u));
    const R du = K<R>::sqrt_2_over_pi() * (1 + 3 * K<R>::gelu_k() * x * x);
    return s * (1 + 2 * x * du * sm);
}
template <class R>
R r_gelu_tanh_d_scale(R x) {
    if (rm::isnan(x) || rm::isinf(x)) return R(0);
    const R u = gelu_u(x);
    const R s = 1 / (1 + rm::exp(-2 * u)), sm = 1 / (1 + rm::exp(2 * u));
    const R du = K<R>::sqrt_2_over_pi() * (1 + 3 * K<R>::gelu_k() * x * x);
    return rm::max(s, rm::fabs(2 * x * du) * s * sm);
}

/// log(1 + e^z) without cancellation or overflow.
template <class R>
R log1pexp(R z) {
    return z > 0 ? z + rm::log1p(rm::exp(-z)) : rm::log1p(rm::exp(z));
}
/// softplus(x) = log1p(e^(bx)) / b, b > 0.
template <class R>
R r_softplus(R x, R b) {
    return log1pexp(b * x) / b;
}
template <class R>
R r_softplus_d(R x, R b) {
    return 1 / (1 + rm::exp(-(b * x)));
}

/// mish(x) = x tanh(softplus(x)).
template <class R>
R r_mish(R x) {
    if (rm::isinf(x)) return x > 0 ? x : -R(0);
    return x * rm::tanh(log1pexp(x));
}
/// mish'(x) = tanh(sp) + x sech^2(sp) sigma(x); m(x) = max(tanh(sp), |x| sech^2(sp) sigma(x)).
template <class R>
R r_mish_d(R x) {
    if (rm::isinf(x)) return x > 0 ? R(1) : R(0);
    const R th = rm::tanh(log1pexp(x));
    return th + x * ((1 - th) * (1 + th)) * r_sigmoid(x);
}
template <class R>
R r_mish_d_scale(R x) {
    if (rm::isnan(x) || rm::isinf(x)) return R(0);
    const R th = rm::tanh(log1pexp(x));
    return rm::max(th, rm::fabs(x) * ((1 - th) * (1 + th)) * r_sigmoid(x));
}

template <class R>
R r_softsign(R x) {
    if (rm::isinf(x)) return x > 0 ? R(1) : R(-1);
    return x / (1 + rm::fabs(x));
}
template <class R>
R r_softsign_d(R x) {
    const R d = 1 + rm::fabs(x);
    return 1 / (d * d);
}

/// log_sigmoid(x) = -softplus(-x).
template <class R>
R r_log_sigmoid(R x) {
    return x < 0 ? x - rm::log1p(rm::exp(x)) : -rm::log1p(rm::exp(-x));
}
template <class R>
R r_log_sigmoid_d(R x) {
    return 1 / (1 + rm::exp(x));
}

// From the output y (a T value, exact in R).
template <class R>
R r_sigmoid_dy(R y) {
    return y * (1 - y);
}
template <class R>
R r_tanh_dy(R y) {
    return (1 - y) * (1 + y);
}
template <class R>
R r_elu_dy(R y, R a) {
    return y > 0 ? R(1) : y + a;
}

// ---------------------------------------------------------------- error measure

/// One ULP of the magnitude m >= 0 in T (spec.md §3), as an R value (a power of two).
template <class T, class R>
R ulp_in(R m) {
    constexpr int p = std::numeric_limits<T>::digits;
    constexpr int e_tiny = std::numeric_limits<T>::min_exponent - p; // exponent of denorm_min
    if (m == 0 || !(m == m) || rm::isinf(m)) return rm::ldexp(R(1), e_tiny);
    int e = 0;
    rm::frexp(m, &e);
    return rm::ldexp(R(1), std::max(e - p, e_tiny));
}

/// Error of y against the reference r, in ULP of max(|r|, floor) in T; infinite for a NaN
/// mismatch, a wrong or missing infinity, a zero where T(r) is nonzero, and (when zero_sign)
/// a zero whose sign differs from that of the rounded reference.
template <class T, class R>
double ulp_error(T y, R r, R floor, bool zero_sign) {
    const double inf = std::numeric_limits<double>::infinity();
    if (rm::isnan(r)) return std::isnan(y) ? 0.0 : inf;
    if (std::isnan(y)) return inf;
    const T rt = static_cast<T>(r);
    if (std::isinf(rt) || std::isinf(y)) return (y == rt) ? 0.0 : inf;
    if (y == 0 && rt != 0) return inf;
    if (zero_sign && y == 0 && rt == 0 && std::signbit(y) != std::signbit(rt)) return inf;
    const R m = rm::max(rm::fabs(r), floor);
    const R diff = rm::fabs(static_cast<R>(y) - r);
    return static_cast<double>(diff / ulp_in<T>(m));
}

// ---------------------------------------------------------------- checks

template <class T>
const char* type_name() {
    return std::is_same_v<T, float> ? "float" : "double";
}

/// One member of one functor (or one math function): its scalar and SIMD calls, its reference,
/// its bound, and (for derivatives that cross zero) the scale of its terms.
template <class T>
struct check {
    using B = xsimd::batch<T>;
    using R = ref_t<T>;
    std::string name;
    double bound;
    bool is_value; // a function value: the sign of a zero result is checked
    std::function<T(T)> scalar;
    std::function<B(const B&)> simd;
    std::function<R(R)> ref;
    std::function<R(R)> scale; // empty: relative error
    bool reduced = false;      // non-default parameters: every 3rd input only (run time)
};

template <class T, class G, class Ref>
check<T> make_check(std::string name, double bound, bool is_value, G g, Ref r,
                    std::function<ref_t<T>(ref_t<T>)> scale = {}) {
    using B = xsimd::batch<T>;
    return {std::move(name),
            bound,
            is_value,
            [g](T x) { return g(x); },
            [g](const B& x) { return g(x); },
            std::function<ref_t<T>(ref_t<T>)>(r),
            std::move(scale)};
}

std::string pname(const char* f, double a) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s{%g}", f, a);
    return buf;
}

const double swish_betas[] = {1.5, 0.1, -0.75};
const double elu_alphas[] = {1.0, 0.1, 2.5, -0.5};
const double celu_alphas[] = {1.0, 0.5, 3.0, -1.5};
const double softplus_betas[] = {1.0, 2.0, 0.3};

constexpr double value_bound = 2, value_bound_wide = 4, deriv_bound = 4;

/// Every functor member and math function under test, for element type T.
template <class T>
std::vector<check<T>> all_checks() {
    using R = ref_t<T>;
    std::vector<check<T>> c;
    const auto add = [&c](std::string name, double bound, bool is_value, auto g, auto r,
                          std::function<R(R)> scale = {}) {
        c.push_back(make_check<T>(std::move(name), bound, is_value, g, r, std::move(scale)));
        // Non-default parameters (names with braces) run on a third of the inputs.
        c.back().reduced = c.back().name.find('{') != std::string::npos;
    };

    const xact::sigmoid sg{};
    add(
        "sigmoid", value_bound, true, [sg](auto v) { return sg(v); }, r_sigmoid<R>);
    add(
        "sigmoid'", deriv_bound, false, [sg](auto v) { return sg.derivative(v); }, r_sigmoid_d<R>);

    const xact::tanh th{};
    add(
        "tanh", value_bound, true, [th](auto v) { return th(v); }, r_tanh<R>);
    add(
        "tanh'", deriv_bound, false, [th](auto v) { return th.derivative(v); }, r_tanh_d<R>);

    const xact::silu si{};
    add(
        "silu", value_bound, true, [si](auto v) { return si(v); },
        [](R x) { return r_swish(x, R(1)); });
    add(
        "silu'", deriv_bound, false, [si](auto v) { return si.derivative(v); },
        [](R x) { return r_swish_d(x, R(1)); }, [](R x) { return r_swish_d_scale(x, R(1)); });
    for (double beta : swish_betas) {
        const xact::swish f{beta};
        const R b = static_cast<R>(static_cast<T>(beta));
        const std::string n = pname("swish", beta);
        add(
            n, value_bound, true, [f](auto v) { return f(v); }, [b](R x) { return r_swish(x, b); });
        add(
            n + "'", deriv_bound, false, [f](auto v) { return f.derivative(v); },
            [b](R x) { return r_swish_d(x, b); }, [b](R x) { return r_swish_d_scale(x, b); });
    }

    for (double alpha : elu_alphas) {
        const xact::elu f{alpha};
        const R a = static_cast<R>(static_cast<T>(alpha));
        const std::string n = alpha == 1.0 ? std::string("elu") : pname("elu", alpha);
        add(
            n, value_bound, true, [f](auto v) { return f(v); }, [a](R x) { return r_elu(x, a); });
        add(
            n + "'", deriv_bound, false, [f](auto v) { return f.derivative(v); },
            [a](R x) { return r_elu_d(x, a); });
    }

    const xact::selu se{};
    add(
        "selu", value_bound, true, [se](auto v) { return se(v); }, r_selu<R>);
    add(
        "selu'", deriv_bound, false, [se](auto v) { return se.derivative(v); }, r_selu_d<R>);

    for (double alpha : celu_alphas) {
        const xact::celu f{alpha};
        const R a = static_cast<R>(static_cast<T>(alpha));
        const std::string n = alpha == 1.0 ? std::string("celu") : pname("celu", alpha);
        add(
            n, value_bound, true, [f](auto v) { return f(v); }, [a](R x) { return r_celu(x, a); });
        add(
            n + "'", deriv_bound, false, [f](auto v) { return f.derivative(v); },
            [a](R x) { return r_celu_d(x, a); });
    }

    const xact::gelu ge{};
    add(
        "gelu", value_bound_wide, true, [ge](auto v) { return ge(v); }, r_gelu<R>);
    add(
        "gelu'", deriv_bound, false, [ge](auto v) { return ge.derivative(v); }, r_gelu_d<R>,
        r_gelu_d_scale<R>);
    const xact::gelu gt{true};
    add(
        "gelu_tanh", value_bound_wide, true, [gt](auto v) { return gt(v); }, r_gelu_tanh<R>);
    add(
        "gelu_tanh'", deriv_bound, false, [gt](auto v) { return gt.derivative(v); },
        r_gelu_tanh_d<R>, r_gelu_tanh_d_scale<R>);

    for (double beta : softplus_betas) {
        const xact::softplus f{beta};
        const R b = static_cast<R>(static_cast<T>(beta));
        const std::string n = beta == 1.0 ? std::string("softplus") : pname("softplus", beta);
        add(
            n, value_bound, true, [f](auto v) { return f(v); },
            [b](R x) { return r_softplus(x, b); });
        add(
            n + "'", deriv_bound, false, [f](auto v) { return f.derivative(v); },
            [b](R x) { return r_softplus_d(x, b); });
    }

    const xact::mish mi{};
    add(
        "mish", value_bound_wide, true, [mi](auto v) { return mi(v); }, r_mish<R>);
    add(
        "mish'", deriv_bound, false, [mi](auto v) { return mi.derivative(v); }, r_mish_d<R>,
        r_mish_d_scale<R>);

    const xact::softsign ss{};
    add(
        "softsign", value_bound, true, [ss](auto v) { return ss(v); }, r_softsign<R>);
    add(
        "softsign'", deriv_bound, false, [ss](auto v) { return ss.derivative(v); },
        r_softsign_d<R>);

    const xact::log_sigmoid ls{};
    add(
        "log_sigmoid", value_bound, true, [ls](auto v) { return ls(v); }, r_log_sigmoid<R>);
    add(
        "log_sigmoid'", deriv_bound, false, [ls](auto v) { return ls.derivative(v); },
        r_log_sigmoid_d<R>);

    add(
        "math::exp", 1, true, [](auto v) { return xact::math::exp(v); },
        [](R x) { return rm::exp(x); });
    add(
        "math::expm1", 1, true, [](auto v) { return xact::math::expm1(v); },
        [](R x) { return rm::expm1(x); });
    add(
        "math::log1p", 1, true, [](auto v) { return xact::math::log1p(v); },
        [](R x) { return rm::log1p(x); });
    add(
        "math::erfc", 2, true, [](auto v) { return xact::math::erfc(v); },
        [](R x) { return rm::erfc(x); });
    return c;
}

// ---------------------------------------------------------------- inputs

template <class T>
T from_bits(std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t> u) {
    T x;
    std::memcpy(&x, &u, sizeof x);
    return x;
}

template <class T>
std::vector<T> special_inputs() {
    std::vector<T> v = xact_test::special_values<T>();
    using L = std::numeric_limits<T>;
    for (T x : {T(0.5),
                T(-0.5),
                T(2),
                T(-2),
                T(1e-30),
                T(-1e-30),
                T(1e-10),
                T(-1e-10),
                T(20),
                T(-20),
                T(50),
                T(-50),
                T(100),
                T(-100),
                L::max() / 2,
                -L::max() / 2,
                L::denorm_min() * 3,
                -L::denorm_min() * 3,
                L::min() / 2,
                -L::min() / 2})
        v.push_back(x);
    if constexpr (sizeof(T) == 4) {
        v.push_back(from_bits<T>(0x7f800001u)); // signalling NaN
        v.push_back(from_bits<T>(0xffc01234u)); // negative NaN with a payload
    } else {
        v.push_back(from_bits<T>(0x7ff0000000000001ull));
        v.push_back(from_bits<T>(0xfff8000000001234ull));
    }
    return v;
}

/// Points where the functions (or typical kernels) change regime: exp overflow and underflow
/// thresholds, the square root of the largest value (softsign's (1+|x|)^2), the zeros of the
/// derivatives, the kinks, and the edges of silu's near form (x = -64 / -600, where the
/// general form takes over, and -x = -41, where e^-x stops being needed).
template <class T>
std::vector<T> thresholds() {
    std::vector<T> t = {T(std::is_same_v<T, float> ? -64 : -600),
                        T(41),
                        T(0),
                        T(-1),
                        T(1),
                        T(-1.2784645427610738),
                        T(-0.7517916243152712),
                        T(-1.1923820830566),
                        T(0.625),
                        T(-0.625),
                        T(0.5),
                        T(-0.5)};
    using L = std::numeric_limits<T>;
    const ld lmax = std::log(static_cast<ld>(L::max()));
    const ld lmin = std::log(static_cast<ld>(L::min()));
    const ld ltiny = std::log(static_cast<ld>(L::denorm_min()));
    for (ld v :
         {lmax, -lmax, lmin, ltiny, ltiny - 0.6931471805599453L, lmax / 2, lmin / 2, ltiny / 2,
          std::sqrt(static_cast<ld>(L::max())), std::sqrt(static_cast<ld>(L::max())) * 64}) {
        t.push_back(static_cast<T>(v));
        t.push_back(static_cast<T>(-v));
    }
    return t;
}

template <class T>
void push_magnitudes(std::vector<T>& v) {
    const int lo = std::is_same_v<T, float> ? -45 : -323;
    const int hi = std::is_same_v<T, float> ? 38 : 308;
    for (int i = lo * 8; i <= hi * 8; ++i) {
        const T m = static_cast<T>(std::pow(10.0L, static_cast<ld>(i) / 8));
        if (m == 0 || std::isinf(m)) continue;
        v.push_back(m);
        v.push_back(-m);
    }
}

/// The fixed set of inputs: float ~1.1e6, double ~1e5 (see the file comment).
template <class T>
std::vector<T> sample_inputs() {
    std::vector<T> v;
    std::mt19937_64 gen(0x5eed5eedull);
    if constexpr (std::is_same_v<T, float>) {
        for (int k = -110 * 128; k <= 110 * 128; ++k) v.push_back(static_cast<float>(k) / 128.0f);
        for (std::uint64_t u = 0; u < (std::uint64_t(1) << 32); u += 4099) {
            const float x = from_bits<float>(static_cast<std::uint32_t>(u));
            if (!std::isnan(x)) v.push_back(x);
        }
        std::uniform_real_distribution<float> near_zero(-2.0f, 0.0f);
        for (int i = 0; i < (1 << 14); ++i) v.push_back(near_zero(gen));
    } else {
        for (int k = -110 * 64; k <= 110 * 64; ++k) v.push_back(static_cast<double>(k) / 64.0);
        std::uniform_real_distribution<double> mid(-40.0, 40.0), wide(-800.0, 800.0),
            near_zero(-2.0, 0.0);
        for (int i = 0; i < 40000; ++i) v.push_back(mid(gen));
        for (int i = 0; i < 10000; ++i) v.push_back(wide(gen));
        for (int i = 0; i < 8000; ++i) v.push_back(near_zero(gen));
        for (int i = 0; i < 20000; ++i) {
            const double x = from_bits<double>(gen());
            if (!std::isnan(x)) v.push_back(x);
        }
    }
    push_magnitudes(v);
    for (T t : thresholds<T>())
        for (T x : xact_test::around(t, 16)) v.push_back(x);
    for (T x : special_inputs<T>()) v.push_back(x);
    return v;
}

/// A smaller set for the SIMD/scalar comparison: every input near the origin and tails, a
/// sixteenth of the rest.
template <class T>
std::vector<T> simd_inputs() {
    const std::vector<T> all = sample_inputs<T>();
    std::vector<T> v;
    for (std::size_t i = 0; i < all.size(); ++i)
        if (i % 16 == 0 || (std::fabs(all[i]) <= T(110) && i % 2 == 0) || !std::isfinite(all[i]))
            v.push_back(all[i]);
    return v;
}

// ---------------------------------------------------------------- running the checks

template <class T, class R>
std::string describe(const std::string& what, T x, T got, R expected) {
    char buf[320];
    const ld e = static_cast<ld>(expected);
    std::snprintf(buf, sizeof buf, "%s(%.17g = %a): got %.17g (%a), expected %.21Lg (%La)",
                  what.c_str(), static_cast<double>(x), static_cast<double>(x),
                  static_cast<double>(got), static_cast<double>(got), e, e);
    return buf;
}

struct tally {
    long count = 0;
    std::string examples;
    void add(const std::string& s) {
        if (count++ < 6) examples += "\n  " + s;
    }
};

struct result {
    double max_ulp = 0;
    double worst_x = 0;
    tally fails;
};

/// Compares every check against its reference over xs (scalar calls; the SIMD calls are
/// compared with the scalar ones separately).
template <class T>
std::vector<result> against_reference(const std::vector<check<T>>& checks,
                                      const std::vector<T>& xs) {
    using R = ref_t<T>;
    std::vector<result> res(checks.size());
    for (std::size_t i = 0; i < checks.size(); ++i) {
        const check<T>& c = checks[i];
        result& out = res[i];
        for (std::size_t k = 0; k < xs.size(); k += c.reduced ? 3 : 1) {
            const T x = xs[k];
            const T y = c.scalar(x);
            const R xr = static_cast<R>(x);
            const R r = c.ref(xr);
            const R floor = c.scale ? c.scale(xr) : R(0);
            const double e = ulp_error<T, R>(y, r, floor, c.is_value);
            if (e > out.max_ulp || std::isnan(e)) {
                out.max_ulp = std::isnan(e) ? std::numeric_limits<double>::infinity() : e;
                out.worst_x = static_cast<double>(x);
            }
            if (!(e <= c.bound)) {
                char tail[64];
                std::snprintf(tail, sizeof tail, " [%.3g ULP]", e);
                out.fails.add(describe(c.name, x, y, r) + tail);
            }
        }
    }
    return res;
}

/// Runs every check on xsimd::batch<T> over xs and compares every lane bitwise with the
/// scalar call.
template <class T>
void simd_vs_scalar(const std::vector<check<T>>& checks, const std::vector<T>& xs) {
    using B = xsimd::batch<T>;
    constexpr std::size_t n = B::size;
    for (const check<T>& c : checks) {
        tally t;
        for (std::size_t j = 0; j < xs.size(); j += n) {
            alignas(64) T in[n];
            alignas(64) T out[n];
            for (std::size_t l = 0; l < n; ++l) in[l] = xs[(j + l) % xs.size()];
            c.simd(B::load_unaligned(in)).store_unaligned(out);
            for (std::size_t l = 0; l < n; ++l) {
                const T s = c.scalar(in[l]);
                if (!same(out[l], s))
                    t.add(describe(c.name + " [SIMD lane " + std::to_string(l) + "]", in[l], out[l],
                                   static_cast<ld>(s)));
            }
        }
        INFO(type_name<T>() << " " << c.name << ": " << t.count << " SIMD/scalar mismatches"
                            << t.examples);
        CHECK(t.count == 0);
    }
}

/// Scalar call and, on a batch with every lane x, SIMD call: both must give `expected` bitwise
/// (any NaN matches any NaN).
template <class T, class G>
void expect_bits(const char* what, G g, T x, T expected) {
    using B = xsimd::batch<T>;
    alignas(64) T out[B::size];
    g(B(x)).store_unaligned(out);
    const T y = g(x);
    INFO(type_name<T>() << " " << what << " at x = " << static_cast<double>(x) << " (bits "
                        << std::hex << bits(x) << "): got " << static_cast<double>(y) << " (bits "
                        << bits(y) << "), expected " << static_cast<double>(expected) << " (bits "
                        << bits(expected) << ")" << std::dec);
    CHECK(same(y, expected));
    for (std::size_t l = 0; l < B::size; ++l) CHECK(same(out[l], y));
}

/// As expect_bits, but any zero (either sign) is accepted: derivatives at the infinities.
template <class T, class G>
void expect_zero(const char* what, G g, T x) {
    using B = xsimd::batch<T>;
    alignas(64) T out[B::size];
    g(B(x)).store_unaligned(out);
    const T y = g(x);
    INFO(type_name<T>() << " " << what << " at x = " << static_cast<double>(x) << ": got "
                        << static_cast<double>(y) << ", expected a zero");
    CHECK(y == 0);
    for (std::size_t l = 0; l < B::size; ++l) CHECK(out[l] == 0);
}

/// |g(x) - expected| within `ulps` ULP (of the T value `expected`), scalar and SIMD.
template <class T, class G>
void expect_near(const char* what, G g, T x, ld expected, double ulps) {
    using B = xsimd::batch<T>;
    alignas(64) T out[B::size];
    g(B(x)).store_unaligned(out);
    const T y = g(x);
    const double e = xact_test::ulp_error<T>(y, expected);
    INFO(type_name<T>() << " " << what << " at x = " << static_cast<double>(x) << ": got "
                        << static_cast<double>(y) << ", expected " << static_cast<double>(expected)
                        << " (" << e << " ULP)");
    CHECK(e <= ulps);
    for (std::size_t l = 0; l < B::size; ++l) CHECK(same(out[l], y));
}

template <class F, class T, class = void>
struct has_from_output : std::false_type {};
template <class F, class T>
struct has_from_output<
    F, T, std::void_t<decltype(std::declval<const F&>().derivative_from_output(std::declval<T>()))>>
    : std::true_type {};

} // namespace

// ---------------------------------------------------------------- test cases

TEMPLATE_TEST_CASE("transcendental: values and derivatives match the references",
                   "[transcendental]", float, double) {
    using T = TestType;
    if constexpr (!has_accurate_ref<T>()) {
        WARN("libquadmath unavailable: double accuracy checks skipped (special values, SIMD and "
             "array checks still run)");
        return;
    } else {
        const auto checks = all_checks<T>();
        const auto res = against_reference(checks, sample_inputs<T>());
        std::string line;
        for (std::size_t i = 0; i < checks.size(); ++i) {
            INFO(type_name<T>() << " " << checks[i].name << ": max " << res[i].max_ulp
                                << " ULP (bound " << checks[i].bound << "), " << res[i].fails.count
                                << " failures" << res[i].fails.examples);
            CHECK(res[i].fails.count == 0);
            char buf[160];
            std::snprintf(buf, sizeof buf, "\n    %-16s %8.4f (x = %a)%s", checks[i].name.c_str(),
                          res[i].max_ulp, res[i].worst_x,
                          res[i].max_ulp <= checks[i].bound ? "" : "  ** above bound **");
            line += buf;
        }
        std::printf("[transcendental] max ULP, %s, %s:%s\n", type_name<T>(),
                    xsimd::default_arch::name(), line.c_str());
        std::fflush(stdout);
    }
}

TEMPLATE_TEST_CASE("transcendental: SIMD equals scalar bitwise", "[transcendental]", float,
                   double) {
    using T = TestType;
    const auto checks = all_checks<T>();
    std::vector<T> xs = simd_inputs<T>();
    simd_vs_scalar(checks, xs);
    // Shifted by one lane, so that each value meets other neighbours in its batch.
    xs.erase(xs.begin());
    simd_vs_scalar(checks, xs);
}

TEMPLATE_TEST_CASE("transcendental: special values, signed zeros and infinities",
                   "[transcendental]", float, double) {
    using T = TestType;
    using L = std::numeric_limits<T>;
    const T pz = T(0), nz = -T(0), inf = L::infinity(), one = T(1);
    const T big = T(1e30);

    const xact::sigmoid sg{};
    const xact::tanh th{};
    const xact::silu si{};
    const xact::swish sw{1.5};
    const xact::elu el{};
    const xact::selu se{};
    const xact::celu ce{};
    const xact::gelu ge{};
    const xact::gelu gt{true};
    const xact::softplus sp{};
    const xact::mish mi{};
    const xact::softsign ss{};
    const xact::log_sigmoid ls{};

    SECTION("odd functions keep -0, and f(+0) = +0") {
        const auto odd = [&](const char* name, const auto& f) {
            expect_bits(
                name, [f](auto v) { return f(v); }, nz, nz);
            expect_bits(
                name, [f](auto v) { return f(v); }, pz, pz);
        };
        odd("tanh", th);
        odd("silu", si);
        odd("swish{1.5}", sw);
        odd("gelu", ge);
        odd("gelu_tanh", gt);
        odd("softsign", ss);
        odd("elu", el);
        odd("selu", se);
        odd("celu", ce);
        odd("mish", mi);
        odd("elu{2.5}", xact::elu{2.5});
        odd("celu{0.5}", xact::celu{0.5});
        expect_bits(
            "math::expm1", [](auto v) { return xact::math::expm1(v); }, nz, nz);
        expect_bits(
            "math::expm1", [](auto v) { return xact::math::expm1(v); }, pz, pz);
        expect_bits(
            "math::log1p", [](auto v) { return xact::math::log1p(v); }, nz, nz);
        expect_bits(
            "math::log1p", [](auto v) { return xact::math::log1p(v); }, pz, pz);
    }

    SECTION("values at the origin") {
        // Exact by convention (spec §1 kinks): elu'(0) = alpha, celu'(0) = 1. Elsewhere the
        // value at 0 is exact in T and checked within the function's bound.
        const auto at = [](const char* what, auto g, T x, ld expected, double ulps) {
            expect_near(what, g, x, expected, ulps);
        };
        for (T z : {pz, nz}) {
            at(
                "sigmoid", [sg](auto v) { return sg(v); }, z, 0.5L, 2);
            at(
                "sigmoid'", [sg](auto v) { return sg.derivative(v); }, z, 0.25L, 4);
            at(
                "tanh'", [th](auto v) { return th.derivative(v); }, z, 1.0L, 4);
            at(
                "silu'", [si](auto v) { return si.derivative(v); }, z, 0.5L, 4);
            at(
                "gelu'", [ge](auto v) { return ge.derivative(v); }, z, 0.5L, 4);
            at(
                "gelu_tanh'", [gt](auto v) { return gt.derivative(v); }, z, 0.5L, 4);
            at(
                "softplus'", [sp](auto v) { return sp.derivative(v); }, z, 0.5L, 4);
            at(
                "log_sigmoid'", [ls](auto v) { return ls.derivative(v); }, z, 0.5L, 4);
            at(
                "softsign'", [ss](auto v) { return ss.derivative(v); }, z, 1.0L, 4);
            at(
                "mish'", [mi](auto v) { return mi.derivative(v); }, z, 0.6L, 4);
            at(
                "selu'", [se](auto v) { return se.derivative(v); }, z,
                K<ld>::selu_lambda() * K<ld>::selu_alpha(), 4);
            at(
                "softplus", [sp](auto v) { return sp(v); }, z,
                0.693147180559945309417232121458176568L, 2);
            at(
                "log_sigmoid", [ls](auto v) { return ls(v); }, z,
                -0.693147180559945309417232121458176568L, 2);
            at(
                "math::exp", [](auto v) { return xact::math::exp(v); }, z, 1.0L, 1);
            at(
                "math::erfc", [](auto v) { return xact::math::erfc(v); }, z, 1.0L, 2);
            expect_bits(
                "elu'", [el](auto v) { return el.derivative(v); }, z, one);
            expect_bits(
                "elu{2.5}'", [](auto v) { return xact::elu{2.5}.derivative(v); }, z, T(2.5));
            expect_bits(
                "elu{0.1}'", [](auto v) { return xact::elu{0.1}.derivative(v); }, z, T(0.1));
            expect_bits(
                "celu'", [ce](auto v) { return ce.derivative(v); }, z, one);
            expect_bits(
                "celu{0.5}'", [](auto v) { return xact::celu{0.5}.derivative(v); }, z, one);
        }
    }

    SECTION("limits at the infinities (spec §1)") {
        expect_bits(
            "sigmoid", [sg](auto v) { return sg(v); }, inf, one);
        expect_bits(
            "sigmoid", [sg](auto v) { return sg(v); }, -inf, pz);
        expect_bits(
            "tanh", [th](auto v) { return th(v); }, inf, one);
        expect_bits(
            "tanh", [th](auto v) { return th(v); }, -inf, -one);
        expect_bits(
            "silu", [si](auto v) { return si(v); }, inf, inf);
        expect_bits(
            "silu", [si](auto v) { return si(v); }, -inf, nz);
        expect_bits(
            "swish{1.5}", [sw](auto v) { return sw(v); }, inf, inf);
        expect_bits(
            "swish{1.5}", [sw](auto v) { return sw(v); }, -inf, nz);
        expect_bits(
            "gelu", [ge](auto v) { return ge(v); }, inf, inf);
        expect_bits(
            "gelu", [ge](auto v) { return ge(v); }, -inf, nz);
        expect_bits(
            "gelu_tanh", [gt](auto v) { return gt(v); }, inf, inf);
        expect_bits(
            "gelu_tanh", [gt](auto v) { return gt(v); }, -inf, nz);
        expect_bits(
            "mish", [mi](auto v) { return mi(v); }, inf, inf);
        expect_bits(
            "mish", [mi](auto v) { return mi(v); }, -inf, nz);
        expect_bits(
            "softplus", [sp](auto v) { return sp(v); }, inf, inf);
        expect_bits(
            "softplus", [sp](auto v) { return sp(v); }, -inf, pz);
        expect_bits(
            "softsign", [ss](auto v) { return ss(v); }, inf, one);
        expect_bits(
            "softsign", [ss](auto v) { return ss(v); }, -inf, -one);
        expect_bits(
            "elu", [el](auto v) { return el(v); }, inf, inf);
        expect_bits(
            "elu", [el](auto v) { return el(v); }, -inf, -one);
        expect_bits(
            "elu{0.1}", [](auto v) { return xact::elu{0.1}(v); }, -inf, -static_cast<T>(0.1));
        expect_bits(
            "celu", [ce](auto v) { return ce(v); }, -inf, -one);
        expect_bits(
            "celu{0.5}", [](auto v) { return xact::celu{0.5}(v); }, -inf, T(-0.5));
        expect_near(
            "selu", [se](auto v) { return se(v); }, -inf,
            -(K<ld>::selu_lambda() * K<ld>::selu_alpha()), 2.0);
        expect_bits(
            "selu", [se](auto v) { return se(v); }, inf, inf);
        expect_bits(
            "log_sigmoid", [ls](auto v) { return ls(v); }, -inf, -inf);
        expect_bits(
            "log_sigmoid", [ls](auto v) { return ls(v); }, inf, nz);

        // Derivatives: 0 or 1 (or alpha, lambda) at the infinities.
        const auto d0 = [&](const char* name, const auto& f, T x) {
            expect_zero(
                name, [f](auto v) { return f.derivative(v); }, x);
        };
        const auto d1 = [&](const char* name, const auto& f, T x) {
            expect_bits(
                name, [f](auto v) { return f.derivative(v); }, x, one);
        };
        d0("sigmoid'", sg, inf);
        d0("sigmoid'", sg, -inf);
        d0("tanh'", th, inf);
        d0("tanh'", th, -inf);
        d1("silu'", si, inf);
        d0("silu'", si, -inf);
        d1("swish{1.5}'", sw, inf);
        d0("swish{1.5}'", sw, -inf);
        d1("gelu'", ge, inf);
        d0("gelu'", ge, -inf);
        d1("gelu_tanh'", gt, inf);
        d0("gelu_tanh'", gt, -inf);
        d1("mish'", mi, inf);
        d0("mish'", mi, -inf);
        d1("softplus'", sp, inf);
        d0("softplus'", sp, -inf);
        d0("softsign'", ss, inf);
        d0("softsign'", ss, -inf);
        d1("elu'", el, inf);
        d0("elu'", el, -inf);
        d1("celu'", ce, inf);
        d0("celu'", ce, -inf);
        d0("selu'", se, -inf);
        expect_near(
            "selu'", [se](auto v) { return se.derivative(v); }, inf,
            static_cast<ld>(K<ld>::selu_lambda()), 2.0);
        d0("log_sigmoid'", ls, inf);
        d1("log_sigmoid'", ls, -inf);
    }

    SECTION("large magnitudes do not overflow in intermediates (spec §1)") {
        expect_bits(
            "silu", [si](auto v) { return si(v); }, -big, nz);
        expect_bits(
            "silu", [si](auto v) { return si(v); }, big, big);
        expect_bits(
            "gelu", [ge](auto v) { return ge(v); }, big, big);
        expect_bits(
            "gelu", [ge](auto v) { return ge(v); }, -big, nz);
        expect_bits(
            "gelu_tanh", [gt](auto v) { return gt(v); }, big, big);
        expect_bits(
            "gelu_tanh", [gt](auto v) { return gt(v); }, -big, nz);
        expect_bits(
            "mish", [mi](auto v) { return mi(v); }, big, big);
        expect_bits(
            "mish", [mi](auto v) { return mi(v); }, -big, nz);
        expect_bits(
            "softplus", [sp](auto v) { return sp(v); }, big, big);
        expect_bits(
            "softplus", [sp](auto v) { return sp(v); }, L::max(), L::max());
        expect_bits(
            "log_sigmoid", [ls](auto v) { return ls(v); }, -big, -big);
        expect_bits(
            "elu", [el](auto v) { return el(v); }, L::max(), L::max());
        expect_bits(
            "softsign", [ss](auto v) { return ss(v); }, L::max(), one);
        expect_bits(
            "softsign", [ss](auto v) { return ss(v); }, -L::max(), -one);
        expect_bits(
            "gelu", [ge](auto v) { return ge(v); }, L::max(), L::max());
        expect_bits(
            "silu", [si](auto v) { return si(v); }, L::max(), L::max());
        expect_bits(
            "silu", [si](auto v) { return si(v); }, -L::max(), nz);
        expect_bits(
            "mish", [mi](auto v) { return mi(v); }, L::max(), L::max());
        expect_bits(
            "mish", [mi](auto v) { return mi(v); }, -L::max(), nz);
    }

    SECTION("NaN in, NaN out, for every function and derivative") {
        const auto checks = all_checks<T>();
        std::vector<T> nans;
        for (T x : special_inputs<T>())
            if (std::isnan(x)) nans.push_back(x);
        REQUIRE(nans.size() >= 4);
        using B = xsimd::batch<T>;
        for (const auto& c : checks) {
            for (T x : nans) {
                alignas(64) T out[B::size];
                c.simd(B(x)).store_unaligned(out);
                const T y = c.scalar(x);
                INFO(type_name<T>() << " " << c.name << " at NaN (bits " << std::hex << bits(x)
                                    << "): got " << static_cast<double>(y) << std::dec);
                CHECK(std::isnan(y));
                for (std::size_t l = 0; l < B::size; ++l) CHECK(std::isnan(out[l]));
            }
        }
        for (T x : nans) {
            expect_bits(
                "sigmoid'(y)", [sg](auto v) { return sg.derivative_from_output(v); }, x, x);
            expect_bits(
                "tanh'(y)", [th](auto v) { return th.derivative_from_output(v); }, x, x);
            expect_bits(
                "elu'(y)", [el](auto v) { return el.derivative_from_output(v); }, x, x);
        }
    }

    SECTION("math functions: special values") {
        const auto m_exp = [](auto v) { return xact::math::exp(v); };
        const auto m_expm1 = [](auto v) { return xact::math::expm1(v); };
        const auto m_log1p = [](auto v) { return xact::math::log1p(v); };
        const auto m_erfc = [](auto v) { return xact::math::erfc(v); };
        expect_bits("math::exp", m_exp, -inf, pz);
        expect_bits("math::exp", m_exp, inf, inf);
        expect_bits("math::exp", m_exp, T(1000), inf);
        expect_bits("math::exp", m_exp, L::max(), inf);
        expect_bits("math::exp", m_exp, -L::max(), pz);
        expect_bits("math::expm1", m_expm1, -inf, -one);
        expect_bits("math::expm1", m_expm1, inf, inf);
        expect_bits("math::expm1", m_expm1, T(1000), inf);
        expect_bits("math::expm1", m_expm1, -L::max(), -one);
        expect_bits("math::log1p", m_log1p, -one, -inf);
        expect_bits("math::log1p", m_log1p, inf, inf);
        expect_near("math::log1p", m_log1p, L::max(), std::log(static_cast<ld>(L::max())), 1);
        for (T x : {std::nextafter(-one, -inf), T(-2), -L::max(), -inf}) {
            INFO("log1p(x < -1) is NaN");
            expect_bits("math::log1p", m_log1p, x, L::quiet_NaN());
        }
        expect_bits("math::erfc", m_erfc, -inf, T(2));
        expect_bits("math::erfc", m_erfc, inf, pz);
        expect_near("math::erfc", m_erfc, T(-30), 2.0L, 2);
        for (T x : {L::denorm_min(), -L::denorm_min(), L::min(), -L::min()}) {
            const ld xl = x;
            expect_near("math::exp", m_exp, x, 1.0L + xl, 1);
            expect_near("math::expm1", m_expm1, x, xl, 1);
            expect_near("math::log1p", m_log1p, x, xl, 1);
            expect_near("math::erfc", m_erfc, x, 1.0L, 2);
        }
    }
}

TEMPLATE_TEST_CASE("transcendental: subnormal results are computed, not flushed",
                   "[transcendental]", float, double) {
    using T = TestType;
    using L = std::numeric_limits<T>;
    const bool f32 = std::is_same_v<T, float>;
    const xact::sigmoid sg{};
    const xact::tanh th{};
    const xact::silu si{};
    const xact::gelu ge{};
    const xact::softplus sp{};
    const xact::log_sigmoid ls{};
    const xact::mish mi{};
    const xact::softsign ss{};

    // Near 0, x Phi(x), x sigma(x) and the like are about x/2 (plus a positive x^2 term): for
    // the smallest subnormal that is a tie broken upwards, never 0 (a fused x - x Phi(-x)
    // with Phi(-x) rounded to 1/2 once gave 0).
    for (const T x : {L::denorm_min(), 3 * L::denorm_min(), 5 * L::denorm_min()}) {
        // Within half a subnormal ULP of x/2 (the x^2 term is far smaller), and never 0.
        const auto check = [x](const char* what, T y) {
            INFO(what << " at " << static_cast<double>(x) << ": " << static_cast<double>(y));
            CHECK(y > T(0));
            CHECK(std::fabs(static_cast<ld>(y) - static_cast<ld>(x) / 2) <=
                  static_cast<ld>(L::denorm_min()) / 2);
        };
        for (const bool apx : {false, true}) {
            const xact::gelu g{apx};
            check(apx ? "gelu(tanh)" : "gelu", g(x));
            T y = T(0);
            xact::forward(g, &x, &y, 1);
            check(apx ? "gelu(tanh) array" : "gelu array", y);
        }
        check("silu", si(x));
        check("swish(beta=1.5)", xact::swish{1.5}(x));
        T y = T(0);
        xact::forward(si, &x, &y, 1);
        check("silu array", y);
        // The mirror: β < 0 at -x (it gave -0 at -2^-149).
        for (const double beta : {-0.75, -1.0, -1e30}) {
            const xact::swish f{beta};
            const T mx = -x;
            T ym = T(0);
            xact::forward(f, &mx, &ym, 1);
            check("-swish(beta < 0) at -x", -f(mx));
            check("-swish(beta < 0) array at -x", -ym);
        }
    }

    // x where e^x is deep in the subnormal range of T (float: e^-100 = 3.7e-44).
    const T deep = f32 ? T(-100) : T(-740);
    const ld e_deep = std::exp(static_cast<ld>(deep));
    REQUIRE(static_cast<T>(e_deep) != 0);
    REQUIRE(std::fabs(static_cast<T>(e_deep)) < L::min());
    const auto near = [&](const char* what, auto g, T x, ld expected) {
        expect_near(what, g, x, expected, 2.0);
    };
    near(
        "math::exp", [](auto v) { return xact::math::exp(v); }, deep, e_deep);
    near(
        "sigmoid", [sg](auto v) { return sg(v); }, deep, e_deep / (1 + e_deep));
    near(
        "sigmoid'", [sg](auto v) { return sg.derivative(v); }, deep,
        e_deep / ((1 + e_deep) * (1 + e_deep)));
    near(
        "softplus", [sp](auto v) { return sp(v); }, deep, std::log1p(e_deep));
    near(
        "softplus'", [sp](auto v) { return sp.derivative(v); }, deep, e_deep / (1 + e_deep));
    near(
        "log_sigmoid'", [ls](auto v) { return ls.derivative(v); }, -deep, e_deep / (1 + e_deep));
    near(
        "log_sigmoid", [ls](auto v) { return ls(v); }, -deep, -std::log1p(e_deep));

    // float: exp(-103.9) = 7.5e-46 rounds to the smallest subnormal (within 1 subnormal ULP).
    if (f32) {
        const T x = T(-103.9f);
        expect_near(
            "math::exp", [](auto v) { return xact::math::exp(v); }, x, std::exp(static_cast<ld>(x)),
            1.0);
        expect_near(
            "sigmoid", [sg](auto v) { return sg(v); }, x, r_sigmoid<ld>(static_cast<ld>(x)), 2.0);
        // tanh'(x) = 4 e^-2|x| is representable up to |x| ~ 52: never flushed there.
        for (T t = T(1); t <= T(52); t += T(0.25)) {
            for (T s : {t, -t}) {
                const ld r = r_tanh_d<ld>(static_cast<ld>(s));
                expect_near(
                    "tanh'", [th](auto v) { return th.derivative(v); }, s, r, 4.0);
            }
        }
        // silu, gelu, mish have subnormal results in their left tails.
        near(
            "silu", [si](auto v) { return si(v); }, T(-100), r_swish<ld>(-100.0L, 1.0L));
        expect_near(
            "gelu", [ge](auto v) { return ge(v); }, T(-13.5), r_gelu<ld>(static_cast<ld>(T(-13.5))),
            4.0);
        expect_near(
            "mish", [mi](auto v) { return mi(v); }, T(-100), r_mish<ld>(-100.0L), 4.0);
        // softsign' = 1/(1+|x|)^2 stays representable up to |x| ~ 2.6e22, beyond the point
        // where (1+|x|)^2 overflows float (1.8e19).
        for (T x : {T(1e19), T(2e19), T(1e20), T(1e21), T(2e22)}) {
            expect_near(
                "softsign'", [ss](auto v) { return ss.derivative(v); }, x,
                r_softsign_d<ld>(static_cast<ld>(x)), 4.0);
        }
    }
    // Subnormal inputs: computed, not flushed (f(x) ~ x or x/2 near 0).
    for (T x : {L::denorm_min(), -L::denorm_min(), L::min() / 4, -L::min() / 4}) {
        const ld xl = x;
        expect_near(
            "tanh", [th](auto v) { return th(v); }, x, xl, 2.0);
        expect_near(
            "softsign", [ss](auto v) { return ss(v); }, x, xl, 2.0);
        expect_near(
            "silu", [si](auto v) { return si(v); }, x, xl / 2, 2.0);
        expect_near(
            "gelu", [ge](auto v) { return ge(v); }, x, xl / 2, 4.0);
        expect_near(
            "math::expm1", [](auto v) { return xact::math::expm1(v); }, x, xl, 1.0);
        expect_near(
            "math::log1p", [](auto v) { return xact::math::log1p(v); }, x, xl, 1.0);
    }
}

TEMPLATE_TEST_CASE("transcendental: derivative_from_output", "[transcendental]", float, double) {
    using T = TestType;
    using R = ref_t<T>;
    // Offered for sigmoid, tanh and elu only.
    CHECK(has_from_output<xact::sigmoid, T>::value);
    CHECK(has_from_output<xact::tanh, T>::value);
    CHECK(has_from_output<xact::elu, T>::value);
    CHECK_FALSE(has_from_output<xact::selu, T>::value);
    CHECK_FALSE(has_from_output<xact::celu, T>::value);

    std::vector<T> xs = simd_inputs<T>();
    const auto run = [&](const std::string& name, const auto& f, auto ref) {
        using B = xsimd::batch<T>;
        tally t;
        double max_ulp = 0;
        for (T x : xs) {
            const T y = f(x);
            const T d = f.derivative_from_output(y);
            alignas(64) T out[B::size];
            f.derivative_from_output(B(y)).store_unaligned(out);
            if (!same(out[0], d))
                t.add(describe(name + "'(y) [SIMD]", y, out[0], static_cast<ld>(d)));
            if constexpr (has_accurate_ref<T>()) {
                const R r = ref(static_cast<R>(y));
                const double e = ulp_error<T, R>(d, r, R(0), false);
                max_ulp = std::max(max_ulp, e);
                if (!(e <= 2.0)) t.add(describe(name + "'(y)", y, d, r));
            }
        }
        INFO(type_name<T>() << " " << name << "'(y): max " << max_ulp << " ULP, " << t.count
                            << " failures" << t.examples);
        CHECK(t.count == 0);
    };
    run("sigmoid", xact::sigmoid{}, r_sigmoid_dy<R>);
    run("tanh", xact::tanh{}, r_tanh_dy<R>);
    for (double alpha : {1.0, 0.1, 2.5}) {
        const R a = static_cast<R>(static_cast<T>(alpha));
        run(pname("elu", alpha), xact::elu{alpha}, [a](R y) { return r_elu_dy(y, a); });
    }
    // Exact points: sigmoid'(y = 0 or 1) = 0, tanh'(y = ±1) = 0, elu'(y = -alpha) = 0.
    const xact::sigmoid sg{};
    const xact::tanh th{};
    const xact::elu el{};
    expect_zero(
        "sigmoid'(y)", [sg](auto v) { return sg.derivative_from_output(v); }, T(1));
    expect_zero(
        "sigmoid'(y)", [sg](auto v) { return sg.derivative_from_output(v); }, T(0));
    expect_bits(
        "sigmoid'(y)", [sg](auto v) { return sg.derivative_from_output(v); }, T(0.5), T(0.25));
    expect_zero(
        "tanh'(y)", [th](auto v) { return th.derivative_from_output(v); }, T(1));
    expect_zero(
        "tanh'(y)", [th](auto v) { return th.derivative_from_output(v); }, T(-1));
    expect_bits(
        "tanh'(y)", [th](auto v) { return th.derivative_from_output(v); }, T(0), T(1));
    expect_zero(
        "elu'(y)", [el](auto v) { return el.derivative_from_output(v); }, T(-1));
    expect_bits(
        "elu'(y)", [el](auto v) { return el.derivative_from_output(v); }, T(3), T(1));
}

namespace {

/// Every functor (defaults and one non-default parameter each), for the array tests.
template <class Fn>
void for_each_functor(Fn&& fn) {
    fn("sigmoid", xact::sigmoid{});
    fn("tanh", xact::tanh{});
    fn("silu", xact::silu{});
    fn("swish{1.5}", xact::swish{1.5});
    fn("elu", xact::elu{});
    fn("elu{0.1}", xact::elu{0.1});
    fn("elu{0}", xact::elu{0.0});
    fn("selu", xact::selu{});
    fn("celu{0.5}", xact::celu{0.5});
    fn("gelu", xact::gelu{});
    fn("gelu_tanh", xact::gelu{true});
    fn("softplus{2}", xact::softplus{2.0});
    fn("mish", xact::mish{});
    fn("softsign", xact::softsign{});
    fn("log_sigmoid", xact::log_sigmoid{});
}

/// Inputs for the array tests: special values, tails and random values, shuffled.
template <class T>
std::vector<T> array_pool() {
    std::vector<T> pool = special_inputs<T>();
    for (T t : thresholds<T>())
        for (T x : xact_test::around(t, 2)) pool.push_back(x);
    std::mt19937_64 rng(77);
    std::uniform_real_distribution<double> mid(-30.0, 30.0);
    for (int i = 0; i < 400; ++i) pool.push_back(static_cast<T>(mid(rng)));
    std::shuffle(pool.begin(), pool.end(), rng);
    return pool;
}

template <class T>
T sentinel() {
    return std::is_same_v<T, float> ? from_bits<T>(0x5a5a5a5au)
                                    : from_bits<T>(0x5a5a5a5a5a5a5a5aull);
}

/// n elements starting `offset` elements after a 64-byte boundary, with guards around them.
template <class T>
struct guarded {
    guarded(std::size_t n, std::size_t offset)
        : buf(n + 2 * 64, offset + 64 / sizeof(T) - 1), n(n) {
        for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = sentinel<T>();
    }
    T* data() { return buf.data() + 1; }
    T& operator[](std::size_t i) { return buf[i + 1]; }
    bool guards_intact() const {
        if (bits(buf[0]) != bits(sentinel<T>())) return false;
        for (std::size_t i = n + 1; i < buf.size(); ++i)
            if (bits(buf[i]) != bits(sentinel<T>())) return false;
        return true;
    }
    xact_test::offset_buffer<T> buf;
    std::size_t n;
};

} // namespace

TEMPLATE_TEST_CASE("transcendental: array calls equal the scalar calls (lengths, alignments, "
                   "in place)",
                   "[transcendental]", float, double) {
    using T = TestType;
    constexpr std::size_t W = xsimd::batch<T>::size;
    const std::vector<T> pool = array_pool<T>();
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n <= 4 * W + 3; ++n) lengths.push_back(n);
    lengths.push_back(257);
    lengths.push_back(1000);

    for_each_functor([&](const char* name, const auto& f) {
        using F = std::decay_t<decltype(f)>;
        tally t;
        std::size_t start = 0;
        for (std::size_t n : lengths) {
            for (std::size_t off = 0; off < W; ++off) {
                const std::size_t off2 = (off + 1) % W, off3 = (off + W / 2) % W;
                start += 7;
                guarded<T> x(n, off), dy(n, off2), y(n, off3), dx(n, off2), io(n, off);
                for (std::size_t i = 0; i < n; ++i) {
                    x[i] = pool[(start + i) % pool.size()];
                    dy[i] = pool[(start + 3 * i + 1) % pool.size()];
                }
                const auto where = [&](const char* what, std::size_t i) {
                    return std::string(name) + " " + what + " n=" + std::to_string(n) +
                           " offset=" + std::to_string(off) + " i=" + std::to_string(i);
                };
                // forward, out of place and in place
                xact::forward(f, x.data(), y.data(), n);
                for (std::size_t i = 0; i < n; ++i) io[i] = x[i];
                xact::forward(f, io.data(), io.data(), n);
                for (std::size_t i = 0; i < n; ++i) {
                    const T s = f(x[i]);
                    if (!same(y[i], s))
                        t.add(describe(where("forward", i), x[i], y[i], static_cast<ld>(s)));
                    if (!same(io[i], s))
                        t.add(describe(where("forward in place", i), x[i], io[i],
                                       static_cast<ld>(s)));
                }
                if (!y.guards_intact() || !io.guards_intact())
                    t.add(where("forward wrote outside", 0));

                // backward: dx = dy * f'(x), out of place, in place over dy and over x
                xact::backward(f, x.data(), dy.data(), dx.data(), n);
                guarded<T> in_dy(n, off2), in_x(n, off);
                for (std::size_t i = 0; i < n; ++i) {
                    in_dy[i] = dy[i];
                    in_x[i] = x[i];
                }
                xact::backward(f, x.data(), in_dy.data(), in_dy.data(), n);
                xact::backward(f, in_x.data(), dy.data(), in_x.data(), n);
                for (std::size_t i = 0; i < n; ++i) {
                    const T s = dy[i] * f.derivative(x[i]);
                    if (!same(dx[i], s))
                        t.add(describe(where("backward", i), x[i], dx[i], static_cast<ld>(s)));
                    if (!same(in_dy[i], s))
                        t.add(describe(where("backward dx == dy", i), x[i], in_dy[i],
                                       static_cast<ld>(s)));
                    if (!same(in_x[i], s))
                        t.add(describe(where("backward dx == x", i), x[i], in_x[i],
                                       static_cast<ld>(s)));
                }
                if (!dx.guards_intact() || !in_dy.guards_intact() || !in_x.guards_intact())
                    t.add(where("backward wrote outside", 0));

                if constexpr (has_from_output<F, T>::value) {
                    guarded<T> g(n, off3), in_y(n, off3);
                    for (std::size_t i = 0; i < n; ++i) in_y[i] = y[i];
                    xact::backward_from_output(f, y.data(), dy.data(), g.data(), n);
                    xact::backward_from_output(f, in_y.data(), dy.data(), in_y.data(), n);
                    for (std::size_t i = 0; i < n; ++i) {
                        const T s = dy[i] * f.derivative_from_output(y[i]);
                        if (!same(g[i], s))
                            t.add(describe(where("backward_from_output", i), y[i], g[i],
                                           static_cast<ld>(s)));
                        if (!same(in_y[i], s))
                            t.add(describe(where("backward_from_output in place", i), y[i], in_y[i],
                                           static_cast<ld>(s)));
                    }
                    if (!g.guards_intact() || !in_y.guards_intact())
                        t.add(where("backward_from_output wrote outside", 0));
                }
            }
        }
        INFO(type_name<T>() << " " << name << ": " << t.count << " mismatches" << t.examples);
        CHECK(t.count == 0);
    });
}

TEMPLATE_TEST_CASE("transcendental: invalid parameters throw std::invalid_argument",
                   "[transcendental]", float, double) {
    using T = TestType;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<T> x(4, T(1)), dy(4, T(1)), out(4, T(7));
    const auto all_throw = [&](const char* what, const auto& f) {
        using F = std::decay_t<decltype(f)>;
        INFO(what);
        std::fill(out.begin(), out.end(), T(7));
        CHECK_THROWS_AS(xact::forward(f, x.data(), out.data(), x.size()), std::invalid_argument);
        CHECK_THROWS_AS(xact::backward(f, x.data(), dy.data(), out.data(), x.size()),
                        std::invalid_argument);
        if constexpr (has_from_output<F, T>::value)
            CHECK_THROWS_AS(
                xact::backward_from_output(f, x.data(), dy.data(), out.data(), x.size()),
                std::invalid_argument);
        // Checked before anything is written.
        for (T v : out) CHECK(v == T(7));
    };
    const auto no_throw = [&](const char* what, const auto& f) {
        INFO(what);
        CHECK_NOTHROW(xact::forward(f, x.data(), out.data(), x.size()));
        CHECK_NOTHROW(xact::backward(f, x.data(), dy.data(), out.data(), x.size()));
    };
    all_throw("celu{0}", xact::celu{0.0});
    all_throw("celu{-0}", xact::celu{-0.0});
    all_throw("celu{NaN}", xact::celu{nan});
    all_throw("softplus{0}", xact::softplus{0.0});
    all_throw("softplus{-1}", xact::softplus{-1.0});
    all_throw("softplus{inf}", xact::softplus{inf});
    all_throw("softplus{NaN}", xact::softplus{nan});
    all_throw("elu{inf}", xact::elu{inf});
    all_throw("elu{-inf}", xact::elu{-inf});
    all_throw("elu{NaN}", xact::elu{nan});
    all_throw("swish{inf}", xact::swish{inf});
    all_throw("swish{NaN}", xact::swish{nan});
    no_throw("celu{-1.5}", xact::celu{-1.5});
    no_throw("softplus{0.3}", xact::softplus{0.3});
    no_throw("elu{-0.5}", xact::elu{-0.5});
    no_throw("elu{0}", xact::elu{0.0});
    no_throw("swish{0}", xact::swish{0.0});
    no_throw("swish{-2}", xact::swish{-2.0});
    // Parameters finite in double but 0 or infinite once rounded to float: invalid for float
    // arrays (softplus would divide by 0 or by infinity), fine for double ones.
    const auto float_only_throw = [&](const char* what, const auto& f) {
        if constexpr (std::is_same_v<T, float>)
            all_throw(what, f);
        else
            no_throw(what, f);
    };
    float_only_throw("softplus{1e300}", xact::softplus{1e300});
    float_only_throw("softplus{1e-50}", xact::softplus{1e-50});
    float_only_throw("celu{1e300}", xact::celu{1e300});
    float_only_throw("celu{-1e-50}", xact::celu{-1e-50});
    float_only_throw("elu{-1e300}", xact::elu{-1e300});
    float_only_throw("swish{1e300}", xact::swish{1e300});
    no_throw("swish{1e-50}", xact::swish{1e-50}); // 0 in float: x / 2, as swish{0}
    no_throw("elu{1e-50}", xact::elu{1e-50});
    // The run-time activation reaches the same check.
    const xact::activation a = xact::softplus{1e300};
    if constexpr (std::is_same_v<T, float>)
        CHECK_THROWS_AS(a.forward(x.data(), out.data(), x.size()), std::invalid_argument);
    else
        CHECK_NOTHROW(a.forward(x.data(), out.data(), x.size()));
}

TEMPLATE_TEST_CASE("transcendental: the references agree with finite differences",
                   "[transcendental]", float, double) {
    // A self-check of the test: each derivative reference against a central difference of the
    // value reference, in R, away from kinks.
    using T = TestType;
    using R = ref_t<T>;
    const R h = rm::ldexp(R(1), -20);
    const auto fd = [h](auto f, R x) { return (f(x + h) - f(x - h)) / (2 * h); };
    const R b = static_cast<R>(0.75), a = static_cast<R>(1.5);
    for (double xd : {-6.0, -3.0, -1.3, -0.7, -0.2, 0.3, 0.9, 2.2, 5.5}) {
        const R x = static_cast<R>(xd);
        const std::pair<const char*, std::pair<R, R>> cases[] = {
            {"sigmoid", {fd(r_sigmoid<R>, x), r_sigmoid_d<R>(x)}},
            {"tanh", {fd(r_tanh<R>, x), r_tanh_d<R>(x)}},
            {"swish", {fd([b](R v) { return r_swish(v, b); }, x), r_swish_d(x, b)}},
            {"elu", {fd([a](R v) { return r_elu(v, a); }, x), r_elu_d(x, a)}},
            {"selu", {fd(r_selu<R>, x), r_selu_d<R>(x)}},
            {"celu", {fd([a](R v) { return r_celu(v, a); }, x), r_celu_d(x, a)}},
            {"gelu", {fd(r_gelu<R>, x), r_gelu_d<R>(x)}},
            {"gelu_tanh", {fd(r_gelu_tanh<R>, x), r_gelu_tanh_d<R>(x)}},
            {"softplus", {fd([b](R v) { return r_softplus(v, b); }, x), r_softplus_d(x, b)}},
            {"mish", {fd(r_mish<R>, x), r_mish_d<R>(x)}},
            {"softsign", {fd(r_softsign<R>, x), r_softsign_d<R>(x)}},
            {"log_sigmoid", {fd(r_log_sigmoid<R>, x), r_log_sigmoid_d<R>(x)}},
        };
        for (const auto& c : cases) {
            const ld num = static_cast<ld>(c.second.first), ana = static_cast<ld>(c.second.second);
            INFO(c.first << "' at " << xd << ": finite difference " << num << ", formula " << ana);
            CHECK(std::fabs(num - ana) <= 1e-8L * std::max(1.0L, std::fabs(ana)));
        }
        // And the gelu tanh form against the tanh formula itself.
        const ld xl = static_cast<ld>(x);
        const ld u =
            std::sqrt(2 / 3.14159265358979323846264338327950288L) * (xl + 0.044715L * xl * xl * xl);
        const ld direct = xl / 2 * (1 + std::tanh(u));
        CHECK(std::fabs(direct - static_cast<ld>(r_gelu_tanh<R>(x))) <= 1e-15L);
    }
}

// Found by the fuzzer (fuzz/README.md, "Fixed since"): gelu(+0) was -0 under clang 14, and
// swish with beta = 0 gave NaN at ±inf. Scalar and array calls, every length up to 2 widths.
TEMPLATE_TEST_CASE("transcendental: gelu(±0) keeps the sign; swish{0} is x/2 at ±inf", "", float,
                   double) {
    using T = TestType;
    const T inf = std::numeric_limits<T>::infinity();
    const std::size_t w = xsimd::batch<T>::size;
    for (std::size_t n = 1; n <= 2 * w + 1; ++n) {
        std::vector<T> x(n), y(n), d(n), one(n, T(1));
        for (std::size_t i = 0; i < n; ++i) x[i] = i % 2 == 0 ? T(0) : T(-0.0);
        xact::forward(xact::gelu{}, x.data(), y.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
            INFO("n = " << n << ", i = " << i);
            CHECK(std::signbit(y[i]) == std::signbit(x[i]));
            CHECK(y[i] == T(0));
            CHECK(std::signbit(xact::gelu{}(x[i])) == std::signbit(x[i]));
        }
        for (std::size_t i = 0; i < n; ++i) x[i] = i % 2 == 0 ? inf : -inf;
        xact::forward(xact::swish{0.0}, x.data(), y.data(), n);
        xact::backward(xact::swish{0.0}, x.data(), one.data(), d.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
            INFO("n = " << n << ", i = " << i);
            CHECK(y[i] == x[i]);
            CHECK(d[i] == T(0.5));
            CHECK(xact::swish{0.0}(x[i]) == x[i]);
        }
    }
}

// Found by the fuzzer: celu with a small negative alpha overflowed in expm1(x / alpha) although
// alpha expm1(x / alpha) is finite (alpha = -0.0364, x = -3.25 gives -2.2e37 in float), and
// gave a finite value where the result overflows. Scalar and array calls.
TEMPLATE_TEST_CASE("transcendental: celu with a small negative alpha near overflow", "", float,
                   double) {
    using T = TestType;
    using R = ref_t<T>;
    const std::size_t w = xsimd::batch<T>::size;
    const double alphas[] = {-0.036393061280250549, -1e-3, -0.25};
    for (const double alpha : alphas) {
        const xact::celu f{alpha};
        const R a = static_cast<R>(static_cast<T>(alpha));
        // x / alpha from 40 up to past overflow of alpha e^(x/alpha), in steps of 1/4.
        const double top = std::is_same_v<T, float> ? 200.0 : 1600.0;
        std::vector<T> x;
        for (double z = 40; z < top; z += 0.25) x.push_back(static_cast<T>(z * alpha));
        std::vector<T> y(x.size());
        xact::forward(f, x.data(), y.data(), x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            INFO("alpha = " << alpha << ", x = " << x[i] << " (width " << w << ")");
            const R want = r_celu(static_cast<R>(x[i]), a);
            CHECK(xact_test::ulp_error<T>(y[i], static_cast<ld>(want)) <= 2);
            CHECK(same(f(x[i]), y[i]));
        }
    }
}

TEMPLATE_TEST_CASE("softplus with a small beta: +0 at -inf and far left", "[transcendental]", float,
                   double) {
    // softplus(-inf) = +0 for any β (spec.md §1); e^(βx) / β is 0 once βx is far below the
    // range (float: βx < -220 gives at most e^-220 / 1.4e-45 < 2^-150).
    using T = TestType;
    const T inf = std::numeric_limits<T>::infinity();
    const double beta = std::is_same_v<T, float> ? 1e-4 : 1e-30;
    const xact::softplus f{beta};
    const T far = std::is_same_v<T, float> ? T(-1e7) : T(-1e300);
    std::vector<T> x = {-inf, far, -inf, far, -inf, far, -inf, far, -inf, far,
                        -inf, far, -inf, far, -inf, far, -inf, far, -inf};
    std::vector<T> y(x.size(), T(1));
    xact::forward(f, x.data(), y.data(), x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        INFO("x " << x[i]);
        CHECK(y[i] == T(0));
        CHECK(!std::signbit(y[i]));
        CHECK(f(x[i]) == T(0));
    }
}

// softplus{β} far left is e^(βx) / β: for β below 2e-3 (float) / 1e-7 (double) it stays
// representable where βx is below exp's clamp (-110 / -760), and the clamp gave e^-110 / β
// there (β = 1e-30, βx = -150: 1.7e-18 instead of 7.2e-36). Every β from the smallest
// subnormal to the largest, βx from -18 down to past underflow, against long double /
// __float128; scalar and array calls alike.
TEMPLATE_TEST_CASE("softplus with tiny and huge beta: the far-left tail e^(beta x) / beta",
                   "[transcendental]", float, double) {
    using T = TestType;
    using R = ref_t<T>;
    using L = std::numeric_limits<T>;
    constexpr bool f32 = std::is_same_v<T, float>;
    const std::vector<double> betas = {1e-4,
                                       1e-30,
                                       f32 ? 1e-38 : 1e-300,
                                       double(L::min()),
                                       double(L::denorm_min() * T(5)),
                                       double(L::denorm_min()),
                                       0.7,
                                       1e20,
                                       double(L::max())};
    const double lowest = f32 ? -400.0 : -2300.0;
    for (const double beta : betas) {
        const xact::softplus f{beta};
        const T b = static_cast<T>(beta);
        std::vector<T> x;
        for (double z = -17.0; z > lowest; z -= (f32 ? 0.8125 : 4.8125)) {
            const T v = static_cast<T>(z / static_cast<double>(b));
            if (std::isfinite(v) && v != 0) x.push_back(v);
        }
        x.push_back(-L::infinity());
        std::vector<T> y(x.size());
        xact::forward(f, x.data(), y.data(), x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const R z = static_cast<R>(b) * static_cast<R>(x[i]); // exact
            const R want = x[i] == -L::infinity() ? R(0) : rm::log1p(rm::exp(z)) / R(b);
            INFO("beta = " << beta << ", x = " << x[i] << ", beta x = " << static_cast<ld>(z)
                           << ", want " << static_cast<ld>(want) << ", got " << y[i]);
            CHECK(xact_test::ulp_error<T>(y[i], static_cast<ld>(want)) <= 2);
            CHECK(same(f(x[i]), y[i]));
        }
    }
}

// elu' = α e^x for any finite α (review finding): α times e^x's mantissa overflowed for α near
// the top of the range (α = 3e38, x = -0.4 gave inf), the clamp of x at -150 (float) / -1100
// (double) left α e^-150 where the true value is 0 (α = 1e20, x = -inf gave 2^-149), and a
// subnormal α lost bits before the scaling. Scalar and array calls, against long double.
TEMPLATE_TEST_CASE("transcendental: elu' for huge, tiny and subnormal alpha", "[transcendental]",
                   float, double) {
    using T = TestType;
    constexpr bool f32 = std::is_same_v<T, float>;
    const T inf = std::numeric_limits<T>::infinity();
    const T max = std::numeric_limits<T>::max();
    const T tiny = std::numeric_limits<T>::denorm_min();
    const std::vector<double> alphas = {
        double(max),  1e20,  1e30, f32 ? 1e38 : 1e300, 1e-30, double(tiny * 7), double(tiny),
        -double(max), -1e25, 0.5};
    std::vector<T> x;
    const double lowest = f32 ? -260.0 : -1800.0;
    for (double v = 0; v >= lowest; v -= (f32 ? 0.375 : 2.875)) x.push_back(static_cast<T>(v));
    for (const double v : {-0.4, -0.25, -1e-7, -1e-30}) x.push_back(static_cast<T>(v));
    x.push_back(-inf);
    x.push_back(-max);
    std::vector<T> dy(x.size(), T(1)), dx(x.size());
    for (const double alpha : alphas) {
        const xact::elu f{alpha};
        const ld a = static_cast<ld>(static_cast<T>(alpha));
        xact::backward(f, x.data(), dy.data(), dx.data(), x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            INFO("alpha = " << alpha << ", x = " << x[i]);
            const ld want = x[i] == -inf ? ld(0) * a : a * std::exp(static_cast<ld>(x[i]));
            CHECK(xact_test::ulp_error<T>(dx[i], want) <= 4);
            CHECK(same(f.derivative(x[i]), dx[i]));
        }
    }
}

// Parameters beyond 2^100 (review findings): without FMA, Dekker's splitting of β, α or x
// overflowed and gave NaN (swish{1e36}(1e-36), celu{3e38}'(-1)) or dropped a low part
// (softplus{3e38}', 33 ULP); celu' dropped the low part of x / α wherever |x| >= 2^100, in
// every build (celu{1e30}' at x = -2^106: 33 ULP in double); swish{3e-38}(-3.4e38) was NaN (x
// times e^(βx)'s mantissa overflowed before the scaling). βx (or x / α) runs from -30 to 30
// here; scalar and array calls alike.
TEMPLATE_TEST_CASE("transcendental: swish, celu and softplus with parameters beyond 2^100 or tiny",
                   "[transcendental]", float, double) {
    using T = TestType;
    using R = ref_t<T>;
    constexpr bool f32 = std::is_same_v<T, float>;
    const T max = std::numeric_limits<T>::max();
    std::vector<double> zs;
    for (double z = -30; z <= 30; z += 0.3125) zs.push_back(z);
    zs.push_back(-1e-3);
    const auto run = [&](const char* name, auto f, double p, bool over, auto ref_f, auto ref_d,
                         auto scale_d) {
        const T pt = static_cast<T>(p);
        std::vector<T> x;
        for (const double z : zs) {
            const T v = static_cast<T>(over ? z * static_cast<double>(pt) : z / pt);
            if (std::isfinite(v) && v != 0) x.push_back(v);
        }
        std::vector<T> y(x.size()), dy(x.size(), T(1)), dx(x.size());
        xact::forward(f, x.data(), y.data(), x.size());
        xact::backward(f, x.data(), dy.data(), dx.data(), x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const R xr = static_cast<R>(x[i]), pr = static_cast<R>(pt);
            INFO(name << "{" << p << "}, x = " << x[i] << ": f " << y[i] << ", f' " << dx[i]);
            CHECK(ulp_error(y[i], ref_f(xr, pr), R(0), true) <= value_bound);
            CHECK(ulp_error(dx[i], ref_d(xr, pr), scale_d(xr, pr), false) <= deriv_bound);
            CHECK(same(f(x[i]), y[i]));
            CHECK(same(f.derivative(x[i]), dx[i]));
        }
    };
    const auto no_scale = [](R, R) { return R(0); };
    // swish with a tiny |β| far left (βx below -150 / -1100), where |x| is large enough for
    // x σ(βx) to be representable: it was 0 (β = 1e-36, x = -1.7e38 gives -2.5e-36).
    for (const double beta : {f32 ? 1e-36 : 1e-305, f32 ? -1e-36 : -1e-305, f32 ? 1e-30 : 1e-290}) {
        const xact::swish f{beta};
        const T bt = static_cast<T>(beta);
        std::vector<T> x;
        for (double z = f32 ? -140 : -1000; z > (f32 ? -260 : -1700); z -= (f32 ? 0.75 : 4.75)) {
            const T v = static_cast<T>(z / static_cast<double>(bt));
            if (std::isfinite(v)) x.push_back(v);
        }
        std::vector<T> y(x.size());
        xact::forward(f, x.data(), y.data(), x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const R want = r_swish(static_cast<R>(x[i]), static_cast<R>(bt));
            INFO("swish{" << beta << "}, x = " << x[i] << ": got " << y[i] << ", want "
                          << static_cast<ld>(want));
            CHECK(ulp_error(y[i], want, R(0), true) <= value_bound);
            CHECK(same(f(x[i]), y[i]));
        }
    }
    for (const double beta :
         {f32 ? 1e36 : 1e301, double(max), f32 ? 1e-36 : 1e-301, f32 ? 3e-38 : 1e-307}) {
        run("swish", xact::swish{beta}, beta, false, r_swish<R>, r_swish_d<R>, r_swish_d_scale<R>);
    }
    for (const double beta : {f32 ? 1e36 : 1e301, double(max)})
        run("softplus", xact::softplus{beta}, beta, false, r_softplus<R>, r_softplus_d<R>,
            no_scale);
    for (const double alpha : {1e30, f32 ? 3e38 : 1e301, double(max), -1e30}) {
        run("celu", xact::celu{alpha}, alpha, true, r_celu<R>, r_celu_d<R>, no_scale);
        // x = -1: x / α is tiny, f' is 1 rounded (it was NaN without FMA).
        const xact::celu f{alpha};
        const R want = r_celu_d(R(-1), static_cast<R>(static_cast<T>(alpha)));
        CHECK(ulp_error(f.derivative(T(-1)), want, R(0), false) <= deriv_bound);
    }
    // |α| below 2^-80 (2^-900), down to subnormal: the residual of x / α and (without FMA) the
    // product by α lost their low bits below the subnormal range. f' was 32 ULP off for
    // α = 1e-40 with FMA (250 without), f 2.4 ULP for α = 1e-37 without FMA (found by a review).
    for (const double alpha :
         {f32 ? 1e-37 : 1e-300, f32 ? 1e-40 : 1e-310, f32 ? 1e-44 : 1e-320, f32 ? -1e-40 : -1e-310})
        run("celu", xact::celu{alpha}, alpha, true, r_celu<R>, r_celu_d<R>, no_scale);
    // α < 0 huge and z = x / α in [30, 90]: α expm1(z) reaches and passes -max. The correction
    // α e^z z_lo alone overflowed there with the sign of -z_lo: +inf or NaN instead of -inf
    // (α = -1e300, x = -0x1.ddd4baa0092d3p+1002; found by a review).
    for (const double alpha : {f32 ? -1e30 : -1e300, f32 ? -3e37 : -1e290, f32 ? -1e20 : -1e200}) {
        const xact::celu f{alpha};
        const T at = static_cast<T>(alpha);
        std::vector<T> x;
        for (double z = 30; z < 90; z += 0.0625 + 1e-3 * z)
            x.push_back(static_cast<T>(z * static_cast<double>(at)));
        std::vector<T> y(x.size());
        xact::forward(f, x.data(), y.data(), x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const R want = r_celu(static_cast<R>(x[i]), static_cast<R>(at));
            INFO("celu{" << alpha << "}, x = " << x[i] << ": got " << y[i] << ", want "
                         << static_cast<ld>(want));
            CHECK(ulp_error(y[i], want, R(0), true) <= value_bound);
            CHECK(same(f(x[i]), y[i]));
        }
    }
}
