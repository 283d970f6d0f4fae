// PReLU along an axis (xact/prelu.hpp): forward and backward against an independent reference
// with explicit index arithmetic, over NCHW and NHWC layouts, shared and per-channel slopes,
// misaligned starts, in place, special values, determinism of dalpha, argument errors.
#include "catch.hpp"
#include "harness.hpp"
#include "reference.hpp"
#if defined(XACT_CATCH2_MAJOR) && XACT_CATCH2_MAJOR >= 3
#include <catch2/catch_template_test_macros.hpp> // TEMPLATE_TEST_CASE lives here in 3.x
#endif

#include <xact/prelu.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using xact::extents;
using xact_test::bits;
using xact_test::bitwise_equal;
using xact_test::expect_invalid;
using xact_test::guarded;
using xact_test::is_sentinel;
using xact_test::offset_buffer;
using xact_test::same;
using xact_test::sentinel;
using xact_test::simd_width;

/// a * b rounded once to T. For float the long double product is exact, so the cast is the
/// single rounding; where long double cannot hold the exact product (double on x86), the IEEE
/// product in T is by definition the correctly rounded one (a lone multiply, nothing to fuse).
template <class T>
T mul_rounded(T a, T b) {
    if constexpr (std::numeric_limits<long double>::digits >= 2 * std::numeric_limits<T>::digits) {
        return static_cast<T>(static_cast<long double>(a) * static_cast<long double>(b));
    } else {
        return a * b;
    }
}

/// Inputs of one PReLU call, with extents and slopes.
template <class T>
struct prelu_case {
    extents e;
    std::size_t alpha_count;
    std::vector<T> x, dy, alpha, dalpha0; // dalpha0: the value dalpha holds before the call
};

/// Random data: x in [-4, 4] with exact ±0 sprinkled in, dy in [-2, 2], slopes of both signs
/// (0 included), dalpha pre-filled with non-zero values.
template <class T>
prelu_case<T> make_case(extents e, std::size_t alpha_count, std::uint64_t seed) {
    prelu_case<T> d{e, alpha_count, {}, {}, {}, {}};
    const std::size_t n = e.outer * e.axis * e.inner;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> ux(-4.0, 4.0), ug(-2.0, 2.0), ua(-0.75, 1.5);
    d.x.resize(n);
    d.dy.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto r = rng() % 32;
        d.x[i] = r == 0 ? T(0) : r == 1 ? -T(0) : static_cast<T>(ux(rng));
        d.dy[i] = static_cast<T>(ug(rng));
    }
    const double fixed[] = {0.25, -0.1, 0.0, 1.5, 0.01};
    d.alpha.resize(alpha_count);
    d.dalpha0.resize(alpha_count);
    for (std::size_t c = 0; c < alpha_count; ++c) {
        d.alpha[c] = static_cast<T>(c < 5 ? fixed[c] : ua(rng));
        d.dalpha0[c] = static_cast<T>(0.5 + 0.25 * static_cast<double>(c % 7) - (c % 2 ? 3.0 : 0));
    }
    return d;
}

/// The reference: y and dx exact, dalpha sums in long double with the sum of |terms|.
template <class T>
struct prelu_expected {
    std::vector<T> y, dx;
    std::vector<long double> sum, abs_sum;
    std::size_t per_slot = 0; // elements summed into one dalpha value
};

