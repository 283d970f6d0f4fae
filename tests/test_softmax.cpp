// Softmax and log-softmax along an axis (xact/softmax.hpp), forward and backward, against
// independent references (spec.md §2, §3): long double for float, __float128 for double.
//
// References. For a row x: m = max x, every e^(x_j - m) and their sum in the wide type R;
// softmax = e^(x_i - m) / s; log_softmax = (x_i - m) - log1p(t) with t the sum of the terms
// other than one instance of the max (so that log s keeps its relative accuracy when s is
// 1 + tiny, as for log_softmax([0, -20])). Backward from the given y (T values, exact in R):
// softmax dx_i = y_i (dy_i - sum_j y_j dy_j), log_softmax dx_i = dy_i - e^(y_i) sum_j dy_j.
//
// Bounds: 4 ULP per element (spec.md §3). The backward results cancel where dy_i is close to
// the dot product (or the sum term); there the error is measured in ULP of
// max(|r|, scale_i) with scale_i the size of the terms: |y_i| (|dy_i| + sum_j |y_j dy_j|),
// resp. |dy_i| + e^(y_i) sum_j |dy_j|.
#include "catch.hpp"
#include "harness.hpp"
#include "reference.hpp"
#include "wide.hpp"
#if defined(XACT_CATCH2_MAJOR) && XACT_CATCH2_MAJOR >= 3
#include <catch2/catch_template_test_macros.hpp>
#endif

#include <xact/softmax.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace xact_test::wide;
using xact::extents;
using xact_test::bits;
using xact_test::expect_invalid;
using xact_test::guarded;
using xact_test::offset_buffer;
using xact_test::same;
using xact_test::ulp_error;

constexpr double bound = 4.0;

/// Index of element c of row (o, j): the memory layout of extents{outer, axis, inner}.
inline std::size_t at(const extents& e, std::size_t o, std::size_t c, std::size_t j) {
    return (o * e.axis + c) * e.inner + j;
}

/// Reference softmax (log = false) or log_softmax of row (o, j) of x, into r (wide values).
template <class T>
void ref_row(const T* x, const extents& e, std::size_t o, std::size_t j, bool log,
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
    const R qnan = static_cast<R>(std::numeric_limits<double>::quiet_NaN());
    if (nan || m == -inf) { // NaN row, or every entry -inf: undefined (NaN)
        for (auto& v : r) v = qnan;
        return;
    }
    if (k > 0) { // the limit: mass 1/k on each +inf entry
        for (std::size_t c = 0; c < n; ++c) {
            const bool on = static_cast<R>(x[at(e, o, c, j)]) == inf;
            r[c] = log ? (on ? -rm::log(static_cast<R>(k)) : -inf) : (on ? R(1) / R(k) : R(0));
        }
        return;
    }
    R t = 0; // the sum without one instance of the max: s = 1 + t
    for (std::size_t c = 0; c < n; ++c)
        if (c != arg) t += rm::exp(static_cast<R>(x[at(e, o, c, j)]) - m);
    const R s = R(1) + t, ls = rm::log1p(t);
    for (std::size_t c = 0; c < n; ++c) {
        const R d = static_cast<R>(x[at(e, o, c, j)]) - m;
        r[c] = log ? d - ls : rm::exp(d) / s;
    }
}

/// Max error (ULP) of y against the reference over every row; the worst position in `where`.
template <class T>
double max_error(const T* x, const T* y, const extents& e, bool log, std::string& where) {
    std::vector<ref_t<T>> r;
    double worst = 0;
    for (std::size_t o = 0; o < e.outer; ++o)
        for (std::size_t j = 0; j < e.inner; ++j) {
            ref_row(x, e, o, j, log, r);
            for (std::size_t c = 0; c < e.axis; ++c) {
                const std::size_t i = at(e, o, c, j);
                const double err = ulp_error<T>(y[i], static_cast<long double>(r[c]));
                if (err > worst) {
                    worst = err;
                    where = "row (" + std::to_string(o) + ", " + std::to_string(j) + ") element " +
                            std::to_string(c) + ": x = " + std::to_string(double(x[i])) +
                            " y = " + std::to_string(double(y[i])) +
                            " ref = " + std::to_string(double(r[c]));
                }
            }
        }
    return worst;
}

/// Input families for the accuracy runs.
enum class family { uniform10, uniform100, spread, ascending, near_ties, huge, with_neg_inf };

template <class T>
std::vector<T> make_input(std::size_t n, family f, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<T> x(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double a = u(rng);
        switch (f) {
        case family::uniform10:
            x[i] = static_cast<T>(10 * a);
            break;
        case family::uniform100:
            x[i] = static_cast<T>(100 * a);
            break;
        case family::spread: // magnitudes from 1e-8 to 1e2: x - m rounds unless carried exactly
            x[i] = static_cast<T>(std::copysign(std::pow(10.0, 10 * std::fabs(a) - 8), a));
            break;
        case family::ascending: // the max rises all along the row (the online rescaling)
            x[i] = static_cast<T>(-30.0 + 60.0 * double(i) / double(n) + 1e-3 * a);
            break;
        case family::near_ties:
            x[i] = static_cast<T>(1.0 + 1e-6 * a);
            break;
        case family::huge:
            x[i] = static_cast<T>(1e30 * a);
            break;
        case family::with_neg_inf:
            x[i] = (rng() % 4 == 0) ? -std::numeric_limits<T>::infinity() : static_cast<T>(20 * a);
            break;
        }
    }
    return x;
}

