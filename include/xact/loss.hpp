// xact — losses: mean squared error, mean absolute error, cross-entropy with logits (class
// indices or probabilities, along an axis) and binary cross-entropy with logits; the loss and
// its gradient, with the reductions mean (default), sum and none. T is float or double.
//
//   mse:  l_i = (x_i - t_i)^2                     dl_i/dx_i = 2 (x_i - t_i)
//   mae:  l_i = |x_i - t_i|                       dl_i/dx_i = sign(x_i - t_i) (0 at x == t)
//   bce:  l_i = softplus(x_i) - x_i t_i            dl_i/dx_i = sigmoid(x_i) - t_i
//   ce:   l_r = -sum_j q_j log_softmax(x_r)_j     dl_r/dx_rj = Q softmax(x_r)_j - q_j, Q = sum q
//         q = (1 - eps) onehot(y_r) + eps / C  (class index y_r), or (1 - eps) p_r + eps / C
//         (probabilities p_r); the classes run along e.axis (stride e.inner), one row r per
//         (outer, inner) index, r = o * inner + j.
//
// Reductions: mean divides the sum by n (elementwise losses), by the number of rows whose
// target is not ignore_index (class-index cross-entropy) or by outer * inner (probability
// targets). The backward overloads with a scalar dloss write dloss * d(reduced loss)/dx; with
// reduction::none they write dloss * dl_i/dx_i. The overloads with `dout` take one upstream
// gradient per element (per row for cross-entropy).
//
// Accuracy, in ULP of the true value (bounds checked by tests/test_loss.cpp; measured maxima,
// float / double, over its cases and a 12 times larger random sweep, AVX2+FMA, SSE2 and
// AVX-512 alike):
//   * mse, mae: x - t is taken exactly (TwoSum) and (x - t)^2 as an exact product p + p_lo, so
//     per-element values round once (<= 0.5 ULP) and gradients about once (bound 1; measured
//     0.50 / 0.50). Reduced: bound 1, measured 0.50.
//   * bce: A = max(x, 0) - x t = x (1 - t) or -x t, and log1p(e^-|x|) = xact::softplus{}(-|x|)
//     (<= 1.2 ULP), added as a double-word: both terms are >= 0 for t in [0, 1], so no
//     cancellation: bound 3, measured 1.97 / 1.88 per element, 0.72 / 0.66 reduced (for t
//     outside [0, 1] the error is relative to the sum of |terms|). Gradient (1 - t) -
//     sigmoid(-x) for x > 0, sigmoid(x) - t otherwise (xact::sigmoid): error relative to
//     |sigmoid(x)| + |t| (the terms cancel), bound 3, measured 2.2 / 1.9.
//   * cross-entropy, per row: m = max_j x_j, x_j - m taken exactly (TwoSum) and e^(x_j - m)
//     formed from that double-word; K = the number of j with x_j == m (each term exactly 1),
//     S' = the compensated sum of the other terms, L = log(K + S') = log1p((K - 1) + S') with
//     xact::math's log1p of a double-word, so a loss as small as log1p(e^-20) = 2.06e-9 keeps
//     full precision. -log_softmax_j = (m - x_j) + L (two terms >= 0), so a row loss is a sum
//     of non-negative terms (for targets in [0, 1]): bound 3, measured 1.74 / 1.49 (class
//     index), 2.33 / 2.02 (probabilities). Gradient (Q e_j - q_j S) / S with q_j S exact and
//     1 / S a double-word: error relative to |Q softmax_j| + |q_j|, bound 4, measured 3.37 /
//     3.31; relative to the value itself where it is tiny (the target of a row with a tiny
//     loss: d/dx_0 ce([0, -20], 0) = -2.06e-9 within 4 ULP).
//   * reduced values: compensated summation (TwoSum) in a fixed order, then one division by the
//     count: within about 1 ULP of the exact sum of the rounded terms; measured 1.51 / 1.38
//     (class index) and 1.82 / 1.56 (probabilities) for cross-entropy.
//   The label-smoothing weights 1 - eps, eps / C and (1 - eps) + eps / C are computed in double
//   and rounded to T once; probability weights are (1 - eps) p + eps / C with one rounding.
//
// Summation order (deterministic: it depends only on n, or on the extents, and on the SIMD
// width W of the build; never on alignment, in-place use or threads). Every addition is a
// TwoSum whose error is added into a compensation term; partial sums start at +0.
//   * mse / mae / bce: element i belongs to lane i mod W of partial sum (i / W) mod 4; the
//     partial sums are combined lane by lane as (P0 + P1) + (P2 + P3), then lanes 0 .. W-1
//     in order; the result is s + c (mean: (s + c) / n, rounded once). Where that overflows
//     (a term or a partial sum beyond the largest finite value) the terms are summed again
//     from inputs scaled by 2^-88 (float) or 2^-600 (double) and the result scaled back, so a
//     finite mean (mse of values near 1e19 in float) is not returned as inf.
//   * cross-entropy: the row losses (each a double-word) in row order r = 0, 1, ...; within a
//     row with e.inner == 1, class j belongs to lane j mod W, lanes added in order; with
//     e.inner > 1 the classes of a row are added in order (rows sit in SIMD lanes). Where the
//     reduced value overflows, the rows are summed again with their linear terms (m - x_y, Z,
//     QZ) from logits scaled by 2^-88 / 2^-600 and L scaled the same, then scaled back;
//     reduction::none computes each row whose loss came out infinite again the same way.
//
// Special values. NaN in x, t or a cross-entropy row gives NaN (the whole row's gradient is
// NaN); an ignored row gives loss 0 and gradient 0 whatever its logits. Cross-entropy rows
// holding +inf: the limit (softmax 1/k on the k +inf entries): loss log k for a target on
// one of them, +inf otherwise. An all -inf row gives NaN (undefined). A -inf logit gives loss
// +inf when its target weight q_j > 0 and contributes nothing when q_j == 0 (0 log 0 = 0).
// bce at x = ±inf: the limits (0 for x = +inf, t = 1; +inf for t < 1).
//
// Deviations from PyTorch, deliberate: (1) a loss term whose weight is exactly zero
// contributes 0 even when its log-probability is -inf (PyTorch gives NaN for 0 * inf), in
// probability targets and with label_smoothing == 1; (2) the limits above for ±inf inputs
// (PyTorch gives NaN); (3) tiny cross-entropy losses are not rounded to 0 (PyTorch returns 0
// for ce([0, -20], 0) in float). As PyTorch: mean over an empty input (n == 0, no rows, or
// every row ignored) is NaN, sum is 0; the gradient of a call whose rows are all ignored is 0.
// Rows with e.axis == 0 (no classes) have loss 0; class-index targets must then all be
// ignore_index.
//
// Preconditions, checked once per call before anything is written (std::invalid_argument,
// or XACT_ERROR_HANDLER without exceptions): pointers non-null when their array is not
// empty; reduction::none not passed to an overload returning a scalar; label_smoothing in
// [0, 1] (not NaN); every class index in [0, e.axis) or equal to ignore_index; extents whose
// size overflows. Outputs must not overlap inputs, except exactly (in place): out may equal x
// or target; dx may equal x, target or dout; dlogits may equal logits (and, for probability
// targets, target). The per-row out / dout of cross-entropy must not overlap any other array.
// Nothing is allocated on the heap (a few SIMD-width stack buffers).
#pragma once

#include "algorithm.hpp"
#include "extents.hpp"
#include "functions/sigmoid.hpp"
#include "functions/softplus.hpp"
#include "math/exp.hpp"
#include "math/log1p.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

XACT_DIAGNOSTIC_PUSH

