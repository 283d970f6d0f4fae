// Tests of the piecewise-linear activations (spec.md §1 and §3): identity, relu, relu6,
// leaky_relu, hardtanh, hard_sigmoid, hard_swish.
//
// Every expected value comes from a reference formula written here, independently of the
// kernels, in long double (and __float128 for the product x * alpha in double, which needs 106
// bits). A double parameter is rounded once to T, then the formula is evaluated exactly. The
// exact functions must match bitwise (hard_swish' too: correctly rounded, ties included);
// hard_sigmoid and hard_swish within 1 ULP.
#include "catch.hpp"
#include "reference.hpp"

#include <xact/algorithm.hpp>
#include <xact/functions/piecewise.hpp>

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using xact_test::bits;
using xact_test::same;
using ld = long double;

#if defined(__SIZEOF_FLOAT128__)
#define XACT_TEST_HAS_QUAD 1
__extension__ typedef __float128 quad;
#else
#define XACT_TEST_HAS_QUAD 0
#endif

// ---------------------------------------------------------------- reference formulas

/// x * a rounded once to T. The product of two floats (48 bits) is exact in long double; the
/// product of two doubles (106 bits) is exact in __float128. Without __float128 the IEEE double
/// product is used, which is the correctly rounded product by definition.
template <class T>
T rounded_product(T x, T a) {
    if constexpr (std::is_same_v<T, float>) {
        return static_cast<float>(static_cast<ld>(x) * static_cast<ld>(a));
    } else {
#if XACT_TEST_HAS_QUAD
        return static_cast<double>(static_cast<quad>(x) * static_cast<quad>(a));
#else
        return x * a;
#endif
    }
}

ld r_identity(ld x) {
    return x;
}
ld r_identity_d(ld x) {
    return std::isnan(x) ? x : 1.0L;
}

ld r_relu(ld x) {
    return std::isnan(x) ? x : x > 0 ? x : 0.0L;
}
ld r_relu_d(ld x) {
    return std::isnan(x) ? x : x > 0 ? 1.0L : 0.0L;
}

ld r_relu6(ld x) {
    return std::isnan(x) ? x : x <= 0 ? 0.0L : x >= 6 ? 6.0L : x;
}
ld r_relu6_d(ld x) {
    return std::isnan(x) ? x : (0 < x && x < 6) ? 1.0L : 0.0L;
}

/// x > 0 ? x : a*x with a already in T. At x = -inf with a = 0 the value is the limit of a*x,
/// a zero of sign sign(a) * sign(x) (spec §1: ±inf gives the mathematical limit).
template <class T>
ld r_leaky(ld x, T a) {
    if (std::isnan(x)) return x;
    if (x > 0) return x;
    if (std::isinf(x) && a == 0) return -std::copysign(0.0L, static_cast<ld>(a));
    return rounded_product(static_cast<T>(x), a);
}
template <class T>
ld r_leaky_d(ld x, T a) {
    return std::isnan(x) ? x : x > 0 ? 1.0L : static_cast<ld>(a);
}

ld r_hardtanh(ld x, ld lo, ld hi) {
    return std::isnan(x) ? x : x < lo ? lo : x > hi ? hi : x;
}
ld r_hardtanh_d(ld x, ld lo, ld hi) {
    return std::isnan(x) ? x : (lo < x && x < hi) ? 1.0L : 0.0L;
}

ld r_hard_sigmoid(ld x) {
    return std::isnan(x) ? x : x <= -3 ? 0.0L : x >= 3 ? 1.0L : (x + 3) / 6;
}
/// 1/6 rounded to T inside (-3, 3), 0 outside and at the kinks.
template <class T>
ld r_hard_sigmoid_d(ld x) {
    return std::isnan(x) ? x : (-3 < x && x < 3) ? static_cast<ld>(static_cast<T>(1.0L / 6)) : 0.0L;
}

