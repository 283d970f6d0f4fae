// xact — libFuzzer target: every array kernel against its scalar functor, in place against
// out of place, at any alignment, and against independent higher-precision references with
// the bounds of spec.md §3 (fuzz/README.md lists what is checked per function).
//
// Input bytes (anything decodes; once the bytes run out a generator seeded from them takes
// over, so short inputs still fill long arrays):
//   op (which function), flags (bit 0: double; bits 1-2: direction / API; bits 3-7: options),
//   length (biased to 0..71, up to 300), alignment offsets, parameters, then the values: each
//   one a tag byte choosing a special value of the function (±0, ±inf, NaN, subnormals,
//   FLT_MIN / DBL_MIN, the largest finite, ±1, its kinks, the overflow / underflow thresholds
//   of exp, the cut points of the kernels), a neighbour of one (±16 ULP), raw bits, a small
//   dyadic, a moderate or a wide log-uniform magnitude, or a uniform sample of the function's
//   working range.
//
// A failed check prints the function, type, instruction set, input, result and reference,
// then aborts (libFuzzer saves the input as crash-*).
//
// References (tests/wide.hpp): long double for float; __float128 (libquadmath) for double
// when XACT_TEST_QUADMATH is set, otherwise the double accuracy checks are skipped (the
// identities are still checked). The formulas are written here, independently of the kernels
// (after tests/test_transcendental.cpp, test_softmax.cpp and test_loss.cpp).
//
// Built with -DXACT_FUZZ_REPLAY_MAIN (compilers without libFuzzer) it gets a main() that runs
// every file of the given corpus directories plus a deterministic sweep of generated inputs.
#include "reference.hpp"
#include "wide.hpp"

#include <xact/xact.hpp>

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XACT_FUZZ_ASAN 1
#endif
#endif
#if !defined(XACT_FUZZ_ASAN) && defined(__SANITIZE_ADDRESS__)
#define XACT_FUZZ_ASAN 1
#endif
#ifndef XACT_FUZZ_ASAN
#define XACT_FUZZ_ASAN 0
#endif

namespace {

using namespace xact_test::wide; // ld, ref_t, has_accurate_ref, rm::
using xact::extents;
using xact::reduction;
using xact_test::bits;
using xact_test::same;

// ---------------------------------------------------------------- failure reports

/// What the current input runs (for failure messages).
struct context {
    const char* op = "";
    const char* type = "";
    const char* api = "";
    char params[160] = "";
    std::size_t n = 0;
    std::size_t off[4] = {0, 0, 0, 0};
};
context ctx;

/// Arrays of the current input, printed with a failure (first 64 elements each).
struct dump_entry {
    const char* name;
    const void* p;
    std::size_t n;
    int kind; // 0 float, 1 double, 2 int64
};
dump_entry dumps[8];
int dump_count = 0;

template <class V>
void dump(const char* name, const V* p, std::size_t n) {
    if (dump_count == 8) return;
    const int kind = std::is_same_v<V, float> ? 0 : std::is_same_v<V, double> ? 1 : 2;
    dumps[dump_count++] = dump_entry{name, p, n, kind};
}

void print_dumps() {
    for (int k = 0; k < dump_count; ++k) {
        const dump_entry& e = dumps[k];
        std::fprintf(stderr, "%s[%zu] = {", e.name, e.n);
        for (std::size_t i = 0; i < e.n && i < 64; ++i) {
            if (e.kind == 2)
                std::fprintf(stderr, "%s%lld", i ? ", " : "",
                             static_cast<long long>(static_cast<const std::int64_t*>(e.p)[i]));
            else {
                const double v = e.kind == 0 ? static_cast<const float*>(e.p)[i]
                                             : static_cast<const double*>(e.p)[i];
                std::fprintf(stderr, "%s%a", i ? ", " : "", v);
            }
        }
        std::fprintf(stderr, "%s}\n", e.n > 64 ? ", ..." : "");
    }
}

// Report mode (environment XACT_FUZZ_REPORT_ONLY=1, set by the CTest run while the known
// failures of fuzz/README.md are open): a failed check is printed (the first 20 in full) and
// counted, and the run goes on with the next input; sanitizer reports still end the run.
struct check_failed {};
struct failure_count {
    std::size_t inputs = 0;
    ~failure_count() {
        if (inputs != 0)
            std::fprintf(stderr, "xact_fuzz: %zu inputs failed a check (report mode)\n", inputs);
    }
};
failure_count failures;
bool report_only() {
    static const bool on = [] {
        const char* v = std::getenv("XACT_FUZZ_REPORT_ONLY");
        return v != nullptr && v[0] == '1';
    }();
    return on;
}

[[noreturn]] void fail(const char* fmt, ...) {
    if (report_only() && ++failures.inputs > 20) throw check_failed{};
    std::fprintf(stderr,
                 "\n==== xact_fuzz: check failed ====\n"
                 "function %s (%s), %s, type %s, n = %zu, offsets %zu %zu %zu %zu, "
                 "ISA %s, FMA %d\n",
                 ctx.op, ctx.params, ctx.api, ctx.type, ctx.n, ctx.off[0], ctx.off[1], ctx.off[2],
                 ctx.off[3], xsimd::default_arch::name(), XACT_HAS_FMA);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "\n");
    print_dumps();
    std::fflush(stderr);
    if (report_only()) throw check_failed{};
    std::abort();
}

template <class T>
double d(T v) {
    return static_cast<double>(v);
}
template <class R>
ld l(R v) {
    return static_cast<ld>(v);
}

// ---------------------------------------------------------------- input bytes

