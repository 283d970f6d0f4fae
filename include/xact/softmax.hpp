// xact — softmax and log-softmax along an axis, and their backward passes.
//
//   softmax:      y_i = e^(x_i - m) / s,            m = max_j x_j,  s = sum_j e^(x_j - m)
//   log_softmax:  y_i = (x_i - m) - log s,          log s = log1p(s - 1): tiny values survive
//   softmax_backward:      dx = y * (dy - <dy, y>)
//   log_softmax_backward:  dx = dy - e^y * sum(dy)
//
// The array is seen through extents{outer, axis, inner} (extents.hpp): each of the
// outer * inner rows runs along `axis`, its elements `inner` apart. Rows are independent and
// each is computed in a fixed order that depends only on its length and the SIMD width of the
// build (never on alignment or on the other rows), so splitting the rows between threads
// changes no bit.
//
// Accuracy (spec.md §3; measured figures in the README): every element within 4 ULP, for
// rows of any length. x_i - m is carried exactly as a double-word (its rounding would cost
// |x_i - m| / 2 ULP), e^(x_i - m) takes the low part into its reduced argument, the sums are
// accurate far below an ULP of s for rows of any practical length (float: in double lanes,
// n 2^-53 relative; double: TwoSum per lane), and softmax multiplies by a double-word 1 / s.
// The backward dot products and sums are accumulated the same way (float products are exact
// in double); where dx cancels, its error is bounded by a few ULP of the largest term.
//
// Special values, per row: any NaN -> the whole row NaN. One or more +inf (and no NaN) -> the
// limit: softmax 1/k on the k +inf entries and 0 elsewhere, log_softmax -log k and -inf. Every
// entry -inf -> NaN (no limit exists). A -inf entry among finite ones -> exactly 0 (softmax)
// or -inf (log_softmax). Inputs of any magnitude (±1e30, the largest finite) work; results
// are never flushed to zero while representable (subnormals stay). The backward passes give
// their formula's IEEE value where dy holds ±inf or NaN (an infinite sum stays infinite; the
// compensated sums never turn it into NaN), the same along any axis.
//
// Passes over memory. softmax: a max pass over x, then e^(x - m) into y with the sum, then
// y *= 1/s (y is then in cache for rows that fit it). log_softmax along a contiguous axis:
// one online pass computing the max and the sum block by block (1024 floats, 512 doubles;
// the sum is rescaled by a double-word e^(m_old - m_new) when a block raises the max, so
// ascending rows lose nothing), then the write pass: x is read twice. Along a strided axis
// (inner > 1) the rows of W neighbouring inner positions are processed as the lanes of one
// SIMD vector, in three passes over that tile.
//
// y == x (in place) is allowed; for the backward passes dx == y and dx == dy are allowed;
// any other overlap, a null pointer with a non-empty array, or extents whose size overflows
// throw std::invalid_argument before anything is written. An empty axis writes nothing.
// Nothing is allocated.
#pragma once

#include "algorithm.hpp"
#include "extents.hpp"
#include "math/exp.hpp"
#include "math/log1p.hpp"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>

XACT_DIAGNOSTIC_PUSH

