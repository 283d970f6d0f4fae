// xact — PReLU: leaky ReLU with a learned slope per channel.
//
//   y = x > 0 ? x : a[c] * x          c = the index along extents.axis
//   dx = dy * (x > 0 ? 1 : a[c])      (NaN where x is NaN)
//   dalpha[c] += sum over channel c of (x < 0 ? x * dy : 0)   (0 at x = 0; NaN where x is NaN)
//
// alpha has alpha_count == 1 (one slope shared by every channel) or == e.axis values.
// NCHW channels: extents{N, C, H*W}; NHWC: extents{N*H*W, C, 1}. y == x, dx == x and
// dx == dy are allowed (in place); other overlaps, null pointers and a wrong alpha_count
// throw std::invalid_argument before anything is written.
//
// dalpha is summed in a fixed order that depends only on the extents (never on alignment
// or on timing): per channel, over runs of contiguous elements in memory order, each run
// with 4 SIMD accumulators folded every 4096 elements, lanes added in order. The error is
// that of a short cascade, about (128 + n/4096) u * sum |x * dy| for n elements per channel.
#pragma once

#include "algorithm.hpp"
#include "extents.hpp"
#include "functions/piecewise.hpp"

#include <cstddef>
#include <cstring>

namespace xact {
namespace detail {

/// Checks shared by prelu_forward and prelu_backward; returns the element count.
template <class T>
inline std::size_t check_prelu(const T* x, const T* alpha, std::size_t alpha_count,
                               const T* out, const extents& e) {
    check_real<T>();
    const std::size_t n = e.size();
    if (n > std::size_t(-1) / sizeof(T)) invalid_argument("xact::prelu: extents too large");
    if (alpha_count != 1 && alpha_count != e.axis)
        invalid_argument("xact::prelu: alpha_count must be 1 or e.axis");
    if (n == 0) return 0;
    if (alpha == nullptr) invalid_argument("xact::prelu: alpha is null");
    check_pointer(x, n, "xact::prelu: x is null while the extents are not empty");
    check_pointer(out, n, "xact::prelu: output (y or dx) is null while the extents are not empty");
    check_alias(x, out, n, "xact::prelu: output (y or dx) partially overlaps x (only equal is allowed)");
    if (overlaps(out, n * sizeof(T), alpha, alpha_count * sizeof(T)))
        invalid_argument("xact::prelu: output (y or dx) overlaps alpha");
    return n;
}

/// Contribution of one element to dalpha: x < 0 ? x * dy : 0, NaN where x is NaN.
template <class T>
XACT_INLINE T prelu_dalpha_term(const T& x, const T& dy) noexcept {
    return detail::nan_or(x, detail::select(x < T(0), x * dy, T(0)));
}

/// dx = dy * leaky'(x, a) over m contiguous elements; returns the sum of the dalpha terms.
template <class Arch, class T>
T prelu_backward_run(const T* x, T a, const T* dy, T* dx, std::size_t m) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    constexpr std::size_t block = 4096; // elements folded into the running total at a time
    const B av(a);
    B total(T(0));
    std::size_t i = 0;
    while (i + 4 * W <= m) {
        B s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
        const std::size_t whole = (m - i) / (4 * W) * (4 * W);
        const std::size_t end = i + (whole < block ? whole : block);
        for (; i < end; i += 4 * W) {
            const B x0 = detail::load<T, Arch>(x + i), x1 = detail::load<T, Arch>(x + i + W);
            const B x2 = detail::load<T, Arch>(x + i + 2 * W), x3 = detail::load<T, Arch>(x + i + 3 * W);
            const B g0 = detail::load<T, Arch>(dy + i), g1 = detail::load<T, Arch>(dy + i + W);
            const B g2 = detail::load<T, Arch>(dy + i + 2 * W), g3 = detail::load<T, Arch>(dy + i + 3 * W);
            detail::store(dx + i, g0 * detail::leaky_derivative(x0, av));
            detail::store(dx + i + W, g1 * detail::leaky_derivative(x1, av));
            detail::store(dx + i + 2 * W, g2 * detail::leaky_derivative(x2, av));
            detail::store(dx + i + 3 * W, g3 * detail::leaky_derivative(x3, av));
            s0 += detail::prelu_dalpha_term(x0, g0);
            s1 += detail::prelu_dalpha_term(x1, g1);
            s2 += detail::prelu_dalpha_term(x2, g2);
            s3 += detail::prelu_dalpha_term(x3, g3);
        }
        total += (s0 + s1) + (s2 + s3);
    }
    for (; i + W <= m; i += W) {
        const B xv = detail::load<T, Arch>(x + i), g = detail::load<T, Arch>(dy + i);
        detail::store(dx + i, g * detail::leaky_derivative(xv, av));
        total += detail::prelu_dalpha_term(xv, g);
    }
    if (i < m) {
        const std::size_t r = m - i;
        alignas(64) T bx[W] = {};
        alignas(64) T bg[W] = {};
        std::memcpy(bx, x + i, r * sizeof(T));
        std::memcpy(bg, dy + i, r * sizeof(T));
        const B xv = detail::load<T, Arch>(bx), g = detail::load<T, Arch>(bg);
        detail::store(bx, g * detail::leaky_derivative(xv, av));
        total += detail::prelu_dalpha_term(xv, g); // padding lanes add +0
        std::memcpy(dx + i, bx, r * sizeof(T));
    }
    return detail::reduce_add_ordered(total);
}

/// Channels-last rows (inner == 1, one slope per channel): for each row, dx over the row and
/// the dalpha terms added into per-channel accumulators, kept on the stack for up to
/// `chunk` channels at a time and folded every `fold` rows.
template <class Arch, class T>
void prelu_backward_rows(const T* x, const T* alpha, const T* dy, T* dx, T* dalpha,
                         std::size_t rows, std::size_t channels) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    constexpr std::size_t chunk = 256;
    constexpr std::size_t fold = 256;
    alignas(64) T part[chunk];
    alignas(64) T total[chunk];
    for (std::size_t c0 = 0; c0 < channels; c0 += chunk) {
        const std::size_t k = channels - c0 < chunk ? channels - c0 : chunk;
        const std::size_t kv = k / W * W;
        std::memset(total, 0, sizeof total);
        std::memset(part, 0, sizeof part);
        for (std::size_t o = 0; o < rows; ++o) {
            const std::size_t base = o * channels + c0;
            std::size_t j = 0;
            for (; j < kv; j += W) {
                const B xv = detail::load<T, Arch>(x + base + j), g = detail::load<T, Arch>(dy + base + j);
                const B av = detail::load<T, Arch>(alpha + c0 + j);
                detail::store(dx + base + j, g * detail::leaky_derivative(xv, av));
                detail::store(part + j, detail::load<T, Arch>(part + j) + detail::prelu_dalpha_term(xv, g));
            }
            if (j < k) {
                const std::size_t r = k - j;
                alignas(64) T bx[W] = {};
                alignas(64) T bg[W] = {};
                alignas(64) T ba[W] = {};
                std::memcpy(bx, x + base + j, r * sizeof(T));
                std::memcpy(bg, dy + base + j, r * sizeof(T));
                std::memcpy(ba, alpha + c0 + j, r * sizeof(T));
                const B xv = detail::load<T, Arch>(bx), g = detail::load<T, Arch>(bg);
                detail::store(bx, g * detail::leaky_derivative(xv, detail::load<T, Arch>(ba)));
                std::memcpy(dx + base + j, bx, r * sizeof(T));
                // part has room for a whole batch: chunk is a multiple of W.
                detail::store(part + j, detail::load<T, Arch>(part + j) + detail::prelu_dalpha_term(xv, g));
            }
            if ((o + 1) % fold == 0 || o + 1 == rows) {
                for (std::size_t c = 0; c < k; ++c) total[c] += part[c];
                std::memset(part, 0, sizeof part);
            }
        }
        for (std::size_t c = 0; c < k; ++c) dalpha[c0 + c] += total[c];
    }
}