template <class T>
prelu_expected<T> reference(const prelu_case<T>& d) {
    const extents e = d.e;
    const std::size_t n = e.outer * e.axis * e.inner;
    prelu_expected<T> r;
    r.y.resize(n);
    r.dx.resize(n);
    r.sum.assign(d.alpha_count, 0.0L);
    r.abs_sum.assign(d.alpha_count, 0.0L);
    r.per_slot = d.alpha_count == 1 ? n : e.outer * e.inner;
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (std::size_t o = 0; o < e.outer; ++o) {
        for (std::size_t c = 0; c < e.axis; ++c) {
            const std::size_t k = d.alpha_count == 1 ? 0 : c;
            const T a = d.alpha[k];
            for (std::size_t i = 0; i < e.inner; ++i) {
                const std::size_t idx = (o * e.axis + c) * e.inner + i;
                const T x = d.x[idx], g = d.dy[idx];
                // At x = -inf with a slope of ±0 the limit of a*x: ∓0 (spec.md: ±inf → limits).
                r.y[idx] = x > 0                          ? x
                           : (std::isinf(x) && a == T(0)) ? (std::signbit(a) ? T(0) : -T(0))
                                                          : mul_rounded(a, x);
                r.dx[idx] = std::isnan(x) ? nan : x > 0 ? g : mul_rounded(g, a);
                const long double term = std::isnan(x)
                                             ? std::numeric_limits<long double>::quiet_NaN()
                                         : x < 0 ? static_cast<long double>(x) * g
                                                 : 0.0L;
                r.sum[k] += term;
                r.abs_sum[k] += std::fabs(term);
            }
        }
    }
    return r;
}

/// dalpha against init + the long double sum. Tolerance of a blocked floating-point sum of
/// `count` terms: |got - ref| <= 64 * eps(T) * (1 + log2(count)) * (sum |terms| + |init|)
/// (the header documents about (128 + count/4096) u * sum|terms|, well inside this for the
/// sizes here); a NaN reference needs a NaN, an infinite one the same infinity.
template <class T>
bool dalpha_ok(T got, T init, long double sum, long double abs_sum, std::size_t count) {
    const long double ref = static_cast<long double>(init) + sum;
    if (std::isnan(ref)) return std::isnan(got);
    if (std::isinf(ref)) return static_cast<long double>(got) == ref;
    const long double eps = std::numeric_limits<T>::epsilon();
    const long double lg = count > 1 ? std::log2(static_cast<long double>(count)) : 0.0L;
    const long double tol =
        64 * eps * (1 + lg) * (abs_sum + std::fabs(static_cast<long double>(init)));
    return std::fabs(static_cast<long double>(got) - ref) <= tol;
}

/// Offsets (elements after a 64-byte boundary) of x, dy, the output (y or dx), alpha, dalpha.
struct offsets {
    std::size_t x, dy, out, alpha, dalpha;
};

/// Runs forward and backward of case d at the given offsets and checks everything against the
/// reference. Returns the dalpha computed, for the determinism checks.
template <class T>
std::vector<T> check_case(const prelu_case<T>& d, const prelu_expected<T>& r, offsets off) {
    const extents e = d.e;
    const std::size_t n = d.x.size(), ac = d.alpha_count;
    INFO("extents {" << e.outer << ", " << e.axis << ", " << e.inner << "} alpha_count=" << ac
                     << " offsets x=" << off.x << " dy=" << off.dy << " out=" << off.out
                     << " alpha=" << off.alpha << " dalpha=" << off.dalpha);
    offset_buffer<T> x(n, off.x), dy(n, off.dy), alpha(ac, off.alpha);
    std::copy(d.x.begin(), d.x.end(), x.data());
    std::copy(d.dy.begin(), d.dy.end(), dy.data());
    std::copy(d.alpha.begin(), d.alpha.end(), alpha.data());

    guarded<T> y(n, off.out);
    xact::prelu_forward(x.data(), alpha.data(), ac, y.data(), e);
    std::size_t bad_y = 0, first_y = n;
    for (std::size_t i = 0; i < n; ++i)
        if (!same(y[i], r.y[i]) && bad_y++ == 0) first_y = i;
    if (first_y < n) {
        INFO("y: first mismatch at " << first_y << " x=" << d.x[first_y] << " got " << y[first_y]
                                     << " want " << r.y[first_y]);
        CHECK(bad_y == 0);
    }
    CHECK(y.guards_intact());

    guarded<T> dx(n, off.out), dalpha(ac, off.dalpha);
    std::copy(d.dalpha0.begin(), d.dalpha0.end(), dalpha.data());
    xact::prelu_backward(x.data(), alpha.data(), ac, dy.data(), dx.data(), dalpha.data(), e);
    std::size_t bad_dx = 0, first_dx = n;
    for (std::size_t i = 0; i < n; ++i)
        if (!same(dx[i], r.dx[i]) && bad_dx++ == 0) first_dx = i;
    if (first_dx < n) {
        INFO("dx: first mismatch at " << first_dx << " x=" << d.x[first_dx]
                                      << " dy=" << d.dy[first_dx] << " got " << dx[first_dx]
                                      << " want " << r.dx[first_dx]);
        CHECK(bad_dx == 0);
    }
    CHECK(dx.guards_intact());
    CHECK(dalpha.guards_intact());

    std::vector<T> out(ac);
    std::size_t bad_da = 0;
    for (std::size_t c = 0; c < ac; ++c) {
        out[c] = dalpha[c];
        if (!dalpha_ok(dalpha[c], d.dalpha0[c], r.sum[c], r.abs_sum[c], r.per_slot)) {
            if (bad_da++ == 0) {
                INFO("dalpha[" << c << "] = " << dalpha[c] << ", reference "
                               << static_cast<double>(d.dalpha0[c] + r.sum[c]));
                CHECK(false);
            }
        }
    }
    CHECK(bad_da == 0);
    return out;
}