namespace xact {

/// How per-element (per-row) losses are reduced: their mean (default), their sum, or not at
/// all (the array overloads).
enum class reduction { mean, sum, none };

/// Options of cross_entropy, as PyTorch's: the reduction, the class index whose rows are
/// ignored (class-index targets only), and the label smoothing eps in [0, 1].
struct cross_entropy_options {
    reduction red = reduction::mean;
    std::int64_t ignore_index = -100;
    double label_smoothing = 0;
};

namespace detail {

// ---------------------------------------------------------------- errors

/// Throws std::invalid_argument "fn: what" (the message names the argument).
[[noreturn]] inline void loss_error(const char* fn, const char* what) {
    invalid_argument((std::string(fn) + ": " + what).c_str());
}

/// T in a non-deduced context: a scalar dloss of another type (0.5 for a float loss) converts.
template <class T>
struct nondeduced {
    using type = T;
};
template <class T>
using nondeduced_t = typename nondeduced<T>::type;

// ---------------------------------------------------------------- double-word arithmetic

/// An unevaluated sum hi + lo.
template <class V>
struct dw {
    V hi, lo;
};

template <class V>
XACT_INLINE V inf_of() noexcept {
    return splat<V>(std::numeric_limits<scalar_t<V>>::infinity());
}

/// a + b = hi + lo exactly (Knuth's TwoSum: any order of magnitude; finite operands and sum).
template <class V>
XACT_INLINE dw<V> two_sum(const V& a, const V& b) noexcept {
    dw<V> r;
    two_sum(a, b, r.hi, r.lo);
    return r;
}

/// a - b = hi + lo exactly (TwoSum of a and -b, without forming -b).
template <class V>
XACT_INLINE dw<V> two_diff(const V& a, const V& b) noexcept {
    const V s = a - b;
    const V bb = s - a; // ~ -b
    return {s, (a - (s - bb)) - (b + bb)};
}

/// a b + c + c_lo (|c_lo| <= ulp(c)) as fma_prod below, c_lo joining before the last
/// rounding where there is no FMA (detail::fma_exact_product).
template <class V>
XACT_INLINE V fma_prod(const V& a, const V& b, const V& c, const V& c_lo) noexcept {
#if XACT_HAS_FMA
    return detail::fma(a, b, c) + c_lo;
#else
    const V p = a * b;
    return detail::select(detail::abs(p) < inf_of<V>(), detail::fma_exact_product(a, b, c, c_lo),
                          (p + c) + c_lo);
#endif
}
/// a b + c with the product exact: the fma where the target has FMA, else Dekker's product
/// (fma_exact_product), except where a b overflows (there Dekker's low part is NaN): a b + c.
template <class V>
XACT_INLINE V fma_prod(const V& a, const V& b, const V& c) noexcept {
#if XACT_HAS_FMA
    return detail::fma(a, b, c);
#else
    return fma_prod(a, b, c, splat<V>(0)); // bitwise the same as without c_lo
#endif
}

/// (kh + kl)(gh + gl) with about one rounding: kh gh + (kh gl + kl gh), the product kept
/// exact; where kh gh is not finite simply kh gh (the low terms would turn inf into NaN).
template <class V>
XACT_INLINE V mul_dw(const V& kh, const V& kl, const V& gh, const V& gl) noexcept {
    const V p = kh * gh;
    const auto finite = detail::abs(p) < inf_of<V>();
    const V lo = detail::select(finite, detail::fma(kh, gl, kl * gh), splat<V>(0));
    return detail::select(finite, fma_prod(kh, gh, lo), p);
}

/// A compensated sum: s + c, every addition a TwoSum whose error goes into c.
template <class V>
struct compensated {
    V s, c;
    XACT_INLINE void add(const V& v) noexcept {
        const dw<V> t = two_sum(s, v);
        s = t.hi;
        c = c + t.lo;
    }
    /// Adds the double-word h + lo.
    XACT_INLINE void add(const V& h, const V& lo) noexcept {
        add(h);
        c = c + lo;
    }
};

template <class V>
XACT_INLINE compensated<V> compensated_zero() noexcept {
    return {splat<V>(0), splat<V>(0)};
}

/// a + b, lane by lane.
template <class V>
XACT_INLINE compensated<V> merge(const compensated<V>& a, const compensated<V>& b) noexcept {
    const dw<V> t = two_sum(a.s, b.s);
    return {t.hi, (a.c + b.c) + t.lo};
}

/// The lanes of v added in order 0, 1, ..., W - 1.
template <class T, class A>
XACT_INLINE compensated<T> reduce_lanes(const compensated<xsimd::batch<T, A>>& v) noexcept {
    constexpr std::size_t W = xsimd::batch<T, A>::size;
    alignas(64) T s[W];
    alignas(64) T c[W];
    detail::store(s, v.s);
    detail::store(c, v.c);
    compensated<T> r{s[0], c[0]};
    for (std::size_t l = 1; l < W; ++l) r.add(s[l], c[l]);
    return r;
}

/// s + c rounded once; s itself when it is not finite (c is then meaningless).
template <class T>
inline T sum_value(const compensated<T>& a) noexcept {
    return std::isfinite(a.s) ? a.s + a.c : a.s;
}

/// (s + c) / n, rounded about once; NaN for n == 0 (the mean of nothing, as PyTorch).
template <class T>
inline T mean_value(const compensated<T>& a, std::size_t n) noexcept {
    if (n == 0) return std::numeric_limits<T>::quiet_NaN();
    const double N = static_cast<double>(n);
    if (!std::isfinite(a.s)) return static_cast<T>(static_cast<double>(a.s) / N);
    if constexpr (std::is_same_v<T, float>) {
        // Exact in double (c is tiny against s), one rounding of the quotient, one to float.
        return static_cast<float>((static_cast<double>(a.s) + static_cast<double>(a.c)) / N);
    } else {
        // q corrected once by the exact residual h - q N (N exact below 2^53).
        const dw<double> h = two_sum(a.s, a.c);
        const double q = h.hi / N;
        const double r = std::fma(-q, N, h.hi) + h.lo;
        return q + r / N;
    }
}

/// (s + c) / n times f (a power of two, 2^-128 or 2^-900), rounded once also where the result
/// is subnormal; s must be finite. A rounded (s + c) / n scaled by f would round twice there
/// (0.75 ULP).
template <class T>
inline T scaled_value(const compensated<T>& a, std::size_t n, double f) noexcept {
    const double N = static_cast<double>(n);
    if constexpr (std::is_same_v<T, float>) {
        // Exact in double but for the quotient's rounding at 2^-53; f scales exactly there.
        return static_cast<float>((static_cast<double>(a.s) + static_cast<double>(a.c)) / N * f);
    } else {
        dw<double> h = two_sum(a.s, a.c);
        if (n > 1) { // the quotient as q + lo, lo = (h - q N) / N rounded (far below q's ULP)
            const double q = h.hi / N;
            h = two_sum(q, (std::fma(-q, N, h.hi) + h.lo) / N);
        }
        // v = h.hi f rounds once; where that rounding was an exact tie, h.lo decides it.
        const double v = h.hi * f, rem = h.hi - v / f; // exact: v / f is a multiple of ulp(h.hi)
        const double half = 0x1p-1074 / f * 0.5;       // half the spacing of v's grid, scaled
        if (h.lo > 0 && rem == half) return v + 0x1p-1074;
        if (h.lo < 0 && rem == -half) return v - 0x1p-1074;
        return v;
    }
}

/// v * factor / n (n >= 1) as hi + lo: hi rounded once, lo the rest (0 where hi is not finite).
template <class T>
struct scale {
    T hi, lo;
};
template <class T>
inline scale<T> scale_of(T v, double factor, std::size_t n) noexcept {
    const double N = static_cast<double>(n);
    if constexpr (std::is_same_v<T, float>) {
        const double q = factor * static_cast<double>(v) / N; // factor is 1 or 2: exact product
        const float hi = static_cast<float>(q);
        return {hi, std::isfinite(hi) ? static_cast<float>(q - static_cast<double>(hi)) : 0.0f};
    } else {
        const double w = factor * v;
        const double hi = w / N;
        return {hi, std::isfinite(hi) ? std::fma(-hi, N, w) / N : 0.0};
    }
}

/// dloss / div, the factor of a gradient. A mean's quotient near or in the subnormal range
/// would lose its low bits (dloss = 1e-40, div = 3: 1.4e-5 relative; dloss = 2^-149: 0), so
/// there it is formed from dloss 2^64 (2^600) and `scaled` is set: the caller then multiplies
/// dx by 2^-64 (2^-600) with unscale_grad, one more rounding only where dx is subnormal.
template <class T>
struct grad_scale {
    scale<T> k;
    bool scaled;
};
template <class T>
inline grad_scale<T> grad_scale_of(T dloss, std::size_t div) noexcept {
    constexpr bool f32 = std::is_same_v<T, float>;
    const scale<T> k = scale_of(dloss, 1.0, div);
    if (div > 1 && dloss != T(0) &&
        std::abs(k.hi) < std::numeric_limits<T>::min() * (f32 ? T(0x1p24) : T(0x1p53)))
        return {scale_of(T(dloss * (f32 ? T(0x1p64) : T(0x1p600))), 1.0, div), true};
    return {k, false};
}

/// dx *= 2^-64 (2^-600): the second pass after a gradient formed with a scaled grad_scale.
template <class Arch, class T>
void unscale_grad(T* dx, std::size_t n) noexcept {
    const T back = std::is_same_v<T, float> ? T(0x1p-64) : T(0x1p-600);
    map1<Arch>(dx, dx, n, [back](const auto& v) XACT_LAMBDA_INLINE {
        using V = std::decay_t<decltype(v)>;
        return v * V(back);
    });
}

// ---------------------------------------------------------------- loops

/// True for the lanes l < r.
template <class Arch, class T>
XACT_INLINE xsimd::batch_bool<T, Arch> lanes_below(std::size_t r) noexcept {
    using B = xsimd::batch<T, Arch>;
    alignas(64) T idx[B::size];
    for (std::size_t l = 0; l < B::size; ++l) idx[l] = static_cast<T>(l);
    return detail::load<T, Arch>(idx) < B(static_cast<T>(r));
}

/// The r <= W elements at p as a batch (zeros beyond r); reads nothing past p + r.
template <class Arch, class T>
XACT_INLINE xsimd::batch<T, Arch> load_part(const T* p, std::size_t r) noexcept {
    constexpr std::size_t W = xsimd::batch<T, Arch>::size;
    if (r == W) return detail::load<T, Arch>(p);
    return detail::load_partial<T, Arch>(p, r, T(0));
}

/// Stores the first r <= W lanes of v at p; writes nothing past p + r.
template <class Arch, class T>
XACT_INLINE void store_part(T* p, const xsimd::batch<T, Arch>& v, std::size_t r) noexcept {
    constexpr std::size_t W = xsimd::batch<T, Arch>::size;
    if (r == W) {
        detail::store(p, v);
        return;
    }
    detail::store_partial(p, v, r);
}

/// out[i] = op(a[i], b[i], c[i]) for i < n; the structure of map2.
template <class Arch, class T, class Op>
XACT_INLINE void map3(const T* a, const T* b, const T* c, T* out, std::size_t n,
                      const Op& op) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    std::size_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const B a0 = detail::load<T, Arch>(a + i), a1 = detail::load<T, Arch>(a + i + W);
        const B b0 = detail::load<T, Arch>(b + i), b1 = detail::load<T, Arch>(b + i + W);
        const B c0 = detail::load<T, Arch>(c + i), c1 = detail::load<T, Arch>(c + i + W);
        detail::store(out + i, op(a0, b0, c0));
        detail::store(out + i + W, op(a1, b1, c1));
    }
    for (; i + W <= n; i += W)
        detail::store(out + i, op(detail::load<T, Arch>(a + i), detail::load<T, Arch>(b + i),
                                  detail::load<T, Arch>(c + i)));
    if (i < n) {
        const std::size_t r = n - i;
        detail::store_partial(out + i,
                              op(detail::load_partial<T, Arch>(a + i, r, T(0)),
                                 detail::load_partial<T, Arch>(b + i, r, T(0)),
                                 detail::load_partial<T, Arch>(c + i, r, T(0))),
                              r);
    }
}

// ---------------------------------------------------------------- elementwise losses
// Each op gives the loss of one element as a double-word (loss), rounded (value), and
// k * dl/dx for k = kh + kl (grad; k without the factor 2 of mse, which grad applies where it
// cannot overflow).

/// x - t exactly as dh + dl (dl = 0 where dh is not finite). Fast2Sum on the operands ordered
/// by magnitude: unlike TwoSum, no intermediate overflows while the difference is finite
/// (TwoSum's s - x does for x = DBL_MAX / 2, t = DBL_MAX).
template <class V>
XACT_INLINE dw<V> exact_diff(const V& x, const V& t) noexcept {
    const V nt = splat<V>(0) - t;
    const auto x_larger = detail::abs(x) >= detail::abs(t);
    const V big = detail::select(x_larger, x, nt), small = detail::select(x_larger, nt, x);
    const V s = big + small;
    const V lo = (big - s) + small;
    return {s, detail::select(detail::abs(s) < inf_of<V>(), lo, splat<V>(0))};
}

/// Powers of two that keep a product away from overflow and from the subnormal range (where
/// the low parts of double-word products would be lost): see scaled_mul_dw and mse_op::value.
template <class V>
struct product_scaling {
    using S = scalar_t<V>;
    static constexpr bool f = std::is_same_v<S, float>;
    // scaled_mul_dw: products below lo / above hi get one operand scaled by up / down.
    static constexpr S lo = f ? S(0x1p-60) : S(0x1p-500), hi = f ? S(0x1p60) : S(0x1p500);
    static constexpr S up = f ? S(0x1p64) : S(0x1p600), down = f ? S(0x1p-64) : S(0x1p-600);
    // mse_op::value: |x - t| below sq_lo / above sq_hi is scaled by up / sq_down before squaring.
    static constexpr S sq_lo = f ? S(0x1p-30) : S(0x1p-250), sq_hi = f ? S(0x1p30) : S(0x1p250);
    static constexpr S sq_down = f ? S(0x1p-72) : S(0x1p-600);
    static constexpr S sq_up_back = f ? S(0x1p72) : S(0x1p600); // applied twice
};