constexpr family all_families[] = {family::uniform10,   family::uniform100, family::spread,
                                   family::ascending,   family::near_ties,  family::huge,
                                   family::with_neg_inf};

template <class T>
void check_accuracy(const extents& e, std::uint64_t seed) {
    const std::size_t n = e.outer * e.axis * e.inner;
    for (const family f : all_families) {
        const std::vector<T> x = make_input<T>(n, f, seed + static_cast<std::uint64_t>(f));
        for (const bool log : {false, true}) {
            guarded<T> y(n, 1);
            if (log) {
                xact::log_softmax(x.data(), y.data(), e);
            } else {
                xact::softmax(x.data(), y.data(), e);
            }
            CHECK(y.guards_intact());
            std::string where;
            const double err = max_error(x.data(), y.data(), e, log, where);
            INFO((log ? "log_softmax" : "softmax")
                 << " extents {" << e.outer << ", " << e.axis << ", " << e.inner << "} family "
                 << static_cast<int>(f) << ": " << err << " ULP at " << where);
            CHECK(err <= bound);
        }
    }
}

} // namespace

TEMPLATE_TEST_CASE("softmax and log_softmax: accuracy over shapes and input families", "[softmax]",
                   float, double) {
    using T = TestType;
    if (!has_accurate_ref<T>()) {
        WARN("no __float128 reference: double accuracy checks skipped");
        return;
    }
    std::uint64_t seed = 1;
    for (std::size_t axis = 1; axis <= 70; ++axis) check_accuracy<T>(extents{2, axis, 1}, seed++);
    for (const std::size_t axis : {1000u, 1025u, 4097u})
        check_accuracy<T>(extents{2, axis, 1}, seed++);
    for (const std::size_t inner : {3u, 64u, 67u}) {
        check_accuracy<T>(extents{2, 5, inner}, seed++);
        check_accuracy<T>(extents{1, 37, inner}, seed++);
    }
    check_accuracy<T>(extents{2, 21, 7}, seed++);
}

TEMPLATE_TEST_CASE("softmax and log_softmax: long rows (70000)", "[softmax]", float, double) {
    using T = TestType;
    if (!has_accurate_ref<T>()) return;
    check_accuracy<T>(extents{1, 70000, 1}, 99);
    check_accuracy<T>(extents{1, 3000, 3}, 98);
}

TEMPLATE_TEST_CASE("log_softmax keeps tiny values", "[softmax]", float, double) {
    using T = TestType;
    const T x[2] = {T(0), T(-20)};
    T y[2];
    xact::log_softmax(x, y, extents{1, 2});
    // -log1p(e^-20) = -2.0611536181902037e-9 (independent long double value)
    const long double r = -log1pl(expl(-20.0L));
    CHECK(ulp_error<T>(y[0], r) <= bound);
    CHECK(y[0] < 0);
    CHECK(ulp_error<T>(y[1], -20.0L + r) <= bound);
    // The same along a strided axis.
    const T xs[6] = {T(0), T(-20), T(5), T(-20), T(0), T(5)}; // rows (0,-20), (-20,0), (5,5)
    T ys[6];
    xact::log_softmax(xs, ys, extents{1, 2, 3});
    CHECK(ulp_error<T>(ys[0], r) <= bound);
    CHECK(ulp_error<T>(ys[4], r) <= bound);
    CHECK(ulp_error<T>(ys[2], -logl(2.0L)) <= bound);
    // softmax of the same row: e^-20 / (1 + e^-20), a value far below 1 - ulp.
    xact::softmax(x, y, extents{1, 2});
    CHECK(ulp_error<T>(y[1], expl(-20.0L) / (1 + expl(-20.0L))) <= bound);
}

TEMPLATE_TEST_CASE("softmax: special values per row", "[softmax]", float, double) {
    using T = TestType;
    const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
    // Rows are checked both contiguous (inner = 1) and as one lane of a strided layout.
    struct row_case {
        std::vector<T> x, soft, logsoft; // expected (exact values)
    };
    const T ln2 = static_cast<T>(logl(2.0L));
    const std::vector<row_case> cases = {
        {{T(1), inf, T(-3), inf}, {0, T(0.5), 0, T(0.5)}, {-inf, -ln2, -inf, -ln2}},
        {{T(1), inf, T(1e30)}, {0, 1, 0}, {-inf, 0, -inf}},
        {{-inf, T(2), -inf}, {0, 1, 0}, {-inf, 0, -inf}},
        {{-inf, -inf}, {nan, nan}, {nan, nan}},
        {{T(1), nan, T(2)}, {nan, nan, nan}, {nan, nan, nan}},
        {{nan, inf}, {nan, nan}, {nan, nan}},
        {{T(-1e30), T(1e30)}, {0, 1}, {T(-2e30), 0}},
        {{std::numeric_limits<T>::max(), -std::numeric_limits<T>::max()}, {1, 0}, {0, -inf}},
        {{T(7)}, {1}, {0}},
    };
    for (const auto& rc : cases) {
        const std::size_t n = rc.x.size();
        for (const std::size_t width : {std::size_t(1), std::size_t(3), std::size_t(11)}) {
            // Lane `width / 2` of a strided layout holds the case; the others hold zeros.
            const extents e{1, n, width};
            std::vector<T> x(n * width, T(0)), y(n * width), yl(n * width);
            for (std::size_t c = 0; c < n; ++c) x[c * width + width / 2] = rc.x[c];
            xact::softmax(x.data(), y.data(), e);
            xact::log_softmax(x.data(), yl.data(), e);
            for (std::size_t c = 0; c < n; ++c) {
                INFO("row case of " << n << " width " << width << " element " << c);
                CHECK(same(y[c * width + width / 2], rc.soft[c]));
                CHECK(same(yl[c * width + width / 2], rc.logsoft[c]));
                if (width > 1) CHECK(same(y[c * width], T(1) / T(n))); // neighbours unaffected
            }
        }
    }
    // Results below the normal range are kept: softmax([0, -100]) = e^-100 (3.7e-44 as float:
    // subnormal) and [0, -745] for double.
    const T far = std::is_same_v<T, float> ? T(-100) : T(-740);
    const T x2[2] = {T(0), far};
    T y2[2];
    xact::softmax(x2, y2, extents{1, 2});
    CHECK(y2[1] > 0);
    CHECK(ulp_error<T>(y2[1], expl(static_cast<long double>(far))) <= bound);
}