/// NCHW {N, C, H*W} and NHWC {N*H*W, C, 1} layouts, with the inner run not a multiple of the
/// SIMD width, more than 256 channels, more than 256 rows, runs longer than 4096.
const std::vector<extents>& layouts() {
    static const std::vector<extents> all = {{2, 3, 5},    {1, 16, 256}, {3, 7, 1},    {4, 5, 17},
                                             {64, 16, 1},  {9, 300, 1},  {1000, 3, 1}, {5, 513, 1},
                                             {1, 2, 5000}, {3, 1, 33},   {7, 1, 1},    {1, 1, 1},
                                             {2, 4, 4099}, {300, 2, 3},  {1, 256, 1},  {257, 5, 1}};
    return all;
}

template <class T>
std::vector<offsets> offset_sets() {
    constexpr std::size_t W = simd_width<T>;
    return {{0, 0, 0, 0, 0}, {1, 2, 3, 1, 1}, {W - 1, 0, 1, 2, W}, {3 % W, W, W - 1, 0, 1}};
}

} // namespace

// ---------------------------------------------------------------- against the reference

TEMPLATE_TEST_CASE("prelu forward and backward match the reference on every layout", "[prelu]",
                   float, double) {
    using T = TestType;
    std::uint64_t seed = 1;
    for (const extents& e : layouts()) {
        for (std::size_t ac : {std::size_t(1), e.axis}) {
            const auto d = make_case<T>(e, ac, seed++);
            const auto r = reference(d);
            for (const offsets& off : offset_sets<T>()) check_case(d, r, off);
        }
    }
}

TEMPLATE_TEST_CASE("prelu_backward accumulates into dalpha", "[prelu]", float, double) {
    using T = TestType;
    const extents e{4, 5, 17};
    auto d = make_case<T>(e, e.axis, 77);
    const auto r = reference(d);
    // Pre-filled with large values: the result is init + sum, not sum.
    for (std::size_t c = 0; c < e.axis; ++c) d.dalpha0[c] = static_cast<T>(1000 + 10 * c);
    std::vector<T> dalpha = d.dalpha0, dx(d.x.size());
    xact::prelu_backward(d.x.data(), d.alpha.data(), e.axis, d.dy.data(), dx.data(), dalpha.data(),
                         e);
    for (std::size_t c = 0; c < e.axis; ++c) {
        INFO("c=" << c << " dalpha=" << dalpha[c]);
        CHECK(dalpha_ok(dalpha[c], d.dalpha0[c], r.sum[c], r.abs_sum[c], r.per_slot));
    }
    // Two calls add twice.
    xact::prelu_backward(d.x.data(), d.alpha.data(), e.axis, d.dy.data(), dx.data(), dalpha.data(),
                         e);
    for (std::size_t c = 0; c < e.axis; ++c) {
        CHECK(dalpha_ok(dalpha[c], d.dalpha0[c], 2 * r.sum[c], 2 * r.abs_sum[c], r.per_slot));
    }
}

