// xact benchmark: the array calls against a plain loop, against Eigen (when found) and against
// std::memcpy, one binary so that every ratio comes from one run on one machine.
//
//   fwd/<function>/<type>/<n>        xact::forward
//   fwd_loop/<function>/<type>/<n>   the same function as a plain std:: loop (same flags)
//   bwd/<function>/<type>/<n>        xact::backward (dx = dy * f'(x), from the input)
//   bwd_loop/<function>/<type>/<n>   the same as a plain loop
//   fwd_eigen/<function>/<type>/<n>  the same as an Eigen array expression (Eigen 3.3+ found by
//   bwd_eigen/<function>/<type>/<n>  CMake): sigmoid, tanh, silu, elu, gelu
//   memcpy/<type>/<n>                std::memcpy of n elements (the bytes of one output array)
//   add2/<type>/<n>                  dx = x + dy as a plain loop: the floor of a backward row
//   fwd/prelu_nchw_1x16x256/f32/4096 etc.: PReLU with one slope per channel
//   fwd_activation/<function>/f32/<n> xact::activation::forward (parsed from the name), n = 16
//                                    and 4096, beside fwd/<function>/f32/<n>
//   fwd_dispatch_<isa>/<function>/f32/<n> xact::dispatch::forward on each instruction set this
//                                    CPU has (when the build has xact::dispatch), n = 16,
//                                    4096, 262144
//   fwd_mt1/<f>/f32/<n>, fwd_mt2/...: xact::parallel with 1 and 2 threads (relu, sigmoid,
//                                    gelu; softmax_256x1000), memcpy_mt2/f32/16777216;
//                                    fwd_omp2/...: the same chunks run by OpenMP (when found)
//   fwd/mse_loss/f32/262144, fwd/cross_entropy_256x1000/f32/256000 (and bwd/): the losses
//   fwd/softmax_256x1000/f32/256000 etc.: softmax and log_softmax (fwd, fwd_loop, fwd_eigen,
//                                    bwd, bwd_loop) at 256 x 1000, 8 x 32768 and {8, 21, 4096}
//
// Functions: identity, relu, relu6, leaky_relu, hardtanh, hard_sigmoid, hard_swish (piecewise);
// sigmoid, tanh, silu, swish_1.5 (beta 1.5), softsign, elu, selu, celu (transcendental); gelu
// (erf form), gelu_tanh, softplus, log_sigmoid, mish when their headers are on the include
// path (__has_include). Types f32 and f64; n = 4096 (in L1), 262144 (L2/L3) and 16 Mi (memory). At
// 16 Mi the transcendental functions have fwd and bwd rows only (no loop, no Eigen): there the
// question is whether they keep up with memory; their arithmetic is measured at the smaller n.
//
// ~490 benchmarks, about 3 min with the default min_time. Subsets, e.g.:
//   xact_bench --benchmark_filter='f32/4096'                       # one type and size
//   xact_bench --benchmark_filter='(^memcpy|/(sigmoid|tanh|silu|elu|gelu))/f32/(4096|262144)(/|$)'
//              --benchmark_repetitions=3                           # the Eigen comparison
//
// Bytes processed = bytes read + bytes written. bench/ratios.py turns the JSON output
// (--benchmark_format=json) into a table of time / memcpy time and speed-ups. Single thread.
#include <xact/xact.hpp>
#if __has_include(<xact/functions/gelu.hpp>)
#include <xact/functions/gelu.hpp>
#define XACT_BENCH_HAVE_GELU 1
#endif
#if __has_include(<xact/functions/softplus.hpp>)
#include <xact/functions/softplus.hpp>
#define XACT_BENCH_HAVE_SOFTPLUS 1
#endif

#include <benchmark/benchmark.h>

#ifdef XACT_BENCH_HAVE_DISPATCH
#include <xact/dispatch.hpp>
#endif

#ifdef XACT_BENCH_HAVE_EIGEN
#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions> // erf
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__GNUC__) || defined(__clang__)
#define BENCH_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define BENCH_NOINLINE __declspec(noinline)
#else
#define BENCH_NOINLINE
#endif

namespace {

constexpr std::size_t sizes[] = {4096, 262144, std::size_t(16) * 1024 * 1024};
// Seconds per benchmark unless --benchmark_min_time is given: ~490 benchmarks, ~3 min in all.
constexpr double default_min_time = 0.2;
bool use_default_min_time = true;

// ---------------------------------------------------------------- buffers

/// n elements of T, 64-byte aligned, allocated once.
template <class T>
class aligned_array {
  public:
    explicit aligned_array(std::size_t n)
        : n_(n), p_(static_cast<T*>(::operator new(bytes(n), std::align_val_t(64)))) {}
    ~aligned_array() { ::operator delete(p_, std::align_val_t(64)); }
    aligned_array(const aligned_array&) = delete;
    aligned_array& operator=(const aligned_array&) = delete;
    T* data() noexcept { return p_; }
    std::size_t size() const noexcept { return n_; }

  private:
    static std::size_t bytes(std::size_t n) { return (n * sizeof(T) + 63) / 64 * 64 + 64; }
    std::size_t n_;
    T* p_;
};

/// splitmix64: a fixed, portable sequence (std:: distributions differ between libraries).
struct splitmix64 {
    std::uint64_t s;
    std::uint64_t next() noexcept {
        std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    /// Uniform in [lo, hi).
    double uniform(double lo, double hi) noexcept {
        return lo + (hi - lo) * double(next() >> 11) * 0x1.0p-53;
    }
};

template <class T>
void fill(T* p, std::size_t n, std::uint64_t seed, double lo, double hi) {
    splitmix64 g{seed};
    for (std::size_t i = 0; i < n; ++i) p[i] = T(g.uniform(lo, hi));
}

/// Inputs x and dy (values in [-8, 8), fixed seeds) and one output array. Benchmarks never
/// write x or dy, so one workspace per element type and size serves every benchmark; it is
/// built on first use, outside any timing, and kept, so repetitions can be interleaved
/// (--benchmark_enable_random_interleaving) without filling arrays again (~0.6 GB in all).
template <class T>
struct workspace {
    explicit workspace(std::size_t n) : x(n), dy(n), out(n) {
        fill(x.data(), n, 0x5eed0001u, -8.0, 8.0);
        fill(dy.data(), n, 0x5eed0002u, -8.0, 8.0);
        std::memset(out.data(), 0, n * sizeof(T)); // touch every page before timing
    }
    aligned_array<T> x, dy, out;
};

template <class T>
workspace<T>& get_workspace(std::size_t n) {
    static std::map<std::size_t, std::unique_ptr<workspace<T>>> cache;
    auto& w = cache[n];
    if (!w) w = std::make_unique<workspace<T>>(n);
    return *w;
}

template <class T>
void set_counters(benchmark::State& state, std::size_t n, std::size_t bytes_per_iteration) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(n));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(bytes_per_iteration));
}

