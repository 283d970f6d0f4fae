// xact::dispatch (include/xact/dispatch.hpp, library xact::dispatch): the selection logic for
// any CPU, and every instruction set this machine supports against the header-only kernels of
// this translation unit (compiled for the baseline, SSE2 on x86-64): bitwise where
// dispatch.hpp promises it, within the functions' bounds elsewhere.
//
// Run with XACT_ISA set and the filter "[env]" (CTest does both), the first call must honour
// the variable: the named instruction set, or std::invalid_argument for a bad name.
#include "catch.hpp"
#include "harness.hpp"
#include "reference.hpp"
#if defined(XACT_CATCH2_MAJOR) && XACT_CATCH2_MAJOR >= 3
#include <catch2/catch_template_test_macros.hpp>
#endif

#include <xact/dispatch.hpp>
#include <xact/softmax.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using xact::activation;
namespace xd = xact::dispatch;

std::vector<activation> every_activation() {
    return {xact::identity{},      xact::relu{},         xact::relu6{},      xact::leaky_relu{0.2},
            xact::hardtanh{-2, 1}, xact::hard_sigmoid{}, xact::hard_swish{}, xact::sigmoid{},
            xact::tanh{},          xact::swish{1.5},     xact::silu{},       xact::softsign{},
            xact::elu{0.5},        xact::selu{},         xact::celu{2.0},    xact::gelu{},
            xact::gelu{true},      xact::softplus{3.0},  xact::mish{},       xact::log_sigmoid{}};
}

/// The functions that are exact (correctly rounded) everywhere: the same bits on every
/// instruction set. (hard_sigmoid and hard_swish round twice without FMA.)
bool exact(const activation& a) {
    return a.kind() <= xact::activation_kind::hardtanh;
}

template <class T>
std::vector<T> inputs(std::size_t n) {
    std::vector<T> x(n);
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> u(-15.0, 15.0);
    for (auto& v : x) v = static_cast<T>(u(rng));
    x[0] = T(0);
    x[1] = -T(0);
    x[2] = std::numeric_limits<T>::infinity();
    x[3] = -std::numeric_limits<T>::infinity();
    x[4] = std::numeric_limits<T>::quiet_NaN();
    x[5] = std::numeric_limits<T>::denorm_min();
    return x;
}

/// The largest distance between a and b in ULP of max(|b|, floor): floor = 0 for function
/// values; 1 for derivatives, which cross zero where their terms (of size ~1) cancel.
template <class T>
double max_ulp(const std::vector<T>& a, const std::vector<T>& b, long double floor = 0) {
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const long double r = static_cast<long double>(b[i]);
        if (floor > 0 && std::isfinite(r) && std::fabs(r) < floor) {
            const long double d = std::fabs(static_cast<long double>(a[i]) - r);
            worst = std::max(worst, static_cast<double>(d / xact_test::ulp_of<T>(floor)));
        } else {
            worst = std::max(worst, xact_test::ulp_error<T>(a[i], r));
        }
    }
    return worst;
}

/// Equal bits, except that any NaN equals any NaN (the payload of a NaN made from a non-NaN
/// input is not specified and differs between instruction sets).
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!xact_test::same(a[i], b[i])) return false;
    return a.size() == b.size();
}

/// True when this translation unit's header-only kernels are the SSE2 ones without FMA.
constexpr bool baseline_is_sse2() {
#if XACT_HAS_FMA
    return false;
#else
    return xsimd::batch<float>::size == 4;
#endif
}

} // namespace

