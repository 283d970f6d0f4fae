// Array calls (xact/algorithm.hpp): forward, backward and backward_from_output over every
// piecewise functor, checked element by element against the scalar call (spec.md §4): every
// length from 0 to 4W+3 plus long ones, every start alignment, guard elements around the
// outputs, in place, range overloads, argument errors.
#include "catch.hpp"
#include "harness.hpp"
#include "reference.hpp"
#if defined(XACT_CATCH2_MAJOR) && XACT_CATCH2_MAJOR >= 3
#include <catch2/catch_template_test_macros.hpp> // TEMPLATE_TEST_CASE lives here in 3.x
#endif

#include <xact/algorithm.hpp>
#include <xact/functions/piecewise.hpp>
#include <xact/functions/sigmoid.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>
#if defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#if defined(__cpp_lib_span)
#include <span>
#endif

namespace {

using xact_test::bits;
using xact_test::bitwise_equal;
using xact_test::expect_invalid;
using xact_test::guarded;
using xact_test::is_sentinel;
using xact_test::offset_buffer;
using xact_test::same;
using xact_test::sentinel;
using xact_test::simd_width;

/// Inputs: special values, every kink of the functors under test with its neighbours, and
/// random values of several scales (fixed seed), shuffled.
template <class T>
std::vector<T> input_pool() {
    std::vector<T> pool = xact_test::special_values<T>();
    const double kinks[] = {0.0, -0.0, 6.0, -3.0, 3.0, -1.5, -0.75, -1.0,
                            1.0, -2.0, 3.5, 0.5,  0.2, 0.01, -6.0};
    for (double k : kinks)
        for (T v : xact_test::around(static_cast<T>(k), 3)) pool.push_back(v);
    std::mt19937_64 rng(20240611);
    std::uniform_real_distribution<double> small(-8.0, 8.0);
    std::uniform_real_distribution<double> exponent(-40.0, 30.0);
    for (int i = 0; i < 300; ++i) pool.push_back(static_cast<T>(small(rng)));
    for (int i = 0; i < 100; ++i) {
        const double m = std::pow(10.0, exponent(rng));
        pool.push_back(static_cast<T>((i % 2 == 0) ? m : -m));
    }
    std::shuffle(pool.begin(), pool.end(), rng);
    return pool;
}

template <class T>
void fill_from(T* p, std::size_t n, const std::vector<T>& pool, std::size_t start) {
    for (std::size_t i = 0; i < n; ++i) p[i] = pool[(start + i) % pool.size()];
}

/// A value in hexadecimal floating point, to see the last bit in failure messages.
template <class T>
std::string hex(T v) {
    std::ostringstream s;
    s << std::hexfloat << v;
    return s.str();
}

std::string describe(const xact::identity&) {
    return "identity";
}
std::string describe(const xact::relu&) {
    return "relu";
}
std::string describe(const xact::relu6&) {
    return "relu6";
}
std::string describe(const xact::hard_sigmoid&) {
    return "hard_sigmoid";
}
std::string describe(const xact::hard_swish&) {
    return "hard_swish";
}
std::string describe(const xact::leaky_relu& f) {
    std::ostringstream s;
    s << "leaky_relu{" << f.alpha << "}";
    return s.str();
}
std::string describe(const xact::hardtanh& f) {
    std::ostringstream s;
    s << "hardtanh{" << f.lo << ", " << f.hi << "}";
    return s.str();
}

/// Every functor, with default and non-default parameters.
auto all_functors() {
    return std::make_tuple(xact::identity{}, xact::relu{}, xact::relu6{}, xact::leaky_relu{},
                           xact::leaky_relu{0.2}, xact::leaky_relu{0.0}, xact::leaky_relu{1.7},
                           xact::leaky_relu{-0.5}, xact::hardtanh{}, xact::hardtanh{-2.0, 3.5},
                           xact::hardtanh{0.0, 6.0}, xact::hardtanh{0.5, 0.5}, xact::hard_sigmoid{},
                           xact::hard_swish{});
}

template <class Tuple, class Fn>
void for_each_functor(const Tuple& t, Fn&& fn) {
    std::apply([&](const auto&... f) { (fn(f), ...); }, t);
}

template <class F, class T, class = void>
struct has_from_output : std::false_type {};
template <class F, class T>
struct has_from_output<
    F, T, std::void_t<decltype(std::declval<const F&>().derivative_from_output(std::declval<T>()))>>
    : std::true_type {};

/// backward_from_output is defined for identity, relu, relu6, leaky_relu (alpha >= 0), hardtanh.
template <class T, class F>
bool from_output_allowed(const F& f) {
    if constexpr (!has_from_output<F, T>::value) {
        return false;
    } else if constexpr (std::is_same_v<F, xact::leaky_relu>) {
        return f.alpha >= 0.0;
    } else {
        return true;
    }
}

enum class op { forward, backward, from_output };

const char* op_name(op k) {
    return k == op::forward ? "forward" : k == op::backward ? "backward" : "backward_from_output";
}

/// Calls the array form of `K` with a (x or y) and b (dy) as inputs.
template <op K, class F, class T>
void call_array(const F& f, const T* a, const T* b, T* out, std::size_t n) {
    if constexpr (K == op::forward) {
        (void)b;
        xact::forward(f, a, out, n);
    } else if constexpr (K == op::backward) {
        xact::backward(f, a, b, out, n);
    } else {
        xact::backward_from_output(f, a, b, out, n);
    }
}

/// The scalar call the array result must equal bitwise.
template <op K, class F, class T>
T call_scalar(const F& f, T a, T b) {
    if constexpr (K == op::forward) {
        (void)b;
        return f(a);
    } else if constexpr (K == op::backward) {
        return b * f.derivative(a);
    } else {
        return b * f.derivative_from_output(a);
    }
}

/// Lengths 0 … 4W+3 (every body/tail split), then 1000 and 4099.
template <class T>
std::vector<std::size_t> test_lengths() {
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n <= 4 * simd_width<T> + 3; ++n) lengths.push_back(n);
    lengths.push_back(1000);
    lengths.push_back(4099);
    return lengths;
}