/// The fuzzer's bytes, then (once they run out) a splitmix64 stream seeded from all of them.
class source {
  public:
    source(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {
        std::uint64_t h = 0xcbf29ce484222325ULL ^ n;
        for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
        s_ = h;
    }
    std::uint8_t u8() {
        if (n_ != 0) {
            --n_;
            return *p_++;
        }
        return static_cast<std::uint8_t>(next() >> 56);
    }
    std::uint64_t bytes(int k) {
        std::uint64_t v = 0;
        for (int i = 0; i < k; ++i) v |= std::uint64_t(u8()) << (8 * i);
        return v;
    }

  private:
    std::uint64_t next() {
        std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    const std::uint8_t* p_;
    std::size_t n_;
    std::uint64_t s_;
};

template <class T>
using uint_of = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

template <class T>
T from_bits(uint_of<T> u) {
    T x;
    std::memcpy(&x, &u, sizeof x);
    return x;
}

/// v moved by k ULP (|k| <= 16).
template <class T>
T nudge(T v, int k) {
    const T to = k > 0 ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity();
    for (int i = 0; i < (k > 0 ? k : -k); ++i) v = std::nextafter(v, to);
    return v;
}

/// Special values every function sees.
template <class T>
void add_generic_specials(std::vector<T>& v) {
    using L = std::numeric_limits<T>;
    const T vals[] = {T(0),
                      T(1),
                      T(0.5),
                      T(2),
                      T(3),
                      L::max(),
                      L::min(),
                      L::denorm_min(),
                      L::min() - L::denorm_min(),
                      L::epsilon(),
                      T(1e-30),
                      T(1e30),
                      L::infinity(),
                      T(100),
                      L::min() * T(0.5),
                      L::denorm_min() * T(3),
                      L::max() * T(0.5)};
    for (T x : vals) {
        v.push_back(x);
        v.push_back(-x);
    }
    v.push_back(L::quiet_NaN());
    v.push_back(-L::quiet_NaN());
    v.push_back(from_bits<T>(sizeof(T) == 4 ? uint_of<T>(0x7f800001u)
                                            : uint_of<T>(0x7ff0000000000001ull))); // sNaN
    v.push_back(from_bits<T>(sizeof(T) == 4 ? uint_of<T>(0xffc01234u)
                                            : uint_of<T>(0xfff8000000001234ull))); // payload
}

/// Where exp and the kernels built on it change regime, both signs, for scale factor k
/// (the parameter by which the function scales x before its exponential).
template <class T>
void add_exp_thresholds(std::vector<T>& v, ld k) {
    using L = std::numeric_limits<T>;
    constexpr bool f32 = std::is_same_v<T, float>;
    const ld lmax = std::log(static_cast<ld>(L::max()));
    const ld lmin = std::log(static_cast<ld>(L::min()));
    const ld ltiny = std::log(static_cast<ld>(L::denorm_min()));
    const ld cuts[] = {lmax,
                       lmin,
                       ltiny,
                       ltiny - 0.6931471805599453L,
                       lmax / 2,
                       lmin / 2,
                       ltiny / 2,
                       f32 ? 150.0L : 1100.0L,
                       f32 ? 200.0L : 1500.0L,
                       f32 ? 110.0L : 760.0L,
                       f32 ? 120.0L : 745.0L,
                       f32 ? 64.0L : 512.0L,
                       f32 ? 18.0L : 38.0L,
                       0.55L,
                       0.275L,
                       3.25L,
                       15.0L,
                       39.5L,
                       0.5L,
                       1.2784645427610738L,
                       0.7517916243152712L,
                       1.1923820830566L,
                       0.625L,
                       1.5L,
                       std::sqrt(static_cast<ld>(L::max())),
                       std::sqrt(static_cast<ld>(L::max())) * 64,
                       0x1p27L,
                       0x1p100L,
                       f32 ? 0x1p-30L : 0x1p-60L,
                       f32 ? 0x1p-12L : 0x1p-26L};
    for (ld c : cuts) {
        const T t = static_cast<T>(c * k);
        if (!std::isfinite(t)) continue;
        v.push_back(t);
        v.push_back(-t);
    }
}

/// A value for a function whose special points are `sp` and whose working range is
/// [-range, range] (see the top of the file for the mix).
template <class T>
T draw(source& s, const std::vector<T>& sp, T range) {
    constexpr int digits = std::numeric_limits<T>::digits;
    const std::uint8_t tag = s.u8();
    switch (tag >> 5) {
    case 0:
    case 1:
        return sp[s.u8() % sp.size()];
    case 2: {
        // One read per statement: the order of reads inside one expression is unspecified
        // (gcc and clang differ), and an input must decode the same everywhere.
        const T v = sp[s.u8() % sp.size()];
        return nudge(v, int(s.u8() % 33) - 16);
    }
    case 3:
        return from_bits<T>(static_cast<uint_of<T>>(s.bytes(sizeof(T))));
    case 4: { // small dyadic: k / 2^j
        const T k = T(static_cast<std::int8_t>(s.u8()));
        return k / T(1u << (s.u8() % 8));
    }
    case 5: { // moderate: ±(1 + f) 2^e, |e| <= 12
        const std::uint64_t m = s.bytes(sizeof(T) == 4 ? 3 : 7);
        const T f =
            std::ldexp(T(static_cast<double>(m >> 1 & ((1ULL << (digits - 1)) - 1))), 1 - digits);
        const T v = std::ldexp(T(1) + f, int(s.u8() % 25) - 12);
        return (m & 1) ? -v : v;
    }
    case 6: { // uniform on [-range, range]
        const std::int64_t m = static_cast<std::int64_t>(s.bytes(8));
        return static_cast<T>(static_cast<ld>(m) * 0x1p-63L * static_cast<ld>(range));
    }
    default: { // wide: log-uniform over every exponent, subnormals included
        using L = std::numeric_limits<T>;
        const int lo = L::min_exponent - digits, hi = L::max_exponent;
        const std::uint64_t m = s.bytes(sizeof(T) == 4 ? 3 : 7);
        const int e = lo + int(s.bytes(2) % std::uint64_t(hi - lo));
        const T f =
            std::ldexp(T(static_cast<double>(m >> 1 & ((1ULL << (digits - 1)) - 1))), 1 - digits);
        const T v = std::ldexp(T(1) + f, e - 1);
        return (m & 1) ? -v : v;
    }
    }
}

/// Array lengths: mostly 0..71 (every body / tail split of every width), up to 300.
std::size_t draw_length(source& s) {
    const std::uint8_t b = s.u8();
    if (b < 160) return b % 72;
    if (b < 224) return 72 + std::size_t(b - 160) * 2 + s.u8() % 2;
    return 200 + s.u8() % 101;
}

/// A double parameter: one of `table`, or (1 + f) 2^e with e in [lo, hi] (sign if `neg`).
double draw_param(source& s, std::initializer_list<double> table, int lo, int hi, bool neg) {
    const std::uint8_t b = s.u8();
    const std::size_t k = table.size();
    if (b < 200) return table.begin()[b % k];
    const std::uint64_t m = s.bytes(3);
    const double v = std::ldexp(1.0 + double(m >> 1 & 0x3fffff) * 0x1p-22,
                                lo + int(s.u8() % unsigned(hi - lo + 1)));
    return (neg && (m & 1)) ? -v : v;
}

// ---------------------------------------------------------------- buffers

/// n elements of T starting `off` elements after a 64-byte boundary. Under AddressSanitizer
/// the allocation ends right after element n - 1 (any overrun is reported); otherwise W + 1
/// guard elements follow. The `off` elements before the data are guards too.
template <class T>
class buffer {
  public:
    buffer(std::size_t n, std::size_t off) : n_(n), off_(off) {
        total_ = off + n + tail;
        mem_ = static_cast<T*>(
            ::operator new(total_ * sizeof(T) + (total_ == 0 ? 1 : 0), std::align_val_t(64)));
        for (std::size_t i = 0; i < total_; ++i) mem_[i] = sentinel();
        data_ = mem_ + off;
    }
    buffer(const buffer&) = delete;
    buffer& operator=(const buffer&) = delete;
    ~buffer() { ::operator delete(mem_, std::align_val_t(64)); }
    T* data() { return data_; }
    const T* data() const { return data_; }
    T& operator[](std::size_t i) { return data_[i]; }
    const T& operator[](std::size_t i) const { return data_[i]; }
    std::size_t size() const { return n_; }
    void assign(const T* src) {
        if (n_) std::memcpy(data_, src, n_ * sizeof(T));
    }
    void fill_sentinel() {
        for (std::size_t i = 0; i < n_; ++i) data_[i] = sentinel();
    }
    bool untouched() const {
        for (std::size_t i = 0; i < n_; ++i)
            if (bits(data_[i]) != bits(sentinel())) return false;
        return true;
    }
    /// Fails when an element outside [0, n) was written.
    void check_guards(const char* what) const {
        for (std::size_t i = 0; i < total_; ++i) {
            if (i >= off_ && i < off_ + n_) continue;
            if (bits(mem_[i]) != bits(sentinel()))
                fail("%s wrote outside its array (element %td)", what,
                     static_cast<std::ptrdiff_t>(i) - static_cast<std::ptrdiff_t>(off_));
        }
    }
    static T sentinel() {
        return from_bits<T>(sizeof(T) == 4 ? uint_of<T>(0x5a5a5a5au)
                                           : uint_of<T>(0x5a5a5a5a5a5a5a5aull));
    }

  private:
    static constexpr std::size_t tail = XACT_FUZZ_ASAN ? 0 : xsimd::batch<T>::size + 1;
    std::size_t n_, off_, total_;
    T* mem_;
    T* data_;
};

template <class T>
void expect_same_arrays(const T* a, const T* b, std::size_t n, const char* what) {
    for (std::size_t i = 0; i < n; ++i)
        if (!same(a[i], b[i]))
            fail("%s: element %zu differs: %.17g (%a) vs %.17g (%a)", what, i, d(a[i]), d(a[i]),
                 d(b[i]), d(b[i]));
}

// ---------------------------------------------------------------- error measures

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

/// Error of y against reference r in ULP of max(|r|, floor) in T; infinite for a NaN
/// mismatch, a wrong or missing infinity, a zero where the true value is at least the
/// smallest subnormal (a flush; below it, between the tie and denorm_min, 0 is a rounding
/// measured in ULP like any other), and (zero_sign) a zero whose sign differs from that of
/// the rounded reference.
template <class T, class R>
double ulp_error(T y, R r, R floor, bool zero_sign) {
    const double inf = std::numeric_limits<double>::infinity();
    if (rm::isnan(r)) return std::isnan(y) ? 0.0 : inf;
    if (std::isnan(y)) return inf;
    const T rt = static_cast<T>(r);
    if (std::isinf(rt) || std::isinf(y)) return (y == rt) ? 0.0 : inf;
    if (y == 0 && rt != 0 && rm::fabs(r) >= static_cast<R>(std::numeric_limits<T>::denorm_min()))
        return inf;
    if (zero_sign && y == 0 && rt == 0 && std::signbit(y) != std::signbit(rt)) return inf;
    const R m = rm::max(rm::fabs(r), floor);
    const R diff = rm::fabs(static_cast<R>(y) - r);
    return static_cast<double>(diff / ulp_in<T>(m));
}

/// Error of y against ref in ULP of mag (an absolute bound, for results whose terms cancel);
/// NaN and infinity mismatches are infinite errors.
template <class T, class R>
double abs_ulps(T y, R ref, R mag) {
    const double inf = std::numeric_limits<double>::infinity();
    if (rm::isnan(ref)) return std::isnan(y) ? 0.0 : inf;
    if (std::isnan(y)) return inf;
    const T rt = static_cast<T>(ref);
    if (std::isinf(rt) || std::isinf(y)) return y == rt ? 0.0 : inf;
    const R m = rm::max(rm::fabs(ref), rm::fabs(mag));
    return static_cast<double>(rm::fabs(static_cast<R>(y) - ref) / ulp_in<T>(m));
}

template <class T>
constexpr T tmax() {
    return std::numeric_limits<T>::max();
}

// ---------------------------------------------------------------- reference formulas

/// Constants in R, from decimal strings.
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
    static R inv_sqrt_2pi() {
        static const R v = R(1) / rm::sqrt(2 * pi());
        return v;
    }
    static R sqrt_2_over_pi() {
        static const R v = rm::sqrt(2 / pi());
        return v;
    }
    static R gelu_k() {
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

template <class R>
R qnan() {
    return static_cast<R>(std::numeric_limits<double>::quiet_NaN());
}
template <class R>
R r_sigmoid(R x) {
    return 1 / (1 + rm::exp(-x));
}
template <class R>
R r_sigmoid_d(R x) { // t / (1 + t)^2, t = e^-|x|
    const R t = rm::exp(-rm::fabs(x));
    return t / ((1 + t) * (1 + t));
}
template <class R>
R r_tanh_d(R x) { // 4t / (1 + t)^2, t = e^-2|x|
    const R t = rm::exp(-2 * rm::fabs(x));
    return 4 * t / ((1 + t) * (1 + t));
}
template <class R>
R r_swish(R x, R b) { // x sigma(b x); b x is exact in R
    if (rm::isnan(x)) return x;
    if (rm::isinf(x)) {
        if (b == 0) return x / 2;
        return b * x > 0 ? x : (x > 0 ? R(0) : -R(0));
    }
    return x / (1 + rm::exp(-(b * x)));
}
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
R r_swish_d_scale(R x, R b) { // max(sigma(z), |z| sigma(z) sigma(-z))
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
R r_celu(R x, R a) {
    return x > 0 ? x : a * rm::expm1(x / a);
}
template <class R>
R r_celu_d(R x, R a) {
    return x > 0 ? R(1) : rm::exp(x / a);
}
template <class R>
R r_gelu(R x) { // (x/2) erfc(-x/sqrt2)
    if (rm::isinf(x)) return x > 0 ? x : -R(0);
    return x / 2 * rm::erfc(-x / K<R>::sqrt2());
}
template <class R>
R r_gelu_d(R x) { // Phi(x) + x phi(x)
    if (rm::isinf(x)) return x > 0 ? R(1) : R(0);
    return rm::erfc(-x / K<R>::sqrt2()) / 2 + x * K<R>::inv_sqrt_2pi() * rm::exp(-(x * x) / 2);
}
template <class R>
R r_gelu_d_scale(R x) {
    if (rm::isnan(x) || rm::isinf(x)) return R(0);
    return rm::max(rm::erfc(-x / K<R>::sqrt2()) / 2,
                   rm::fabs(x) * K<R>::inv_sqrt_2pi() * rm::exp(-(x * x) / 2));
}
template <class R>
R gelu_u(R x) {
    return K<R>::sqrt_2_over_pi() * (x + K<R>::gelu_k() * x * x * x);
}
template <class R>
R r_gelu_tanh(R x) { // x sigma(2u)
    if (rm::isinf(x)) return x > 0 ? x : -R(0);
    return x / (1 + rm::exp(-2 * gelu_u(x)));
}
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
template <class R>
R log1pexp(R z) { // log(1 + e^z), no cancellation or overflow
    return z > 0 ? z + rm::log1p(rm::exp(-z)) : rm::log1p(rm::exp(z));
}
template <class R>
R r_mish(R x) {
    if (rm::isinf(x)) return x > 0 ? x : -R(0);
    return x * rm::tanh(log1pexp(x));
}
template <class R>
R r_mish_d(R x) { // tanh(sp) + x sech^2(sp) sigma(x)
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
R r_log_sigmoid(R x) {
    return x < 0 ? x - rm::log1p(rm::exp(x)) : -rm::log1p(rm::exp(-x));
}
/// sigma(x) accurate in both tails.
template <class R>
R r_sigma2(R x) {
    return x >= 0 ? 1 / (1 + rm::exp(-x)) : rm::exp(x) / (1 + rm::exp(x));
}

// ---------------------------------------------------------------- elementwise activations

enum op_id : unsigned {
    // activation_kind order
    op_identity,
    op_relu,
    op_relu6,
    op_leaky_relu,
    op_hardtanh,
    op_hard_sigmoid,
    op_hard_swish,
    op_sigmoid,
    op_tanh,
    op_swish,
    op_softsign,
    op_elu,
    op_selu,
    op_celu,
    op_gelu,
    op_softplus,
    op_mish,
    op_log_sigmoid,
    // along an axis
    op_prelu,
    op_softmax,
    op_log_softmax,
    // losses
    op_mse,
    op_mae,
    op_bce,
    op_ce_class,
    op_ce_prob,
    op_count
};

const char* const op_names[op_count] = {"identity",
                                        "relu",
                                        "relu6",
                                        "leaky_relu",
                                        "hardtanh",
                                        "hard_sigmoid",
                                        "hard_swish",
                                        "sigmoid",
                                        "tanh",
                                        "swish",
                                        "softsign",
                                        "elu",
                                        "selu",
                                        "celu",
                                        "gelu",
                                        "softplus",
                                        "mish",
                                        "log_sigmoid",
                                        "prelu",
                                        "softmax",
                                        "log_softmax",
                                        "mse_loss",
                                        "mae_loss",
                                        "binary_cross_entropy_with_logits",
                                        "cross_entropy(class)",
                                        "cross_entropy(prob)"};

/// The parameters of one elementwise activation (doubles, as the functors hold them).
struct act_params {
    double a = 0, b = 0;
    bool approx = false;
};

act_params draw_act_params(unsigned op, source& s) {
    act_params p;
    switch (op) {
    case op_leaky_relu:
        p.a = draw_param(s, {0.01, 0.2, 0.0, -0.0, 1.0, 0.1, -0.5, 2.0, -1.0, 1e-3, 5.5}, -20, 6,
                         true);
        break;
    case op_hardtanh: {
        const std::initializer_list<double> t = {-1.0, 1.0,  0.0, -0.0, 6.0,  -2.0,
                                                 2.0,  -3.0, 3.0, 0.5,  -0.5, 0.1};
        p.a = draw_param(s, t, -10, 10, true);
        p.b = draw_param(s, t, -10, 10, true);
        if (s.u8() < 128 && p.a > p.b) std::swap(p.a, p.b);
        if (p.a > p.b) p.b = p.a; // lo == hi
        break;
    }
    case op_swish:
        p.a = draw_param(s, {1.0, 1.5, 0.1, -0.75, 2.0, 0.5, 0.0, -1.0, 1.702, 4.0}, -8, 6, true);
        break;
    case op_elu:
        p.a = draw_param(s, {1.0, 0.1, 2.5, -0.5, 0.0, 1.5, 0.01}, -10, 4, true);
        break;
    case op_celu:
        p.a = draw_param(s, {1.0, 0.5, 3.0, -1.5, 2.0, 0.25, -1.0}, -6, 4, true);
        break;
    case op_gelu:
        p.approx = s.u8() & 1;
        break;
    case op_softplus:
        p.a = draw_param(s, {1.0, 2.0, 0.3, 0.5, 10.0, 0.7, 100.0}, -6, 6, false);
        break;
    default:
        break;
    }
    return p;
}

/// Calls fn(functor) with the functor of op and parameters p.
template <class Fn>
void with_functor(unsigned op, const act_params& p, Fn&& fn) {
    switch (op) {
    case op_identity:
        return fn(xact::identity{});
    case op_relu:
        return fn(xact::relu{});
    case op_relu6:
        return fn(xact::relu6{});
    case op_leaky_relu:
        return fn(xact::leaky_relu{p.a});
    case op_hardtanh:
        return fn(xact::hardtanh{p.a, p.b});
    case op_hard_sigmoid:
        return fn(xact::hard_sigmoid{});
    case op_hard_swish:
        return fn(xact::hard_swish{});
    case op_sigmoid:
        return fn(xact::sigmoid{});
    case op_tanh:
        return fn(xact::tanh{});
    case op_swish:
        return fn(xact::swish{p.a});
    case op_softsign:
        return fn(xact::softsign{});
    case op_elu:
        return fn(xact::elu{p.a});
    case op_selu:
        return fn(xact::selu{});
    case op_celu:
        return fn(xact::celu{p.a});
    case op_gelu:
        return fn(xact::gelu{p.approx});
    case op_softplus:
        return fn(xact::softplus{p.a});
    case op_mish:
        return fn(xact::mish{});
    case op_log_sigmoid:
        return fn(xact::log_sigmoid{});
    default:
        return;
    }
}

/// Accuracy bounds (spec.md §3): 0 means bitwise equal to the correctly rounded reference.
struct act_bounds {
    double value, deriv, from_output;
};

act_bounds bounds_of(unsigned op) {
    switch (op) {
    case op_identity:
    case op_relu:
    case op_relu6:
    case op_leaky_relu:
    case op_hardtanh:
        return {0, 0, 0};
    case op_hard_sigmoid:
        return {1, 0, 0}; // f' = 1/6 rounded, or 0: exact
    case op_hard_swish:
        return {1, 1, 0}; // f' = x/3 + 1/2 rounds (README: 0.67 ULP)
    case op_gelu:
    case op_mish:
        return {4, 4, 0};
    case op_sigmoid:
    case op_tanh:
    case op_elu:
        return {2, 4, 2}; // from the output: against the formula at the given y (tests: 2)
    default:
        return {2, 4, 0};
    }
}

/// Reference value, derivative, derivative floor (absolute measure near zeros of f') and
/// derivative from the output of op at x, parameters rounded to T once.
template <class T>
struct act_ref {
    using R = ref_t<T>;
    unsigned op;
    R a, b;
    bool approx;

    act_ref(unsigned o, const act_params& p)
        : op(o), a(static_cast<R>(static_cast<T>(p.a))), b(static_cast<R>(static_cast<T>(p.b))),
          approx(p.approx) {}

    R value(R x) const {
        if (rm::isnan(x)) return x;
        const R inf = rm::inf<R>();
        switch (op) {
        case op_identity:
            return x;
        case op_relu:
            return x > 0 ? x : R(0);
        case op_relu6:
            return x <= 0 ? R(0) : (x > 6 ? R(6) : x);
        case op_leaky_relu:
            return leaky(x, a);
        case op_hardtanh:
            return x < a ? a : (x > b ? b : x);
        case op_hard_sigmoid:
            return x <= -3 ? R(0) : (x >= 3 ? R(1) : (x + 3) / 6);
        case op_hard_swish:
            return x <= -3 ? -R(0) : (x >= 3 ? x : x * (x + 3) / 6);
        case op_sigmoid:
            return r_sigmoid(x);
        case op_tanh:
            return rm::tanh(x);
        case op_swish:
            return r_swish(x, a);
        case op_softsign:
            return rm::isinf(x) ? (x > 0 ? R(1) : R(-1)) : x / (1 + rm::fabs(x));
        case op_elu:
            return r_elu(x, a);
        case op_selu:
            return K<R>::selu_lambda() * r_elu(x, K<R>::selu_alpha());
        case op_celu:
            return r_celu(x, a);
        case op_gelu:
            return approx ? r_gelu_tanh(x) : r_gelu(x);
        case op_softplus:
            return log1pexp(a * x) / a;
        case op_mish:
            return r_mish(x);
        case op_log_sigmoid:
            return x == -inf ? x : r_log_sigmoid(x);
        default:
            return qnan<R>();
        }
    }
    static R leaky(R x, R al) {
        const R inf = rm::inf<R>();
        if (x > 0) return x;
        if (x == -inf) return al == 0 ? (-R(0)) * al : -inf * al; // the limit of al x
        return al * x;
    }
    R deriv(R x) const {
        if (rm::isnan(x)) return x;
        switch (op) {
        case op_identity:
            return R(1);
        case op_relu:
            return x > 0 ? R(1) : R(0);
        case op_relu6:
            return (x > 0 && x < 6) ? R(1) : R(0);
        case op_leaky_relu:
            return x > 0 ? R(1) : a;
        case op_hardtanh:
            return (x > a && x < b) ? R(1) : R(0);
        case op_hard_sigmoid:
            return (x > -3 && x < 3) ? R(1) / R(6) : R(0);
        case op_hard_swish:
            return x < -3 ? R(0) : (x <= 3 ? x / 3 + R(1) / 2 : R(1));
        case op_sigmoid:
            return r_sigmoid_d(x);
        case op_tanh:
            return r_tanh_d(x);
        case op_swish:
            return r_swish_d(x, a);
        case op_softsign: {
            const R dd = 1 + rm::fabs(x);
            return 1 / (dd * dd);
        }
        case op_elu:
            return r_elu_d(x, a);
        case op_selu:
            return K<R>::selu_lambda() * r_elu_d(x, K<R>::selu_alpha());
        case op_celu:
            return r_celu_d(x, a);
        case op_gelu:
            return approx ? r_gelu_tanh_d(x) : r_gelu_d(x);
        case op_softplus:
            return 1 / (1 + rm::exp(-(a * x)));
        case op_mish:
            return r_mish_d(x);
        case op_log_sigmoid:
            return 1 / (1 + rm::exp(x));
        default:
            return qnan<R>();
        }
    }
    R deriv_floor(R x) const {
        switch (op) {
        case op_swish:
            return r_swish_d_scale(x, a);
        case op_gelu:
            return approx ? r_gelu_tanh_d_scale(x) : r_gelu_d_scale(x);
        case op_mish:
            return r_mish_d_scale(x);
        default:
            return R(0);
        }
    }
    /// True when y is a possible output of f (sigmoid [0, 1], tanh [-1, 1], elu [-a, inf];
    /// NaN included): where derivative_from_output means something.
    bool in_range(R y) const {
        if (rm::isnan(y)) return true;
        switch (op) {
        case op_sigmoid:
            return y >= 0 && y <= 1;
        case op_tanh:
            return y >= -1 && y <= 1;
        case op_elu:
            return y >= -a;
        default:
            return true;
        }
    }
    /// f' from y (a T value, exact in R): the formula of spec.md §1 at y.
    R from_output(R y) const {
        if (rm::isnan(y)) return y;
        switch (op) {
        case op_sigmoid:
            return y * (1 - y);
        case op_tanh:
            return (1 - y) * (1 + y);
        case op_elu:
            return y > 0 ? R(1) : y + a;
        default: // the piecewise-linear ones: f'(y), the side of the kink read from y
            return deriv(y);
        }
    }
};

/// Special points of op (generic ones, kinks, exp thresholds scaled by the parameter).
template <class T>
std::vector<T> act_specials(unsigned op, const act_params& p) {
    std::vector<T> v;
    add_generic_specials(v);
    const T kinks[] = {T(6),
                       T(3),
                       T(-3),
                       T(-1.5),
                       T(-0.75),
                       T(1.5),
                       T(0.75),
                       static_cast<T>(p.a),
                       static_cast<T>(p.b)};
    for (T k : kinks) v.push_back(k);
    switch (op) {
    case op_swish:
    case op_softplus:
        add_exp_thresholds<T>(v, 1);
        if (p.a != 0) add_exp_thresholds<T>(v, 1 / static_cast<ld>(static_cast<T>(p.a)));
        break;
    case op_celu:
        add_exp_thresholds<T>(v, 1);
        add_exp_thresholds<T>(v, static_cast<ld>(static_cast<T>(p.a)));
        break;
    case op_sigmoid:
    case op_tanh:
    case op_softsign:
    case op_elu:
    case op_selu:
    case op_gelu:
    case op_mish:
    case op_log_sigmoid:
        add_exp_thresholds<T>(v, 1);
        break;
    default:
        v.push_back(std::is_same_v<T, float> ? T(0x1p-30) : T(0x1p-60)); // hard_swish tiny
        break;
    }
    return v;
}

/// Working range for the uniform samples.
template <class T>
T act_range(unsigned op) {
    if (op <= op_hard_swish) return T(8);
    return std::is_same_v<T, float> ? T(110) : T(800);
}

/// Checks one value against its reference: bitwise (bound 0) or within `bound` ULP.
template <class T, class R>
void check_ref(const char* what, T x, T got, R ref, R floor, double bound, bool is_value) {
    if (bound == 0) {
        const T want = static_cast<T>(ref);
        if (!same(got, want))
            fail("%s(%.17g = %a): got %.17g (%a), expected exactly %.17g (%a)", what, d(x), d(x),
                 d(got), d(got), d(want), d(want));
        return;
    }
    const double e = ulp_error<T, R>(got, ref, floor, is_value);
    if (!(e <= bound))
        fail("%s(%.17g = %a): got %.17g (%a), reference %.21Lg (%La): %.3g ULP > bound %g", what,
             d(x), d(x), d(got), d(got), l(ref), l(ref), e, bound);
}

/// Number of elements per input checked against a transcendental reference (the __float128
/// functions cost about 1 us each).
template <class T>
constexpr std::size_t ref_budget() {
    return std::is_same_v<T, float> ? 128 : 16;
}

template <class T, class F>
void run_activation(unsigned op, const act_params& p, const F& f, unsigned dir, source& s) {
    using R = ref_t<T>;
    constexpr std::size_t A = 64 / sizeof(T);
    const std::size_t n = draw_length(s);
    const std::size_t ox = s.u8() % A, oy = s.u8() % A, oz = s.u8() % A;
    ctx.n = n;
    ctx.off[0] = ox;
    ctx.off[1] = oy;
    ctx.off[2] = oz;
    const std::uint8_t opt = s.u8();
    const std::vector<T> sp = act_specials<T>(op, p);
    const T range = act_range<T>(op);
    buffer<T> x(n, ox);
    for (std::size_t i = 0; i < n; ++i) x[i] = draw(s, sp, range);
    dump("x", x.data(), n);

    const act_ref<T> ref(op, p);
    const act_bounds bd = bounds_of(op);
    const bool exact_cheap = op <= op_hard_swish; // references are a few arithmetic operations
    const bool accurate = has_accurate_ref<T>();
    const std::size_t budget = exact_cheap ? n : std::min(n, ref_budget<T>());

    // The run-time activation: the same bits as the direct call; its name parses back.
    const xact::activation act(f);
    if (opt & 1) {
        const xact::activation back = xact::activation::parse(act.name());
        if (!(back == act))
            fail("activation::parse(\"%s\") is not the same activation", act.name().c_str());
    }

    if (dir == 0) { // forward
        ctx.api = "forward";
        buffer<T> y(n, oy), z(n, oz);
        xact::forward(f, x.data(), y.data(), n);
        y.check_guards("forward");
        for (std::size_t i = 0; i < n; ++i) {
            const T want = f(x[i]);
            if (!same(y[i], want))
                fail("forward[%zu] (SIMD) != scalar f(x) at x = %.17g (%a): %.17g (%a) vs %.17g "
                     "(%a)",
                     i, d(x[i]), d(x[i]), d(y[i]), d(y[i]), d(want), d(want));
        }
        z.assign(x.data());
        xact::forward(f, z.data(), z.data(), n);
        z.check_guards("forward in place");
        expect_same_arrays(z.data(), y.data(), n, "forward in place vs out of place");
        z.fill_sentinel();
        act.forward(x.data(), z.data(), n);
        expect_same_arrays(z.data(), y.data(), n, "activation::forward vs xact::forward");
        if (accurate)
            for (std::size_t i = 0; i < budget; ++i)
                check_ref<T, R>("f", x[i], y[i], ref.value(static_cast<R>(x[i])), R(0), bd.value,
                                true);
        if (n == 0) xact::forward(f, static_cast<const T*>(nullptr), static_cast<T*>(nullptr), 0);
        return;
    }

    // Upstream gradients: mostly ordinary values, sometimes anything.
    std::vector<T> dsp = {T(1), T(-1), T(0.5), T(2), T(-3), T(1e-3), T(0)};
    if (opt & 2) add_generic_specials(dsp);
    buffer<T> dy(n, oy);
    for (std::size_t i = 0; i < n; ++i) dy[i] = draw(s, dsp, T(4));
    dump("dy", dy.data(), n);

    if (dir == 1) { // backward from the input
        ctx.api = "backward";
        buffer<T> dx(n, oz), a(n, ox), b(n, oy);
        xact::backward(f, x.data(), dy.data(), dx.data(), n);
        dx.check_guards("backward");
        for (std::size_t i = 0; i < n; ++i) {
            const T want = dy[i] * f.derivative(x[i]);
            if (!same(dx[i], want))
                fail("backward[%zu] (SIMD) != dy * scalar f'(x) at x = %.17g (%a), dy = %.17g: "
                     "%.17g (%a) vs %.17g (%a)",
                     i, d(x[i]), d(x[i]), d(dy[i]), d(dx[i]), d(dx[i]), d(want), d(want));
        }
        a.assign(x.data());
        xact::backward(f, a.data(), dy.data(), a.data(), n); // dx == x
        expect_same_arrays(a.data(), dx.data(), n, "backward dx == x vs out of place");
        b.assign(dy.data());
        xact::backward(f, x.data(), b.data(), b.data(), n); // dx == dy
        expect_same_arrays(b.data(), dx.data(), n, "backward dx == dy vs out of place");
        b.fill_sentinel();
        act.backward(x.data(), dy.data(), b.data(), n);
        expect_same_arrays(b.data(), dx.data(), n, "activation::backward vs xact::backward");
        if (accurate)
            for (std::size_t i = 0; i < budget; ++i) {
                const R xr = static_cast<R>(x[i]);
                check_ref<T, R>("f'", x[i], f.derivative(x[i]), ref.deriv(xr), ref.deriv_floor(xr),
                                bd.deriv, false);
            }
        return;
    }

    // backward_from_output, where offered.
    ctx.api = "backward_from_output";
    if constexpr (xact::detail::has_derivative_from_output<F, T>::value) {
        // y: the function's outputs (as frameworks save them), or the raw values.
        buffer<T> y(n, ox);
        for (std::size_t i = 0; i < n; ++i) y[i] = (opt & 4) ? x[i] : f(x[i]);
        dump("y", y.data(), n);
        bool valid = true;
        if constexpr (std::is_same_v<F, xact::leaky_relu> || std::is_same_v<F, xact::elu>)
            valid = f.alpha >= 0.0;
        buffer<T> dx(n, oz);
        if (!valid) {
            bool threw = false;
            try {
                xact::backward_from_output(f, y.data(), dy.data(), dx.data(), n);
            } catch (const std::invalid_argument&) {
                threw = true;
            }
            if (!threw) fail("backward_from_output with alpha < 0 did not throw");
            if (!dx.untouched()) fail("backward_from_output wrote before throwing");
            return;
        }
        xact::backward_from_output(f, y.data(), dy.data(), dx.data(), n);
        dx.check_guards("backward_from_output");
        for (std::size_t i = 0; i < n; ++i) {
            const T want = dy[i] * f.derivative_from_output(y[i]);
            if (!same(dx[i], want))
                fail("backward_from_output[%zu] (SIMD) != dy * scalar f'(y) at y = %.17g (%a), "
                     "dy = %.17g: %.17g (%a) vs %.17g (%a)",
                     i, d(y[i]), d(y[i]), d(dy[i]), d(dx[i]), d(dx[i]), d(want), d(want));
        }
        buffer<T> a(n, oy), b(n, ox);
        a.assign(y.data());
        xact::backward_from_output(f, a.data(), dy.data(), a.data(), n); // dx == y
        expect_same_arrays(a.data(), dx.data(), n, "backward_from_output dx == y vs out of place");
        b.assign(dy.data());
        xact::backward_from_output(f, y.data(), b.data(), b.data(), n); // dx == dy
        expect_same_arrays(b.data(), dx.data(), n, "backward_from_output dx == dy vs out of place");
        a.fill_sentinel();
        act.backward_from_output(y.data(), dy.data(), a.data(), n);
        expect_same_arrays(a.data(), dx.data(), n,
                           "activation::backward_from_output vs xact::backward_from_output");
        if (accurate)
            for (std::size_t i = 0; i < n; ++i)
                if (ref.in_range(static_cast<R>(y[i])))
                    check_ref<T, R>("f'(from y)", y[i], f.derivative_from_output(y[i]),
                                    ref.from_output(static_cast<R>(y[i])), R(0), bd.from_output,
                                    false);
    } else {
        // No derivative from the output: activation's call must throw and write nothing.
        buffer<T> dx(n, oz);
        bool threw = false;
        try {
            act.backward_from_output(x.data(), dy.data(), dx.data(), n);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        if (!threw) fail("activation::backward_from_output did not throw for %s", ctx.op);
        if (!dx.untouched()) fail("activation::backward_from_output wrote before throwing");
    }
}

// ---------------------------------------------------------------- shapes

/// extents{outer, axis, inner} with at most about n_max elements; axis 0 and inner > 1
/// layouts included.
extents draw_extents(source& s, std::size_t n) {
    const std::uint8_t b = s.u8();
    std::size_t axis, inner;
    if (b < 8) {
        axis = 0; // empty axis
        inner = 1 + s.u8() % 4;
        return extents{1 + s.u8() % 4u, axis, inner};
    }
    if (b < 128) {
        inner = 1;
    } else if (b < 200) {
        inner = 1 + s.u8() % 20;
    } else {
        inner = 1 + s.u8() % 80;
    }
    const std::size_t cap = std::max<std::size_t>(1, n / inner);
    const std::uint8_t c = s.u8();
    axis = c < 128 ? 1 + c % std::min<std::size_t>(cap, 40) : 1 + c % cap;
    if (axis > cap) axis = cap;
    const std::size_t outer = std::max<std::size_t>(1, n / (axis * inner));
    return extents{std::min<std::size_t>(outer, 1 + s.u8() % 8), axis, inner};
}

void set_shape(const extents& e) {
    std::snprintf(ctx.params, sizeof ctx.params, "extents {%zu, %zu, %zu}", e.outer, e.axis,
                  e.inner);
}

inline std::size_t at(const extents& e, std::size_t o, std::size_t c, std::size_t j) {
    return (o * e.axis + c) * e.inner + j;
}

// ---------------------------------------------------------------- PReLU

template <class T>
void run_prelu(unsigned dir, source& s) {
    using R = ref_t<T>;
    constexpr std::size_t A = 64 / sizeof(T);
    const extents e = draw_extents(s, draw_length(s) + 1);
    const std::size_t n = e.size();
    const bool shared = s.u8() < 80;
    const std::size_t na = shared ? 1 : e.axis;
    const std::size_t ox = s.u8() % A, oy = s.u8() % A, oz = s.u8() % A;
    ctx.n = n;
    ctx.off[0] = ox;
    ctx.off[1] = oy;
    ctx.off[2] = oz;
    std::snprintf(ctx.params, sizeof ctx.params, "extents {%zu, %zu, %zu}, %s alpha", e.outer,
                  e.axis, e.inner, shared ? "one" : "per-channel");
    std::vector<T> alpha(na == 0 ? 1 : na);
    for (auto& a : alpha)
        a = static_cast<T>(
            draw_param(s, {0.25, 0.01, 0.0, -0.0, 1.0, -0.5, 2.0, 0.2}, -20, 6, true));
    std::vector<T> sp;
    add_generic_specials(sp);
    buffer<T> x(n, ox);
    for (std::size_t i = 0; i < n; ++i) x[i] = draw(s, sp, T(8));
    dump("x", x.data(), n);
    dump("alpha", alpha.data(), na);
    const auto slope = [&](std::size_t i) { return alpha[shared ? 0 : (i / e.inner) % e.axis]; };
    const auto ref_leaky = [](T xi, T a) {
        return static_cast<T>(act_ref<T>::leaky(static_cast<R>(xi), static_cast<R>(a)));
    };

    if (dir % 2 == 0) {
        ctx.api = "prelu_forward";
        buffer<T> y(n, oy), z(n, oz);
        xact::prelu_forward(x.data(), alpha.data(), na, y.data(), e);
        y.check_guards("prelu_forward");
        for (std::size_t i = 0; i < n; ++i) {
            const T a = slope(i);
            const T want = xact::detail::leaky(x[i], a);
            if (!same(y[i], want))
                fail("prelu_forward[%zu] != scalar leaky(x, a) at x = %.17g (%a), a = %.9g: %.17g "
                     "vs %.17g",
                     i, d(x[i]), d(x[i]), d(a), d(y[i]), d(want));
            // The long double product of two doubles rounds twice: only exact with __float128.
            if (!has_accurate_ref<T>()) continue;
            const T r = ref_leaky(x[i], a);
            if (!same(y[i], r))
                fail("prelu_forward[%zu] at x = %.17g (%a), a = %.9g: got %.17g (%a), expected "
                     "exactly %.17g (%a)",
                     i, d(x[i]), d(x[i]), d(a), d(y[i]), d(y[i]), d(r), d(r));
        }
        z.assign(x.data());
        xact::prelu_forward(z.data(), alpha.data(), na, z.data(), e);
        expect_same_arrays(z.data(), y.data(), n, "prelu_forward in place vs out of place");
        return;
    }

    ctx.api = "prelu_backward";
    std::vector<T> dsp = {T(1), T(-1), T(0.5), T(2), T(-3), T(0)};
    if (s.u8() < 64) add_generic_specials(dsp);
    buffer<T> dy(n, oy);
    for (std::size_t i = 0; i < n; ++i) dy[i] = draw(s, dsp, T(4));
    dump("dy", dy.data(), n);
    const T init = static_cast<T>(draw_param(s, {0.0, -0.0, 1.0, -0.5}, -10, 10, true));
    std::vector<T> da(alpha.size(), init), da2(alpha.size(), init), da3(alpha.size(), init);
    buffer<T> dx(n, oz);
    xact::prelu_backward(x.data(), alpha.data(), na, dy.data(), dx.data(), da.data(), e);
    dx.check_guards("prelu_backward");
    for (std::size_t i = 0; i < n; ++i) {
        const T a = slope(i);
        const T der = xact::detail::leaky_derivative(x[i], a);
        const T want = dy[i] * der;
        if (!same(dx[i], want))
            fail("prelu_backward dx[%zu] != dy * scalar leaky'(x, a) at x = %.17g, a = %.9g, dy = "
                 "%.17g: %.17g vs %.17g",
                 i, d(x[i]), d(a), d(dy[i]), d(dx[i]), d(want));
        const T rd = std::isnan(x[i]) ? x[i] : (x[i] > 0 ? T(1) : a);
        if (!same(der, rd))
            fail("prelu'(x = %.17g, a = %.9g) = %.17g, expected %.17g", d(x[i]), d(a), d(der),
                 d(rd));
    }
    // In place (dx == dy, then dx == x), other alignments: the same dx and dalpha bits.
    buffer<T> b(n, ox), c(n, oz);
    b.assign(dy.data());
    xact::prelu_backward(x.data(), alpha.data(), na, b.data(), b.data(), da2.data(), e);
    expect_same_arrays(b.data(), dx.data(), n, "prelu_backward dx == dy vs out of place");
    expect_same_arrays(da2.data(), da.data(), na, "prelu_backward dalpha (dx == dy)");
    c.assign(x.data());
    xact::prelu_backward(c.data(), alpha.data(), na, dy.data(), c.data(), da3.data(), e);
    expect_same_arrays(c.data(), dx.data(), n, "prelu_backward dx == x vs out of place");
    expect_same_arrays(da3.data(), da.data(), na, "prelu_backward dalpha (dx == x)");
    if (n == 0 || !has_accurate_ref<T>()) return;
    // dalpha[c] = init + sum of (x < 0 ? x dy : 0) over channel c (0 at x = 0, NaN for NaN x):
    // within (m + 2) u sum |terms| + m denorm_min for m terms in any summation order.
    const std::size_t channels = na;
    std::vector<R> sum(channels, static_cast<R>(init)),
        mag(channels, rm::fabs(static_cast<R>(init)));
    std::vector<std::size_t> count(channels, 0);
    std::vector<bool> has_inf(channels, false);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t ch = shared ? 0 : (i / e.inner) % e.axis;
        const R xr = static_cast<R>(x[i]), g = static_cast<R>(dy[i]);
        const R t = rm::isnan(xr) ? xr : (xr < 0 ? xr * g : R(0));
        sum[ch] += t;
        if (rm::isinf(t))
            has_inf[ch] = true;
        else if (!rm::isnan(t))
            mag[ch] += rm::fabs(t);
        ++count[ch];
    }
    const R u = rm::ldexp(R(1), -std::numeric_limits<T>::digits);
    const R tiny = static_cast<R>(std::numeric_limits<T>::denorm_min());
    for (std::size_t ch = 0; ch < channels; ++ch) {
        const T got = da[ch];
        if (rm::isnan(sum[ch])) {
            if (!std::isnan(got))
                fail("prelu_backward dalpha[%zu] = %.17g, expected NaN", ch, d(got));
            continue;
        }
        if (mag[ch] > static_cast<R>(tmax<T>()) / 4) continue; // partial sums may overflow
        if (has_inf[ch]) {
            if (!(std::isinf(got) && static_cast<R>(got) == sum[ch]))
                fail("prelu_backward dalpha[%zu] = %.17g, expected %.17Lg", ch, d(got), l(sum[ch]));
            continue;
        }
        const R err = rm::fabs(static_cast<R>(got) - sum[ch]);
        const R lim = R(static_cast<double>(count[ch] + 2)) * u * mag[ch] +
                      R(static_cast<double>(count[ch] + 1)) * tiny;
        if (!(err <= lim))
            fail("prelu_backward dalpha[%zu] = %.17g (%a), reference %.21Lg: error %.3Lg > %.3Lg "
                 "((m + 2) u sum|terms|, m = %zu)",
                 ch, d(got), d(got), l(sum[ch]), l(err), l(lim), count[ch]);
    }
}

// ---------------------------------------------------------------- softmax

/// Reference softmax (log = false) or log_softmax of row (o, j) of x (after test_softmax.cpp).
template <class T>
void softmax_ref_row(const T* x, const extents& e, std::size_t o, std::size_t j, bool log,
                     std::vector<ref_t<T>>& r) {
    using R = ref_t<T>;
    const std::size_t n = e.axis;
    r.assign(n, R(0));
    const R inf = rm::inf<R>();
    bool nan = false;
    std::size_t k = 0, arg = 0;
    R m = -inf;
    for (std::size_t c = 0; c < n; ++c) {
        const R v = static_cast<R>(x[at(e, o, c, j)]);
        if (rm::isnan(v)) nan = true;
        if (v == inf) ++k;
        if (v > m) {
            m = v;
            arg = c;
        }
    }
    if (nan || m == -inf) { // NaN row, or every entry -inf
        for (auto& v : r) v = qnan<R>();
        return;
    }
    if (k > 0) { // mass 1/k on each +inf entry
        for (std::size_t c = 0; c < n; ++c) {
            const bool on = static_cast<R>(x[at(e, o, c, j)]) == inf;
            r[c] = log ? (on ? -rm::log(static_cast<R>(static_cast<double>(k))) : -inf)
                       : (on ? R(1) / R(static_cast<double>(k)) : R(0));
        }
        return;
    }
    R t = 0; // the sum without one instance of the max: s = 1 + t
    for (std::size_t c = 0; c < n; ++c)
        if (c != arg) t += rm::exp(static_cast<R>(x[at(e, o, c, j)]) - m);
    const R sum = R(1) + t, ls = rm::log1p(t);
    for (std::size_t c = 0; c < n; ++c) {
        const R dd = static_cast<R>(x[at(e, o, c, j)]) - m;
        r[c] = log ? dd - ls : rm::exp(dd) / sum;
    }
}

template <class T>
void call_softmax(bool log, const T* x, T* y, const extents& e) {
    if (log)
        xact::log_softmax(x, y, e);
    else
        xact::softmax(x, y, e);
}
template <class T>
void call_softmax_backward(bool log, const T* y, const T* dy, T* dx, const extents& e) {
    if (log)
        xact::log_softmax_backward(y, dy, dx, e);
    else
        xact::softmax_backward(y, dy, dx, e);
}

template <class T>
void run_softmax(bool log, unsigned dir, source& s) {
    using R = ref_t<T>;
    constexpr std::size_t A = 64 / sizeof(T);
    const extents e = draw_extents(s, draw_length(s) + 1);
    const std::size_t n = e.size();
    const std::size_t ox = s.u8() % A, oy = s.u8() % A, oz = s.u8() % A;
    ctx.n = n;
    ctx.off[0] = ox;
    ctx.off[1] = oy;
    ctx.off[2] = oz;
    set_shape(e);
    const std::uint8_t opt = s.u8();
    std::vector<T> sp;
    add_generic_specials(sp);
    add_exp_thresholds<T>(sp, 1);
    const T range = (opt & 1) ? T(30) : (std::is_same_v<T, float> ? T(110) : T(800));
    buffer<T> x(n, ox);
    for (std::size_t i = 0; i < n; ++i) x[i] = draw(s, sp, range);
    dump("x", x.data(), n);
    // Budget of reference exponentials (rows past it are only checked for identities).
    std::size_t budget = std::is_same_v<T, float> ? 1024 : 96;

    if (dir % 2 == 0) {
        ctx.api = log ? "log_softmax" : "softmax";
        buffer<T> y(n, oy), z(n, oz);
        call_softmax(log, x.data(), y.data(), e);
        y.check_guards("softmax");
        z.assign(x.data());
        call_softmax(log, z.data(), z.data(), e);
        expect_same_arrays(z.data(), y.data(), n, "softmax in place vs out of place");
        if (e.outer > 1) { // the last slice alone: the same bits
            const extents one{1, e.axis, e.inner};
            const std::size_t base = (e.outer - 1) * e.axis * e.inner;
            buffer<T> a(one.size(), ox);
            call_softmax(log, x.data() + base, a.data(), one);
            expect_same_arrays(a.data(), y.data() + base, one.size(),
                               "softmax of the last slice alone vs within the array");
        }
        if (n == 0) {
            buffer<T> w(4, 0);
            call_softmax(log, x.data(), w.data(), e);
            if (!w.untouched()) fail("softmax with empty extents wrote");
            return;
        }
        if (!has_accurate_ref<T>()) return;
        std::vector<R> r;
        for (std::size_t o = 0; o < e.outer; ++o)
            for (std::size_t j = 0; j < e.inner; ++j) {
                if (budget < e.axis) return;
                budget -= e.axis;
                softmax_ref_row(x.data(), e, o, j, log, r);
                for (std::size_t c = 0; c < e.axis; ++c) {
                    const std::size_t i = at(e, o, c, j);
                    const double err = ulp_error<T, R>(y[i], r[c], R(0), false);
                    if (!(err <= 4.0))
                        fail("row (%zu, %zu) element %zu: x = %.17g (%a), got %.17g (%a), "
                             "reference %.21Lg: %.3g ULP > 4",
                             o, j, c, d(x[i]), d(x[i]), d(y[i]), d(y[i]), l(r[c]), err);
                }
            }
        return;
    }

    // Backward from y: the forward's output (as frameworks save it) or raw values.
    ctx.api = log ? "log_softmax_backward" : "softmax_backward";
    buffer<T> y(n, ox), dy(n, oy);
    if (opt & 2) {
        y.assign(x.data());
    } else {
        call_softmax(log, x.data(), y.data(), e);
    }
    dump("y", y.data(), n);
    std::vector<T> dsp = {T(1), T(-1), T(0.5), T(2), T(-3), T(0), T(1e-3), T(1e3)};
    if (opt & 4) add_generic_specials(dsp);
    for (std::size_t i = 0; i < n; ++i) dy[i] = draw(s, dsp, T(4));
    dump("dy", dy.data(), n);
    buffer<T> dx(n, oz), a(n, oy), b(n, ox);
    call_softmax_backward(log, y.data(), dy.data(), dx.data(), e);
    dx.check_guards("softmax backward");
    a.assign(dy.data());
    call_softmax_backward(log, y.data(), a.data(), a.data(), e); // dx == dy
    expect_same_arrays(a.data(), dx.data(), n, "softmax backward dx == dy vs out of place");
    b.assign(y.data());
    call_softmax_backward(log, b.data(), dy.data(), b.data(), e); // dx == y
    expect_same_arrays(b.data(), dx.data(), n, "softmax backward dx == y vs out of place");
    if (n == 0 || !has_accurate_ref<T>()) return;
    // dx_i = y_i (dy_i - <y, dy>) or dy_i - e^y_i sum dy, error in ULP of max(|r|, terms)
    // (test_softmax.cpp). Checked where the row is finite (log_softmax: y may be -inf), y is
    // a possible output of the forward, and the terms stay well inside T's range.
    const R inf = rm::inf<R>();
    const R big = static_cast<R>(tmax<T>()) / 4;
    for (std::size_t o = 0; o < e.outer; ++o)
        for (std::size_t j = 0; j < e.inner; ++j) {
            if (budget < e.axis) return;
            budget -= e.axis;
            R sum = 0, s_abs = 0;
            bool nan = false, skip = false;
            for (std::size_t c = 0; c < e.axis; ++c) {
                const std::size_t i = at(e, o, c, j);
                const R v = static_cast<R>(y[i]), g = static_cast<R>(dy[i]);
                if (rm::isnan(g) || (!log && rm::isnan(v))) nan = true;
                if (rm::isinf(g) || v == inf || (!log && rm::isinf(v))) skip = true;
                // Only outputs the forward can give: softmax in [0, 1], log_softmax <= 0.
                if (log ? v > 0 : (v < 0 || v > 1)) skip = true;
                const R term = log ? g : v * g;
                sum += term;
                s_abs += rm::fabs(term);
            }
            if (skip && !nan) continue;
            if (!nan && s_abs > big) continue;
            for (std::size_t c = 0; c < e.axis; ++c) {
                const std::size_t i = at(e, o, c, j);
                const R v = static_cast<R>(y[i]), g = static_cast<R>(dy[i]);
                if (nan || rm::isnan(v)) {
                    if (!std::isnan(dx[i]) && (nan || !skip))
                        fail("row (%zu, %zu) element %zu: y = %.17g, dy = %.17g: got %.17g, "
                             "expected NaN",
                             o, j, c, d(y[i]), d(dy[i]), d(dx[i]));
                    continue;
                }
                const R ev = log ? rm::exp(v) : R(0);
                const R ref = log ? g - ev * sum : v * (g - sum);
                const R scale =
                    log ? rm::fabs(g) + ev * s_abs : rm::fabs(v) * (rm::fabs(g) + s_abs);
                if (scale > big || rm::fabs(g) + s_abs > big) continue; // dy_i - s overflows
                const double err = abs_ulps<T, R>(dx[i], ref, scale);
                if (!(err <= 4.0))
                    fail("row (%zu, %zu) element %zu: y = %.17g (%a), dy = %.17g (%a): got %.17g "
                         "(%a), reference %.21Lg (terms %.3Lg): %.3g ULP > 4",
                         o, j, c, d(y[i]), d(y[i]), d(dy[i]), d(dy[i]), d(dx[i]), d(dx[i]), l(ref),
                         l(scale), err);
            }
        }
}

// ---------------------------------------------------------------- elementwise losses

enum class eloss { mse, mae, bce };

/// Reference loss, gradient factor and magnitudes of one element (after test_loss.cpp).
template <class R>
struct eloss_ref {
    eloss kind;
    R loss(R x, R t) const {
        switch (kind) {
        case eloss::mse:
            return (x - t) * (x - t);
        case eloss::mae:
            return rm::fabs(x - t);
        default: {
            if (rm::isnan(x) || rm::isnan(t)) return qnan<R>();
            const R c = x > 0 ? 1 - t : -t; // A = max(x, 0) - x t = x c; 0 where c = 0
            const R A = c == 0 ? R(0) : x * c;
            return A + rm::log1p(rm::exp(-rm::fabs(x)));
        }
        }
    }
    /// Size of the terms of the loss (= loss for t in [0, 1]).
    R loss_mag(R x, R t) const {
        if (kind != eloss::bce) return rm::fabs(loss(x, t));
        const R c = x > 0 ? 1 - t : -t;
        const R A = c == 0 ? R(0) : x * c;
        return rm::fabs(A) + rm::log1p(rm::exp(-rm::fabs(x)));
    }
    R grad(R x, R t) const { // without the upstream factor k
        switch (kind) {
        case eloss::mse:
            return 2 * (x - t);
        case eloss::mae: {
            const R dd = x - t; // NaN for NaN, and for inf - inf
            return rm::isnan(dd) ? dd : (dd > 0 ? R(1) : (dd < 0 ? R(-1) : R(0)));
        }
        default:
            if (rm::isnan(x) || rm::isnan(t)) return qnan<R>();
            return x > 0 ? (1 - t) - r_sigma2(-x) : r_sigma2(x) - t;
        }
    }
    R grad_mag(R x, R t) const {
        if (kind == eloss::bce) return r_sigma2(x) + rm::fabs(t);
        return rm::fabs(grad(x, t));
    }
    double value_ulp() const { return kind == eloss::mse ? 1 : kind == eloss::mae ? 0.501 : 3; }
    double reduced_ulp() const { return kind == eloss::bce ? 3 : 1; }
    double grad_ulp() const { return kind == eloss::mse ? 1 : kind == eloss::mae ? 0.51 : 3; }
};

template <class T>
T eloss_reduced(eloss k, const T* x, const T* t, std::size_t n, reduction r) {
    switch (k) {
    case eloss::mse:
        return xact::mse_loss(x, t, n, r);
    case eloss::mae:
        return xact::mae_loss(x, t, n, r);
    default:
        return xact::binary_cross_entropy_with_logits(x, t, n, r);
    }
}
template <class T>
void eloss_none(eloss k, const T* x, const T* t, T* out, std::size_t n) {
    switch (k) {
    case eloss::mse:
        return xact::mse_loss(x, t, out, n);
    case eloss::mae:
        return xact::mae_loss(x, t, out, n);
    default:
        return xact::binary_cross_entropy_with_logits(x, t, out, n);
    }
}
template <class T>
void eloss_back(eloss k, const T* x, const T* t, T* dx, std::size_t n, reduction r, T dloss) {
    switch (k) {
    case eloss::mse:
        return xact::mse_loss_backward(x, t, dx, n, r, dloss);
    case eloss::mae:
        return xact::mae_loss_backward(x, t, dx, n, r, dloss);
    default:
        return xact::binary_cross_entropy_with_logits_backward(x, t, dx, n, r, dloss);
    }
}
template <class T>
void eloss_each(eloss k, const T* x, const T* t, const T* g, T* dx, std::size_t n) {
    switch (k) {
    case eloss::mse:
        return xact::mse_loss_backward(x, t, g, dx, n);
    case eloss::mae:
        return xact::mae_loss_backward(x, t, g, dx, n);
    default:
        return xact::binary_cross_entropy_with_logits_backward(x, t, g, dx, n);
    }
}

const char* reduction_name(reduction r) {
    return r == reduction::mean ? "mean" : r == reduction::sum ? "sum" : "none";
}

template <class T>
T draw_dloss(source& s) {
    return static_cast<T>(
        draw_param(s, {1.0, 0.75, -1.25, 0.5, 3.0, 0x1p-10, 1024.0, -1.0}, -30, 30, true));
}

template <class T>
void run_eloss(eloss kind, unsigned dir, source& s) {
    using R = ref_t<T>;
    constexpr std::size_t A = 64 / sizeof(T);
    const std::size_t n = draw_length(s);
    const std::size_t ox = s.u8() % A, ot = s.u8() % A, oo = s.u8() % A, og = s.u8() % A;
    ctx.n = n;
    ctx.off[0] = ox;
    ctx.off[1] = ot;
    ctx.off[2] = oo;
    ctx.off[3] = og;
    const std::uint8_t opt = s.u8();
    std::vector<T> sp;
    add_generic_specials(sp);
    if (kind == eloss::bce) add_exp_thresholds<T>(sp, 1);
    buffer<T> x(n, ox), t(n, ot);
    const T range = kind == eloss::bce ? T(40) : T(8);
    for (std::size_t i = 0; i < n; ++i) x[i] = draw(s, sp, range);
    dump("x", x.data(), n);
    if (kind == eloss::bce) {
        // Targets: probabilities (0, 1, ... and uniform on [0, 1]); rarely anything.
        const std::vector<T> tsp = {T(0), T(1), T(0.5), T(0.25), T(0.75), T(0.1), T(0.9)};
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint8_t b = s.u8();
            if (b < 128)
                t[i] = tsp[b % tsp.size()];
            else if (b < 250 || !(opt & 8))
                t[i] = static_cast<T>(static_cast<double>(s.bytes(4)) * 0x1p-32);
            else
                t[i] = draw(s, sp, T(4));
        }
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint8_t b = s.u8();
            t[i] = b < 40 ? x[i] : (b < 60 ? nudge(x[i], int(b % 5) - 2) : draw(s, sp, range));
        }
    }
    dump("target", t.data(), n);
    const eloss_ref<R> ref{kind};
    const bool accurate = has_accurate_ref<T>();
    const std::size_t budget = std::min(n, ref_budget<T>() * (kind == eloss::bce ? 1 : 8));
    const R big = static_cast<R>(tmax<T>()) / 4;

    if (dir == 0) { // reduced: mean and sum
        for (reduction red : {reduction::mean, reduction::sum}) {
            ctx.api = red == reduction::mean ? "reduced (mean)" : "reduced (sum)";
            const T got = eloss_reduced(kind, x.data(), t.data(), n, red);
            buffer<T> x2(n, oo), t2(n, og);
            x2.assign(x.data());
            t2.assign(t.data());
            const T again = eloss_reduced(kind, x2.data(), t2.data(), n, red);
            if (!same(got, again))
                fail("reduced loss depends on alignment: %.17g vs %.17g", d(got), d(again));
            if (n == 0) {
                if (red == reduction::mean ? !std::isnan(got) : bits(got) != bits(T(0)))
                    fail("empty input: %s gave %.17g", reduction_name(red), d(got));
                continue;
            }
            if (!accurate || n > budget) continue;
            R sum = 0, mag = 0;
            bool finite = true;
            for (std::size_t i = 0; i < n; ++i) {
                const R xr = static_cast<R>(x[i]), tr = static_cast<R>(t[i]);
                const R v = ref.loss(xr, tr);
                sum += v;
                if (!std::isfinite(x[i]) || !std::isfinite(t[i]) || rm::isinf(v)) finite = false;
                mag += ref.loss_mag(xr, tr);
            }
            if (rm::isnan(sum)) {
                if (!std::isnan(got)) fail("%s: got %.17g, expected NaN", ctx.api, d(got));
                continue;
            }
            if (!finite || mag > big) continue;
            const R N = red == reduction::mean ? R(static_cast<double>(n)) : R(1);
            const R want = sum / N;
            const double err = abs_ulps<T, R>(got, want, mag / N);
            if (!(err <= ref.reduced_ulp()))
                fail("%s: got %.17g (%a), reference %.21Lg: %.3g ULP > %g", ctx.api, d(got), d(got),
                     l(want), err, ref.reduced_ulp());
        }
        return;
    }

    if (dir == 1) { // per element (reduction none)
        ctx.api = "per element (reduction none)";
        buffer<T> out(n, oo), a(n, ox), b(n, ot);
        eloss_none(kind, x.data(), t.data(), out.data(), n);
        out.check_guards("loss per element");
        for (std::size_t i = 0; i < n; ++i) { // SIMD body and tail vs a call of one element
            T one;
            eloss_none(kind, x.data() + i, t.data() + i, &one, 1);
            if (!same(out[i], one))
                fail("element %zu (x = %.17g, t = %.17g): %.17g in the array, %.17g alone", i,
                     d(x[i]), d(t[i]), d(out[i]), d(one));
        }
        a.assign(x.data());
        eloss_none(kind, a.data(), t.data(), a.data(), n);
        expect_same_arrays(a.data(), out.data(), n, "loss out == x vs out of place");
        b.assign(t.data());
        eloss_none(kind, x.data(), b.data(), b.data(), n);
        expect_same_arrays(b.data(), out.data(), n, "loss out == target vs out of place");
        if (!accurate) return;
        for (std::size_t i = 0; i < budget; ++i) {
            const R xr = static_cast<R>(x[i]), tr = static_cast<R>(t[i]);
            const R want = ref.loss(xr, tr);
            const double err = abs_ulps<T, R>(out[i], want, ref.loss_mag(xr, tr));
            if (!(err <= ref.value_ulp()))
                fail("element %zu: x = %.17g (%a), t = %.17g (%a): got %.17g (%a), reference "
                     "%.21Lg: %.3g ULP > %g",
                     i, d(x[i]), d(x[i]), d(t[i]), d(t[i]), d(out[i]), d(out[i]), l(want), err,
                     ref.value_ulp());
        }
        return;
    }

    // Gradients: a uniform dloss with a reduction (dir 2) or one dout per element (dir 3).
    const bool each = dir == 3;
    const reduction red = static_cast<reduction>(s.u8() % 3);
    const T dloss = draw_dloss<T>(s);
    buffer<T> g(n, og);
    if (each) {
        std::vector<T> gsp = {T(1), T(-1), T(0.5), T(0), T(-0.25), T(3)};
        if (opt & 4) add_generic_specials(gsp);
        for (std::size_t i = 0; i < n; ++i) g[i] = draw(s, gsp, T(2));
        dump("dout", g.data(), n);
    }
    char api[96];
    std::snprintf(api, sizeof api, "%s", each ? "backward (dout per element)" : "backward");
    ctx.api = api;
    if (!each)
        std::snprintf(api, sizeof api, "backward (reduction %s, dloss %.9g)", reduction_name(red),
                      d(dloss));
    const auto call = [&](const T* xp, const T* tp, const T* gp, T* dxp, std::size_t m) {
        if (each)
            eloss_each(kind, xp, tp, gp, dxp, m);
        else
            eloss_back(kind, xp, tp, dxp, m, red, dloss);
    };
    buffer<T> dx(n, oo), a(n, ox), b(n, ot), c(n, og);
    call(x.data(), t.data(), g.data(), dx.data(), n);
    dx.check_guards("loss backward");
    if (each || red != reduction::mean)
        for (std::size_t i = 0; i < n; ++i) { // no dependence on n: compare with one element
            T one;
            call(x.data() + i, t.data() + i, g.data() + i, &one, 1);
            if (!same(dx[i], one))
                fail("gradient element %zu (x = %.17g, t = %.17g): %.17g in the array, %.17g "
                     "alone",
                     i, d(x[i]), d(t[i]), d(dx[i]), d(one));
        }
    a.assign(x.data());
    call(a.data(), t.data(), g.data(), a.data(), n);
    expect_same_arrays(a.data(), dx.data(), n, "loss backward dx == x vs out of place");
    b.assign(t.data());
    call(x.data(), b.data(), g.data(), b.data(), n);
    expect_same_arrays(b.data(), dx.data(), n, "loss backward dx == target vs out of place");
    if (each) {
        c.assign(g.data());
        call(x.data(), t.data(), c.data(), c.data(), n);
        expect_same_arrays(c.data(), dx.data(), n, "loss backward dx == dout vs out of place");
    }
    if (!accurate) return;
    const R N = (!each && red == reduction::mean) ? R(static_cast<double>(n)) : R(1);
    for (std::size_t i = 0; i < budget; ++i) {
        const R xr = static_cast<R>(x[i]), tr = static_cast<R>(t[i]);
        // x - t beyond T's range: the gradient's own term overflows (not checked).
        if (kind != eloss::bce && rm::fabs(xr - tr) > static_cast<R>(tmax<T>()) &&
            std::isfinite(x[i]) && std::isfinite(t[i]))
            continue;
        const R k = (each ? static_cast<R>(g[i]) : static_cast<R>(dloss)) / N;
        const R want = k * ref.grad(xr, tr);
        const R mag = rm::fabs(k) * ref.grad_mag(xr, tr);
        // An infinite upstream factor times a gradient that may round to 0 within its bound.
        if (rm::isinf(k) && !rm::isnan(want)) continue;
        // bce: the bound (of sigma + |t|) is for probabilities; other targets are not checked.
        if (kind == eloss::bce && !(tr >= 0 && tr <= 1) && !rm::isnan(want)) continue;
        const double err = kind == eloss::bce ? abs_ulps<T, R>(dx[i], want, mag)
                                              : ulp_error<T, R>(dx[i], want, R(0), false);
        if (!(err <= ref.grad_ulp()))
            fail("gradient element %zu: x = %.17g (%a), t = %.17g (%a), k = %.17Lg: got %.17g "
                 "(%a), reference %.21Lg: %.3g ULP > %g",
                 i, d(x[i]), d(x[i]), d(t[i]), d(t[i]), l(k), d(dx[i]), d(dx[i]), l(want), err,
                 ref.grad_ulp());
    }
}

// ---------------------------------------------------------------- cross-entropy

/// Reference of one row: loss (and the size of its terms), per class the unscaled gradient
/// Q softmax_j - q_j and its magnitude |Q softmax_j| + |q_j|. Handles the documented limits:
/// NaN anywhere -> NaN; +inf entries -> softmax 1/k on them; all -inf -> NaN; q_j = 0 terms
/// contribute nothing.
template <class R>
struct ce_row {
    R loss = 0, loss_mag = 0;
    std::vector<R> grad, mag;
    R spread = 0; // sum of m - x_j over the finite logits (its overflow in T: not checked)
};

template <class T, class R = ref_t<T>>
ce_row<R> ce_reference_row(const T* x, std::size_t stride, std::size_t C, const std::vector<R>& q) {
    ce_row<R> r;
    r.grad.assign(C, R(0));
    r.mag.assign(C, R(0));
    if (C == 0) return r;
    const R inf = rm::inf<R>();
    bool nan = false;
    std::size_t k = 0, jm = 0;
    R m = -inf, hi = -inf;
    R Q = 0;
    for (std::size_t j = 0; j < C; ++j) {
        const R v = static_cast<R>(x[j * stride]);
        if (rm::isnan(v) || rm::isnan(q[j])) nan = true;
        if (!rm::isinf(v) && !rm::isnan(v)) hi = v > hi ? v : hi;
        if (v == inf) ++k;
        if (v > m) {
            m = v;
            jm = j;
        }
        Q += q[j];
    }
    for (std::size_t j = 0; j < C; ++j) {
        const R v = static_cast<R>(x[j * stride]);
        if (!rm::isinf(v) && !rm::isnan(v)) r.spread += hi - v;
    }
    if (nan || m == -inf) {
        r.loss = r.loss_mag = qnan<R>();
        for (std::size_t j = 0; j < C; ++j) r.grad[j] = r.mag[j] = qnan<R>();
        return r;
    }
    std::vector<R> sm(C), nl(C); // softmax_j and -log_softmax_j
    if (k > 0) {
        const R kk = R(static_cast<double>(k));
        for (std::size_t j = 0; j < C; ++j) {
            const bool on = static_cast<R>(x[j * stride]) == inf;
            sm[j] = on ? R(1) / kk : R(0);
            nl[j] = on ? rm::log(kk) : inf;
        }
    } else {
        R sv = 0;
        for (std::size_t j = 0; j < C; ++j)
            if (j != jm) sv += rm::exp(static_cast<R>(x[j * stride]) - m);
        const R L = rm::log1p(sv);
        for (std::size_t j = 0; j < C; ++j) {
            const R xj = static_cast<R>(x[j * stride]);
            sm[j] = rm::exp(xj - m) / (1 + sv);
            nl[j] = (m - xj) + L;
        }
    }
    for (std::size_t j = 0; j < C; ++j) {
        if (q[j] != 0) {
            r.loss += q[j] * nl[j];
            r.loss_mag += rm::fabs(q[j] * nl[j]);
        }
        r.grad[j] = Q * sm[j] - q[j];
        r.mag[j] = rm::fabs(Q * sm[j]) + rm::fabs(q[j]);
    }
    return r;
}

template <class T>
void run_ce(bool prob, unsigned dir, source& s) {
    using R = ref_t<T>;
    constexpr std::size_t A = 64 / sizeof(T);
    const extents e = draw_extents(s, draw_length(s) + 1);
    const std::size_t n = e.size(), C = e.axis, rows = e.outer * e.inner;
    const std::size_t ox = s.u8() % A, ot = s.u8() % A, oo = s.u8() % A, og = s.u8() % A;
    ctx.n = n;
    ctx.off[0] = ox;
    ctx.off[1] = ot;
    ctx.off[2] = oo;
    ctx.off[3] = og;
    const std::uint8_t opt = s.u8();
    xact::cross_entropy_options o;
    {
        const std::uint8_t b = s.u8();
        const double eps_table[] = {0.1, 1.0, 0.5, 0.25};
        o.label_smoothing = b < 128 ? 0.0 : b < 224 ? eps_table[b % 4] : double(s.u8()) / 255.0;
        const std::uint8_t c = s.u8();
        o.ignore_index = (c < 200 || C == 0) ? -100 : static_cast<std::int64_t>(c % C);
    }
    std::snprintf(ctx.params, sizeof ctx.params,
                  "extents {%zu, %zu, %zu}, label_smoothing %.9g, ignore_index %lld", e.outer,
                  e.axis, e.inner, o.label_smoothing, static_cast<long long>(o.ignore_index));
    std::vector<T> sp;
    add_generic_specials(sp);
    add_exp_thresholds<T>(sp, 1);
    if (!(opt & 1)) { // mostly finite logits
        sp.erase(std::remove_if(sp.begin(), sp.end(), [](T v) { return !std::isfinite(v); }),
                 sp.end());
    }
    const T range = (opt & 2) ? T(40) : T(4);
    buffer<T> x(n, ox);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = draw(s, sp, range);
        if (!(opt & 1) && !std::isfinite(x[i])) x[i] = T(0);
    }
    dump("logits", x.data(), n);
    // Targets.
    std::vector<std::int64_t> yv(rows);
    std::vector<T> pv(prob ? n : 0);
    if (!prob) {
        for (auto& v : yv) {
            const std::uint8_t b = s.u8();
            v = (C == 0 || b >= 224) ? o.ignore_index : static_cast<std::int64_t>(b % C);
        }
    } else {
        const std::vector<T> tsp = {T(0), T(1), T(0.5), T(0.25)};
        for (auto& v : pv) {
            const std::uint8_t b = s.u8();
            v = b < 96 ? tsp[b % tsp.size()]
                       : static_cast<T>(static_cast<double>(s.bytes(4)) * 0x1p-32);
            if ((opt & 4) && b == 255) v = std::numeric_limits<T>::quiet_NaN();
        }
        if (opt & 8) { // rows that sum to 1
            for (std::size_t oo2 = 0; oo2 < e.outer; ++oo2)
                for (std::size_t j = 0; j < e.inner; ++j) {
                    double tot = 0;
                    for (std::size_t c = 0; c < C; ++c) tot += double(pv[at(e, oo2, c, j)]);
                    if (tot > 0)
                        for (std::size_t c = 0; c < C; ++c)
                            pv[at(e, oo2, c, j)] =
                                static_cast<T>(double(pv[at(e, oo2, c, j)]) / tot);
                }
        }
    }
    buffer<T> p(prob ? n : 0, ot);
    if (prob) p.assign(pv.data());
    std::vector<std::int64_t> ystore(rows + 8);
    std::int64_t* y = ystore.data() + (ot % 8);
    std::copy(yv.begin(), yv.end(), y);
    if (prob)
        dump("target", p.data(), n);
    else
        dump("target", y, rows);
    const void* tg = prob ? static_cast<const void*>(p.data()) : static_cast<const void*>(y);

    const auto ce = [&](const T* xp, const void* tp, const xact::cross_entropy_options& oo3) {
        return prob ? xact::cross_entropy(xp, static_cast<const T*>(tp), e, oo3)
                    : xact::cross_entropy(xp, static_cast<const std::int64_t*>(tp), e, oo3);
    };
    const auto ce_none = [&](const T* xp, const void* tp, T* out) {
        if (prob)
            xact::cross_entropy(xp, static_cast<const T*>(tp), out, e, o);
        else
            xact::cross_entropy(xp, static_cast<const std::int64_t*>(tp), out, e, o);
    };

    // The reference of every row (within a budget of exponentials).
    const bool accurate = has_accurate_ref<T>() && n <= (std::is_same_v<T, float> ? 1024u : 96u);
    std::vector<R> rloss(rows, R(0)), rlmag(rows, R(0)), rgrad(n, R(0)), rgmag(n, R(0));
    std::vector<bool> ignored(rows, false), wide(rows, false);
    std::size_t count = 0;
    bool any_wide = false;
    if (accurate) {
        const R eps = static_cast<R>(o.label_smoothing);
        std::vector<R> q(C);
        std::vector<T> row(C);
        for (std::size_t oo2 = 0; oo2 < e.outer; ++oo2)
            for (std::size_t j = 0; j < e.inner; ++j) {
                const std::size_t r = oo2 * e.inner + j;
                if (!prob) {
                    if (y[r] == o.ignore_index) {
                        ignored[r] = true;
                        continue;
                    }
                    for (std::size_t c = 0; c < C; ++c)
                        q[c] = (static_cast<std::int64_t>(c) == y[r] ? 1 - eps : R(0)) +
                               eps / R(static_cast<double>(C));
                } else {
                    for (std::size_t c = 0; c < C; ++c)
                        q[c] = (1 - eps) * static_cast<R>(p[at(e, oo2, c, j)]) +
                               eps / R(static_cast<double>(C));
                }
                ++count;
                for (std::size_t c = 0; c < C; ++c) row[c] = x[at(e, oo2, c, j)];
                const ce_row<R> rr = ce_reference_row<T>(row.data(), 1, C, q);
                rloss[r] = rr.loss;
                rlmag[r] = rr.loss_mag;
                wide[r] = rr.spread > static_cast<R>(tmax<T>()) / 2 && !rm::isnan(rr.loss);
                any_wide = any_wide || wide[r];
                for (std::size_t c = 0; c < C; ++c) {
                    rgrad[at(e, oo2, c, j)] = rr.grad[c];
                    rgmag[at(e, oo2, c, j)] = rr.mag[c];
                }
            }
    }
    const R big = static_cast<R>(tmax<T>()) / 4;

    if (dir == 0) { // reduced
        for (reduction red : {reduction::mean, reduction::sum}) {
            ctx.api = red == reduction::mean ? "reduced (mean)" : "reduced (sum)";
            xact::cross_entropy_options o2 = o;
            o2.red = red;
            const T got = ce(x.data(), tg, o2);
            buffer<T> x2(n, oo);
            x2.assign(x.data());
            const T again = ce(x2.data(), tg, o2);
            if (!same(got, again))
                fail("reduced cross-entropy depends on alignment: %.17g vs %.17g", d(got),
                     d(again));
            if (!accurate || any_wide) continue;
            R sum = 0, mag = 0;
            for (std::size_t r = 0; r < rows; ++r) {
                sum += rloss[r];
                mag += rlmag[r];
            }
            if (red == reduction::mean && count == 0) {
                if (!std::isnan(got)) fail("mean over no rows: got %.17g, expected NaN", d(got));
                continue;
            }
            if (!rm::isnan(sum) && !rm::isinf(sum) && mag > big) continue;
            const R N = red == reduction::mean ? R(static_cast<double>(count)) : R(1);
            const double err = abs_ulps<T, R>(got, sum / N, mag / N);
            if (!(err <= 3.0))
                fail("%s: got %.17g (%a), reference %.21Lg: %.3g ULP > 3", ctx.api, d(got), d(got),
                     l(sum / N), err);
        }
        return;
    }

    if (dir == 1) { // per row
        ctx.api = "per row (reduction none)";
        buffer<T> out(rows, oo);
        ce_none(x.data(), tg, out.data());
        out.check_guards("cross_entropy per row");
        buffer<T> x2(n, og), out2(rows, ox);
        x2.assign(x.data());
        ce_none(x2.data(), tg, out2.data());
        expect_same_arrays(out2.data(), out.data(), rows, "cross_entropy per row, other alignment");
        if (!accurate) return;
        for (std::size_t r = 0; r < rows; ++r) {
            if (ignored[r]) {
                if (bits(out[r]) != bits(T(0)))
                    fail("ignored row %zu: loss %.17g, expected +0", r, d(out[r]));
                continue;
            }
            if (wide[r] || (!rm::isnan(rloss[r]) && !rm::isinf(rloss[r]) && rlmag[r] > big))
                continue;
            const double err = abs_ulps<T, R>(out[r], rloss[r], rlmag[r]);
            if (!(err <= 3.0))
                fail("row %zu: got %.17g (%a), reference %.21Lg: %.3g ULP > 3", r, d(out[r]),
                     d(out[r]), l(rloss[r]), err);
        }
        return;
    }

    // Gradients.
    const bool each = dir == 3;
    xact::cross_entropy_options o2 = o;
    o2.red = static_cast<reduction>(s.u8() % 3);
    const T dloss = draw_dloss<T>(s);
    buffer<T> dout(rows, og);
    for (std::size_t r = 0; r < rows; ++r)
        dout[r] = static_cast<T>(draw_param(s, {1.0, -1.0, 0.5, 0.0, 2.0}, -20, 20, true));
    dump("dout", dout.data(), rows);
    char api[96];
    if (each)
        std::snprintf(api, sizeof api, "backward (dout per row)");
    else
        std::snprintf(api, sizeof api, "backward (reduction %s, dloss %.9g)",
                      reduction_name(o2.red), d(dloss));
    ctx.api = api;
    const auto back = [&](const T* xp, const void* tp, T* dxp) {
        if (each) {
            if (prob)
                xact::cross_entropy_backward(xp, static_cast<const T*>(tp), dout.data(), dxp, e,
                                             o2);
            else
                xact::cross_entropy_backward(xp, static_cast<const std::int64_t*>(tp), dout.data(),
                                             dxp, e, o2);
        } else {
            if (prob)
                xact::cross_entropy_backward(xp, static_cast<const T*>(tp), dxp, e, o2, dloss);
            else
                xact::cross_entropy_backward(xp, static_cast<const std::int64_t*>(tp), dxp, e, o2,
                                             dloss);
        }
    };
    buffer<T> dx(n, oo), a(n, og);
    back(x.data(), tg, dx.data());
    dx.check_guards("cross_entropy_backward");
    a.assign(x.data());
    back(a.data(), tg, a.data()); // dlogits == logits
    expect_same_arrays(a.data(), dx.data(), n, "cross_entropy_backward dlogits == logits");
    if (prob) {
        buffer<T> b(n, ox);
        b.assign(p.data());
        back(x.data(), b.data(), b.data()); // dlogits == target
        expect_same_arrays(b.data(), dx.data(), n, "cross_entropy_backward dlogits == target");
    }
    if (!accurate) return;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t r = (i / (C * e.inner)) * e.inner + i % e.inner;
        if (ignored[r]) {
            if (bits(dx[i]) != bits(T(0)))
                fail("ignored row %zu: gradient %.17g at element %zu, expected +0", r, d(dx[i]), i);
            continue;
        }
        R k = static_cast<R>(dloss);
        if (!each && o2.red == reduction::mean) k = k / R(static_cast<double>(count));
        if (each) k = static_cast<R>(dout[r]);
        const R want = k * rgrad[i];
        const R mag = rm::fabs(k) * rgmag[i];
        if (rm::isinf(k) && !rm::isnan(want)) continue; // inf times a gradient that may round to 0
        if (wide[r] || (!rm::isnan(want) && mag > big)) continue;
        const double err = abs_ulps<T, R>(dx[i], want, mag);
        if (!(err <= 4.0))
            fail("gradient element %zu (row %zu): x = %.17g (%a), k = %.17Lg: got %.17g (%a), "
                 "reference %.21Lg (terms %.3Lg): %.3g ULP > 4",
                 i, r, d(x[i]), d(x[i]), l(k), d(dx[i]), d(dx[i]), l(want), l(mag), err);
    }
}

// ---------------------------------------------------------------- entry

template <class T>
void run(unsigned op, unsigned flags, source& s) {
    ctx = context{};
    dump_count = 0;
    ctx.op = op_names[op];
    ctx.type = std::is_same_v<T, float> ? "float" : "double";
    const unsigned dir = (flags >> 1) & 3;
    if (op < op_prelu) {
        const act_params p = draw_act_params(op, s);
        std::snprintf(ctx.params, sizeof ctx.params, "a = %.17g, b = %.17g, approximate = %d", p.a,
                      p.b, int(p.approx));
        with_functor(op, p, [&](const auto& f) { run_activation<T>(op, p, f, dir % 3, s); });
        return;
    }
    switch (op) {
    case op_prelu:
        return run_prelu<T>(dir, s);
    case op_softmax:
    case op_log_softmax:
        return run_softmax<T>(op == op_log_softmax, dir, s);
    case op_mse:
        return run_eloss<T>(eloss::mse, dir, s);
    case op_mae:
        return run_eloss<T>(eloss::mae, dir, s);
    case op_bce:
        return run_eloss<T>(eloss::bce, dir, s);
    case op_ce_class:
    case op_ce_prob:
        return run_ce<T>(op == op_ce_prob, dir, s);
    default:
        return;
    }
}

} // namespace

