// xact — PReLU: leaky ReLU with a learned slope per channel.
//
//   y = x > 0 ? x : a[c] * x          c = the index along extents.axis
//   dx = dy * (x > 0 ? 1 : a[c])      (NaN where x is NaN)
//   dalpha[c] += sum over channel c of (x < 0 ? x * dy : 0)   (0 at x = 0; NaN where x is NaN)
//
// alpha has alpha_count == 1 (one slope shared by every channel) or == e.axis values.
// NCHW channels: extents{N, C, H*W}; NHWC: extents{N*H*W, C, 1}. y == x, dx == x and
// dx == dy are allowed (in place); other overlaps, null pointers and a wrong alpha_count
// throw std::invalid_argument before anything is written. Nothing is allocated on the heap
// (at most about 16 KiB of stack).
//
// dalpha is summed in a fixed order that depends only on the extents, alpha_count and the
// SIMD width W of the build (never on alignment, in-place use or timing). Every partial sum
// starts at +0; "in order" means left to right. Where the target has FMA, a term x * dy joins
// its partial in one fused multiply-add (in a partial batch at the end of a run or of the
// array, the product is rounded first). Let Q = e.axis * e.inner (Q = 1 when
// alpha_count == 1, which is then summed as extents{n, 1, 1}) and S = the smallest multiple
// of lcm(Q, W) that is >= 4 W.
//
//  * Tiled (alpha_count == 1, or S <= 4096 / sizeof(T)): element i of the whole array (memory
//    order) belongs to slot i mod S, of channel (slot / inner) mod axis. The array is cut
//    into blocks of 64 S elements. Within a block each slot adds its elements in order into a
//    block partial; at the end of each block (and of the array) the partial is added into
//    the slot's total. Then, while L (at first S) totals remain and L / Q is even, total s
//    for s < L / 2 becomes total s + total (s + L / 2), of the same channel, and L halves;
//    finally dalpha[c] += (the
//    remaining totals of channel c, added in increasing slot order). Error about
//    (64 + n / (64 S) + log2 S + inner) u * sum |x * dy|.
//    Blocks are independent: a parallel version can sum them separately and then add the
//    block partials into the totals in block order, giving the same bits.
//  * Runs (otherwise, e.inner > 1): per channel c, over its runs o = 0, 1, ... of e.inner
//    contiguous elements, each cut into blocks of 4096 elements. Element j of a run belongs
//    to slot j mod 4W; within a block each slot adds its elements in order into a block
//    partial, added at the block's end into the slot's total (over all runs of c, in order).
//    With T_k the W totals of slots k W .. k W + W - 1 as one SIMD vector, the channel's sum
//    is the W lanes of (T_0 + T_1) + (T_2 + T_3), added by halving (lane l gets lane
//    l + W/2 for l < W/2, and so on down to lane 0); dalpha[c] += that.
//    Error about (4096 / (4 W) + outer * ceil(inner / 4096) + W + 2) u * sum |x * dy|.
//  * Rows (otherwise, e.inner == 1): per channel, over the rows in order into a partial that
//    is added into the channel's total every 256 rows (and after the last row); then
//    dalpha[c] += total. Error about (256 + outer / 256) u * sum |x * dy|.
#pragma once

#include "algorithm.hpp"
#include "extents.hpp"
#include "functions/piecewise.hpp"

#include <cstddef>
#include <cstring>

XACT_DIAGNOSTIC_PUSH

