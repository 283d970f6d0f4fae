// xact verify — measures a kernel's error against an independent higher-precision reference.
//
//   verify <function> [--derivative] [--type float|double] [--stride S] [--from A --to B]
//          [--samples N] [--threads K]
//
// float: sweeps every float32 bit pattern (or every S-th, or those in [A, B]) through the
// array kernel (SIMD body and tail) and compares with the reference in long double.
// double: N samples (default 10^7; half uniform in [-10, 10], half random bit patterns) against
// a __float128 reference. Prints max ULP (with the worst input), mean ULP, the count above
// the spec.md bound, and the count of results that differ from the correctly rounded
// reference. A bound of 0 (exact functions) means: equal to the correctly rounded reference,
// sign of zero included. Exit status 1 when the bound is exceeded.
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
R ref_identity(R x, bool d) { return d ? (x != x ? x : R(1)) : x; }
template <class R>
R ref_relu(R x, bool d) { return d ? (x != x ? x : (x > 0 ? R(1) : R(0))) : (x != x ? x : (x > 0 ? x : R(0))); }
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

#define XACT_ENTRY(name, bound, F, ref)                                                        \
    entry {                                                                                    \
        #name, bound, ref<long double>, ref<wide>, run_kernel<F, float>, run_kernel<F, double> \
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
template <class T, class R>
void measure(stats& s, T x, T y, R rw, double bound) {
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
        err = static_cast<double>(ad / ulp_of<T>(r));
        if (y == 0 && rounded == 0 && std::signbit(y) != std::signbit(rounded)) err = INFINITY;
    }
    const bool rounded_ok = (std::isnan(y) && std::isnan(rounded)) ||
                            std::memcmp(&y, &rounded, sizeof y) == 0;
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

int sweep_float(const entry& e, bool d, std::uint64_t stride, float from, float to, unsigned threads) {
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
            for (std::size_t i = 0; i < n; ++i) measure(s, x[i], y[i], e.ref_f(x[i], d), e.bound);
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
    report(e.name, "float", d, all, e.bound);
    return all.above == 0 ? 0 : 1;
}

int sample_double(const entry& e, bool d, std::uint64_t samples, unsigned threads) {
    std::mutex m;
    stats all;
    auto work = [&](unsigned t) {
        stats s;
        std::mt19937_64 rng(12345 + t);
        std::uniform_real_distribution<double> mid(-10.0, 10.0);
        const std::size_t block = 1 << 14;
        std::vector<double> x(block), y(block);
        for (std::uint64_t done = t * block; done < samples; done += threads * block) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(block, samples - done));
            for (std::size_t i = 0; i < n; ++i) {
                if (i % 2) {
                    x[i] = mid(rng);
                } else {
                    const std::uint64_t b = rng();
                    std::memcpy(&x[i], &b, sizeof b);
                }
            }
            e.run_d(x.data(), y.data(), n, d);
            for (std::size_t i = 0; i < n; ++i) {
                measure(s, x[i], y[i], e.ref_d(x[i], d), e.bound);
            }
        }
        std::lock_guard<std::mutex> lock(m);
        all.merge(s);
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work, t);
    for (auto& t : pool) t.join();
    report(e.name, XACT_VERIFY_QUAD ? "double (vs __float128)" : "double (vs long double)", d, all,
           e.bound);
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
    float from = -INFINITY, to = INFINITY;
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
        if (a == "--derivative") d = true;
        else if (a == "--type") type = value();
        else if (a == "--stride") stride = std::max<std::uint64_t>(1, std::strtoull(value(), nullptr, 10));
        else if (a == "--from") from = std::strtof(value(), nullptr);
        else if (a == "--to") to = std::strtof(value(), nullptr);
        else if (a == "--samples") samples = std::strtoull(value(), nullptr, 10);
        else if (a == "--threads") threads = static_cast<unsigned>(std::strtoul(value(), nullptr, 10));
        else {
            usage();
            return 2;
        }
    }
    int rc = 0;
    bool found = false;
    for (const auto& e : entries) {
        if (name != "all" && name != e.name) continue;
        found = true;
        rc |= type == "double" ? sample_double(e, d, samples, threads)
                               : sweep_float(e, d, stride, from, to, threads);
    }
    if (!found) {
        usage();
        return 2;
    }
    return rc;
}
