// Losses (xact/loss.hpp): mse, mae, binary cross-entropy with logits and cross-entropy with
// logits (class indices and probabilities, along an axis), forward and gradient, reductions
// mean / sum / none.
//
// References. Every expected value comes from a formula written here in higher precision:
// long double (64-bit significand) for float; __float128 (libquadmath) for double when
// XACT_TEST_QUADMATH is defined, else long double (enough for the bounds below: its rounding
// is 2^-11 ULP of a double). Sums are Neumaier-compensated in that type. The formulas:
//   mse (x - t)^2, d = 2 (x - t);  mae |x - t|, d = sign(x - t);
//   bce: x (1 - t) + log1p(e^-x) for x > 0, -x t + log1p(e^x) otherwise (= log(1 + e^x) - x t);
//        d = sigma(x) - t with sigma = 1 / (1 + e^-x) (or e^x / (1 + e^x) for x < 0);
//   ce:  m = max x, j* its first index, s = sum over j != j* of e^(x_j - m), L = log1p(s);
//        -log_softmax_j = (m - x_j) + L; loss = sum_j q_j (-log_softmax_j) (q_j = 0 skipped),
//        q = (1 - eps) onehot + eps / C or (1 - eps) p + eps / C, eps exact;
//        d_j = Q e^(x_j - m) / (1 + s) - q_j, Q = sum q.
// The gradient references are also checked against central finite differences of the loss
// references (long double), so that a wrong formula cannot hide in both.
//
// Error measure (spec.md §3): |got - ref| in ULP of ref (in T); NaN, infinity and an exact 0
// for a nonzero reference are failures. Gradients whose terms cancel (bce, ce) are measured
// in ULP of their magnitude |k| (|first term| + |second term|) instead (an absolute bound).
// Bounds:
//   per element: mse 1, mae 0.5 (correctly rounded), bce 3 (t in [0, 1]);
//   reduced (mean, sum): mse 1, mae 1, bce 3; cross-entropy per row 3, reduced 3;
//   gradients: mse 1 (relative), mae 0.51 (k = dloss / n rounded once), bce 3 and ce 4
//   (absolute, as above); the tiny ce / bce gradients of a row with a tiny loss: 4 relative.
// The measured maxima are printed (one line per type and function) and listed in loss.hpp.
#include "catch.hpp"
#include "harness.hpp"
#include "reference.hpp"
#include "wide.hpp"
#if defined(XACT_CATCH2_MAJOR) && XACT_CATCH2_MAJOR >= 3
#include <catch2/catch_template_test_macros.hpp>
#endif

#include <xact/loss.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using xact::extents;
using xact::reduction;
using xact_test::bits;
using xact_test::expect_invalid;
using xact_test::guarded;
using xact_test::offset_buffer;
using xact_test::same;
using xact_test::simd_width;
using xact_test::ulp_error;
using xact_test::ulp_of;

using namespace xact_test::wide; // ref_t<T>, rm::exp, rm::log1p, rm::fabs

template <class T>
const char* type_name() {
    return std::is_same_v<T, float> ? "float" : "double";
}

/// Neumaier's compensated sum in R.
template <class R>
struct ref_sum {
    R s = 0, c = 0;
    void add(R v) {
        const R t = s + v;
        if (rm::fabs(s) >= rm::fabs(v))
            c += (s - t) + v;
        else
            c += (v - t) + s;
        s = t;
    }
    R value() const { return s + c; }
};

/// Error of y against ref in ULP of mag (an absolute bound); NaN / infinity mismatches are
/// infinite errors.
template <class T, class R>
double abs_ulps(T y, R ref, R mag) {
    const double inf = std::numeric_limits<double>::infinity();
    const ld r = static_cast<ld>(ref);
    if (std::isnan(r)) return std::isnan(y) ? 0.0 : inf;
    if (std::isnan(y)) return inf;
    if (std::isinf(r) || std::isinf(y)) return static_cast<ld>(y) == r ? 0.0 : inf;
    return static_cast<double>(std::fabs(static_cast<ld>(y) - r) /
                               ulp_of<T>(std::fabs(static_cast<ld>(mag))));
}

/// ULP error of y against a reference in R.
template <class T, class R>
double rel_ulps(T y, R ref) {
    return ulp_error<T>(y, static_cast<ld>(ref));
}

/// The maximum error seen for one quantity, with the worst case's description.
struct worst {
    double max = 0;
    std::string where;
    void see(double e, const std::string& w) {
        if (e > max || std::isnan(e)) {
            max = std::isnan(e) ? std::numeric_limits<double>::infinity() : e;
            where = w;
        }
    }
};

// ---------------------------------------------------------------- elementwise references

/// One elementwise loss: the reference in R and the xact calls.
struct mse_def {
    static constexpr const char* name = "mse";
    static constexpr double value_ulp = 1, reduced_ulp = 1, grad_ulp = 1;
    static constexpr bool grad_relative = true;
    template <class R>
    static R loss(R x, R t) {
        return (x - t) * (x - t);
    }
    template <class R>
    static R grad(R x, R t) {
        return 2 * (x - t);
    }
    template <class R>
    static R grad_mag(R x, R t) {
        return rm::fabs(2 * (x - t));
    }
    template <class T>
    static T reduced(const T* x, const T* t, std::size_t n, reduction r) {
        return xact::mse_loss(x, t, n, r);
    }
    template <class T>
    static void none(const T* x, const T* t, T* out, std::size_t n) {
        xact::mse_loss(x, t, out, n);
    }
    template <class T>
    static void back(const T* x, const T* t, T* dx, std::size_t n, reduction r, T dloss) {
        xact::mse_loss_backward(x, t, dx, n, r, dloss);
    }
    template <class T>
    static void back_each(const T* x, const T* t, const T* g, T* dx, std::size_t n) {
        xact::mse_loss_backward(x, t, g, dx, n);
    }
};

struct mae_def {
    static constexpr const char* name = "mae";
    static constexpr double value_ulp = 0.501, reduced_ulp = 1, grad_ulp = 0.51;
    static constexpr bool grad_relative = true;
    template <class R>
    static R loss(R x, R t) {
        return rm::fabs(x - t);
    }
    template <class R>
    static R grad(R x, R t) {
        return x > t ? R(1) : x < t ? R(-1) : R(0);
    }
    template <class R>
    static R grad_mag(R x, R t) {
        return rm::fabs(grad(x, t));
    }
    template <class T>
    static T reduced(const T* x, const T* t, std::size_t n, reduction r) {
        return xact::mae_loss(x, t, n, r);
    }
    template <class T>
    static void none(const T* x, const T* t, T* out, std::size_t n) {
        xact::mae_loss(x, t, out, n);
    }
    template <class T>
    static void back(const T* x, const T* t, T* dx, std::size_t n, reduction r, T dloss) {
        xact::mae_loss_backward(x, t, dx, n, r, dloss);
    }
    template <class T>
    static void back_each(const T* x, const T* t, const T* g, T* dx, std::size_t n) {
        xact::mae_loss_backward(x, t, g, dx, n);
    }
};

struct bce_def {
    static constexpr const char* name = "bce";
    static constexpr double value_ulp = 3, reduced_ulp = 3, grad_ulp = 3;
    static constexpr bool grad_relative = false;
    template <class R>
    static R loss(R x, R t) { // log(1 + e^x) - x t, arranged without cancellation
        return x > 0 ? x * (1 - t) + rm::log1p(rm::exp(-x)) : -x * t + rm::log1p(rm::exp(x));
    }
    template <class R>
    static R sigma(R x) {
        return x >= 0 ? 1 / (1 + rm::exp(-x)) : rm::exp(x) / (1 + rm::exp(x));
    }
    template <class R>
    static R grad(R x, R t) {
        // sigma(x) - t; for x > 0 as (1 - t) - sigma(-x) so that t = 1 keeps its digits.
        return x > 0 ? (1 - t) - sigma(-x) : sigma(x) - t;
    }
    template <class R>
    static R grad_mag(R x, R t) {
        return sigma(x) + rm::fabs(t);
    }
    template <class T>
    static T reduced(const T* x, const T* t, std::size_t n, reduction r) {
        return xact::binary_cross_entropy_with_logits(x, t, n, r);
    }
    template <class T>
    static void none(const T* x, const T* t, T* out, std::size_t n) {
        xact::binary_cross_entropy_with_logits(x, t, out, n);
    }
    template <class T>
    static void back(const T* x, const T* t, T* dx, std::size_t n, reduction r, T dloss) {
        xact::binary_cross_entropy_with_logits_backward(x, t, dx, n, r, dloss);
    }
    template <class T>
    static void back_each(const T* x, const T* t, const T* g, T* dx, std::size_t n) {
        xact::binary_cross_entropy_with_logits_backward(x, t, g, dx, n);
    }
};

/// Inputs of an elementwise case: x, t and an upstream gradient per element.
template <class T>
struct elem_data {
    std::vector<T> x, t, g;
};

/// Random inputs for loss D: mse / mae x, t in [-8, 8] with a spread of magnitudes (2^-20 ..
/// 2^20) and some x == t; bce x in [-30, 30] with some |x| up to 100 and t in [0, 1] with
/// exact 0 and 1.
template <class T, class D>
elem_data<T> make_elem(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0), u01(0.0, 1.0);
    elem_data<T> d;
    d.x.resize(n);
    d.t.resize(n);
    d.g.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto k = rng() % 16;
        if constexpr (std::is_same_v<D, bce_def>) {
            d.x[i] = static_cast<T>(k == 0 ? 100 * u(rng) : 30 * u(rng));
            d.t[i] = static_cast<T>(k == 1 ? 0.0 : k == 2 ? 1.0 : u01(rng));
        } else {
            d.x[i] = static_cast<T>(8 * u(rng));
            d.t[i] = static_cast<T>(8 * u(rng));
            if (k == 0) d.t[i] = d.x[i];
            if (k == 1)
                d.x[i] = static_cast<T>(std::ldexp(u(rng), static_cast<int>(rng() % 41) - 20));
        }
        d.g[i] = static_cast<T>(2 * u(rng));
    }
    return d;
}

/// Reference reductions of D over d (first n elements).
template <class T, class D>
ref_t<T> ref_reduced(const elem_data<T>& d, reduction r) {
    using R = ref_t<T>;
    ref_sum<R> s;
    for (std::size_t i = 0; i < d.x.size(); ++i) s.add(D::loss(R(d.x[i]), R(d.t[i])));
    if (r == reduction::sum) return s.value();
    return s.value() / R(static_cast<double>(d.x.size()));
}

/// Every API of loss D on one case, at the given offsets; errors recorded in w[0..3].
template <class T, class D>
void check_elem(const elem_data<T>& d, std::size_t ox, std::size_t ot, std::size_t oo, worst* w) {
    using R = ref_t<T>;
    const std::size_t n = d.x.size();
    offset_buffer<T> x(n, ox), t(n, ot), g(n, ox);
    std::copy(d.x.begin(), d.x.end(), x.data());
    std::copy(d.t.begin(), d.t.end(), t.data());
    std::copy(d.g.begin(), d.g.end(), g.data());
    const std::string where = std::string(D::name) + " n=" + std::to_string(n) + " offsets " +
                              std::to_string(ox) + "," + std::to_string(ot) + "," +
                              std::to_string(oo);
    INFO(type_name<T>() << " " << where);

    // Reduced.
    for (reduction r : {reduction::mean, reduction::sum}) {
        const T got = D::reduced(x.data(), t.data(), n, r);
        if (n == 0) {
            if (r == reduction::mean)
                CHECK(std::isnan(got));
            else
                CHECK(bits(got) == bits(T(0)));
            continue;
        }
        const R ref = ref_reduced<T, D>(d, r);
        const double e = rel_ulps(got, ref);
        w[0].see(e, where);
        INFO((r == reduction::mean ? "mean" : "sum")
             << " got " << got << " ref " << static_cast<double>(ref));
        CHECK(e <= D::reduced_ulp);
    }

    // Per element.
    guarded<T> out(n, oo);
    D::none(x.data(), t.data(), out.data(), n);
    CHECK(out.guards_intact());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const R ref = D::loss(R(d.x[i]), R(d.t[i]));
        const double e = rel_ulps(out[i], ref);
        w[1].see(e, where + " i=" + std::to_string(i));
        if (e > D::value_ulp && bad++ == 0) {
            INFO("value at i=" << i << " x=" << d.x[i] << " t=" << d.t[i] << " got " << out[i]
                               << " ref " << static_cast<double>(ref) << " (" << e << " ULP)");
            CHECK(false);
        }
    }
    CHECK(bad == 0);

    // Gradients: uniform dloss with each reduction, then per-element dout.
    const T dloss = static_cast<T>(0.75);
    for (reduction r : {reduction::mean, reduction::sum, reduction::none}) {
        guarded<T> dx(n, oo);
        D::back(x.data(), t.data(), dx.data(), n, r, dloss);
        CHECK(dx.guards_intact());
        const R k = R(dloss) / (r == reduction::mean ? R(static_cast<double>(n)) : R(1));
        std::size_t badg = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const R xi = R(d.x[i]), ti = R(d.t[i]);
            const R ref = k * D::grad(xi, ti);
            const double e = D::grad_relative ? rel_ulps(dx[i], ref)
                                              : abs_ulps(dx[i], ref, k * D::grad_mag(xi, ti));
            w[2].see(e, where + " i=" + std::to_string(i));
            if (e > D::grad_ulp && badg++ == 0) {
                INFO("gradient at i=" << i << " x=" << d.x[i] << " t=" << d.t[i] << " got " << dx[i]
                                      << " ref " << static_cast<double>(ref) << " (" << e
                                      << " ULP)");
                CHECK(false);
            }
        }
        CHECK(badg == 0);
    }
    guarded<T> dx(n, oo);
    D::back_each(x.data(), t.data(), g.data(), dx.data(), n);
    CHECK(dx.guards_intact());
    std::size_t badg = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const R xi = R(d.x[i]), ti = R(d.t[i]), gi = R(d.g[i]);
        const R ref = gi * D::grad(xi, ti);
        const double e = D::grad_relative
                             ? rel_ulps(dx[i], ref)
                             : abs_ulps(dx[i], ref, rm::fabs(gi) * D::grad_mag(xi, ti));
        w[3].see(e, where + " i=" + std::to_string(i));
        if (e > D::grad_ulp && badg++ == 0) {
            INFO("dout gradient at i=" << i << " got " << dx[i] << " ref "
                                       << static_cast<double>(ref) << " (" << e << " ULP)");
            CHECK(false);
        }
    }
    CHECK(badg == 0);
}