/// factor (kh + kl)(gh + gl), factor = 1 or 2, with about one rounding (mul_dw) also where the
/// result is subnormal or near overflow, and where factor kh or kh gh alone would overflow: for
/// |kh gh| below 2^-60 (2^-500 for double) the smaller operand is first scaled up by 2^64
/// (2^600), above 2^60 (2^500) the larger one scaled down, and the result scaled back once.
template <class V>
XACT_INLINE V scaled_mul_dw(const V& kh, const V& kl, const V& gh, const V& gl,
                            double factor) noexcept {
    using P = product_scaling<V>;
    const V one = splat<V>(1), up = splat<V>(P::up), down = splat<V>(P::down);
    const V f = splat<V>(factor);
    const V m = detail::abs(kh * gh);
    const auto small = m<splat<V>(P::lo), big = m> splat<V>(P::hi); // NaN: neither
    const auto k_smaller = detail::abs(kh) <= detail::abs(gh);
    // Otherwise the factor goes into k where that is exact (|kh| <= 2^60 or 2^500 here), so
    // that the low terms carry it as well (kh gl stays normal under FTZ where it was before),
    // and into the final scaling only where k is huge.
    const auto k_fold = detail::abs(kh) < splat<V>(P::hi);
    const V sk = detail::select(
        small, detail::select(k_smaller, up, one),
        detail::select(big, detail::select(k_smaller, one, down), detail::select(k_fold, f, one)));
    const V sg = detail::select(small, detail::select(k_smaller, one, up),
                                detail::select(big, detail::select(k_smaller, down, one), one));
    const V back = detail::select(small, down * f,
                                  detail::select(big, up * f, detail::select(k_fold, one, f)));
    return mul_dw(kh * sk, kl * sk, gh * sg, gl * sg) * back;
}

/// The power of two 2^K by which a gradient factor k is divided (and the rest of the product
/// multiplied) so that neither part leaves the normal range: K = exponent(k) + `offset`,
/// clamped to [0, `max`]. k 2^-K then lies in [2^-offset, 2^(1-offset)) unless clamped.
template <class V>
struct k_scaling {
    V down, up;
    int_t<V> shift;
};
template <class V>
XACT_INLINE k_scaling<V> k_scaling_of(const V& kh, int offset, int max) noexcept {
    using I = int_t<V>;
    constexpr bool f32 = std::is_same_v<scalar_t<V>, float>;
    const I e = (detail::as_int(detail::abs(kh)) >> (f32 ? 23 : 52)) - I(f32 ? 127 : 1023);
    I K = e + I(offset);
    K = detail::select(K < I(0), I(0), detail::select(K > I(max), I(max), K));
    return {detail::pow2i<V>(I(0) - K), detail::pow2i<V>(K), K};
}

/// The scale of the reduced losses' overflow pass (loss_reduced_arch): inputs times 2^-88
/// (float) or 2^-600 (double), exact except where x s is subnormal: an error far below one
/// ULP of a sum that overflowed.
template <class T>
inline constexpr T huge_down = std::is_same_v<T, float> ? T(0x1p-88) : T(0x1p-600);

struct mse_op {
    static constexpr double factor = 2;
    /// ((x - t) s)^2 as a double-word (s: a power of two, 1 but for mse_tiny_op).
    template <class V>
    XACT_INLINE static dw<V> loss(const V& x, const V& t, const V& s) noexcept {
        const dw<V> d = exact_diff(x, t);
        const V h = d.hi * s, l = d.lo * s;
        V p, pe;
        detail::two_product(h, h, p, pe); // h^2 = p + pe exactly
        // (h + l)^2 = p + (pe + 2 h l) + l^2, l^2 < u^2 h^2 left out.
        const V lo = detail::fma(h + h, l, pe);
        return {p, detail::select(p < inf_of<V>(), lo, splat<V>(0))};
    }
    template <class V>
    XACT_INLINE static dw<V> loss(const V& x, const V& t) noexcept {
        return loss(x, t, splat<V>(1));
    }
    /// The loss of x s and t s (s = huge_down), s^2 times the loss: see loss_reduced_arch.
    static constexpr int down_power = 2;
    template <class V>
    XACT_INLINE static dw<V> loss_down(const V& x, const V& t) noexcept {
        const V s = splat<V>(huge_down<scalar_t<V>>);
        return loss(x * s, t * s, splat<V>(1));
    }
    /// (x - t)^2 rounded once: where |x - t| is tiny (huge) it is scaled by a power of two
    /// first, so that the low parts stay exact (and Dekker's product without FMA cannot
    /// overflow), and the result scaled back.
    template <class V>
    XACT_INLINE static V value(const V& x, const V& t) noexcept {
        using P = product_scaling<V>;
        const dw<V> d = exact_diff(x, t);
        const V a = detail::abs(d.hi), one = splat<V>(1);
        const auto tiny = a<splat<V>(P::sq_lo), huge = a> splat<V>(P::sq_hi);
        const V s =
            detail::select(tiny, splat<V>(P::up), detail::select(huge, splat<V>(P::sq_down), one));
        const V back = detail::select(tiny, splat<V>(P::down),
                                      detail::select(huge, splat<V>(P::sq_up_back), one));
        const V h = d.hi * s; // exact: no overflow, no underflow of a nonzero difference
        V p, pe;
        detail::two_product(h, h, p, pe);
        const V lo = detail::fma(h + h, d.lo * s, pe);
        const V v = detail::select(p < inf_of<V>(), p + lo, p);
        const V r = (v * back) * back; // the first product is exact, the second rounds once
        // A subnormal r rounds v, itself p + lo rounded: where v b^2 is a tie on the subnormal
        // grid g, the sign of e = p + lo - v breaks it (x = 0x1.804b0cp-64 gave 0.75 ULP).
        // w = v b - r / b is exact; |w| <= g / 2b, and only w = +-g / 2b leaves r wrong.
        const auto tie_broken = [&](const V&) XACT_LAMBDA_INLINE {
            const V g = splat<V>(std::numeric_limits<scalar_t<V>>::denorm_min());
            const V half = (g * s) * splat<V>(0.5); // g / 2b (g / 2 itself is 0)
            const V w = v * back - r * s;
            const V e = (p - v) + lo;
            const V zero = splat<V>(0);
            return detail::select((w == half) && (e > zero), r + g,
                                  detail::select((w == zero - half) && (e < zero), r - g, r));
        };
        return detail::two_regimes(
            v, tiny, [&](const V&) XACT_LAMBDA_INLINE { return r; }, tie_broken);
    }
    template <class V>
    XACT_INLINE static V grad(const V& x, const V& t, const V& kh, const V& kl) noexcept {
        // Where x - t overflows, k 2 (x - t) may not (mean over many elements, a small
        // dout): there x and t are halved first (exact, but for a subnormal partner: an error
        // far below an ULP of the difference) and the product doubled back (exact: far above
        // the subnormal range). A batch takes that path only when a lane needs it.
        const dw<V> d = exact_diff(x, t);
        return detail::two_regimes(
            x, detail::abs(d.hi) >= inf_of<V>(),
            [&](const V&) XACT_LAMBDA_INLINE { return scaled_mul_dw(kh, kl, d.hi, d.lo, factor); },
            [&](const V&) XACT_LAMBDA_INLINE {
                const V h = splat<V>(0.5);
                const dw<V> dh = exact_diff(x * h, t * h);
                return scaled_mul_dw(kh, kl, dh.hi, dh.lo, factor) * splat<V>(2);
            });
    }
};

/// Op's terms from inputs scaled by huge_down (Op::loss_down): the overflow pass.
template <class Op>
struct down_op {
    template <class V>
    XACT_INLINE static dw<V> loss(const V& x, const V& t) noexcept {
        return Op::loss_down(x, t);
    }
};

/// mse's terms with x - t scaled by 2^64 (float) or 2^450 (double), squares 2^128 / 2^900
/// times larger: a second pass for sums near or below the smallest normal (below 2^-90 or
/// 2^-960), where the low parts of the products would be lost (1.7 ULP at 2.3e-38 without FMA).
struct mse_tiny_op : mse_op {
    template <class V>
    static constexpr double scale = std::is_same_v<scalar_t<V>, float> ? 0x1p64 : 0x1p450;
    template <class V>
    XACT_INLINE static dw<V> loss(const V& x, const V& t) noexcept {
        return mse_op::loss(x, t, splat<V>(scale<V>));
    }
};

struct mae_op {
    static constexpr double factor = 1;
    template <class V>
    XACT_INLINE static dw<V> loss(const V& x, const V& t) noexcept {
        const dw<V> d = exact_diff(x, t);
        const V zero = splat<V>(0);
        return {detail::abs(d.hi), detail::select(d.hi < zero, zero - d.lo, d.lo)};
    }
    /// The loss of x s and t s (s = huge_down), s times the loss: see loss_reduced_arch.
    static constexpr int down_power = 1;
    template <class V>
    XACT_INLINE static dw<V> loss_down(const V& x, const V& t) noexcept {
        const V s = splat<V>(huge_down<scalar_t<V>>);
        return loss(x * s, t * s);
    }
    template <class V>
    XACT_INLINE static V value(const V& x, const V& t) noexcept {
        return detail::abs(x - t); // |x - t| rounded once
    }
    template <class V>
    XACT_INLINE static V grad(const V& x, const V& t, const V& kh, const V& kl) noexcept {
        const V d = x - t; // its sign is that of the exact difference; 0 only at x == t
        const V zero = splat<V>(0);
        const V sgn = detail::select(
            d > zero, splat<V>(1), detail::select(d < zero, splat<V>(-1), detail::nan_or(d, zero)));
        return scaled_mul_dw(kh, kl, sgn, zero, factor);
    }
};