namespace xact {
namespace detail {

/// Checks shared by prelu_forward and prelu_backward; returns the element count.
template <class T>
inline std::size_t check_prelu(const T* x, const T* alpha, std::size_t alpha_count, const T* out,
                               const extents& e) {
    check_real<T>();
    const std::size_t n = e.size();
    if (n > std::size_t(-1) / sizeof(T)) invalid_argument("xact::prelu: extents too large");
    if (alpha_count != 1 && alpha_count != e.axis)
        invalid_argument("xact::prelu: alpha_count must be 1 or e.axis");
    if (n == 0) return 0;
    if (alpha == nullptr) invalid_argument("xact::prelu: alpha is null");
    check_pointer(x, n, "xact::prelu: x is null while the extents are not empty");
    check_pointer(out, n, "xact::prelu: output (y or dx) is null while the extents are not empty");
    check_alias(x, out, n,
                "xact::prelu: output (y or dx) partially overlaps x (only equal is allowed)");
    if (overlaps(out, n * sizeof(T), alpha, alpha_count * sizeof(T)))
        invalid_argument("xact::prelu: output (y or dx) overlaps alpha");
    return n;
}

/// Contribution of one element to dalpha: x < 0 ? x * dy : 0, NaN where x is NaN (there
/// x * dy, a NaN: one ordered compare and a masked multiply, no separate NaN test).
template <class T>
XACT_INLINE T prelu_dalpha_term(const T& x, const T& dy) noexcept {
    return detail::select(x >= T(0), T(0), x * dy);
}

/// s + prelu_dalpha_term(x, dy) with the product fused into the sum (one rounding where the
/// target has FMA; on AVX-512 one compare and a masked fma).
template <class T>
XACT_INLINE T prelu_dalpha_add(const T& s, const T& x, const T& dy) noexcept {
    return detail::fma_unless_nonnegative(x, x, dy, s);
}

// Partial sums start at +0 and every step is a rounded sum, product or fused multiply-add, so
// a partial is never -0 (in round-to-nearest a + b, or a b + c, is -0 only when both addends
// are -0). Adding a +0 term (the
// padding lanes of a partial batch, an absent batch) therefore leaves any partial bitwise
// unchanged; the code relies on this to pad tails.

/// Elements of the stack buffers of the tiled layout (4 KiB each).
template <class T>
inline constexpr std::size_t prelu_tile_cap = 4096 / sizeof(T);

/// Elements of one tile period, S: the smallest multiple of lcm(q, W) that is >= 4 W, or 0
/// when that exceeds prelu_tile_cap<T> (then the tiled loops are not used).
template <class T, std::size_t W>
inline std::size_t prelu_tile_size(std::size_t q) noexcept {
    static_assert((W & (W - 1)) == 0, "W is a power of two");
    constexpr std::size_t cap = prelu_tile_cap<T>;
    if (q == 0 || q > cap) return 0;
    std::size_t l = q; // lcm(q, W): q times the powers of two that W has and q lacks
    while (l % W != 0) l *= 2;
    std::size_t s = l;
    while (s < 4 * W) s += l;
    return s <= cap ? s : 0;
}

/// pat[s] = the slope of slot s of a tile period: alpha[(s / inner) mod axis]. One period of
/// axis * inner slopes, then doubled by copies.
template <class T>
inline void prelu_fill_pattern(T* pat, std::size_t s_count, const T* alpha, std::size_t axis,
                               std::size_t inner) noexcept {
    if (inner == 1)
        std::memcpy(pat, alpha, axis * sizeof(T));
    else
        for (std::size_t c = 0; c < axis; ++c)
            for (std::size_t j = 0; j < inner; ++j) pat[c * inner + j] = alpha[c];
    for (std::size_t len = axis * inner; len < s_count; len *= 2)
        std::memcpy(pat + len, pat, (s_count - len < len ? s_count - len : len) * sizeof(T));
}

/// y = op(x, slope) over the whole array, the slope of element i being pat[i mod S]; op is
/// detail::leaky or, where no slope is 0, detail::leaky_nonzero.
template <class Arch, class T, class Op>
void prelu_forward_tiled(const T* x, const T* pat, std::size_t S, T* y, std::size_t n,
                         Op op) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    std::size_t i = 0;
    if (S == 4 * W) {
        const B a0 = detail::load<T, Arch>(pat), a1 = detail::load<T, Arch>(pat + W);
        const B a2 = detail::load<T, Arch>(pat + 2 * W), a3 = detail::load<T, Arch>(pat + 3 * W);
        for (; i + 4 * W <= n; i += 4 * W) {
            const B x0 = detail::load<T, Arch>(x + i), x1 = detail::load<T, Arch>(x + i + W);
            const B x2 = detail::load<T, Arch>(x + i + 2 * W),
                    x3 = detail::load<T, Arch>(x + i + 3 * W);
            detail::store(y + i, op(x0, a0));
            detail::store(y + i + W, op(x1, a1));
            detail::store(y + i + 2 * W, op(x2, a2));
            detail::store(y + i + 3 * W, op(x3, a3));
        }
    } else {
        for (; i + S <= n; i += S) {
            for (std::size_t k = 0; k < S; k += W) {
                const B xv = detail::load<T, Arch>(x + i + k);
                detail::store(y + i + k, op(xv, detail::load<T, Arch>(pat + k)));
            }
        }
    }
    // Fewer than S elements left, starting at slot 0.
    std::size_t k = 0;
    for (; i + W <= n; i += W, k += W)
        detail::store(y + i, op(detail::load<T, Arch>(x + i), detail::load<T, Arch>(pat + k)));
    if (i < n) {
        const std::size_t r = n - i;
        detail::store_partial(
            y + i,
            op(detail::load_partial<T, Arch>(x + i, r, T(0)), detail::load<T, Arch>(pat + k)), r);
    }
}

/// dx and the dalpha terms of the batch at x + i (loads and stores only elements < end; a
/// partial batch is padded with +0 terms, and none at all gives +0).
template <class Arch, class T>
XACT_INLINE xsimd::batch<T, Arch> prelu_backward_tail(const T* x, const T* dy, T* dx, std::size_t i,
                                                      std::size_t end,
                                                      const xsimd::batch<T, Arch>& av) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    if (i + W <= end) {
        const B xv = detail::load<T, Arch>(x + i), g = detail::load<T, Arch>(dy + i);
        detail::store(dx + i, g * detail::leaky_derivative(xv, av));
        return detail::prelu_dalpha_term(xv, g);
    }
    if (i >= end) return B(T(0));
    const std::size_t r = end - i;
    const B xv = detail::load_partial<T, Arch>(x + i, r, T(0));
    const B g = detail::load_partial<T, Arch>(dy + i, r, T(0));
    detail::store_partial(dx + i, g * detail::leaky_derivative(xv, av), r);
    return detail::prelu_dalpha_term(xv, g); // padding lanes: +0
}