#if XACT_FUZZ_ASAN
// A small quarantine keeps a 10^6-run session near 200 MB (the default takes 850 MB);
// ASAN_OPTIONS in the environment still overrides these.
extern "C" const char* __asan_default_options() {
    return "quarantine_size_mb=16:malloc_context_size=10";
}
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    source s(data, size);
    const unsigned op = s.u8() % op_count;
    const unsigned flags = s.u8();
    try {
        if (flags & 1)
            run<double>(op, flags, s);
        else
            run<float>(op, flags, s);
    } catch (const check_failed&) {
        // report mode: counted in fail()
    }
    return 0;
}

#ifdef XACT_FUZZ_REPLAY_MAIN
// ---------------------------------------------------------------- replay (no libFuzzer)
#include <filesystem>
#include <fstream>
#include <iterator>

int main(int argc, char** argv) {
    // xact_fuzz_replay [-generated=N] [file or directory]...
    std::size_t generated = 100000, files = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a.rfind("-generated=", 0) == 0) {
            generated = std::strtoull(a.c_str() + 11, nullptr, 10);
            continue;
        }
        std::vector<std::filesystem::path> paths;
        if (std::filesystem::is_directory(a)) {
            for (const auto& entry : std::filesystem::directory_iterator(a))
                if (entry.is_regular_file()) paths.push_back(entry.path());
            std::sort(paths.begin(), paths.end());
        } else {
            paths.emplace_back(a);
        }
        for (const auto& path : paths) {
            std::ifstream in(path, std::ios::binary);
            if (!in) {
                std::fprintf(stderr, "xact_fuzz_replay: cannot read %s\n", path.c_str());
                return 2;
            }
            const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                          std::istreambuf_iterator<char>());
            std::fprintf(stderr, "xact_fuzz_replay: %s\n", path.c_str());
            LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                   bytes.size());
            ++files;
        }
    }
    // A deterministic sweep: every op and type in turn, random bytes after the first two.
    std::uint64_t state = 0x243f6a8885a308d3ULL;
    std::vector<std::uint8_t> buf;
    for (std::size_t k = 0; k < generated; ++k) {
        const auto next = [&state] {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            return state;
        };
        buf.resize(2 + next() % 400);
        for (auto& b : buf) b = static_cast<std::uint8_t>(next() >> 56);
        buf[0] = static_cast<std::uint8_t>(k % op_count);
        buf[1] = static_cast<std::uint8_t>((buf[1] & ~1u) | ((k / op_count) & 1u));
        LLVMFuzzerTestOneInput(buf.data(), buf.size());
    }
    std::printf("xact_fuzz_replay: %zu corpus files and %zu generated inputs done (%s)\n", files,
                generated, xsimd::default_arch::name());
    return 0;
}
#endif