template <class T, class D>
void run_elementwise() {
    worst w[4];
    std::uint64_t seed = 11;
    constexpr std::size_t W = simd_width<T>;
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n <= 70; ++n) lengths.push_back(n);
    for (std::size_t n : {255, 1000, 4099, 6001}) lengths.push_back(n);
    for (std::size_t n : lengths) {
        const auto d = make_elem<T, D>(n, seed++);
        check_elem<T, D>(d, 0, 0, 0, w);
        if (n % 7 == 3 || n > 70) {
            check_elem<T, D>(d, 1, W - 1, 3 % W, w);
            check_elem<T, D>(d, W - 1, 2 % W, 1, w);
        }
    }
    std::printf("[loss] %s %-4s max ULP: reduced %.3f, value %.3f, grad %.3f, grad(dout) %.3f\n",
                type_name<T>(), D::name, w[0].max, w[1].max, w[2].max, w[3].max);
    INFO("worst reduced at " << w[0].where << "; value at " << w[1].where << "; grad at "
                             << w[2].where);
    CHECK(w[0].max <= D::reduced_ulp);
}

// ---------------------------------------------------------------- cross-entropy references

/// The reference of one row: its loss and, per class, the unscaled gradient and its magnitude.
template <class R>
struct ce_row {
    R loss;
    std::vector<R> grad, mag;
};

/// Row of C logits at x[j * stride] with target weights q (in R).
template <class T, class R = ref_t<T>>
ce_row<R> ce_reference_row(const T* x, std::size_t stride, std::size_t C, const std::vector<R>& q) {
    std::size_t jm = 0;
    for (std::size_t j = 1; j < C; ++j)
        if (x[j * stride] > x[jm * stride]) jm = j;
    const R m = R(x[jm * stride]);
    ref_sum<R> s, loss, Q;
    for (std::size_t j = 0; j < C; ++j)
        if (j != jm) s.add(rm::exp(R(x[j * stride]) - m));
    const R sv = s.value();
    const R L = rm::log1p(sv);
    for (std::size_t j = 0; j < C; ++j) {
        Q.add(q[j]);
        if (q[j] != 0) loss.add(q[j] * ((m - R(x[j * stride])) + L));
    }
    ce_row<R> r;
    r.loss = loss.value();
    r.grad.resize(C);
    r.mag.resize(C);
    const R Qv = Q.value();
    for (std::size_t j = 0; j < C; ++j) {
        const R sm = rm::exp(R(x[j * stride]) - m) / (1 + sv);
        r.grad[j] = Qv * sm - q[j];
        r.mag[j] = rm::fabs(Qv * sm) + rm::fabs(q[j]);
    }
    return r;
}

/// A cross-entropy case: logits with extents e, class-index or probability targets.
template <class T>
struct ce_data {
    extents e;
    bool prob = false;
    std::vector<T> x;
    std::vector<std::int64_t> y; // class targets (outer * inner)
    std::vector<T> p;            // probability targets (same size as x)
    std::vector<T> dout;         // one per row
};

/// Random logits: spread `spread` (uniform in [-spread, spread]), with ties to the maximum
/// sprinkled in; class targets with ~1/6 ignored; probability targets >= 0 summing to ~1.
template <class T>
ce_data<T> make_ce(extents e, bool prob, double spread, std::uint64_t seed,
                   std::int64_t ignore = -100) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0), u01(0.0, 1.0);
    ce_data<T> d;
    d.e = e;
    d.prob = prob;
    const std::size_t n = e.outer * e.axis * e.inner, rows = e.outer * e.inner;
    d.x.resize(n);
    for (auto& v : d.x) v = static_cast<T>(spread * u(rng));
    for (std::size_t i = 0; i + 5 < n; i += 11) d.x[i + 5] = d.x[i]; // some equal logits
    d.dout.resize(rows);
    for (auto& v : d.dout) v = static_cast<T>(u(rng));
    if (!prob) {
        d.y.resize(rows);
        for (auto& v : d.y)
            v = (rng() % 6 == 0 || e.axis == 0) ? ignore
                                                : static_cast<std::int64_t>(rng() % e.axis);
    } else {
        d.p.resize(n);
        for (std::size_t o = 0; o < e.outer; ++o)
            for (std::size_t j = 0; j < e.inner; ++j) {
                double tot = 0;
                std::vector<double> w(e.axis);
                for (auto& v : w) {
                    v = rng() % 4 == 0 ? 0.0 : u01(rng);
                    tot += v;
                }
                for (std::size_t c = 0; c < e.axis; ++c)
                    d.p[(o * e.axis + c) * e.inner + j] =
                        static_cast<T>(tot > 0 ? w[c] / tot : 0.0);
            }
    }
    return d;
}

/// The reference of a whole case: per-row losses (0 for ignored rows), the count for mean,
/// and per-element unscaled gradients and magnitudes (0 for ignored rows).
template <class T>
struct ce_expected {
    using R = ref_t<T>;
    std::vector<R> loss;
    std::vector<bool> ignored;
    std::vector<R> grad, mag;
    std::size_t count = 0;
};

template <class T>
ce_expected<T> ce_reference(const ce_data<T>& d, const xact::cross_entropy_options& o) {
    using R = ref_t<T>;
    const extents e = d.e;
    const std::size_t C = e.axis, rows = e.outer * e.inner;
    ce_expected<T> r;
    r.loss.assign(rows, R(0));
    r.ignored.assign(rows, false);
    r.grad.assign(d.x.size(), R(0));
    r.mag.assign(d.x.size(), R(0));
    const R eps = R(o.label_smoothing);
    for (std::size_t o2 = 0; o2 < e.outer; ++o2) {
        for (std::size_t j = 0; j < e.inner; ++j) {
            const std::size_t row = o2 * e.inner + j, base = o2 * C * e.inner + j;
            std::vector<R> q(C);
            if (!d.prob) {
                if (d.y[row] == o.ignore_index) {
                    r.ignored[row] = true;
                    continue;
                }
                for (std::size_t c = 0; c < C; ++c)
                    q[c] = (static_cast<std::int64_t>(c) == d.y[row] ? 1 - eps : R(0)) +
                           eps / R(static_cast<double>(C));
            } else {
                for (std::size_t c = 0; c < C; ++c)
                    q[c] = (1 - eps) * R(d.p[base + c * e.inner]) + eps / R(static_cast<double>(C));
            }
            ++r.count;
            if (C == 0) continue;
            const auto rr = ce_reference_row<T>(d.x.data() + base, e.inner, C, q);
            r.loss[row] = rr.loss;
            for (std::size_t c = 0; c < C; ++c) {
                r.grad[base + c * e.inner] = rr.grad[c];
                r.mag[base + c * e.inner] = rr.mag[c];
            }
        }
    }
    return r;
}

/// Errors of one cross-entropy case: [0] per row, [1] reduced, [2] gradient.
struct ce_worst {
    worst row, reduced, grad;
};

constexpr double ce_row_ulp = 3, ce_reduced_ulp = 3, ce_grad_ulp = 4;

template <class T>
void call_ce_none(const ce_data<T>& d, const T* x, const void* tg, T* out,
                  const xact::cross_entropy_options& o) {
    if (d.prob)
        xact::cross_entropy(x, static_cast<const T*>(tg), out, d.e, o);
    else
        xact::cross_entropy(x, static_cast<const std::int64_t*>(tg), out, d.e, o);
}
template <class T>
T call_ce(const ce_data<T>& d, const T* x, const void* tg, const xact::cross_entropy_options& o) {
    if (d.prob) return xact::cross_entropy(x, static_cast<const T*>(tg), d.e, o);
    return xact::cross_entropy(x, static_cast<const std::int64_t*>(tg), d.e, o);
}
template <class T>
void call_ce_back(const ce_data<T>& d, const T* x, const void* tg, T* dx,
                  const xact::cross_entropy_options& o, T dloss) {
    if (d.prob)
        xact::cross_entropy_backward(x, static_cast<const T*>(tg), dx, d.e, o, dloss);
    else
        xact::cross_entropy_backward(x, static_cast<const std::int64_t*>(tg), dx, d.e, o, dloss);
}
template <class T>
void call_ce_back_each(const ce_data<T>& d, const T* x, const void* tg, const T* dout, T* dx,
                       const xact::cross_entropy_options& o) {
    if (d.prob)
        xact::cross_entropy_backward(x, static_cast<const T*>(tg), dout, dx, d.e, o);
    else
        xact::cross_entropy_backward(x, static_cast<const std::int64_t*>(tg), dout, dx, d.e, o);
}

/// Runs every cross-entropy API on case d with options o, logits / target / outputs at the
/// given element offsets, against the reference.
template <class T>
void check_ce(const ce_data<T>& d, const xact::cross_entropy_options& o, std::size_t ox,
              std::size_t ot, std::size_t oo, ce_worst& w) {
    using R = ref_t<T>;
    const extents e = d.e;
    const std::size_t n = d.x.size(), rows = e.outer * e.inner;
    const auto ref = ce_reference(d, o);
    const std::string where =
        std::string(d.prob ? "prob" : "class") + " {" + std::to_string(e.outer) + "," +
        std::to_string(e.axis) + "," + std::to_string(e.inner) +
        "} eps=" + std::to_string(o.label_smoothing) + " offsets " + std::to_string(ox) + "," +
        std::to_string(ot) + "," + std::to_string(oo);
    INFO(type_name<T>() << " " << where);
    offset_buffer<T> x(n, ox), p(d.prob ? n : 0, ot), dout(rows, ot);
    offset_buffer<std::int64_t> y(d.prob ? 0 : rows, ot);
    std::copy(d.x.begin(), d.x.end(), x.data());
    std::copy(d.p.begin(), d.p.end(), p.data());
    std::copy(d.y.begin(), d.y.end(), y.data());
    std::copy(d.dout.begin(), d.dout.end(), dout.data());
    const void* tg = d.prob ? static_cast<const void*>(p.data()) : y.data();

    // Per row (o.red is ignored by this overload).
    guarded<T> out(rows, oo);
    call_ce_none(d, x.data(), tg, out.data(), o);
    CHECK(out.guards_intact());
    std::size_t bad = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        const double err = ref.ignored[r] ? (bits(out[r]) == bits(T(0)) ? 0.0 : 1e9)
                                          : rel_ulps(out[r], ref.loss[r]);
        w.row.see(err, where + " row " + std::to_string(r));
        if (err > ce_row_ulp && bad++ == 0) {
            INFO("row " << r << ": got " << out[r] << " ref " << static_cast<double>(ref.loss[r])
                        << " (" << err << " ULP)");
            CHECK(false);
        }
    }
    CHECK(bad == 0);

    // Reduced.
    for (reduction red : {reduction::mean, reduction::sum}) {
        xact::cross_entropy_options o2 = o;
        o2.red = red;
        const T got = call_ce(d, x.data(), tg, o2);
        ref_sum<R> s;
        for (std::size_t r = 0; r < rows; ++r) s.add(ref.loss[r]);
        if (red == reduction::mean && ref.count == 0) {
            CHECK(std::isnan(got));
            continue;
        }
        const R want =
            red == reduction::sum ? s.value() : s.value() / R(static_cast<double>(ref.count));
        const double err = rel_ulps(got, want);
        w.reduced.see(err, where);
        INFO((red == reduction::mean ? "mean" : "sum")
             << ": got " << got << " ref " << static_cast<double>(want));
        CHECK(err <= ce_reduced_ulp);
    }

    // Gradients: uniform dloss with every reduction, then per-row dout.
    const T dloss = static_cast<T>(-1.25);
    for (int mode = 0; mode < 4; ++mode) {
        xact::cross_entropy_options o2 = o;
        o2.red = mode == 0 ? reduction::mean : mode == 1 ? reduction::sum : reduction::none;
        guarded<T> dx(n, oo);
        if (mode < 3)
            call_ce_back(d, x.data(), tg, dx.data(), o2, dloss);
        else
            call_ce_back_each(d, x.data(), tg, dout.data(), dx.data(), o2);
        CHECK(dx.guards_intact());
        std::size_t badg = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t row = (i / (e.axis * e.inner)) * e.inner + i % e.inner;
            R k = R(dloss);
            if (mode == 0) k = ref.count ? k / R(static_cast<double>(ref.count)) : R(0);
            if (mode == 3) k = R(d.dout[row]);
            const R want = ref.ignored[row] ? R(0) : k * ref.grad[i];
            const double err = ref.ignored[row] ? (bits(dx[i]) == bits(T(0)) ? 0.0 : 1e9)
                                                : abs_ulps(dx[i], want, rm::fabs(k) * ref.mag[i]);
            w.grad.see(err, where + " mode " + std::to_string(mode) + " i " + std::to_string(i));
            if (err > ce_grad_ulp && badg++ == 0) {
                INFO("gradient mode " << mode << " i=" << i << ": got " << dx[i] << " ref "
                                      << static_cast<double>(want) << " (" << err << " ULP)");
                CHECK(false);
            }
        }
        CHECK(badg == 0);
    }
}