namespace xact {
namespace detail {

// ---------------------------------------------------------------- double-word helpers

/// Adds v into the double-word accumulator (hi, lo): hi takes the rounded sum, lo its error.
template <class T>
XACT_INLINE void accumulate(T& hi, T& lo, const T& v) noexcept {
    T s, err;
    two_sum(hi, v, s, err);
    hi = s;
    lo = lo + err;
}

/// x - m = hi + lo exactly (TwoSum of x and -m). Where hi is below the point at which e^hi
/// underflows anyway (or not finite), lo is set to 0: there TwoSum could give NaN.
template <class T>
XACT_INLINE void shifted(const T& x, const T& m, T& hi, T& lo) noexcept {
    using S = scalar_t<T>;
    hi = x - m;
    const T bb = hi - x; // TwoSum(x, -m) with -m never formed (its sign of zero is not needed)
    const T err = (x - (hi - bb)) - (m + bb);
    const T cut = splat<T>(std::is_same_v<S, float> ? -150.0 : -1100.0);
    lo = detail::select(hi > cut, err, T(S(0)));
}

// The kernels carry e^(x - m) scaled by 2^K (K = 64 float, 512 double): every term that
// matters stays a normal number, so the sums lose nothing to subnormal rounding and
// softmax's y = (e 2^K) (2^-K / s) rounds once, also where y is subnormal.

/// e^(hi + lo) 2^K for hi <= 0 (or NaN) and |lo| <= ulp(hi) (0 where hi <= -150 float, -1100
/// double): 1 + s rounded once, then scaled exactly by 2^(n + K) in two steps (n >= -217
/// float, -1587 double after the clamp of exp_reduce; results that would be far below the
/// normal range lose their low bits there, which is harmless: they are below 2^-100 of the
/// row's sum).
template <class T>
XACT_INLINE T exp_shifted(const T& hi, const T& lo) noexcept {
    using S = scalar_t<T>;
    constexpr bool f32 = std::is_same_v<S, float>;
    constexpr int k = f32 ? 100 : 600; // keeps 2^(n + k) normal
    // lo joins r = hi + lo - n ln2 (rounded once, |r| <= 0.35); s = e^r - 1 = r + r^2 P(r)
    // rounds once more (|s| < 0.42) before 1 + s: within 1 ULP of e^(hi + lo) before scaling.
    // At the max (hi = lo = 0) r and s are 0: the term is 2^K exactly.
    const auto p = math::detail::exp_reduce<T, true>(hi, lo);
    const T v = splat<T>(1) + p.s;
    const T up = pow2i<T>(p.nb, k); // nb: n plus bits pow2i ignores
    const S big_k = f32 ? 64 : 512; // K
    return scalef_or(v, p.k + splat<T>(big_k), (v * up) * splat<T>(f32 ? 0x1p-36 : 0x1p-88));
}

/// Sum of the double-word lanes (hi, lo), added in lane order with TwoSum, normalized.
template <class T, class A>
XACT_INLINE void reduce_dw(const xsimd::batch<T, A>& hi, const xsimd::batch<T, A>& lo, T& s_hi,
                           T& s_lo) noexcept {
    constexpr std::size_t W = xsimd::batch<T, A>::size;
    alignas(64) T h[W];
    alignas(64) T l[W];
    hi.store_unaligned(h);
    lo.store_unaligned(l);
    T s = h[0], e = l[0];
    for (std::size_t i = 1; i < W; ++i) {
        T t, err;
        two_sum(s, h[i], t, err);
        s = t;
        e = e + (l[i] + err);
    }
    // An infinite s is the plain sum's limit (its TwoSum errors are NaN): kept as the value.
    s_hi = std::abs(s) <= std::numeric_limits<T>::max() ? s + e : s;
    s_lo = e - (s_hi - s); // Fast2Sum: |e| is far below |s| (or s = 0, where it is exact)
}

/// hi + lo of a TwoSum accumulator, or hi alone where hi is infinite: hi is the plain running
/// sum, and its limit (a sum of terms with an infinity) is the value, not the NaN of lo.
template <class V>
XACT_INLINE V dw_value(const V& hi, const V& lo) noexcept {
    using S = scalar_t<V>;
    return detail::select(detail::abs(hi) <= V(std::numeric_limits<S>::max()), hi + lo, hi);
}

/// A running sum of terms (exp_shifted values: >= 0, or NaN), one per lane of V. double: TwoSum
/// into (h, l). float (the specializations below): in double lanes, where the widening is
/// exact and each addition rounds at 2^-53 of the partial sum, so that even 2^24 equal terms
/// leave the sum far below a float ULP off (a float TwoSum's low part, summed without
/// compensation, drifts by several ULP over long rows of equal terms).
template <class V, bool Wide = std::is_same_v<scalar_t<V>, float>>
struct term_sum {
    V h = V(scalar_t<V>(0)), l = V(scalar_t<V>(0));
    XACT_INLINE void add(const V& v) noexcept { accumulate(h, l, v); }
    /// Adds the product a b (its rounding error joins the low part).
    XACT_INLINE void add_product(const V& a, const V& b) noexcept {
        V p, p_err;
        two_product_wide(a, b, p, p_err);
        accumulate(h, l, p);
        l = l + p_err;
    }
    /// add of the batch at p.
    XACT_INLINE void add_at(const scalar_t<V>* p) noexcept { add(V::load_unaligned(p)); }
    /// add_product of the batches at a and b.
    XACT_INLINE void add_product_at(const scalar_t<V>* a, const scalar_t<V>* b) noexcept {
        add_product(V::load_unaligned(a), V::load_unaligned(b));
    }
    /// Multiplies the sums by f_hi + f_lo (a double-word factor): error about u^2.
    XACT_INLINE void scale(scalar_t<V> f_hi, scalar_t<V> f_lo) noexcept {
        const V fh(f_hi), fl(f_lo);
        V ph, pl;
        two_product(h, fh, ph, pl);
        l = pl + detail::fma(h, fl, l * fh);
        h = ph;
    }
    /// This sum plus b's, lane by lane (TwoSum of the high parts).
    XACT_INLINE term_sum merged(const term_sum& b) const noexcept {
        term_sum r;
        two_sum(h, b.h, r.h, r.l);
        r.l = (l + b.l) + r.l;
        return r;
    }
    /// Each lane's sum as a normalized double-word.
    XACT_INLINE void lanes(V& s_hi, V& s_lo) const noexcept {
        s_hi = h + l;
        s_lo = l - (s_hi - h);
    }
};
/// The double t as float hi + lo (hi = t rounded; t - hi is exact in double).
XACT_INLINE void split_double(double t, float& hi, float& lo) noexcept {
    hi = static_cast<float>(t);
    lo = static_cast<float>(t - static_cast<double>(hi));
}
template <>
struct term_sum<float, true> {
    double s = 0.0;
    XACT_INLINE void add(float v) noexcept { s += static_cast<double>(v); }
    XACT_INLINE void add_product(float a, float b) noexcept { // the product is exact in double
        s += static_cast<double>(a) * static_cast<double>(b);
    }
    XACT_INLINE void scale(float f_hi, float f_lo) noexcept {
        s *= static_cast<double>(f_hi) + static_cast<double>(f_lo); // the sum is exact in double
    }
    XACT_INLINE void lanes(float& s_hi, float& s_lo) const noexcept { split_double(s, s_hi, s_lo); }
};
template <class A>
struct term_sum<xsimd::batch<float, A>, true> {
    using V = xsimd::batch<float, A>;
    using D = xsimd::batch<double, A>;
    D lo = D(0.0), hi = D(0.0); // lanes [0, W/2) and [W/2, W)
    XACT_INLINE void add(const V& v) noexcept {
        D a, b;
        widen(v, a, b);
        lo = lo + a;
        hi = hi + b;
    }
    /// Adds the products a b lane by lane (exact in double).
    XACT_INLINE void add_product(const V& a, const V& b) noexcept {
        D al, ah, bl, bh;
        widen(a, al, ah);
        widen(b, bl, bh);
        lo = detail::fma(al, bl, lo);
        hi = detail::fma(ah, bh, hi);
    }
    /// add of the batch at p (converted from memory).
    XACT_INLINE void add_at(const float* p) noexcept {
        D a, b;
        widen_load(p, a, b);
        lo = lo + a;
        hi = hi + b;
    }
    /// add_product of the batches at a and b (converted from memory).
    XACT_INLINE void add_product_at(const float* a, const float* b) noexcept {
        D al, ah, bl, bh;
        widen_load(a, al, ah);
        widen_load(b, bl, bh);
        lo = detail::fma(al, bl, lo);
        hi = detail::fma(ah, bh, hi);
    }
    /// This sum plus b's, lane by lane.
    XACT_INLINE term_sum merged(const term_sum& b) const noexcept {
        term_sum r;
        r.lo = lo + b.lo;
        r.hi = hi + b.hi;
        return r;
    }
    XACT_INLINE void scale(float f_hi, float f_lo) noexcept {
        const D f(static_cast<double>(f_hi) + static_cast<double>(f_lo));
        lo = lo * f;
        hi = hi * f;
    }
    XACT_INLINE void lanes(V& s_hi, V& s_lo) const noexcept {
        constexpr std::size_t W = V::size;
        alignas(64) double d[W];
        alignas(64) float h[W], l[W];
        lo.store_aligned(d);
        hi.store_aligned(d + W / 2);
        for (std::size_t i = 0; i < W; ++i) split_double(d[i], h[i], l[i]);
        s_hi = V::load_aligned(h);
        s_lo = V::load_aligned(l);
    }
    /// The sum of every lane of this and b, in a fixed order, as float hi + lo.
    XACT_INLINE void total(const term_sum& b, float& s_hi, float& s_lo) const noexcept {
        split_double(reduce_add_ordered((lo + b.lo) + (hi + b.hi)), s_hi, s_lo);
    }
};
/// The sum of every lane of two batch sums (the two chains of a row), normalized.
template <class B>
XACT_INLINE void row_total(const term_sum<B>& a, const term_sum<B>& b, scalar_t<B>& s_hi,
                           scalar_t<B>& s_lo) noexcept {
    if constexpr (std::is_same_v<scalar_t<B>, float>) {
        a.total(b, s_hi, s_lo);
    } else {
        B h, e;
        two_sum(a.h, b.h, h, e);
        reduce_dw(h, B((a.l + b.l) + e), s_hi, s_lo);
    }
}

/// A double-word 1 / (s_hi + s_lo) for s_hi >= 2^K (or NaN): r_hi + r_lo, error about u^2
/// (r_lo may lose bits to underflow where it is far below an ULP of any product with it).
template <class T>
XACT_INLINE void reciprocal_dw(const T& s_hi, const T& s_lo, T& r_hi, T& r_lo) noexcept {
    using S = scalar_t<T>;
    r_hi = T(S(1)) / s_hi;
    r_lo = (detail::residual(T(S(1)), r_hi, s_hi) - r_hi * s_lo) * r_hi;
}

/// log(k + 2^-K (t_hi + t_lo)) for a count k >= 1 of maxima (each e^0 = 1) and the
/// normalized double-word sum t of the other terms (exp_shifted values): log1p of
/// (k - 1) + t, so that the log keeps its relative accuracy when the sum is 1 + tiny. The
/// terms equal to the max are kept out of t by the callers: added to 2^K, a tiny t would be
/// left to the low part alone and lose its accuracy to that part's roundings.
template <class T>
XACT_INLINE T log_count_plus(const T& k, const T& t_hi, const T& t_lo) noexcept {
    using S = scalar_t<T>;
    const T down = splat<T>(std::is_same_v<S, float> ? 0x1p-64 : 0x1p-512); // exact
    const T a = k - T(S(1));                                                // an exact integer
    T u, u_err;
    two_sum(a, t_hi * down, u, u_err);
    return math::detail::log1p_core(u, u_err + t_lo * down);
}

/// log_softmax's output x - (m + log s), with m + log s = c_hi + c_lo exactly: two roundings
/// that cost at most about 1 ULP together. Where x - c_hi cancels, x and c_hi are within a
/// factor 2 and the difference is exact (Sterbenz); elsewhere |x - c_hi| is at least about
/// |c_hi| / 2, far above |c_lo| <= ulp(c_hi) / 2. For the max itself this is (m - c_hi) - c_lo
/// = -log s exactly rounded, tiny values included.
template <class V>
XACT_INLINE V log_softmax_write(const V& x, const V& c_hi, const V& c_lo) noexcept {
    return (x - c_hi) - c_lo;
}

// ---------------------------------------------------------------- lines of W rows

// The strided kernels see W rows at once, lane l of element c at p[c * stride + l]. An "io"
// policy loads and stores those vectors: whole (all W lanes), partial (the first r lanes,
// the others padded with a fill value and never stored), or a single scalar row.

template <class Arch, class T>
struct io_full {
    using V = xsimd::batch<T, Arch>;
    XACT_INLINE V load(const T* p, T) const noexcept { return detail::load<T, Arch>(p); }
    XACT_INLINE void store(T* p, const V& v) const noexcept { detail::store(p, v); }
};

template <class Arch, class T>
struct io_partial {
    using V = xsimd::batch<T, Arch>;
    std::size_t r; // lanes in use, 0 < r < W
    XACT_INLINE V load(const T* p, T fill) const noexcept {
        return detail::load_partial<T, Arch>(p, r, fill);
    }
    XACT_INLINE void store(T* p, const V& v) const noexcept { detail::store_partial(p, v, r); }
};

template <class T>
struct io_scalar {
    using V = T;
    XACT_INLINE T load(const T* p, T) const noexcept { return *p; }
    XACT_INLINE void store(T* p, const T& v) const noexcept { *p = v; }
};

/// Lane mask "any lane true" for batches and plain bools.
XACT_INLINE bool any_of(bool b) noexcept {
    return b;
}
template <class T, class A>
XACT_INLINE bool any_of(const xsimd::batch_bool<T, A>& b) noexcept {
    return xsimd::any(b);
}

/// A row whose maximum is +inf: the limit (softmax 1/k on the k +inf entries, 0 elsewhere;
/// log_softmax -log k and -inf), or all NaN when the row holds a NaN. Reads every x before
/// writing, so y may equal x.
template <class T>
void softmax_limit_row(const T* x, T* y, std::size_t len, std::size_t stride, bool log) noexcept {
    constexpr T inf = std::numeric_limits<T>::infinity();
    bool nan = false;
    std::size_t k = 0;
    for (std::size_t c = 0; c < len; ++c) {
        const T v = x[c * stride];
        nan = nan || std::isnan(v);
        k += v == inf ? 1 : 0;
    }
    const T kf = static_cast<T>(k);
    const T on = log ? T(0) - std::log(kf) : T(1) / kf; // 0 - log 1 = +0
    const T off = log ? -inf : T(0);
    for (std::size_t c = 0; c < len; ++c) {
        const T v = x[c * stride];
        y[c * stride] = nan ? std::numeric_limits<T>::quiet_NaN() : (v == inf ? on : off);
    }
}

/// Elementwise max that keeps NaN wherever either side is NaN is not needed: a NaN entry makes
/// its own e^(x - m) NaN, hence the sum and the whole row, whatever the max did with it.
template <class V>
XACT_INLINE V vmax(const V& a, const V& b) noexcept {
    if constexpr (is_batch_v<V>) {
        return xsimd::max(a, b);
    } else {
        return a < b ? b : a;
    }
}

/// softmax or log_softmax of the rows of one io group along a strided axis (three passes).
/// Returns false, writing nothing, when some row's max is +inf (the caller takes those rows
/// one by one).
template <class IO, class T>
bool softmax_lines(const IO& io, const T* x, T* y, std::size_t len, std::size_t stride,
                   bool log) noexcept {
    using V = typename IO::V;
    constexpr T inf = std::numeric_limits<T>::infinity();
    V m(-inf);
    for (std::size_t c = 0; c < len; ++c) m = vmax(m, io.load(x + c * stride, -inf));
    if (any_of(m == V(inf))) return false;
    term_sum<V> sum;
    V k(T(0));
    for (std::size_t c = 0; c < len; ++c) {
        V hi, lo;
        shifted(io.load(x + c * stride, -inf), m, hi, lo);
        const V e = exp_shifted(hi, lo);
        if (log) { // the maxima are counted apart (see log_count_plus)
            const auto top = hi == V(T(0));
            k = k + detail::select(top, V(T(1)), V(T(0)));
            sum.add(detail::select(top, V(T(0)), e));
        } else {
            io.store(y + c * stride, e);
            sum.add(e);
        }
    }
    V n_hi, n_lo;
    sum.lanes(n_hi, n_lo);
    if (log) {
        V c_hi, c_lo; // m + log s exactly (see log_softmax_write)
        two_sum(m, log_count_plus(k, n_hi, n_lo), c_hi, c_lo);
        for (std::size_t c = 0; c < len; ++c)
            io.store(y + c * stride, log_softmax_write(io.load(x + c * stride, -inf), c_hi, c_lo));
    } else {
        V r_hi, r_lo;
        reciprocal_dw(n_hi, n_lo, r_hi, r_lo);
        for (std::size_t c = 0; c < len; ++c) {
            const V e = io.load(y + c * stride, T(0));
            io.store(y + c * stride, detail::fma(e, r_hi, e * r_lo));
        }
    }
    return true;
}

/// One row along a strided axis, scalar (the rows of a group that holds a +inf maximum).
template <class T>
void softmax_line_scalar(const T* x, T* y, std::size_t len, std::size_t stride, bool log) noexcept {
    if (!softmax_lines(io_scalar<T>{}, x, y, len, stride, log))
        softmax_limit_row(x, y, len, stride, log);
}

/// Stack space for one strided group (len x W elements, 16 KiB): the group is gathered there
/// once, the passes run on it in L1, and the result is scattered once. Along a strided axis
/// the rows of a group are `inner` elements apart; when that is a multiple of 4 KiB every row
/// maps to the same L1 set and the direct passes would thrash it.
template <class T>
inline constexpr std::size_t softmax_tile_cap = 16384 / sizeof(T);

/// softmax or log_softmax of the rows of `groups` neighbouring groups at x (io: whole groups,
/// or one partial group of `lanes` rows). Gathered rows are `groups` * W apart in the buffer.
template <class Arch, class T, class IO>
void softmax_group(const IO& io, const T* x, T* y, std::size_t len, std::size_t inner,
                   std::size_t groups, std::size_t lanes, bool log) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    constexpr T ninf = -std::numeric_limits<T>::infinity();
    const std::size_t gw = groups * W;
    if (len * gw <= softmax_tile_cap<T>) {
        alignas(64) T buf[softmax_tile_cap<T>];
        for (std::size_t c = 0; c < len; ++c)
            for (std::size_t g = 0; g < groups; ++g)
                detail::store(buf + c * gw + g * W, io.load(x + c * inner + g * W, ninf));
        for (std::size_t g = 0; g < groups; ++g) {
            if (softmax_lines(io_full<Arch, T>{}, buf + g * W, buf + g * W, len, gw, log)) {
                for (std::size_t c = 0; c < len; ++c)
                    io.store(y + c * inner + g * W, detail::load<T, Arch>(buf + c * gw + g * W));
            } else {
                for (std::size_t l = 0; l < lanes; ++l)
                    softmax_line_scalar(x + g * W + l, y + g * W + l, len, inner, log);
            }
        }
        return;
    }
    for (std::size_t g = 0; g < groups; ++g)
        if (!softmax_lines(io, x + g * W, y + g * W, len, inner, log))
            for (std::size_t l = 0; l < lanes; ++l)
                softmax_line_scalar(x + g * W + l, y + g * W + l, len, inner, log);
}

/// How many whole groups a strided tile takes: up to 4 (a 256-byte run per row with AVX-512
/// floats), fewer when the rows are long.
template <class T>
inline std::size_t softmax_tile_groups(std::size_t len, std::size_t w, std::size_t left) noexcept {
    std::size_t g = left < 4 ? left : 4;
    while (g > 1 && len * g * w > softmax_tile_cap<T>) --g;
    return g;
}

/// The rows of `cols` neighbouring inner positions of one slice (element c of position j at
/// x[c * stride + j]); cols <= stride.
template <class Arch, class T>
void softmax_strided(const T* x, T* y, std::size_t len, std::size_t stride, std::size_t cols,
                     bool log) noexcept {
    constexpr std::size_t W = xsimd::batch<T, Arch>::size;
    std::size_t j = 0;
    while (j + W <= cols) {
        const std::size_t g = softmax_tile_groups<T>(len, W, (cols - j) / W);
        softmax_group<Arch>(io_full<Arch, T>{}, x + j, y + j, len, stride, g, W, log);
        j += g * W;
    }
    if (j < cols)
        softmax_group<Arch>(io_partial<Arch, T>{cols - j}, x + j, y + j, len, stride, 1, cols - j,
                            log);
}

// ---------------------------------------------------------------- contiguous rows

/// Max of x[0, n) (n > 0) with four independent chains; the tail is padded with -inf.
template <class Arch, class T>
T row_max(const T* x, std::size_t n) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    constexpr T ninf = -std::numeric_limits<T>::infinity();
    B m0(ninf), m1(ninf), m2(ninf), m3(ninf);
    std::size_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        m0 = xsimd::max(m0, detail::load<T, Arch>(x + i));
        m1 = xsimd::max(m1, detail::load<T, Arch>(x + i + W));
        m2 = xsimd::max(m2, detail::load<T, Arch>(x + i + 2 * W));
        m3 = xsimd::max(m3, detail::load<T, Arch>(x + i + 3 * W));
    }
    for (; i + W <= n; i += W) m0 = xsimd::max(m0, detail::load<T, Arch>(x + i));
    if (i < n) m1 = xsimd::max(m1, io_partial<Arch, T>{n - i}.load(x + i, ninf));
    alignas(64) T lanes[W];
    detail::store(lanes, xsimd::max(xsimd::max(m0, m1), xsimd::max(m2, m3)));
    T m = lanes[0];
    for (std::size_t l = 1; l < W; ++l) m = vmax(m, lanes[l]);
    return m;
}