struct bce_op {
    static constexpr double factor = 1;
    /// The loss (Down = false), or s times the loss with s = huge_down (Down = true: A from
    /// x s, log1p(e^-|x|) times s; see loss_reduced_arch).
    template <bool Down, class V>
    XACT_INLINE static dw<V> loss_impl(const V& x, const V& t) noexcept {
        // softplus(x) - x t = A + log1p(e^-|x|), A = max(x, 0) - x t = x (1 - t) for x > 0,
        // -x t otherwise: both terms >= 0 for t in [0, 1], so no cancellation. A zero
        // coefficient gives A = 0 also at x = ±inf (the limit).
        const V zero = splat<V>(0);
        const V c = detail::select(x > zero, splat<V>(1) - t, zero - t);
        V xs = x, l = xact::softplus{}(zero - detail::abs(x)); // log1p(e^-|x|)
        if constexpr (Down) {
            const V s = splat<V>(huge_down<scalar_t<V>>);
            xs = x * s;
            l = l * s;
        }
        const V a = detail::select(c == zero, zero, xs * c);
        const dw<V> s = two_sum(a, l);
        return {s.hi, detail::select(detail::abs(s.hi) < inf_of<V>(), s.lo, zero)};
    }
    template <class V>
    XACT_INLINE static dw<V> loss(const V& x, const V& t) noexcept {
        return loss_impl<false>(x, t);
    }
    static constexpr int down_power = 1;
    template <class V>
    XACT_INLINE static dw<V> loss_down(const V& x, const V& t) noexcept {
        return loss_impl<true>(x, t);
    }
    template <class V>
    XACT_INLINE static V value(const V& x, const V& t) noexcept {
        const dw<V> l = loss(x, t);
        return l.hi + l.lo;
    }
    template <class V>
    XACT_INLINE static V grad(const V& x, const V& t, const V& kh, const V& kl) noexcept {
        // sigmoid(x) - t, with sigmoid(x) = 1 - sigmoid(-x) for x > 0: the small sigmoid
        // stays exact in both tails (sigmoid(30) - 1 = -9.4e-14, not 0).
        // The gradient is formed as (k 2^-K)(g 2^K), K = exponent(k) + 64 (float) or + 512
        // (double), within [0, 126] / [0, 1022] (k_scaling): in the far tail sigmoid(-|x|) = e^-|x|
        // (within u) is then taken as e^-|x| 2^K, which stays exact where e^-|x| alone is subnormal
        // or 0 but k e^-|x| is not (x = -745, k = 1.8e212).
        using S = scalar_t<V>;
        using I = int_t<V>;
        constexpr bool f32 = std::is_same_v<S, float>;
        const V zero = splat<V>(0), one = splat<V>(1);
        const k_scaling<V> ks = k_scaling_of(kh, f32 ? 64 : 512, f32 ? 126 : 1022);
        const V up = ks.up, down = ks.down;
        const I shift = ks.shift;
        const V z = zero - detail::abs(x);
        const auto tail = z < splat<V>(f32 ? -30.0 : -40.0);
        const auto e = math::detail::exp_parts_of<V, true, true>(detail::select(tail, z, zero));
        const V s_tail = math::detail::scale2_clamped(e.hi, e.n + shift);
        const V s = detail::select(tail, s_tail, xact::sigmoid{}(z)*up);
        const V c = one - t;
        const V g = detail::select(x > zero, c * up - s, s - t * up);
        // Targets far outside [0, 1] (|t| 2^K beyond the range, g not finite) take
        // k (sigmoid - t) unscaled: against such a t no tail of the sigmoid matters.
        return detail::two_regimes(
            g, !(detail::abs(g) < inf_of<V>()),
            [&](const V&)
                XACT_LAMBDA_INLINE { return scaled_mul_dw(kh * down, kl * down, g, zero, factor); },
            [&](const V&) XACT_LAMBDA_INLINE {
                const V gw = detail::select(x > zero, c - s * down, s * down - t);
                return scaled_mul_dw(kh, kl, gw, zero, factor);
            });
    }
};

/// The compensated sum of the double-word losses of x[i], t[i], i < n (order: see the top).
template <class Arch, class Op, class T>
compensated<T> loss_sum(const T* x, const T* t, std::size_t n) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    compensated<B> acc[4] = {compensated_zero<B>(), compensated_zero<B>(), compensated_zero<B>(),
                             compensated_zero<B>()};
    std::size_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        const dw<B> l0 = Op::loss(detail::load<T, Arch>(x + i), detail::load<T, Arch>(t + i));
        const dw<B> l1 =
            Op::loss(detail::load<T, Arch>(x + i + W), detail::load<T, Arch>(t + i + W));
        const dw<B> l2 =
            Op::loss(detail::load<T, Arch>(x + i + 2 * W), detail::load<T, Arch>(t + i + 2 * W));
        const dw<B> l3 =
            Op::loss(detail::load<T, Arch>(x + i + 3 * W), detail::load<T, Arch>(t + i + 3 * W));
        acc[0].add(l0.hi, l0.lo);
        acc[1].add(l1.hi, l1.lo);
        acc[2].add(l2.hi, l2.lo);
        acc[3].add(l3.hi, l3.lo);
    }
    std::size_t k = 0; // fewer than 4 W elements left: k <= 3 below
    for (; i + W <= n; i += W, ++k) {
        const dw<B> l = Op::loss(detail::load<T, Arch>(x + i), detail::load<T, Arch>(t + i));
        acc[k].add(l.hi, l.lo);
    }
    if (i < n) {
        const std::size_t r = n - i;
        const dw<B> l = Op::loss(load_part<Arch>(x + i, r), load_part<Arch>(t + i, r));
        const auto keep = lanes_below<Arch, T>(r);
        const B zero(T(0));
        acc[k].add(detail::select(keep, l.hi, zero), detail::select(keep, l.lo, zero));
    }
    return reduce_lanes(merge(merge(acc[0], acc[1]), merge(acc[2], acc[3])));
}

/// Checks shared by the elementwise losses: T, and x and target non-null when n > 0.
template <class T>
inline void check_elementwise(const char* fn, const T* x, const T* t, std::size_t n) {
    check_real<T>();
    if (n != 0 && x == nullptr) loss_error(fn, "x is null while n > 0");
    if (n != 0 && t == nullptr) loss_error(fn, "target is null while n > 0");
}

/// out may equal `in` exactly; any other overlap throws with message `what`.
template <class T>
inline void check_exact_alias(const char* fn, const T* in, const T* out, std::size_t n,
                              const char* what) {
    if (in != out && overlaps(in, n * sizeof(T), out, n * sizeof(T))) loss_error(fn, what);
}

template <class Arch, class Op, class T>
T loss_reduced_arch(const char* fn, const T* x, const T* t, std::size_t n, reduction r) {
    check_elementwise(fn, x, t, n);
    if (r != reduction::mean && r != reduction::sum)
        loss_error(fn, "reduction must be mean or sum here (for reduction::none use the overload "
                       "with an output array)");
    const compensated<T> s = loss_sum<Arch, Op>(x, t, n);
    const T v = r == reduction::mean ? mean_value(s, n) : sum_value(s);
    if (!(std::abs(v) <= std::numeric_limits<T>::max())) {
        // A term or a partial sum overflowed (inf, or NaN where overflowed terms of both signs
        // met: bce with targets outside [0, 1]), while the mean (or a sum of terms of both
        // signs) may be finite: the terms again, from inputs scaled by s = huge_down (the loss s or
        // s^2 times smaller), then scaled back exactly. Where the result is truly infinite
        // (an infinite input, or a sum beyond the largest finite value) it stays so.
        const compensated<T> s2 = loss_sum<Arch, down_op<Op>>(x, t, n);
        T v2 = r == reduction::mean ? mean_value(s2, n) : sum_value(s2);
        const T up = T(1) / huge_down<T>;
        for (int k = 0; k < Op::down_power; ++k) v2 = v2 * up;
        return v2;
    }
    if constexpr (std::is_same_v<Op, mse_op>) {
        constexpr bool f32 = std::is_same_v<T, float>;
        if (v < T(f32 ? 0x1p-90 : 0x1p-960)) { // (false for NaN) a sum of tiny squares
            const compensated<T> s2 = loss_sum<Arch, mse_tiny_op>(x, t, n);
            return scaled_value(s2, r == reduction::mean ? n : 1,
                                1 / (mse_tiny_op::scale<T> * mse_tiny_op::scale<T>));
        }
    }
    return v;
}

template <class Arch, class Op, class T>
void loss_none_arch(const char* fn, const T* x, const T* t, T* out, std::size_t n) {
    check_elementwise(fn, x, t, n);
    if (n != 0 && out == nullptr) loss_error(fn, "out is null while n > 0");
    check_exact_alias(fn, x, out, n, "out partially overlaps x (only out == x is allowed)");
    check_exact_alias(fn, t, out, n,
                      "out partially overlaps target (only out == target is allowed)");
    map2<Arch>(x, t, out, n,
               [](const auto& a, const auto& b) XACT_LAMBDA_INLINE { return Op::value(a, b); });
}

template <class Arch, class Op, class T>
void loss_backward_arch(const char* fn, const T* x, const T* t, T* dx, std::size_t n, reduction r,
                        T dloss) {
    check_elementwise(fn, x, t, n);
    if (r != reduction::mean && r != reduction::sum && r != reduction::none)
        loss_error(fn, "reduction is not mean, sum or none");
    if (n != 0 && dx == nullptr) loss_error(fn, "dx is null while n > 0");
    check_exact_alias(fn, x, dx, n, "dx partially overlaps x (only dx == x is allowed)");
    check_exact_alias(fn, t, dx, n, "dx partially overlaps target (only dx == target is allowed)");
    if (n == 0) return;
    const grad_scale<T> k = grad_scale_of(dloss, r == reduction::mean ? n : 1);
    map2<Arch>(x, t, dx, n, [f = k.k](const auto& a, const auto& b) XACT_LAMBDA_INLINE {
        using V = std::decay_t<decltype(a)>;
        return Op::grad(a, b, V(f.hi), V(f.lo)); // Op::grad applies the factor
    });
    if (k.scaled) unscale_grad<Arch>(dx, n);
}

template <class Arch, class Op, class T>
void loss_backward_each_arch(const char* fn, const T* x, const T* t, const T* dout, T* dx,
                             std::size_t n) {
    check_elementwise(fn, x, t, n);
    if (n != 0 && dout == nullptr) loss_error(fn, "dout is null while n > 0");
    if (n != 0 && dx == nullptr) loss_error(fn, "dx is null while n > 0");
    check_exact_alias(fn, x, dx, n, "dx partially overlaps x (only dx == x is allowed)");
    check_exact_alias(fn, t, dx, n, "dx partially overlaps target (only dx == target is allowed)");
    check_exact_alias(fn, dout, dx, n, "dx partially overlaps dout (only dx == dout is allowed)");
    map3<Arch>(x, t, dout, dx, n,
               [](const auto& a, const auto& b, const auto& g) XACT_LAMBDA_INLINE {
                   using V = std::decay_t<decltype(a)>;
                   return Op::grad(a, b, g, splat<V>(0)); // Op::grad applies the factor
               });
}

// ---------------------------------------------------------------- cross-entropy