// ---------------------------------------------------------------- functions and their plain loops
// Each case: the xact functor and the same function written naively with std:: scalars.

struct case_identity {
    static constexpr const char* name = "identity";
    xact::identity f{};
    template <class T>
    T fwd(T x) const {
        return x;
    }
    template <class T>
    T bwd(T x, T g) const {
        (void)x;
        return g;
    }
};

struct case_relu {
    static constexpr const char* name = "relu";
    xact::relu f{};
    template <class T>
    T fwd(T x) const {
        return std::max(x, T(0));
    }
    template <class T>
    T bwd(T x, T g) const {
        return g * (x > T(0) ? T(1) : T(0));
    }
};

struct case_relu6 {
    static constexpr const char* name = "relu6";
    xact::relu6 f{};
    template <class T>
    T fwd(T x) const {
        return std::min(std::max(x, T(0)), T(6));
    }
    template <class T>
    T bwd(T x, T g) const {
        return g * (x > T(0) && x < T(6) ? T(1) : T(0));
    }
};

struct case_leaky_relu {
    static constexpr const char* name = "leaky_relu";
    xact::leaky_relu f{0.01};
    template <class T>
    T fwd(T x) const {
        return x > T(0) ? x : T(f.alpha) * x;
    }
    template <class T>
    T bwd(T x, T g) const {
        return g * (x > T(0) ? T(1) : T(f.alpha));
    }
};

struct case_hardtanh {
    static constexpr const char* name = "hardtanh";
    xact::hardtanh f{-1.0, 1.0};
    template <class T>
    T fwd(T x) const {
        return std::min(std::max(x, T(f.lo)), T(f.hi));
    }
    template <class T>
    T bwd(T x, T g) const {
        return g * (x > T(f.lo) && x < T(f.hi) ? T(1) : T(0));
    }
};

struct case_hard_sigmoid {
    static constexpr const char* name = "hard_sigmoid";
    xact::hard_sigmoid f{};
    template <class T>
    T fwd(T x) const {
        return std::min(std::max(x + T(3), T(0)), T(6)) / T(6);
    }
    template <class T>
    T bwd(T x, T g) const {
        return g * (x > T(-3) && x < T(3) ? T(1) / T(6) : T(0));
    }
};

struct case_hard_swish {
    static constexpr const char* name = "hard_swish";
    xact::hard_swish f{};
    template <class T>
    T fwd(T x) const {
        return x * std::min(std::max(x + T(3), T(0)), T(6)) / T(6);
    }
    template <class T>
    T bwd(T x, T g) const {
        return g * (x < T(-3) ? T(0) : x > T(3) ? T(1) : (T(2) * x + T(3)) / T(6));
    }
};

// Transcendental functions. The loops are the textbook formulas with std:: functions, as one
// would write them without a library (no care for the tails; the inputs stay in [-8, 8)).

constexpr double inv_sqrt2 = 0.70710678118654752440;      // 1 / sqrt(2)
constexpr double inv_sqrt_2pi = 0.39894228040143267794;   // 1 / sqrt(2 pi)
constexpr double sqrt_2_over_pi = 0.79788456080286535588; // sqrt(2 / pi)

template <class T>
T logistic(T x) {
    return T(1) / (T(1) + std::exp(-x));
}

struct case_sigmoid {
    static constexpr const char* name = "sigmoid";
    xact::sigmoid f{};
    template <class T>
    T fwd(T x) const {
        return logistic(x);
    }
    template <class T>
    T bwd(T x, T g) const {
        const T s = logistic(x);
        return g * s * (T(1) - s);
    }
};

struct case_tanh {
    static constexpr const char* name = "tanh";
    xact::tanh f{};
    template <class T>
    T fwd(T x) const {
        return std::tanh(x);
    }
    template <class T>
    T bwd(T x, T g) const {
        const T t = std::tanh(x);
        return g * (T(1) - t * t);
    }
};

struct case_silu {
    static constexpr const char* name = "silu";
    xact::silu f{}; // swish with beta = 1
    template <class T>
    T fwd(T x) const {
        return x * logistic(x);
    }
    template <class T>
    T bwd(T x, T g) const {
        const T s = logistic(x);
        return g * s * (T(1) + x * (T(1) - s));
    }
};

struct case_swish {
    static constexpr const char* name = "swish_1.5";
    xact::swish f{1.5};
    template <class T>
    T fwd(T x) const {
        return x * logistic(T(f.beta) * x);
    }
    template <class T>
    T bwd(T x, T g) const {
        const T b = T(f.beta) * x;
        const T s = logistic(b);
        return g * s * (T(1) + b * (T(1) - s));
    }
};

struct case_softsign {
    static constexpr const char* name = "softsign";
    xact::softsign f{};
    template <class T>
    T fwd(T x) const {
        return x / (T(1) + std::abs(x));
    }
    template <class T>
    T bwd(T x, T g) const {
        const T d = T(1) + std::abs(x);
        return g / (d * d);
    }
};

struct case_elu {
    static constexpr const char* name = "elu";
    xact::elu f{1.0};
    template <class T>
    T fwd(T x) const {
        return x > T(0) ? x : T(f.alpha) * std::expm1(x);
    }
    template <class T>
    T bwd(T x, T g) const {
        return g * (x > T(0) ? T(1) : T(f.alpha) * std::exp(x));
    }
};

struct case_selu {
    static constexpr const char* name = "selu";
    xact::selu f{};
    static constexpr double alpha = 1.6732632423543772848, lambda = 1.0507009873554804934;
    template <class T>
    T fwd(T x) const {
        return T(lambda) * (x > T(0) ? x : T(alpha) * std::expm1(x));
    }
    template <class T>
    T bwd(T x, T g) const {
        return g * T(lambda) * (x > T(0) ? T(1) : T(alpha) * std::exp(x));
    }
};