template <class Arch, class T>
void prelu_forward_arch(const T* x, const T* alpha, std::size_t alpha_count, T* y, extents e) {
    const std::size_t n = check_prelu(x, alpha, alpha_count, y, e);
    if (n == 0) return;
    const auto op = [](const auto& v, const auto& a) XACT_LAMBDA_INLINE { return detail::leaky(v, a); };
    if (alpha_count == 1) {
        const T a = alpha[0];
        map1<Arch>(x, y, n, [a](const auto& v) XACT_LAMBDA_INLINE {
            return detail::leaky(v, std::decay_t<decltype(v)>(a));
        });
    } else if (e.inner == 1) {
        for (std::size_t o = 0; o < e.outer; ++o)
            map2<Arch>(x + o * e.axis, alpha, y + o * e.axis, e.axis, op);
    } else {
        for (std::size_t o = 0; o < e.outer; ++o) {
            for (std::size_t c = 0; c < e.axis; ++c) {
                const std::size_t base = (o * e.axis + c) * e.inner;
                const T a = alpha[c];
                map1<Arch>(x + base, y + base, e.inner, [a](const auto& v) XACT_LAMBDA_INLINE {
                    return detail::leaky(v, std::decay_t<decltype(v)>(a));
                });
            }
        }
    }
}

template <class Arch, class T>
void prelu_backward_arch(const T* x, const T* alpha, std::size_t alpha_count, const T* dy, T* dx,
                         T* dalpha, extents e) {
    const std::size_t n = check_prelu(x, alpha, alpha_count, dx, e);
    check_pointer(dy, n, "xact::prelu_backward: dy is null while the extents are not empty");
    check_alias(dy, dx, n, "xact::prelu_backward: dx partially overlaps dy (only equal is allowed)");
    if (n == 0) return;
    if (dalpha == nullptr) invalid_argument("xact::prelu_backward: dalpha is null");
    const std::size_t bytes = n * sizeof(T), abytes = alpha_count * sizeof(T);
    if (overlaps(dalpha, abytes, x, bytes) || overlaps(dalpha, abytes, dy, bytes) ||
        overlaps(dalpha, abytes, dx, bytes) || overlaps(dalpha, abytes, alpha, abytes))
        invalid_argument("xact::prelu_backward: dalpha overlaps x, dy, dx or alpha");
    if (alpha_count == 1) {
        dalpha[0] += prelu_backward_run<Arch>(x, alpha[0], dy, dx, n);
    } else if (e.inner == 1) {
        prelu_backward_rows<Arch>(x, alpha, dy, dx, dalpha, e.outer, e.axis);
    } else {
        for (std::size_t c = 0; c < e.axis; ++c) {
            T sum = T(0);
            for (std::size_t o = 0; o < e.outer; ++o) {
                const std::size_t base = (o * e.axis + c) * e.inner;
                sum += prelu_backward_run<Arch>(x + base, alpha[c], dy + base, dx + base, e.inner);
            }
            dalpha[c] += sum;
        }
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