/// The validated shape and constants of one cross-entropy call.
template <class T>
struct ce_setup {
    std::size_t outer, C, inner, rows, n;
    std::size_t count; // rows counted by the mean
    std::int64_t ignore;
    bool smooth; // label_smoothing != 0 (and C > 0)
    T a, b, qy;  // 1 - eps, eps / C, (1 - eps) + eps / C: each computed in double, rounded once
};

template <class T, class Tgt>
ce_setup<T> ce_prepare(const char* fn, const T* logits, const Tgt* target, const extents& e,
                       const cross_entropy_options& o) {
    check_real<T>();
    constexpr bool prob = std::is_same_v<Tgt, T>;
    const double eps = o.label_smoothing;
    if (!(eps >= 0.0 && eps <= 1.0)) loss_error(fn, "label_smoothing must lie in [0, 1]");
    const std::size_t n = e.size(); // throws when it overflows
    if (n > std::size_t(-1) / sizeof(T)) loss_error(fn, "extents too large");
    if (e.inner != 0 && e.outer > std::size_t(-1) / 8 / e.inner)
        loss_error(fn, "extents too large (outer * inner)");
    ce_setup<T> cs{};
    cs.outer = e.outer;
    cs.C = e.axis;
    cs.inner = e.inner;
    cs.rows = e.outer * e.inner;
    cs.n = n;
    cs.ignore = o.ignore_index;
    if (n != 0 && logits == nullptr)
        loss_error(fn, "logits is null while the extents are not empty");
    if ((prob ? n : cs.rows) != 0 && target == nullptr)
        loss_error(fn, "target is null while the extents are not empty");
    cs.smooth = eps != 0.0 && cs.C != 0;
    if (cs.smooth) {
        const double C = static_cast<double>(cs.C);
        cs.a = static_cast<T>(1.0 - eps);
        cs.b = static_cast<T>(eps / C);
        cs.qy = static_cast<T>((1.0 - eps) + eps / C);
    } else {
        cs.a = T(1);
        cs.b = T(0);
        cs.qy = T(1);
    }
    if constexpr (prob) {
        cs.count = cs.rows;
    } else {
        cs.count = 0;
        for (std::size_t i = 0; i < cs.rows; ++i) {
            const std::int64_t y = target[i];
            if (y == cs.ignore) continue;
            if (y < 0 || static_cast<std::uint64_t>(y) >= cs.C)
                loss_error(fn, "target holds a class index outside [0, e.axis) that is not "
                               "ignore_index");
            ++cs.count;
        }
    }
    return cs;
}

/// x - m as dh + dl (exact), with +inf - +inf = 0 (a row holding +inf: the limit) and dl = 0
/// where e^dh is 0 anyway (dh <= -200 float / -1500 double, -inf, NaN).
template <class V>
XACT_INLINE dw<V> ce_shift(const V& x, const V& m) noexcept {
    const V zero = splat<V>(0);
    const dw<V> d = two_diff(x, m);
    const auto top = x == inf_of<V>();
    const V lim = splat<V>(std::is_same_v<scalar_t<V>, float> ? -200.0 : -1500.0);
    const V dh = detail::select(top, zero, d.hi);
    return {dh, detail::select(top, zero, detail::select(dh > lim, d.lo, zero))};
}

/// e^(dh + dl), |dl| <= ulp(dh): e^dh = (hi + lo) 2^n with e^dl ~ 1 + dl folded into the low
/// part, so the result is rounded about once.
/// The result is 2^shift times larger (exactly), which keeps results of e^(dh + dl) below the
/// subnormal range (shift <= 64 float, 512 double).
template <class V>
XACT_INLINE V ce_exp(const dw<V>& d, const int_t<V>& shift = int_t<V>(0)) noexcept {
    const auto p = math::detail::exp_parts_of<V, false, true>(d.hi);
    return math::detail::scale2_clamped(p.hi + detail::fma(p.hi, d.lo, p.lo), p.n + shift);
}

/// The sum S' of a row's non-maximal terms (ce_stats) is accumulated 2^64 (float) or 2^512
/// (double) times larger: terms below the subnormal range still count (a double row whose
/// terms are each below denorm_min, but sum to 4.4 denorm_min).
template <class V>
struct ce_sum_scale {
    static constexpr bool f32 = std::is_same_v<scalar_t<V>, float>;
    static constexpr int bits = f32 ? 64 : 512;
    static constexpr scalar_t<V> down = f32 ? scalar_t<V>(0x1p-64) : scalar_t<V>(0x1p-512);
};

/// Per-row sums (per lane of V): the maxima count K (terms with x_j == m, each exactly 1),
/// S' = sum of the other e^(x_j - m), Z = sum (m - x_j) (label smoothing, class targets),
/// Q = sum q_j and QZ = sum q_j (m - x_j) (probability targets).
template <class V>
struct ce_stats {
    V K;
    compensated<V> S, Z, Q, QZ;
};
template <class V>
XACT_INLINE ce_stats<V> ce_stats_zero() noexcept {
    return {splat<V>(0), compensated_zero<V>(), compensated_zero<V>(), compensated_zero<V>(),
            compensated_zero<V>()};
}

/// Every lane kept (the body), or a mask (the tail of a row).
struct all_lanes {};
template <class V>
XACT_INLINE V keep_lanes(all_lanes, const V& v) noexcept {
    return v;
}
template <class Mask, class V>
XACT_INLINE V keep_lanes(const Mask& m, const V& v) noexcept {
    return detail::select(m, v, splat<V>(0));
}

/// x - m as ce_shift gives it (down = false), or x s - m s (s = huge_down; down = true): the
/// loss's linear terms in the overflow pass of a reduced cross-entropy (ce_reduced_arch).
template <bool down, class V>
XACT_INLINE dw<V> ce_linear_shift(const dw<V>& d, const V& x, const V& m) noexcept {
    if constexpr (down) {
        const V s = splat<V>(huge_down<scalar_t<V>>);
        return ce_shift(x * s, m * s);
    } else {
        (void)x;
        (void)m;
        return d;
    }
}

/// Adds the terms of logits x (targets p for probabilities) to the row sums of max m. With
/// down, Z and QZ are s = huge_down times smaller (ce_reduced_arch); K and S are unchanged.
template <bool prob, bool want_loss, class V, class Keep, bool down = false>
XACT_INLINE void ce_accumulate(ce_stats<V>& st, const V& x, const V& p, const V& m, const V& a,
                               const V& b, bool smooth, const Keep& keep) noexcept {
    const V zero = splat<V>(0);
    const dw<V> d = ce_shift(x, m);
    const auto top = d.hi == zero; // a maximum: e^0 = 1 exactly, counted in K
    st.K = st.K + keep_lanes(keep, detail::select(top, splat<V>(1), zero));
    st.S.add(
        keep_lanes(keep, detail::select(top, zero, ce_exp(d, int_t<V>(ce_sum_scale<V>::bits)))));
    if constexpr (prob) {
        const V q = smooth ? fma_prod(p, a, b) : p;
        st.Q.add(keep_lanes(keep, q));
        if constexpr (want_loss) {
            // q (m - x) as one rounding; a zero weight contributes 0 even where m - x = inf.
            const dw<V> dz = ce_linear_shift<down>(d, x, m);
            const V qz = fma_prod(q, zero - dz.hi, q * (zero - dz.lo));
            st.QZ.add(keep_lanes(keep, detail::select(q == zero, zero, qz)));
        }
    } else if constexpr (want_loss) {
        if (smooth) {
            const dw<V> dz = ce_linear_shift<down>(d, x, m);
            st.Z.add(keep_lanes(keep, zero - dz.hi), keep_lanes(keep, zero - dz.lo));
        }
    }
}

/// The row's sum of exponentials, K + S', as a compensated value.
template <class V>
XACT_INLINE compensated<V> ce_total(const ce_stats<V>& st) noexcept {
    const V down = splat<V>(ce_sum_scale<V>::down); // S' back to scale (ce_sum_scale)
    const dw<V> t = two_sum(st.K, st.S.s * down);
    return {t.hi, t.lo + st.S.c * down};
}

/// L = log(K + S') = log1p((K - 1) + S'): full precision when S' is tiny (K = 1).
template <class V>
XACT_INLINE V ce_log_sum(const ce_stats<V>& st) noexcept {
    const V down = splat<V>(ce_sum_scale<V>::down); // S' back to scale (ce_sum_scale)
    // K - 1 is a small integer: exact
    const dw<V> t = two_sum(st.K - splat<V>(1), st.S.s * down);
    return math::detail::log1p_core(t.hi, t.lo + st.S.c * down);
}

/// The row loss as hi + lo, class-index target with logit xy: L + (1 - eps)(m - xy) +
/// (eps / C) Z (a zero weight contributes 0). With down, huge_down times the loss (st from
/// ce_accumulate with down).
template <bool down = false, class V, class T>
XACT_INLINE dw<V> ce_loss_class(const ce_stats<V>& st, const V& xy, const V& m,
                                const ce_setup<T>& cs) noexcept {
    const V zero = splat<V>(0);
    const V L = ce_log_sum(st) * splat<V>(down ? huge_down<T> : T(1));
    const dw<V> d = ce_linear_shift<down>(ce_shift(xy, m), xy, m);
    const V zh = zero - d.hi, zl = zero - d.lo;
    dw<V> r;
    if (!cs.smooth) {
        r = two_sum(zh, L);
        r.lo = r.lo + zl;
    } else {
        const V t1 = cs.a == T(0) ? zero : mul_dw(V(cs.a), zero, zh, zl);
        const V t2 = cs.b == T(0) ? zero : mul_dw(V(cs.b), zero, st.Z.s, st.Z.c);
        const dw<V> s1 = two_sum(L, t1);
        const dw<V> s2 = two_sum(s1.hi, t2);
        r = {s2.hi, s1.lo + s2.lo};
    }
    r.lo = detail::select(detail::abs(r.hi) < inf_of<V>(), r.lo, zero);
    return r;
}

/// The row loss as hi + lo, probability targets: L Q + QZ. With down, huge_down times the
/// loss (st from ce_accumulate with down).
template <bool down = false, class V>
XACT_INLINE dw<V> ce_loss_prob(const ce_stats<V>& st) noexcept {
    const V zero = splat<V>(0);
    const V L = ce_log_sum(st) * splat<V>(down ? huge_down<scalar_t<V>> : scalar_t<V>(1));
    const V lq = mul_dw(L, zero, st.Q.s, st.Q.c);
    dw<V> r = two_sum(lq, st.QZ.s);
    r.lo = r.lo + st.QZ.c;
    r.lo = detail::select(detail::abs(r.hi) < inf_of<V>(), r.lo, zero);
    return r;
}