/// x * min(max(x + 3, 0), 6) / 6; -0 for x <= -3 (the sign x * 0 gives, and the limit at
/// -inf), x for x >= 3.
ld r_hard_swish(ld x) {
    return std::isnan(x) ? x : x <= -3 ? -0.0L : x >= 3 ? x : x * (x + 3) / 6;
}
/// hard_swish' rounded once to T. For float, x + 3/2 is exact in long double and the quotient
/// by 3 rounds twice harmlessly: a float tie (x + 3/2)/3 is exact in long double, and any other
/// value lies at least 2^-150/3 from a tie, far more than long double's error. For double the
/// sum and quotient are taken in __float128 (113 bits; for |x| < 2^-100 the rounded sum still
/// gives 1/2's neighbourhood correctly, as no tie is near).
template <class T>
ld r_hard_swish_d(ld x) {
    if (std::isnan(x)) return x;
    if (x < -3) return 0.0L;
    if (x > 3) return 1.0L;
#if XACT_TEST_HAS_QUAD
    if constexpr (std::is_same_v<T, double>)
        return static_cast<double>((static_cast<quad>(x) + quad(1.5)) / quad(3));
#endif
    return static_cast<T>((x + 1.5L) / 3);
}

// ---------------------------------------------------------------- checks

enum class kind { exact, ulp };

/// One member of one functor: its scalar and SIMD calls and its reference.
template <class T>
struct check {
    using B = xsimd::batch<T>;
    std::string name;
    kind k;
    std::function<T(T)> scalar;
    std::function<B(const B&)> simd;
    std::function<ld(ld)> ref;
};

template <class T, class G, class R>
check<T> make_check(std::string name, kind k, G g, R r) {
    using B = xsimd::batch<T>;
    return {std::move(name), k, [g](T x) { return g(x); }, [g](const B& x) { return g(x); },
            [r](ld x) { return static_cast<ld>(r(x)); }};
}

std::string param_name(const char* f, double a) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s{%g}", f, a);
    return buf;
}
std::string param_name(const char* f, double a, double b) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s{%g, %g}", f, a, b);
    return buf;
}

const double leaky_alphas[] = {0.01, 0.2, 0.0, 1.5, -0.3};
const double hardtanh_bounds[][2] = {{-1.0, 1.0}, {-2.0, 3.0}, {0.5, 0.5}};

/// Every functor and member under test, for element type T.
template <class T>
std::vector<check<T>> all_checks() {
    std::vector<check<T>> c;
    const kind ex = kind::exact;

    const xact::identity id{};
    c.push_back(make_check<T>(
        "identity", ex, [id](auto v) { return id(v); }, r_identity));
    c.push_back(make_check<T>(
        "identity'", ex, [id](auto v) { return id.derivative(v); }, r_identity_d));
    c.push_back(make_check<T>(
        "identity'(y)", ex, [id](auto v) { return id.derivative_from_output(v); }, r_identity_d));

    const xact::relu re{};
    c.push_back(make_check<T>(
        "relu", ex, [re](auto v) { return re(v); }, r_relu));
    c.push_back(make_check<T>(
        "relu'", ex, [re](auto v) { return re.derivative(v); }, r_relu_d));
    c.push_back(make_check<T>(
        "relu'(y)", ex, [re](auto v) { return re.derivative_from_output(v); }, r_relu_d));

    const xact::relu6 r6{};
    c.push_back(make_check<T>(
        "relu6", ex, [r6](auto v) { return r6(v); }, r_relu6));
    c.push_back(make_check<T>(
        "relu6'", ex, [r6](auto v) { return r6.derivative(v); }, r_relu6_d));
    c.push_back(make_check<T>(
        "relu6'(y)", ex, [r6](auto v) { return r6.derivative_from_output(v); }, r_relu6_d));

    for (double alpha : leaky_alphas) {
        const xact::leaky_relu f{alpha};
        const T a = static_cast<T>(alpha);
        const std::string n = param_name("leaky_relu", alpha);
        c.push_back(make_check<T>(
            n, ex, [f](auto v) { return f(v); }, [a](ld x) { return r_leaky(x, a); }));
        c.push_back(make_check<T>(
            n + "'", ex, [f](auto v) { return f.derivative(v); },
            [a](ld x) { return r_leaky_d(x, a); }));
        c.push_back(make_check<T>(
            n + "'(y)", ex, [f](auto v) { return f.derivative_from_output(v); },
            [a](ld x) { return r_leaky_d(x, a); }));
    }

    for (const auto& b : hardtanh_bounds) {
        const xact::hardtanh f{b[0], b[1]};
        const ld lo = static_cast<T>(b[0]), hi = static_cast<T>(b[1]);
        const std::string n = param_name("hardtanh", b[0], b[1]);
        c.push_back(make_check<T>(
            n, ex, [f](auto v) { return f(v); }, [lo, hi](ld x) { return r_hardtanh(x, lo, hi); }));
        c.push_back(make_check<T>(
            n + "'", ex, [f](auto v) { return f.derivative(v); },
            [lo, hi](ld x) { return r_hardtanh_d(x, lo, hi); }));
        c.push_back(make_check<T>(
            n + "'(y)", ex, [f](auto v) { return f.derivative_from_output(v); },
            [lo, hi](ld x) { return r_hardtanh_d(x, lo, hi); }));
    }

    const xact::hard_sigmoid hs{};
    c.push_back(make_check<T>(
        "hard_sigmoid", kind::ulp, [hs](auto v) { return hs(v); }, r_hard_sigmoid));
    c.push_back(make_check<T>(
        "hard_sigmoid'", ex, [hs](auto v) { return hs.derivative(v); }, r_hard_sigmoid_d<T>));

    const xact::hard_swish hw{};
    c.push_back(make_check<T>(
        "hard_swish", kind::ulp, [hw](auto v) { return hw(v); }, r_hard_swish));
    c.push_back(make_check<T>(
        "hard_swish'", ex, [hw](auto v) { return hw.derivative(v); }, r_hard_swish_d<T>));
    return c;
}