struct case_celu {
    static constexpr const char* name = "celu";
    xact::celu f{1.0};
    template <class T>
    T fwd(T x) const {
        return x > T(0) ? x : T(f.alpha) * std::expm1(x / T(f.alpha));
    }
    template <class T>
    T bwd(T x, T g) const {
        return g * (x > T(0) ? T(1) : std::exp(x / T(f.alpha)));
    }
};

#ifdef XACT_BENCH_HAVE_GELU
struct case_gelu {
    static constexpr const char* name = "gelu";
    xact::gelu f{false};
    template <class T>
    T fwd(T x) const {
        return T(0.5) * x * std::erfc(-x * T(inv_sqrt2));
    }
    template <class T>
    T bwd(T x, T g) const {
        const T cdf = T(0.5) * std::erfc(-x * T(inv_sqrt2));
        const T pdf = std::exp(T(-0.5) * x * x) * T(inv_sqrt_2pi);
        return g * (cdf + x * pdf);
    }
};

struct case_gelu_tanh {
    static constexpr const char* name = "gelu_tanh";
    xact::gelu f{true};
    template <class T>
    T fwd(T x) const {
        return T(0.5) * x * (T(1) + std::tanh(T(sqrt_2_over_pi) * (x + T(0.044715) * x * x * x)));
    }
    template <class T>
    T bwd(T x, T g) const {
        const T t = std::tanh(T(sqrt_2_over_pi) * (x + T(0.044715) * x * x * x));
        const T du = T(sqrt_2_over_pi) * (T(1) + T(3 * 0.044715) * x * x);
        return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
    }
};
#endif

#ifdef XACT_BENCH_HAVE_SOFTPLUS
struct case_softplus {
    static constexpr const char* name = "softplus";
    xact::softplus f{1.0};
    template <class T>
    T fwd(T x) const {
        return std::log1p(std::exp(x));
    }
    template <class T>
    T bwd(T x, T g) const {
        return g * logistic(x);
    }
};

struct case_log_sigmoid {
    static constexpr const char* name = "log_sigmoid";
    xact::log_sigmoid f{};
    template <class T>
    T fwd(T x) const {
        return -std::log1p(std::exp(-x));
    }
    template <class T>
    T bwd(T x, T g) const {
        return g * logistic(-x);
    }
};

struct case_mish {
    static constexpr const char* name = "mish";
    xact::mish f{};
    template <class T>
    T fwd(T x) const {
        return x * std::tanh(std::log1p(std::exp(x)));
    }
    template <class T>
    T bwd(T x, T g) const {
        const T t = std::tanh(std::log1p(std::exp(x)));
        return g * (t + x * (T(1) - t * t) * logistic(x));
    }
};
#endif

template <class C, class T>
BENCH_NOINLINE void loop_forward(const C& c, const T* x, T* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = c.fwd(x[i]);
}

template <class C, class T>
BENCH_NOINLINE void loop_backward(const C& c, const T* x, const T* dy, T* dx, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) dx[i] = c.bwd(x[i], dy[i]);
}

// ---------------------------------------------------------------- elementwise benchmarks

// Every row calls its kernel out of line (as the loop and Eigen rows do, and as a program
// calls one layer's activation), so that no row is inlined into the timing loop and laid out
// differently from the others.
template <class F, class T>
BENCH_NOINLINE void xact_forward(const F& f, const T* x, T* y, std::size_t n) {
    xact::forward(f, x, y, n);
}
template <class F, class T>
BENCH_NOINLINE void xact_backward(const F& f, const T* x, const T* dy, T* dx, std::size_t n) {
    xact::backward(f, x, dy, dx, n);
}

template <class T, class C>
void bm_forward(benchmark::State& state, std::size_t n) {
    const C c{};
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    T* y = w.out.data();
    for (auto _ : state) {
        xact_forward(c.f, x, y, n);
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 2 * n * sizeof(T));
}

template <class T, class C>
void bm_forward_loop(benchmark::State& state, std::size_t n) {
    const C c{};
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    T* y = w.out.data();
    for (auto _ : state) {
        loop_forward(c, x, y, n);
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 2 * n * sizeof(T));
}

template <class T, class C>
void bm_backward(benchmark::State& state, std::size_t n) {
    const C c{};
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    const T* dy = w.dy.data();
    T* dx = w.out.data();
    for (auto _ : state) {
        xact_backward(c.f, x, dy, dx, n);
        benchmark::DoNotOptimize(dx);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 3 * n * sizeof(T));
}

template <class T, class C>
void bm_backward_loop(benchmark::State& state, std::size_t n) {
    const C c{};
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    const T* dy = w.dy.data();
    T* dx = w.out.data();
    for (auto _ : state) {
        loop_backward(c, x, dy, dx, n);
        benchmark::DoNotOptimize(dx);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 3 * n * sizeof(T));
}

template <class T>
void bm_memcpy(benchmark::State& state, std::size_t n) {
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    T* y = w.out.data();
    for (auto _ : state) {
        std::memcpy(y, x, n * sizeof(T));
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 2 * n * sizeof(T));
}

/// dx = x + dy by a plain loop: the least work a kernel that reads two arrays and writes one
/// can do, so the floor for every backward row (its three arrays may not fit a cache level
/// that memcpy's two fit: on a 32 KiB L1d, n = 4096 floats).
template <class T>
void bm_add2(benchmark::State& state, std::size_t n) {
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    const T* dy = w.dy.data();
    T* dx = w.out.data();
    for (auto _ : state) {
        for (std::size_t i = 0; i < n; ++i) dx[i] = x[i] + dy[i];
        benchmark::DoNotOptimize(dx);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 3 * n * sizeof(T));
}

// ---------------------------------------------------------------- Eigen
// The same functions as Eigen array expressions over the same buffers (Map), evaluated into
// a Map of the output: what an Eigen user would write, compiled with the same flags (Eigen is
// header-only, so -O3 -march=native reach its packet math). The maps are declared 64-byte
// aligned (the workspace is), Eigen's best case. Where Eigen has no function (elu) or would
// fall back to scalar code for a natural form (select() is not vectorized in Eigen 3.4), the
// vectorized equivalent is used, so that the peer is as fast as Eigen allows.

