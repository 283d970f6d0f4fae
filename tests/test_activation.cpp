// xact::activation (xact/activation.hpp): every functor reachable by kind and by name, the
// text form round-trips, the array calls give the same bits as the direct calls, and bad text
// is rejected with a message that names the problem and lists the valid names.
#include "catch.hpp"
#include "harness.hpp"
#include "reference.hpp"
#if defined(XACT_CATCH2_MAJOR) && XACT_CATCH2_MAJOR >= 3
#include <catch2/catch_template_test_macros.hpp>
#endif

#include <xact/activation.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using xact::activation;
using xact::activation_kind;

/// Every functor of xact with non-default parameters where it has any, and the text that
/// should parse to it.
struct named_case {
    activation a;
    std::string text;
};

std::vector<named_case> all_cases() {
    return {
        {xact::identity{}, "identity"},
        {xact::relu{}, "relu"},
        {xact::relu6{}, "relu6"},
        {xact::leaky_relu{0.2}, "leaky_relu(alpha=0.2)"},
        {xact::hardtanh{-2.5, 0.5}, "hardtanh(lo=-2.5, hi=0.5)"},
        {xact::hard_sigmoid{}, "hard_sigmoid"},
        {xact::hard_swish{}, "hard_swish"},
        {xact::sigmoid{}, "sigmoid"},
        {xact::tanh{}, "tanh"},
        {xact::swish{1.5}, "swish(beta=1.5)"},
        {xact::silu{}, "silu"},
        {xact::softsign{}, "softsign"},
        {xact::elu{0.5}, "elu(alpha=0.5)"},
        {xact::selu{}, "selu"},
        {xact::celu{2.0}, "celu(alpha=2)"},
        {xact::gelu{}, "gelu"},
        {xact::gelu{true}, "gelu(approximate=tanh)"},
        {xact::softplus{3.0}, "softplus(beta=3)"},
        {xact::mish{}, "mish"},
        {xact::log_sigmoid{}, "log_sigmoid"},
    };
}

template <class T>
std::vector<T> inputs() {
    std::vector<T> x;
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(-12.0, 12.0);
    for (int i = 0; i < 203; ++i) x.push_back(static_cast<T>(u(rng)));
    const T specials[] = {T(0),
                          -T(0),
                          std::numeric_limits<T>::infinity(),
                          -std::numeric_limits<T>::infinity(),
                          std::numeric_limits<T>::quiet_NaN(),
                          std::numeric_limits<T>::denorm_min(),
                          T(-3),
                          T(3),
                          T(6),
                          T(1e30)};
    for (const T v : specials) x.push_back(v);
    return x;
}

} // namespace