TEMPLATE_TEST_CASE("prelu y is exactly x > 0 ? x : a * x", "[prelu]", float, double) {
    // Random x and slopes over the whole exponent range, subnormals and products that
    // underflow or overflow: the forward result is one rounding of a * x.
    using T = TestType;
    const extents e{3, 4, 101};
    prelu_case<T> d = make_case<T>(e, 4, 5);
    std::mt19937_64 rng(99);
    std::uniform_real_distribution<double> ue(-1.0, 1.0);
    const int max_exp = std::numeric_limits<T>::max_exponent;
    for (T& v : d.x) {
        const T m = static_cast<T>(ue(rng));
        v = std::ldexp(m, static_cast<int>(rng() % static_cast<std::uint64_t>(2 * max_exp + 40)) -
                              max_exp - 40);
    }
    d.alpha = {static_cast<T>(0.3), static_cast<T>(-1e-20), static_cast<T>(7.1e20),
               std::numeric_limits<T>::denorm_min()};
    const auto r = reference(d);
    offset_buffer<T> y(d.x.size(), 1);
    xact::prelu_forward(d.x.data(), d.alpha.data(), 4, y.data(), e);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < d.x.size(); ++i) bad += !same(y[i], r.y[i]);
    CHECK(bad == 0);
}

// ---------------------------------------------------------------- in place

TEMPLATE_TEST_CASE("prelu in place is bitwise equal to out of place", "[prelu]", float, double) {
    using T = TestType;
    std::uint64_t seed = 500;
    for (const extents& e : layouts()) {
        for (std::size_t ac : {std::size_t(1), e.axis}) {
            INFO("extents {" << e.outer << ", " << e.axis << ", " << e.inner
                             << "} alpha_count=" << ac);
            const auto d = make_case<T>(e, ac, seed++);
            const std::size_t n = d.x.size();
            std::vector<T> y(n), dx(n), da = d.dalpha0;
            xact::prelu_forward(d.x.data(), d.alpha.data(), ac, y.data(), e);
            xact::prelu_backward(d.x.data(), d.alpha.data(), ac, d.dy.data(), dx.data(), da.data(),
                                 e);

            offset_buffer<T> io(n, 1);
            std::copy(d.x.begin(), d.x.end(), io.data());
            xact::prelu_forward(io.data(), d.alpha.data(), ac, io.data(), e); // y == x
            CHECK(bitwise_equal(io.data(), y.data(), n));

            std::vector<T> da2 = d.dalpha0;
            std::copy(d.x.begin(), d.x.end(), io.data());
            xact::prelu_backward(io.data(), d.alpha.data(), ac, d.dy.data(), io.data(), da2.data(),
                                 e); // dx == x
            CHECK(bitwise_equal(io.data(), dx.data(), n));
            CHECK(bitwise_equal(da2.data(), da.data(), ac));

            std::vector<T> da3 = d.dalpha0;
            std::copy(d.dy.begin(), d.dy.end(), io.data());
            xact::prelu_backward(d.x.data(), d.alpha.data(), ac, io.data(), io.data(), da3.data(),
                                 e); // dx == dy
            CHECK(bitwise_equal(io.data(), dx.data(), n));
            CHECK(bitwise_equal(da3.data(), da.data(), ac));

            // x == dy (one array for both inputs) is allowed too.
            std::vector<T> dx4(n), dx4_ref(n), da4 = d.dalpha0, da4_ref = d.dalpha0;
            xact::prelu_backward(d.x.data(), d.alpha.data(), ac, d.x.data(), dx4.data(), da4.data(),
                                 e);
            const std::vector<T> x_copy = d.x;
            xact::prelu_backward(d.x.data(), d.alpha.data(), ac, x_copy.data(), dx4_ref.data(),
                                 da4_ref.data(), e);
            CHECK(bitwise_equal(dx4.data(), dx4_ref.data(), n));
            CHECK(bitwise_equal(da4.data(), da4_ref.data(), ac));
        }
    }
}

// ---------------------------------------------------------------- special values

