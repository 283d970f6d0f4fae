// xact verify — measures a kernel's error against an independent higher-precision reference.
//
//   verify <function> [--derivative] [--type float|double] [--stride S] [--from A --to B]
//          [--samples N] [--threads K]
//
// float: sweeps every float32 bit pattern (or every S-th, or those in [A, B]) through the
// array kernel (SIMD body and tail) and compares with the reference in long double.
// double: N samples (default 10^7; half uniform in [-10, 10], half random bit patterns, or all
// uniform in [A, B] when a range is given) against a __float128 reference. Prints max ULP (with the
// worst input), mean ULP, the count above the spec.md bound, and the count of results that differ
// from the correctly rounded reference. A bound of 0 (exact functions) means: equal to the
// correctly rounded reference, sign of zero included. Exit status 1 when the bound is exceeded.
#include <xact/xact.hpp>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#if defined(__SIZEOF_FLOAT128__) && !defined(__clang__)
#include <quadmath.h>
using wide = __float128; // reference type for double
#define XACT_VERIFY_QUAD 1
#else
using wide = long double;
#define XACT_VERIFY_QUAD 0
#endif

namespace {

// ---------------------------------------------------------------- references
// Independent formulas, evaluated in R = long double (float kernels) or wide (double kernels).
// Parameters are rounded to the kernel's type T first, as xact documents.

template <class R>
R clamp(R v, R lo, R hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

struct entry {
    const char* name;
    double bound; // spec.md §3, ULP
    // reference for float (long double) and double (wide); `d` selects the derivative
    long double (*ref_f)(long double, bool);
    wide (*ref_d)(wide, bool);
    void (*run_f)(const float*, float*, std::size_t, bool);
    void (*run_d)(const double*, double*, std::size_t, bool);
    // Optional. Bound of the derivative (< 0: same as `bound`); the scale of the derivative's
    // terms where it crosses zero (error measured in ULP of max(|ref|, scale)); functions
    // without a derivative kernel (xact::math).
    double dbound = -1;
    long double (*scale_f)(long double) = nullptr;
    wide (*scale_d)(wide) = nullptr;
    bool no_derivative = false;
};

template <class F, class T>
void run_kernel(const T* x, T* y, std::size_t n, bool d) {
    if (!d) {
        xact::forward(F{}, x, y, n);
    } else {
        thread_local std::vector<T> dy;
        dy.assign(n, T(1));
        xact::backward(F{}, x, dy.data(), y, n); // 1 * f'(x) = f'(x) exactly
    }
}

template <class R>
R ref_identity(R x, bool d) {
    return d ? (x != x ? x : R(1)) : x;
}
template <class R>
R ref_relu(R x, bool d) {
    return d ? (x != x ? x : (x > 0 ? R(1) : R(0))) : (x != x ? x : (x > 0 ? x : R(0)));
}
template <class R>
R ref_relu6(R x, bool d) {
    if (x != x) return x;
    return d ? ((x > 0 && x < 6) ? R(1) : R(0)) : clamp(x, R(0), R(6));
}
template <class R>
R ref_hardtanh(R x, bool d) {
    if (x != x) return x;
    return d ? ((x > -1 && x < 1) ? R(1) : R(0)) : clamp(x, R(-1), R(1));
}
template <class R>
R ref_hard_sigmoid(R x, bool d) {
    if (x != x) return x;
    if (d) return (x > -3 && x < 3) ? R(1) / R(6) : R(0);
    return clamp(x + 3, R(0), R(6)) / 6;
}
template <class R>
R ref_hard_swish(R x, bool d) {
    if (x != x) return x;
    if (d) return x < -3 ? R(0) : (x <= 3 ? x / 3 + R(1) / 2 : R(1));
    if (x <= -3) return -R(0);
    if (x >= 3) return x;
    return x * (x + 3) / 6;
}

// leaky_relu with the default alpha rounded to T: the reference differs per T.
long double ref_leaky_f(long double x, bool d) {
    const long double a = static_cast<float>(0.01);
    if (x != x) return x;
    return d ? (x > 0 ? 1.0L : a) : (x > 0 ? x : a * x);
}
wide ref_leaky_d(wide x, bool d) {
    const wide a = 0.01;
    if (x != x) return x;
    return d ? (x > 0 ? wide(1) : a) : (x > 0 ? x : a * x);
}

// ---------------------------------------------------------------- transcendental references
// Math in R = long double (expl, ...) or wide = __float128 (expq, ...). Formulas chosen to stay
// accurate in the tails (see tests/test_transcendental.cpp for the reasoning).
namespace rf {
inline long double exp(long double x) {
    return expl(x);
}
inline long double expm1(long double x) {
    return expm1l(x);
}
inline long double log1p(long double x) {
    return log1pl(x);
}
inline long double erfc(long double x) {
    return erfcl(x);
}
inline long double tanh(long double x) {
    return tanhl(x);
}
inline long double fabs(long double x) {
    return fabsl(x);
}
inline long double sqrt(long double x) {
    return sqrtl(x);
}
inline long double parse(long double, const char* s) {
    return strtold(s, nullptr);
}
#if XACT_VERIFY_QUAD
inline wide exp(wide x) {
    return expq(x);
}
inline wide expm1(wide x) {
    return expm1q(x);
}
inline wide log1p(wide x) {
    return log1pq(x);
}
inline wide erfc(wide x) {
    return erfcq(x);
}
inline wide tanh(wide x) {
    return tanhq(x);
}
inline wide fabs(wide x) {
    return fabsq(x);
}
inline wide sqrt(wide x) {
    return sqrtq(x);
}
inline wide parse(wide, const char* s) {
    return strtoflt128(s, nullptr);
}
#endif
template <class R>
bool isinf(R x) {
    const R inf = static_cast<R>(INFINITY);
    return x == inf || x == -inf;
}
template <class R>
R max(R a, R b) {
    return a > b ? a : b;
}
template <class R>
R pi() {
    static const R v = parse(R(0), "3.14159265358979323846264338327950288419716939937510");
    return v;
}
template <class R>
R constant(const char* s) {
    return parse(R(0), s);
}
} // namespace rf

template <class R>
R sigm(R z) {
    return 1 / (1 + rf::exp(-z));
}
template <class R>
R log1pexp(R z) {
    return z > 0 ? z + rf::log1p(rf::exp(-z)) : rf::log1p(rf::exp(z));
}

template <class R>
R ref_sigmoid(R x, bool d) {
    if (!d) return sigm(x);
    const R t = rf::exp(-rf::fabs(x));
    return t / ((1 + t) * (1 + t));
}
template <class R>
R ref_tanh(R x, bool d) {
    if (!d) return rf::tanh(x);
    const R t = rf::exp(-2 * rf::fabs(x));
    return 4 * t / ((1 + t) * (1 + t));
}
/// swish(x) = x sigma(bx); swish' = sigma(z) (1 + z sigma(-z)), z = bx.
template <class R>
R swish_b(R x, bool d, R b) {
    if (x != x) return x;
    const R z = b * x;
    if (rf::isinf(x)) {
        if (d) return z > 0 ? R(1) : R(0);
        return z > 0 ? x : (x > 0 ? R(0) : -R(0));
    }
    if (!d) return x / (1 + rf::exp(-z));
    return sigm(z) * (1 + z * sigm(-z));
}
template <class R>
R swish_scale_b(R x, R b) {
    if (x != x || rf::isinf(x)) return R(0);
    const R z = b * x;
    return rf::max(sigm(z), rf::fabs(z) * sigm(z) * sigm(-z));
}
template <class R>
R ref_silu(R x, bool d) {
    return swish_b(x, d, R(1));
}
template <class R>
R scale_silu(R x) {
    return swish_scale_b(x, R(1));
}
template <class R>
R ref_swish15(R x, bool d) {
    return swish_b(x, d, R(1.5));
}
template <class R>
R scale_swish15(R x) {
    return swish_scale_b(x, R(1.5));
}
template <class R>
R ref_elu(R x, bool d) {
    return x > 0 ? (d ? R(1) : x) : (d ? rf::exp(x) : rf::expm1(x));
}
template <class R>
R ref_selu(R x, bool d) {
    static const R lambda = rf::constant<R>("1.0507009873554804934193349852946");
    static const R alpha = rf::constant<R>("1.6732632423543772848170429916717");
    return lambda * (x > 0 ? (d ? R(1) : x) : alpha * (d ? rf::exp(x) : rf::expm1(x)));
}
template <class R>
R ref_celu(R x, bool d) {
    return ref_elu(x, d);
} // alpha = 1: celu = elu, celu' = e^x
/// gelu = (x/2) erfc(-x/sqrt2); gelu' = Phi(x) + x phi(x).
template <class R>
R ref_gelu(R x, bool d) {
    if (rf::isinf(x)) return x > 0 ? (d ? R(1) : x) : (d ? R(0) : -R(0));
    const R phi = rf::exp(-(x * x) / 2) / rf::sqrt(2 * rf::pi<R>());
    const R Phi = rf::erfc(-x / rf::sqrt(R(2))) / 2;
    return d ? Phi + x * phi : x * Phi;
}
template <class R>
R scale_gelu(R x) {
    if (x != x || rf::isinf(x)) return R(0);
    return rf::max(rf::erfc(-x / rf::sqrt(R(2))) / 2,
                   rf::fabs(x) * rf::exp(-(x * x) / 2) / rf::sqrt(2 * rf::pi<R>()));
}
/// gelu, tanh form: x sigma(2u), u = sqrt(2/pi)(x + 0.044715 x^3), constants exact in R.
template <class R>
R ref_gelu_tanh(R x, bool d) {
    if (rf::isinf(x)) return x > 0 ? (d ? R(1) : x) : (d ? R(0) : -R(0));
    static const R c = rf::sqrt(2 / rf::pi<R>()), k = rf::constant<R>("0.044715");
    const R u = c * (x + k * x * x * x);
    if (!d) return x * sigm(2 * u);
    return sigm(2 * u) * (1 + 2 * x * c * (1 + 3 * k * x * x) * sigm(-2 * u));
}
template <class R>
R scale_gelu_tanh(R x) {
    if (x != x || rf::isinf(x)) return R(0);
    static const R c = rf::sqrt(2 / rf::pi<R>()), k = rf::constant<R>("0.044715");
    const R u = c * (x + k * x * x * x);
    return rf::max(sigm(2 * u),
                   rf::fabs(2 * x * c * (1 + 3 * k * x * x)) * sigm(2 * u) * sigm(-2 * u));
}
template <class R>
R ref_softplus(R x, bool d) {
    return d ? sigm(x) : log1pexp(x);
}
/// mish = x tanh(softplus(x)); mish' = tanh(sp) + x sech^2(sp) sigma(x).
template <class R>
R ref_mish(R x, bool d) {
    if (rf::isinf(x)) return x > 0 ? (d ? R(1) : x) : (d ? R(0) : -R(0));
    const R th = rf::tanh(log1pexp(x));
    return d ? th + x * ((1 - th) * (1 + th)) * sigm(x) : x * th;
}
template <class R>
R scale_mish(R x) {
    if (x != x || rf::isinf(x)) return R(0);
    const R th = rf::tanh(log1pexp(x));
    return rf::max(th, rf::fabs(x) * ((1 - th) * (1 + th)) * sigm(x));
}
template <class R>
R ref_softsign(R x, bool d) {
    if (d) return 1 / ((1 + rf::fabs(x)) * (1 + rf::fabs(x)));
    if (rf::isinf(x)) return x > 0 ? R(1) : R(-1);
    return x / (1 + rf::fabs(x));
}
template <class R>
R ref_log_sigmoid(R x, bool d) {
    if (d) return sigm(-x);
    return x < 0 ? x - rf::log1p(rf::exp(x)) : -rf::log1p(rf::exp(-x));
}
template <class R>
R no_scale(R) {
    return R(0);
} // derivative without zeros: relative error
template <class R>
R ref_exp(R x, bool) {
    return rf::exp(x);
}
template <class R>
R ref_expm1(R x, bool) {
    return rf::expm1(x);
}
template <class R>
R ref_log1p(R x, bool) {
    return rf::log1p(x);
}
template <class R>
R ref_erfc(R x, bool) {
    return rf::erfc(x);
}

// Functors with non-default parameters, as types run_kernel can default-construct.
struct gelu_tanh_fn : xact::gelu {
    gelu_tanh_fn() : xact::gelu{true} {}
};
struct swish15_fn : xact::swish {
    swish15_fn() : xact::swish{1.5} {}
};

/// The math functions over an array: SIMD body, scalar tail (no derivative).
template <class M, class T>
void run_math(const T* x, T* y, std::size_t n, bool) {
    using B = xsimd::batch<T>;
    std::size_t i = 0;
    for (; i + B::size <= n; i += B::size) M{}(B::load_unaligned(x + i)).store_unaligned(y + i);
    for (; i < n; ++i) y[i] = M{}(x[i]);
}
struct m_exp {
    template <class V>
    V operator()(const V& v) const {
        return xact::math::exp(v);
    }
};
struct m_expm1 {
    template <class V>
    V operator()(const V& v) const {
        return xact::math::expm1(v);
    }
};
struct m_log1p {
    template <class V>
    V operator()(const V& v) const {
        return xact::math::log1p(v);
    }
};
struct m_erfc {
    template <class V>
    V operator()(const V& v) const {
        return xact::math::erfc(v);
    }
};

#define XACT_ENTRY(name, bound, F, ref)                                                            \
    entry {                                                                                        \
#name, bound, ref < long double>, ref < wide>, run_kernel < F, float>, run_kernel < F,     \
            double>                                                                                \
    }

const entry entries[] = {
    XACT_ENTRY(identity, 0, xact::identity, ref_identity),
    XACT_ENTRY(relu, 0, xact::relu, ref_relu),
    XACT_ENTRY(relu6, 0, xact::relu6, ref_relu6),
    XACT_ENTRY(hardtanh, 0, xact::hardtanh, ref_hardtanh),
    XACT_ENTRY(hard_sigmoid, 1, xact::hard_sigmoid, ref_hard_sigmoid),
    XACT_ENTRY(hard_swish, 1, xact::hard_swish, ref_hard_swish),
    entry{"leaky_relu", 0, ref_leaky_f, ref_leaky_d, run_kernel<xact::leaky_relu, float>,
          run_kernel<xact::leaky_relu, double>},
// spec.md §3: 2 ULP (gelu, mish: 4); derivatives 4, absolute near their zeros.
#define XACT_ENTRY_T(name, bound, F, ref, scale)                                                   \
    entry {                                                                                        \
        name, bound, ref<long double>, ref<wide>, run_kernel<F, float>, run_kernel<F, double>, 4,  \
            scale<long double>, scale<wide>                                                        \
    }
    XACT_ENTRY_T("sigmoid", 2, xact::sigmoid, ref_sigmoid, no_scale),
    XACT_ENTRY_T("tanh", 2, xact::tanh, ref_tanh, no_scale),
    XACT_ENTRY_T("silu", 2, xact::silu, ref_silu, scale_silu),
    XACT_ENTRY_T("swish", 2, xact::swish, ref_silu, scale_silu),
    XACT_ENTRY_T("swish_1.5", 2, swish15_fn, ref_swish15, scale_swish15),
    XACT_ENTRY_T("elu", 2, xact::elu, ref_elu, no_scale),
    XACT_ENTRY_T("selu", 2, xact::selu, ref_selu, no_scale),
    XACT_ENTRY_T("celu", 2, xact::celu, ref_celu, no_scale),
    XACT_ENTRY_T("gelu", 4, xact::gelu, ref_gelu, scale_gelu),
    XACT_ENTRY_T("gelu_tanh", 4, gelu_tanh_fn, ref_gelu_tanh, scale_gelu_tanh),
    XACT_ENTRY_T("softplus", 2, xact::softplus, ref_softplus, no_scale),
    XACT_ENTRY_T("mish", 4, xact::mish, ref_mish, scale_mish),
    XACT_ENTRY_T("softsign", 2, xact::softsign, ref_softsign, no_scale),
    XACT_ENTRY_T("log_sigmoid", 2, xact::log_sigmoid, ref_log_sigmoid, no_scale),
#undef XACT_ENTRY_T
    // xact::math: 1 ULP (erfc 2), no derivative.
    entry{"exp", 1, ref_exp<long double>, ref_exp<wide>, run_math<m_exp, float>,
          run_math<m_exp, double>, -1, nullptr, nullptr, true},
    entry{"expm1", 1, ref_expm1<long double>, ref_expm1<wide>, run_math<m_expm1, float>,
          run_math<m_expm1, double>, -1, nullptr, nullptr, true},
    entry{"log1p", 1, ref_log1p<long double>, ref_log1p<wide>, run_math<m_log1p, float>,
          run_math<m_log1p, double>, -1, nullptr, nullptr, true},
    entry{"erfc", 2, ref_erfc<long double>, ref_erfc<wide>, run_math<m_erfc, float>,
          run_math<m_erfc, double>, -1, nullptr, nullptr, true},
};

// ---------------------------------------------------------------- measurement

template <class T>
long double ulp_of(long double r) {
    const long double tiny = std::numeric_limits<T>::denorm_min();
    if (r == 0 || !std::isfinite(r)) return tiny;
    int e = 0;
    std::frexp(r, &e);
    const long double u = std::ldexp(1.0L, e - std::numeric_limits<T>::digits);
    return u < tiny ? tiny : u;
}

struct stats {
    double max_ulp = 0;
    double worst_x = 0;
    double sum_ulp = 0;
    std::uint64_t count = 0, above = 0, not_rounded = 0, special_fail = 0;
    void merge(const stats& o) {
        if (o.max_ulp > max_ulp) {
            max_ulp = o.max_ulp;
            worst_x = o.worst_x;
        }
        sum_ulp += o.sum_ulp;
        count += o.count;
        above += o.above;
        not_rounded += o.not_rounded;
        special_fail += o.special_fail;
    }
};

/// Error of y against the reference value rw (in R = long double or wide) in ULP of T. The
/// correctly rounded reference is rounded from rw directly (no double rounding).
/// `floor` (derivatives that cross zero): the error is in ULP of max(|rw|, floor). The sign of
/// a zero result is checked for function values only (`zero_sign`): the sign of an underflowed
/// derivative is not part of the contract.
template <class T, class R>
void measure(stats& s, T x, T y, R rw, double bound, R floor = R(0), bool zero_sign = true) {
    ++s.count;
    const T rounded = static_cast<T>(rw);
    const long double r = static_cast<long double>(rw);
    double err;
    if (std::isnan(r) || std::isnan(y)) {
        err = (std::isnan(r) && std::isnan(y)) ? 0.0 : INFINITY;
    } else if (std::isinf(rounded) || std::isinf(y)) {
        err = (y == rounded) ? 0.0 : INFINITY;
    } else if (y == 0 && rounded != 0) {
        err = INFINITY;
    } else {
        const R diff = static_cast<R>(y) - rw;
        const long double ad = std::fabs(static_cast<long double>(diff));
        const long double fl = static_cast<long double>(floor);
        err = static_cast<double>(ad / ulp_of<T>(std::fabs(r) > fl ? r : fl));
        if (zero_sign && y == 0 && rounded == 0 && std::signbit(y) != std::signbit(rounded))
            err = INFINITY;
    }
    const bool rounded_ok =
        (std::isnan(y) && std::isnan(rounded)) || std::memcmp(&y, &rounded, sizeof y) == 0;
    if (!rounded_ok) ++s.not_rounded;
    if (std::isinf(err)) ++s.special_fail;
    // bound 0: exact functions must return the correctly rounded reference, bit for bit.
    if (bound == 0 ? !rounded_ok : err > bound) ++s.above;
    if (err > s.max_ulp) {
        s.max_ulp = err;
        s.worst_x = static_cast<double>(x);
    }
    if (std::isfinite(err)) s.sum_ulp += err;
}

void report(const char* name, const char* type, bool d, const stats& s, double bound) {
    std::printf("%s%s %s: %" PRIu64 " inputs, max %.4f ULP at %a, mean %.3g ULP, %" PRIu64
                " above the bound %.1f, %" PRIu64 " not correctly rounded, %" PRIu64
                " special-value failures\n",
                name, d ? "'" : "", type, s.count, s.max_ulp, s.worst_x,
                s.count ? s.sum_ulp / double(s.count) : 0.0, s.above, bound, s.not_rounded,
                s.special_fail);
}

int sweep_float(const entry& e, bool d, std::uint64_t stride, float from, float to,
                unsigned threads) {
    const std::uint64_t total = (std::uint64_t(1) << 32);
    const std::uint64_t block = std::uint64_t(1) << 16;
    std::atomic<std::uint64_t> next{0};
    std::mutex m;
    stats all;
    auto work = [&] {
        stats s;
        std::vector<float> x(block), y(block);
        for (;;) {
            const std::uint64_t start = next.fetch_add(block * stride);
            if (start >= total) break;
            std::size_t n = 0;
            for (std::uint64_t u = start; u < total && u < start + block * stride; u += stride) {
                float v;
                const auto b = static_cast<std::uint32_t>(u);
                std::memcpy(&v, &b, sizeof v);
                if (!(v >= from && v <= to) && !(std::isnan(v) && from == -INFINITY)) continue;
                x[n++] = v;
            }
            e.run_f(x.data(), y.data(), n, d);
            const double bound = d && e.dbound >= 0 ? e.dbound : e.bound;
            for (std::size_t i = 0; i < n; ++i)
                measure(s, x[i], y[i], e.ref_f(x[i], d), bound,
                        d && e.scale_f ? e.scale_f(x[i]) : 0.0L, !d);
            if (start % (block * stride * 4096) == 0) {
                std::fprintf(stderr, "\r%5.1f %%", 100.0 * double(start) / double(total));
                std::fflush(stderr);
            }
        }
        std::lock_guard<std::mutex> lock(m);
        all.merge(s);
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
    for (auto& t : pool) t.join();
    std::fprintf(stderr, "\r");
    report(e.name, "float", d, all, d && e.dbound >= 0 ? e.dbound : e.bound);
    return all.above == 0 ? 0 : 1;
}

int sample_double(const entry& e, bool d, std::uint64_t samples, double from, double to,
                  unsigned threads) {
    const bool ranged = std::isfinite(from) || std::isfinite(to);
    std::mutex m;
    stats all;
    auto work = [&](unsigned t) {
        stats s;
        std::mt19937_64 rng(12345 + t);
        std::uniform_real_distribution<double> mid(-10.0, 10.0);
        std::uniform_real_distribution<double> range(from, to);
        const std::size_t block = 1 << 14;
        std::vector<double> x(block), y(block);
        for (std::uint64_t done = t * block; done < samples; done += threads * block) {
            const std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(block, samples - done));
            for (std::size_t i = 0; i < n; ++i) {
                if (ranged) {
                    x[i] = range(rng);
                } else if (i % 2) {
                    x[i] = mid(rng);
                } else {
                    const std::uint64_t b = rng();
                    std::memcpy(&x[i], &b, sizeof b);
                }
            }
            e.run_d(x.data(), y.data(), n, d);
            const double bound = d && e.dbound >= 0 ? e.dbound : e.bound;
            for (std::size_t i = 0; i < n; ++i) {
                measure(s, x[i], y[i], e.ref_d(x[i], d), bound,
                        d && e.scale_d ? e.scale_d(x[i]) : wide(0), !d);
            }
        }
        std::lock_guard<std::mutex> lock(m);
        all.merge(s);
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work, t);
    for (auto& t : pool) t.join();
    report(e.name, XACT_VERIFY_QUAD ? "double (vs __float128)" : "double (vs long double)", d, all,
           d && e.dbound >= 0 ? e.dbound : e.bound);
    return all.above == 0 ? 0 : 1;
}

void usage() {
    std::fprintf(stderr, "usage: verify <function|all> [--derivative] [--type float|double] "
                         "[--stride S] [--from A --to B] [--samples N] [--threads K]\nfunctions:");
    for (const auto& e : entries) std::fprintf(stderr, " %s", e.name);
    std::fprintf(stderr, "\n");
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        usage();
        return 2;
    }
    const std::string name = argv[1];
    bool d = false;
    std::string type = "float";
    std::uint64_t stride = 1, samples = 10000000;
    double from = -INFINITY, to = INFINITY;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--derivative")
            d = true;
        else if (a == "--type")
            type = value();
        else if (a == "--stride")
            stride = std::max<std::uint64_t>(1, std::strtoull(value(), nullptr, 10));
        else if (a == "--from")
            from = std::strtod(value(), nullptr);
        else if (a == "--to")
            to = std::strtod(value(), nullptr);
        else if (a == "--samples")
            samples = std::strtoull(value(), nullptr, 10);
        else if (a == "--threads")
            threads = static_cast<unsigned>(std::strtoul(value(), nullptr, 10));
        else {
            usage();
            return 2;
        }
    }
    if (type == "double" && !(std::isfinite(from) && std::isfinite(to) && from < to) &&
        (std::isfinite(from) || std::isfinite(to))) {
        std::fprintf(stderr, "--type double: --from and --to must both be finite, from < to\n");
        return 2;
    }
    int rc = 0;
    bool found = false;
    for (const auto& e : entries) {
        if (name != "all" && name != e.name) continue;
        found = true;
        if (d && e.no_derivative) {
            if (name != "all") std::fprintf(stderr, "%s: no derivative kernel\n", e.name);
            if (name != "all") rc |= 2;
            continue;
        }
        rc |= type == "double" ? sample_double(e, d, samples, from, to, threads)
                               : sweep_float(e, d, stride, static_cast<float>(from),
                                             static_cast<float>(to), threads);
    }
    if (!found) {
        usage();
        return 2;
    }
    return rc;
}