TEMPLATE_TEST_CASE("log_softmax: leading blocks of -inf", "[softmax]", float, double) {
    // log_softmax reads a contiguous row in blocks of 4 KiB; blocks of only -inf before the
    // first finite entry must add nothing (not -inf - -inf = NaN). Rows: k -inf then finite
    // values; the same with a NaN among the -inf (whole row NaN); all -inf (NaN).
    using T = TestType;
    const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
    const std::size_t block = 4096 / sizeof(T);
    for (const std::size_t k : {block - 1, block, block + 1, 2 * block, 3 * block + 5}) {
        for (const std::size_t tail : {std::size_t(0), std::size_t(1), std::size_t(7)}) {
            const std::size_t n = k + tail;
            std::vector<T> x(n, -inf), y(n), ys(n);
            for (std::size_t i = k; i < n; ++i) x[i] = T(0.5) * T(i - k);
            xact::log_softmax(x.data(), y.data(), extents{1, n});
            xact::softmax(x.data(), ys.data(), extents{1, n});
            std::vector<ref_t<T>> r;
            ref_row(x.data(), extents{1, n}, 0, 0, true, r);
            for (std::size_t i = 0; i < n; ++i) {
                INFO("k " << k << " tail " << tail << " element " << i);
                if (tail == 0) { // all -inf: NaN
                    CHECK(std::isnan(y[i]));
                    CHECK(std::isnan(ys[i]));
                } else if (i < k) {
                    CHECK(y[i] == -inf);
                    CHECK(ys[i] == T(0));
                } else {
                    CHECK(ulp_error<T>(y[i], static_cast<long double>(r[i])) <= bound);
                }
            }
            if (tail > 0) { // a NaN among the leading -inf: the whole row is NaN
                x[k / 2] = nan;
                xact::log_softmax(x.data(), y.data(), extents{1, n});
                for (std::size_t i = 0; i < n; ++i) CHECK(std::isnan(y[i]));
            }
        }
    }
}

TEMPLATE_TEST_CASE("softmax: in place, misaligned, row independence, empty", "[softmax]", float,
                   double) {
    using T = TestType;
    const extents shapes[] = {{3, 29, 1}, {2, 13, 5}, {1, 70, 1}, {4, 3, 17}};
    for (const extents& e : shapes) {
        const std::size_t n = e.size();
        const std::vector<T> x = make_input<T>(n, family::uniform10, 7 + n);
        for (const bool log : {false, true}) {
            const auto run = [log](const T* in, T* out, const extents& ex) {
                if (log) {
                    xact::log_softmax(in, out, ex);
                } else {
                    xact::softmax(in, out, ex);
                }
            };
            std::vector<T> ref(n);
            run(x.data(), ref.data(), e);
            for (std::size_t off = 0; off < 4; ++off) { // any alignment: same bits
                offset_buffer<T> in(n, off);
                std::copy(x.begin(), x.end(), in.data());
                guarded<T> out(n, (off + 1) % 4);
                run(in.data(), out.data(), e);
                CHECK(out.guards_intact());
                CHECK(xact_test::bitwise_equal(out.data(), ref.data(), n));
                run(in.data(), in.data(), e); // in place
                CHECK(xact_test::bitwise_equal(in.data(), ref.data(), n));
            }
            // Each row alone gives the same bits as within the whole array.
            for (std::size_t o = 0; o < e.outer; ++o) {
                const extents one{1, e.axis, e.inner};
                std::vector<T> alone(one.size());
                const std::size_t base = o * e.axis * e.inner;
                run(x.data() + base, alone.data(), one);
                CHECK(xact_test::bitwise_equal(alone.data(), ref.data() + base, alone.size()));
            }
        }
    }
    // An empty axis (or outer/inner 0) writes nothing; null pointers are fine then.
    for (const extents& e : {extents{3, 0, 1}, extents{0, 5, 1}, extents{2, 4, 0}}) {
        guarded<T> y(4, 0);
        const T x[4] = {1, 2, 3, 4};
        xact::softmax(x, y.data(), e);
        xact::log_softmax(x, y.data(), e);
        xact::softmax_backward(x, x, y.data(), e);
        xact::log_softmax_backward(x, x, y.data(), e);
        CHECK(y.untouched());
        xact::softmax(static_cast<const T*>(nullptr), static_cast<T*>(nullptr), e);
    }
}