/// Tiled backward over the whole array (see the top of this header): dx, and tot[s] = the
/// total of slot s. pat holds the S slopes of a period; acc and tot are S-element scratch.
template <class Arch, class T>
void prelu_backward_tiled(const T* x, const T* dy, T* dx, std::size_t n, const T* pat,
                          std::size_t S, T* acc, T* tot) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    const std::size_t block = 64 * S;
    const std::size_t full = S == 4 * W ? n / (4 * W) * (4 * W) : n / S * S;
    std::memset(acc, 0, S * sizeof(T));
    std::memset(tot, 0, S * sizeof(T));
    std::size_t i = 0;
    if (S == 4 * W) {
        // The period is four batches: slopes and block partials in registers.
        const B a0 = detail::load<T, Arch>(pat), a1 = detail::load<T, Arch>(pat + W);
        const B a2 = detail::load<T, Arch>(pat + 2 * W), a3 = detail::load<T, Arch>(pat + 3 * W);
        while (i < full) {
            const bool whole = full - i >= block; // a whole block: folded at its end
            const std::size_t end = whole ? i + block : full;
            B s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
            for (; i < end; i += 4 * W) {
                const B x0 = detail::load<T, Arch>(x + i), x1 = detail::load<T, Arch>(x + i + W);
                const B x2 = detail::load<T, Arch>(x + i + 2 * W),
                        x3 = detail::load<T, Arch>(x + i + 3 * W);
                const B g0 = detail::load<T, Arch>(dy + i), g1 = detail::load<T, Arch>(dy + i + W);
                const B g2 = detail::load<T, Arch>(dy + i + 2 * W),
                        g3 = detail::load<T, Arch>(dy + i + 3 * W);
                detail::store(dx + i, g0 * detail::leaky_derivative(x0, a0));
                detail::store(dx + i + W, g1 * detail::leaky_derivative(x1, a1));
                detail::store(dx + i + 2 * W, g2 * detail::leaky_derivative(x2, a2));
                detail::store(dx + i + 3 * W, g3 * detail::leaky_derivative(x3, a3));
                s0 = detail::prelu_dalpha_add(s0, x0, g0);
                s1 = detail::prelu_dalpha_add(s1, x1, g1);
                s2 = detail::prelu_dalpha_add(s2, x2, g2);
                s3 = detail::prelu_dalpha_add(s3, x3, g3);
            }
            if (whole) {
                detail::store(tot, detail::load<T, Arch>(tot) + s0);
                detail::store(tot + W, detail::load<T, Arch>(tot + W) + s1);
                detail::store(tot + 2 * W, detail::load<T, Arch>(tot + 2 * W) + s2);
                detail::store(tot + 3 * W, detail::load<T, Arch>(tot + 3 * W) + s3);
            } else { // the last block goes on with the tail below
                detail::store(acc, s0);
                detail::store(acc + W, s1);
                detail::store(acc + 2 * W, s2);
                detail::store(acc + 3 * W, s3);
            }
        }
    } else {
        // Five or more batches per period: block partials in acc (each slot's chain of
        // additions is S / W batches apart).
        while (i < full) {
            const bool whole = full - i >= block; // a whole block: folded at its end
            const std::size_t end = whole ? i + block : full;
            for (; i < end; i += S) {
                for (std::size_t k = 0; k < S; k += W) {
                    const B xv = detail::load<T, Arch>(x + i + k),
                            g = detail::load<T, Arch>(dy + i + k);
                    detail::store(dx + i + k,
                                  g * detail::leaky_derivative(xv, detail::load<T, Arch>(pat + k)));
                    detail::store(acc + k,
                                  detail::prelu_dalpha_add(detail::load<T, Arch>(acc + k), xv, g));
                }
            }
            if (whole) {
                for (std::size_t k = 0; k < S; k += W) {
                    detail::store(tot + k,
                                  detail::load<T, Arch>(tot + k) + detail::load<T, Arch>(acc + k));
                    detail::store(acc + k, B(T(0)));
                }
            }
        }
    }
    // Fewer than S elements left, slots 0, 1, ... of the current block; then its last fold
    // (acc is +0 when the array ended on a block boundary).
    for (std::size_t k = 0; i < n; i += W, k += W) {
        const B t = prelu_backward_tail<Arch>(x, dy, dx, i, n, detail::load<T, Arch>(pat + k));
        detail::store(acc + k, detail::load<T, Arch>(acc + k) + t);
    }
    for (std::size_t k = 0; k < S; k += W)
        detail::store(tot + k, detail::load<T, Arch>(tot + k) + detail::load<T, Arch>(acc + k));
}