/// Every length and start alignment of operation K for functor f: element i bitwise equal to
/// the scalar call, guards untouched.
template <op K, class T, class F>
void check_against_scalar(const F& f, const std::vector<T>& pool) {
    constexpr std::size_t W = simd_width<T>;
    std::size_t failures = 0;
    for (std::size_t n : test_lengths<T>()) {
        for (std::size_t o = 0; o <= W; ++o) {
            const std::size_t salt = n * 131 + o * 17 + static_cast<std::size_t>(K) * 7;
            offset_buffer<T> a(n, o), b(n, (o + 2) % (W + 1));
            fill_from(a.data(), n, pool, salt);
            fill_from(b.data(), n, pool, salt * 7 + 3);
            guarded<T> out(n, (o + 1) % (W + 1));
            call_array<K>(f, a.data(), b.data(), out.data(), n);
            std::size_t bad = 0, first = n;
            for (std::size_t i = 0; i < n; ++i) {
                if (!same(out[i], call_scalar<K>(f, a[i], b[i]))) {
                    if (bad++ == 0) first = i;
                }
            }
            const bool guards = out.guards_intact();
            if (bad != 0 || !guards) {
                ++failures;
                INFO(op_name(K) << " " << describe(f) << " n=" << n << " offset=" << o
                                << " mismatches=" << bad << " first at i=" << first);
                if (first < n) {
                    INFO("input=" << hex(a[first]) << " dy=" << hex(b[first])
                                  << " got=" << hex(out[first])
                                  << " scalar=" << hex(call_scalar<K>(f, a[first], b[first])));
                    CHECK(bad == 0);
                }
                CHECK(guards);
            }
        }
    }
    INFO(op_name(K) << " " << describe(f));
    CHECK(failures == 0);
}

} // namespace

// ---------------------------------------------------------------- element by element

TEMPLATE_TEST_CASE("forward equals the scalar call at every length and alignment", "[algorithm]",
                   float, double) {
    const auto pool = input_pool<TestType>();
    for_each_functor(all_functors(),
                     [&](const auto& f) { check_against_scalar<op::forward, TestType>(f, pool); });
}

TEMPLATE_TEST_CASE("backward equals dy * f.derivative(x) at every length and alignment",
                   "[algorithm]", float, double) {
    const auto pool = input_pool<TestType>();
    for_each_functor(all_functors(),
                     [&](const auto& f) { check_against_scalar<op::backward, TestType>(f, pool); });
}

TEMPLATE_TEST_CASE("backward_from_output equals dy * f.derivative_from_output(y) at every "
                   "length and alignment",
                   "[algorithm]", float, double) {
    const auto pool = input_pool<TestType>();
    std::size_t checked = 0;
    for_each_functor(all_functors(), [&](const auto& f) {
        using F = std::decay_t<decltype(f)>;
        if constexpr (has_from_output<F, TestType>::value) {
            if (from_output_allowed<TestType>(f)) {
                check_against_scalar<op::from_output, TestType>(f, pool);
                ++checked;
            }
        }
    });
    // identity, relu, relu6, leaky_relu {0.01, 0.2, 0, 1.7}, hardtanh x4
    CHECK(checked == 11);
}