TEMPLATE_TEST_CASE("prelu special values: NaN, infinities, signed zeros", "[prelu]", float,
                   double) {
    using T = TestType;
    using L = std::numeric_limits<T>;
    const T nan = L::quiet_NaN(), inf = L::infinity();

    SECTION("per channel, NCHW and NHWC") {
        // Channel 0: a NaN x -> NaN y, dx and dalpha[0]. Channel 1: only zeros and +inf
        // (terms 0 even with an infinite dy) -> dalpha[1] unchanged. Channel 2: -inf x with
        // slope 0 -> y = -0 (the limit of 0 * x, not 0 * -inf = NaN), dalpha -inf. Channel 3:
        // finite with zeros.
        const T alpha[4] = {T(0.5), T(-0.5), T(0), T(2)};
        for (const extents& e : {extents{2, 4, 3}, extents{6, 4, 1}, extents{3, 4, 11}}) {
            INFO("extents {" << e.outer << ", " << e.axis << ", " << e.inner << "}");
            prelu_case<T> d = make_case<T>(e, 4, 31);
            d.alpha.assign(alpha, alpha + 4);
            const std::size_t per = e.outer * e.inner;
            auto at = [&](std::size_t c, std::size_t j) {
                const std::size_t o = j / e.inner, i = j % e.inner;
                return (o * e.axis + c) * e.inner + i;
            };
            for (std::size_t j = 0; j < per; ++j) {
                const T zeros[] = {T(0), -T(0), inf};
                d.x[at(1, j)] = zeros[j % 3];
                d.dy[at(1, j)] = j % 2 ? inf : -inf;
                d.x[at(2, j)] = j % 2 ? -inf : T(1.5);
                d.dy[at(2, j)] = T(1);
                d.x[at(3, j)] = j % 4 == 0 ? -T(0) : d.x[at(3, j)];
            }
            d.x[at(0, per - 1)] = nan; // in the last run: the tail of the SIMD loops
            const auto r = reference(d);
            std::vector<T> y(d.x.size()), dx(d.x.size()), da = d.dalpha0;
            xact::prelu_forward(d.x.data(), d.alpha.data(), 4, y.data(), e);
            xact::prelu_backward(d.x.data(), d.alpha.data(), 4, d.dy.data(), dx.data(), da.data(),
                                 e);
            std::size_t bad = 0;
            for (std::size_t i = 0; i < d.x.size(); ++i)
                bad += !same(y[i], r.y[i]) + !same(dx[i], r.dx[i]);
            CHECK(bad == 0);
            const std::size_t nan_at = at(0, per - 1);
            CHECK(std::isnan(y[nan_at]));
            CHECK(std::isnan(dx[nan_at]));
            CHECK(std::isnan(da[0]));
            CHECK(bits(da[1]) == bits(d.dalpha0[1]));
            CHECK(da[2] == -inf);
            CHECK(bits(y[at(2, 1)]) == bits(-T(0)));
            CHECK(dalpha_ok(da[3], d.dalpha0[3], r.sum[3], r.abs_sum[3], r.per_slot));
            // Signed zeros, as the formula gives: -0 * 0.5 = -0, -0 * -0.5 = +0, +0 * -0.5 = -0.
            CHECK(bits(y[at(1, 1)]) == bits(T(0)));  // x = -0, a = -0.5
            CHECK(bits(y[at(1, 0)]) == bits(-T(0))); // x = +0, a = -0.5
            CHECK(bits(y[at(3, 0)]) == bits(-T(0))); // x = -0, a = 2
            CHECK(bits(y[at(1, 2)]) == bits(inf));   // x = +inf
            // dx at zeros: dy * a (infinite here); at +inf: dy.
            CHECK(dx[at(1, 0)] == -inf * T(-0.5));
            CHECK(dx[at(1, 1)] == inf * T(-0.5));
            CHECK(dx[at(1, 2)] == -inf);
        }
    }

    SECTION("a NaN anywhere in a long shared run makes dalpha NaN") {
        const std::size_t n = 4 * 4096 + 4 * simd_width<T> + simd_width<T> + 3;
        for (std::size_t pos : {std::size_t(0), std::size_t(5), std::size_t(4095),
                                std::size_t(4096), n - simd_width<T> - 4, n - 1}) {
            INFO("NaN at " << pos);
            std::vector<T> x(n, T(-1)), dy(n, T(0.5)), y(n), dx(n);
            x[pos] = nan;
            const T a = T(0.25);
            T da = T(1);
            xact::prelu_forward(x.data(), &a, 1, y.data(), extents{1, 1, n});
            xact::prelu_backward(x.data(), &a, 1, dy.data(), dx.data(), &da, extents{1, 1, n});
            CHECK(std::isnan(y[pos]));
            CHECK(std::isnan(dx[pos]));
            CHECK(std::isnan(da));
            CHECK(y[pos == 0 ? 1 : 0] == T(-0.25));
        }
    }

    SECTION("NaN dy contributes only where x < 0") {
        const extents e{5, 3, 1};
        std::vector<T> x = {1, -1, 0, 2, 3, -0.0, 1, -2, 1, 4, 5, 6, 1, 2, 3};
        std::vector<T> dy(x.size(), nan), dx(x.size());
        const std::vector<T> alpha = {T(0.5), T(0.5), T(0.5)};
        std::vector<T> da = {T(0), T(0), T(0)};
        xact::prelu_backward(x.data(), alpha.data(), 3, dy.data(), dx.data(), da.data(), e);
        CHECK(std::isnan(da[1]));         // channel 1 has x = -1
        CHECK(bits(da[0]) == bits(T(0))); // x > 0 only: terms 0
        CHECK(bits(da[2]) == bits(T(0))); // x in {+0, -0, > 0}: terms 0, not 0 * NaN
    }
}