// ---------------------------------------------------------------- inputs

template <class T>
const char* type_name() {
    return std::is_same_v<T, float> ? "float" : "double";
}

template <class T>
std::vector<T> special_inputs() {
    std::vector<T> v = xact_test::special_values<T>();
    using L = std::numeric_limits<T>;
    for (T x : {T(3), T(-3), T(6), T(-6), T(-1.5), T(-0.75), T(0.5), T(2), T(-2), T(1e-30),
                T(-1e-30), L::max() / 2, -L::max() / 2})
        v.push_back(x);
    // A signalling NaN and a NaN with a payload, both signs.
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    const U nans[] = {sizeof(T) == 4 ? U(0x7f800001u) : U(0x7ff0000000000001ull),
                      sizeof(T) == 4 ? U(0xffc01234u) : U(0xfff8000000001234ull)};
    for (U u : nans) {
        T x;
        std::memcpy(&x, &u, sizeof x);
        v.push_back(x);
    }
    return v;
}

/// The kinks of every function under test (and the kernels' internal branch points).
template <class T>
std::vector<T> kinks() {
    std::vector<T> k = {T(0), -T(0), T(3), T(-3), T(6), T(-1.5), T(-0.75)};
    for (const auto& b : hardtanh_bounds) {
        k.push_back(static_cast<T>(b[0]));
        k.push_back(static_cast<T>(b[1]));
    }
    return k;
}

/// k/256 on [-8, 8], a geometric sweep of magnitudes (8 per decade, both signs, subnormals
/// included), 8 neighbours on each side of every kink, and the special values.
template <class T>
std::vector<T> dense_grid() {
    std::vector<T> v;
    for (int k = -2048; k <= 2048; ++k) v.push_back(static_cast<T>(k) / T(256));
    const int lo = std::is_same_v<T, float> ? -40 : -310;
    const int hi = std::is_same_v<T, float> ? 38 : 308;
    for (int i = lo * 8; i <= hi * 8; ++i) {
        const T m = static_cast<T>(std::pow(10.0L, static_cast<ld>(i) / 8));
        v.push_back(m);
        v.push_back(-m);
    }
    for (T kink : kinks<T>())
        for (T x : xact_test::around(kink, 8)) v.push_back(x);
    for (T x : special_inputs<T>()) v.push_back(x);
    // Each value once (by bits: +0 and -0 stay distinct).
    std::sort(v.begin(), v.end(), [](T a, T b) { return bits(a) < bits(b); });
    v.erase(std::unique(v.begin(), v.end(), [](T a, T b) { return bits(a) == bits(b); }), v.end());
    return v;
}

/// Non-NaN bit patterns: every 4099th float; 10^6 random doubles (fixed seed). Then 2^18
/// uniform values in [-4, 4], where hard_sigmoid and hard_swish are not trivial.
template <class T>
std::vector<T> bit_sweep() {
    std::vector<T> v;
    std::mt19937_64 gen(0x9e3779b97f4a7c15ull);
    if constexpr (std::is_same_v<T, float>) {
        v.reserve((std::uint64_t(1) << 32) / 4099 + 1);
        for (std::uint64_t u = 0; u < (std::uint64_t(1) << 32); u += 4099) {
            const auto w = static_cast<std::uint32_t>(u);
            float x;
            std::memcpy(&x, &w, sizeof x);
            if (!std::isnan(x)) v.push_back(x);
        }
    } else {
        v.reserve(1000000);
        for (int i = 0; i < 1000000; ++i) {
            const std::uint64_t u = gen();
            double x;
            std::memcpy(&x, &u, sizeof x);
            if (!std::isnan(x)) v.push_back(x);
        }
    }
    std::uniform_real_distribution<T> uniform(T(-4), T(4));
    for (int i = 0; i < (1 << 18); ++i) v.push_back(uniform(gen));
    return v;
}