#ifdef XACT_BENCH_HAVE_EIGEN
template <class T>
using eigen_in = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>, Eigen::Aligned64>;
template <class T>
using eigen_out = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>, Eigen::Aligned64>;

struct eigen_sigmoid {
    static constexpr const char* name = "sigmoid";
    template <class T>
    static void fwd(const eigen_in<T>& x, eigen_out<T>& y) {
        y = x.logistic();
    }
    template <class T>
    static void bwd(const eigen_in<T>& x, const eigen_in<T>& g, eigen_out<T>& dx) {
        // One expression: s is evaluated twice per element, but GCC merges the two (one
        // division per packet); tanh likewise.
        const auto s = x.logistic();
        dx = g * s * (T(1) - s);
    }
};

struct eigen_tanh {
    static constexpr const char* name = "tanh";
    template <class T>
    static void fwd(const eigen_in<T>& x, eigen_out<T>& y) {
        y = x.tanh();
    }
    template <class T>
    static void bwd(const eigen_in<T>& x, const eigen_in<T>& g, eigen_out<T>& dx) {
        const auto t = x.tanh();
        dx = g * (T(1) - t * t);
    }
};

struct eigen_silu {
    static constexpr const char* name = "silu";
    template <class T>
    static void fwd(const eigen_in<T>& x, eigen_out<T>& y) {
        y = x * x.logistic();
    }
    template <class T>
    static void bwd(const eigen_in<T>& x, const eigen_in<T>& g, eigen_out<T>& dx) {
        // Here GCC does not merge the two evaluations of s in one expression (two divisions
        // per packet, 1.4x slower at n = 4096), so s is evaluated once, into dx, then used.
        dx = x.logistic();
        dx = dx * (T(1) + x * (T(1) - dx)) * g;
    }
};

struct eigen_elu {
    static constexpr const char* name = "elu";
    // (x > 0).select(x, exp(x) - 1) and (x > 0).select(g, g exp(x)), written without select:
    // exp(min(x, 0)) is exactly 1 for x > 0.
    template <class T>
    static void fwd(const eigen_in<T>& x, eigen_out<T>& y) {
        y = (x.min(T(0)).exp() - T(1)) + x.max(T(0));
    }
    template <class T>
    static void bwd(const eigen_in<T>& x, const eigen_in<T>& g, eigen_out<T>& dx) {
        dx = g * x.min(T(0)).exp();
    }
};

struct eigen_gelu {
    static constexpr const char* name = "gelu";
    template <class T>
    static void fwd(const eigen_in<T>& x, eigen_out<T>& y) {
        y = T(0.5) * x * (T(1) + (x * T(inv_sqrt2)).erf());
    }
    template <class T>
    static void bwd(const eigen_in<T>& x, const eigen_in<T>& g, eigen_out<T>& dx) {
        const auto cdf = T(0.5) * (T(1) + (x * T(inv_sqrt2)).erf());
        const auto pdf = (T(-0.5) * x.square()).exp() * T(inv_sqrt_2pi);
        dx = g * (cdf + x * pdf);
    }
};

template <class E, class T>
BENCH_NOINLINE void eigen_forward(const T* x, T* y, std::size_t n) {
    const eigen_in<T> xm(x, Eigen::Index(n));
    eigen_out<T> ym(y, Eigen::Index(n));
    E::fwd(xm, ym);
}

template <class E, class T>
BENCH_NOINLINE void eigen_backward(const T* x, const T* dy, T* dx, std::size_t n) {
    const eigen_in<T> xm(x, Eigen::Index(n)), gm(dy, Eigen::Index(n));
    eigen_out<T> dxm(dx, Eigen::Index(n));
    E::bwd(xm, gm, dxm);
}

template <class T, class E>
void bm_eigen_forward(benchmark::State& state, std::size_t n) {
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    T* y = w.out.data();
    for (auto _ : state) {
        eigen_forward<E>(x, y, n);
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 2 * n * sizeof(T));
}

template <class T, class E>
void bm_eigen_backward(benchmark::State& state, std::size_t n) {
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    const T* dy = w.dy.data();
    T* dx = w.out.data();
    for (auto _ : state) {
        eigen_backward<E>(x, dy, dx, n);
        benchmark::DoNotOptimize(dx);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 3 * n * sizeof(T));
}
#endif

// ---------------------------------------------------------------- PReLU

/// Plain loops: one slope per channel; channels-last (inner == 1) loops over channels inside.
template <class T>
BENCH_NOINLINE void loop_prelu_forward(const T* x, const T* alpha, T* y, xact::extents e) {
    if (e.inner == 1) {
        for (std::size_t o = 0; o < e.outer; ++o) {
            const T* xs = x + o * e.axis;
            T* ys = y + o * e.axis;
            for (std::size_t c = 0; c < e.axis; ++c)
                ys[c] = xs[c] > T(0) ? xs[c] : alpha[c] * xs[c];
        }
        return;
    }
    for (std::size_t o = 0; o < e.outer; ++o) {
        for (std::size_t c = 0; c < e.axis; ++c) {
            const std::size_t base = (o * e.axis + c) * e.inner;
            const T a = alpha[c];
            for (std::size_t i = 0; i < e.inner; ++i) {
                const T v = x[base + i];
                y[base + i] = v > T(0) ? v : a * v;
            }
        }
    }
}

template <class T>
BENCH_NOINLINE void loop_prelu_backward(const T* x, const T* alpha, const T* dy, T* dx, T* dalpha,
                                        xact::extents e) {
    if (e.inner == 1) {
        for (std::size_t o = 0; o < e.outer; ++o) {
            const std::size_t base = o * e.axis;
            for (std::size_t c = 0; c < e.axis; ++c) {
                const T v = x[base + c], g = dy[base + c];
                dx[base + c] = g * (v > T(0) ? T(1) : alpha[c]);
                dalpha[c] += v < T(0) ? v * g : T(0);
            }
        }
        return;
    }
    for (std::size_t o = 0; o < e.outer; ++o) {
        for (std::size_t c = 0; c < e.axis; ++c) {
            const std::size_t base = (o * e.axis + c) * e.inner;
            const T a = alpha[c];
            T s = T(0);
            for (std::size_t i = 0; i < e.inner; ++i) {
                const T v = x[base + i], g = dy[base + i];
                dx[base + i] = g * (v > T(0) ? T(1) : a);
                s += v < T(0) ? v * g : T(0);
            }
            dalpha[c] += s;
        }
    }
}