/// Row accumulators: two partial sums of exp_shifted terms (two chains), and (log_softmax)
/// the count of terms equal to the max, which the sums then leave out.
template <class B>
struct row_acc {
    term_sum<B> s0, s1;
    B k = B(scalar_t<B>(0));
};

/// One batch of terms e^(x - m) 2^K into the sum s; with `split` (log_softmax), the maxima
/// (x == m, term exactly 2^K) are counted in k instead.
template <bool split, class B>
XACT_INLINE B row_term(const B& x, const B& m, term_sum<B>& s, B& k) noexcept {
    using T = typename B::value_type;
    B hi, lo;
    shifted(x, m, hi, lo);
    const B e = exp_shifted(hi, lo);
    if constexpr (split) {
        const auto top = hi == B(T(0));
        k = k + detail::select(top, B(T(1)), B(T(0)));
        s.add(detail::select(top, B(T(0)), e));
    } else {
        s.add(e);
    }
    return e;
}

/// Adds the terms e^(x_i - m) 2^K for i < n into acc; with `out`, also stores them.
template <bool split, class Arch, class T>
XACT_INLINE void row_exp_sum(const T* x, T* out, std::size_t n, T m,
                             row_acc<xsimd::batch<T, Arch>>& acc) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    const B mv(m);
    term_sum<B> s0 = acc.s0, s1 = acc.s1;
    B k = acc.k;
    std::size_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const B e0 = row_term<split>(detail::load<T, Arch>(x + i), mv, s0, k);
        const B e1 = row_term<split>(detail::load<T, Arch>(x + i + W), mv, s1, k);
        if (out != nullptr) {
            detail::store(out + i, e0);
            detail::store(out + i + W, e1);
        }
    }
    if (i + W <= n) {
        const B e = row_term<split>(detail::load<T, Arch>(x + i), mv, s0, k);
        if (out != nullptr) detail::store(out + i, e);
        i += W;
    }
    if (i < n) { // padded with -inf: the term is 0 there, never stored
        const io_partial<Arch, T> io{n - i};
        const B e = row_term<split>(io.load(x + i, -std::numeric_limits<T>::infinity()), mv, s1, k);
        if (out != nullptr) io.store(out + i, e);
    }
    acc.s0 = s0;
    acc.s1 = s1;
    acc.k = k;
}