/// 1 / S as hi + lo (S = s + c, c small): hi = 1 / s rounded, lo = its correction from the
/// exact residual 1 - hi s (an fma, or Dekker's product without FMA).
template <class V>
XACT_INLINE dw<V> ce_inverse(const compensated<V>& S) noexcept {
    const V one = splat<V>(1);
    const V hi = one / S.s;
    const V rho = detail::fnma(hi, S.c, detail::residual(one, hi, S.s)); // 1 - hi (s + c)
    return {hi, rho * hi};
}

/// dl/dx_j = Q e_j / S - q_j = (Q e_j - q_j S) / S, with q_j S exact (hi + lo) so that a
/// cancelling numerator (the target of a row with a tiny loss) keeps its digits, and 1 / S as
/// a double-word (one rounding of the quotient instead of two).
template <class V>
XACT_INLINE V ce_grad(const V& e, const V& q, const V& Q, const compensated<V>& S,
                      const dw<V>& inv) noexcept {
    const V zero = splat<V>(0);
    V th, tl;
    // S can be 2^100 (2^900) times the row sum (ce_gscale): q S stays exact there also without
    // FMA (two_product_wide). Only where q S overflows is the low part dropped (inf - inf).
    detail::two_product_wide(q, S.s, th, tl);
    tl = detail::select(detail::abs(th) < inf_of<V>(), detail::fma(q, S.c, tl), zero);
    // Q e - th - tl rounded about once (without FMA two roundings here cost up to 1.5 ULP).
    const V num = fma_prod(Q, e, zero - th, zero - tl);
    return fma_prod(num, inv.hi, num * inv.lo);
}

/// The gradient k u of cross-entropy, u = Q e^(x_j - m) / S - q_j, is formed as (k 2^-s)(u 2^s)
/// with s = exponent(k) + 64 (float) or + 512 (double), within [0, 100] / [0, 900]
/// (k_scaling): e^(x_j - m) alone may underflow where k e^(x_j - m) does not (logits
/// [104, -0.625], k = 1024), and q_j S keeps its low part for subnormal targets q_j. u 2^s takes
/// e^(x_j - m) 2^s (ce_exp_scaled) and the row sum S 2^s in its numerator.
template <class V>
struct ce_gscale {
    V kh, kl, up; // k 2^-s (hi + lo) and 2^s
    int_t<V> s;
};
template <class V>
XACT_INLINE ce_gscale<V> ce_gscale_of(const V& kh, const V& kl) noexcept {
    constexpr bool f32 = std::is_same_v<scalar_t<V>, float>;
    // K <= 100 (900): S 2^K stays finite for rows of up to 2^27 (2^123) classes.
    const k_scaling<V> ks = k_scaling_of(kh, f32 ? 64 : 512, f32 ? 100 : 900);
    return {kh * ks.down, kl * ks.down, ks.up, ks.shift};
}

/// e^(x - m) 2^s (exactly 2^s at a maximum), rounded about once (ce_exp), also where
/// e^(x - m) alone would be subnormal or 0.
template <class V>
XACT_INLINE V ce_exp_scaled(const V& x, const V& m, const ce_gscale<V>& g) noexcept {
    const dw<V> d = ce_shift(x, m);
    return detail::select(d.hi == splat<V>(0), g.up, ce_exp(d, g.s));
}

/// The row sum S 2^s for the numerator of u 2^s, formed from the scaled sum of the
/// non-maximal terms (ce_sum_scale) so that terms below the subnormal range still count.
template <class V>
XACT_INLINE compensated<V> ce_total_scaled(const ce_stats<V>& st, const V& up) noexcept {
    const V f = up * splat<V>(ce_sum_scale<V>::down); // 2^(s - 64) or 2^(s - 512): normal
    const dw<V> t = two_sum(st.K * up, st.S.s * f);
    return {t.hi, t.lo + st.S.c * f};
}

/// max_j x[j] of a contiguous row (NaN entries skipped: they make the row NaN later).
template <class Arch, class T>
T ce_row_max(const T* x, std::size_t C) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    const T ninf = -std::numeric_limits<T>::infinity();
    B acc(ninf);
    std::size_t j = 0;
    for (; j + W <= C; j += W) {
        const B v = detail::load<T, Arch>(x + j);
        acc = detail::select(v > acc, v, acc);
    }
    if (j < C) {
        const B v = detail::load_partial<T, Arch>(x + j, C - j, ninf);
        acc = detail::select(v > acc, v, acc);
    }
    alignas(64) T lanes[W];
    detail::store(lanes, acc);
    T m = lanes[0];
    for (std::size_t l = 1; l < W; ++l) m = lanes[l] > m ? lanes[l] : m;
    return m;
}

/// The row sums of a contiguous row (classes in lanes), reduced over the lanes.
template <class Arch, bool prob, bool want_loss, bool down = false, class T>
ce_stats<T> ce_row_stats(const T* x, const T* p, std::size_t C, T m,
                         const ce_setup<T>& cs) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    const B M(m), A(cs.a), Bq(cs.b), zero(T(0));
    ce_stats<B> st = ce_stats_zero<B>();
    std::size_t j = 0;
    for (; j + W <= C; j += W) {
        B pv = zero;
        if constexpr (prob) pv = detail::load<T, Arch>(p + j);
        ce_accumulate<prob, want_loss, B, all_lanes, down>(st, detail::load<T, Arch>(x + j), pv, M,
                                                           A, Bq, cs.smooth, all_lanes{});
    }
    if (j < C) {
        const std::size_t r = C - j;
        B pv = zero;
        if constexpr (prob) pv = load_part<Arch>(p + j, r);
        const auto keep = lanes_below<Arch, T>(r);
        ce_accumulate<prob, want_loss, B, decltype(keep), down>(st, load_part<Arch>(x + j, r), pv,
                                                                M, A, Bq, cs.smooth, keep);
    }
    ce_stats<T> out;
    out.K = reduce_add_ordered(st.K); // a count of ones: exact
    out.S = reduce_lanes(st.S);
    out.Z = reduce_lanes(st.Z);
    out.Q = reduce_lanes(st.Q);
    out.QZ = reduce_lanes(st.QZ);
    return out;
}

template <bool prob, class T, class Tgt>
XACT_INLINE const T* ce_prob_row(const Tgt* target, std::size_t offset) noexcept {
    if constexpr (prob) {
        return target + offset;
    } else {
        (void)target;
        (void)offset;
        return nullptr;
    }
}

/// Row losses, in row order, to sink.emit(hi, lo); with down, huge_down times each loss.
template <class Arch, bool down = false, class T, class Tgt, class Sink>
void ce_forward(const ce_setup<T>& cs, const T* x, const Tgt* target, Sink& sink) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    constexpr bool prob = std::is_same_v<Tgt, T>;
    const std::size_t C = cs.C, inner = cs.inner;
    if (C == 0) { // no classes: an empty sum (class-index rows are all ignored here)
        for (std::size_t r = 0; r < cs.rows; ++r) sink.emit(T(0), T(0));
        return;
    }
    if (inner == 1) {
        for (std::size_t o = 0; o < cs.outer; ++o) {
            const T* xr = x + o * C;
            if constexpr (!prob) {
                if (target[o] == cs.ignore) {
                    sink.emit(T(0), T(0));
                    continue;
                }
            }
            const T m = ce_row_max<Arch>(xr, C);
            const ce_stats<T> st = ce_row_stats<Arch, prob, true, down>(
                xr, ce_prob_row<prob, T>(target, o * C), C, m, cs);
            dw<T> l;
            if constexpr (prob) {
                l = ce_loss_prob<down>(st);
            } else {
                l = ce_loss_class<down>(st, xr[static_cast<std::size_t>(target[o])], m, cs);
            }
            sink.emit(l.hi, l.lo);
        }
        return;
    }
    // inner > 1: W rows (consecutive j) in the lanes; class c of lane l at xb[c * inner + l].
    const B A(cs.a), Bq(cs.b), zero(T(0));
    for (std::size_t o = 0; o < cs.outer; ++o) {
        for (std::size_t j0 = 0; j0 < inner; j0 += W) {
            const std::size_t r = inner - j0 < W ? inner - j0 : W;
            const std::size_t base = o * C * inner + j0;
            const T* xb = x + base;
            B M(-std::numeric_limits<T>::infinity());
            for (std::size_t c = 0; c < C; ++c) {
                const B v = load_part<Arch>(xb + c * inner, r);
                M = detail::select(v > M, v, M);
            }
            ce_stats<B> st = ce_stats_zero<B>();
            for (std::size_t c = 0; c < C; ++c) {
                B pv = zero;
                if constexpr (prob) pv = load_part<Arch>(target + base + c * inner, r);
                ce_accumulate<prob, true, B, all_lanes, down>(
                    st, load_part<Arch>(xb + c * inner, r), pv, M, A, Bq, cs.smooth, all_lanes{});
            }
            alignas(64) T hb[W];
            alignas(64) T lb[W];
            bool ign[W] = {};
            dw<B> l;
            if constexpr (prob) {
                l = ce_loss_prob<down>(st);
            } else {
                alignas(64) T xy[W] = {};
                for (std::size_t k = 0; k < r; ++k) {
                    const std::int64_t y = target[o * inner + j0 + k];
                    ign[k] = y == cs.ignore;
                    if (!ign[k]) xy[k] = xb[static_cast<std::size_t>(y) * inner + k];
                }
                l = ce_loss_class<down>(st, detail::load<T, Arch>(xy), M, cs);
            }
            detail::store(hb, l.hi);
            detail::store(lb, l.lo);
            for (std::size_t k = 0; k < r; ++k) {
                if (ign[k])
                    sink.emit(T(0), T(0));
                else
                    sink.emit(hb[k], lb[k]);
            }
        }
    }
}

/// Writes each row's loss, hi + lo rounded once.
template <class T>
struct ce_rows_sink {
    T* out;
    XACT_INLINE void emit(T hi, T lo) noexcept { *out++ = hi + lo; }
};

/// The overflow pass of reduction::none: rows whose loss came out infinite get the loss
/// computed from the scaled rows (ce_forward with down), scaled back exactly; where that is
/// infinite or NaN too, the first value stays.
template <class T>
struct ce_rows_again_sink {
    T* out;
    XACT_INLINE void emit(T hi, T lo) noexcept {
        const T v = (hi + lo) * (T(1) / huge_down<T>);
        if (std::isinf(*out) && !std::isnan(v)) *out = v;
        ++out;
    }
};

/// Adds the row losses in order into a compensated sum.
template <class T>
struct ce_sum_sink {
    compensated<T> acc{T(0), T(0)};
    XACT_INLINE void emit(T hi, T lo) noexcept { acc.add(hi, lo); }
};