const std::vector<extents>& ce_layouts() {
    static const std::vector<extents> all = {
        {1, 1, 1},   {3, 2, 1},    {4, 3, 1},  {2, 7, 1},   {5, 8, 1}, {3, 17, 1}, {2, 64, 1},
        {2, 100, 1}, {1, 1000, 1}, {2, 5, 7},  {3, 4, 33},  {2, 3, 8}, {1, 6, 5},  {4, 1, 3},
        {64, 10, 1}, {1, 70, 1},   {2, 2, 17}, {1, 300, 3}, {0, 4, 3}, {3, 0, 2}};
    return all;
}

template <class T>
void run_cross_entropy(bool prob) {
    constexpr std::size_t W = simd_width<T>;
    ce_worst w;
    std::uint64_t seed = prob ? 900 : 100;
    std::vector<extents> layouts = ce_layouts();
    for (std::size_t C = 1; C <= 40; ++C) layouts.push_back({2, C, 1}); // class tails
    for (std::size_t I = 2; I <= 20; ++I) layouts.push_back({2, 3, I}); // lane tails
    for (const extents& e : layouts) {
        if (!prob && e.axis == 0 && e.outer * e.inner != 0) continue; // tested with the errors
        for (double spread : {4.0, 40.0}) {
            const auto d = make_ce<T>(e, prob, spread, seed++);
            for (double eps : {0.0, 0.1, 1.0}) {
                xact::cross_entropy_options o;
                o.label_smoothing = eps;
                check_ce(d, o, 0, 0, 0, w);
                if (eps == 0.1) check_ce(d, o, 1, W - 1, 2 % W, w);
            }
        }
    }
    std::printf("[loss] %s ce %-5s max ULP: row %.3f, reduced %.3f, grad (abs) %.3f\n",
                type_name<T>(), prob ? "prob" : "class", w.row.max, w.reduced.max, w.grad.max);
    INFO("worst row at " << w.row.where << "; reduced at " << w.reduced.where << "; grad at "
                         << w.grad.where);
    CHECK(w.row.max <= ce_row_ulp);
    CHECK(w.reduced.max <= ce_reduced_ulp);
    CHECK(w.grad.max <= ce_grad_ulp);
}

} // namespace

// ---------------------------------------------------------------- elementwise losses

TEMPLATE_TEST_CASE("mse_loss matches the reference: reduced, per element, gradients", "[loss]",
                   float, double) {
    run_elementwise<TestType, mse_def>();
}

TEMPLATE_TEST_CASE("mae_loss matches the reference: reduced, per element, gradients", "[loss]",
                   float, double) {
    run_elementwise<TestType, mae_def>();
}

TEMPLATE_TEST_CASE("binary_cross_entropy_with_logits matches the reference", "[loss]", float,
                   double) {
    run_elementwise<TestType, bce_def>();
}

TEMPLATE_TEST_CASE("loss gradient references agree with central finite differences", "[loss]",
                   float, double) {
    // Validates the gradient formulas used as references (and xact's values through them)
    // against the loss references: (f(x + h) - f(x - h)) / 2h in long double.
    using T = TestType;
    const ld tol = std::is_same_v<T, float> ? 1e-6L : 1e-9L;
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(-1.0, 1.0), u01(0.0, 1.0);
    for (int i = 0; i < 200; ++i) {
        const T x = static_cast<T>(6 * u(rng)), t = static_cast<T>(u01(rng));
        const ld X = x, Tt = t;
        const ld h = 1e-5L;
        T dx;
        // mse
        const ld fd_mse = (mse_def::loss(X + h, Tt) - mse_def::loss(X - h, Tt)) / (2 * h);
        xact::mse_loss_backward(&x, &t, &dx, 1, reduction::sum, T(1));
        CHECK(std::fabs(fd_mse - mse_def::grad(X, Tt)) <= tol * (1 + std::fabs(fd_mse)));
        CHECK(std::fabs(static_cast<ld>(dx) - fd_mse) <= tol * (1 + std::fabs(fd_mse)));
        // mae (away from the kink)
        if (std::fabs(X - Tt) > 10 * h) {
            const ld fd = (mae_def::loss(X + h, Tt) - mae_def::loss(X - h, Tt)) / (2 * h);
            xact::mae_loss_backward(&x, &t, &dx, 1, reduction::sum, T(1));
            CHECK(std::fabs(static_cast<ld>(dx) - fd) <= tol);
        }
        // bce
        const ld fd_b = (bce_def::loss(X + h, Tt) - bce_def::loss(X - h, Tt)) / (2 * h);
        xact::binary_cross_entropy_with_logits_backward(&x, &t, &dx, 1, reduction::sum, T(1));
        CHECK(std::fabs(fd_b - bce_def::grad(X, Tt)) <= tol);
        CHECK(std::fabs(static_cast<ld>(dx) - fd_b) <= tol);
    }
    // Cross-entropy: d(row loss)/dx_j by central differences of the long double row reference,
    // class-index (with label smoothing) and probability targets.
    for (int trial = 0; trial < 40; ++trial) {
        const std::size_t C = 2 + static_cast<std::size_t>(rng() % 6);
        std::vector<T> xs(C), ps(C);
        double tot = 0;
        for (std::size_t j = 0; j < C; ++j) {
            xs[j] = static_cast<T>(3 * u(rng));
            ps[j] = static_cast<T>(u01(rng));
            tot += static_cast<double>(ps[j]);
        }
        for (auto& v : ps) v = static_cast<T>(static_cast<double>(v) / tot);
        const bool prob = trial % 2 == 1;
        const double eps = trial % 3 == 0 ? 0.0 : 0.2;
        const std::int64_t yv = static_cast<std::int64_t>(rng() % C);
        std::vector<ld> q(C);
        for (std::size_t j = 0; j < C; ++j)
            q[j] = (prob ? (1 - static_cast<ld>(eps)) * static_cast<ld>(ps[j])
                         : (static_cast<std::int64_t>(j) == yv ? 1 - static_cast<ld>(eps) : 0)) +
                   static_cast<ld>(eps) / static_cast<ld>(C);
        xact::cross_entropy_options o;
        o.label_smoothing = eps;
        o.red = reduction::sum;
        std::vector<T> g(C);
        if (prob)
            xact::cross_entropy_backward(xs.data(), ps.data(), g.data(), extents{1, C, 1}, o, T(1));
        else
            xact::cross_entropy_backward(xs.data(), &yv, g.data(), extents{1, C, 1}, o, T(1));
        const auto base = ce_reference_row<T, ld>(xs.data(), 1, C, q);
        for (std::size_t j = 0; j < C; ++j) {
            // The row reference at x_j +- h: the logits are perturbed in long double.
            const auto row_at = [&](ld dj) {
                std::vector<ld> xl(C);
                for (std::size_t k = 0; k < C; ++k) xl[k] = static_cast<ld>(xs[k]);
                xl[j] += dj;
                ld m = xl[0];
                for (ld v : xl) m = v > m ? v : m;
                ld s = 0;
                for (ld v : xl) s += expl(v - m);
                ld l = 0;
                for (std::size_t k = 0; k < C; ++k) l += q[k] * (m + logl(s) - xl[k]);
                return l;
            };
            const ld h = 1e-5L;
            const ld fd = (row_at(h) - row_at(-h)) / (2 * h);
            INFO("C=" << C << " prob=" << prob << " eps=" << eps << " j=" << j);
            CHECK(std::fabs(fd - base.grad[j]) <= tol);
            CHECK(std::fabs(static_cast<ld>(g[j]) - fd) <= tol);
        }
    }
}

TEMPLATE_TEST_CASE("elementwise losses: NaN, infinities, tails of the logistic", "[loss]", float,
                   double) {
    using T = TestType;
    using L = std::numeric_limits<T>;
    const T nan = L::quiet_NaN(), inf = L::infinity();
    // NaN anywhere makes the reduced loss NaN; per element only there.
    std::vector<T> x(37, T(1)), t(37, T(0.5));
    x[20] = nan;
    CHECK(std::isnan(xact::mse_loss(x.data(), t.data(), x.size())));
    CHECK(std::isnan(xact::mae_loss(x.data(), t.data(), x.size(), reduction::sum)));
    CHECK(std::isnan(xact::binary_cross_entropy_with_logits(x.data(), t.data(), x.size())));
    std::vector<T> out(37), dx(37);
    xact::mae_loss(x.data(), t.data(), out.data(), x.size());
    CHECK(std::isnan(out[20]));
    CHECK(out[19] == T(0.5));
    xact::mae_loss_backward(x.data(), t.data(), dx.data(), x.size(), reduction::sum);
    CHECK(std::isnan(dx[20]));
    CHECK(dx[0] == T(1));
    xact::mse_loss_backward(x.data(), t.data(), dx.data(), x.size(), reduction::sum);
    CHECK(std::isnan(dx[20]));
    CHECK(dx[0] == T(1));
    xact::binary_cross_entropy_with_logits_backward(x.data(), t.data(), dx.data(), x.size(),
                                                    reduction::none);
    CHECK(std::isnan(dx[20]));
    t[5] = nan; // NaN target
    xact::mae_loss_backward(x.data(), t.data(), dx.data(), x.size(), reduction::sum);
    CHECK(std::isnan(dx[5]));
    // mae: sign is 0 at x == t.
    const T a[3] = {T(2), T(-3), T(1)}, b[3] = {T(2), T(-1), T(0)};
    T g[3];
    xact::mae_loss_backward(a, b, g, 3, reduction::mean, T(3));
    CHECK(g[0] == T(0));
    CHECK(g[1] == T(-1));
    CHECK(g[2] == T(1));
    // mse of huge differences overflows to +inf, not NaN.
    const T hx[2] = {L::max(), T(0)}, ht[2] = {-L::max(), T(0)};
    CHECK(xact::mse_loss(hx, ht, 2) == inf);
    // A gradient that overflows is an infinity, not NaN (in every build: without FMA the
    // exact product's low part would be NaN there).
    const T hv = std::is_same_v<T, float> ? T(1e20) : T(1e200), zt = T(0);
    T hd;
    xact::mse_loss_backward(&hv, &zt, &hv, &hd, 1);
    CHECK(hd == inf);
    xact::mse_loss_backward(&hv, &zt, &hd, 1, reduction::sum, hv);
    CHECK(hd == inf);
    // bce at the infinities: the limits.
    const T xi[4] = {inf, inf, -inf, -inf}, ti[4] = {T(1), T(0.5), T(0), T(1)};
    T li[4], gi[4];
    xact::binary_cross_entropy_with_logits(xi, ti, li, 4);
    CHECK(li[0] == T(0));
    CHECK(li[1] == inf);
    CHECK(li[2] == T(0));
    CHECK(li[3] == inf);
    xact::binary_cross_entropy_with_logits_backward(xi, ti, gi, 4, reduction::none);
    CHECK(gi[0] == T(0));
    CHECK(gi[1] == T(0.5));
    CHECK(gi[2] == T(0));
    CHECK(gi[3] == T(-1));
    // bce tails: loss and gradient of x = 30, t = 1 are tiny, not 0 (4 ULP relative).
    using R = ref_t<T>;
    const T x30 = T(30), one = T(1);
    T l30, g30;
    xact::binary_cross_entropy_with_logits(&x30, &one, &l30, 1);
    xact::binary_cross_entropy_with_logits_backward(&x30, &one, &g30, 1, reduction::none);
    CHECK(rel_ulps(l30, rm::log1p(rm::exp(R(-30)))) <= 2);
    CHECK(rel_ulps(g30, -rm::exp(R(-30)) / (1 + rm::exp(R(-30)))) <= 4);
    const T xm = T(-40), zero = T(0);
    xact::binary_cross_entropy_with_logits(&xm, &zero, &l30, 1);
    CHECK(rel_ulps(l30, rm::log1p(rm::exp(R(-40)))) <= 2);
}