TEMPLATE_TEST_CASE("outputs of y = f(x) feed backward_from_output consistently with backward",
                   "[algorithm]", float, double) {
    // From the output of forward, backward_from_output gives backward's result away from the
    // kinks' ambiguous side (relu: y = 0 for every x <= 0, where both derivatives are 0).
    using T = TestType;
    const auto pool = input_pool<T>();
    const std::size_t n = pool.size();
    std::vector<T> dy(n, T(1.25)), y(n), d_in(n), d_out(n);
    for_each_functor(std::make_tuple(xact::identity{}, xact::relu{}, xact::relu6{},
                                     xact::leaky_relu{0.2}, xact::hardtanh{-2.0, 3.5}),
                     [&](const auto& f) {
                         xact::forward(f, pool.data(), y.data(), n);
                         xact::backward(f, pool.data(), dy.data(), d_in.data(), n);
                         xact::backward_from_output(f, y.data(), dy.data(), d_out.data(), n);
                         std::size_t bad = 0;
                         for (std::size_t i = 0; i < n; ++i) {
                             // leaky(x) with tiny x underflows to 0 and loses the side.
                             if (pool[i] != 0 && y[i] == 0) continue;
                             if (!same(d_in[i], d_out[i])) ++bad;
                         }
                         INFO(describe(f));
                         CHECK(bad == 0);
                     });
}

// ---------------------------------------------------------------- in place

TEMPLATE_TEST_CASE("in-place calls are bitwise equal to out-of-place calls", "[algorithm]", float,
                   double) {
    using T = TestType;
    constexpr std::size_t W = simd_width<T>;
    const auto pool = input_pool<T>();
    const std::size_t lengths[] = {0, 1, W - 1, W, W + 1, 4 * W + 3, 1000, 4099};
    for_each_functor(all_functors(), [&](const auto& f) {
        using F = std::decay_t<decltype(f)>;
        for (std::size_t n : lengths) {
            for (std::size_t o = 0; o <= W; o += (W + 1) / 2 > 0 ? (W + 1) / 2 : 1) {
                INFO(describe(f) << " n=" << n << " offset=" << o);
                offset_buffer<T> a(n, o), b(n, (o + 3) % (W + 1)), ref(n, 0), io(n, o);
                fill_from(a.data(), n, pool, n + o);
                fill_from(b.data(), n, pool, 5 * n + o + 11);

                // forward(f, x, x, n)
                xact::forward(f, a.data(), ref.data(), n);
                std::copy(a.data(), a.data() + n, io.data());
                xact::forward(f, io.data(), io.data(), n);
                CHECK(bitwise_equal(io.data(), ref.data(), n));

                // backward with dx == x, then dx == dy
                xact::backward(f, a.data(), b.data(), ref.data(), n);
                std::copy(a.data(), a.data() + n, io.data());
                xact::backward(f, io.data(), b.data(), io.data(), n);
                CHECK(bitwise_equal(io.data(), ref.data(), n));
                std::copy(b.data(), b.data() + n, io.data());
                xact::backward(f, a.data(), io.data(), io.data(), n);
                CHECK(bitwise_equal(io.data(), ref.data(), n));

                // backward_from_output with dx == y, then dx == dy
                if constexpr (has_from_output<F, T>::value) {
                    if (from_output_allowed<T>(f)) {
                        xact::backward_from_output(f, a.data(), b.data(), ref.data(), n);
                        std::copy(a.data(), a.data() + n, io.data());
                        xact::backward_from_output(f, io.data(), b.data(), io.data(), n);
                        CHECK(bitwise_equal(io.data(), ref.data(), n));
                        std::copy(b.data(), b.data() + n, io.data());
                        xact::backward_from_output(f, a.data(), io.data(), io.data(), n);
                        CHECK(bitwise_equal(io.data(), ref.data(), n));
                    }
                }
            }
        }
    });
}

// ---------------------------------------------------------------- ranges

namespace {
template <class F, class X, class Y, class = void>
struct can_forward_range : std::false_type {};
template <class F, class X, class Y>
struct can_forward_range<F, X, Y,
                         std::void_t<decltype(xact::forward(std::declval<const F&>(),
                                                            std::declval<X>(), std::declval<Y>()))>>
    : std::true_type {};

// A range of const elements is not an output.
static_assert(can_forward_range<xact::relu, const std::vector<float>&, std::vector<float>&>::value);
static_assert(
    !can_forward_range<xact::relu, const std::vector<float>&, const std::vector<float>&>::value);
static_assert(
    can_forward_range<xact::relu, const std::array<double, 3>&, std::array<double, 3>&>::value);
} // namespace