namespace {

/// Reference backward of row (o, j) into r; scale receives the size of the terms of each dx_i.
template <class T>
void ref_backward_row(const T* y, const T* dy, const extents& e, std::size_t o, std::size_t j,
                      bool log, std::vector<ref_t<T>>& r, std::vector<ref_t<T>>& scale) {
    using R = ref_t<T>;
    const std::size_t n = e.axis;
    r.assign(n, R(0));
    scale.assign(n, R(0));
    R s = 0, s_abs = 0;
    for (std::size_t c = 0; c < n; ++c) {
        const std::size_t i = at(e, o, c, j);
        const R term = log ? static_cast<R>(dy[i]) : static_cast<R>(y[i]) * static_cast<R>(dy[i]);
        s += term;
        s_abs += rm::fabs(term);
    }
    for (std::size_t c = 0; c < n; ++c) {
        const std::size_t i = at(e, o, c, j);
        const R v = static_cast<R>(y[i]), g = static_cast<R>(dy[i]);
        if (log) {
            r[c] = g - rm::exp(v) * s;
            scale[c] = rm::fabs(g) + rm::exp(v) * s_abs;
        } else {
            r[c] = v * (g - s);
            scale[c] = rm::fabs(v) * (rm::fabs(g) + s_abs);
        }
    }
}

/// log_softmax_backward (log) or softmax_backward.
template <class T>
void call_backward(bool log, const T* y, const T* dy, T* dx, const extents& e) {
    if (log) {
        xact::log_softmax_backward(y, dy, dx, e);
    } else {
        xact::softmax_backward(y, dy, dx, e);
    }
}

template <class T>
void check_backward(const extents& e, std::uint64_t seed, bool log) {
    const std::size_t n = e.size();
    std::vector<T> x = make_input<T>(n, family::uniform10, seed), y(n), dy(n);
    std::mt19937_64 rng(seed * 7 + 1);
    std::uniform_real_distribution<double> u(-2.0, 2.0);
    for (auto& g : dy) g = static_cast<T>(u(rng));
    if (log) {
        xact::log_softmax(x.data(), y.data(), e);
    } else {
        xact::softmax(x.data(), y.data(), e);
    }
    guarded<T> dx(n, 3);
    call_backward(log, y.data(), dy.data(), dx.data(), e);
    CHECK(dx.guards_intact());
    std::vector<ref_t<T>> r, scale;
    double worst = 0;
    for (std::size_t o = 0; o < e.outer; ++o)
        for (std::size_t j = 0; j < e.inner; ++j) {
            ref_backward_row(y.data(), dy.data(), e, o, j, log, r, scale);
            for (std::size_t c = 0; c < e.axis; ++c) {
                const long double ref = static_cast<long double>(r[c]);
                const long double sc = static_cast<long double>(scale[c]);
                const long double size = std::max(std::fabs(ref), sc);
                const double err = static_cast<double>(
                    std::fabs(static_cast<long double>(dx[at(e, o, c, j)]) - ref) /
                    xact_test::ulp_of<T>(size));
                worst = std::max(worst, err);
            }
        }
    INFO((log ? "log_softmax_backward" : "softmax_backward")
         << " extents {" << e.outer << ", " << e.axis << ", " << e.inner << "}: " << worst
         << " ULP");
    CHECK(worst <= bound);
    // In place: dx == dy and dx == y give the same bits.
    std::vector<T> a = dy, b = y;
    if (log) {
        xact::log_softmax_backward(y.data(), a.data(), a.data(), e);
        xact::log_softmax_backward(b.data(), dy.data(), b.data(), e);
    } else {
        xact::softmax_backward(y.data(), a.data(), a.data(), e);
        xact::softmax_backward(b.data(), dy.data(), b.data(), e);
    }
    CHECK(xact_test::bitwise_equal(a.data(), dx.data(), n));
    CHECK(xact_test::bitwise_equal(b.data(), dx.data(), n));
}

} // namespace

TEMPLATE_TEST_CASE("softmax_backward and log_softmax_backward: accuracy", "[softmax]", float,
                   double) {
    using T = TestType;
    if (!has_accurate_ref<T>()) return;
    std::uint64_t seed = 100;
    for (const bool log : {false, true}) {
        for (std::size_t axis = 1; axis <= 40; ++axis)
            check_backward<T>(extents{2, axis, 1}, seed++, log);
        for (const extents& e : {extents{2, 1000, 1}, extents{1, 70000, 1}, extents{2, 5, 3},
                                 extents{2, 21, 64}, extents{1, 300, 67}})
            check_backward<T>(e, seed++, log);
    }
}

