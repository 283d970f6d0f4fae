// Thread safety (spec.md §4: no heap allocation, no locks, safe to call from many threads on
// disjoint data). Four std::threads run every array call of xact at the same time (the
// catalogue of tests/guard.hpp: each activation forward / backward / backward_from_output,
// in place and range forms, xact::activation's calls, softmax / log_softmax and their
// backward passes along the last and a middle axis, PReLU, every loss), each thread on its own
// copies of the inputs and its own outputs, four times over and each thread in a different
// order; every result must have the bits computed beforehand on one thread. The
// xact::parallel overloads take part too: the callers then contend for xact's pool (a call
// that finds it busy runs serially, with the same bits). activation::parse, name() and
// activation_names() run concurrently on shared strings. This file is also built into the
// ThreadSanitizer program, where a data race fails the run; sizes are kept small for it.
#include "catch.hpp"
#include "guard.hpp"
#include "harness.hpp"
#include "reference.hpp"

#include <xact/xact.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using xact_test::kernel;
using xact_test::kernel_inputs;
using xact_test::kernel_result;

constexpr std::size_t thread_count = 4;
constexpr int repeats = 4;

/// Shapes per kernel: small ones; the parallel overloads get arrays that they split (chunks
/// of 64 elements; rows).
template <class T>
std::vector<xact::extents> shapes_of(const kernel<T>& k) {
    if (k.parallel)
        return k.along_axis ? std::vector<xact::extents>{{40, 8, 1}, {2, 5, 48}}
                            : std::vector<xact::extents>{{1, 1000, 1}};
    return k.along_axis ? std::vector<xact::extents>{{3, 17, 1}, {2, 5, 7}, {4, 33, 1}}
                        : std::vector<xact::extents>{{1, 257, 1}};
}

template <class T>
kernel_inputs<T> make_inputs(std::size_t n) {
    using L = std::numeric_limits<T>;
    std::mt19937_64 rng(77);
    std::uniform_real_distribution<double> u(-9.0, 9.0);
    kernel_inputs<T> in;
    for (std::size_t i = 0; i < n; ++i) {
        const T special[] = {L::quiet_NaN(), L::infinity(), -L::infinity(), L::denorm_min(),
                             T(-0.0)};
        in.x.push_back(i % 23 == 5 ? special[(i / 23) % 5] : static_cast<T>(u(rng)));
        in.t.push_back(static_cast<T>(u(rng)) / T(9));
        in.g.push_back(static_cast<T>(u(rng)));
        in.alpha.push_back(static_cast<T>(0.125) * static_cast<T>(static_cast<int>(i % 7) - 2));
    }
    return in;
}

template <class T>
bool identical(const kernel_result<T>& a, const kernel_result<T>& b) {
    return a.out.size() == b.out.size() && a.out2.size() == b.out2.size() &&
           xact_test::bitwise_equal(a.out.data(), b.out.data(), a.out.size()) &&
           xact_test::bitwise_equal(a.out2.data(), b.out2.data(), a.out2.size());
}

template <class T>
void every_kernel_concurrently() {
    const std::vector<kernel<T>> ks = xact_test::catalogue<T>(true);
    const kernel_inputs<T> in = make_inputs<T>(1000);
    // The results of one thread, first.
    std::vector<std::vector<kernel_result<T>>> want(ks.size());
    for (std::size_t i = 0; i < ks.size(); ++i)
        for (const xact::extents& e : shapes_of(ks[i]))
            want[i].push_back(xact_test::run_kernel(ks[i], e, in, T(0)));

    // Each thread: its own copy of the inputs, its own outputs (run_kernel copies the inputs
    // into fresh buffers for every call); problems are collected, not asserted (Catch2's
    // assertions are not thread-safe).
    std::vector<std::vector<std::string>> problems(thread_count);
    std::vector<std::thread> threads;
    for (std::size_t th = 0; th < thread_count; ++th) {
        threads.emplace_back([&, th] {
            const kernel_inputs<T> mine = in;
            try {
                for (int rep = 0; rep < repeats; ++rep) {
                    for (std::size_t j = 0; j < ks.size(); ++j) {
                        // A different kernel order per thread and per repetition.
                        const std::size_t i = (j + (th * 4 + std::size_t(rep)) * ks.size() /
                                                       (thread_count * repeats + 1)) %
                                              ks.size();
                        const std::vector<xact::extents> shapes = shapes_of(ks[i]);
                        for (std::size_t s = 0; s < shapes.size(); ++s) {
                            const kernel_result<T> got =
                                xact_test::run_kernel(ks[i], shapes[s], mine, T(0));
                            if (!identical(got, want[i][s]) && problems[th].size() < 10)
                                problems[th].push_back(ks[i].name + ", shape " + std::to_string(s) +
                                                       ", repetition " + std::to_string(rep));
                        }
                    }
                }
            } catch (const std::exception& ex) {
                problems[th].push_back(std::string("exception: ") + ex.what());
            }
        });
    }
    for (auto& t : threads) t.join();
    std::size_t count = 0;
    for (std::size_t th = 0; th < thread_count; ++th)
        for (const std::string& p : problems[th]) {
            ++count;
            FAIL_CHECK("thread " << th << ": " << p << " differs from the single-threaded result");
        }
    CHECK(count == 0);
}

} // namespace