TEMPLATE_TEST_CASE("range overloads give the pointer form's result", "[algorithm]", float, double) {
    using T = TestType;
    constexpr std::size_t N = 4 * simd_width<T> + 3;
    const auto pool = input_pool<T>();
    const xact::leaky_relu f{0.2};

    std::vector<T> xv(N), dyv(N);
    fill_from(xv.data(), N, pool, 7);
    fill_from(dyv.data(), N, pool, 91);
    std::vector<T> y_ptr(N), dx_ptr(N), dxo_ptr(N);
    xact::forward(f, xv.data(), y_ptr.data(), N);
    xact::backward(f, xv.data(), dyv.data(), dx_ptr.data(), N);
    xact::backward_from_output(f, xv.data(), dyv.data(), dxo_ptr.data(), N);

    SECTION("std::vector") {
        std::vector<T> y(N), dx(N), dxo(N);
        xact::forward(f, xv, y);
        xact::backward(f, xv, dyv, dx);
        xact::backward_from_output(f, xv, dyv, dxo);
        CHECK(bitwise_equal(y.data(), y_ptr.data(), N));
        CHECK(bitwise_equal(dx.data(), dx_ptr.data(), N));
        CHECK(bitwise_equal(dxo.data(), dxo_ptr.data(), N));
    }
    SECTION("std::array") {
        std::array<T, N> x{}, dy{}, y{}, dx{}, dxo{};
        std::copy(xv.begin(), xv.end(), x.begin());
        std::copy(dyv.begin(), dyv.end(), dy.begin());
        xact::forward(f, x, y);
        xact::backward(f, x, dy, dx);
        xact::backward_from_output(f, x, dy, dxo);
        CHECK(bitwise_equal(y.data(), y_ptr.data(), N));
        CHECK(bitwise_equal(dx.data(), dx_ptr.data(), N));
        CHECK(bitwise_equal(dxo.data(), dxo_ptr.data(), N));
    }
    SECTION("C array and mixed range types") {
        T x[N], y[N];
        std::copy(xv.begin(), xv.end(), x);
        xact::forward(f, x, y);
        CHECK(bitwise_equal(y, y_ptr.data(), N));
        std::array<T, N> dx{};
        xact::backward(f, xv, x, dx); // dy given as a C array equal to x
        std::vector<T> dx_ref(N);
        xact::backward(f, xv.data(), x, dx_ref.data(), N);
        CHECK(bitwise_equal(dx.data(), dx_ref.data(), N));
    }
    SECTION("in place through ranges") {
        std::vector<T> io = xv;
        xact::forward(f, io, io);
        CHECK(bitwise_equal(io.data(), y_ptr.data(), N));
        io = xv;
        xact::backward(f, io, dyv, io);
        CHECK(bitwise_equal(io.data(), dx_ptr.data(), N));
    }
    SECTION("empty ranges") {
        std::vector<T> e1, e2, e3;
        CHECK_NOTHROW(xact::forward(f, e1, e2));
        CHECK_NOTHROW(xact::backward(f, e1, e2, e3));
        CHECK_NOTHROW(xact::backward_from_output(f, e1, e2, e3));
    }
#if defined(__cpp_lib_span)
    SECTION("std::span") {
        std::vector<T> y(N), dx(N), dxo(N);
        const std::span<const T> x(xv);
        const std::span<const T> dy(dyv.data(), dyv.size());
        xact::forward(f, x, std::span<T>(y));
        xact::backward(f, x, dy, std::span<T>(dx));
        const std::span<T> out(dxo);
        xact::backward_from_output(f, x, dy, out);
        CHECK(bitwise_equal(y.data(), y_ptr.data(), N));
        CHECK(bitwise_equal(dx.data(), dx_ptr.data(), N));
        CHECK(bitwise_equal(dxo.data(), dxo_ptr.data(), N));
        // A span over part of a buffer: only that part is written.
        std::vector<T> big(N + 4, sentinel<T>());
        xact::forward(f, x, std::span<T>(big.data() + 2, N));
        CHECK(bitwise_equal(big.data() + 2, y_ptr.data(), N));
        CHECK((is_sentinel(big[0]) && is_sentinel(big[1]) && is_sentinel(big[N + 2]) &&
               is_sentinel(big[N + 3])));
    }
#endif
}

// ---------------------------------------------------------------- errors

TEMPLATE_TEST_CASE("null pointers with n > 0 throw and write nothing", "[algorithm]", float,
                   double) {
    using T = TestType;
    const std::size_t n = 10;
    const xact::relu f;
    std::vector<T> x(n, T(1.5)), dy(n, T(-2));
    guarded<T> out(n, 1);
    T* const null = nullptr;

    expect_invalid([&] { xact::forward(f, null, out.data(), n); }, "x");
    expect_invalid([&] { xact::forward(f, x.data(), null, n); }, "y");
    expect_invalid([&] { xact::backward(f, null, dy.data(), out.data(), n); }, "x");
    expect_invalid([&] { xact::backward(f, x.data(), null, out.data(), n); }, "dy");
    expect_invalid([&] { xact::backward(f, x.data(), dy.data(), null, n); }, "dx");
    expect_invalid([&] { xact::backward_from_output(f, null, dy.data(), out.data(), n); }, "y");
    expect_invalid([&] { xact::backward_from_output(f, x.data(), null, out.data(), n); }, "dy");
    expect_invalid([&] { xact::backward_from_output(f, x.data(), dy.data(), null, n); }, "dx");
    REQUIRE_THROWS_AS(xact::forward(f, null, out.data(), 1), std::invalid_argument);
    CHECK(out.untouched());
}

