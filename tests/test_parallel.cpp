// xact::parallel (xact/parallel.hpp): every parallel call gives the bits of the serial call
// for 1 … 8 threads and any split, with xact's pool and with a caller's executor; argument
// errors are thrown on the calling thread before any work; concurrent callers are safe (the
// suite also runs under ThreadSanitizer: the CTest test xact_tests_tsan).
#include "catch.hpp"
#include "harness.hpp"
#if defined(XACT_CATCH2_MAJOR) && XACT_CATCH2_MAJOR >= 3
#include <catch2/catch_template_test_macros.hpp>
#endif

#include <xact/activation.hpp>
#include <xact/parallel.hpp>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

template <class T>
std::vector<T> data(std::size_t n, std::uint64_t seed) {
    std::vector<T> v(n);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-9.0, 9.0);
    for (auto& x : v) x = static_cast<T>(u(rng));
    if (n > 3) {
        v[1] = std::numeric_limits<T>::quiet_NaN();
        v[2] = -std::numeric_limits<T>::infinity();
    }
    return v;
}

/// Policies: xact's pool with 1 … 8 threads and small chunks (so that small arrays split too),
/// the default policy, and a caller's executor that runs the chunks backwards on its own
/// threads.
std::vector<xact::parallel> policies() {
    std::vector<xact::parallel> ps;
    for (unsigned t = 1; t <= 8; ++t) {
        xact::parallel p;
        p.threads = t;
        p.min_chunk = 64;
        ps.push_back(p);
    }
    ps.push_back(xact::parallel{});
    xact::parallel ex;
    ex.min_chunk = 64;
    ex.executor = [](std::size_t count, const std::function<void(std::size_t)>& body) {
        std::vector<std::thread> ts;
        for (std::size_t k = 0; k < 3; ++k)
            ts.emplace_back([&, k] {
                for (std::size_t i = count; i-- > 0;)
                    if (i % 3 == k) body(i);
            });
        for (auto& t : ts) t.join();
    };
    ps.push_back(ex);
    return ps;
}

} // namespace

TEMPLATE_TEST_CASE("parallel: elementwise calls give the serial bits", "[parallel]", float,
                   double) {
    using T = TestType;
    const xact::activation acts[] = {xact::relu{},   xact::sigmoid{},  xact::gelu{},
                                     xact::elu{0.5}, xact::swish{1.5}, xact::hardtanh{-2, 2}};
    for (const std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(63), std::size_t(64),
                                std::size_t(1000), std::size_t(40003)}) {
        const auto x = data<T>(n, n + 1), dy = data<T>(n, n + 2);
        for (const auto& a : acts) {
            std::vector<T> y(n), d(n), g(n);
            a.forward(x.data(), y.data(), n);
            a.backward(x.data(), dy.data(), d.data(), n);
            if (a.has_derivative_from_output())
                a.backward_from_output(y.data(), dy.data(), g.data(), n);
            for (const auto& p : policies()) {
                INFO(a.name() << " n = " << n << " threads = " << p.threads
                              << (p.executor ? " (executor)" : ""));
                std::vector<T> yp(n, T(7)), dp(n, T(7)), gp(n, T(7));
                a.forward(p, x.data(), yp.data(), n);
                CHECK(xact_test::bitwise_equal(y.data(), yp.data(), n));
                a.backward(p, x.data(), dy.data(), dp.data(), n);
                CHECK(xact_test::bitwise_equal(d.data(), dp.data(), n));
                if (a.has_derivative_from_output()) {
                    a.backward_from_output(p, y.data(), dy.data(), gp.data(), n);
                    CHECK(xact_test::bitwise_equal(g.data(), gp.data(), n));
                }
                // The functor forms and the range forms, in place.
                std::vector<T> z = x;
                xact::forward(p, xact::sigmoid{}, z, z);
                std::vector<T> zs = x;
                xact::forward(xact::sigmoid{}, zs, zs);
                CHECK(xact_test::bitwise_equal(z.data(), zs.data(), n));
            }
        }
    }
}