template <class Arch, class T>
void softmax_row(const T* x, T* y, std::size_t n) noexcept {
    using B = xsimd::batch<T, Arch>;
    const T m = row_max<Arch>(x, n);
    if (m == std::numeric_limits<T>::infinity()) return softmax_limit_row(x, y, n, 1, false);
    row_acc<B> acc;
    row_exp_sum<false, Arch>(x, y, n, m, acc);
    T s_hi, s_lo, r_hi, r_lo;
    row_total(acc.s0, acc.s1, s_hi, s_lo);
    reciprocal_dw(s_hi, s_lo, r_hi, r_lo);
    const B rh(r_hi), rl(r_lo);
    map1<Arch>(y, y, n,
               [rh, rl](const B& e) XACT_LAMBDA_INLINE { return detail::fma(e, rh, e * rl); });
}

/// Block length of the online max-and-sum pass of log_softmax (4 KiB of input).
template <class T>
inline constexpr std::size_t softmax_block = 4096 / sizeof(T);

template <class Arch, class T>
void log_softmax_row(const T* x, T* y, std::size_t n) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr T inf = std::numeric_limits<T>::infinity();
    const B zero(T(0));
    row_acc<B> acc;
    T m = -inf;
    for (std::size_t b = 0; b < n; b += softmax_block<T>) {
        const std::size_t len = n - b < softmax_block<T> ? n - b : softmax_block<T>;
        const T bm = row_max<Arch>(x + b, len); // the block is now in L1 for the sum below
        if (bm == inf) return softmax_limit_row(x, y, n, 1, true);
        if (bm == -inf && m == -inf) {
            // Every term so far is e^-inf = 0, and the sum below would form -inf - -inf = NaN.
            // The block may still hold a NaN (the max does not report it): then the row is NaN.
            for (std::size_t i = b; i < b + len; ++i) {
                if (std::isnan(x[i])) {
                    for (std::size_t j = 0; j < n; ++j) y[j] = std::numeric_limits<T>::quiet_NaN();
                    return;
                }
            }
            continue;
        }
        if (bm > m) {
            if (m != -inf) {
                // The old maxima become ordinary terms (2^K each), then the sums are rescaled
                // by e^(m - bm) = (f_hi + f_lo) 2^p, a double-word factor: the product's error
                // stays near u^2 however many times the max rises.
                acc.s0.add(acc.k * B(static_cast<T>(std::is_same_v<T, float> ? 0x1p64 : 0x1p512)));
                acc.k = zero;
                T d_hi, d_lo;
                shifted(m, bm, d_hi, d_lo);
                const auto p = math::detail::exp_parts_of(d_hi);
                const T f_hi = p.hi, f_lo = detail::fma(p.hi, d_lo, p.lo);
                const T k_hi = scale2(f_hi, p.n), k_lo = scale2(f_lo, p.n);
                acc.s0.scale(k_hi, k_lo);
                acc.s1.scale(k_hi, k_lo);
            }
            m = bm;
        }
        row_exp_sum<true, Arch>(x + b, static_cast<T*>(nullptr), len, m, acc);
    }
    T t_hi, t_lo;
    row_total(acc.s0, acc.s1, t_hi, t_lo);
    T c_hi, c_lo; // m + log s exactly (see log_softmax_write)
    two_sum(m, log_count_plus(reduce_add_ordered(acc.k), t_hi, t_lo), c_hi, c_lo);
    const B ch(c_hi), cl(c_lo);
    map1<Arch>(x, y, n,
               [ch, cl](const B& v) XACT_LAMBDA_INLINE { return log_softmax_write(v, ch, cl); });
}