TEMPLATE_TEST_CASE("elementwise losses: empty input, mean is NaN and sum is 0", "[loss]", float,
                   double) {
    using T = TestType;
    const T* null = nullptr;
    CHECK(std::isnan(xact::mse_loss(null, null, 0)));
    CHECK(std::isnan(xact::mae_loss(null, null, 0, reduction::mean)));
    CHECK(std::isnan(xact::binary_cross_entropy_with_logits(null, null, 0)));
    CHECK(bits(xact::mse_loss(null, null, 0, reduction::sum)) == bits(T(0)));
    CHECK(bits(xact::binary_cross_entropy_with_logits(null, null, 0, reduction::sum)) ==
          bits(T(0)));
    xact::mse_loss(null, null, static_cast<T*>(nullptr), 0);
    xact::mse_loss_backward(null, null, static_cast<T*>(nullptr), 0);
    xact::mae_loss_backward(null, null, null, static_cast<T*>(nullptr), 0);
}

TEMPLATE_TEST_CASE("elementwise loss gradients in place equal out of place; sums are "
                   "deterministic and independent of alignment",
                   "[loss]", float, double) {
    using T = TestType;
    const std::size_t n = 1037;
    const auto d = make_elem<T, bce_def>(n, 3);
    const auto check_inplace = [&](auto back, auto back_each) {
        std::vector<T> ref(n), ref2(n);
        back(d.x.data(), d.t.data(), ref.data(), n);
        back_each(d.x.data(), d.t.data(), d.g.data(), ref2.data(), n);
        std::vector<T> io = d.x;
        back(io.data(), d.t.data(), io.data(), n); // dx == x
        CHECK(xact_test::bitwise_equal(io.data(), ref.data(), n));
        io = d.t;
        back(d.x.data(), io.data(), io.data(), n); // dx == target
        CHECK(xact_test::bitwise_equal(io.data(), ref.data(), n));
        io = d.g;
        back_each(d.x.data(), d.t.data(), io.data(), io.data(), n); // dx == dout
        CHECK(xact_test::bitwise_equal(io.data(), ref2.data(), n));
        io = d.x;
        back_each(io.data(), d.t.data(), d.g.data(), io.data(), n); // dx == x
        CHECK(xact_test::bitwise_equal(io.data(), ref2.data(), n));
    };
    check_inplace(
        [](const T* x, const T* t, T* dx, std::size_t m) {
            xact::mse_loss_backward(x, t, dx, m, reduction::mean, T(0.5));
        },
        [](const T* x, const T* t, const T* g, T* dx, std::size_t m) {
            xact::mse_loss_backward(x, t, g, dx, m);
        });
    check_inplace(
        [](const T* x, const T* t, T* dx, std::size_t m) {
            xact::mae_loss_backward(x, t, dx, m, reduction::sum, T(0.5));
        },
        [](const T* x, const T* t, const T* g, T* dx, std::size_t m) {
            xact::mae_loss_backward(x, t, g, dx, m);
        });
    check_inplace(
        [](const T* x, const T* t, T* dx, std::size_t m) {
            xact::binary_cross_entropy_with_logits_backward(x, t, dx, m, reduction::none, T(2));
        },
        [](const T* x, const T* t, const T* g, T* dx, std::size_t m) {
            xact::binary_cross_entropy_with_logits_backward(x, t, g, dx, m);
        });
    // out == x for the per-element forward.
    std::vector<T> ref(n), io = d.x;
    xact::binary_cross_entropy_with_logits(d.x.data(), d.t.data(), ref.data(), n);
    xact::binary_cross_entropy_with_logits(io.data(), d.t.data(), io.data(), n);
    CHECK(xact_test::bitwise_equal(io.data(), ref.data(), n));
    // The reduced sums depend only on n (and the build's SIMD width): same bits at every
    // alignment and on every call.
    const T s0 = xact::binary_cross_entropy_with_logits(d.x.data(), d.t.data(), n);
    const T m0 = xact::mse_loss(d.x.data(), d.t.data(), n, reduction::sum);
    for (std::size_t off = 0; off < simd_width<T> + 2; ++off) {
        offset_buffer<T> x(n, off), t(n, (off * 3) % simd_width<T>);
        std::copy(d.x.begin(), d.x.end(), x.data());
        std::copy(d.t.begin(), d.t.end(), t.data());
        CHECK(bits(xact::binary_cross_entropy_with_logits(x.data(), t.data(), n)) == bits(s0));
        CHECK(bits(xact::mse_loss(x.data(), t.data(), n, reduction::sum)) == bits(m0));
    }
}

TEMPLATE_TEST_CASE("elementwise losses reject invalid arguments and write nothing", "[loss]", float,
                   double) {
    using T = TestType;
    const std::size_t n = 12;
    std::vector<T> x(n, T(1)), t(n, T(0)), g(n, T(1));
    const T* null = nullptr;
    guarded<T> out(n, 1);
    expect_invalid([&] { xact::mse_loss(x.data(), t.data(), n, reduction::none); }, "reduction");
    expect_invalid([&] { xact::mae_loss(x.data(), t.data(), n, reduction::none); }, "reduction");
    expect_invalid(
        [&] { xact::binary_cross_entropy_with_logits(x.data(), t.data(), n, reduction::none); },
        "reduction");
    expect_invalid([&] { xact::mse_loss(null, t.data(), n); }, "x");
    expect_invalid([&] { xact::mae_loss(x.data(), null, n); }, "target");
    expect_invalid([&] { xact::mse_loss(x.data(), t.data(), static_cast<T*>(nullptr), n); }, "out");
    expect_invalid([&] { xact::mse_loss(null, t.data(), out.data(), n); }, "x");
    expect_invalid(
        [&] { xact::mse_loss_backward(x.data(), t.data(), static_cast<T*>(nullptr), n); }, "dx");
    expect_invalid([&] { xact::mae_loss_backward(x.data(), null, out.data(), n); }, "target");
    expect_invalid([&] { xact::mae_loss_backward(x.data(), t.data(), null, out.data(), n); },
                   "dout");
    expect_invalid(
        [&] {
            xact::binary_cross_entropy_with_logits_backward(null, t.data(), g.data(), out.data(),
                                                            n);
        },
        "x");
    CHECK(out.untouched());
    // Partial overlaps (exact equality is in place and allowed).
    std::vector<T> buf(3 * n, T(0.25));
    T* b = buf.data();
    expect_invalid([&] { xact::mse_loss(b, t.data(), b + 1, n); }, "out");
    expect_invalid([&] { xact::mae_loss(x.data(), b + 1, b, n); }, "out");
    expect_invalid([&] { xact::mse_loss_backward(b + 2, t.data(), b, n); }, "dx");
    expect_invalid([&] { xact::mae_loss_backward(x.data(), b, b + n - 1, n); }, "dx");
    expect_invalid(
        [&] { xact::binary_cross_entropy_with_logits_backward(x.data(), t.data(), b, b + 1, n); },
        "dout");
    for (std::size_t i = 0; i < buf.size(); ++i) CHECK(buf[i] == T(0.25));
}

// ---------------------------------------------------------------- cross-entropy

TEMPLATE_TEST_CASE("cross_entropy with class-index targets matches the reference", "[loss]", float,
                   double) {
    run_cross_entropy<TestType>(false);
}

TEMPLATE_TEST_CASE("cross_entropy with probability targets matches the reference", "[loss]", float,
                   double) {
    run_cross_entropy<TestType>(true);
}

TEMPLATE_TEST_CASE("cross_entropy: PyTorch semantics (ignore_index, smoothing, per pixel)",
                   "[loss]", float, double) {
    using T = TestType;
    using R = ref_t<T>;
    // Closed forms: ce([1, 2, 3], 2) = log(1 + e^-1 + e^-2); ce([0, 0], y) = log 2 for any
    // label smoothing.
    const T x3[3] = {T(1), T(2), T(3)};
    const std::int64_t y2 = 2;
    CHECK(rel_ulps(xact::cross_entropy(x3, &y2, extents{1, 3, 1}),
                   rm::log1p(rm::exp(R(-1)) + rm::exp(R(-2)))) <= 2);
    const T x0[2] = {T(0), T(0)};
    const std::int64_t y0 = 0;
    xact::cross_entropy_options o;
    o.label_smoothing = 0.3;
    CHECK(rel_ulps(xact::cross_entropy(x0, &y0, extents{1, 2, 1}, o), rm::log1p(R(1))) <= 2);
    // Label smoothing with C = 3: -(0.7 + 0.1) log p_0 - 0.1 log p_1 - 0.1 log p_2.
    const std::int64_t yz = 0;
    const R L = rm::log1p(rm::exp(R(-1)) + rm::exp(R(-2)));
    const R eps = R(0.3);
    const R want = (1 - eps + eps / 3) * (2 + L) + eps / 3 * (1 + L) + eps / 3 * L;
    CHECK(rel_ulps(xact::cross_entropy(x3, &yz, extents{1, 3, 1}, o), want) <= 2);

    // Per pixel {2, 5, 7}: mean over the non-ignored pixels; ignored pixels 0 and gradient 0;
    // a custom ignore_index that is also a valid class.
    for (std::int64_t ign : {std::int64_t(-100), std::int64_t(3)}) {
        const extents e{2, 5, 7};
        auto d = make_ce<T>(e, false, 3.0, 77, ign);
        for (std::size_t r = 0; r < d.y.size(); r += 3) d.y[r] = ign;
        xact::cross_entropy_options op;
        op.ignore_index = ign;
        const auto ref = ce_reference(d, op);
        REQUIRE(ref.count > 0);
        REQUIRE(ref.count < d.y.size());
        ref_sum<R> s;
        for (const R& v : ref.loss) s.add(v);
        const T mean = xact::cross_entropy(d.x.data(), d.y.data(), e, op);
        CHECK(rel_ulps(mean, s.value() / R(static_cast<double>(ref.count))) <= ce_reduced_ulp);
        ce_worst w;
        check_ce(d, op, 1, 1, 1, w);
    }

    // Every row ignored: mean NaN, sum 0, gradient 0 everywhere.
    const std::int64_t ys[3] = {-100, -100, -100};
    const T xs[6] = {T(1), T(2), T(3), T(4), T(5), T(6)};
    CHECK(std::isnan(xact::cross_entropy(xs, ys, extents{3, 2, 1})));
    o = {};
    o.red = reduction::sum;
    CHECK(bits(xact::cross_entropy(xs, ys, extents{3, 2, 1}, o)) == bits(T(0)));
    T gs[6];
    xact::cross_entropy_backward(xs, ys, gs, extents{3, 2, 1});
    for (T v : gs) CHECK(bits(v) == bits(T(0)));
    // No rows: mean NaN, sum 0 (both target kinds).
    CHECK(std::isnan(xact::cross_entropy(static_cast<const T*>(nullptr),
                                         static_cast<const std::int64_t*>(nullptr),
                                         extents{0, 5, 1})));
    CHECK(bits(xact::cross_entropy(static_cast<const T*>(nullptr), static_cast<const T*>(nullptr),
                                   extents{4, 0, 0}, o)) == bits(T(0)));
}