/// Slopes alpha[c] in [0.01, 0.3) and a zeroed dalpha, one value per channel.
template <class T>
struct prelu_params {
    explicit prelu_params(std::size_t channels) : alpha(channels), dalpha(channels) {
        fill(alpha.data(), channels, 0x5eed0003u, 0.01, 0.3);
        std::memset(dalpha.data(), 0, channels * sizeof(T));
    }
    aligned_array<T> alpha, dalpha;
};

template <class T>
void bm_prelu_forward(benchmark::State& state, xact::extents e, bool loop) {
    const std::size_t n = e.size();
    auto& w = get_workspace<T>(n);
    prelu_params<T> p(e.axis);
    const T* x = w.x.data();
    const T* alpha = p.alpha.data();
    T* y = w.out.data();
    for (auto _ : state) {
        if (loop)
            loop_prelu_forward(x, alpha, y, e);
        else
            xact::prelu_forward(x, alpha, e.axis, y, e);
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, (2 * n + e.axis) * sizeof(T));
}

template <class T>
void bm_prelu_backward(benchmark::State& state, xact::extents e, bool loop) {
    const std::size_t n = e.size();
    auto& w = get_workspace<T>(n);
    prelu_params<T> p(e.axis);
    const T* x = w.x.data();
    const T* dy = w.dy.data();
    const T* alpha = p.alpha.data();
    T* dx = w.out.data();
    T* dalpha = p.dalpha.data();
    for (auto _ : state) {
        if (loop)
            loop_prelu_backward(x, alpha, dy, dx, dalpha, e);
        else
            xact::prelu_backward(x, alpha, e.axis, dy, dx, dalpha, e);
        benchmark::DoNotOptimize(dx);
        benchmark::DoNotOptimize(dalpha);
        benchmark::ClobberMemory();
    }
    // x, dy and alpha read, dx written, dalpha read and written.
    set_counters<T>(state, n, (3 * n + 3 * e.axis) * sizeof(T));
}

// ---------------------------------------------------------------- run-time activation

/// xact::activation::forward with the activation parsed from its name (a run-time choice the
/// compiler cannot see through), against the direct call xact::forward(functor) (fwd rows).
template <class T, class C>
void bm_activation_forward(benchmark::State& state, std::size_t n) {
    const xact::activation a = xact::activation::parse(C::name);
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    T* y = w.out.data();
    for (auto _ : state) {
        a.forward(x, y, n);
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 2 * n * sizeof(T));
}

#ifdef XACT_BENCH_HAVE_DISPATCH
/// xact::dispatch::forward with the instruction set `isa` (set outside the timing).
template <class T, class C>
void bm_dispatch_forward(benchmark::State& state, std::size_t n, std::string isa) {
    xact::dispatch::set_isa(isa);
    const xact::activation a = xact::activation::parse(C::name);
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    T* y = w.out.data();
    for (auto _ : state) {
        xact::dispatch::forward(a, x, y, n);
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 2 * n * sizeof(T));
}
#endif

// ---------------------------------------------------------------- threads

/// xact::forward with the policy p: rows fwd_mt<threads>/<function>/f32/<n> (softmax:
/// fwd_mt<threads>/softmax_256x1000/f32/256000) and fwd_omp2/... (an OpenMP executor).
template <class T, class C>
void bm_parallel_forward(benchmark::State& state, std::size_t n, const xact::parallel& p) {
    const C c{};
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    T* y = w.out.data();
    for (auto _ : state) {
        xact::forward(p, c.f, x, y, n);
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 2 * n * sizeof(T));
}

template <class T>
void bm_parallel_softmax(benchmark::State& state, xact::extents e, unsigned threads) {
    xact::parallel p;
    p.threads = threads;
    const std::size_t n = e.size();
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    T* y = w.out.data();
    for (auto _ : state) {
        xact::softmax(p, x, y, e);
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 2 * n * sizeof(T));
}

#ifdef XACT_BENCH_HAVE_OPENMP
/// The same chunks through an executor built on OpenMP (a `parallel for` over the chunk
/// indices, `threads` threads): rows fwd_omp<threads>/<function>/f32/<n>, beside fwd_mt<t>, to
/// compare xact's own pool with OpenMP's.
inline xact::parallel openmp_policy(unsigned threads) {
    xact::parallel p;
    p.threads = threads;
    p.executor = [threads](std::size_t count, const std::function<void(std::size_t)>& body) {
        const auto c = static_cast<long long>(count);
        const int t = static_cast<int>(threads);
#pragma omp parallel for num_threads(t) schedule(dynamic, 1)
        for (long long i = 0; i < c; ++i) body(static_cast<std::size_t>(i));
    };
    return p;
}
#endif

/// A copy split over two threads (identity through xact::parallel, chunked like the other
/// rows), the reference for relu at 16 Mi.
template <class T>
void bm_memcpy2(benchmark::State& state, std::size_t n) {
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    T* y = w.out.data();
    xact::parallel p;
    p.threads = 2;
    for (auto _ : state) {
        xact::forward(p, xact::identity{}, x, y, n); // identity: a copy, split like the others
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, 2 * n * sizeof(T));
}

// ---------------------------------------------------------------- softmax

/// Plain loops along an axis: max, e^(x - max) with std::exp and its sum, then y *= 1 / sum
/// (log: y = x - max - log sum); backward dx = y (dy - <dy, y>) / dy - e^y sum dy.
template <class T>
BENCH_NOINLINE void loop_softmax(const T* x, T* y, xact::extents e, bool log) {
    for (std::size_t o = 0; o < e.outer; ++o)
        for (std::size_t j = 0; j < e.inner; ++j) {
            const T* xs = x + o * e.axis * e.inner + j;
            T* ys = y + o * e.axis * e.inner + j;
            const std::size_t st = e.inner;
            T m = xs[0];
            for (std::size_t c = 1; c < e.axis; ++c) m = std::max(m, xs[c * st]);
            T s = T(0);
            for (std::size_t c = 0; c < e.axis; ++c) {
                const T v = std::exp(xs[c * st] - m);
                if (!log) ys[c * st] = v;
                s += v;
            }
            if (log) {
                const T ls = std::log(s);
                for (std::size_t c = 0; c < e.axis; ++c) ys[c * st] = xs[c * st] - m - ls;
            } else {
                const T r = T(1) / s;
                for (std::size_t c = 0; c < e.axis; ++c) ys[c * st] *= r;
            }
        }
}