// ---------------------------------------------------------------- running the checks

template <class T>
std::string describe(const std::string& what, T x, T got, ld expected) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s(%.17g = %a): got %.17g (%a), expected %.21Lg (%La)",
                  what.c_str(), static_cast<double>(x), static_cast<double>(x),
                  static_cast<double>(got), static_cast<double>(got), expected, expected);
    return buf;
}

/// Failures of one check, with the first few described.
struct tally {
    long count = 0;
    std::string examples;
    void add(const std::string& s) {
        if (count++ < 6) examples += "\n  " + s;
    }
};

/// Compares every check against its reference over xs. Exact checks must match the reference
/// rounded to T bitwise; ULP checks must be within 1 ULP, and give a zero of the reference's
/// sign where the reference is zero. max_ulp[i] collects the largest error of check i.
template <class T>
void against_reference(const std::vector<check<T>>& checks, const std::vector<T>& xs,
                       std::vector<double>& max_ulp, std::vector<T>& worst,
                       std::vector<tally>& fails) {
    for (std::size_t i = 0; i < checks.size(); ++i) {
        const check<T>& c = checks[i];
        for (T x : xs) {
            const T y = c.scalar(x);
            const ld r = c.ref(static_cast<ld>(x));
            if (c.k == kind::exact) {
                if (!same(y, static_cast<T>(r))) fails[i].add(describe(c.name, x, y, r));
                continue;
            }
            const double e = xact_test::ulp_error<T>(y, r);
            const bool zero_sign_ok = r != 0 || (y == 0 && std::signbit(y) == std::signbit(r));
            if (e > max_ulp[i]) {
                max_ulp[i] = e;
                worst[i] = x;
            }
            if (!(e <= 1.0) || !zero_sign_ok) fails[i].add(describe(c.name, x, y, r));
        }
    }
}

template <class T>
void report(const std::vector<check<T>>& checks, const std::vector<tally>& fails) {
    for (std::size_t i = 0; i < checks.size(); ++i) {
        INFO(type_name<T>() << " " << checks[i].name << ": " << fails[i].count << " failures"
                            << fails[i].examples);
        CHECK(fails[i].count == 0);
    }
}

/// Runs every check on xsimd::batch<T> over xs (B::size inputs at a time, the last batch padded)
/// and compares every lane bitwise with the scalar call.
template <class T>
void simd_vs_scalar(const std::vector<check<T>>& checks, const std::vector<T>& xs) {
    using B = xsimd::batch<T>;
    constexpr std::size_t n = B::size;
    std::vector<tally> fails(checks.size());
    for (std::size_t i = 0; i < checks.size(); ++i) {
        const check<T>& c = checks[i];
        for (std::size_t j = 0; j < xs.size(); j += n) {
            T in[n], out[n];
            for (std::size_t l = 0; l < n; ++l) in[l] = xs[j + l < xs.size() ? j + l : l];
            c.simd(B::load_unaligned(in)).store_unaligned(out);
            for (std::size_t l = 0; l < n; ++l) {
                const T s = c.scalar(in[l]);
                if (!same(out[l], s))
                    fails[i].add(describe(c.name + " [SIMD lane " + std::to_string(l) + "]", in[l],
                                          out[l], static_cast<ld>(s)));
            }
        }
    }
    report(checks, fails);
}

/// Scalar call and, on a batch with every lane x, SIMD call: both must give `expected` bitwise.
template <class T, class G>
void expect_bits(const char* what, G g, T x, T expected) {
    using B = xsimd::batch<T>;
    T out[B::size];
    g(B(x)).store_unaligned(out);
    const T y = g(x);
    INFO(type_name<T>() << " " << what << " at x = " << static_cast<double>(x) << " (bits "
                        << std::hex << bits(x) << "): got " << static_cast<double>(y) << " (bits "
                        << bits(y) << "), expected " << static_cast<double>(expected) << " (bits "
                        << bits(expected) << ")" << std::dec);
    CHECK(same(y, expected));
    for (std::size_t l = 0; l < B::size; ++l) CHECK(same(out[l], y));
}

} // namespace