/// dlogits = k_r (Q softmax - q) per row r, k_r = kh + kl (uniform) or dout[r] (dout given).
template <class Arch, class T, class Tgt>
void ce_backward(const ce_setup<T>& cs, const T* x, const Tgt* target, const T* dout, scale<T> k,
                 T* dx) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    constexpr bool prob = std::is_same_v<Tgt, T>;
    const std::size_t C = cs.C, inner = cs.inner;
    if (C == 0) return;
    const B A(cs.a), Bq(cs.b), zero(T(0)), one(T(1));
    if (inner == 1) {
        for (std::size_t o = 0; o < cs.outer; ++o) {
            const T* xr = x + o * C;
            T* dr = dx + o * C;
            std::size_t y = 0;
            T xy = T(0);
            if constexpr (!prob) {
                if (target[o] == cs.ignore) {
                    for (std::size_t j = 0; j < C; ++j) dr[j] = T(0);
                    continue;
                }
                y = static_cast<std::size_t>(target[o]);
                xy = xr[y]; // read before dx (maybe == x) is written
            }
            const T* pr = ce_prob_row<prob, T>(target, o * C);
            const T m = ce_row_max<Arch>(xr, C);
            const ce_stats<T> st = ce_row_stats<Arch, prob, false>(xr, pr, C, m, cs);
            const compensated<T> S = ce_total(st);
            const dw<T> inv = ce_inverse(S);
            const T Q = prob ? st.Q.s + st.Q.c : T(1);
            const ce_gscale<T> gs =
                ce_gscale_of(dout ? dout[o] : k.hi, dout ? T(0) : k.lo); // see ce_gscale
            const B M(m), SV(Q);
            const ce_gscale<B> GS{B(gs.kh), B(gs.kl), B(gs.up), detail::int_t<B>(gs.s)};
            const dw<B> INV{B(inv.hi), B(inv.lo)};
            const compensated<T> Sn = ce_total_scaled(st, gs.up);
            const compensated<B> SB{B(Sn.s), B(Sn.c)};
            const auto grad = [&](const B& xv, const B& pv) XACT_LAMBDA_INLINE {
                const B q = prob ? (cs.smooth ? fma_prod(pv, A, Bq) : pv) : Bq;
                const B u = ce_grad(ce_exp_scaled(xv, M, GS), q, SV, SB, INV);
                return mul_dw(GS.kh, GS.kl, u, zero);
            };
            std::size_t j = 0;
            for (; j + W <= C; j += W) {
                B pv = zero;
                if constexpr (prob) pv = detail::load<T, Arch>(pr + j);
                detail::store(dr + j, grad(detail::load<T, Arch>(xr + j), pv));
            }
            if (j < C) {
                const std::size_t r = C - j;
                B pv = zero;
                if constexpr (prob) pv = load_part<Arch>(pr + j, r);
                store_part<Arch>(dr + j, grad(load_part<Arch>(xr + j, r), pv), r);
            }
            if constexpr (!prob) { // the target's weight is qy, not b
                const T u = ce_grad(ce_exp_scaled(xy, m, gs), cs.qy, T(1), Sn, inv);
                dr[y] = mul_dw(gs.kh, gs.kl, u, T(0));
            }
        }
        return;
    }
    for (std::size_t o = 0; o < cs.outer; ++o) {
        for (std::size_t j0 = 0; j0 < inner; j0 += W) {
            const std::size_t r = inner - j0 < W ? inner - j0 : W;
            const std::size_t base = o * C * inner + j0;
            const T* xb = x + base;
            T* db = dx + base;
            // Class targets: lanes of ignored rows are written 0; the target logits are read
            // before dx (maybe == x) is written.
            alignas(64) T keepb[W] = {};
            alignas(64) T xy[W] = {};
            std::size_t ys[W] = {};
            for (std::size_t l = 0; l < r; ++l) keepb[l] = T(1);
            if constexpr (!prob) {
                for (std::size_t l = 0; l < r; ++l) {
                    const std::int64_t y = target[o * inner + j0 + l];
                    if (y == cs.ignore) {
                        keepb[l] = T(0);
                    } else {
                        ys[l] = static_cast<std::size_t>(y);
                        xy[l] = xb[ys[l] * inner + l];
                    }
                }
            }
            const auto keep = detail::load<T, Arch>(keepb) > zero;
            B M(-std::numeric_limits<T>::infinity());
            for (std::size_t c = 0; c < C; ++c) {
                const B v = load_part<Arch>(xb + c * inner, r);
                M = detail::select(v > M, v, M);
            }
            ce_stats<B> st = ce_stats_zero<B>();
            for (std::size_t c = 0; c < C; ++c) {
                B pv = zero;
                if constexpr (prob) pv = load_part<Arch>(target + base + c * inner, r);
                ce_accumulate<prob, false>(st, load_part<Arch>(xb + c * inner, r), pv, M, A, Bq,
                                           cs.smooth, all_lanes{});
            }
            const compensated<B> S = ce_total(st);
            const dw<B> inv = ce_inverse(S);
            const B Q = prob ? st.Q.s + st.Q.c : one;
            const ce_gscale<B> GS = ce_gscale_of(
                dout ? load_part<Arch>(dout + o * inner + j0, r) : B(k.hi), dout ? zero : B(k.lo));
            const compensated<B> Sn = ce_total_scaled(st, GS.up);
            for (std::size_t c = 0; c < C; ++c) {
                B q = Bq;
                if constexpr (prob) {
                    const B pv = load_part<Arch>(target + base + c * inner, r);
                    q = cs.smooth ? fma_prod(pv, A, Bq) : pv;
                }
                const B u = ce_grad(ce_exp_scaled(load_part<Arch>(xb + c * inner, r), M, GS), q, Q,
                                    Sn, inv);
                store_part<Arch>(db + c * inner,
                                 detail::select(keep, mul_dw(GS.kh, GS.kl, u, zero), zero), r);
            }
            if constexpr (!prob) {
                alignas(64) T mb[W], sb[W], cb[W], ib[W], ilb[W], khb[W], klb[W];
                detail::store(mb, M);
                detail::store(sb, Sn.s);
                detail::store(cb, Sn.c);
                detail::store(ib, inv.hi);
                detail::store(ilb, inv.lo);
                detail::store(khb, GS.kh * GS.up); // k again (exact)
                detail::store(klb, GS.kl * GS.up);
                for (std::size_t l = 0; l < r; ++l) {
                    if (keepb[l] == T(0)) continue;
                    const ce_gscale<T> gs = ce_gscale_of(khb[l], klb[l]);
                    const T u = ce_grad(ce_exp_scaled(xy[l], mb[l], gs), cs.qy, T(1),
                                        compensated<T>{sb[l], cb[l]}, dw<T>{ib[l], ilb[l]});
                    db[ys[l] * inner + l] = mul_dw(gs.kh, gs.kl, u, T(0));
                }
            }
        }
    }
}

/// Checks an output of `bytes` bytes against an input: any overlap is an error.
inline void ce_no_overlap(const char* fn, const void* out, std::size_t out_bytes, const void* in,
                          std::size_t in_bytes, const char* what) {
    if (overlaps(out, out_bytes, in, in_bytes)) loss_error(fn, what);
}

template <class Arch, class T, class Tgt>
T ce_reduced_arch(const char* fn, const T* logits, const Tgt* target, const extents& e,
                  const cross_entropy_options& o) {
    const ce_setup<T> cs = ce_prepare(fn, logits, target, e, o);
    if (o.red != reduction::mean && o.red != reduction::sum)
        loss_error(fn, "reduction must be mean or sum here (for reduction::none use the overload "
                       "with an output array)");
    ce_sum_sink<T> sink;
    ce_forward<Arch>(cs, logits, target, sink);
    const bool mean = o.red == reduction::mean;
    const T v = mean ? mean_value(sink.acc, cs.count) : sum_value(sink.acc);
    if (v == std::numeric_limits<T>::infinity() || v == -std::numeric_limits<T>::infinity()) {
        // A row loss or a partial sum overflowed, while the mean (or the sum, with label
        // smoothing's terms of both signs) may be finite: the rows again, their linear terms
        // (m - x_y, Z, QZ) from logits scaled by s = huge_down and L = log sum e^(x - m) times s,
        // then scaled back exactly. Where the result is truly infinite it stays so.
        ce_sum_sink<T> sink2;
        ce_forward<Arch, true>(cs, logits, target, sink2);
        const T v2 = mean ? mean_value(sink2.acc, cs.count) : sum_value(sink2.acc);
        return std::isnan(v2) ? v : v2 * (T(1) / huge_down<T>);
    }
    return v;
}

template <class T, class Tgt>
inline std::size_t ce_target_bytes(const ce_setup<T>& cs) noexcept {
    return (std::is_same_v<Tgt, T> ? cs.n : cs.rows) * sizeof(Tgt);
}

template <class Arch, class T, class Tgt>
void ce_none_arch(const char* fn, const T* logits, const Tgt* target, T* out, const extents& e,
                  const cross_entropy_options& o) {
    const ce_setup<T> cs = ce_prepare(fn, logits, target, e, o);
    if (cs.rows != 0 && out == nullptr)
        loss_error(fn, "out is null while the extents are not empty");
    const std::size_t ob = cs.rows * sizeof(T);
    ce_no_overlap(fn, out, ob, logits, cs.n * sizeof(T), "out overlaps logits");
    ce_no_overlap(fn, out, ob, target, ce_target_bytes<T, Tgt>(cs), "out overlaps target");
    ce_rows_sink<T> sink{out};
    ce_forward<Arch>(cs, logits, target, sink);
    // A row loss may overflow in its terms (Z, m - x_y, QZ) while the loss itself is finite
    // (logits near ±max with label smoothing): those rows again, as in ce_reduced_arch.
    bool overflow = false;
    for (std::size_t r = 0; r < cs.rows; ++r) overflow = overflow || std::isinf(out[r]);
    if (overflow) {
        ce_rows_again_sink<T> again{out};
        ce_forward<Arch, true>(cs, logits, target, again);
    }
}

template <class T, class Tgt>
void ce_check_dlogits(const char* fn, const ce_setup<T>& cs, const T* logits, const Tgt* target,
                      const T* dlogits) {
    if (cs.n != 0 && dlogits == nullptr)
        loss_error(fn, "dlogits is null while the extents are not empty");
    check_exact_alias(fn, logits, dlogits, cs.n,
                      "dlogits partially overlaps logits (only dlogits == logits is allowed)");
    if constexpr (std::is_same_v<Tgt, T>) {
        check_exact_alias(fn, target, dlogits, cs.n,
                          "dlogits partially overlaps target (only dlogits == target is allowed)");
    } else {
        ce_no_overlap(fn, dlogits, cs.n * sizeof(T), target, ce_target_bytes<T, Tgt>(cs),
                      "dlogits overlaps target");
    }
}