template <class T>
BENCH_NOINLINE void loop_softmax_backward(const T* y, const T* dy, T* dx, xact::extents e,
                                          bool log) {
    for (std::size_t o = 0; o < e.outer; ++o)
        for (std::size_t j = 0; j < e.inner; ++j) {
            const std::size_t b = o * e.axis * e.inner + j, st = e.inner;
            T s = T(0);
            for (std::size_t c = 0; c < e.axis; ++c)
                s += log ? dy[b + c * st] : y[b + c * st] * dy[b + c * st];
            for (std::size_t c = 0; c < e.axis; ++c) {
                const std::size_t i = b + c * st;
                dx[i] = log ? dy[i] - std::exp(y[i]) * s : y[i] * (dy[i] - s);
            }
        }
}

#ifdef XACT_BENCH_HAVE_EIGEN
template <class T>
using eigen_rows = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Eigen's idiomatic row softmax (last axis only): (x - rowmax).exp() / rowsum.
template <class T>
BENCH_NOINLINE void eigen_softmax(const T* x, T* y, xact::extents e, bool log) {
    const Eigen::Map<const eigen_rows<T>> xm(x, Eigen::Index(e.outer), Eigen::Index(e.axis));
    Eigen::Map<eigen_rows<T>> ym(y, Eigen::Index(e.outer), Eigen::Index(e.axis));
    const auto m = xm.rowwise().maxCoeff().eval();
    if (log) {
        ym = xm.colwise() - m;
        const auto ls = ym.exp().rowwise().sum().log().eval();
        ym.colwise() -= ls;
    } else {
        ym = (xm.colwise() - m).exp();
        ym.colwise() /= ym.rowwise().sum().eval();
    }
}
#endif

/// Softmax inputs: x in [-8, 8) from the workspace (as for the other functions).
template <class T>
void bm_softmax(benchmark::State& state, xact::extents e, int impl, bool log, bool backward) {
    const std::size_t n = e.size();
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    T* y = w.out.data();
    // Backward needs a real softmax output y: computed once, outside the timing.
    static std::map<std::pair<std::size_t, bool>, std::unique_ptr<aligned_array<T>>> outputs;
    auto& yo = outputs[{n, log}];
    if (!yo) {
        yo = std::make_unique<aligned_array<T>>(n);
        if (log)
            xact::log_softmax(x, yo->data(), e);
        else
            xact::softmax(x, yo->data(), e);
    }
    const T* yin = yo->data();
    const T* dy = w.dy.data();
    for (auto _ : state) {
        if (backward) {
            if (impl == 0)
                log ? xact::log_softmax_backward(yin, dy, y, e)
                    : xact::softmax_backward(yin, dy, y, e);
            else
                loop_softmax_backward(yin, dy, y, e, log);
        } else if (impl == 0) {
            log ? xact::log_softmax(x, y, e) : xact::softmax(x, y, e);
        } else if (impl == 1) {
            loop_softmax(x, y, e, log);
        } else {
#ifdef XACT_BENCH_HAVE_EIGEN
            eigen_softmax(x, y, e, log);
#endif
        }
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, (backward ? 3 : 2) * n * sizeof(T));
}

// ---------------------------------------------------------------- registration

template <class T>
const char* type_name() {
    return sizeof(T) == 4 ? "f32" : "f64";
}

template <class Fn>
void add(const std::string& name, std::size_t n, Fn&& fn) {
    auto* b = benchmark::RegisterBenchmark(name.c_str(), std::forward<Fn>(fn));
    b->Unit(n <= 4096 ? benchmark::kNanosecond : benchmark::kMicrosecond);
    if (use_default_min_time) b->MinTime(default_min_time); // adds "/min_time:0.200" to the name
}

template <class T, class C>
void add_function(std::size_t n) {
    const std::string tail = std::string(C::name) + "/" + type_name<T>() + "/" + std::to_string(n);
    add("fwd/" + tail, n, [n](benchmark::State& s) { bm_forward<T, C>(s, n); });
    add("fwd_loop/" + tail, n, [n](benchmark::State& s) { bm_forward_loop<T, C>(s, n); });
    add("bwd/" + tail, n, [n](benchmark::State& s) { bm_backward<T, C>(s, n); });
    add("bwd_loop/" + tail, n, [n](benchmark::State& s) { bm_backward_loop<T, C>(s, n); });
}

/// xact rows only (no loop): the 16 Mi rows of the transcendental functions.
template <class T, class C>
void add_function_xact(std::size_t n) {
    const std::string tail = std::string(C::name) + "/" + type_name<T>() + "/" + std::to_string(n);
    add("fwd/" + tail, n, [n](benchmark::State& s) { bm_forward<T, C>(s, n); });
    add("bwd/" + tail, n, [n](benchmark::State& s) { bm_backward<T, C>(s, n); });
}

/// A transcendental function: all four rows up to L2 sizes, xact rows only at 16 Mi.
template <class T, class C>
void add_transcendental(std::size_t n) {
    if (n <= 262144)
        add_function<T, C>(n);
    else
        add_function_xact<T, C>(n);
}

#ifdef XACT_BENCH_HAVE_EIGEN
/// The Eigen rows, up to L2 sizes (at 16 Mi only xact is measured against memory).
template <class T, class E>
void add_eigen(std::size_t n) {
    if (n > 262144) return;
    const std::string tail = std::string(E::name) + "/" + type_name<T>() + "/" + std::to_string(n);
    add("fwd_eigen/" + tail, n, [n](benchmark::State& s) { bm_eigen_forward<T, E>(s, n); });
    add("bwd_eigen/" + tail, n, [n](benchmark::State& s) { bm_eigen_backward<T, E>(s, n); });
}
#else
struct eigen_sigmoid;
struct eigen_tanh;
struct eigen_silu;
struct eigen_elu;
struct eigen_gelu;
template <class T, class E>
void add_eigen(std::size_t) {} // no Eigen: no rows
#endif