// ---------------------------------------------------------------- test cases

TEMPLATE_TEST_CASE("piecewise: values and derivatives match the references", "[piecewise]", float,
                   double) {
    using T = TestType;
    const auto checks = all_checks<T>();
    std::vector<double> max_ulp(checks.size(), 0.0);
    std::vector<T> worst(checks.size(), T(0));
    std::vector<tally> fails(checks.size());
    against_reference(checks, dense_grid<T>(), max_ulp, worst, fails);
    against_reference(checks, bit_sweep<T>(), max_ulp, worst, fails);
    report(checks, fails);

    std::string line;
    for (std::size_t i = 0; i < checks.size(); ++i) {
        if (checks[i].k != kind::ulp) continue;
        char buf[128];
        std::snprintf(buf, sizeof buf, "  %s %.4f (x = %a)", checks[i].name.c_str(), max_ulp[i],
                      static_cast<double>(worst[i]));
        line += buf;
        CHECK(max_ulp[i] <= 1.0);
    }
    std::printf("[piecewise] max ULP, %s, %s:%s\n", type_name<T>(), xsimd::default_arch::name(),
                line.c_str());
}

TEMPLATE_TEST_CASE("piecewise: SIMD equals scalar bitwise", "[piecewise]", float, double) {
    using T = TestType;
    const auto checks = all_checks<T>();
    std::vector<T> xs = dense_grid<T>();
    simd_vs_scalar(checks, xs);
    // Again with the inputs shifted by one lane, so that each value meets other neighbours.
    xs.erase(xs.begin());
    simd_vs_scalar(checks, xs);
    // And over every 4th value of the bit-pattern sweep (a quarter keeps -O0 builds fast).
    const std::vector<T> sweep = bit_sweep<T>();
    std::vector<T> some;
    for (std::size_t i = 0; i < sweep.size(); i += 4) some.push_back(sweep[i]);
    simd_vs_scalar(checks, some);
}

TEMPLATE_TEST_CASE("piecewise: derivative conventions at the kinks", "[piecewise]", float, double) {
    using T = TestType;
    const T pz = T(0), nz = -T(0);
    const xact::relu re{};
    const xact::relu6 r6{};
    const xact::hard_sigmoid hs{};
    const xact::hard_swish hw{};
    const auto relu_d = [re](auto v) { return re.derivative(v); };
    const auto relu_dy = [re](auto v) { return re.derivative_from_output(v); };
    const auto relu6_d = [r6](auto v) { return r6.derivative(v); };
    const auto relu6_dy = [r6](auto v) { return r6.derivative_from_output(v); };
    const auto hs_d = [hs](auto v) { return hs.derivative(v); };
    const auto hw_d = [hw](auto v) { return hw.derivative(v); };

    for (T z : {pz, nz}) {
        expect_bits("relu'", relu_d, z, T(0));
        expect_bits("relu'(y)", relu_dy, z, T(0));
        expect_bits("relu6'", relu6_d, z, T(0));
        expect_bits("relu6'(y)", relu6_dy, z, T(0));
    }
    expect_bits("relu6'", relu6_d, T(6), T(0));
    expect_bits("relu6'(y)", relu6_dy, T(6), T(0));

    for (double alpha : leaky_alphas) {
        const xact::leaky_relu f{alpha};
        const T a = static_cast<T>(alpha);
        for (T z : {pz, nz}) {
            expect_bits(
                "leaky_relu'", [f](auto v) { return f.derivative(v); }, z, a);
            expect_bits(
                "leaky_relu'(y)", [f](auto v) { return f.derivative_from_output(v); }, z, a);
        }
    }

    for (const auto& b : hardtanh_bounds) {
        const xact::hardtanh f{b[0], b[1]};
        for (double k : b) {
            const T x = static_cast<T>(k);
            expect_bits(
                "hardtanh'", [f](auto v) { return f.derivative(v); }, x, T(0));
            expect_bits(
                "hardtanh'(y)", [f](auto v) { return f.derivative_from_output(v); }, x, T(0));
        }
    }

    expect_bits("hard_sigmoid'", hs_d, T(3), T(0));
    expect_bits("hard_sigmoid'", hs_d, T(-3), T(0));
    const T sixth = static_cast<T>(1.0L / 6);
    expect_bits("hard_sigmoid'", hs_d, pz, sixth);
    expect_bits("hard_sigmoid'", hs_d, nz, sixth);
    expect_bits("hard_swish'", hw_d, T(-3), T(-0.5));
    expect_bits("hard_swish'", hw_d, T(3), T(1.5));
    expect_bits("hard_swish'", hw_d, pz, T(0.5));
    expect_bits("hard_swish'", hw_d, nz, T(0.5));
    expect_bits("hard_swish'", hw_d, T(-1.5), T(0));
}