// ---------------------------------------------------------------- backward

/// log_softmax_backward's e^v s, also where e^v alone is subnormal or 0 but e^v s is not
/// (v = -100, s = 1e30), and where s alone overflows: s = s' 2^k (sum_dy_factor), and
/// e^v s = (hi + lo) s' 2^(n + k), rounded into place once (twice where it is subnormal).
template <class V>
XACT_INLINE V exp_times(const V& v, const V& sp, const detail::int_t<V>& k) noexcept {
    using S = detail::scalar_t<V>;
    const auto e = math::detail::exp_parts_of<V, false, true>(v);
    // No low term for infinite s': inf - inf would turn the limit into NaN.
    const V lo =
        detail::select(detail::abs(sp) < V(std::numeric_limits<S>::infinity()), e.lo * sp, V(S(0)));
    // e^-inf = 0 exactly: 0 s' (NaN for an infinite s', as the formula gives in IEEE arithmetic).
    return detail::select(v == V(-std::numeric_limits<S>::infinity()), V(S(0)) * sp,
                          math::detail::scale2_clamped(detail::fma(e.hi, sp, lo), e.n + k));
}

/// softmax_backward's rows whose dy are all tiny (every |dy| below 2^40, float, or 2^400,
/// double, and |<y, dy>| below 2^-60 / 2^-600 for contiguous rows) run with dy scaled by
/// 2^64 / 2^512 and dx scaled back once: the products y_j dy_j would otherwise lose their
/// low parts in the subnormal range (5 ULP there). log_softmax_backward scales sums of dy
/// that overflow by `down` (sum_dy_factor).
template <class T>
struct backward_scale {
    static constexpr bool f32 = std::is_same_v<T, float>;
    static constexpr T g_limit = f32 ? T(0x1p40) : T(0x1p400);
    static constexpr T s_limit = f32 ? T(0x1p-60) : T(0x1p-600);
    static constexpr T up = f32 ? T(0x1p64) : T(0x1p512), down = f32 ? T(0x1p-64) : T(0x1p-512);
    static constexpr int shift = f32 ? 64 : 512; // up = 2^shift
};

/// The factor s = s' 2^k of exp_times for a sum s (+ s_lo) of dy: k = K = backward_scale::shift
/// where |s| > 1 (else 0), s' = s 2^-k; where s is not finite (a sum or a partial sum overflowed,
/// or dy holds inf or NaN), s' = s_down, the sum taken again of dy 2^-K (finite up to 2^K times
/// the largest value; dy 2^-K may lose bits to underflow, 2^-150 or 2^-1075 at most each, nothing
/// against a sum that overflowed). sp_lo is the low word of s' (minus_exp_times_wide).
template <class V>
XACT_INLINE void sum_dy_factor(const V& s, const V& s_lo, const V& s_down, const V& s_down_lo,
                               V& sp, V& sp_lo, detail::int_t<V>& k) noexcept {
    using S = detail::scalar_t<V>;
    using I = detail::int_t<V>;
    const V a = detail::abs(s);
    const V f = detail::select(a > V(S(1)), V(backward_scale<S>::down), V(S(1)));
    const auto finite = a <= V(std::numeric_limits<S>::max());
    sp = detail::select(finite, s * f, s_down);
    sp_lo = detail::select(finite, s_lo * f, s_down_lo);
    // K where |s| > 1 (or NaN), as an integer mask: the bits of |s| - 1 are positive there.
    k = detail::select(detail::as_int(a - V(S(1))) > I(0), I(backward_scale<S>::shift), I(0));
}

/// g - e^v s (exp_times) also where e^v s alone overflows but the difference does not
/// (y = log 0.6, dy = 0.9 max twice): there g 2^-K - e^v (s' + s'_lo) 2^(k-K), K =
/// backward_scale::shift, in double-word arithmetic, rounded once and scaled back by 2^K. The
/// low words keep a result at the top of the range finite (y = [0, -inf], dy = [0.9 max, max]:
/// dx_0 = -max); g 2^-K is exact for every g whose bits matter against e^v s there.
template <class V>
XACT_INLINE V minus_exp_times_wide(const V& g, const V& v, const V& sp, const V& sp_lo,
                                   const detail::int_t<V>& k) noexcept {
    using S = detail::scalar_t<V>;
    using BS = backward_scale<S>;
    const V max(std::numeric_limits<S>::max());
    const V r = g - exp_times(v, sp, k);
    const auto e = math::detail::exp_parts_of<V, false, true>(v);
    const detail::int_t<V> n = e.n + k - detail::int_t<V>(BS::shift);
    V p, p_lo; // e^v s' as p + p_lo: the exact product of the high parts, then the low terms
    detail::two_product(e.hi, sp, p, p_lo);
    p_lo = p_lo + detail::fma(e.lo, sp, e.hi * sp_lo);
    V d, d_lo;
    two_sum(g * V(BS::down), -math::detail::scale2_clamped(p, n), d, d_lo);
    const V r2 = (d + (d_lo - math::detail::scale2_clamped(p_lo, n))) * V(BS::up);
    // Where a part is not finite (s' or g infinite, or NaN), r is the formula's IEEE value.
    // (The negation in its own parentheses: GCC's -Wparentheses flags `!a & b`.)
    const auto wide =
        (!(detail::abs(r) <= max)) & (detail::abs(d) <= max) & (detail::abs(p_lo) <= max);
    return detail::select(wide, r2, r);
}

/// Sums of dy whose magnitude reaches this (or that are not finite) take minus_exp_times_wide:
/// below it, e^y s stays finite for every y < 11 (e^y < 2^16).
template <class T>
inline constexpr T wide_sum_limit = std::numeric_limits<T>::max() * T(0x1p-16);