// ---------------------------------------------------------------- determinism

TEMPLATE_TEST_CASE("prelu dalpha is deterministic and independent of alignment", "[prelu]", float,
                   double) {
    using T = TestType;
    std::uint64_t seed = 900;
    for (const extents& e : layouts()) {
        for (std::size_t ac : {std::size_t(1), e.axis}) {
            // Values of very different sizes so that a different summation order would show.
            auto d = make_case<T>(e, ac, seed++);
            for (std::size_t i = 0; i < d.x.size(); ++i)
                d.x[i] =
                    d.x[i] * static_cast<T>(std::ldexp(1.0, static_cast<int>(i * 7 % 23) - 11));
            const auto r = reference(d);
            const auto first = check_case(d, r, {0, 0, 0, 0, 0});
            const auto again = check_case(d, r, {0, 0, 0, 0, 0});
            CHECK(bitwise_equal(first.data(), again.data(), ac));
            for (const offsets& off : offset_sets<T>()) {
                const auto moved = check_case(d, r, off);
                INFO("extents {" << e.outer << ", " << e.axis << ", " << e.inner
                                 << "} alpha_count=" << ac << " x offset " << off.x);
                CHECK(bitwise_equal(first.data(), moved.data(), ac));
            }
        }
    }
}

TEMPLATE_TEST_CASE("the lane sums of the runs layout add by halving", "[prelu]", float, double) {
    // The documented order (prelu.hpp): lane l gets lane l + W/2 for l < W/2, and so on down to
    // lane 0. detail::reduce_add_halving computes it with shuffles on AVX and AVX-512; here the
    // order is restated as plain scalar code, on lanes of very different sizes where another
    // order (lane order, or a different pairing) gives other bits.
    using T = TestType;
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    std::mt19937_64 rng(77);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::uniform_int_distribution<int> ex(-30, 30);
    std::size_t order_matters = 0;
    for (int trial = 0; trial < 2000; ++trial) {
        alignas(64) T lanes[W];
        for (std::size_t l = 0; l < W; ++l) lanes[l] = static_cast<T>(std::ldexp(u(rng), ex(rng)));
        T half[W];
        std::copy(lanes, lanes + W, half);
        for (std::size_t h = W / 2; h >= 1; h /= 2)
            for (std::size_t l = 0; l < h; ++l) half[l] = half[l] + half[l + h];
        T in_order = lanes[0];
        for (std::size_t l = 1; l < W; ++l) in_order = in_order + lanes[l];
        order_matters += bits(in_order) != bits(half[0]) ? 1 : 0;
        const T got = xact::detail::reduce_add_halving(B::load_aligned(lanes));
        INFO("trial " << trial);
        CHECK(bits(got) == bits(half[0]));
    }
    if (W >= 4) CHECK(order_matters > 0); // the inputs can tell the orders apart
}