TEST_CASE("softmax, float: long rows of equal terms keep their sum accurate", "[softmax]") {
    // x = [0, c, c, ..., c]. A float TwoSum's low part, itself summed without compensation,
    // drifted over such rows: 7.1 ULP at 2^20 terms of e^-15.5 and 6.0 ULP along a strided
    // axis of 32768 terms of e^-12. The reference sum 1 + (n - 1) e^c is exact in long double
    // to far below a float ULP.
    struct row_case {
        std::size_t n, inner;
        float c;
    };
    for (const row_case rc : {row_case{std::size_t(1) << 20, 1, -15.5f},
                              row_case{32768, 16, -12.0f}, row_case{100000, 1, -3.0f}}) {
        const extents e{1, rc.n, rc.inner};
        std::vector<float> x(rc.n * rc.inner, rc.c), y(x.size()), z(x.size());
        for (std::size_t j = 0; j < rc.inner; ++j) x[j] = 0.0f;
        xact::softmax(x.data(), y.data(), e);
        xact::log_softmax(x.data(), z.data(), e);
        const long double ec = std::exp(static_cast<long double>(rc.c));
        const long double s = 1.0L + static_cast<long double>(rc.n - 1) * ec;
        const long double ls = std::log(s);
        double worst = 0, worst_log = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            const bool top = i < rc.inner;
            worst = std::max(worst, ulp_error<float>(y[i], (top ? 1.0L : ec) / s));
            worst_log =
                std::max(worst_log, ulp_error<float>(z[i], static_cast<long double>(x[i]) - ls));
        }
        INFO("n = " << rc.n << ", inner = " << rc.inner << ", c = " << rc.c << ": softmax " << worst
                    << " ULP, log_softmax " << worst_log << " ULP");
        CHECK(worst <= 1.0);
        CHECK(worst_log <= 1.0);
    }
}

TEMPLATE_TEST_CASE("softmax_backward: the result of a uniform gradient is zero", "[softmax]", float,
                   double) {
    // dy = const: <dy, y> = const * sum y; dx = y (c - c sum y) is tiny (sum y = 1 within a few
    // ULP), bounded by the terms' size, never larger.
    using T = TestType;
    const extents e{1, 100, 1};
    std::vector<T> x = make_input<T>(100, family::uniform10, 5), y(100), dy(100, T(3)), dx(100);
    xact::softmax(x.data(), y.data(), e);
    xact::softmax_backward(y.data(), dy.data(), dx.data(), e);
    for (std::size_t i = 0; i < 100; ++i)
        CHECK(std::fabs(dx[i]) <= 8 * std::numeric_limits<T>::epsilon() * 3 * y[i]);
}

TEMPLATE_TEST_CASE("softmax backward passes: infinite and NaN dy give the formula's IEEE value",
                   "[softmax]", float, double) {
    // With an infinity in dy the sums are infinite: <dy, y> = +inf for dy_1 = +inf (y_1 > 0),
    // so dx_i = y_i (dy_i - inf) = -inf for finite dy_i and y_i > 0, NaN for y_i = 0 (0 * inf)
    // and for i = 1 (inf - inf); log_softmax: dx_i = dy_i - e^(y_i) inf. Every layout and
    // length gives the same (the accurate sums must not turn the limit into NaN).
    using T = TestType;
    const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
    for (const std::size_t n :
         {std::size_t(2), std::size_t(3), std::size_t(37), std::size_t(300)}) {
        for (const T special : {inf, -inf, nan}) {
            std::vector<T> y(n), dy(n);
            for (std::size_t i = 0; i < n; ++i) {
                y[i] = T(1) / T(n);
                dy[i] = T(0.25) * T(i % 5) - T(0.5);
            }
            y[0] = T(0); // a zero probability: 0 * inf is NaN (log form: y_0 = -inf below)
            dy[1] = special;
            // Expected, from the formula evaluated in T (the sums are exactly +-inf or NaN).
            const T dot = special * y[1], sum = special;
            for (const std::size_t width : {std::size_t(1), std::size_t(3), std::size_t(17)}) {
                const extents e{1, n, width};
                std::vector<T> ys(n * width, T(1) / T(n)), dys(n * width, T(0)), dx(n * width),
                    dxl(n * width);
                std::vector<T> yl = ys; // log-probabilities: element 0 is log 0 = -inf
                const std::size_t lane = width / 2;
                for (std::size_t c = 0; c < n; ++c) {
                    ys[c * width + lane] = y[c];
                    dys[c * width + lane] = dy[c];
                    yl[c * width + lane] = c == 0 ? -inf : y[c];
                }
                xact::softmax_backward(ys.data(), dys.data(), dx.data(), e);
                xact::log_softmax_backward(yl.data(), dys.data(), dxl.data(), e);
                for (std::size_t c = 0; c < n; ++c) {
                    INFO("n " << n << " dy_1 " << special << " width " << width << " element "
                              << c);
                    const T expect = y[c] * (dy[c] - dot);
                    const T got = dx[c * width + lane];
                    CHECK((std::isnan(expect) ? std::isnan(got) : got == expect));
                    const T expect_l = dy[c] - static_cast<T>(std::exp(c == 0 ? -inf : y[c])) * sum;
                    const T got_l = dxl[c * width + lane];
                    CHECK((std::isnan(expect_l) ? std::isnan(got_l) : got_l == expect_l));
                    if (width > 1) { // the neighbouring lanes (dy = 0) are unaffected
                        CHECK(dx[c * width] == T(0));
                        CHECK(dxl[c * width] == T(0));
                    }
                }
            }
        }
    }
}