/// softmax_backward's v (g - s) also where g - s alone overflows but the product does not
/// (y = 0.1, dy = -max, s = 0.8 max), or where s = <y, g> itself overflows (y a softmax output
/// whose sum exceeds 1 by an ULP, dy = max): there v (g 2^-K - s_k) 2^K with s_k = <y, g 2^-K>
/// summed from the scaled terms (backward_scale::down, K = shift). The scalings are exact for
/// every g whose bits matter against |s| near the top of the range, so this rounds as
/// v (g - s); the scaling back overflows only where the true result does. Where s_k is not
/// finite (y or dy holds inf or NaN: s_k may even be NaN where s is inf, from inf times a dy
/// scaled to 0), v (g - s) is kept: the formula's IEEE value.
template <class V>
XACT_INLINE V times_wide_difference(const V& v, const V& g, const V& s, const V& s_k) noexcept {
    using S = detail::scalar_t<V>;
    using BS = backward_scale<S>;
    const V max(std::numeric_limits<S>::max());
    const V d = g - s;
    return detail::select((detail::abs(d) <= max) | !(detail::abs(s_k) <= max), v * d,
                          (v * (g * V(BS::down) - s_k)) * V(BS::up));
}

/// Rows (or lanes) where |dy| + |<y, dy>| reaches this may overflow in dy - <y, dy>.
template <class T>
inline constexpr T wide_difference_limit = std::is_same_v<T, float> ? T(0x1p127) : T(0x1p1023);

/// softmax_backward or log_softmax_backward of one io group along a strided axis.
template <class IO, class T>
void softmax_backward_lines(const IO& io, const T* y, const T* dy, T* dx, std::size_t len,
                            std::size_t stride, bool log) noexcept {
    using V = typename IO::V;
    using BS = backward_scale<T>;
    if (log) {
        // The sum of dy per lane as hi + lo, or (Down) of dy 2^-K.
        const auto sum = [&](auto down, V& lo) {
            V s_hi(T(0)), s_lo(T(0));
            for (std::size_t c = 0; c < len; ++c) {
                V g = io.load(dy + c * stride, T(0));
                if constexpr (decltype(down)::value) g = g * V(BS::down);
                accumulate(s_hi, s_lo, g);
            }
            const V hi = dw_value(s_hi, s_lo);
            lo = detail::select(detail::abs(hi) <= V(std::numeric_limits<T>::max()),
                                s_lo - (hi - s_hi), V(T(0)));
            return hi;
        };
        V s_lo, s_down_lo(T(0));
        const V s = sum(std::false_type{}, s_lo);
        V s_down = s; // lanes whose sum is not finite: again from dy 2^-K (sum_dy_factor)
        if (!xsimd::all(detail::abs(s) <= V(std::numeric_limits<T>::max())))
            s_down = sum(std::true_type{}, s_down_lo);
        V sp, sp_lo;
        detail::int_t<V> k;
        sum_dy_factor(s, s_lo, s_down, s_down_lo, sp, sp_lo, k);
        if (!xsimd::all(detail::abs(s) < V(wide_sum_limit<T>))) { // rare
            for (std::size_t c = 0; c < len; ++c) {
                const V v = io.load(y + c * stride, T(0)), g = io.load(dy + c * stride, T(0));
                io.store(dx + c * stride, minus_exp_times_wide(g, v, sp, sp_lo, k));
            }
            return;
        }
        for (std::size_t c = 0; c < len; ++c) {
            const V v = io.load(y + c * stride, T(0)), g = io.load(dy + c * stride, T(0));
            io.store(dx + c * stride, g - exp_times(v, sp, k));
        }
        return;
    }
    V gmax(T(0)); // per lane: scaled by 2^64 (2^512) where every |dy| is small (backward_scale)
    for (std::size_t c = 0; c < len; ++c)
        gmax = xsimd::max(gmax, detail::abs(io.load(dy + c * stride, T(0))));
    const auto small = gmax < V(BS::g_limit);
    const V up = detail::select(small, V(BS::up), V(T(1)));
    const V down = detail::select(small, V(BS::down), V(T(1)));
    // <y, dy f> per lane (f: powers of two, so every f gives the same sum scaled by f).
    const auto dot = [&](const V& f) {
        V d_hi(T(0)), d_lo(T(0));
        for (std::size_t c = 0; c < len; ++c) {
            V p, p_err;
            two_product_wide(io.load(y + c * stride, T(0)), io.load(dy + c * stride, T(0)) * f, p,
                             p_err);
            accumulate(d_hi, d_lo, p);
            d_lo = d_lo + p_err;
        }
        return dw_value(d_hi, d_lo);
    };
    const V s = dot(up);
    if (!xsimd::all(gmax + detail::abs(s) < V(wide_difference_limit<T>))) { // rare
        const V s_k = dot(up * V(BS::down)); // s 2^-K from the scaled terms (times_wide_difference)
        for (std::size_t c = 0; c < len; ++c) {
            const V v = io.load(y + c * stride, T(0)), g = io.load(dy + c * stride, T(0)) * up;
            io.store(dx + c * stride, times_wide_difference(v, g, s, s_k) * down);
        }
        return;
    }
    for (std::size_t c = 0; c < len; ++c) {
        const V v = io.load(y + c * stride, T(0)), g = io.load(dy + c * stride, T(0)) * up;
        io.store(dx + c * stride, (v * (g - s)) * down);
    }
}

/// softmax_backward or log_softmax_backward of `groups` neighbouring groups (gathered as in
/// softmax_group).
template <class Arch, class T, class IO>
void softmax_backward_group(const IO& io, const T* y, const T* dy, T* dx, std::size_t len,
                            std::size_t inner, std::size_t groups, bool log) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    const std::size_t gw = groups * W;
    if (len * gw > softmax_tile_cap<T>) {
        for (std::size_t g = 0; g < groups; ++g)
            softmax_backward_lines(io, y + g * W, dy + g * W, dx + g * W, len, inner, log);
        return;
    }
    alignas(64) T by[softmax_tile_cap<T>];
    alignas(64) T bg[softmax_tile_cap<T>];
    for (std::size_t c = 0; c < len; ++c)
        for (std::size_t g = 0; g < groups; ++g) {
            detail::store(by + c * gw + g * W, io.load(y + c * inner + g * W, T(0)));
            detail::store(bg + c * gw + g * W, io.load(dy + c * inner + g * W, T(0)));
        }
    for (std::size_t g = 0; g < groups; ++g)
        softmax_backward_lines(io_full<Arch, T>{}, by + g * W, bg + g * W, bg + g * W, len, gw,
                               log);
    for (std::size_t c = 0; c < len; ++c)
        for (std::size_t g = 0; g < groups; ++g)
            io.store(dx + c * inner + g * W, detail::load<T, Arch>(bg + c * gw + g * W));
}

/// The backward pass of the rows of `cols` neighbouring inner positions (as softmax_strided).
template <class Arch, class T>
void softmax_backward_strided(const T* y, const T* dy, T* dx, std::size_t len, std::size_t stride,
                              std::size_t cols, bool log) noexcept {
    constexpr std::size_t W = xsimd::batch<T, Arch>::size;
    std::size_t j = 0;
    while (j + W <= cols) {
        const std::size_t g = softmax_tile_groups<T>(len, W, (cols - j) / W);
        softmax_backward_group<Arch>(io_full<Arch, T>{}, y + j, dy + j, dx + j, len, stride, g,
                                     log);
        j += g * W;
    }
    if (j < cols)
        softmax_backward_group<Arch>(io_partial<Arch, T>{cols - j}, y + j, dy + j, dx + j, len,
                                     stride, 1, log);
}