TEMPLATE_TEST_CASE("cross_entropy keeps tiny losses and gradients; stable for huge logits",
                   "[loss]", float, double) {
    using T = TestType;
    using R = ref_t<T>;
    const R tiny = rm::log1p(rm::exp(R(-20))); // 2.06e-9
    const R sm1 = rm::exp(R(-20)) / (1 + rm::exp(R(-20)));
    // [0, -20] with target 0, along the last axis and along a strided axis.
    for (const extents& e : {extents{1, 2, 1}, extents{1, 2, 3}, extents{2, 2, 19}}) {
        const std::size_t n = e.outer * e.axis * e.inner, rows = e.outer * e.inner;
        std::vector<T> x(n), g(n), out(rows);
        for (std::size_t o = 0; o < e.outer; ++o)
            for (std::size_t j = 0; j < e.inner; ++j) {
                x[(o * 2 + 0) * e.inner + j] = T(0);
                x[(o * 2 + 1) * e.inner + j] = T(-20);
            }
        const std::vector<std::int64_t> y(rows, 0);
        INFO("extents {" << e.outer << ", 2, " << e.inner << "}");
        xact::cross_entropy(x.data(), y.data(), out.data(), e);
        for (T v : out) CHECK(rel_ulps(v, tiny) <= 2);
        xact::cross_entropy_options o;
        o.red = reduction::sum;
        CHECK(rel_ulps(xact::cross_entropy(x.data(), y.data(), e, o),
                       tiny * R(static_cast<double>(rows))) <= 2);
        xact::cross_entropy_backward(x.data(), y.data(), g.data(), e, o);
        for (std::size_t o2 = 0; o2 < e.outer; ++o2)
            for (std::size_t j = 0; j < e.inner; ++j) {
                CHECK(rel_ulps(g[(o2 * 2) * e.inner + j], -sm1) <= 4);
                CHECK(rel_ulps(g[(o2 * 2 + 1) * e.inner + j], sm1) <= 4);
            }
        // Probability target (1, 0): the same.
        std::vector<T> p(n, T(0));
        for (std::size_t o2 = 0; o2 < e.outer; ++o2)
            for (std::size_t j = 0; j < e.inner; ++j) p[(o2 * 2) * e.inner + j] = T(1);
        xact::cross_entropy(x.data(), p.data(), out.data(), e);
        for (T v : out) CHECK(rel_ulps(v, tiny) <= 2);
        xact::cross_entropy_backward(x.data(), p.data(), g.data(), e, o);
        for (std::size_t o2 = 0; o2 < e.outer; ++o2)
            for (std::size_t j = 0; j < e.inner; ++j)
                CHECK(rel_ulps(g[(o2 * 2) * e.inner + j], -sm1) <= 4);
    }
    // Logits of magnitude 1e30: finite, exact where the answer is.
    const T big = T(1e30);
    const T xb[4] = {big, -big, T(0), T(5)};
    T lb[4], gb[4];
    for (std::int64_t y = 0; y < 4; ++y) {
        xact::cross_entropy(xb, &y, lb, extents{1, 4, 1});
        const R want = R(xb[0]) - R(xb[y]);
        CHECK(rel_ulps(lb[0], want) <= 1);
        xact::cross_entropy_backward(xb, &y, gb, extents{1, 4, 1});
        for (std::size_t j = 0; j < 4; ++j) {
            const T w = (j == 0 ? T(1) : T(0)) - (static_cast<std::int64_t>(j) == y ? T(1) : T(0));
            CHECK(gb[j] == w);
        }
    }
    // Random rows of huge logits against the reference.
    ce_worst w;
    for (std::uint64_t s = 0; s < 6; ++s) {
        for (bool prob : {false, true}) {
            const auto d = make_ce<T>(extents{3, 9, s % 2 ? std::size_t(5) : std::size_t(1)}, prob,
                                      1e30, 40 + s);
            xact::cross_entropy_options o;
            o.label_smoothing = s % 3 == 0 ? 0.0 : 0.05;
            check_ce(d, o, 0, 0, 0, w);
        }
    }
}

TEMPLATE_TEST_CASE("cross_entropy special values: NaN rows, +inf and -inf logits", "[loss]", float,
                   double) {
    using T = TestType;
    using R = ref_t<T>;
    const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
    // Row 1 holds a NaN; row 2 is ignored and holds a NaN; rows 0 and 3 are finite.
    for (std::size_t inner : {std::size_t(1), std::size_t(3)}) {
        const extents e{4, 3, inner};
        auto d = make_ce<T>(e, false, 2.0, 5);
        for (std::size_t j = 0; j < inner; ++j) {
            d.x[(1 * 3 + 2) * inner + j] = nan;
            d.x[(2 * 3 + 0) * inner + j] = nan;
            d.y[1 * inner + j] = 1;
            d.y[2 * inner + j] = -100;
            d.y[0 * inner + j] = 0;
            d.y[3 * inner + j] = 2;
        }
        std::vector<T> out(e.outer * inner), g(d.x.size());
        xact::cross_entropy(d.x.data(), d.y.data(), out.data(), e);
        xact::cross_entropy_backward(d.x.data(), d.y.data(), g.data(), e);
        for (std::size_t j = 0; j < inner; ++j) {
            CHECK(std::isfinite(out[0 * inner + j]));
            CHECK(std::isnan(out[1 * inner + j]));
            CHECK(bits(out[2 * inner + j]) == bits(T(0)));
            CHECK(std::isfinite(out[3 * inner + j]));
            for (std::size_t c = 0; c < 3; ++c) {
                CHECK(std::isfinite(g[(0 * 3 + c) * inner + j]));
                CHECK(std::isnan(g[(1 * 3 + c) * inner + j]));
                CHECK(bits(g[(2 * 3 + c) * inner + j]) == bits(T(0)));
            }
        }
        CHECK(std::isnan(xact::cross_entropy(d.x.data(), d.y.data(), e)));
    }
    // +inf logits: the limit. [inf, 0, inf]: target 0 -> log 2, target 1 -> +inf; gradient
    // softmax - onehot = (1/2, 0, 1/2) - onehot.
    const T xi[3] = {inf, T(0), inf};
    T l, g[3];
    std::int64_t y = 0;
    xact::cross_entropy(xi, &y, &l, extents{1, 3, 1});
    CHECK(rel_ulps(l, rm::log1p(R(1))) <= 1);
    xact::cross_entropy_backward(xi, &y, g, extents{1, 3, 1});
    CHECK(g[0] == T(-0.5));
    CHECK(g[1] == T(0));
    CHECK(g[2] == T(0.5));
    y = 1;
    xact::cross_entropy(xi, &y, &l, extents{1, 3, 1});
    CHECK(l == inf);
    // -inf among finite logits: probability 0. Target on it -> +inf; elsewhere -> finite.
    const T xn[3] = {-inf, T(0), T(0)};
    y = 0;
    xact::cross_entropy(xn, &y, &l, extents{1, 3, 1});
    CHECK(l == inf);
    y = 1;
    xact::cross_entropy(xn, &y, &l, extents{1, 3, 1});
    CHECK(rel_ulps(l, rm::log1p(R(1))) <= 1);
    xact::cross_entropy_backward(xn, &y, g, extents{1, 3, 1});
    CHECK(g[0] == T(0));
    CHECK(g[1] == T(-0.5));
    CHECK(g[2] == T(0.5));
    // With label smoothing every class has weight > 0: a -inf logit gives +inf.
    xact::cross_entropy_options o;
    o.label_smoothing = 0.1;
    xact::cross_entropy(xn, &y, &l, extents{1, 3, 1}, o);
    CHECK(l == inf);
    // Probability targets: a zero weight on a -inf logit contributes nothing (0 log 0 = 0).
    const T pn[3] = {T(0), T(0.5), T(0.5)};
    xact::cross_entropy(xn, pn, &l, extents{1, 3, 1});
    CHECK(rel_ulps(l, rm::log1p(R(1))) <= 1);
    xact::cross_entropy_backward(xn, pn, g, extents{1, 3, 1});
    CHECK(g[0] == T(0));
    CHECK(g[1] == T(0));
    CHECK(g[2] == T(0));
    // All -inf: NaN (undefined).
    const T xa[2] = {-inf, -inf};
    y = 0;
    xact::cross_entropy(xa, &y, &l, extents{1, 2, 1});
    CHECK(std::isnan(l));
}

TEMPLATE_TEST_CASE("cross_entropy in place, determinism and alignment independence", "[loss]",
                   float, double) {
    using T = TestType;
    for (const extents& e : {extents{5, 13, 1}, extents{3, 6, 11}}) {
        for (bool prob : {false, true}) {
            INFO("prob=" << prob << " inner=" << e.inner);
            const auto d = make_ce<T>(e, prob, 5.0, 21);
            xact::cross_entropy_options o;
            o.label_smoothing = 0.1;
            const void* tg =
                prob ? static_cast<const void*>(d.p.data()) : static_cast<const void*>(d.y.data());
            const std::size_t n = d.x.size();
            std::vector<T> ref(n), ref2(n);
            call_ce_back(d, d.x.data(), tg, ref.data(), o, T(0.5));
            call_ce_back_each(d, d.x.data(), tg, d.dout.data(), ref2.data(), o);
            std::vector<T> io = d.x;
            call_ce_back(d, io.data(), tg, io.data(), o, T(0.5)); // dlogits == logits
            CHECK(xact_test::bitwise_equal(io.data(), ref.data(), n));
            io = d.x;
            call_ce_back_each(d, io.data(), tg, d.dout.data(), io.data(), o);
            CHECK(xact_test::bitwise_equal(io.data(), ref2.data(), n));
            if (prob) { // dlogits == target
                io = d.p;
                xact::cross_entropy_backward(d.x.data(), io.data(), io.data(), e, o, T(0.5));
                CHECK(xact_test::bitwise_equal(io.data(), ref.data(), n));
            }
            const T m0 = call_ce(d, d.x.data(), tg, o);
            for (std::size_t off = 0; off < simd_width<T> + 1; ++off) {
                offset_buffer<T> x(n, off);
                std::copy(d.x.begin(), d.x.end(), x.data());
                CHECK(bits(call_ce(d, x.data(), tg, o)) == bits(m0));
            }
        }
    }
}

TEMPLATE_TEST_CASE("cross_entropy rejects invalid arguments and writes nothing", "[loss]", float,
                   double) {
    using T = TestType;
    const extents e{4, 3, 2};
    const std::size_t n = 24, rows = 8;
    std::vector<T> x(n, T(0.5)), p(n, T(1.0 / 3)), dout(rows, T(1));
    std::vector<std::int64_t> y = {0, 1, 2, -100, 2, 1, 0, 0};
    guarded<T> out(rows, 1), dx(n, 1);
    xact::cross_entropy_options o;
    const T* nullT = nullptr;
    const std::int64_t* nullI = nullptr;

    o.red = reduction::none;
    expect_invalid([&] { xact::cross_entropy(x.data(), y.data(), e, o); }, "reduction");
    expect_invalid([&] { xact::cross_entropy(x.data(), p.data(), e, o); }, "reduction");
    o = {};
    for (double bad : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
        o.label_smoothing = bad;
        expect_invalid([&] { xact::cross_entropy(x.data(), y.data(), out.data(), e, o); },
                       "label_smoothing");
        expect_invalid([&] { xact::cross_entropy_backward(x.data(), p.data(), dx.data(), e, o); },
                       "label_smoothing");
    }
    o = {};
    // Class index out of range (C and -1 when -1 is not ignore_index).
    for (std::int64_t badv : {std::int64_t(3), std::int64_t(-1), std::int64_t(1) << 40}) {
        auto yb = y;
        yb[5] = badv;
        expect_invalid([&] { xact::cross_entropy(x.data(), yb.data(), e); }, "target");
        expect_invalid([&] { xact::cross_entropy(x.data(), yb.data(), out.data(), e); }, "target");
        expect_invalid([&] { xact::cross_entropy_backward(x.data(), yb.data(), dx.data(), e); },
                       "target");
        expect_invalid(
            [&] { xact::cross_entropy_backward(x.data(), yb.data(), dout.data(), dx.data(), e); },
            "target");
    }
    // Null pointers.
    expect_invalid([&] { xact::cross_entropy(nullT, y.data(), e); }, "logits");
    expect_invalid([&] { xact::cross_entropy(x.data(), nullI, e); }, "target");
    expect_invalid([&] { xact::cross_entropy(x.data(), nullT, e); }, "target");
    expect_invalid([&] { xact::cross_entropy(x.data(), y.data(), static_cast<T*>(nullptr), e); },
                   "out");
    expect_invalid(
        [&] { xact::cross_entropy_backward(x.data(), y.data(), static_cast<T*>(nullptr), e); },
        "dlogits");
    expect_invalid([&] { xact::cross_entropy_backward(x.data(), p.data(), nullT, dx.data(), e); },
                   "dout");
    // Extents whose size overflows.
    const std::size_t huge = std::numeric_limits<std::size_t>::max() / 2;
    expect_invalid(
        [&] {
            xact::cross_entropy(x.data(), y.data(), extents{huge, 4, 1});
        },
        "extents");
    expect_invalid(
        [&] {
            xact::cross_entropy(x.data(), p.data(), extents{huge, 1, 3});
        },
        "extents");
    CHECK(out.untouched());
    CHECK(dx.untouched());
    // Overlaps: out with logits or target; dlogits partially with logits, with class targets,
    // with dout.
    std::vector<T> buf(2 * n, T(0.25));
    T* b = buf.data();
    std::copy(x.begin(), x.end(), b);
    expect_invalid([&] { xact::cross_entropy(b, y.data(), b + 3, e); }, "out");
    expect_invalid([&] { xact::cross_entropy(x.data(), b, b + 5, e); }, "out");
    expect_invalid([&] { xact::cross_entropy_backward(b, y.data(), b + 1, e); }, "dlogits");
    expect_invalid([&] { xact::cross_entropy_backward(b + 1, p.data(), b, e); }, "dlogits");
    expect_invalid([&] { xact::cross_entropy_backward(x.data(), b + 1, b, e); }, "dlogits");
    std::vector<std::int64_t> ybuf(n, 0);
    expect_invalid(
        [&] {
            xact::cross_entropy_backward(x.data(), ybuf.data(),
                                         reinterpret_cast<T*>(ybuf.data()) + 1, e);
        },
        "dlogits");
    expect_invalid([&] { xact::cross_entropy_backward(x.data(), y.data(), b + n - 2, b, e); },
                   "dout");
    for (std::size_t i = 0; i < n; ++i) CHECK(b[i] == x[i]);
    for (std::size_t i = n; i < 2 * n; ++i) CHECK(b[i] == T(0.25));
    // No classes: class targets must all be ignored; probability rows have loss 0.
    const std::int64_t y1[2] = {0, -100};
    expect_invalid([&] { xact::cross_entropy(nullT, y1, extents{2, 0, 1}); }, "target");
    T l2[2] = {T(7), T(7)};
    xact::cross_entropy(nullT, nullT, l2, extents{2, 0, 1});
    CHECK(l2[0] == T(0));
    CHECK(l2[1] == T(0));
}