TEMPLATE_TEST_CASE("softmax: argument errors", "[softmax]", float, double) {
    using T = TestType;
    std::vector<T> x(12, T(1)), y(12, T(0));
    const extents e{3, 4, 1};
    expect_invalid([&] { xact::softmax(static_cast<const T*>(nullptr), y.data(), e); }, "x");
    expect_invalid([&] { xact::softmax(x.data(), static_cast<T*>(nullptr), e); }, "y");
    expect_invalid([&] { xact::log_softmax(x.data(), x.data() + 1, e); }, "y");
    expect_invalid([&] { xact::softmax_backward(x.data(), y.data(), x.data() + 2, e); }, "dx");
    expect_invalid(
        [&] { xact::log_softmax_backward(x.data(), static_cast<const T*>(nullptr), y.data(), e); },
        "dy");
    expect_invalid([&] { xact::log_softmax_backward(y.data(), x.data(), x.data() + 1, e); }, "dx");
    const std::size_t big = std::numeric_limits<std::size_t>::max() / 2;
    expect_invalid([&] { xact::softmax(x.data(), y.data(), extents{big, 4, 1}); }, "extents");
    // Ranges: sizes must equal e.size().
    std::vector<T> shorter(11);
    expect_invalid([&] { xact::softmax(x, shorter, e); }, "size");
    expect_invalid([&] { xact::log_softmax(shorter, y, e); }, "size");
    expect_invalid([&] { xact::softmax_backward(x, shorter, y, e); }, "e");
    // Nothing was written by the failed calls.
    CHECK(std::all_of(y.begin(), y.end(), [](T v) { return v == T(0); }));
    // The range forms compute the same as the pointer forms.
    std::vector<T> a(12), b(12);
    for (std::size_t i = 0; i < 12; ++i) x[i] = static_cast<T>(i % 5) - T(2);
    xact::softmax(x, a, e);
    xact::softmax(x.data(), b.data(), e);
    CHECK(a == b);
}

// Found by the fuzzer (fuzz/README.md): log_softmax_backward formed e^y alone, subnormal or 0
// for y = -100 although e^y sum(dy) is not; softmax_backward split dy = 1e35 with Dekker's
// product (no FMA), which overflows, and lost the low parts of products y_j dy_j in the
// subnormal range. Along the last axis and along a strided axis.
TEMPLATE_TEST_CASE("softmax backward passes at the ends of the exponent range", "[softmax]", float,
                   double) {
    using T = TestType;
    using R = ref_t<T>;
    const bool f32 = std::is_same_v<T, float>;
    for (const std::size_t inner : {std::size_t(1), std::size_t(3)}) {
        const extents e{1, 2, inner};
        const auto put = [inner](std::vector<T>& v, T a, T b) {
            v.assign(2 * inner, T(0));
            for (std::size_t j = 0; j < inner; ++j) {
                v[j] = a;
                v[inner + j] = b;
            }
        };
        std::vector<T> y, dy, dx(2 * inner);
        // log_softmax_backward: dx[1] = dy[1] - e^y[1] (dy[0] + dy[1]).
        const T ylo = f32 ? T(-100) : T(-740), g = f32 ? T(1e30) : T(1e300);
        put(y, T(0), ylo);
        put(dy, g, T(0));
        xact::log_softmax_backward(y.data(), dy.data(), dx.data(), e);
        const R want = -rm::exp(static_cast<R>(ylo)) * static_cast<R>(g);
        for (std::size_t j = 0; j < inner; ++j) {
            INFO("inner = " << inner << ": got " << dx[inner + j]);
            CHECK(ulp_error<T>(dx[inner + j], static_cast<ld>(want)) <= 2);
        }
        // softmax_backward with a huge dy: y = [1/2, 1/2], dy = [h, 0]: dx = [h/4, -h/4].
        const T h = f32 ? T(1e35) : T(1e300);
        put(y, T(0.5), T(0.5));
        put(dy, h, T(0));
        xact::softmax_backward(y.data(), dy.data(), dx.data(), e);
        for (std::size_t j = 0; j < inner; ++j) {
            CHECK(ulp_error<T>(dx[j], static_cast<ld>(static_cast<R>(h) / 4)) <= 1);
            CHECK(ulp_error<T>(dx[inner + j], static_cast<ld>(-static_cast<R>(h) / 4)) <= 1);
        }
        // softmax_backward with products in the subnormal range: y = [0.75, 0.25],
        // dy = [a, b] tiny; dx_i = y_i (dy_i - <y, dy>).
        const T m = std::numeric_limits<T>::min();
        const T a = m * T(0.3), b = m * T(-0.7);
        put(y, T(0.75), T(0.25));
        put(dy, a, b);
        xact::softmax_backward(y.data(), dy.data(), dx.data(), e);
        const R s = R(0.75) * static_cast<R>(a) + R(0.25) * static_cast<R>(b);
        for (std::size_t j = 0; j < inner; ++j) {
            INFO("inner = " << inner << ": got " << dx[j] << ", " << dx[inner + j]);
            CHECK(ulp_error<T>(dx[j], static_cast<ld>(R(0.75) * (static_cast<R>(a) - s))) <= 1);
            CHECK(ulp_error<T>(dx[inner + j], static_cast<ld>(R(0.25) * (static_cast<R>(b) - s))) <=
                  1);
        }
    }
}