template <class T>
void add_prelu(const char* layout, xact::extents e) {
    const std::size_t n = e.size();
    const std::string tail = std::string("prelu_") + layout + "_" + std::to_string(e.outer) + "x" +
                             std::to_string(e.axis) + "x" + std::to_string(e.inner) + "/" +
                             type_name<T>() + "/" + std::to_string(n);
    add("fwd/" + tail, n, [e](benchmark::State& s) { bm_prelu_forward<T>(s, e, false); });
    add("fwd_loop/" + tail, n, [e](benchmark::State& s) { bm_prelu_forward<T>(s, e, true); });
    add("bwd/" + tail, n, [e](benchmark::State& s) { bm_prelu_backward<T>(s, e, false); });
    add("bwd_loop/" + tail, n, [e](benchmark::State& s) { bm_prelu_backward<T>(s, e, true); });
}

/// Losses: mse (n values against targets) and cross-entropy with class indices (rows of
/// logits), forward (mean) and backward; rows fwd/mse_loss/f32/<n>, fwd/cross_entropy_<r>x<c>/...
template <class T>
void bm_loss(benchmark::State& state, xact::extents e, bool ce, bool backward) {
    const std::size_t n = e.size();
    auto& w = get_workspace<T>(n);
    const T* x = w.x.data();
    const T* t = w.dy.data();
    T* dx = w.out.data();
    std::vector<std::int64_t> labels(e.outer);
    for (std::size_t i = 0; i < e.outer; ++i)
        labels[i] = static_cast<std::int64_t>((i * 7) % e.axis);
    T sink = T(0);
    for (auto _ : state) {
        if (ce) {
            if (backward)
                xact::cross_entropy_backward(x, labels.data(), dx, e);
            else
                sink += xact::cross_entropy(x, labels.data(), e);
        } else {
            if (backward)
                xact::mse_loss_backward(x, t, dx, n);
            else
                sink += xact::mse_loss(x, t, n);
        }
        benchmark::DoNotOptimize(sink);
        benchmark::DoNotOptimize(dx);
        benchmark::ClobberMemory();
    }
    set_counters<T>(state, n, ((ce ? 1 : 2) + (backward ? 1 : 0)) * n * sizeof(T));
}

/// Softmax and log_softmax rows for one shape: fwd, fwd_loop, fwd_eigen (last axis), bwd,
/// bwd_loop; named e.g. fwd/softmax_256x1000/f32/256000, with memcpy/f32/256000 beside them.
template <class T>
void add_softmax(xact::extents e) {
    const std::size_t n = e.size();
    if (std::find(std::begin(sizes), std::end(sizes), n) == std::end(sizes))
        add(std::string("memcpy/") + type_name<T>() + "/" + std::to_string(n), n,
            [n](benchmark::State& s) { bm_memcpy<T>(s, n); });
    std::string shape = std::to_string(e.outer) + "x" + std::to_string(e.axis);
    if (e.inner != 1) shape += "x" + std::to_string(e.inner);
    for (const bool log : {false, true}) {
        const std::string tail = std::string(log ? "log_softmax_" : "softmax_") + shape + "/" +
                                 type_name<T>() + "/" + std::to_string(n);
        add("fwd/" + tail, n,
            [e, log](benchmark::State& s) { bm_softmax<T>(s, e, 0, log, false); });
        add("fwd_loop/" + tail, n,
            [e, log](benchmark::State& s) { bm_softmax<T>(s, e, 1, log, false); });
#ifdef XACT_BENCH_HAVE_EIGEN
        if (e.inner == 1)
            add("fwd_eigen/" + tail, n,
                [e, log](benchmark::State& s) { bm_softmax<T>(s, e, 2, log, false); });
#endif
        add("bwd/" + tail, n, [e, log](benchmark::State& s) { bm_softmax<T>(s, e, 0, log, true); });
        add("bwd_loop/" + tail, n,
            [e, log](benchmark::State& s) { bm_softmax<T>(s, e, 1, log, true); });
    }
}

/// activation::forward next to the direct call, at n = 16 (the fixed cost) and 4096.
template <class T, class C>
void add_activation_rows() {
    for (const std::size_t n : {std::size_t(16), std::size_t(4096)}) {
        const std::string tail =
            std::string(C::name) + "/" + type_name<T>() + "/" + std::to_string(n);
        if (n == 16) add("fwd/" + tail, n, [n](benchmark::State& s) { bm_forward<T, C>(s, n); });
        add("fwd_activation/" + tail, n,
            [n](benchmark::State& s) { bm_activation_forward<T, C>(s, n); });
    }
}

#ifdef XACT_BENCH_HAVE_DISPATCH
/// fwd_dispatch_<isa>/<function>/f32/<n> for every instruction set this CPU has, n = 16,
/// 4096 and 262144 (the header-only fwd rows sit beside them).
template <class T, class C>
void add_dispatch_rows() {
    for (const auto isa : xact::dispatch::supported_isas())
        for (const std::size_t n : {std::size_t(16), std::size_t(4096), std::size_t(262144)}) {
            const std::string name = "fwd_dispatch_" + std::string(isa) + "/" + C::name + "/" +
                                     type_name<T>() + "/" + std::to_string(n);
            add(name, n, [n, i = std::string(isa)](benchmark::State& s) {
                bm_dispatch_forward<T, C>(s, n, i);
            });
        }
}
#endif