/// dx over one run of m contiguous elements of slope a, and its dalpha terms added into the
/// slot totals t[0..3] (slot j mod 4W of element j; block partials folded every 4096).
template <class Arch, class T>
XACT_INLINE void prelu_backward_run(const T* x, T a, const T* dy, T* dx, std::size_t m,
                                    xsimd::batch<T, Arch>* t) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    constexpr std::size_t block = 4096;
    static_assert(block % (4 * W) == 0, "blocks hold whole groups of four batches");
    const B av(a);
    B t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3];
    std::size_t i = 0;
    while (i < m) {
        const std::size_t end = m - i < block ? m : i + block;
        B s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
        for (; i + 4 * W <= end; i += 4 * W) {
            const B x0 = detail::load<T, Arch>(x + i), x1 = detail::load<T, Arch>(x + i + W);
            const B x2 = detail::load<T, Arch>(x + i + 2 * W),
                    x3 = detail::load<T, Arch>(x + i + 3 * W);
            const B g0 = detail::load<T, Arch>(dy + i), g1 = detail::load<T, Arch>(dy + i + W);
            const B g2 = detail::load<T, Arch>(dy + i + 2 * W),
                    g3 = detail::load<T, Arch>(dy + i + 3 * W);
            detail::store(dx + i, g0 * detail::leaky_derivative(x0, av));
            detail::store(dx + i + W, g1 * detail::leaky_derivative(x1, av));
            detail::store(dx + i + 2 * W, g2 * detail::leaky_derivative(x2, av));
            detail::store(dx + i + 3 * W, g3 * detail::leaky_derivative(x3, av));
            s0 = detail::prelu_dalpha_add(s0, x0, g0);
            s1 = detail::prelu_dalpha_add(s1, x1, g1);
            s2 = detail::prelu_dalpha_add(s2, x2, g2);
            s3 = detail::prelu_dalpha_add(s3, x3, g3);
        }
        if (i < end) { // the end of the run: fewer than 4W elements
            s0 += prelu_backward_tail<Arch>(x, dy, dx, i, end, av);
            s1 += prelu_backward_tail<Arch>(x, dy, dx, i + W, end, av);
            s2 += prelu_backward_tail<Arch>(x, dy, dx, i + 2 * W, end, av);
            s3 += prelu_backward_tail<Arch>(x, dy, dx, i + 3 * W, end, av);
            i = end;
        }
        t0 += s0;
        t1 += s1;
        t2 += s2;
        t3 += s3;
    }
    t[0] = t0;
    t[1] = t1;
    t[2] = t2;
    t[3] = t3;
}