/// Visits a contiguous row of (y, dy) batches in the fixed order of the backward sums:
/// visit(c, y + i, dy + i) on four chains c = 0 … 3 taking batches in turn (enough
/// independent additions to hide their latency), the last whole batches on chains 0, 1, 2,
/// and the tail (copied, padded with zeros) on chain 3.
template <class Arch, class T, class Visit>
XACT_INLINE void row_chains(const T* y, const T* dy, std::size_t n, const Visit& visit) noexcept {
    constexpr std::size_t W = xsimd::batch<T, Arch>::size;
    std::size_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        visit(0, y + i, dy + i);
        visit(1, y + i + W, dy + i + W);
        visit(2, y + i + 2 * W, dy + i + 2 * W);
        visit(3, y + i + 3 * W, dy + i + 3 * W);
    }
    // Chains named by constants, so that the visitor's per-chain state stays in registers.
    if (i + W <= n) {
        visit(0, y + i, dy + i);
        i += W;
    }
    if (i + W <= n) {
        visit(1, y + i, dy + i);
        i += W;
    }
    if (i + W <= n) {
        visit(2, y + i, dy + i);
        i += W;
    }
    if (i < n) {
        const io_partial<Arch, T> io{n - i};
        alignas(64) T yb[W], gb[W];
        detail::store(yb, io.load(y + i, T(0)));
        detail::store(gb, io.load(dy + i, T(0)));
        visit(3, yb, gb);
    }
}

/// <y, dy up> (Log = false) or the sum of dy up (Log = true; y is not read) over a
/// contiguous row, up = 1 unless Scaled, in four term_sum chains: float in double lanes (a
/// product of two floats is exact there, and each addition rounds at 2^-53 of the partial
/// sum), double with TwoProduct and TwoSum. With Log = false, *g_max (if given) receives
/// lanes whose maximum is max |dy| (NaN lanes may count or not).
template <bool Log, bool Scaled, class Arch, class T>
T row_backward_sum(const T* y, const T* dy, std::size_t n, T up = T(1),
                   xsimd::batch<T, Arch>* g_max = nullptr, T* lo = nullptr) noexcept {
    using B = xsimd::batch<T, Arch>;
    term_sum<B> s[4];
    B m[4] = {B(T(0)), B(T(0)), B(T(0)), B(T(0))};
    const B U(up);
    row_chains<Arch>(y, dy, n, [&](int c, const T* yp, const T* gp) XACT_LAMBDA_INLINE {
        if constexpr (Log) {
            if constexpr (Scaled) {
                s[c].add(detail::load<T, Arch>(gp) * U);
            } else {
                s[c].add_at(gp);
            }
        } else {
            const B g = detail::load<T, Arch>(gp);
            if constexpr (Scaled) {
                s[c].add_product(detail::load<T, Arch>(yp), g * U);
            } else {
                s[c].add_product_at(yp, gp);
            }
            m[c] = xsimd::max(m[c], detail::abs(g));
        }
    });
    if (g_max != nullptr) *g_max = xsimd::max(xsimd::max(m[0], m[1]), xsimd::max(m[2], m[3]));
    T s_hi, s_lo;
    row_total(s[0].merged(s[2]), s[1].merged(s[3]), s_hi, s_lo);
    if (lo != nullptr) *lo = std::abs(s_hi) <= std::numeric_limits<T>::max() ? s_lo : T(0);
    return s_hi;
}

template <class Arch, class T>
void softmax_backward_row(const T* y, const T* dy, T* dx, std::size_t n, bool log) noexcept {
    using B = xsimd::batch<T, Arch>;
    if (log) {
        T s0_lo, s_down_lo = T(0);
        const T s0 =
            row_backward_sum<true, false, Arch>(y, dy, n, T(1), static_cast<B*>(nullptr), &s0_lo);
        // A sum that is not finite is taken again from dy 2^-K (sum_dy_factor).
        const T s_down =
            std::isfinite(s0)
                ? s0
                : row_backward_sum<true, true, Arch>(y, dy, n, backward_scale<T>::down,
                                                     static_cast<B*>(nullptr), &s_down_lo);
        B sp, sp_lo;
        detail::int_t<B> k;
        sum_dy_factor(B(s0), B(s0_lo), B(s_down), B(s_down_lo), sp, sp_lo, k);
        if (!(std::abs(s0) < wide_sum_limit<T>)) { // rare: e^y s may overflow
            map2<Arch>(y, dy, dx, n, [sp, sp_lo, k](const B& v, const B& g) XACT_LAMBDA_INLINE {
                return minus_exp_times_wide(g, v, sp, sp_lo, k);
            });
            return;
        }
        map2<Arch>(y, dy, dx, n, [sp, k](const B& v, const B& g) XACT_LAMBDA_INLINE {
            return g - exp_times(v, sp, k);
        });
        return;
    }
    B g_max;
    const T s0 = row_backward_sum<false, false, Arch>(y, dy, n, T(1), &g_max);
    const B s(s0);
    using BS = backward_scale<T>;
    if (std::abs(s0) < BS::s_limit && xsimd::all(g_max < B(BS::g_limit))) {
        // A row of tiny products (rare): again with dy scaled (backward_scale).
        const B s2(row_backward_sum<false, true, Arch>(y, dy, n, BS::up)), up(BS::up),
            down(BS::down);
        map2<Arch>(y, dy, dx, n, [s2, up, down](const B& v, const B& g) XACT_LAMBDA_INLINE {
            return (v * (g * up - s2)) * down;
        });
        return;
    }
    // Rare: dy - s or s may overflow (a NaN in g_max, whose row is all NaN, also comes here).
    if (!xsimd::all(g_max + B(std::abs(s0)) < B(wide_difference_limit<T>))) {
        const B s_k(row_backward_sum<false, true, Arch>(y, dy, n, BS::down));
        map2<Arch>(y, dy, dx, n, [s, s_k](const B& v, const B& g) XACT_LAMBDA_INLINE {
            return times_wide_difference(v, g, s, s_k);
        });
        return;
    }
    map2<Arch>(y, dy, dx, n,
               [s](const B& v, const B& g) XACT_LAMBDA_INLINE { return v * (g - s); });
}

// ---------------------------------------------------------------- entry points

/// A piece of the rows of extents e: outer slices [o, o + outer_count), and within each the
/// inner positions [j, j + inner_count). Every row is computed the same in any piece.
struct row_piece {
    std::size_t o, outer_count, j, inner_count;
};

template <class Arch, class T>
void softmax_piece(const T* x, T* y, const extents& e, const row_piece& r, bool log) noexcept {
    const std::size_t slice = e.axis * e.inner;
    for (std::size_t o = r.o; o < r.o + r.outer_count; ++o) {
        const T* xo = x + o * slice + r.j;
        T* yo = y + o * slice + r.j;
        if (e.inner == 1) {
            if (log) {
                log_softmax_row<Arch>(xo, yo, e.axis);
            } else {
                softmax_row<Arch>(xo, yo, e.axis);
            }
        } else {
            softmax_strided<Arch>(xo, yo, e.axis, e.inner, r.inner_count, log);
        }
    }
}