// ---------------------------------------------------------------- errors

TEMPLATE_TEST_CASE("prelu rejects invalid arguments and writes nothing", "[prelu]", float, double) {
    using T = TestType;
    const extents e{2, 3, 5};
    const std::size_t n = 30;
    std::vector<T> x(n, T(-1)), dy(n, T(1)), alpha(3, T(0.25));
    guarded<T> y(n, 0), dx(n, 1), dalpha(3, 2);
    auto untouched = [&] { return y.untouched() && dx.untouched() && dalpha.untouched(); };
    T* const null = nullptr;

    SECTION("alpha_count neither 1 nor e.axis") {
        for (std::size_t ac : {std::size_t(0), std::size_t(2), std::size_t(4)}) {
            INFO("alpha_count=" << ac);
            expect_invalid([&] { xact::prelu_forward(x.data(), alpha.data(), ac, y.data(), e); },
                           "alpha_count");
            expect_invalid(
                [&] {
                    xact::prelu_backward(x.data(), alpha.data(), ac, dy.data(), dx.data(),
                                         dalpha.data(), e);
                },
                "alpha_count");
        }
        REQUIRE_THROWS_AS(xact::prelu_forward(x.data(), alpha.data(), 2, y.data(), e),
                          std::invalid_argument);
        CHECK(untouched());
    }

    SECTION("null pointers with non-empty extents") {
        for (std::size_t ac : {std::size_t(1), std::size_t(3)}) {
            expect_invalid([&] { xact::prelu_forward(null, alpha.data(), ac, y.data(), e); }, "x");
            expect_invalid([&] { xact::prelu_forward(x.data(), null, ac, y.data(), e); }, "alpha");
            expect_invalid([&] { xact::prelu_forward(x.data(), alpha.data(), ac, null, e); }, "y");
            expect_invalid(
                [&] {
                    xact::prelu_backward(null, alpha.data(), ac, dy.data(), dx.data(),
                                         dalpha.data(), e);
                },
                "x");
            expect_invalid(
                [&] {
                    xact::prelu_backward(x.data(), null, ac, dy.data(), dx.data(), dalpha.data(),
                                         e);
                },
                "alpha");
            expect_invalid(
                [&] {
                    xact::prelu_backward(x.data(), alpha.data(), ac, null, dx.data(), dalpha.data(),
                                         e);
                },
                "dy");
            expect_invalid(
                [&] {
                    xact::prelu_backward(x.data(), alpha.data(), ac, dy.data(), null, dalpha.data(),
                                         e);
                },
                "dx");
            expect_invalid(
                [&] {
                    xact::prelu_backward(x.data(), alpha.data(), ac, dy.data(), dx.data(), null, e);
                },
                "dalpha");
        }
        CHECK(untouched());
    }

    SECTION("partial overlaps") {
        std::vector<T> buf(3 * n + 8, T(-2));
        for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<T>(i) - T(40);
        const std::vector<T> before = buf;
        T* const b = buf.data() + 4;
        expect_invalid([&] { xact::prelu_forward(b, alpha.data(), 3, b + 1, e); }, "y");
        expect_invalid([&] { xact::prelu_forward(b + 1, alpha.data(), 3, b, e); }, "y");
        expect_invalid(
            [&] { xact::prelu_backward(b, alpha.data(), 3, dy.data(), b + 2, dalpha.data(), e); },
            "dx");
        expect_invalid(
            [&] {
                xact::prelu_backward(x.data(), alpha.data(), 3, b, b + n - 1, dalpha.data(), e);
            },
            "dy");
        // dalpha overlapping dx, x, dy or alpha.
        expect_invalid(
            [&] { xact::prelu_backward(x.data(), alpha.data(), 3, dy.data(), b, b + 2, e); },
            "dalpha");
        expect_invalid(
            [&] { xact::prelu_backward(x.data(), alpha.data(), 3, dy.data(), b, b + n - 1, e); },
            "dalpha");
        expect_invalid(
            [&] { xact::prelu_backward(b, alpha.data(), 3, dy.data(), dx.data(), b + 5, e); },
            "dalpha");
        expect_invalid([&] { xact::prelu_backward(x.data(), alpha.data(), 3, b, dx.data(), b, e); },
                       "dalpha");
        expect_invalid(
            [&] { xact::prelu_backward(x.data(), b, 3, dy.data(), dx.data(), b + 1, e); },
            "dalpha");
        CHECK(bitwise_equal(buf.data(), before.data(), buf.size()));
        CHECK(untouched());
        // Adjacent arrays do not overlap.
        CHECK_NOTHROW(xact::prelu_forward(b, alpha.data(), 3, b + n, e));
        CHECK_NOTHROW(xact::prelu_backward(x.data(), alpha.data(), 3, dy.data(), b, b + n, e));
    }

    SECTION("extents whose size overflows") {
        constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
        for (const extents& big :
             {extents{max / 2, 3, 1}, extents{3, max / 2, 1}, extents{1, 2, max / 2 + 1},
              extents{max / 2, 1, 1}, extents{1, 1, max / sizeof(T) + 1}}) {
            INFO("extents {" << big.outer << ", " << big.axis << ", " << big.inner << "}");
            expect_invalid([&] { xact::prelu_forward(x.data(), alpha.data(), 1, y.data(), big); },
                           "extents");
            expect_invalid(
                [&] {
                    xact::prelu_backward(x.data(), alpha.data(), 1, dy.data(), dx.data(),
                                         dalpha.data(), big);
                },
                "extents");
        }
        CHECK(untouched());
    }
}