TEMPLATE_TEST_CASE("parallel: softmax family and PReLU give the serial bits", "[parallel]", float,
                   double) {
    using T = TestType;
    // ... including PReLU's rows layout with more than 256 channels ({20, 1100, 1}) and its
    // runs layout with more than 64 ({3, 130, 5}), which split by channels.
    const xact::extents shapes[] = {{37, 129, 1}, {3, 5, 1000},  {1, 7, 4099},
                                    {64, 3, 3},   {2, 1, 70},    {0, 4, 4},
                                    {5, 0, 3},    {20, 1100, 1}, {3, 130, 5}};
    for (const auto& e : shapes) {
        const std::size_t n = e.outer * e.axis * e.inner;
        const auto x = data<T>(n, n + 11), dy = data<T>(n, n + 12);
        std::vector<T> alpha(e.axis == 0 ? 1 : e.axis);
        for (std::size_t c = 0; c < alpha.size(); ++c)
            alpha[c] = static_cast<T>(0.1 * double(c + 1));
        for (const bool log : {false, true}) {
            std::vector<T> y(n), d(n);
            if (log) {
                xact::log_softmax(x.data(), y.data(), e);
                xact::log_softmax_backward(y.data(), dy.data(), d.data(), e);
            } else {
                xact::softmax(x.data(), y.data(), e);
                xact::softmax_backward(y.data(), dy.data(), d.data(), e);
            }
            for (const auto& p : policies()) {
                INFO((log ? "log_softmax" : "softmax") << " {" << e.outer << ", " << e.axis << ", "
                                                       << e.inner << "} threads = " << p.threads);
                std::vector<T> yp(n, T(7)), dp(n, T(7));
                if (log) {
                    xact::log_softmax(p, x.data(), yp.data(), e);
                    xact::log_softmax_backward(p, y.data(), dy.data(), dp.data(), e);
                } else {
                    xact::softmax(p, x.data(), yp.data(), e);
                    xact::softmax_backward(p, y.data(), dy.data(), dp.data(), e);
                }
                CHECK(xact_test::bitwise_equal(y.data(), yp.data(), n));
                CHECK(xact_test::bitwise_equal(d.data(), dp.data(), n));
            }
        }
        std::vector<T> y(n), yp(n), dx(n), dxp(n), da(alpha.size(), T(0)), dap(alpha.size(), T(0));
        xact::prelu_forward(x.data(), alpha.data(), alpha.size(), y.data(), e);
        xact::prelu_backward(x.data(), alpha.data(), alpha.size(), dy.data(), dx.data(), da.data(),
                             e);
        for (const auto& p : policies()) {
            xact::prelu_forward(p, x.data(), alpha.data(), alpha.size(), yp.data(), e);
            CHECK(xact_test::bitwise_equal(y.data(), yp.data(), n));
            std::fill(dap.begin(), dap.end(), T(0));
            xact::prelu_backward(p, x.data(), alpha.data(), alpha.size(), dy.data(), dxp.data(),
                                 dap.data(), e);
            CHECK(xact_test::bitwise_equal(dx.data(), dxp.data(), n));
            CHECK(xact_test::bitwise_equal(da.data(), dap.data(), da.size()));
        }
    }
}

TEST_CASE("parallel: argument errors come first, executor exceptions propagate", "[parallel]") {
    std::atomic<int> calls{0};
    xact::parallel p;
    p.min_chunk = 64;
    p.executor = [&calls](std::size_t count, const std::function<void(std::size_t)>& body) {
        ++calls;
        for (std::size_t i = 0; i < count; ++i) body(i);
    };
    std::vector<float> x(10000, 1.0f), y(10000);
    CHECK_THROWS_AS(
        xact::forward(p, xact::relu{}, static_cast<const float*>(nullptr), y.data(), 10),
        std::invalid_argument);
    CHECK_THROWS_AS(xact::forward(p, xact::relu{}, x.data(), x.data() + 1, 100),
                    std::invalid_argument);
    CHECK_THROWS_AS(xact::forward(p, xact::celu{0.0}, x.data(), y.data(), 100),
                    std::invalid_argument);
    CHECK_THROWS_AS(xact::softmax(p, x.data(), x.data() + 3, xact::extents{10, 100}),
                    std::invalid_argument);
    CHECK_THROWS_AS(xact::log_softmax_backward(p, x.data(), static_cast<const float*>(nullptr),
                                               y.data(), xact::extents{10, 100}),
                    std::invalid_argument);
    CHECK(calls == 0); // nothing ran
    xact::forward(p, xact::relu{}, x.data(), y.data(), x.size());
    CHECK(calls == 1);
    xact::parallel bad;
    bad.min_chunk = 64;
    bad.executor = [](std::size_t, const std::function<void(std::size_t)>&) {
        throw std::runtime_error("pool is gone");
    };
    CHECK_THROWS_AS(xact::forward(bad, xact::sigmoid{}, x.data(), y.data(), x.size()),
                    std::runtime_error);
    // Small calls run serially: the executor is not called.
    xact::forward(p, xact::relu{}, x.data(), y.data(), 100);
    CHECK(calls == 1);
    // The default thresholds (min_chunk = 0): serial below 2 * 16384 elements, below
    // 2 * 65536 for the piecewise-linear functions (and hard_swish), split from there.
    xact::parallel d;
    d.executor = p.executor;
    std::vector<float> big(140000, 0.5f), out(140000);
    xact::forward(d, xact::sigmoid{}, big.data(), out.data(), 32767);
    xact::forward(d, xact::relu{}, big.data(), out.data(), 131071);
    xact::backward(d, xact::hard_swish{}, big.data(), big.data(), out.data(), 131071);
    CHECK(calls == 1);
    xact::forward(d, xact::sigmoid{}, big.data(), out.data(), 32768);
    CHECK(calls == 2);
    xact::forward(d, xact::relu{}, big.data(), out.data(), 131072);
    CHECK(calls == 3);
    xact::activation(xact::leaky_relu{}).forward(d, big.data(), out.data(), 131071);
    CHECK(calls == 3);
}

TEST_CASE("parallel: concurrent callers share the pool safely", "[parallel]") {
    const std::size_t n = 50000;
    const auto x = data<float>(n, 99);
    std::vector<float> ref(n);
    xact::forward(xact::gelu{}, x.data(), ref.data(), n);
    std::vector<std::vector<float>> out(4, std::vector<float>(n));
    std::vector<std::thread> ts;
    xact::parallel p;
    p.threads = 3;
    p.min_chunk = 256;
    for (std::size_t k = 0; k < out.size(); ++k)
        ts.emplace_back([&, k] {
            for (int r = 0; r < 5; ++r) xact::forward(p, xact::gelu{}, x.data(), out[k].data(), n);
        });
    for (auto& t : ts) t.join();
    for (const auto& o : out) CHECK(xact_test::bitwise_equal(o.data(), ref.data(), n));
}