TEMPLATE_TEST_CASE("loss backward: dloss of another arithmetic type converts to T", "[loss]", float,
                   double) {
    using T = TestType;
    const T x[3] = {T(1), T(2), T(-1)}, t[3] = {T(0), T(2), T(1)};
    T a[3], b[3];
    xact::mse_loss_backward(x, t, a, 3, reduction::sum, 0.5); // a double literal
    xact::mse_loss_backward(x, t, b, 3, reduction::sum, T(0.5));
    CHECK(xact_test::bitwise_equal(a, b, 3));
    CHECK(a[0] == T(1));
    CHECK(a[2] == T(-2));
    const std::int64_t y = 1;
    xact::cross_entropy_backward(x, &y, a, extents{1, 3, 1}, {}, 2);
    xact::cross_entropy_backward(x, &y, b, extents{1, 3, 1}, {}, T(2));
    CHECK(xact_test::bitwise_equal(a, b, 3));
}

// Found by the fuzzer (fuzz/README.md): products at the ends of the range. mse_loss_backward
// formed 2 dloss first (overflow), lost the low parts of its products near and below FLT_MIN,
// and its exact difference x - t overflowed inside TwoSum near DBL_MAX; mse_loss squared
// through Dekker's product, which overflows and rounds twice at the ends of the range (no FMA).
TEMPLATE_TEST_CASE("elementwise losses at the ends of the exponent range", "[loss]", float,
                   double) {
    using T = TestType;
    using R = ref_t<T>;
    using L = std::numeric_limits<T>;
    const std::size_t w = simd_width<T>;
    // (x, t, dout) triples; every one is run at each position of a vector (body and tail).
    struct triple {
        T x, t, g;
    };
    const T big = L::max() / T(2) * T(1.0000001), m = L::min();
    const std::vector<triple> cases = {
        {T(0.0234375), L::denorm_min(), -big}, // 2 dout overflows, the gradient does not
        {L::max() / T(2), L::max(), T(1e-30)}, // x - t near -max/2: TwoSum's s - x overflows
        {T(2.5e-42f), T(-2.2467e-36f), T(-1)}, // gradient just above FLT_MIN
        {m * T(3), m * T(-1.5), T(0.75)},      // gradient near the smallest normal
        {m * T(0.7), -m * T(0.2), T(-1.25)},   // a subnormal gradient
        {std::sqrt(L::max()) * T(0.999), T(-75.6), T(1)}, // square just below overflow
        {std::sqrt(m) * T(0.61), T(0), T(1)},             // subnormal square
        {std::sqrt(L::denorm_min()) * T(2.1), std::sqrt(L::denorm_min()) * T(-1.3), T(3)},
    };
    const std::size_t n = cases.size() * w + 3;
    std::vector<T> x(n), t(n), g(n), out(n), dx(n);
    for (std::size_t i = 0; i < n; ++i) {
        const triple& c = cases[i % cases.size()];
        x[i] = c.x;
        t[i] = c.t;
        g[i] = c.g;
    }
    xact::mse_loss(x.data(), t.data(), out.data(), n);
    xact::mse_loss_backward(x.data(), t.data(), g.data(), dx.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
        const R d = static_cast<R>(x[i]) - static_cast<R>(t[i]);
        INFO("x = " << x[i] << ", t = " << t[i] << ", dout = " << g[i]);
        CHECK(rel_ulps(out[i], d * d) <= 1);
        CHECK(rel_ulps(dx[i], R(2) * static_cast<R>(g[i]) * d) <= 1);
    }
    // Reduced losses of tiny differences only, summing to near the smallest normal (found by
    // the fuzzer: 1.7 ULP without FMA): random rows of 5 at fixed seed.
    {
        std::mt19937_64 rng(5);
        std::uniform_real_distribution<double> u(0.2, 1.0);
        std::vector<T> a(5), b(5);
        double worst = 0;
        for (int trial = 0; trial < 4000; ++trial) {
            R sum = 0;
            for (std::size_t i = 0; i < 5; ++i) {
                a[i] = std::sqrt(m) * static_cast<T>(u(rng));
                b[i] = -std::sqrt(m) * static_cast<T>(u(rng) - 0.6);
                const R d = static_cast<R>(a[i]) - static_cast<R>(b[i]);
                sum += d * d;
            }
            worst = std::max(
                {worst, rel_ulps(xact::mse_loss(a.data(), b.data(), 5, reduction::sum), sum),
                 rel_ulps(xact::mse_loss(a.data(), b.data(), 5, reduction::mean), sum / 5)});
        }
        CHECK(worst <= 1);
    }
    // The reduced forms with dloss: sum (k = dloss) and mean over n (k = dloss / n).
    for (const reduction r : {reduction::sum, reduction::mean}) {
        for (const T dloss : {-big, T(1), T(-1e-20)}) {
            xact::mse_loss_backward(x.data(), t.data(), dx.data(), n, r, dloss);
            for (std::size_t i = 0; i < n; ++i) {
                const R d = static_cast<R>(x[i]) - static_cast<R>(t[i]);
                const R k = static_cast<R>(dloss) /
                            (r == reduction::mean ? static_cast<R>(static_cast<double>(n)) : R(1));
                INFO("x = " << x[i] << ", t = " << t[i] << ", dloss = " << dloss);
                CHECK(rel_ulps(dx[i], R(2) * k * d) <= 1);
            }
        }
    }
}

/// Inputs for loss D whose terms (or partial sums) exceed the largest finite value while their
/// mean does not: mse x = sqrt(max) v, |v| < 1.3 (squares up to 1.69 max), t small; mae x in
/// (0, max), t in (-max / 2, 0) (differences up to 1.5 max); bce x in (-max, max), t in
/// [0, 1] (terms up to max).
template <class T, class D>
elem_data<T> make_huge(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0), u01(0.0, 1.0);
    const double mx = static_cast<double>(std::numeric_limits<T>::max());
    elem_data<T> d;
    d.x.resize(n);
    d.t.resize(n);
    d.g.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<D, mse_def>) {
            d.x[i] = static_cast<T>(std::sqrt(mx) * 1.3 * u(rng));
            d.t[i] = static_cast<T>(1e3 * u(rng));
        } else if constexpr (std::is_same_v<D, mae_def>) {
            d.x[i] = static_cast<T>(mx * u01(rng));
            d.t[i] = static_cast<T>(-0.5 * mx * u01(rng));
        } else {
            d.x[i] = static_cast<T>(mx * u(rng));
            d.t[i] = static_cast<T>(u01(rng));
        }
    }
    return d;
}

// The sum of the terms overflowed before the division by n (mse of values near 1e19 in
// float, mean of inf), or a term itself did (|x - t| above the largest finite value); and
// mse's gradient where x - t overflows but the gradient does not.
TEMPLATE_TEST_CASE("reduced elementwise losses whose sum overflows but whose mean does not",
                   "[loss]", float, double) {
    using T = TestType;
    using R = ref_t<T>;
    using L = std::numeric_limits<T>;
    const auto run = [](auto def) {
        using D = decltype(def);
        for (std::size_t n = 1; n <= 4 * simd_width<T> + 3; ++n) {
            const elem_data<T> d = make_huge<T, D>(n, 17 + n);
            for (const reduction r : {reduction::mean, reduction::sum}) {
                const R ref = ref_reduced<T, D>(d, r);
                const T v = D::reduced(d.x.data(), d.t.data(), n, r);
                INFO(D::name << ", n = " << n << (r == reduction::mean ? " mean" : " sum")
                             << ", reference " << static_cast<ld>(ref) << ", got " << v);
                // The sum is far beyond the largest finite value (inf expected) or far below it.
                CHECK(rel_ulps(v, ref) <= D::reduced_ulp);
            }
        }
    };
    run(mse_def{});
    run(mae_def{});
    run(bce_def{});
    // Truly infinite: an infinite input, or a mean beyond the largest finite value.
    const T mx = L::max(), inf = L::infinity();
    const std::vector<T> xs = {mx, mx, T(1)}, ts = {-mx, -mx, T(0)};
    CHECK(xact::mse_loss(xs.data(), ts.data(), 3) == inf);
    CHECK(xact::mae_loss(xs.data(), ts.data(), 3) == inf); // mean (4 max + 1) / 3
    const std::vector<T> xi = {T(1), inf, T(2)}, ti = {T(0), T(0), T(0)};
    CHECK(xact::mse_loss(xi.data(), ti.data(), 3) == inf);
    CHECK(xact::mae_loss(xi.data(), ti.data(), 3, reduction::sum) == inf);
    CHECK(xact::binary_cross_entropy_with_logits(xi.data(), ti.data(), 3) == inf);
    // mean of {max, max}: the same largest finite value, not inf.
    const std::vector<T> xm = {mx, mx}, tm = {T(0), T(0)};
    CHECK(xact::mae_loss(xm.data(), tm.data(), 2) == mx);
    CHECK(xact::binary_cross_entropy_with_logits(xm.data(), tm.data(), 2) == mx);
    // mse gradients where x - t overflows but 2 (x - t) k does not (k = 1 / n, or dout).
    {
        const std::size_t n = 3 * simd_width<T> + 1;
        std::vector<T> x(n), t(n), g(n), dx(n);
        for (std::size_t i = 0; i < n; ++i) {
            x[i] = (i % 2 ? T(-1) : T(1)) * mx / T(1 + i % 3);
            t[i] = (i % 2 ? T(1) : T(-1)) * mx * T(0.75);
            g[i] = (i % 3 ? T(1) : T(-1)) / T(1 << (4 + i % 5));
        }
        t[1] = L::denorm_min(); // a subnormal partner of a huge x: halved inexactly
        xact::mse_loss_backward(x.data(), t.data(), dx.data(), n, reduction::mean, T(0.25));
        for (std::size_t i = 0; i < n; ++i) {
            const R d = R(x[i]) - R(t[i]);
            INFO("mean: x = " << x[i] << ", t = " << t[i]);
            CHECK(rel_ulps(dx[i], R(0.5) * d / R(static_cast<double>(n))) <= mse_def::grad_ulp);
        }
        xact::mse_loss_backward(x.data(), t.data(), g.data(), dx.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
            const R d = R(x[i]) - R(t[i]);
            INFO("dout: x = " << x[i] << ", t = " << t[i] << ", dout = " << g[i]);
            CHECK(rel_ulps(dx[i], R(2) * R(g[i]) * d) <= mse_def::grad_ulp);
        }
    }
    // bce with targets outside [0, 1]: terms of both signs, 1.26 max and -0.36 max; the error
    // bound is relative to the sum of their magnitudes.
    const std::vector<T> xb = {T(0.9) * mx, T(0.9) * mx}, tb = {T(-0.4), T(1.4)};
    for (const reduction r : {reduction::mean, reduction::sum}) {
        ref_sum<R> ref, mag;
        for (std::size_t i = 0; i < 2; ++i) {
            const R l = bce_def::loss(R(xb[i]), R(tb[i]));
            ref.add(l);
            mag.add(rm::fabs(l));
        }
        const R k = r == reduction::mean ? R(2) : R(1);
        const T v = xact::binary_cross_entropy_with_logits(xb.data(), tb.data(), 2, r);
        INFO((r == reduction::mean ? "mean " : "sum ") << v);
        CHECK(abs_ulps(v, ref.value() / k, mag.value() / k) <= bce_def::reduced_ulp);
    }
}