/// Runs layout (e.inner > 1, one slope per channel): see the top of this header.
/// Channels [c_begin, c_end) only: channels are independent, so any split gives the same bits
/// (xact::parallel splits at multiples of prelu_runs_chunk).
inline constexpr std::size_t prelu_runs_chunk = 64;
template <class Arch, class T>
void prelu_backward_runs(const T* x, const T* alpha, const T* dy, T* dx, T* dalpha,
                         const extents& e, std::size_t c_begin = 0,
                         std::size_t c_end = std::size_t(-1)) noexcept {
    using B = xsimd::batch<T, Arch>;
    if (c_end > e.axis) c_end = e.axis;
    for (std::size_t c = c_begin; c < c_end; ++c) {
        B t[4] = {B(T(0)), B(T(0)), B(T(0)), B(T(0))};
        for (std::size_t o = 0; o < e.outer; ++o) {
            const std::size_t base = (o * e.axis + c) * e.inner;
            prelu_backward_run<Arch>(x + base, alpha[c], dy + base, dx + base, e.inner, t);
        }
        dalpha[c] += detail::reduce_add_halving((t[0] + t[1]) + (t[2] + t[3]));
    }
}

/// Channels-last rows (inner == 1, one slope per channel): for each row, dx over the row and
/// the dalpha terms added into per-channel accumulators, kept on the stack for up to
/// `chunk` channels at a time and folded every `fold` rows.
/// Channels [c_begin, c_end) only (c_begin a multiple of prelu_rows_chunk); same bits for
/// any such split.
inline constexpr std::size_t prelu_rows_chunk = 256;
template <class Arch, class T>
void prelu_backward_rows(const T* x, const T* alpha, const T* dy, T* dx, T* dalpha,
                         std::size_t rows, std::size_t channels, std::size_t c_begin = 0,
                         std::size_t c_end = std::size_t(-1)) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    constexpr std::size_t chunk = prelu_rows_chunk;
    constexpr std::size_t fold = 256;
    alignas(64) T part[chunk];
    alignas(64) T total[chunk];
    if (c_end > channels) c_end = channels;
    for (std::size_t c0 = c_begin; c0 < c_end; c0 += chunk) {
        const std::size_t k = c_end - c0 < chunk ? c_end - c0 : chunk;
        const std::size_t kv = k / W * W;
        std::memset(total, 0, sizeof total);
        std::memset(part, 0, sizeof part);
        for (std::size_t o = 0; o < rows; ++o) {
            const std::size_t base = o * channels + c0;
            std::size_t j = 0;
            for (; j < kv; j += W) {
                const B xv = detail::load<T, Arch>(x + base + j),
                        g = detail::load<T, Arch>(dy + base + j);
                const B av = detail::load<T, Arch>(alpha + c0 + j);
                detail::store(dx + base + j, g * detail::leaky_derivative(xv, av));
                detail::store(part + j,
                              detail::prelu_dalpha_add(detail::load<T, Arch>(part + j), xv, g));
            }
            if (j < k) {
                const std::size_t r = k - j;
                alignas(64) T ba[W] = {};
                std::memcpy(ba, alpha + c0 + j, r * sizeof(T));
                const B t = prelu_backward_tail<Arch>(x + base, dy + base, dx + base, j, k,
                                                      detail::load<T, Arch>(ba));
                // part has room for a whole batch: chunk is a multiple of W.
                detail::store(part + j, detail::load<T, Arch>(part + j) + t);
            }
            if ((o + 1) % fold == 0 || o + 1 == rows) {
                for (std::size_t c = 0; c < kv; c += W)
                    detail::store(total + c, detail::load<T, Arch>(total + c) +
                                                 detail::load<T, Arch>(part + c));
                for (std::size_t c = kv; c < k; ++c) total[c] += part[c];
                std::memset(part, 0, sizeof part);
            }
        }
        for (std::size_t c = 0; c < k; ++c) dalpha[c0 + c] += total[c];
    }
}