TEST_CASE("activation: names, kinds and the text form", "[activation]") {
    const auto names = xact::activation_names();
    CHECK(names.size() == 20); // 18 kinds, "linear" and "silu"
    for (const auto n : names) {
        INFO(std::string(n));
        const activation a = activation::parse(n);
        CHECK(activation::parse(a.name()) == a);
    }
    for (int k = 0; k <= static_cast<int>(activation_kind::log_sigmoid); ++k) {
        const activation a{static_cast<activation_kind>(k)};
        CHECK(static_cast<int>(a.kind()) == k);
        CHECK(activation::parse(a.name()) == a);
    }
    for (const auto& c : all_cases()) {
        INFO(c.text);
        const activation p = activation::parse(c.text);
        CHECK(p == c.a);
        CHECK(p.name() == c.text);
    }
    // Spaces, positional parameters, aliases and the PyTorch spelling of gelu's flag.
    CHECK(activation::parse("  leaky_relu ( 0.25 ) ") == activation(xact::leaky_relu{0.25}));
    CHECK(activation::parse("hardtanh(-3, 3)") == activation(xact::hardtanh{-3, 3}));
    CHECK(activation::parse("hardtanh(hi=3)") == activation(xact::hardtanh{-1, 3}));
    CHECK(activation::parse("gelu(approximate=none)") == activation(xact::gelu{false}));
    CHECK(activation::parse("swish") == activation(xact::silu{}));
    CHECK(activation::parse("elu(alpha=+2)") == activation(xact::elu{2}));
    CHECK(activation::parse("relu()") == activation(xact::relu{}));
    CHECK(activation::parse("linear") == activation(xact::identity{})); // spec.md §1
    CHECK(activation::parse(" linear ( ) ").name() == "identity");
    CHECK(activation::parse("leaky_relu(alpha=4.9406564584124654e-324)") ==
          activation(xact::leaky_relu{4.9406564584124654e-324})); // subnormal: in range
    // Defaults are left out of the name; other values print in the fewest digits that
    // round-trip, also for awkward doubles.
    CHECK(activation(xact::leaky_relu{}).name() == "leaky_relu");
    CHECK(activation(xact::leaky_relu{-0.0}).name() == "leaky_relu(alpha=-0)");
    // -0 and +0 give different results (f(-1) = -0 and +0), so they are different activations.
    CHECK(activation::parse("leaky_relu(alpha=-0)") == activation(xact::leaky_relu{-0.0}));
    CHECK(activation::parse("leaky_relu(alpha=-0)") != activation::parse("leaky_relu(alpha=0)"));
    CHECK(activation(xact::hardtanh{-0.0, 1}) != activation(xact::hardtanh{0.0, 1}));
    std::mt19937_64 rng(7);
    for (int i = 0; i < 2000; ++i) {
        std::uint64_t bits = rng();
        double v;
        std::memcpy(&v, &bits, sizeof v);
        if (!std::isfinite(v) || v == 0) continue;
        const activation a = xact::leaky_relu{v};
        const activation b = activation::parse(a.name());
        CHECK(b == a);
        const activation c = xact::softplus{std::fabs(v)};
        CHECK(activation::parse(c.name()) == c);
    }
    // Which functions have a derivative from the output.
    CHECK(activation(xact::sigmoid{}).has_derivative_from_output());
    CHECK(activation(xact::elu{}).has_derivative_from_output());
    CHECK_FALSE(activation(xact::gelu{}).has_derivative_from_output());
    CHECK_FALSE(activation(xact::hard_swish{}).has_derivative_from_output());
}