TEMPLATE_TEST_CASE("prelu with empty extents writes nothing and does not throw", "[prelu]", float,
                   double) {
    using T = TestType;
    std::vector<T> x(8, T(-1)), dy(8, T(1)), alpha(4, T(0.25));
    guarded<T> y(8, 0), dx(8, 0), dalpha(4, 0);
    T* const null = nullptr;
    struct empty_case {
        extents e;
        std::size_t ac;
    };
    for (const auto& c :
         {empty_case{{0, 3, 1}, 3}, empty_case{{0, 3, 1}, 1}, empty_case{{4, 0, 5}, 1},
          empty_case{{4, 0, 5}, 0}, empty_case{{2, 3, 0}, 3}, empty_case{{2, 3, 0}, 1},
          empty_case{{0, 0, 0}, 1}}) {
        INFO("extents {" << c.e.outer << ", " << c.e.axis << ", " << c.e.inner
                         << "} alpha_count=" << c.ac);
        CHECK_NOTHROW(xact::prelu_forward(x.data(), alpha.data(), c.ac, y.data(), c.e));
        CHECK_NOTHROW(xact::prelu_backward(x.data(), alpha.data(), c.ac, dy.data(), dx.data(),
                                           dalpha.data(), c.e));
        CHECK_NOTHROW(xact::prelu_forward(null, null, c.ac, null, c.e));
        CHECK_NOTHROW(xact::prelu_backward(null, null, c.ac, null, null, null, c.e));
        CHECK(y.untouched());
        CHECK(dx.untouched());
        CHECK(dalpha.untouched());
    }
}

TEMPLATE_TEST_CASE("prelu outputs overlapping alpha are rejected", "[prelu]", float, double) {
    // prelu.hpp: "y == x, dx == x and dx == dy are allowed (in place); other overlaps ...
    // throw std::invalid_argument before anything is written". alpha is read while y / dx are
    // written, so an output covering alpha is one of those other overlaps.
    using T = TestType;
    const extents e{2, 3, 5};
    const std::size_t n = 30;
    std::vector<T> x(n, T(-1)), dy(n, T(1)), buf(n + 8, T(0.25)), da(3, T(0));
    const std::vector<T> before = buf;
    T* const out = buf.data();
    expect_invalid([&] { xact::prelu_forward(x.data(), out + 2, 3, out, e); }, "alpha");
    expect_invalid([&] { xact::prelu_forward(x.data(), out + n - 1, 1, out, e); }, "alpha");
    expect_invalid(
        [&] { xact::prelu_backward(x.data(), out + 2, 3, dy.data(), out, da.data(), e); }, "alpha");
    CHECK(bitwise_equal(buf.data(), before.data(), buf.size()));
}