/// Registered by type and size, memcpy first, so that one workspace serves a whole group and
/// the benchmarks compared with each other run close together in time.
template <class T>
void register_type() {
    for (const std::size_t n : sizes) {
        add(std::string("memcpy/") + type_name<T>() + "/" + std::to_string(n), n,
            [n](benchmark::State& s) { bm_memcpy<T>(s, n); });
        add(std::string("add2/") + type_name<T>() + "/" + std::to_string(n), n,
            [n](benchmark::State& s) { bm_add2<T>(s, n); });
        add_function<T, case_identity>(n);
        add_function<T, case_relu>(n);
        add_function<T, case_relu6>(n);
        add_function<T, case_leaky_relu>(n);
        add_function<T, case_hardtanh>(n);
        add_function<T, case_hard_sigmoid>(n);
        add_function<T, case_hard_swish>(n);
        add_transcendental<T, case_sigmoid>(n);
        add_eigen<T, eigen_sigmoid>(n);
        add_transcendental<T, case_tanh>(n);
        add_eigen<T, eigen_tanh>(n);
        add_transcendental<T, case_silu>(n);
        add_eigen<T, eigen_silu>(n);
        add_transcendental<T, case_swish>(n);
        add_transcendental<T, case_softsign>(n);
        add_transcendental<T, case_elu>(n);
        add_eigen<T, eigen_elu>(n);
        add_transcendental<T, case_selu>(n);
        add_transcendental<T, case_celu>(n);
#ifdef XACT_BENCH_HAVE_GELU
        add_transcendental<T, case_gelu>(n);
#endif
        add_eigen<T, eigen_gelu>(n); // also without xact's gelu: the reference stays measured
#ifdef XACT_BENCH_HAVE_GELU
        add_transcendental<T, case_gelu_tanh>(n);
#endif
#ifdef XACT_BENCH_HAVE_SOFTPLUS
        add_transcendental<T, case_softplus>(n);
        add_transcendental<T, case_log_sigmoid>(n);
        add_transcendental<T, case_mish>(n);
#endif
        if constexpr (std::is_same_v<T, float>) {
            const xact::extents prelu_shapes[][2] = {
                {{1, 16, 256}, {256, 16, 1}},  // n = 4096: NCHW, NHWC
                {{8, 64, 512}, {4096, 64, 1}}, // n = 262144
            };
            for (const auto& pair : prelu_shapes) {
                if (pair[0].size() != n) continue;
                add_prelu<T>("nchw", pair[0]);
                add_prelu<T>("nhwc", pair[1]);
            }
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--benchmark_min_time", 20) == 0) use_default_min_time = false;
    register_type<float>();
    register_type<double>();
    // Softmax (issue #4 shapes): last axis 256 x 1000 and 8 x 32768, NCHW channels {8, 21, 64*64}.
    for (const xact::extents e :
         {xact::extents{256, 1000, 1}, xact::extents{8, 32768, 1}, xact::extents{8, 21, 4096}})
        add_softmax<float>(e);
    add_softmax<double>(xact::extents{256, 1000, 1});
    // Threads: 1 against 2 (issue #6), at the usual sizes and around the serial threshold
    // (2 * min_chunk: 32768 elements, 131072 for the piecewise-linear ones) to show the crossover.
    const std::size_t mt_sizes[] = {
        4096, 16384, 32768, 65536, 131072, 262144, std::size_t(16) << 20};
    for (const unsigned t : {1u, 2u}) {
        const std::string mt = "fwd_mt" + std::to_string(t) + "/";
        xact::parallel p;
        p.threads = t;
        for (const std::size_t n : mt_sizes) {
            add(mt + "relu/f32/" + std::to_string(n), n,
                [n, p](benchmark::State& s) { bm_parallel_forward<float, case_relu>(s, n, p); });
            add(mt + "sigmoid/f32/" + std::to_string(n), n,
                [n, p](benchmark::State& s) { bm_parallel_forward<float, case_sigmoid>(s, n, p); });
#ifdef XACT_BENCH_HAVE_GELU
            add(mt + "gelu/f32/" + std::to_string(n), n,
                [n, p](benchmark::State& s) { bm_parallel_forward<float, case_gelu>(s, n, p); });
#endif
        }
        add(mt + "softmax_256x1000/f32/256000", 256000, [t](benchmark::State& s) {
            bm_parallel_softmax<float>(s, xact::extents{256, 1000, 1}, t);
        });
    }
#ifdef XACT_BENCH_HAVE_OPENMP
    for (const std::size_t n : mt_sizes) {
        add("fwd_omp2/relu/f32/" + std::to_string(n), n, [n](benchmark::State& s) {
            bm_parallel_forward<float, case_relu>(s, n, openmp_policy(2));
        });
        add("fwd_omp2/sigmoid/f32/" + std::to_string(n), n, [n](benchmark::State& s) {
            bm_parallel_forward<float, case_sigmoid>(s, n, openmp_policy(2));
        });
    }
#endif
    add("memcpy_mt2/f32/16777216", std::size_t(16) << 20,
        [](benchmark::State& s) { bm_memcpy2<float>(s, std::size_t(16) << 20); });
    // Losses.
    for (const bool bwd : {false, true}) {
        const std::string op = bwd ? "bwd/" : "fwd/";
        add(op + "mse_loss/f32/262144", 262144, [bwd](benchmark::State& s) {
            bm_loss<float>(s, xact::extents{262144, 1, 1}, false, bwd);
        });
        add(op + "cross_entropy_256x1000/f32/256000", 256000, [bwd](benchmark::State& s) {
            bm_loss<float>(s, xact::extents{256, 1000, 1}, true, bwd);
        });
    }
    // xact::activation (run-time choice) against the direct calls.
    add(std::string("memcpy/f32/16"), 16, [](benchmark::State& s) { bm_memcpy<float>(s, 16); });
    add_activation_rows<float, case_relu>();
    add_activation_rows<float, case_sigmoid>();
#ifdef XACT_BENCH_HAVE_GELU
    add_activation_rows<float, case_gelu>();
#endif
#ifdef XACT_BENCH_HAVE_DISPATCH
    add_dispatch_rows<float, case_relu>();
    add_dispatch_rows<float, case_sigmoid>();
    add_dispatch_rows<float, case_gelu>();
#endif
    benchmark::AddCustomContext("xsimd_arch", xsimd::default_arch::name());
    benchmark::AddCustomContext("simd_width_f32", std::to_string(xsimd::batch<float>::size));
#ifdef XACT_BENCH_HAVE_EIGEN
    benchmark::AddCustomContext("eigen_version", std::to_string(EIGEN_WORLD_VERSION) + "." +
                                                     std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                                     std::to_string(EIGEN_MINOR_VERSION));
    benchmark::AddCustomContext("eigen_simd", Eigen::SimdInstructionSetsInUse());
#endif
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