TEMPLATE_TEST_CASE("null pointers with n == 0 are accepted", "[algorithm]", float, double) {
    using T = TestType;
    const T* const cnull = nullptr;
    T* const null = nullptr;
    for_each_functor(all_functors(), [&](const auto& f) {
        using F = std::decay_t<decltype(f)>;
        INFO(describe(f));
        CHECK_NOTHROW(xact::forward(f, cnull, null, 0));
        CHECK_NOTHROW(xact::backward(f, cnull, cnull, null, 0));
        if constexpr (has_from_output<F, T>::value) {
            if (from_output_allowed<T>(f))
                CHECK_NOTHROW(xact::backward_from_output(f, cnull, cnull, null, 0));
        }
    });
    // n == 0 with valid pointers writes nothing.
    guarded<T> out(0, 0);
    std::vector<T> x(4, T(1));
    xact::forward(xact::relu{}, x.data(), out.data(), 0);
    xact::backward(xact::relu{}, x.data(), x.data(), out.data(), 0);
    xact::backward_from_output(xact::relu{}, x.data(), x.data(), out.data(), 0);
    CHECK(out.untouched());
}

TEMPLATE_TEST_CASE("partial overlap of an output with an input throws and writes nothing",
                   "[algorithm]", float, double) {
    using T = TestType;
    const std::size_t n = 4 * simd_width<T> + 3;
    const xact::leaky_relu f{0.2};
    std::vector<T> buf(2 * n + 8), other(n, T(0.75));
    for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<T>(i) - T(7.5);
    const std::vector<T> before = buf;
    const std::vector<T> other_before = other;
    T* const base = buf.data() + 4;
    auto unchanged = [&] {
        return bitwise_equal(buf.data(), before.data(), buf.size()) &&
               bitwise_equal(other.data(), other_before.data(), n);
    };

    expect_invalid([&] { xact::forward(f, base, base + 1, n); }, "y");
    expect_invalid([&] { xact::forward(f, base + 1, base, n); }, "y");
    expect_invalid([&] { xact::forward(f, base, base + n - 1, n); }, "y");
    expect_invalid([&] { xact::backward(f, base, other.data(), base + 1, n); }, "dx");
    expect_invalid([&] { xact::backward(f, other.data(), base, base + 3, n); }, "dy");
    expect_invalid([&] { xact::backward(f, other.data(), base + 2, base, n); }, "dx");
    expect_invalid([&] { xact::backward_from_output(f, base, other.data(), base + 1, n); }, "y");
    expect_invalid([&] { xact::backward_from_output(f, other.data(), base, base + 1, n); }, "dy");
    REQUIRE_THROWS_AS(xact::forward(f, base, base + 1, n), std::invalid_argument);
    CHECK(unchanged());

    // Arrays that touch without sharing an element are not overlapping.
    CHECK_NOTHROW(xact::forward(f, base, base + n, n));
    CHECK_NOTHROW(xact::forward(f, base + n, base, n));
    CHECK_NOTHROW(xact::backward(f, base, base + n, base + n, n)); // dx == dy, touches x
    // Inputs may overlap each other: they are only read.
    CHECK_NOTHROW(xact::backward(f, base, base + 1, other.data(), n));
}

TEMPLATE_TEST_CASE("range size mismatches throw and write nothing", "[algorithm]", float, double) {
    using T = TestType;
    const xact::relu f;
    const std::vector<T> x(9, T(1)), dy(9, T(2)), short_in(8, T(3));
    std::vector<T> out(9, sentinel<T>()), short_out(8, sentinel<T>()), long_out(10, sentinel<T>());
    auto untouched = [&] {
        for (T v : out)
            if (!is_sentinel(v)) return false;
        for (T v : short_out)
            if (!is_sentinel(v)) return false;
        for (T v : long_out)
            if (!is_sentinel(v)) return false;
        return true;
    };

    expect_invalid([&] { xact::forward(f, x, short_out); }, "y");
    expect_invalid([&] { xact::forward(f, x, long_out); }, "y");
    expect_invalid([&] { xact::forward(f, short_in, out); }, "y");
    expect_invalid([&] { xact::backward(f, x, short_in, out); }, "dy");
    expect_invalid([&] { xact::backward(f, x, dy, short_out); }, "dx");
    expect_invalid([&] { xact::backward(f, x, dy, long_out); }, "dx");
    expect_invalid([&] { xact::backward(f, short_in, dy, out); }, "x");
    expect_invalid([&] { xact::backward_from_output(f, x, short_in, out); }, "dy");
    expect_invalid([&] { xact::backward_from_output(f, x, dy, short_out); }, "dx");
    expect_invalid([&] { xact::backward_from_output(f, short_in, dy, out); }, "y");
    CHECK(untouched());
}