TEMPLATE_TEST_CASE("piecewise: special values, signed zeros and infinities", "[piecewise]", float,
                   double) {
    using T = TestType;
    using L = std::numeric_limits<T>;
    const T pz = T(0), nz = -T(0), inf = L::infinity(), mx = L::max();
    const xact::identity id{};
    const xact::relu re{};
    const xact::relu6 r6{};
    const xact::leaky_relu lk{};
    const xact::hardtanh ht{};
    const xact::hard_sigmoid hs{};
    const xact::hard_swish hw{};
    const auto f_id = [id](auto v) { return id(v); };
    const auto f_re = [re](auto v) { return re(v); };
    const auto f_r6 = [r6](auto v) { return r6(v); };
    const auto f_lk = [lk](auto v) { return lk(v); };
    const auto f_ht = [ht](auto v) { return ht(v); };
    const auto f_hs = [hs](auto v) { return hs(v); };
    const auto f_hw = [hw](auto v) { return hw(v); };

    SECTION("signed zeros") {
        expect_bits("relu", f_re, nz, pz);
        expect_bits("relu6", f_r6, nz, pz);
        expect_bits("identity", f_id, nz, nz);
        expect_bits("leaky_relu", f_lk, nz, nz);
        expect_bits("hardtanh", f_ht, nz, nz);
        expect_bits(
            "hardtanh{-2, 3}",
            [](auto v) {
                return xact::hardtanh{-2.0, 3.0}(v);
            },
            nz, nz);
        expect_bits("hard_swish", f_hw, nz, nz);
        expect_bits("hard_swish", f_hw, pz, pz);
        expect_bits("hard_sigmoid", f_hs, nz, T(0.5));
        for (double alpha : {0.2, 1.5, 0.0})
            expect_bits(
                "leaky_relu{alpha >= 0}", [alpha](auto v) { return xact::leaky_relu{alpha}(v); },
                nz, nz);
        expect_bits(
            "leaky_relu{-0.3}", [](auto v) { return xact::leaky_relu{-0.3}(v); }, nz, pz);
    }

    SECTION("hard_swish is -0 at and below -3") {
        for (T x : {T(-3), std::nextafter(T(-3), -inf), T(-3.5), T(-1e30), -mx, -inf})
            expect_bits("hard_swish", f_hw, x, nz);
    }

    SECTION("infinities and large magnitudes") {
        expect_bits("hard_sigmoid", f_hs, -inf, pz);
        expect_bits("hard_sigmoid", f_hs, inf, T(1));
        expect_bits("hard_swish", f_hw, inf, inf);
        expect_bits("hard_swish", f_hw, T(1e38), T(1e38));
        expect_bits("hard_swish", f_hw, mx, mx);
        expect_bits("relu", f_re, inf, inf);
        expect_bits("relu", f_re, -inf, pz);
        expect_bits("relu6", f_r6, inf, T(6));
        expect_bits("relu6", f_r6, -inf, pz);
        expect_bits("identity", f_id, -inf, -inf);
        expect_bits("leaky_relu", f_lk, -inf, -inf);
        expect_bits("leaky_relu", f_lk, inf, inf);
        expect_bits("hardtanh", f_ht, -inf, T(-1));
        expect_bits("hardtanh", f_ht, inf, T(1));
        expect_bits(
            "leaky_relu{-0.3}", [](auto v) { return xact::leaky_relu{-0.3}(v); }, -inf, inf);
    }

    SECTION("leaky_relu with alpha = 0 at -inf gives the limit -0, not NaN") {
        // spec §1: ±inf gives the mathematical limit; 0 * (-inf) must not leak out as NaN.
        expect_bits(
            "leaky_relu{0}", [](auto v) { return xact::leaky_relu{0.0}(v); }, -inf, nz);
        expect_bits(
            "leaky_relu{-0}", [](auto v) { return xact::leaky_relu{-0.0}(v); }, -inf, pz);
        // A slope that rounds to 0 only in T (float) takes the same care.
        expect_bits(
            "leaky_relu{1e-60}", [](auto v) { return xact::leaky_relu{1e-60}(v); }, -inf,
            std::is_same_v<T, float> ? nz : -T(1e-60) * inf);
        // The array call too (the slope is tested once per call there).
        std::vector<T> x(37, T(-2)), y(37);
        x[0] = x[20] = x[36] = -inf;
        xact::forward(xact::leaky_relu{0.0}, x.data(), y.data(), x.size());
        for (std::size_t i = 0; i < x.size(); ++i) CHECK(same(y[i], nz));
    }

    SECTION("derivatives at the infinities are their limits") {
        const T a = static_cast<T>(0.01);
        expect_bits(
            "identity'", [id](auto v) { return id.derivative(v); }, inf, T(1));
        expect_bits(
            "identity'", [id](auto v) { return id.derivative(v); }, -inf, T(1));
        expect_bits(
            "relu'", [re](auto v) { return re.derivative(v); }, inf, T(1));
        expect_bits(
            "relu'", [re](auto v) { return re.derivative(v); }, -inf, pz);
        expect_bits(
            "relu6'", [r6](auto v) { return r6.derivative(v); }, inf, pz);
        expect_bits(
            "relu6'", [r6](auto v) { return r6.derivative(v); }, -inf, pz);
        expect_bits(
            "leaky_relu'", [lk](auto v) { return lk.derivative(v); }, inf, T(1));
        expect_bits(
            "leaky_relu'", [lk](auto v) { return lk.derivative(v); }, -inf, a);
        expect_bits(
            "hardtanh'", [ht](auto v) { return ht.derivative(v); }, inf, pz);
        expect_bits(
            "hardtanh'", [ht](auto v) { return ht.derivative(v); }, -inf, pz);
        expect_bits(
            "hard_sigmoid'", [hs](auto v) { return hs.derivative(v); }, inf, pz);
        expect_bits(
            "hard_sigmoid'", [hs](auto v) { return hs.derivative(v); }, -inf, pz);
        expect_bits(
            "hard_swish'", [hw](auto v) { return hw.derivative(v); }, inf, T(1));
        expect_bits(
            "hard_swish'", [hw](auto v) { return hw.derivative(v); }, -inf, pz);
    }

    SECTION("NaN in, NaN out, for every functor and member") {
        const auto checks = all_checks<T>();
        std::vector<T> nans;
        for (T x : special_inputs<T>())
            if (std::isnan(x)) nans.push_back(x);
        REQUIRE(nans.size() >= 4);
        using B = xsimd::batch<T>;
        for (const auto& c : checks) {
            for (T x : nans) {
                T out[B::size];
                c.simd(B(x)).store_unaligned(out);
                const T y = c.scalar(x);
                INFO(type_name<T>() << " " << c.name << " at NaN (bits " << std::hex << bits(x)
                                    << "): got " << static_cast<double>(y) << std::dec);
                CHECK(std::isnan(y));
                for (std::size_t l = 0; l < B::size; ++l) CHECK(std::isnan(out[l]));
            }
        }
    }

    SECTION("every check at the special values") {
        const auto checks = all_checks<T>();
        std::vector<double> max_ulp(checks.size(), 0.0);
        std::vector<T> worst(checks.size(), T(0));
        std::vector<tally> fails(checks.size());
        against_reference(checks, special_inputs<T>(), max_ulp, worst, fails);
        report(checks, fails);
    }
}