TEMPLATE_TEST_CASE("concurrent: every kernel on four threads gives the single-threaded bits",
                   "[concurrent]", float, double) {
    every_kernel_concurrently<TestType>();
}

TEST_CASE("concurrent: activation::parse, name() and activation_names() on shared strings",
          "[concurrent]") {
    const std::vector<std::string> texts = {"relu",
                                            "leaky_relu(alpha=0.2)",
                                            "leaky_relu(0.2)",
                                            "hardtanh(lo=-2, hi=2)",
                                            "swish(beta=1.5)",
                                            "silu",
                                            "gelu(approximate=tanh)",
                                            "softplus(beta=2)",
                                            "celu(alpha=0.5)",
                                            "elu",
                                            "mish",
                                            "log_sigmoid",
                                            "relu6",
                                            "hard_swish",
                                            "selu",
                                            "softsign",
                                            "nope",
                                            "relu(",
                                            "celu(alpha=0)",
                                            "leaky_relu(alpha=1, alpha=2)",
                                            "hardtanh(lo=2, hi=-2)",
                                            "softplus(beta=-1)",
                                            "gelu(approximate=maybe)",
                                            ""};
    // Expected: the printed name, or "!" for text that must throw std::invalid_argument.
    std::vector<std::string> expected;
    for (const std::string& t : texts) {
        try {
            expected.push_back(xact::activation::parse(t).name());
        } catch (const std::invalid_argument&) {
            expected.push_back("!");
        }
    }
    const std::vector<std::string_view> names = xact::activation_names();
    REQUIRE(expected.front() == "relu");
    REQUIRE(expected.back() == "!");

    std::vector<std::vector<std::string>> problems(thread_count);
    std::vector<std::thread> threads;
    for (std::size_t th = 0; th < thread_count; ++th) {
        threads.emplace_back([&, th] {
            for (int rep = 0; rep < 40; ++rep) {
                for (std::size_t j = 0; j < texts.size(); ++j) {
                    const std::size_t i = (j + th * 5) % texts.size();
                    std::string got;
                    try {
                        const xact::activation a = xact::activation::parse(texts[i]);
                        got = a.name();
                        if (!(xact::activation::parse(got) == a)) got += " (no round trip)";
                    } catch (const std::invalid_argument&) {
                        got = "!";
                    } catch (const std::exception& ex) {
                        got = std::string("unexpected exception: ") + ex.what();
                    }
                    if (got != expected[i] && problems[th].size() < 10)
                        problems[th].push_back("\"" + texts[i] + "\" gave " + got + ", expected " +
                                               expected[i]);
                }
                if (xact::activation_names() != names && problems[th].size() < 10)
                    problems[th].push_back("activation_names() changed");
            }
        });
    }
    for (auto& t : threads) t.join();
    std::size_t count = 0;
    for (std::size_t th = 0; th < thread_count; ++th)
        for (const std::string& p : problems[th]) {
            ++count;
            FAIL_CHECK("thread " << th << ": " << p);
        }
    CHECK(count == 0);
}