/// The layouts of prelu_forward with op = detail::leaky or detail::leaky_nonzero.
template <class Arch, class T, class Op>
void prelu_forward_with(const T* x, const T* alpha, std::size_t alpha_count, T* y, const extents& e,
                        std::size_t n, Op op) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    if (alpha_count == 1) {
        const B a(alpha[0]);
        map1<Arch>(x, y, n, [a, op](const B& v) XACT_LAMBDA_INLINE { return op(v, a); });
        return;
    }
    // Runs of whole batches with one slope (inner a multiple of W, at least 4 W) are looped
    // over directly; the tiled loop would first write a slope pattern as long as a period
    // (NCHW 1 x 16 x 256, float: 16 KiB).
    const bool runs = e.inner % W == 0 && e.inner >= 4 * W;
    const std::size_t S = runs ? 0 : prelu_tile_size<T, W>(e.axis * e.inner); // q <= n
    if (S != 0) {
        // The slopes repeat every axis * inner elements: one flat loop over the whole array
        // with the slopes of a period of S elements (a multiple of that and of W).
        alignas(64) T pat[prelu_tile_cap<T>];
        prelu_fill_pattern(pat, S, alpha, e.axis, e.inner);
        prelu_forward_tiled<Arch>(x, pat, S, y, n, op);
    } else if (e.inner == 1) {
        for (std::size_t o = 0; o < e.outer; ++o)
            map2<Arch>(x + o * e.axis, alpha, y + o * e.axis, e.axis, op);
    } else {
        for (std::size_t o = 0; o < e.outer; ++o) {
            for (std::size_t c = 0; c < e.axis; ++c) {
                const std::size_t base = (o * e.axis + c) * e.inner;
                const B a(alpha[c]);
                map1<Arch>(x + base, y + base, e.inner,
                           [a, op](const B& v) XACT_LAMBDA_INLINE { return op(v, a); });
            }
        }
    }
}

template <class Arch, class T>
void prelu_forward_arch(const T* x, const T* alpha, std::size_t alpha_count, T* y, extents e) {
    const std::size_t n = check_prelu(x, alpha, alpha_count, y, e);
    if (n == 0) return;
    // Slopes of 0 need care at x = -inf (0 * -inf); without them one compare less per vector.
    bool nonzero = true;
    for (std::size_t c = 0; c < alpha_count; ++c) nonzero = nonzero && alpha[c] != T(0);
    if (nonzero)
        prelu_forward_with<Arch>(x, alpha, alpha_count, y, e, n,
                                 [](const auto& v, const auto& a)
                                     XACT_LAMBDA_INLINE { return detail::leaky_nonzero(v, a); });
    else
        prelu_forward_with<Arch>(x, alpha, alpha_count, y, e, n,
                                 [](const auto& v, const auto& a)
                                     XACT_LAMBDA_INLINE { return detail::leaky(v, a); });
}

/// The checks of prelu_backward (before anything is written); returns the element count.
template <class T>
std::size_t check_prelu_backward(const T* x, const T* alpha, std::size_t alpha_count, const T* dy,
                                 const T* dx, const T* dalpha, const extents& e) {
    const std::size_t n = check_prelu(x, alpha, alpha_count, dx, e);
    check_pointer(dy, n, "xact::prelu_backward: dy is null while the extents are not empty");
    check_alias(dy, dx, n,
                "xact::prelu_backward: dx partially overlaps dy (only equal is allowed)");
    if (n == 0) return 0;
    if (dalpha == nullptr) invalid_argument("xact::prelu_backward: dalpha is null");
    const std::size_t bytes = n * sizeof(T), abytes = alpha_count * sizeof(T);
    if (overlaps(dalpha, abytes, x, bytes) || overlaps(dalpha, abytes, dy, bytes) ||
        overlaps(dalpha, abytes, dx, bytes) || overlaps(dalpha, abytes, alpha, abytes))
        invalid_argument("xact::prelu_backward: dalpha overlaps x, dy, dx or alpha");
    return n;
}