TEMPLATE_TEST_CASE("piecewise: derivative_from_output(f(x)) equals derivative(x)", "[piecewise]",
                   float, double) {
    using T = TestType;
    std::vector<T> xs = dense_grid<T>();
    const std::vector<T> sweep = bit_sweep<T>();
    xs.insert(xs.end(), sweep.begin(), sweep.end());

    std::vector<std::string> names;
    std::vector<tally> fails;
    const auto run = [&](const std::string& name, const auto& f) {
        tally t;
        for (T x : xs) {
            if (!std::isfinite(x)) continue;
            const T y = f(x);
            const T d = f.derivative(x), dy = f.derivative_from_output(y);
            if (!same(d, dy)) t.add(describe(name + "'(y = f(x))", x, dy, static_cast<ld>(d)));
        }
        INFO(type_name<T>() << " " << name << ": " << t.count << " failures" << t.examples);
        CHECK(t.count == 0);
    };
    run("identity", xact::identity{});
    run("relu", xact::relu{});
    run("relu6", xact::relu6{});
    for (double alpha : leaky_alphas)
        if (alpha >= 0) run(param_name("leaky_relu", alpha), xact::leaky_relu{alpha});
    for (const auto& b : hardtanh_bounds)
        run(param_name("hardtanh", b[0], b[1]), xact::hardtanh{b[0], b[1]});
}