namespace {
/// The message of the std::invalid_argument that parse(text) throws ("" if none).
std::string e_what(const std::string& text) {
    try {
        (void)activation::parse(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}
} // namespace

TEST_CASE("activation: bad text and bad parameters", "[activation]") {
    const auto expect = [](const std::string& text, const std::string& problem) {
        std::string message;
        try {
            (void)activation::parse(text);
        } catch (const std::invalid_argument& e) {
            message = e.what();
        }
        INFO("text \"" << text << "\": \"" << message << "\"");
        CHECK(message.find(problem) != std::string::npos);
        CHECK(message.find("valid names: identity, linear, relu") != std::string::npos);
    };
    expect("foo", "unknown activation 'foo'");
    expect("", "missing activation name");
    expect("(alpha=1)", "missing activation name");
    // Names are lower case; the message says so where the lower-case name exists.
    expect("Relu", "unknown activation 'Relu' (names are lower case: 'relu')");
    expect("SiLU", "unknown activation 'SiLU' (names are lower case: 'silu')");
    expect("LINEAR", "(names are lower case: 'linear')");
    expect("leaky-relu(0.1)", "unknown activation 'leaky-relu'");
    CHECK(std::string(e_what("Reluu")).find("lower case") == std::string::npos);
    // Numbers beyond double's range are named as such, not as malformed.
    expect("leaky_relu(alpha=1e-400)", "'1e-400' for 'alpha' is too small for a double");
    expect("leaky_relu(alpha=0.0001e-330)", "is too small for a double");
    expect("elu(alpha=1e400)", "'1e400' for 'alpha' overflows a double");
    expect("elu(alpha=-2e308)", "overflows a double");
    // The digits count as well as the exponent.
    expect("elu(0." + std::string(400, '0') + "1e5)", "is too small for a double");
    expect("elu(1" + std::string(400, '0') + "e-10)", "overflows a double");
    expect("elu(" + std::string(400, '9') + ")", "overflows a double");
    expect("relu(1)", "too many parameters");
    expect("leaky_relu(0.1, 0.2)", "too many parameters");
    expect("leaky_relu(beta=1)", "unknown parameter 'beta'");
    expect("silu(beta=2)", "unknown parameter 'beta'");
    expect("leaky_relu(alpha=0.1, alpha=0.2)", "given twice");
    expect("leaky_relu(alpha=)", "malformed number");
    expect("leaky_relu(alpha=0.1x)", "malformed number");
    expect("leaky_relu(alpha=nan)", "must be finite");
    expect("elu(alpha=inf)", "must be finite");
    expect("leaky_relu(,)", "empty parameter");
    expect("relu(", "expected '('");
    expect("relu)", "expected '('");
    expect("gelu(approximate=fast)", "approximate must be none or tanh");
    expect("celu(alpha=0)", "out of range");
    expect("softplus(beta=0)", "out of range");
    expect("hardtanh(lo=2, hi=1)", "out of range");
    // The functor constructors apply the same checks.
    CHECK_THROWS_AS(activation(xact::celu{0.0}), std::invalid_argument);
    CHECK_THROWS_AS(activation(xact::hardtanh{1, -1}), std::invalid_argument);
    CHECK_THROWS_AS(activation(xact::swish{std::numeric_limits<double>::infinity()}),
                    std::invalid_argument);
}

TEMPLATE_TEST_CASE("activation: array calls equal the direct calls bitwise", "[activation]", float,
                   double) {
    using T = TestType;
    const std::vector<T> x = inputs<T>();
    const std::size_t n = x.size();
    std::vector<T> dy(n);
    for (std::size_t i = 0; i < n; ++i) dy[i] = static_cast<T>(0.5 + 0.01 * double(i % 37));
    for (const auto& c : all_cases()) {
        INFO(c.text);
        std::vector<T> y1(n), y2(n), d1(n), d2(n);
        c.a.forward(x.data(), y1.data(), n);
        c.a.visit([&](const auto& f) { xact::forward(f, x.data(), y2.data(), n); });
        CHECK(xact_test::bitwise_equal(y1.data(), y2.data(), n));
        c.a.backward(x.data(), dy.data(), d1.data(), n);
        c.a.visit([&](const auto& f) { xact::backward(f, x.data(), dy.data(), d2.data(), n); });
        CHECK(xact_test::bitwise_equal(d1.data(), d2.data(), n));
        // Range forms.
        std::vector<T> y3(n), d3(n);
        c.a.forward(x, y3);
        c.a.backward(x, dy, d3);
        CHECK(xact_test::bitwise_equal(y3.data(), y1.data(), n));
        CHECK(xact_test::bitwise_equal(d3.data(), d1.data(), n));
        if (c.a.has_derivative_from_output()) {
            c.a.backward_from_output(y1.data(), dy.data(), d1.data(), n);
            c.a.visit([&](const auto& f) {
                using F = std::decay_t<decltype(f)>;
                if constexpr (xact::detail::has_derivative_from_output<F, T>::value)
                    xact::backward_from_output(f, y1.data(), dy.data(), d2.data(), n);
            });
            CHECK(xact_test::bitwise_equal(d1.data(), d2.data(), n));
        } else {
            CHECK_THROWS_AS(c.a.backward_from_output(y1.data(), dy.data(), d1.data(), n),
                            std::invalid_argument);
        }
    }
    // Argument errors reach the caller as from the direct calls.
    const activation a = xact::relu{};
    CHECK_THROWS_AS(a.forward(static_cast<const T*>(nullptr), static_cast<T*>(nullptr), 3),
                    std::invalid_argument);
    std::vector<T> shorter(n - 1);
    CHECK_THROWS_AS(a.forward(x, shorter), std::invalid_argument);
}