/// True when prelu_backward sums dalpha in the tiled layout (see the top of this header).
template <class T, std::size_t W>
bool prelu_backward_tiled_layout(std::size_t alpha_count, const extents& e) noexcept {
    const std::size_t q = alpha_count == 1 ? 1 : e.axis * e.inner;
    return prelu_tile_size<T, W>(q) != 0;
}

template <class Arch, class T>
void prelu_backward_arch(const T* x, const T* alpha, std::size_t alpha_count, const T* dy, T* dx,
                         T* dalpha, extents e) {
    const std::size_t n = check_prelu_backward(x, alpha, alpha_count, dy, dx, dalpha, e);
    if (n == 0) return;
    constexpr std::size_t W = xsimd::batch<T, Arch>::size;
    // One shared slope: the channels are summed as one, extents{n, 1, 1}.
    const std::size_t axis = alpha_count == 1 ? 1 : e.axis;
    const std::size_t inner = alpha_count == 1 ? 1 : e.inner;
    const std::size_t q = axis * inner; // <= n
    const std::size_t S = prelu_tile_size<T, W>(q);
    if (S != 0) {
        alignas(64) T pat[prelu_tile_cap<T>];
        alignas(64) T acc[prelu_tile_cap<T>];
        alignas(64) T tot[prelu_tile_cap<T>];
        prelu_fill_pattern(pat, S, alpha, axis, inner);
        prelu_backward_tiled<Arch>(x, dy, dx, n, pat, S, acc, tot);
        // Halve the slots while their count is an even multiple of q (slot s of the lower half
        // gets slot s + half, of the same channel), then add channel c's remaining slots
        // p * q + c * inner + j in increasing order.
        std::size_t len = S;
        for (; len % (2 * q) == 0; len /= 2)
            for (std::size_t s = 0; s < len / 2; ++s) tot[s] += tot[s + len / 2];
        // (The channels side by side in acc, free now: the same order per channel, in loops
        // the compiler vectorizes.)
        T* const sum = acc;
        for (std::size_t c = 0; c < axis; ++c) sum[c] = T(0);
        for (std::size_t p = 0; p < len; p += q)
            for (std::size_t j = 0; j < inner; ++j)
                for (std::size_t c = 0; c < axis; ++c) sum[c] += tot[p + c * inner + j];
        for (std::size_t c = 0; c < axis; ++c) dalpha[c] += sum[c];
    } else if (e.inner == 1) {
        prelu_backward_rows<Arch>(x, alpha, dy, dx, dalpha, e.outer, e.axis);
    } else {
        prelu_backward_runs<Arch>(x, alpha, dy, dx, dalpha, e);
    }
}

} // namespace detail

/// PReLU forward along e.axis: y = x > 0 ? x : alpha[c] * x, with alpha_count == 1 or e.axis.
/// Exact (bitwise the formula in T). y may equal x.
template <class T>
void prelu_forward(const T* x, const T* alpha, std::size_t alpha_count, T* y, extents e) {
    detail::prelu_forward_arch<xsimd::default_arch>(x, alpha, alpha_count, y, e);
}

/// PReLU backward: dx = dy * prelu'(x) (exact) and dalpha[c] += sum over channel c of
/// (x < 0 ? x * dy : 0), summed in a fixed order (see the top of this header). dx may equal
/// x or dy; dalpha (alpha_count values) must not overlap the other arguments.
template <class T>
void prelu_backward(const T* x, const T* alpha, std::size_t alpha_count, const T* dy, T* dx,
                    T* dalpha, extents e) {
    detail::prelu_backward_arch<xsimd::default_arch>(x, alpha, alpha_count, dy, dx, dalpha, e);
}

} // namespace xact

XACT_DIAGNOSTIC_POP