// Backward passes near the top of the range, where the true dx is finite: log_softmax_backward
// where sum(dy) (or a partial sum of it) overflows (it is taken again from dy 2^-K), and
// softmax_backward where dy - <y, dy> overflows (y = 0.1, dy = -big, <y, dy> = 0.8 big). Rows
// along the last axis and along a strided axis (where the other lanes of a batch keep their
// usual path), float and double.
TEMPLATE_TEST_CASE("backward passes where a sum or a difference overflows", "[softmax]", float,
                   double) {
    using T = TestType;
    using R = ref_t<T>;
    constexpr std::size_t len = 37;
    const T big = std::numeric_limits<T>::max() * T(0.75);
    // Kinds of rows: 0, every dy = big (log: the sum overflows; dx is finite but at c = 0);
    // 1, +big twice next to each other and -big twice, plus 1.5 (a partial sum overflows
    // along a strided axis, the total is 1.5); 2, +big and -big 16 apart (a partial sum
    // overflows in one SIMD lane along the last axis); 3, +big at c = 0 and -big elsewhere
    // (softmax: dy - <y, dy> overflows); 4, ordinary dy, which must keep their accuracy
    // beside the others; 5, rows of their own y (below) with dy = max on classes 0 and 1:
    // log, y = log 0.6 and log 0.4 there, where e^y sum(dy) overflows but dx does not;
    // softmax, y = 1/2 and 1/2 + 2 ULP, where <y, dy> itself overflows (a review found both).
    const auto make_dy = [&](int kind, std::size_t c, std::mt19937_64& rng) -> T {
        std::uniform_real_distribution<double> u(-2.0, 2.0);
        switch (kind) {
        case 0:
            return big;
        case 1:
            return c < 2 ? big : c < 4 ? -big : c == 5 ? T(1.5) : T(0);
        case 2:
            return c == 0 || c == 16 ? big : c == 1 || c == 17 ? -big : c == 5 ? T(1.5) : T(0);
        case 3:
            return c == 0 ? big : -big;
        case 5:
            return c < 2 ? std::numeric_limits<T>::max() : T(0);
        default:
            return static_cast<T>(u(rng));
        }
    };
    // The reference sum adds the largest terms first, so that +-big cancel exactly before
    // the small terms join.
    const auto sum_of = [](std::vector<R> terms, R& sum, R& sum_abs) {
        std::sort(terms.begin(), terms.end(), [](R a, R b) { return rm::fabs(a) > rm::fabs(b); });
        sum = 0;
        sum_abs = 0;
        for (const R t : terms) {
            sum += t;
            sum_abs += rm::fabs(t);
        }
    };
    std::mt19937_64 rng(7);
    for (const bool log : {true, false})
        for (const std::size_t inner : {std::size_t(1), std::size_t(4), std::size_t(9)})
            for (const int kind : {0, 1, 2, 3, 5}) {
                const extents e{2, len, inner};
                const std::size_t n = e.size();
                std::vector<T> y(n), dy(n);
                for (std::size_t o = 0; o < e.outer; ++o)
                    for (std::size_t j = 0; j < inner; ++j) {
                        // Along a strided axis, the rows j = 1 mod 3 are ordinary.
                        const int k = inner > 1 && j % 3 == 1 ? 4 : kind;
                        for (std::size_t c = 0; c < len; ++c) {
                            const std::size_t i = (o * len + c) * inner + j;
                            // log: log-probabilities; softmax: 0.9 at c = 0, the rest spread
                            y[i] = log ? (c == 0 ? T(-0.001) : T(-10) - T(0.25) * T(c + j))
                                       : (c == 0 ? T(0.9) : T(0.1) / T(len - 1 + j));
                            if (k == 5) {
                                const T half_up = T(0.5) + std::numeric_limits<T>::epsilon();
                                y[i] = log ? (c == 0   ? std::log(T(0.6))
                                              : c == 1 ? std::log(T(0.4))
                                                       : T(-30) - T(c))
                                           : (c == 0   ? T(0.5)
                                              : c == 1 ? half_up
                                                       : T(0));
                            }
                            dy[i] = make_dy(k, c, rng);
                        }
                    }
                guarded<T> dx(n, 3);
                call_backward(log, y.data(), dy.data(), dx.data(), e);
                CHECK(dx.guards_intact());
                for (std::size_t o = 0; o < e.outer; ++o)
                    for (std::size_t j = 0; j < inner; ++j) {
                        std::vector<R> terms(len);
                        for (std::size_t c = 0; c < len; ++c) {
                            const std::size_t i = (o * len + c) * inner + j;
                            terms[c] = log ? static_cast<R>(dy[i])
                                           : static_cast<R>(y[i]) * static_cast<R>(dy[i]);
                        }
                        R sum, sum_abs;
                        sum_of(terms, sum, sum_abs);
                        for (std::size_t c = 0; c < len; ++c) {
                            const std::size_t i = (o * len + c) * inner + j;
                            const R g = static_cast<R>(dy[i]), v = static_cast<R>(y[i]);
                            const R ev = log ? rm::exp(v) : R(0);
                            const R want = log ? g - ev * sum : v * (g - sum);
                            // In ULP of the size of the terms, as in check_backward (the
                            // ordinary rows cancel).
                            const R size = log ? rm::fabs(g) + ev * sum_abs
                                               : rm::fabs(v) * (rm::fabs(g) + sum_abs);
                            const ld r = static_cast<ld>(want);
                            INFO((log ? "log_softmax_backward" : "softmax_backward")
                                 << ", kind " << kind << ", inner " << inner << ", j " << j
                                 << ", c " << c << ": got " << dx[i] << ", want " << r);
                            if (std::isinf(static_cast<T>(r))) {
                                CHECK(dx[i] == static_cast<T>(r)); // beyond the range
                            } else {
                                const ld u = xact_test::ulp_of<T>(
                                    static_cast<ld>(std::max(rm::fabs(want), size)));
                                CHECK(std::fabs(static_cast<ld>(dx[i]) - r) / u <= bound);
                            }
                        }
                    }
            }
}