template <class Arch, class T>
void softmax_backward_piece(const T* y, const T* dy, T* dx, const extents& e, const row_piece& r,
                            bool log) noexcept {
    const std::size_t slice = e.axis * e.inner;
    for (std::size_t o = r.o; o < r.o + r.outer_count; ++o) {
        const std::size_t b = o * slice + r.j;
        if (e.inner == 1) {
            softmax_backward_row<Arch>(y + b, dy + b, dx + b, e.axis, log);
        } else {
            softmax_backward_strided<Arch>(y + b, dy + b, dx + b, e.axis, e.inner, r.inner_count,
                                           log);
        }
    }
}

template <class T>
std::size_t check_softmax(const T* x, const T* y, const extents& e, const char* what_x,
                          const char* what_y, const char* alias) {
    check_real<T>();
    const std::size_t n = e.size();
    if (n > std::size_t(-1) / sizeof(T)) invalid_argument("xact::softmax: extents too large");
    check_pointer(x, n, what_x);
    check_pointer(y, n, what_y);
    check_alias(x, y, n, alias);
    return n;
}

/// The checks of softmax / log_softmax (before anything is written); returns e.size().
template <class T>
std::size_t check_softmax_forward(const T* x, const T* y, const extents& e, bool log) {
    return log ? check_softmax(x, y, e,
                               "xact::log_softmax: x is null while the extents are not empty",
                               "xact::log_softmax: y is null while the extents are not empty",
                               "xact::log_softmax: y partially overlaps x (only y == x is allowed)")
               : check_softmax(x, y, e, "xact::softmax: x is null while the extents are not empty",
                               "xact::softmax: y is null while the extents are not empty",
                               "xact::softmax: y partially overlaps x (only y == x is allowed)");
}

/// The checks of softmax_backward / log_softmax_backward; returns e.size().
template <class T>
std::size_t check_softmax_backward(const T* y, const T* dy, const T* dx, const extents& e,
                                   bool log) {
    const std::size_t n =
        log ? check_softmax(
                  y, dx, e, "xact::log_softmax_backward: y is null while the extents are not empty",
                  "xact::log_softmax_backward: dx is null while the extents are not empty",
                  "xact::log_softmax_backward: dx partially overlaps y (only dx == y is allowed)")
            : check_softmax(
                  y, dx, e, "xact::softmax_backward: y is null while the extents are not empty",
                  "xact::softmax_backward: dx is null while the extents are not empty",
                  "xact::softmax_backward: dx partially overlaps y (only dx == y is allowed)");
    check_pointer(dy, n,
                  log ? "xact::log_softmax_backward: dy is null while the extents are not empty"
                      : "xact::softmax_backward: dy is null while the extents are not empty");
    check_alias(
        dy, dx, n,
        log ? "xact::log_softmax_backward: dx partially overlaps dy (only dx == dy is allowed)"
            : "xact::softmax_backward: dx partially overlaps dy (only dx == dy is allowed)");
    return n;
}

template <class Arch, class T>
void softmax_arch(const T* x, T* y, const extents& e, bool log) {
    if (check_softmax_forward(x, y, e, log) == 0) return;
    softmax_piece<Arch>(x, y, e, {0, e.outer, 0, e.inner}, log);
}

template <class Arch, class T>
void softmax_backward_arch(const T* y, const T* dy, T* dx, const extents& e, bool log) {
    if (check_softmax_backward(y, dy, dx, e, log) == 0) return;
    softmax_backward_piece<Arch>(y, dy, dx, e, {0, e.outer, 0, e.inner}, log);
}

} // namespace detail

/// Softmax along e.axis: y = e^(x - max) / sum, within 4 ULP; rows with +inf give their limit,
/// rows with NaN or all -inf give NaN (see the top of this header). y may equal x.
template <class T>
void softmax(const T* x, T* y, extents e) {
    detail::softmax_arch<xsimd::default_arch>(x, y, e, false);
}

/// Log-softmax along e.axis: y = x - max - log(sum e^(x - max)), within 4 ULP, tiny values
/// kept (log_softmax([0, -20])[0] = -2.06e-9). y may equal x.
template <class T>
void log_softmax(const T* x, T* y, extents e) {
    detail::softmax_arch<xsimd::default_arch>(x, y, e, true);
}

/// Backward of softmax from its output y: dx = y * (dy - <dy, y>) along e.axis, the dot
/// product compensated. dx may equal y or dy.
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, extents e) {
    detail::softmax_backward_arch<xsimd::default_arch>(y, dy, dx, e, false);
}

/// Backward of log_softmax from its output y: dx = dy - e^y * sum(dy) along e.axis, the sum
/// compensated. dx may equal y or dy.
template <class T>
void log_softmax_backward(const T* y, const T* dy, T* dx, extents e) {
    detail::softmax_backward_arch<xsimd::default_arch>(y, dy, dx, e, true);
}

/// Range form of softmax: x and y contiguous ranges of e.size() elements.
template <
    class X, class Y,
    std::enable_if_t<detail::is_contiguous_range_v<X> && detail::is_output_range_v<Y>, int> = 0>
void softmax(const X& x, Y&& y, extents e) {
    if (std::size(x) != e.size() || std::size(y) != e.size())
        detail::invalid_argument("xact::softmax: x.size() and y.size() must equal e.size()");
    softmax(std::data(x), std::data(y), e);
}

/// Range form of log_softmax: x and y contiguous ranges of e.size() elements.
template <
    class X, class Y,
    std::enable_if_t<detail::is_contiguous_range_v<X> && detail::is_output_range_v<Y>, int> = 0>
void log_softmax(const X& x, Y&& y, extents e) {
    if (std::size(x) != e.size() || std::size(y) != e.size())
        detail::invalid_argument("xact::log_softmax: x.size() and y.size() must equal e.size()");
    log_softmax(std::data(x), std::data(y), e);
}

/// Range form of softmax_backward: y, dy and dx contiguous ranges of e.size() elements.
template <class Y, class DY, class DX,
          std::enable_if_t<detail::is_contiguous_range_v<Y> && detail::is_contiguous_range_v<DY> &&
                               detail::is_output_range_v<DX>,
                           int> = 0>
void softmax_backward(const Y& y, const DY& dy, DX&& dx, extents e) {
    if (std::size(y) != e.size() || std::size(dy) != e.size() || std::size(dx) != e.size())
        detail::invalid_argument(
            "xact::softmax_backward: y, dy and dx must have e.size() elements");
    softmax_backward(std::data(y), std::data(dy), std::data(dx), e);
}

/// Range form of log_softmax_backward: y, dy and dx contiguous ranges of e.size() elements.
template <class Y, class DY, class DX,
          std::enable_if_t<detail::is_contiguous_range_v<Y> && detail::is_contiguous_range_v<DY> &&
                               detail::is_output_range_v<DX>,
                           int> = 0>
void log_softmax_backward(const Y& y, const DY& dy, DX&& dx, extents e) {
    if (std::size(y) != e.size() || std::size(dy) != e.size() || std::size(dx) != e.size())
        detail::invalid_argument(
            "xact::log_softmax_backward: y, dy and dx must have e.size() elements");
    log_softmax_backward(std::data(y), std::data(dy), std::data(dx), e);
}

} // namespace xact

XACT_DIAGNOSTIC_POP