TEMPLATE_TEST_CASE("piecewise: finite differences agree with the derivatives", "[piecewise]", float,
                   double) {
    using T = TestType;
    const xact::hard_sigmoid hs{};
    const xact::hard_swish hw{};
    const ld h = 1e-4L;
    for (T x : {T(-2.75), T(-2), T(-1), T(-0.3125), T(0.125), T(0.7), T(1.9), T(2.6)}) {
        const ld xl = x;
        const ld fd_s = (r_hard_sigmoid(xl + h) - r_hard_sigmoid(xl - h)) / (2 * h);
        const ld fd_w = (r_hard_swish(xl + h) - r_hard_swish(xl - h)) / (2 * h);
        const ld d_s = hs.derivative(x), d_w = hw.derivative(x);
        CAPTURE(static_cast<double>(x), static_cast<double>(fd_s), static_cast<double>(d_s),
                static_cast<double>(fd_w), static_cast<double>(d_w));
        CHECK(std::fabs(fd_s - d_s) <= 1e-3L * std::fabs(d_s));
        CHECK(std::fabs(fd_w - d_w) <= 1e-3L * std::fabs(d_w));
    }
}

TEMPLATE_TEST_CASE("piecewise: hard_swish' is correctly rounded, ties included", "[piecewise]",
                   float, double) {
    // x/3 + 1/2 = M exactly halfway between two neighbouring T values happens when
    // x = 3M - 3/2 is representable (e.g. x = -3 * 2^-26 in float gives 1/2 - 2^-26); round to
    // nearest even must pick the even neighbour. Such x lie in (-1/4, 1/2): M in [1/4, 1), whose
    // odd last bit 2^(e - digits) then still fits x's spacing. Built here from random midpoints
    // M of those two binades (about a third give a representable x), with the inputs one ULP
    // either side, and x = -1.5 + tiny offsets, where the result nears zero.
    using T = TestType;
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    constexpr int digits = std::numeric_limits<T>::digits;
#if XACT_TEST_HAS_QUAD
    using W = quad; // 3M - 3/2 needs up to digits + 3 bits
#else
    using W = ld; // enough for float; double ties need __float128 and are not counted
#endif
    const xact::hard_swish hw{};
    const auto hw_d = [hw](auto v) { return hw.derivative(v); };
    std::mt19937_64 gen(17);
    std::vector<T> xs;
    long ties = 0;
    for (int i = 0; i < 200000; ++i) {
        // M = odd * 2^(e - digits) in [2^e, 2^(e+1)): a midpoint of T's spacing there.
        const int e = -1 - static_cast<int>(gen() % 2);
        const U odd = static_cast<U>((gen() >> (64 - digits)) | (U(1) << digits) | U(1));
        const W m = static_cast<W>(odd) * static_cast<W>(std::ldexp(1.0L, e - digits));
        const W x_exact = 3 * m - W(1.5);
        const T x = static_cast<T>(x_exact);
        if (static_cast<W>(x) == x_exact) ++ties;
        for (T v : xact_test::around(x, 1)) xs.push_back(v);
    }
    for (int i = 0; i < 20000; ++i) {
        const T off = static_cast<T>(std::ldexp(static_cast<double>(gen() % 4096) - 2048,
                                                -static_cast<int>(gen() % (digits + 12)) - 11));
        xs.push_back(T(-1.5) + off);
    }
    INFO(type_name<T>() << ": " << ties << " exact ties among " << xs.size() << " inputs");
    if (std::is_same_v<T, float> || XACT_TEST_HAS_QUAD) CHECK(ties > 50000);
    tally t;
    for (T x : xs) {
        const ld r = r_hard_swish_d<T>(static_cast<ld>(x));
        const T y = hw.derivative(x);
        if (!same(y, static_cast<T>(r))) t.add(describe("hard_swish'", x, y, r));
    }
    INFO(t.count << " failures" << t.examples);
    CHECK(t.count == 0);
    simd_vs_scalar(
        std::vector<check<T>>{make_check<T>("hard_swish'", kind::exact, hw_d, r_hard_swish_d<T>)},
        xs);
}