// softmax_backward's wide path (a sum that overflows) must keep the formula's IEEE value where
// y holds an infinity: <y, dy> = inf * 3 denorm_min = inf, so dx = y (dy - inf) = -inf where
// y > 0 and NaN where y = 0. Its sum of dy 2^-K (where 3 denorm_min becomes 0) gave NaN
// everywhere (found by the directed-rounding test, test_fenv). Last axis and a strided axis.
TEMPLATE_TEST_CASE("softmax_backward with an infinite y and a tiny dy", "[softmax]", float,
                   double) {
    using T = TestType;
    using L = std::numeric_limits<T>;
    for (const std::size_t inner : {std::size_t(1), std::size_t(3)}) {
        const std::size_t len = 21;
        const extents e{1, len, inner};
        std::vector<T> y(len * inner), dy(len * inner), dx(len * inner);
        for (std::size_t c = 0; c < len; ++c)
            for (std::size_t j = 0; j < inner; ++j) {
                const std::size_t i = c * inner + j;
                y[i] = c == 0 ? L::infinity() : c == 1 ? T(0) : T(0.25);
                dy[i] = c == 0 ? L::denorm_min() * T(3) : T(c) - T(10);
            }
        xact::softmax_backward(y.data(), dy.data(), dx.data(), e);
        for (std::size_t c = 0; c < len; ++c)
            for (std::size_t j = 0; j < inner; ++j) {
                const T got = dx[c * inner + j];
                INFO("inner " << inner << ", c " << c << ": got " << got);
                if (c == 1)
                    CHECK(std::isnan(got));
                else
                    CHECK(got == -L::infinity());
            }
    }
}

// log_softmax_backward where sum(dy) overflows and a result lies at the top of the range:
// y = [0, -inf, ...], dy = [a, max - m ULP, 2, 3, ...] with a in [max / 2, max) gives
// dx_0 = -(max - m ULP + 2 + 3 + ...). The scaled sum's low word must take part: with its
// high word alone, dx_0 rounded to -inf for some a.
// Last axis (rows of 2 and 21) and a strided axis.
TEMPLATE_TEST_CASE("log_softmax_backward: a finite result at the top of the range", "[softmax]",
                   float, double) {
    using T = TestType;
    using R = ref_t<T>;
    using L = std::numeric_limits<T>;
    for (const std::size_t len : {std::size_t(2), std::size_t(21)})
        for (const std::size_t inner : {std::size_t(1), std::size_t(3)})
            for (int m = 0; m < 64; ++m) {
                const extents e{2, len, inner};
                T first = L::max() * (T(0.5) + T(m) / T(128)); // 0.5 max ... 0.99 max
                for (int i = 0; i < m % 7; ++i) first = std::nextafter(first, T(0));
                std::vector<T> y(e.size()), dy(e.size()), dx(e.size());
                T top = L::max();
                for (int i = 0; i < m % 4; ++i) top = std::nextafter(top, T(0));
                for (std::size_t o = 0; o < e.outer; ++o)
                    for (std::size_t c = 0; c < len; ++c)
                        for (std::size_t j = 0; j < inner; ++j) {
                            const std::size_t i = (o * len + c) * inner + j;
                            y[i] = c == 0 ? T(0) : -L::infinity();
                            dy[i] = c == 0 ? first : c == 1 ? top : T(c);
                        }
                xact::log_softmax_backward(y.data(), dy.data(), dx.data(), e);
                for (std::size_t o = 0; o < e.outer; ++o)
                    for (std::size_t j = 0; j < inner; ++j) {
                        R sum = 0;
                        for (std::size_t c = 0; c < len; ++c)
                            sum += static_cast<R>(dy[(o * len + c) * inner + j]);
                        for (std::size_t c = 0; c < len; ++c) {
                            const std::size_t i = (o * len + c) * inner + j;
                            const R want = static_cast<R>(dy[i]) - (c == 0 ? sum : R(0));
                            const ld r = static_cast<ld>(want);
                            INFO("len " << len << ", inner " << inner << ", m " << m << ", c " << c
                                        << ": got " << dx[i] << ", want " << r);
                            REQUIRE(std::isfinite(dx[i]));
                            const ld u = xact_test::ulp_of<T>(std::fabs(r));
                            CHECK(std::fabs(static_cast<ld>(dx[i]) - r) / u <= bound);
                        }
                    }
            }
}