template <class Arch, class T, class Tgt>
void ce_backward_arch(const char* fn, const T* logits, const Tgt* target, T* dlogits,
                      const extents& e, const cross_entropy_options& o, T dloss) {
    const ce_setup<T> cs = ce_prepare(fn, logits, target, e, o);
    if (o.red != reduction::mean && o.red != reduction::sum && o.red != reduction::none)
        loss_error(fn, "reduction is not mean, sum or none");
    ce_check_dlogits(fn, cs, logits, target, dlogits);
    if (cs.n == 0) return;
    const grad_scale<T> k =
        grad_scale_of(dloss, o.red == reduction::mean && cs.count != 0 ? cs.count : 1);
    ce_backward<Arch>(cs, logits, target, static_cast<const T*>(nullptr), k.k, dlogits);
    if (k.scaled) unscale_grad<Arch>(dlogits, cs.n);
}

template <class Arch, class T, class Tgt>
void ce_backward_each_arch(const char* fn, const T* logits, const Tgt* target, const T* dout,
                           T* dlogits, const extents& e, const cross_entropy_options& o) {
    const ce_setup<T> cs = ce_prepare(fn, logits, target, e, o);
    if (cs.rows != 0 && dout == nullptr)
        loss_error(fn, "dout is null while the extents are not empty");
    ce_check_dlogits(fn, cs, logits, target, dlogits);
    ce_no_overlap(fn, dlogits, cs.n * sizeof(T), dout, cs.rows * sizeof(T),
                  "dlogits overlaps dout");
    if (cs.n == 0) return;
    ce_backward<Arch>(cs, logits, target, dout, scale<T>{T(0), T(0)}, dlogits);
}

} // namespace detail

// ---------------------------------------------------------------- mean squared error

/// Mean squared error: the mean (or sum) of (x_i - t_i)^2 over i < n; each term exact as a
/// double-word, summed compensated: within about 1 ULP. Empty: mean NaN, sum 0.
template <class T>
T mse_loss(const T* x, const T* target, std::size_t n, reduction r = reduction::mean) {
    return detail::loss_reduced_arch<xsimd::default_arch, detail::mse_op>("xact::mse_loss", x,
                                                                          target, n, r);
}

/// Per-element squared errors out[i] = (x[i] - target[i])^2, rounded once. out may equal x or
/// target.
template <class T>
void mse_loss(const T* x, const T* target, T* out, std::size_t n) {
    detail::loss_none_arch<xsimd::default_arch, detail::mse_op>("xact::mse_loss", x, target, out,
                                                                n);
}

/// dx[i] = dloss * 2 (x[i] - target[i]) (divided by n for reduction::mean), rounded about
/// once. dx may equal x or target.
template <class T>
void mse_loss_backward(const T* x, const T* target, T* dx, std::size_t n,
                       reduction r = reduction::mean, detail::nondeduced_t<T> dloss = T(1)) {
    detail::loss_backward_arch<xsimd::default_arch, detail::mse_op>("xact::mse_loss_backward", x,
                                                                    target, dx, n, r, dloss);
}

/// dx[i] = dout[i] * 2 (x[i] - target[i]), rounded about once. dx may equal x, target or dout.
template <class T>
void mse_loss_backward(const T* x, const T* target, const T* dout, T* dx, std::size_t n) {
    detail::loss_backward_each_arch<xsimd::default_arch, detail::mse_op>("xact::mse_loss_backward",
                                                                         x, target, dout, dx, n);
}

// ---------------------------------------------------------------- mean absolute error

/// Mean absolute error: the mean (or sum) of |x_i - t_i| over i < n; within about 1 ULP.
/// Empty: mean NaN, sum 0.
template <class T>
T mae_loss(const T* x, const T* target, std::size_t n, reduction r = reduction::mean) {
    return detail::loss_reduced_arch<xsimd::default_arch, detail::mae_op>("xact::mae_loss", x,
                                                                          target, n, r);
}

/// Per-element absolute errors out[i] = |x[i] - target[i]|, rounded once. out may equal x or
/// target.
template <class T>
void mae_loss(const T* x, const T* target, T* out, std::size_t n) {
    detail::loss_none_arch<xsimd::default_arch, detail::mae_op>("xact::mae_loss", x, target, out,
                                                                n);
}

/// dx[i] = dloss * sign(x[i] - target[i]) (divided by n for mean): 0 where x == target, NaN
/// where either is NaN. dx may equal x or target.
template <class T>
void mae_loss_backward(const T* x, const T* target, T* dx, std::size_t n,
                       reduction r = reduction::mean, detail::nondeduced_t<T> dloss = T(1)) {
    detail::loss_backward_arch<xsimd::default_arch, detail::mae_op>("xact::mae_loss_backward", x,
                                                                    target, dx, n, r, dloss);
}

/// dx[i] = dout[i] * sign(x[i] - target[i]). dx may equal x, target or dout.
template <class T>
void mae_loss_backward(const T* x, const T* target, const T* dout, T* dx, std::size_t n) {
    detail::loss_backward_each_arch<xsimd::default_arch, detail::mae_op>("xact::mae_loss_backward",
                                                                         x, target, dout, dx, n);
}

// ---------------------------------------------------------------- binary cross-entropy

/// Binary cross-entropy with logits: the mean (or sum) of softplus(x_i) - x_i t_i, stable for
/// any x (no cancellation for t in [0, 1]). Empty: mean NaN, sum 0.
template <class T>
T binary_cross_entropy_with_logits(const T* x, const T* target, std::size_t n,
                                   reduction r = reduction::mean) {
    return detail::loss_reduced_arch<xsimd::default_arch, detail::bce_op>(
        "xact::binary_cross_entropy_with_logits", x, target, n, r);
}

/// Per-element binary cross-entropies out[i] = softplus(x[i]) - x[i] target[i] (<= 3 ULP for
/// target in [0, 1]). out may equal x or target.
template <class T>
void binary_cross_entropy_with_logits(const T* x, const T* target, T* out, std::size_t n) {
    detail::loss_none_arch<xsimd::default_arch, detail::bce_op>(
        "xact::binary_cross_entropy_with_logits", x, target, out, n);
}

/// dx[i] = dloss * (sigmoid(x[i]) - target[i]) (divided by n for mean), accurate in both
/// tails. dx may equal x or target.
template <class T>
void binary_cross_entropy_with_logits_backward(const T* x, const T* target, T* dx, std::size_t n,
                                               reduction r = reduction::mean,
                                               detail::nondeduced_t<T> dloss = T(1)) {
    detail::loss_backward_arch<xsimd::default_arch, detail::bce_op>(
        "xact::binary_cross_entropy_with_logits_backward", x, target, dx, n, r, dloss);
}

/// dx[i] = dout[i] * (sigmoid(x[i]) - target[i]). dx may equal x, target or dout.
template <class T>
void binary_cross_entropy_with_logits_backward(const T* x, const T* target, const T* dout, T* dx,
                                               std::size_t n) {
    detail::loss_backward_each_arch<xsimd::default_arch, detail::bce_op>(
        "xact::binary_cross_entropy_with_logits_backward", x, target, dout, dx, n);
}

// ---------------------------------------------------------------- cross-entropy

/// Cross-entropy from logits with class-index targets (outer * inner entries, index
/// o * inner + j), classes along e.axis: mean over the non-ignored rows (NaN if none) or sum.
template <class T>
T cross_entropy(const T* logits, const std::int64_t* target, extents e,
                const cross_entropy_options& o = {}) {
    return detail::ce_reduced_arch<xsimd::default_arch>("xact::cross_entropy", logits, target, e,
                                                        o);
}

/// Per-row cross-entropies out[o * inner + j] (o.red is ignored); ignored rows get 0. out must
/// not overlap logits or target.
template <class T>
void cross_entropy(const T* logits, const std::int64_t* target, T* out, extents e,
                   const cross_entropy_options& o = {}) {
    detail::ce_none_arch<xsimd::default_arch>("xact::cross_entropy", logits, target, out, e, o);
}

/// dlogits = dloss * d(cross_entropy)/dlogits = scale * (softmax - smoothed one-hot) per row,
/// scale = dloss / count for mean, dloss for sum and none; ignored rows get 0.
template <class T>
void cross_entropy_backward(const T* logits, const std::int64_t* target, T* dlogits, extents e,
                            const cross_entropy_options& o = {},
                            detail::nondeduced_t<T> dloss = T(1)) {
    detail::ce_backward_arch<xsimd::default_arch>("xact::cross_entropy_backward", logits, target,
                                                  dlogits, e, o, dloss);
}

/// dlogits = dout[row] * (softmax - smoothed one-hot) per row (reduction none; o.red is
/// ignored); ignored rows get 0. dlogits may equal logits.
template <class T>
void cross_entropy_backward(const T* logits, const std::int64_t* target, const T* dout, T* dlogits,
                            extents e, const cross_entropy_options& o = {}) {
    detail::ce_backward_each_arch<xsimd::default_arch>("xact::cross_entropy_backward", logits,
                                                       target, dout, dlogits, e, o);
}

/// Cross-entropy from logits with probability targets (same extents as logits):
/// -sum_j q_j log_softmax_j per row, q = (1 - eps) p + eps / C; mean over outer * inner rows.
template <class T>
T cross_entropy(const T* logits, const T* target, extents e, const cross_entropy_options& o = {}) {
    return detail::ce_reduced_arch<xsimd::default_arch>("xact::cross_entropy", logits, target, e,
                                                        o);
}

/// Per-row cross-entropies with probability targets (o.red is ignored). out must not overlap
/// logits or target.
template <class T>
void cross_entropy(const T* logits, const T* target, T* out, extents e,
                   const cross_entropy_options& o = {}) {
    detail::ce_none_arch<xsimd::default_arch>("xact::cross_entropy", logits, target, out, e, o);
}

/// dlogits = scale * (Q softmax - q) per row, Q = sum_j q_j (1 when the targets sum to 1),
/// scale = dloss / (outer * inner) for mean, dloss otherwise. dlogits may equal logits or target.
template <class T>
void cross_entropy_backward(const T* logits, const T* target, T* dlogits, extents e,
                            const cross_entropy_options& o = {},
                            detail::nondeduced_t<T> dloss = T(1)) {
    detail::ce_backward_arch<xsimd::default_arch>("xact::cross_entropy_backward", logits, target,
                                                  dlogits, e, o, dloss);
}

/// dlogits = dout[row] * (Q softmax - q) per row (reduction none; o.red is ignored).
/// dlogits may equal logits or target.
template <class T>
void cross_entropy_backward(const T* logits, const T* target, const T* dout, T* dlogits, extents e,
                            const cross_entropy_options& o = {}) {
    detail::ce_backward_each_arch<xsimd::default_arch>("xact::cross_entropy_backward", logits,
                                                       target, dout, dlogits, e, o);
}

} // namespace xact

XACT_DIAGNOSTIC_POP