TEMPLATE_TEST_CASE("invalid functor parameters throw and write nothing", "[algorithm]", float,
                   double) {
    using T = TestType;
    const std::size_t n = 2 * simd_width<T> + 1;
    std::vector<T> x(n, T(0.5)), dy(n, T(1));
    guarded<T> out(n, 0);
    const double nan = std::numeric_limits<double>::quiet_NaN();

    for (const xact::hardtanh f :
         {xact::hardtanh{2.0, 1.0}, xact::hardtanh{nan, 1.0}, xact::hardtanh{-1.0, nan}}) {
        INFO(describe(f));
        expect_invalid([&] { xact::forward(f, x.data(), out.data(), n); }, "lo");
        expect_invalid([&] { xact::backward(f, x.data(), dy.data(), out.data(), n); }, "lo");
        expect_invalid([&] { xact::backward_from_output(f, x.data(), dy.data(), out.data(), n); },
                       "lo");
        // Checked even when there is nothing to compute.
        REQUIRE_THROWS_AS(xact::forward(f, x.data(), out.data(), n), std::invalid_argument);
    }
    CHECK(out.untouched());

    for (const xact::leaky_relu f : {xact::leaky_relu{-0.5}, xact::leaky_relu{nan}}) {
        INFO(describe(f));
        expect_invalid([&] { xact::backward_from_output(f, x.data(), dy.data(), out.data(), n); },
                       "alpha");
        CHECK(out.untouched());
    }
    // An infinite slope (or one that overflows the element type) would give NaN at x = ±0.
    for (const double a : {std::numeric_limits<double>::infinity(), 1e300}) {
        const xact::leaky_relu f{a};
        INFO(describe(f));
        const bool overflows = !std::isfinite(static_cast<T>(a));
        if (overflows) {
            expect_invalid([&] { xact::forward(f, x.data(), out.data(), n); }, "alpha");
            expect_invalid([&] { xact::backward(f, x.data(), dy.data(), out.data(), n); }, "alpha");
            CHECK(out.untouched());
        } else {
            CHECK_NOTHROW(xact::forward(f, x.data(), out.data(), n));
        }
    }
    // A negative slope is fine for forward and backward (from the input).
    CHECK_NOTHROW(xact::forward(xact::leaky_relu{-0.5}, x.data(), out.data(), n));
    CHECK_NOTHROW(xact::backward(xact::leaky_relu{-0.5}, x.data(), dy.data(), out.data(), n));
    CHECK(out.guards_intact());
    // lo == hi is a valid (constant) hardtanh.
    CHECK_NOTHROW(xact::forward(xact::hardtanh{0.5, 0.5}, x.data(), out.data(), n));
}

// ---------------------------------------------------------------- derivative sanity

namespace {
/// hard_swish written independently: x * min(max(x + 3, 0), 6) / 6.
long double hard_swish_ref(long double x) {
    const long double t = x + 3.0L;
    const long double c = t < 0 ? 0.0L : (t > 6 ? 6.0L : t);
    return x * c / 6.0L;
}
} // namespace