/// Cross-entropy case {6, 7, inner} whose every third row has logit +h on class 0 and -h on
/// class 1, with class target `target` or probability targets p on classes 0, 1, 2 (0 on the
/// others); the other rows as make_ce gives them.
template <class T>
ce_data<T> make_ce_extreme(bool prob, std::size_t inner, std::uint64_t seed, T h,
                           std::int64_t target, const std::array<T, 3>& p) {
    const extents e{6, 7, inner};
    ce_data<T> d = make_ce<T>(e, prob, 3.0, seed);
    for (std::size_t r = 0; r < e.outer * inner; r += 3) {
        const std::size_t base = (r / inner) * e.axis * inner + r % inner;
        d.x[base] = h;
        d.x[base + inner] = -h;
        if (prob) {
            for (std::size_t c = 0; c < e.axis; ++c) d.p[base + c * inner] = c < 3 ? p[c] : T(0);
        } else {
            d.y[r] = target;
        }
    }
    return d;
}

// Cross-entropy rows whose loss m - x_y (or Z, QZ with label smoothing) exceeds the largest
// finite value, among ordinary rows: the per-row loss is inf (its true value is beyond the
// range), the mean is finite; reduced calls sum the rows again from scaled linear terms.
TEMPLATE_TEST_CASE("reduced cross_entropy whose row losses overflow but whose mean does not",
                   "[loss]", float, double) {
    using T = TestType;
    using R = ref_t<T>;
    using L = std::numeric_limits<T>;
    const T h = L::max() * T(0.6);
    for (const bool prob : {false, true})
        for (const std::size_t inner : {std::size_t(1), std::size_t(3)})
            for (const double eps : {0.0, 0.1}) {
                // The target (or a target weight of 1/2) on class 1: a row loss of about
                // 1.2 max.
                const ce_data<T> d =
                    make_ce_extreme<T>(prob, inner, 40 + inner, h, 1, {T(0), T(0.5), T(0.5)});
                const extents e = d.e;
                const std::size_t rows = e.outer * e.inner;
                xact::cross_entropy_options o;
                o.label_smoothing = eps;
                const auto ref = ce_reference(d, o);
                ref_sum<R> sum;
                for (std::size_t r = 0; r < rows; ++r) sum.add(ref.loss[r]);
                const void* tg = d.prob ? static_cast<const void*>(d.p.data()) : d.y.data();
                o.red = reduction::mean;
                const T mean = call_ce(d, d.x.data(), tg, o);
                o.red = reduction::sum;
                const T total = call_ce(d, d.x.data(), tg, o);
                const R want = sum.value() / R(static_cast<double>(ref.count));
                INFO((prob ? "prob" : "class")
                     << ", inner " << inner << ", eps " << eps << ": mean " << mean
                     << ", reference " << static_cast<ld>(want));
                CHECK(std::isfinite(mean));
                CHECK(rel_ulps(mean, want) <= ce_reduced_ulp);
                CHECK(total == L::infinity()); // the sum is beyond the range
            }
    // Truly infinite means stay so: a -inf logit on a target, or every row beyond the range.
    const T inf = L::infinity(), mx = L::max();
    const std::vector<T> x1 = {T(1), -inf, T(0), T(2), T(0), T(1)};
    const std::vector<std::int64_t> y1 = {1, 0};
    CHECK(xact::cross_entropy(x1.data(), y1.data(), extents{2, 3, 1}) == inf);
    const std::vector<T> x2 = {mx, -mx, mx, -mx};
    const std::vector<std::int64_t> y2 = {1, 1};
    CHECK(xact::cross_entropy(x2.data(), y2.data(), extents{2, 2, 1}) == inf);
}

// Per-row losses (reduction::none) that are finite while their terms overflow: logits +h on
// class 0 and -h on class 1 with the target on class 0 and label smoothing (Z = sum m - x_j
// is beyond the range, the loss about 0.1 h), or probability targets 0.9 / 0.1 (0.1 (m - x_1)
// with m - x_1 = 2h). Such rows are computed again from scaled logits (found by a review).
TEMPLATE_TEST_CASE("cross_entropy per row: finite losses whose terms overflow", "[loss]", float,
                   double) {
    using T = TestType;
    using L = std::numeric_limits<T>;
    const T h = L::max() * T(0.6);
    for (const bool prob : {false, true})
        for (const std::size_t inner : {std::size_t(1), std::size_t(3)})
            for (const double eps : {0.0, 0.1}) {
                const ce_data<T> d =
                    make_ce_extreme<T>(prob, inner, 80 + inner, h, 0, {T(0.9), T(0.1), T(0)});
                const std::size_t rows = d.e.outer * d.e.inner;
                xact::cross_entropy_options o;
                o.label_smoothing = eps;
                const auto ref = ce_reference(d, o);
                const void* tg = d.prob ? static_cast<const void*>(d.p.data()) : d.y.data();
                std::vector<T> out(rows);
                call_ce_none(d, d.x.data(), tg, out.data(), o);
                for (std::size_t r = 0; r < rows; ++r) {
                    INFO((prob ? "prob" : "class")
                         << ", inner " << inner << ", eps " << eps << ", row " << r << ": got "
                         << out[r] << ", reference " << static_cast<ld>(ref.loss[r]));
                    if (ref.ignored[r]) {
                        CHECK(bits(out[r]) == bits(T(0)));
                    } else {
                        CHECK(std::isfinite(out[r]));
                        CHECK(rel_ulps(out[r], ref.loss[r]) <= ce_row_ulp);
                    }
                }
            }
    // A row whose true loss is beyond the range stays inf: 1.2 max.
    const std::vector<T> x = {h, -h};
    const std::int64_t y = 1;
    T loss = 0;
    xact::cross_entropy(x.data(), &y, &loss, extents{1, 2, 1});
    CHECK(loss == L::infinity());
}

// Found by the fuzzer: the gradient of cross-entropy lost softmax_j where it underflows
// before the scaling by dloss (logits [104, -0.625], dloss 1024), and the loss of a double
// row whose terms are each below denorm_min lost them (here 4.4 denorm_min).
TEMPLATE_TEST_CASE("cross_entropy: terms below the subnormal range still count", "[loss]", float,
                   double) {
    using T = TestType;
    using R = ref_t<T>;
    const bool f32 = std::is_same_v<T, float>;
    // Gradient: [hi, lo] with target 0 and dloss = 2^p: dlogits[1] = 2^p e^(lo - hi) / S.
    const T hi = f32 ? T(104) : T(745), lo = T(-0.625);
    const T dloss = f32 ? T(1024) : T(0x1p40);
    for (const extents& e : {extents{1, 2, 1}, extents{1, 2, 3}}) {
        std::vector<T> x(2 * e.inner), dx(2 * e.inner);
        for (std::size_t j = 0; j < e.inner; ++j) {
            x[j] = hi;
            x[e.inner + j] = lo;
        }
        const std::vector<std::int64_t> y(e.inner, 0);
        xact::cross_entropy_options o;
        o.red = reduction::sum;
        xact::cross_entropy_backward(x.data(), y.data(), dx.data(), e, o, dloss);
        const R s = rm::exp(static_cast<R>(lo) - static_cast<R>(hi));
        const R want = static_cast<R>(dloss) * s / (1 + s);
        for (std::size_t j = 0; j < e.inner; ++j) {
            INFO("inner = " << e.inner << ", got " << dx[e.inner + j]);
            CHECK(rel_ulps(dx[e.inner + j], want) <= 4);
            CHECK(rel_ulps(dx[j], -static_cast<R>(dloss) * s / (1 + s)) <= 4);
        }
    }
    // Loss: one logit 0 (the target) and 64 logits whose terms e^x are each below denorm_min
    // but sum to several denorm_min.
    const std::size_t C = 65;
    std::vector<T> x(C);
    x[0] = T(0);
    R sum = 0;
    for (std::size_t j = 1; j < C; ++j) {
        x[j] = f32 ? T(-104.5) - T(0.01) * T(j) : T(-745.5) - T(0.01) * T(j);
        sum += rm::exp(static_cast<R>(x[j]));
    }
    const std::int64_t y = 0;
    T loss = 0;
    xact::cross_entropy(x.data(), &y, &loss, extents{1, C, 1});
    INFO("sum of the terms " << static_cast<double>(sum) << ", got " << loss);
    CHECK(rel_ulps(loss, rm::log1p(sum)) <= 1);
}

TEMPLATE_TEST_CASE("cross_entropy: gradients with strong label smoothing and huge scalings",
                   "[loss]", float, double) {
    // Found by the fuzzer (double, SSE2): q_j = (1 - eps) p_j + eps / C dominates the
    // gradient, whose numerator Q e - q S is formed at the scale 2^K of k (K = 506 here).
    // Without FMA its products were not split beyond 2^100 and the emulated fma rounded
    // twice: 4.31 ULP against the bound of 4.
    using T = TestType;
    using R = ref_t<T>;
    const double eps = 249.0 / 255.0;
    const bool f32 = std::is_same_v<T, float>;
    const T xr[4] = {T(28), T(f32 ? -1e30 : -0x1.1dab746cbe41dp+153), T(-0x1.b2e0f7de3d8bep-1),
                     T(-0x1.4484bfeebc29fp-100)};
    const T pr[4] = {T(0.5), T(0x1.d3f23e88p-1), T(0x1.c227d7d8p-2), T(0.5)};
    const std::size_t rows = 18, C = 4;
    std::vector<T> x(rows * C, T(0)), p(rows * C, T(0.25)), dx(rows * C);
    for (std::size_t c = 0; c < C; ++c) {
        x[c] = xr[c];
        p[c] = pr[c];
    }
    xact::cross_entropy_options o;
    o.label_smoothing = eps;
    xact::cross_entropy_backward(x.data(), p.data(), dx.data(), extents{rows, C, 1}, o, T(0.5));
    const R e = static_cast<R>(eps);
    R S = 0, Q = 0, q[4];
    for (std::size_t c = 0; c < C; ++c) {
        S += rm::exp(static_cast<R>(xr[c]) - static_cast<R>(xr[0]));
        q[c] = (1 - e) * static_cast<R>(pr[c]) + e / R(4);
        Q += q[c];
    }
    const R k = R(0.5) / R(18);
    for (std::size_t c = 0; c < C; ++c) {
        const R want = k * (Q * rm::exp(static_cast<R>(xr[c]) - static_cast<R>(xr[0])) / S - q[c]);
        INFO("class " << c << ": got " << dx[c]);
        CHECK(rel_ulps(dx[c], want) <= 4);
    }
}

// A review found the target's gradient of a confident row ([0, -20], target 0) exactly 0 once
// the upstream gradient reached about 2^36 (float) or 2^388 (double): the numerator Q e - q S,
// formed at the scale 2^K of k, dropped the low part of q S beyond 2^100 (2^900) also with
// FMA. Class and probability targets, last axis and a strided axis, reduced and per row.
TEMPLATE_TEST_CASE("cross_entropy: a confident row's gradient under a huge upstream gradient",
                   "[loss]", float, double) {
    using T = TestType;
    using R = ref_t<T>;
    const R sm1 = rm::exp(R(-20)) / (1 + rm::exp(R(-20)));
    const bool f32 = std::is_same_v<T, float>;
    const std::vector<T> scales = f32 ? std::vector<T>{T(0x1p36), T(1e11), T(0x1p60), T(1e30)}
                                      : std::vector<T>{T(0x1p388), T(1e117), T(1e200), T(1e300)};
    for (const extents& e : {extents{1, 2, 1}, extents{2, 2, 3}, extents{1, 2, 17}}) {
        const std::size_t n = e.size(), rows = e.outer * e.inner;
        std::vector<T> x(n), p(n, T(0)), g(n);
        for (std::size_t o = 0; o < e.outer; ++o)
            for (std::size_t j = 0; j < e.inner; ++j) {
                x[(o * 2 + 0) * e.inner + j] = T(0);
                x[(o * 2 + 1) * e.inner + j] = T(-20);
                p[(o * 2 + 0) * e.inner + j] = T(1);
            }
        const std::vector<std::int64_t> y(rows, 0);
        xact::cross_entropy_options o;
        o.red = reduction::sum;
        for (const T k : scales)
            for (int variant = 0; variant < 3; ++variant) {
                INFO("extents {" << e.outer << ", 2, " << e.inner << "}, k " << k << ", variant "
                                 << variant);
                const std::vector<T> dout(rows, k);
                if (variant == 0)
                    xact::cross_entropy_backward(x.data(), y.data(), g.data(), e, o, k);
                else if (variant == 1)
                    xact::cross_entropy_backward(x.data(), p.data(), g.data(), e, o, k);
                else
                    xact::cross_entropy_backward(x.data(), y.data(), dout.data(), g.data(), e);
                for (std::size_t r = 0; r < e.outer; ++r)
                    for (std::size_t j = 0; j < e.inner; ++j) {
                        CHECK(rel_ulps(g[(r * 2) * e.inner + j], -R(k) * sm1) <= 4);
                        CHECK(rel_ulps(g[(r * 2 + 1) * e.inner + j], R(k) * sm1) <= 4);
                    }
            }
    }
}