TEST_CASE("dispatch: the choice of instruction set", "[dispatch]") {
    using xd::detail::choose_isa;
    // No request: the best one the CPU and the build have.
    CHECK(choose_isa("", true, true, true, true) == "avx512f");
    CHECK(choose_isa("", true, false, true, true) == "avx2");
    CHECK(choose_isa("", false, false, true, true) == "sse2");
    CHECK(choose_isa("", true, true, true, false) == "avx2");
    CHECK(choose_isa("", true, true, false, false) == "sse2");
    CHECK(choose_isa("", false, true, true, true) == "sse2"); // AVX-512F without AVX2/FMA
    // A request for a lower one is honoured; one the CPU or the build lacks is an error.
    CHECK(choose_isa("sse2", true, true, true, true) == "sse2");
    CHECK(choose_isa("avx2", true, true, true, true) == "avx2");
    CHECK(choose_isa("avx512f", true, true, true, true) == "avx512f");
    const auto message = [](std::string_view req, bool a2, bool a512, bool b2, bool b512) {
        try {
            (void)choose_isa(req, a2, a512, b2, b512);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    CHECK(message("avx512f", true, false, true, true).find("not supported by this CPU") !=
          std::string::npos);
    CHECK(message("avx2", false, false, true, true).find("available: sse2") != std::string::npos);
    CHECK(message("avx512f", true, true, true, false).find("not compiled") != std::string::npos);
    CHECK(message("neon", true, true, true, true).find("not an instruction set name") !=
          std::string::npos);
    CHECK(message("AVX2", true, true, true, true).find("XACT_ISA=AVX2") != std::string::npos);
    // This machine: the list starts with the best and ends with sse2.
    const auto isas = xd::supported_isas();
    REQUIRE_FALSE(isas.empty());
    CHECK(isas.back() == "sse2");
    CHECK_THROWS_AS(xd::set_isa("bogus"), std::invalid_argument);
    // set_isa's errors name set_isa, not the environment variable.
    const auto set_message = [](std::string_view req) {
        try {
            xd::set_isa(req);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    const std::string before(xd::active_isa());
    CHECK(set_message("bogus").find("set_isa(\"bogus\") is not an instruction set name") !=
          std::string::npos);
    CHECK(set_message("").find("set_isa(\"\"): the instruction set name is empty") !=
          std::string::npos);
    CHECK(set_message("").find("XACT_ISA") == std::string::npos);
    CHECK(xd::active_isa() == before); // a refused request changes nothing
}

TEMPLATE_TEST_CASE("dispatch: every instruction set against the header-only kernels", "[dispatch]",
                   float, double) {
    using T = TestType;
    const std::size_t n = 1037;
    const std::vector<T> x = inputs<T>(n);
    std::vector<T> dy(n);
    for (std::size_t i = 0; i < n; ++i) dy[i] = static_cast<T>(0.25 + 0.01 * double(i % 53));
    const auto isas = xd::supported_isas();
    // Results per activation and instruction set, to compare the instruction sets.
    std::vector<std::vector<std::vector<T>>> fwd(isas.size()), bwd(isas.size());
    for (std::size_t s = 0; s < isas.size(); ++s) {
        xd::set_isa(isas[s]);
        REQUIRE(xd::active_isa() == isas[s]);
        for (const activation& a : every_activation()) {
            INFO(std::string(isas[s]) << " " << a.name());
            std::vector<T> y(n), yh(n), d(n), dh(n);
            xd::forward(a, x.data(), y.data(), n);
            xd::backward(a, x.data(), dy.data(), d.data(), n);
            a.forward(x.data(), yh.data(), n); // header-only, this TU's instruction set
            a.backward(x.data(), dy.data(), dh.data(), n);
            if (exact(a) || (isas[s] == "sse2" && baseline_is_sse2())) {
                CHECK(xact_test::bitwise_equal(y.data(), yh.data(), n));
                CHECK(xact_test::bitwise_equal(d.data(), dh.data(), n));
            } else { // both within the functions' bounds (<= 4 ULP) of the truth
                CHECK(max_ulp(y, yh) <= 8);
                CHECK(max_ulp(d, dh, 1) <= 8);
            }
            if (a.has_derivative_from_output()) {
                std::vector<T> g(n), gh(n);
                xd::backward_from_output(a, yh.data(), dy.data(), g.data(), n);
                a.backward_from_output(yh.data(), dy.data(), gh.data(), n);
                CHECK(max_ulp(g, gh, 1) <= 8);
            } else {
                CHECK_THROWS_AS(xd::backward_from_output(a, yh.data(), dy.data(), d.data(), n),
                                std::invalid_argument);
            }
            fwd[s].push_back(y);
            bwd[s].push_back(d);
        }
        // Softmax along both kinds of axis.
        for (const xact::extents e : {xact::extents{11, 91, 1}, xact::extents{3, 7, 47}}) {
            const std::size_t m = e.size();
            std::vector<T> y(m), yh(m), d(m), dh(m);
            for (const bool log : {false, true}) {
                if (log) {
                    xd::log_softmax(x.data(), y.data(), e);
                    xact::log_softmax(x.data(), yh.data(), e);
                    xd::log_softmax_backward(yh.data(), dy.data(), d.data(), e);
                    xact::log_softmax_backward(yh.data(), dy.data(), dh.data(), e);
                } else {
                    xd::softmax(x.data(), y.data(), e);
                    xact::softmax(x.data(), yh.data(), e);
                    xd::softmax_backward(yh.data(), dy.data(), d.data(), e);
                    xact::softmax_backward(yh.data(), dy.data(), dh.data(), e);
                }
                INFO(std::string(isas[s]) << (log ? " log_softmax" : " softmax"));
                if (isas[s] == "sse2" && baseline_is_sse2()) {
                    CHECK(xact_test::bitwise_equal(y.data(), yh.data(), m));
                    CHECK(xact_test::bitwise_equal(d.data(), dh.data(), m));
                } else {
                    CHECK(max_ulp(y, yh) <= 8);
                }
            }
        }
        // Argument errors come back from every instruction set.
        CHECK_THROWS_AS(xd::forward(activation(xact::relu{}), static_cast<const T*>(nullptr),
                                    static_cast<T*>(nullptr), 3),
                        std::invalid_argument);
        CHECK_THROWS_AS(xd::softmax(x.data(), const_cast<T*>(x.data()) + 1, xact::extents{2, 5, 1}),
                        std::invalid_argument);
    }
    // AVX2 and AVX-512F: both fused, the same bits except gelu's erf form in float (a table
    // per target width; dispatch.hpp).
    for (std::size_t s = 1; s < isas.size(); ++s) {
        if (isas[s - 1] == "sse2" || isas[s] == "sse2") continue;
        const auto acts = every_activation();
        for (std::size_t k = 0; k < acts.size(); ++k) {
            INFO(std::string(isas[s - 1])
                 << " vs " << std::string(isas[s]) << " " << acts[k].name());
            const bool table = std::is_same_v<T, float> && acts[k] == activation(xact::gelu{});
            if (table) continue;
            CHECK(same_bits(fwd[s - 1][k], fwd[s][k]));
            CHECK(same_bits(bwd[s - 1][k], bwd[s][k]));
        }
    }
}

TEST_CASE("dispatch: XACT_ISA on the first call", "[env]") {
    const char* env = std::getenv("XACT_ISA");
    if (env == nullptr) {
        WARN("XACT_ISA not set: nothing to check (CTest runs this with it set)");
        return;
    }
    const std::string want = env;
    const auto isas = xd::supported_isas();
    bool supported = false;
    for (const auto s : isas) supported = supported || s == want;
    if (supported) {
        CHECK(xd::active_isa() == want);
    } else {
        std::string message;
        try {
            (void)xd::active_isa();
        } catch (const std::invalid_argument& e) {
            message = e.what();
        }
        INFO(message);
        CHECK(message.find("XACT_ISA=" + want) != std::string::npos);
    }
}