TEMPLATE_TEST_CASE("hard_swish backward matches a finite difference of forward", "[algorithm]",
                   float, double) {
    using T = TestType;
    const double points[] = {-7.0, -3.5, -2.5, -1.2, -0.4, 0.0, 0.7, 2.2, 2.9, 3.6, 50.0};
    const double dys[] = {1.0, -2.5};
    const std::size_t n = std::size(points);
    std::vector<T> x(n), y(n), dx(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<T>(points[i]);
    xact::forward(xact::hard_swish{}, x.data(), y.data(), n);
    for (double g : dys) {
        std::vector<T> dy(n, static_cast<T>(g));
        xact::backward(xact::hard_swish{}, x.data(), dy.data(), dx.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
            const long double xi = x[i], h = 1e-4L;
            const long double fd = (hard_swish_ref(xi + h) - hard_swish_ref(xi - h)) / (2 * h);
            const long double want = static_cast<long double>(g) * fd;
            INFO("x=" << x[i] << " dy=" << g << " dx=" << dx[i]
                      << " finite difference=" << static_cast<double>(want));
            CHECK(std::fabs(static_cast<long double>(dx[i]) - want) <=
                  1e-5L * (1 + std::fabs(want)));
            // forward agrees with the reference formula too (loosely: within 1e-6 relative).
            CHECK(std::fabs(static_cast<long double>(y[i]) - hard_swish_ref(xi)) <=
                  1e-6L * (1 + std::fabs(hard_swish_ref(xi))));
        }
    }
}

TEMPLATE_TEST_CASE("tail loads and stores touch exactly the first r lanes", "[algorithm]", float,
                   double) {
    // detail::load_partial / store_partial carry every tail of the array loops (masked loads
    // and stores on AVX and AVX-512): lanes below r come from memory, the others are the fill,
    // and a store writes lanes below r only. The guard-page test checks that nothing past the
    // end is touched; this checks the values.
    using T = TestType;
    using B = xsimd::batch<T, xsimd::default_arch>;
    constexpr std::size_t W = B::size;
    std::vector<T> src(W), got(W);
    for (std::size_t l = 0; l < W; ++l) src[l] = static_cast<T>(l + 1) / 4;
    for (const T fill : {T(0), T(-7.5), -std::numeric_limits<T>::infinity()}) {
        for (std::size_t r = 0; r <= W; ++r) {
            INFO("r=" << r << " fill=" << fill);
            xact::detail::load_partial<T, xsimd::default_arch>(src.data(), r, fill)
                .store_unaligned(got.data());
            for (std::size_t l = 0; l < W; ++l) CHECK(got[l] == (l < r ? src[l] : fill));
            std::vector<T> dst(W, sentinel<T>());
            xact::detail::store_partial(dst.data(), B::load_unaligned(src.data()), r);
            for (std::size_t l = 0; l < W; ++l) {
                if (l < r) {
                    CHECK(dst[l] == src[l]);
                } else {
                    CHECK(is_sentinel(dst[l]));
                }
            }
        }
    }
}

TEMPLATE_TEST_CASE("select_sign follows the sign bit in every lane, as the scalar form does",
                   "[algorithm]", float, double) {
    // detail::select_sign reads the sign bit itself (one blendv on AVX and SSE4.1, an integer
    // compare on AVX-512): -0 and a NaN with the sign bit set count as negative.
    using T = TestType;
    using B = xsimd::batch<T, xsimd::default_arch>;
    constexpr std::size_t W = B::size;
    const std::vector<T> specials = xact_test::special_values<T>();
    std::vector<T> s(W), got(W);
    for (std::size_t start = 0; start < specials.size(); ++start) {
        for (std::size_t l = 0; l < W; ++l) s[l] = specials[(start + l) % specials.size()];
        xact::detail::select_sign(B::load_unaligned(s.data()), B(T(10)), B(T(20)))
            .store_unaligned(got.data());
        for (std::size_t l = 0; l < W; ++l) {
            INFO("s = " << s[l] << ", sign bit " << std::signbit(s[l]));
            const T want = std::signbit(s[l]) ? T(10) : T(20);
            CHECK(got[l] == want);
            CHECK(xact::detail::select_sign(s[l], T(10), T(20)) == want);
        }
    }
}

TEMPLATE_TEST_CASE("pow2i and scale2_down read the exponent field of n only", "[algorithm]", float,
                   double) {
    // The exp kernels pass n plus the bits of their rounding constant (exp_parts::nb), which the
    // shift into the exponent field clears; any multiple of 2^(bits - mantissa bits) is ignored.
    using T = TestType;
    using I = xact::detail::int_t<T>;
    using B = xsimd::batch<T, xsimd::default_arch>;
    using BI = xact::detail::int_t<B>;
    constexpr bool f32 = std::is_same_v<T, float>;
    constexpr int lowest = f32 ? -226 : -1622, wrap_bits = f32 ? 9 : 12;
    const I magic_bits = xact::detail::as_int(T(f32 ? 0x1.8p23 : 0x1.8p52));
    for (int n = lowest; n <= 0; n += (n < lowest + 40 || n > -40) ? 1 : 7) {
        const T want = std::ldexp(T(1.25), n);
        for (const I off :
             {I(0), magic_bits, I(I(1) << wrap_bits), I(-(I(1) << (wrap_bits + 3)))}) {
            INFO("n = " << n << ", offset " << off);
            const I nb = static_cast<I>(n + off);
            CHECK(xact::detail::scale2_down(T(1.25), nb) == want);
            CHECK(xact::detail::scale2_down(B(T(1.25)), BI(nb)).get(0) == want);
            if (n >= (f32 ? -126 : -1022)) {
                CHECK(xact::detail::pow2i<T>(nb) == std::ldexp(T(1), n));
                CHECK(xact::detail::pow2i<B>(BI(nb)).get(0) == std::ldexp(T(1), n));
            }
        }
    }
}

TEMPLATE_TEST_CASE("half_floor and shift_right_logical match their definitions in every lane",
                   "[algorithm]", float, double) {
    // The x86 forms of 64-bit lanes (a logical shift of n + 2^30, less 2^29) against floor(n/2)
    // and the unsigned shift, for every n that scale2 may see and then some.
    using T = TestType;
    using I = xact::detail::int_t<T>;
    using U = std::make_unsigned_t<I>;
    using BI = xact::detail::int_t<xsimd::batch<T, xsimd::default_arch>>;
    constexpr std::size_t W = xsimd::batch<T, xsimd::default_arch>::size;
    std::vector<I> n;
    for (I v = -5000; v <= 5000; ++v) n.push_back(v);
    for (const I v : {I(-(I(1) << 29)), I((I(1) << 29) - 1), std::numeric_limits<I>::min(),
                      std::numeric_limits<I>::max(), I(-1)})
        n.push_back(v);
    std::vector<I> got(W);
    for (std::size_t i = 0; i + W <= n.size(); i += W) {
        const BI v = BI::load_unaligned(n.data() + i);
        xact::detail::half_floor(v).store_unaligned(got.data());
        for (std::size_t l = 0; l < W; ++l) {
            const I x = n[i + l];
            INFO("n = " << x);
            if (x >= -(I(1) << 29) && x < (I(1) << 29)) {
                const I want = static_cast<I>(std::floor(static_cast<double>(x) / 2));
                CHECK(got[l] == want);
                CHECK(xact::detail::half_floor(x) == want);
            }
        }
        xact::detail::shift_right_logical<3>(v).store_unaligned(got.data());
        for (std::size_t l = 0; l < W; ++l) {
            const I want = static_cast<I>(static_cast<U>(n[i + l]) >> 3);
            CHECK(got[l] == want);
            CHECK(xact::detail::shift_right_logical<3>(n[i + l]) == want);
        }
    }
}

TEMPLATE_TEST_CASE("or_sign equals copysign for magnitudes, in every lane and for scalars",
                   "[algorithm]", float, double) {
    // detail::or_sign(m, s) or's the sign bit of s into m: copysign(m, s) where m's sign bit is
    // clear (tanh, softsign) or already that of s (hard_swish's middle piece).
    using T = TestType;
    using B = xsimd::batch<T, xsimd::default_arch>;
    constexpr std::size_t W = B::size;
    const std::vector<T> specials = xact_test::special_values<T>();
    std::vector<T> m(W), s(W), got(W);
    for (std::size_t start = 0; start < specials.size(); ++start) {
        for (std::size_t l = 0; l < W; ++l) {
            s[l] = specials[(start + l) % specials.size()];
            const T v = specials[(start + 3 * l + 1) % specials.size()];
            // a magnitude, or (every other lane) a value with the sign of s
            m[l] = (l % 2 == 0 || std::isnan(v)) ? std::fabs(v) : std::copysign(v, s[l]);
        }
        xact::detail::or_sign(B::load_unaligned(m.data()), B::load_unaligned(s.data()))
            .store_unaligned(got.data());
        for (std::size_t l = 0; l < W; ++l) {
            INFO("m = " << m[l] << ", s = " << s[l]);
            const T want = std::copysign(m[l], s[l]);
            CHECK(xact_test::same(got[l], want));
            CHECK(std::signbit(got[l]) == std::signbit(want));
            const T scalar = xact::detail::or_sign(m[l], s[l]);
            CHECK(xact_test::same(scalar, want));
            CHECK(std::signbit(scalar) == std::signbit(want));
        }
    }
}

namespace {
/// A kernel that doubles, and a functor that hands it to the array calls when k == 2.
struct doubling {
    template <class T>
    T operator()(T x) const noexcept {
        return x + x;
    }
    template <class T>
    T derivative(T x) const noexcept {
        using S = xact::detail::scalar_t<T>;
        return x - x + T(S(2));
    }
};
struct scaling {
    double k = 1.0;
    template <class T>
    T operator()(T x) const noexcept {
        using S = xact::detail::scalar_t<T>;
        return x * T(static_cast<S>(k)) + T(S(0.25));
    }
    template <class T>
    T derivative(T x) const noexcept {
        using S = xact::detail::scalar_t<T>;
        return x - x + T(static_cast<S>(k) + S(0.25));
    }
    template <class Fn>
    void specialize(Fn&& fn) const {
        if (k == 2.0)
            fn(doubling{});
        else
            fn(*this);
    }
};
} // namespace

TEMPLATE_TEST_CASE("array calls run the kernel that the functor's specialize() picks",
                   "[algorithm]", float, double) {
    // scaling{2} differs from its kernel by 0.25 on purpose: the array calls must use the
    // kernel (x + x, slope 2), scaling{3} itself (3x + 0.25, slope 3.25).
    using T = TestType;
    const std::size_t n = 4 * simd_width<T> + 3;
    std::vector<T> x(n), dy(n, T(1)), y(n), dx(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<T>(i) - T(5);
    xact::forward(scaling{2.0}, x.data(), y.data(), n);
    xact::backward(scaling{2.0}, x.data(), dy.data(), dx.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(y[i] == x[i] + x[i]);
        CHECK(dx[i] == T(2));
    }
    xact::forward(scaling{3.0}, x.data(), y.data(), n);
    xact::backward(scaling{3.0}, x.data(), dy.data(), dx.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(y[i] == x[i] * T(3) + T(0.25));
        CHECK(dx[i] == T(3.25));
    }
    // swish{1.0} takes silu's kernel: the same bits as the scalar functor (also checked along
    // every length and alignment in test_transcendental.cpp).
    const xact::swish s{1.0};
    xact::forward(s, x.data(), y.data(), n);
    for (std::size_t i = 0; i < n; ++i) CHECK(xact_test::same(y[i], s(x[i])));
}