// binary_cross_entropy_with_logits accepts targets outside [0, 1]. A review found the gradient
// -inf where |t| 2^K overflows (K = exponent(k) + 64 or + 512, the scale that keeps the
// logistic's tail): x = 0, t = 2e19 gave -inf for -2e19. And a reduced loss whose terms
// overflow with both signs gave NaN (inf - inf) instead of taking the rescaled pass.
TEMPLATE_TEST_CASE("binary_cross_entropy_with_logits: targets far outside [0, 1]", "[loss]", float,
                   double) {
    using T = TestType;
    using R = ref_t<T>;
    const bool f32 = std::is_same_v<T, float>;
    const std::vector<T> xs = {T(0), T(1), T(-3), T(40), T(-50)};
    const std::vector<T> ts = f32 ? std::vector<T>{T(5), T(2e19), T(-5e25), T(1e30)}
                                  : std::vector<T>{T(5), T(1e160), T(-1e200), T(1e300)};
    const std::vector<T> ks =
        f32 ? std::vector<T>{T(1), T(1e20), T(1e-20)} : std::vector<T>{T(1), T(1e150), T(1e-150)};
    std::vector<T> x, t;
    for (const T xv : xs)
        for (const T tv : ts) {
            x.push_back(xv);
            t.push_back(tv);
        }
    std::vector<T> dx(x.size()), dout(x.size());
    for (const T k : ks) {
        std::fill(dout.begin(), dout.end(), k);
        for (int each = 0; each < 2; ++each) {
            if (each == 0)
                xact::binary_cross_entropy_with_logits_backward(x.data(), t.data(), dx.data(),
                                                                x.size(), reduction::sum, k);
            else
                xact::binary_cross_entropy_with_logits_backward(x.data(), t.data(), dout.data(),
                                                                dx.data(), x.size());
            for (std::size_t i = 0; i < x.size(); ++i) {
                const R want = R(k) * bce_def::grad(static_cast<R>(x[i]), static_cast<R>(t[i]));
                INFO("x " << x[i] << ", t " << t[i] << ", k " << k << ", each " << each << ": got "
                          << dx[i]);
                CHECK(rel_ulps(dx[i], want) <= bce_def::grad_ulp);
            }
        }
    }
    // Terms of both signs beyond the range: x (1 - t) = +-1e60 (float) whose sum is 2e30.
    const T big = f32 ? T(1e30) : T(1e200);
    const T xb[2] = {big, big}, tb[2] = {-big, big};
    for (const reduction r : {reduction::sum, reduction::mean}) {
        const T got = xact::binary_cross_entropy_with_logits(xb, tb, 2, r);
        R want = 0, mag = 0;
        for (int i = 0; i < 2; ++i) {
            want += bce_def::loss(static_cast<R>(xb[i]), static_cast<R>(tb[i]));
            mag += rm::fabs(static_cast<R>(xb[i]) * (1 - static_cast<R>(tb[i])));
        }
        if (r == reduction::mean) {
            want /= 2;
            mag /= 2;
        }
        INFO("reduced " << (r == reduction::sum ? "sum" : "mean") << ": got " << got);
        CHECK(abs_ulps(got, want, mag) <= bce_def::reduced_ulp);
    }
}

// mse per element where (x - t)^2 is subnormal: p + p_lo was rounded to working precision and
// then to the subnormal grid, a double rounding where the first landed on a tie of the second
// (x = 0x1.804b0cp-64, t = 0: 0.75 ULP, found by a review). The bound is one rounding.
TEMPLATE_TEST_CASE("mse_loss per element rounds once also for subnormal results", "[loss]", float,
                   double) {
    using T = TestType;
    using R = ref_t<T>;
    const bool f32 = std::is_same_v<T, float>;
    std::mt19937_64 rng(11);
    std::uniform_int_distribution<int> ex(f32 ? -76 : -538, f32 ? -63 : -512);
    std::uniform_real_distribution<double> m(1.0, 2.0);
    const std::size_t n = 20000;
    std::vector<T> x(n), t(n), out(n);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = std::ldexp(static_cast<T>(m(rng)), ex(rng));
        // Half the cases with t = 0, half with a nearby t (x - t then exact or not).
        t[i] = i % 2 ? T(0) : static_cast<T>(x[i] * static_cast<T>(m(rng) - 1.5));
    }
    x[0] = f32 ? T(0x1.804b0cp-64) : T(0x1.e58c75607f47bp-512);
    t[0] = T(0);
    xact::mse_loss(x.data(), t.data(), out.data(), n);
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const R d = static_cast<R>(x[i]) - static_cast<R>(t[i]);
        const double err = rel_ulps(out[i], d * d);
        INFO("x " << x[i] << ", t " << t[i] << ": got " << out[i]);
        if (err > 0.5) CHECK(err <= 0.5);
        worst = std::max(worst, err);
    }
    CHECK(worst <= 0.5);
}

/// Upstream gradients for which dloss / n is subnormal or within 2^24 (2^53) of it.
template <class T>
std::vector<T> tiny_dloss_values() {
    using L = std::numeric_limits<T>;
    const bool f32 = std::is_same_v<T, float>;
    return {L::denorm_min(), L::denorm_min() * T(7),     L::min() / T(3),
            L::min(),        f32 ? T(1e-40) : T(1e-310), f32 ? T(3e-33) : T(3e-300)};
}

// A mean's gradient scale k = dloss / n was rounded to a subnormal before use: mse with
// dloss = 2^-149 over 3 elements gave 0 for 2 x / 3 dloss = 9.3e-16 (x = 1e30; found by a
// review). Such a k is now carried scaled by 2^64 (2^600) and dx scaled back.
TEMPLATE_TEST_CASE("elementwise loss gradients of a mean with a subnormal dloss / n", "[loss]",
                   float, double) {
    using T = TestType;
    using R = ref_t<T>;
    const std::vector<T> x = {T(1e30), T(-3e20), T(0.75), T(1e-3), T(2), T(-5e15), T(0)};
    const std::vector<T> t = {T(0), T(1), T(-0.25), T(0), T(2), T(0), T(1e-30)};
    const std::size_t n = x.size();
    std::vector<T> dx(n);
    for (const T dloss : tiny_dloss_values<T>()) {
        xact::mse_loss_backward(x.data(), t.data(), dx.data(), n, reduction::mean, dloss);
        for (std::size_t i = 0; i < n; ++i) {
            const R want = R(2) * (static_cast<R>(x[i]) - static_cast<R>(t[i])) *
                           static_cast<R>(dloss) / R(static_cast<double>(n));
            INFO("mse, dloss " << dloss << ", x " << x[i] << ": got " << dx[i]);
            CHECK(rel_ulps(dx[i], want) <= 1);
        }
        xact::mae_loss_backward(x.data(), t.data(), dx.data(), n, reduction::mean, dloss);
        for (std::size_t i = 0; i < n; ++i) {
            const R d = static_cast<R>(x[i]) - static_cast<R>(t[i]);
            const R want = (d > 0   ? R(1)
                            : d < 0 ? R(-1)
                                    : R(0)) *
                           static_cast<R>(dloss) / R(static_cast<double>(n));
            INFO("mae, dloss " << dloss << ", x " << x[i] << ": got " << dx[i]);
            CHECK(rel_ulps(dx[i], want) <= 1);
        }
    }
}

// The same for cross-entropy: its mean's k = dloss / count was rounded to a subnormal before
// use, which probability targets far above 1 magnify. Rows of logits {0, 1, -2, 0.5} with
// targets {1e20, 0, 3e15, 0} (double: 1e200, 0, 3e195, 0), dloss = 2^-149 (2^-1074): k = 0
// gave dlogits = 0 where the true values are near 1e-26 (1e-125).
TEMPLATE_TEST_CASE("cross_entropy gradients of a mean with a subnormal dloss / count", "[loss]",
                   float, double) {
    using T = TestType;
    using R = ref_t<T>;
    const bool f32 = std::is_same_v<T, float>;
    const T big = f32 ? T(1e20) : T(1e200), mid = f32 ? T(3e15) : T(3e195);
    const std::vector<T> row_x = {T(0), T(1), T(-2), T(0.5)};
    const std::vector<T> row_p = {big, T(0), mid, T(0)};
    const std::size_t C = row_x.size();
    for (const extents& e : {extents{3, C, 1}, extents{1, C, 5}}) {
        const std::size_t n = e.size(), rows = e.outer * e.inner;
        std::vector<T> x(n), p(n), g(n);
        for (std::size_t o = 0; o < e.outer; ++o)
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t j = 0; j < e.inner; ++j) {
                    x[(o * C + c) * e.inner + j] = row_x[c];
                    p[(o * C + c) * e.inner + j] = row_p[c];
                }
        const ce_row<R> ref =
            ce_reference_row(row_x.data(), 1, C, std::vector<R>(row_p.begin(), row_p.end()));
        for (const T dloss : tiny_dloss_values<T>()) {
            xact::cross_entropy_backward(x.data(), p.data(), g.data(), e, {}, dloss);
            const R k = static_cast<R>(dloss) / R(static_cast<double>(rows));
            for (std::size_t i = 0; i < n; ++i) {
                const std::size_t c = (i / e.inner) % C;
                INFO("extents {" << e.outer << ", " << C << ", " << e.inner << "}, dloss " << dloss
                                 << ", class " << c << ": got " << g[i]);
                CHECK(rel_ulps(g[i], k * ref.grad[c]) <= 4);
            }
        }
    }
}

// The reduced mse of tiny differences takes a second pass with x - t scaled by 2^64 (2^450)
// and scaled the result back as (v 2^-e) 2^-e: where v 2^-2e is subnormal, v's own rounding
// and the subnormal one made a double rounding (0.75 ULP, found by a review). One element and
// three equal elements (their sum and mean are exact in the reference type) must round once.
TEMPLATE_TEST_CASE("reduced mse_loss of tiny differences rounds once", "[loss]", float, double) {
    using T = TestType;
    using R = ref_t<T>;
    const bool f32 = std::is_same_v<T, float>;
    std::mt19937_64 rng(12);
    std::uniform_int_distribution<int> ex(f32 ? -76 : -538, f32 ? -63 : -505);
    std::uniform_real_distribution<double> m(1.0, 2.0);
    double worst = 0;
    for (int i = 0; i < 20000; ++i) {
        // i = 0, 1: the double roundings the review found (a tie of the second rounding).
        const T x = i < 2 ? (f32 ? T(0x1.804b0cp-64) : T(0x1.e58c75607f47bp-512))
                          : std::ldexp(static_cast<T>(m(rng)), ex(rng));
        const T t = i % 2 ? T(0) : static_cast<T>(x * static_cast<T>(m(rng) - 1.5));
        const R d = static_cast<R>(x) - static_cast<R>(t);
        const std::vector<T> xs(3, x), ts(3, t);
        for (const std::size_t n : {std::size_t(1), std::size_t(3)})
            for (const reduction r : {reduction::mean, reduction::sum}) {
                const T got = xact::mse_loss(xs.data(), ts.data(), n, r);
                const R want = r == reduction::sum ? R(static_cast<double>(n)) * d * d : d * d;
                const double err = rel_ulps(got, want);
                INFO("x " << x << ", t " << t << ", n " << n << ", sum " << (r == reduction::sum)
                          << ": got " << got);
                if (err > 0.5) CHECK(err <= 0.5);
                worst = std::max(worst, err);
            }
    }
    CHECK(worst <= 0.5);
}
