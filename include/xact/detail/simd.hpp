// xact — the one place that knows xsimd versions (8.1 … 14).
//
// Every kernel in xact is written once, as a template over T = float, double or
// xsimd::batch<float|double, A>. The helpers here give scalars and batches the same
// vocabulary (select, fma, bit casts, reductions) so that one body compiles to both and the
// scalar path gives results bitwise identical to the SIMD path.
#pragma once

#include "../config.hpp"

#include <xsimd/xsimd.hpp>
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

XACT_DIAGNOSTIC_PUSH

/// 1 when the target has fused multiply-add instructions. Then detail::fma is a single
/// rounding for scalars and batches alike; otherwise it is a*b+c in both (the compiler cannot
/// contract without FMA instructions), so scalar and SIMD paths still agree bitwise.
#ifndef XACT_HAS_FMA
#if defined(__FMA__) || defined(__AVX2__) && defined(_MSC_VER)
#define XACT_HAS_FMA 1
#else
#define XACT_HAS_FMA 0
#endif
#endif

namespace xact::detail {

// ---------------------------------------------------------------- traits

template <class T>
struct simd_traits {
    using scalar = T;
    static constexpr std::size_t width = 1;
    static constexpr bool is_batch = false;
};
template <class T, class A>
struct simd_traits<xsimd::batch<T, A>> {
    using scalar = T;
    static constexpr std::size_t width = xsimd::batch<T, A>::size;
    static constexpr bool is_batch = true;
};

/// The element type of T: T itself for scalars, T::value_type for batches.
template <class T>
using scalar_t = typename simd_traits<T>::scalar;

template <class T>
inline constexpr bool is_batch_v = simd_traits<T>::is_batch;

/// T = float or double: the element types xact computes with.
template <class T>
inline constexpr bool is_real_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

/// A value of T with every lane equal to v (v converted to the element type once).
template <class T, class V>
XACT_INLINE T splat(V v) noexcept {
    return T(static_cast<scalar_t<T>>(v));
}

// ---------------------------------------------------------------- select and masks

/// m ? a : b, lane by lane. For scalars m is bool; for batches a batch_bool.
template <class T>
XACT_INLINE T select(bool m, T a, T b) noexcept {
    return m ? a : b;
}
template <class T, class A>
XACT_INLINE xsimd::batch<T, A> select(const xsimd::batch_bool<T, A>& m, const xsimd::batch<T, A>& a,
                                      const xsimd::batch<T, A>& b) noexcept {
    return xsimd::select(m, a, b);
}

/// a where the sign bit of s is set (negative numbers, -0, NaN with the sign bit), else b. On
/// AVX and SSE4.1 one blendv, which reads that bit directly: one compare fewer than select.
template <class T>
XACT_INLINE T select_sign(const T& s, const T& a, const T& b) noexcept {
    if constexpr (is_batch_v<T>) {
#if defined(__SSE4_1__) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__))
        constexpr bool f32 = std::is_same_v<scalar_t<T>, float>;
        constexpr std::size_t bytes = simd_traits<T>::width * sizeof(scalar_t<T>);
#if defined(__AVX512F__)
        // The sign bit read by an integer compare of the bits with 0, then a masked blend.
        if constexpr (bytes == 64 && f32)
            return T(_mm512_mask_blend_ps(
                _mm512_cmplt_epi32_mask(_mm512_castps_si512(s), _mm512_setzero_si512()), b, a));
        if constexpr (bytes == 64 && !f32)
            return T(_mm512_mask_blend_pd(
                _mm512_cmplt_epi64_mask(_mm512_castpd_si512(s), _mm512_setzero_si512()), b, a));
#endif
#if defined(__AVX__)
        if constexpr (bytes == 32 && f32) return T(_mm256_blendv_ps(b, a, s));
        if constexpr (bytes == 32 && !f32) return T(_mm256_blendv_pd(b, a, s));
#endif
        if constexpr (bytes == 16 && f32) return T(_mm_blendv_ps(b, a, s));
        if constexpr (bytes == 16 && !f32) return T(_mm_blendv_pd(b, a, s));
#endif
        return xsimd::select(xsimd::copysign(T(1), s) < T(0), a, b);
    } else {
        return std::signbit(s) ? a : b;
    }
}

/// True where x is NaN. Not `x != x`: xsimd 8.1 compiles batch != to an *ordered* compare on
/// AVX and AVX-512 (_CMP_NEQ_OQ, false for NaN) but to an unordered one on SSE2.
template <class T>
XACT_INLINE auto is_nan(const T& x) noexcept {
    if constexpr (is_batch_v<T>) {
        return xsimd::isnan(x);
    } else {
        return std::isnan(x);
    }
}

/// v, except where x is NaN: there x itself. Piecewise functions whose pieces are constants
/// use this so that NaN in gives NaN out in every code path.
template <class T>
XACT_INLINE T nan_or(const T& x, const T& v) noexcept {
    return detail::select(detail::is_nan(x), x, v);
}

/// x > 0 ? 1 : a, and x itself where x is NaN (the derivative of relu and leaky ReLU). On
/// AVX-512 one vfixupimm: it sorts x into NaN, zero, +1, -inf, +inf, negative or positive and
/// answers x (NaN), 1 (positive classes) or a (the rest) from a table.
template <class T>
XACT_INLINE T positive_or(const T& x, const T& a) noexcept {
    if constexpr (is_batch_v<T>) {
#if defined(__AVX512F__)
        constexpr std::size_t bytes = simd_traits<T>::width * sizeof(scalar_t<T>);
        // One nibble per class, class 0 lowest: QNaN, SNaN -> 1 (x); zero, -inf, negative -> 0
        // (a, the destination); +1, +inf, positive -> 10 (+1).
        constexpr int table = static_cast<int>(0xA0A0A011u);
        if constexpr (bytes == 64 && std::is_same_v<scalar_t<T>, float>)
            return T(_mm512_fixupimm_ps(a, x, _mm512_set1_epi32(table), 0));
        if constexpr (bytes == 64 && std::is_same_v<scalar_t<T>, double>)
            return T(_mm512_fixupimm_pd(a, x, _mm512_set1_epi64(table), 0));
#endif
    }
    return detail::nan_or(x, detail::select(x > T(0), splat<T>(1), a));
}

/// x < lo ? lo : x, and x where x is NaN. On x86 one max with x second: (v)maxps returns its
/// second operand when either is NaN.
template <class T>
XACT_INLINE T at_least(const T& x, const T& lo) noexcept {
    if constexpr (is_batch_v<T>) {
#if defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__))
        constexpr bool f32 = std::is_same_v<scalar_t<T>, float>;
        constexpr std::size_t bytes = simd_traits<T>::width * sizeof(scalar_t<T>);
#if defined(__AVX512F__)
        if constexpr (bytes == 64 && f32) return T(_mm512_max_ps(lo, x));
        if constexpr (bytes == 64 && !f32) return T(_mm512_max_pd(lo, x));
#endif
#if defined(__AVX__)
        if constexpr (bytes == 32 && f32) return T(_mm256_max_ps(lo, x));
        if constexpr (bytes == 32 && !f32) return T(_mm256_max_pd(lo, x));
#endif
        if constexpr (bytes == 16 && f32) return T(_mm_max_ps(lo, x));
        if constexpr (bytes == 16 && !f32) return T(_mm_max_pd(lo, x));
#endif
    }
    return detail::select(x < lo, lo, x);
}
/// x > hi ? hi : x, and x where x is NaN (as at_least, with min).
template <class T>
XACT_INLINE T at_most(const T& x, const T& hi) noexcept {
    if constexpr (is_batch_v<T>) {
#if defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__))
        constexpr bool f32 = std::is_same_v<scalar_t<T>, float>;
        constexpr std::size_t bytes = simd_traits<T>::width * sizeof(scalar_t<T>);
#if defined(__AVX512F__)
        if constexpr (bytes == 64 && f32) return T(_mm512_min_ps(hi, x));
        if constexpr (bytes == 64 && !f32) return T(_mm512_min_pd(hi, x));
#endif
#if defined(__AVX__)
        if constexpr (bytes == 32 && f32) return T(_mm256_min_ps(hi, x));
        if constexpr (bytes == 32 && !f32) return T(_mm256_min_pd(hi, x));
#endif
        if constexpr (bytes == 16 && f32) return T(_mm_min_ps(hi, x));
        if constexpr (bytes == 16 && !f32) return T(_mm_min_pd(hi, x));
#endif
    }
    return detail::select(x > hi, hi, x);
}

/// True where l < x < h or x is NaN, i.e. !(x <= l) && !(x >= h). On x86 two unordered
/// compares (on AVX-512 the second is masked by the first, so no mask logic remains).
template <class T>
XACT_INLINE auto between_or_nan(const T& x, const T& l, const T& h) noexcept {
    if constexpr (is_batch_v<T>) {
        using M = typename T::batch_bool_type;
#if defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__))
        constexpr bool f32 = std::is_same_v<scalar_t<T>, float>;
        constexpr std::size_t bytes = simd_traits<T>::width * sizeof(scalar_t<T>);
#if defined(__AVX512F__)
        if constexpr (bytes == 64 && f32)
            return M(
                _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(x, l, _CMP_NLE_UQ), x, h, _CMP_NGE_UQ));
        if constexpr (bytes == 64 && !f32)
            return M(
                _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(x, l, _CMP_NLE_UQ), x, h, _CMP_NGE_UQ));
#endif
#if defined(__AVX__)
        if constexpr (bytes == 32 && f32)
            return M(
                _mm256_and_ps(_mm256_cmp_ps(x, l, _CMP_NLE_UQ), _mm256_cmp_ps(x, h, _CMP_NGE_UQ)));
        if constexpr (bytes == 32 && !f32)
            return M(
                _mm256_and_pd(_mm256_cmp_pd(x, l, _CMP_NLE_UQ), _mm256_cmp_pd(x, h, _CMP_NGE_UQ)));
#endif
        if constexpr (bytes == 16 && f32)
            return M(_mm_and_ps(_mm_cmpnle_ps(x, l), _mm_cmpnge_ps(x, h)));
        if constexpr (bytes == 16 && !f32)
            return M(_mm_and_pd(_mm_cmpnle_pd(x, l), _mm_cmpnge_pd(x, h)));
#endif
        return M(((x > l) & (x < h)) | xsimd::isnan(x));
    } else {
        return !(x <= l) && !(x >= h);
    }
}

// ---------------------------------------------------------------- arithmetic

/// The fused operations: a b + c, a b - c and c - a b.
enum class fused_op { madd, msub, nmadd };

/// One fused operation, written explicitly: one rounding where the target has FMA, two
/// otherwise; the same in the scalar and SIMD paths of one build (see XACT_HAS_FMA). On x86
/// the batch form calls the instruction on the native register itself: xsimd 8.1 has no
/// AVX-512 fma kernel (it falls back to an unfused x * y + z there) and negates an AVX-512
/// batch as 0 - x (an extra operation that also turns -(+0) into +0), so the signs are part
/// of the instruction.
template <fused_op K, class T>
XACT_INLINE T fused(const T& a, const T& b, const T& c) noexcept {
    constexpr bool madd = K == fused_op::madd, msub = K == fused_op::msub;
#if XACT_HAS_FMA
    if constexpr (is_batch_v<T>) {
#if defined(__FMA__) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__))
        constexpr bool f32 = std::is_same_v<scalar_t<T>, float>;
        constexpr std::size_t bytes = simd_traits<T>::width * sizeof(scalar_t<T>);
#if defined(__AVX512F__)
        if constexpr (bytes == 64 && f32)
            return T(madd   ? _mm512_fmadd_ps(a, b, c)
                     : msub ? _mm512_fmsub_ps(a, b, c)
                            : _mm512_fnmadd_ps(a, b, c));
        if constexpr (bytes == 64 && !f32)
            return T(madd   ? _mm512_fmadd_pd(a, b, c)
                     : msub ? _mm512_fmsub_pd(a, b, c)
                            : _mm512_fnmadd_pd(a, b, c));
#endif
        if constexpr (bytes == 32 && f32)
            return T(madd   ? _mm256_fmadd_ps(a, b, c)
                     : msub ? _mm256_fmsub_ps(a, b, c)
                            : _mm256_fnmadd_ps(a, b, c));
        if constexpr (bytes == 32 && !f32)
            return T(madd   ? _mm256_fmadd_pd(a, b, c)
                     : msub ? _mm256_fmsub_pd(a, b, c)
                            : _mm256_fnmadd_pd(a, b, c));
        if constexpr (bytes == 16 && f32)
            return T(madd   ? _mm_fmadd_ps(a, b, c)
                     : msub ? _mm_fmsub_ps(a, b, c)
                            : _mm_fnmadd_ps(a, b, c));
        if constexpr (bytes == 16 && !f32)
            return T(madd   ? _mm_fmadd_pd(a, b, c)
                     : msub ? _mm_fmsub_pd(a, b, c)
                            : _mm_fnmadd_pd(a, b, c));
#endif
        return madd ? xsimd::fma(a, b, c) : msub ? xsimd::fms(a, b, c) : xsimd::fnma(a, b, c);
    } else {
        // fmaf for float: one rounding in float, like the batch.
        return madd ? std::fma(a, b, c) : msub ? std::fma(a, b, -c) : std::fma(-a, b, c);
    }
#else
    // Without FMA instructions the compiler has nothing to contract these into.
    return madd ? a * b + c : msub ? a * b - c : c - a * b;
#endif
}

/// a * b + c, one rounding where the target has FMA (see fused).
template <class T>
XACT_INLINE T fma(const T& a, const T& b, const T& c) noexcept {
    return fused<fused_op::madd>(a, b, c);
}

/// c - a * b, one rounding where the target has FMA (see fused).
template <class T>
XACT_INLINE T fnma(const T& a, const T& b, const T& c) noexcept {
    return fused<fused_op::nmadd>(a, b, c);
}

/// a * b - c, one rounding where the target has FMA (see fused).
template <class T>
XACT_INLINE T fms(const T& a, const T& b, const T& c) noexcept {
    return fused<fused_op::msub>(a, b, c);
}

/// x >= 0 ? c : fma(a, b, c), NaN x counting as below 0. On AVX-512 with FMA one unordered
/// compare and one masked fma.
template <class T>
XACT_INLINE T fma_unless_nonnegative(const T& x, const T& a, const T& b, const T& c) noexcept {
#if defined(__AVX512F__) && XACT_HAS_FMA
    if constexpr (is_batch_v<T>) {
        constexpr std::size_t bytes = simd_traits<T>::width * sizeof(scalar_t<T>);
        if constexpr (bytes == 64 && std::is_same_v<scalar_t<T>, float>)
            return T(_mm512_mask3_fmadd_ps(
                a, b, c, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NGE_UQ)));
        if constexpr (bytes == 64 && std::is_same_v<scalar_t<T>, double>)
            return T(_mm512_mask3_fmadd_pd(
                a, b, c, _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_NGE_UQ)));
    }
#endif
    return detail::select(x >= T(0), c, detail::fma(a, b, c));
}

/// r, raised to the smallest subnormal where `positive` holds and r is below it. For results
/// known to be positive and about x/2 (x sigma(x), x Phi(x)): at x = the smallest subnormal
/// x/2 is a tie whose true excess the last rounding cannot see, and it would round to 0.
template <class M, class T>
XACT_INLINE T at_least_smallest_subnormal(const M& positive, const T& r) noexcept {
    const T tiny = splat<T>(std::numeric_limits<scalar_t<T>>::denorm_min());
    return detail::select(positive & (r < tiny), tiny, r);
}

/// |x| (clears the sign bit; NaN stays NaN).
template <class T>
XACT_INLINE T abs(const T& x) noexcept {
    if constexpr (is_batch_v<T>) {
        return xsimd::abs(x);
    } else {
        return std::fabs(x);
    }
}

/// x where x is ±inf, y elsewhere (NaN x: the caller's y is NaN too). On AVX-512 one
/// vfixupimm: x is sorted into NaN, zero, +1, ±inf, negative or positive and the table answers
/// x (NaN, ±inf) or y. Zeros are left to the caller: under DAZ vfixupimm would see a subnormal
/// x as a zero and answer a flushed zero, where a compare and select keep x's bits.
template <class T>
XACT_INLINE T inf_kept(const T& y, const T& x) noexcept {
    if constexpr (is_batch_v<T>) {
#if defined(__AVX512F__)
        constexpr std::size_t bytes = simd_traits<T>::width * sizeof(scalar_t<T>);
        // One nibble per class, class 0 lowest: QNaN -> 1 (x), SNaN -> 2 (x quieted), -inf,
        // +inf -> 1 (x); zero, +1, negative, positive -> 0 (y, the destination).
        constexpr int table = 0x00110021;
        if constexpr (bytes == 64 && std::is_same_v<scalar_t<T>, float>)
            return T(_mm512_fixupimm_ps(y, x, _mm512_set1_epi32(table), 0));
        if constexpr (bytes == 64 && std::is_same_v<scalar_t<T>, double>)
            return T(_mm512_fixupimm_pd(y, x, _mm512_set1_epi64(table), 0));
#endif
    }
    return detail::select(detail::abs(x) == splat<T>(std::numeric_limits<scalar_t<T>>::infinity()),
                          x, y);
}

/// |mag| with the sign bit of sgn (per lane; NaN magnitudes stay NaN).
template <class T>
XACT_INLINE T copysign(const T& mag, const T& sgn) noexcept {
    if constexpr (is_batch_v<T>) {
        return xsimd::copysign(mag, sgn);
    } else {
        return std::copysign(mag, sgn);
    }
}

/// -|x| (one bitwise or of the sign bit; NaN stays NaN).
template <class T>
XACT_INLINE T neg_abs(const T& x) noexcept {
    if constexpr (is_batch_v<T>)
        return x | splat<T>(-0.0); // xsimd's copysign is two or three operations before AVX-512
    else
        return std::copysign(x, scalar_t<T>(-1));
}

/// s + err = a + b exactly (Knuth's TwoSum: no ordering of |a| and |b| needed). Needs a
/// finite sum; where it overflows, err is NaN.
template <class T>
XACT_INLINE void two_sum(const T& a, const T& b, T& s, T& err) noexcept {
    s = a + b;
    const T bb = s - a;
    err = (a - (s - bb)) + (b - bb);
}

/// The exact product a*b as hi + lo (hi = the rounded product). Needs no overflow in a*b and
/// no underflow in lo; with FMA it is one multiply and one fma, otherwise Dekker's splitting.
template <class T>
XACT_INLINE void two_product(const T& a, const T& b, T& hi, T& lo) noexcept {
    hi = a * b;
#if XACT_HAS_FMA
    lo = detail::fms(a, b, hi);
#else
    using S = scalar_t<T>;
    const T split = splat<T>(std::is_same_v<S, float> ? 4097.0 : 134217729.0); // 2^k + 1
    const T ca = split * a, cb = split * b;
    const T ah = ca - (ca - a), bh = cb - (cb - b);
    const T al = a - ah, bl = b - bh;
    lo = ((ah * bh - hi) + ah * bl + al * bh) + al * bl;
#endif
}

/// two_product for operands of any finite size: without FMA, an operand beyond 2^100 (float)
/// or 2^900 (double), where Dekker's splitting would overflow, is split 2^-40 times smaller
/// and its halves scaled back (exact). Needs a b finite and lo above the subnormal range.
template <class T>
XACT_INLINE void two_product_wide(const T& a, const T& b, T& hi, T& lo) noexcept {
#if XACT_HAS_FMA
    two_product(a, b, hi, lo);
#else
    using S = scalar_t<T>;
    constexpr bool f32 = std::is_same_v<S, float>;
    const T big = splat<T>(f32 ? 0x1p100 : 0x1p900), one = splat<T>(1);
    const T down = splat<T>(0x1p-40), up = splat<T>(0x1p40);
    const T split = splat<T>(f32 ? 4097.0 : 134217729.0); // 2^k + 1
    const auto a_big = detail::abs(a) > big, b_big = detail::abs(b) > big;
    const T sa = detail::select(a_big, down, one), sb = detail::select(b_big, down, one);
    const T ua = detail::select(a_big, up, one), ub = detail::select(b_big, up, one);
    const T a1 = a * sa, b1 = b * sb; // the error term is formed at this scale, then scaled back
    const T ca = split * a1, cb = split * b1;
    const T ah = ca - (ca - a1), bh = cb - (cb - b1);
    const T al = a1 - ah, bl = b1 - bh;
    const T h1 = a1 * b1;
    hi = a * b;
    lo = ((((ah * bh - h1) + ah * bl) + al * bh) + al * bl) * (ua * ub);
#endif
}

/// n - q d exactly, for q close to n / d (a rounded quotient): one fma, or Dekker's product
/// without FMA (there |q d| must stay below 2^100, where the splitting cannot overflow).
template <class T>
XACT_INLINE T residual(const T& n, const T& q, const T& d) noexcept {
#if XACT_HAS_FMA
    return detail::fnma(q, d, n);
#else
    T ph, pl;
    two_product(q, d, ph, pl);
    return (n - ph) - pl; // n - ph is exact (Sterbenz)
#endif
}

/// a * b + (c + c_lo) with the product kept exact (|c_lo| <= ulp(c), or 0): the fma itself,
/// then c_lo, where the target has FMA; else Dekker's product hi + lo, with hi + c carried
/// exactly (TwoSum) before the low parts join, so that one rounding dominates whatever the
/// sizes of a b and c. (hi + (lo + c) lost up to one more ULP where |c| > |a b|: cross-entropy
/// gradients with label smoothing measured 4.3 ULP.) Where |a| or |b| reaches 2^100 (float)
/// or 2^900 (double), so that the splitting could overflow, or where a b overflows, simply
/// a * b + c + c_lo; where hi + c overflows or the result is 0 (its IEEE sign),
/// hi + (lo + c) + c_lo.
template <class T>
XACT_INLINE T fma_exact_product(const T& a, const T& b, const T& c, const T& c_lo) noexcept {
#if XACT_HAS_FMA
    return detail::fma(a, b, c) + c_lo;
#else
    T hi, lo;
    two_product(a, b, hi, lo);
    const T big = splat<T>(std::is_same_v<scalar_t<T>, float> ? 0x1p100 : 0x1p900);
    const T inf = splat<T>(std::numeric_limits<scalar_t<T>>::infinity());
    T s, s_err;
    two_sum(hi, c, s, s_err); // hi + c = s + s_err exactly
    const T r = s + ((s_err + lo) + c_lo);
    const T simple = (hi + (lo + c)) + c_lo;
    const T exact = detail::select((detail::abs(s) < inf) && (r != T(0)), r, simple);
    const auto usable = (detail::abs(a) < big) && (detail::abs(b) < big) && (detail::abs(hi) < inf);
    return detail::select(usable, exact, s + c_lo);
#endif
}
/// a * b + c with the product kept exact: fma_exact_product(a, b, c, 0).
template <class T>
XACT_INLINE T fma_exact_product(const T& a, const T& b, const T& c) noexcept {
#if XACT_HAS_FMA
    return detail::fma(a, b, c);
#else
    return fma_exact_product(a, b, c, T(0));
#endif
}

// ---------------------------------------------------------------- bits

/// The signed integer type with the size of T's elements: int32_t / int64_t for scalars, the
/// matching xsimd::batch of them for batches.
template <class T, class = void>
struct int_of {
    using type = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
};
template <class T, class A>
struct int_of<xsimd::batch<T, A>> {
    using type = xsimd::batch<std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>, A>;
};
template <class T>
using int_t = typename int_of<T>::type;

/// The bits of x as a signed integer (per lane).
template <class T>
XACT_INLINE int_t<T> as_int(const T& x) noexcept {
    if constexpr (is_batch_v<T>) {
#if XSIMD_VERSION_MAJOR >= 10
        return xsimd::bitwise_cast<typename int_t<T>::value_type>(x);
#else
        return xsimd::bitwise_cast<int_t<T>>(x);
#endif
    } else {
        int_t<T> i;
        std::memcpy(&i, &x, sizeof i);
        return i;
    }
}

/// The value of T whose bits are i (per lane); the inverse of as_int.
template <class T>
XACT_INLINE T as_real(const int_t<T>& i) noexcept {
    if constexpr (is_batch_v<T>) {
#if XSIMD_VERSION_MAJOR >= 10
        return xsimd::bitwise_cast<scalar_t<T>>(i);
#else
        return xsimd::bitwise_cast<T>(i);
#endif
    } else {
        T x;
        std::memcpy(&x, &i, sizeof x);
        return x;
    }
}

/// m with the sign bit of s or'ed in: copysign(m, s) wherever m's sign bit is clear or already
/// that of s (a magnitude; or a value of the sign of s, or +0). One and and one or: xsimd's
/// copysign also clears m's sign bit first.
template <class T>
XACT_INLINE T or_sign(const T& m, const T& s) noexcept {
    if constexpr (is_batch_v<T>) {
        return m | (s & splat<T>(-0.0));
    } else {
        const int_t<T> sign = as_int(scalar_t<T>(-0.0));
        return as_real<T>(static_cast<int_t<T>>(as_int(m) | (as_int(s) & sign)));
    }
}

/// 2^(n + c) for integer n (per lane) and a constant c, n + c within the normal exponent range
/// of T; only n modulo 2^(bits - mantissa bits) is read (integer arithmetic wraps).
template <class T>
XACT_INLINE T pow2i(const int_t<T>& n, int c = 0) noexcept {
    constexpr int mant = std::is_same_v<scalar_t<T>, float> ? 23 : 52;
    constexpr int bias = std::is_same_v<scalar_t<T>, float> ? 127 : 1023;
    if constexpr (is_batch_v<T>) {
        return as_real<T>((n + int_t<T>(bias + c)) << mant);
    } else {
        // Unsigned arithmetic: for the garbage n of a NaN lane (discarded later) a signed
        // overflow or shift into the sign bit would be undefined behaviour.
        using U = std::make_unsigned_t<int_t<T>>;
        return as_real<T>(static_cast<int_t<T>>(
            static_cast<U>(static_cast<U>(n) + static_cast<U>(bias + c)) << mant));
    }
}

/// One result per lane from two kernels: near(x) everywhere, far(x) where is_far. A batch calls
/// far() only when some lane needs it (each lane gets the same value either way, so the scalar
/// and SIMD paths stay bitwise equal); a scalar calls only the kernel it needs.
template <class T, class M, class Near, class Far>
XACT_INLINE T two_regimes(const T& x, const M& is_far, const Near& near, const Far& far) noexcept {
    if constexpr (is_batch_v<T>) {
        T y = near(x);
        if (xsimd::any(is_far)) y = detail::select(is_far, far(x), y);
        return y;
    } else {
        return is_far ? far(x) : near(x);
    }
}

/// v = m 2^e with |m| in [1, 2) for finite nonzero v (subnormals included); 0, inf and NaN give
/// m = v, e = 0. Like 2 frexp(v) but inline bit operations: no libm call per vector in a loop.
template <class S>
XACT_INLINE S split_exponent(S v, int& e) noexcept {
    constexpr bool f32 = std::is_same_v<S, float>;
    using U = std::conditional_t<f32, std::uint32_t, std::uint64_t>;
    constexpr int mant = f32 ? 23 : 52, emask = f32 ? 0xff : 0x7ff, bias = emask / 2;
    // Straight-line integer code (selects, no float compares), so that the compiler hoists it
    // out of a kernel's loop. A subnormal v is read from v 2^64 (exact) instead.
    const S w = v * S(0x1p64);
    U bv, bw;
    std::memcpy(&bv, &v, sizeof bv);
    std::memcpy(&bw, &w, sizeof bw);
    const bool sub = ((bv >> mant) & U(emask)) == 0;
    const U b = sub ? bw : bv;
    const int ex = static_cast<int>((b >> mant) & U(emask));
    const bool special = ex == 0 || ex == emask; // 0, inf, NaN
    const U bm = (b & ~(U(emask) << mant)) | (U(bias) << mant);
    S m;
    std::memcpy(&m, &bm, sizeof bm);
    e = special ? 0 : ex - bias - (sub ? 64 : 0);
    return special ? v : m;
}

/// n >> s with zeros shifted in, per lane (scalar: on the unsigned type). x86 before AVX-512
/// shifts 64-bit lanes logically in one instruction but arithmetically not at all (xsimd
/// emulates that in about five operations per 128 bits), so 64-bit callers prefer this form.
template <int s, class I>
XACT_INLINE I shift_right_logical(const I& n) noexcept {
    if constexpr (is_batch_v<I>) {
#if defined(__SSE2__) && !defined(__AVX512F__) && (defined(__x86_64__) || defined(_M_X64))
        if constexpr (sizeof(scalar_t<I>) == 8) {
            constexpr std::size_t bytes = simd_traits<I>::width * 8;
#if defined(__AVX2__)
            if constexpr (bytes == 32) return I(_mm256_srli_epi64(n, s));
#endif
            if constexpr (bytes == 16) return I(_mm_srli_epi64(n, s));
        }
#endif
        using U = std::make_unsigned_t<scalar_t<I>>;
        return (n >> s) & I(static_cast<scalar_t<I>>(~U(0) >> s));
    } else {
        using U = std::make_unsigned_t<I>;
        return static_cast<I>(static_cast<U>(n) >> s);
    }
}

/// floor(n / 2) per lane for |n| < 2^30 (x86 before AVX-512, 64-bit lanes: a logical shift of
/// n + 2^30, which is nonnegative, less 2^29; other lanes, such as a NaN's garbage n, wrap).
template <class I>
XACT_INLINE I half_floor(const I& n) noexcept {
#if defined(__SSE2__) && !defined(__AVX512F__) && (defined(__x86_64__) || defined(_M_X64))
    if constexpr (is_batch_v<I> && sizeof(scalar_t<I>) == 8) {
        const I off(std::int64_t(1) << 30);
        return shift_right_logical<1>(n + off) - I(std::int64_t(1) << 29);
    }
#endif
    return n >> 1;
}

/// x * 2^n for |x| in [0.35, 4) and n up to one past either end of the exponent range: two exact
/// scalings, so a subnormal result is rounded once and an overflow gives inf.
template <class T>
XACT_INLINE T scale2(const T& x, const int_t<T>& n) noexcept {
    const int_t<T> n1 = half_floor(n);
    return (x * pow2i<T>(n1)) * pow2i<T>(n - n1);
}

/// x * 2^n for n <= 0 (down to -226 float, -1622 double) and |x| in [2^-26, 2]: x is first
/// scaled exactly by 2^(n + k) (a normal number), then by 2^-k, so a subnormal result rounds
/// once. Cheaper than scale2 (one power of two instead of two); k = 100 float, 600 double.
/// Only n modulo 2^(bits - mantissa bits) is read (the exponent field): n may carry any
/// multiple of 2^9 (float) / 2^12 (double) more, such as exp_parts::nb.
template <class T>
XACT_INLINE T scale2_down(const T& x, const int_t<T>& n) noexcept {
    constexpr bool f32 = std::is_same_v<scalar_t<T>, float>;
    constexpr int k = f32 ? 100 : 600;
    return (x * pow2i<T>(n, k)) * splat<T>(f32 ? 0x1p-100 : 0x1p-600);
}

/// x * 2^k for integer-valued reals k: on AVX-512 one vscalef (rounded once, subnormal
/// results included); elsewhere `portable`, the caller's own computation of the same
/// correctly rounded value (on AVX-512 it is then dead code and removed).
template <class T>
XACT_INLINE T scalef_or(const T& x, const T& k, const T& portable) noexcept {
    if constexpr (is_batch_v<T>) {
#if defined(__AVX512F__)
        constexpr std::size_t bytes = simd_traits<T>::width * sizeof(scalar_t<T>);
        if constexpr (bytes == 64 && std::is_same_v<scalar_t<T>, float>)
            return T(_mm512_scalef_ps(x, k));
        if constexpr (bytes == 64 && std::is_same_v<scalar_t<T>, double>)
            return T(_mm512_scalef_pd(x, k));
#endif
    }
    (void)x;
    (void)k;
    return portable;
}
/// scale2 with n also given as reals k (k == n): one vscalef on AVX-512, same bits.
template <class T>
XACT_INLINE T scale2(const T& x, const int_t<T>& n, const T& k) noexcept {
    return scalef_or(x, k, scale2(x, n));
}
/// scale2_down with n also given as reals k (k == n): one vscalef on AVX-512, same bits.
template <class T>
XACT_INLINE T scale2_down(const T& x, const int_t<T>& n, const T& k) noexcept {
    return scalef_or(x, k, scale2_down(x, n));
}
/// 2^n with n also given as reals k (k == n; n may carry the bits pow2i ignores).
template <class T>
XACT_INLINE T pow2i(const int_t<T>& n, const T& k) noexcept {
    return scalef_or(splat<T>(1), k, pow2i<T>(n));
}

// ---------------------------------------------------------------- memory

template <class T, class A>
XACT_INLINE xsimd::batch<T, A> load(const T* p) noexcept {
    return xsimd::batch<T, A>::load_unaligned(p);
}
template <class T, class A>
XACT_INLINE void store(T* p, const xsimd::batch<T, A>& v) noexcept {
    v.store_unaligned(p);
}

#if defined(__AVX__) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__))
/// vmaskmov masks for the first r lanes (0 <= r <= lanes): -1 then 0, read from r lanes
/// before the zeros.
alignas(64) inline constexpr std::int32_t mask_table32[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                              0,  0,  0,  0,  0,  0,  0,  0};
alignas(64) inline constexpr std::int64_t mask_table64[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
#endif

/// Lanes [0, r) read from p, the others equal to fill (0 <= r <= size); nothing at or after
/// p + r is read. A masked load on AVX and AVX-512 (masked-off lanes do not fault), a copy
/// through a buffer elsewhere.
template <class T, class A>
XACT_INLINE xsimd::batch<T, A> load_partial(const T* p, std::size_t r, T fill) noexcept {
    using B = xsimd::batch<T, A>;
    constexpr std::size_t bytes = B::size * sizeof(T);
    static_cast<void>(bytes);
#if defined(__AVX512F__)
    if constexpr (bytes == 64 && std::is_same_v<T, float>) {
        return B(_mm512_mask_loadu_ps(_mm512_set1_ps(fill), __mmask16((1u << r) - 1u), p));
    } else if constexpr (bytes == 64 && std::is_same_v<T, double>) {
        return B(_mm512_mask_loadu_pd(_mm512_set1_pd(fill), __mmask8((1u << r) - 1u), p));
    }
#endif
#if defined(__AVX__) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__))
    if constexpr (bytes == 32 && std::is_same_v<T, float>) {
        const __m256i m =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask_table32 + 8 - r));
        return B(_mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m),
                                  _mm256_castsi256_ps(m)));
    } else if constexpr (bytes == 32 && std::is_same_v<T, double>) {
        const __m256i m =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask_table64 + 4 - r));
        return B(_mm256_blendv_pd(_mm256_set1_pd(fill), _mm256_maskload_pd(p, m),
                                  _mm256_castsi256_pd(m)));
    }
#endif
    alignas(64) T buf[B::size];
    for (std::size_t l = 0; l < B::size; ++l) buf[l] = fill;
    std::memcpy(buf, p, r * sizeof(T));
    return B::load_aligned(buf);
}

/// Stores lanes [0, r) of v to p (0 <= r <= size); nothing at or after p + r is written.
template <class T, class A>
XACT_INLINE void store_partial(T* p, const xsimd::batch<T, A>& v, std::size_t r) noexcept {
    using B = xsimd::batch<T, A>;
    constexpr std::size_t bytes = B::size * sizeof(T);
    static_cast<void>(bytes);
#if defined(__AVX512F__)
    if constexpr (bytes == 64 && std::is_same_v<T, float>) {
        _mm512_mask_storeu_ps(p, __mmask16((1u << r) - 1u), v);
        return;
    } else if constexpr (bytes == 64 && std::is_same_v<T, double>) {
        _mm512_mask_storeu_pd(p, __mmask8((1u << r) - 1u), v);
        return;
    }
#endif
#if defined(__AVX__) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__))
    if constexpr (bytes == 32 && std::is_same_v<T, float>) {
        _mm256_maskstore_ps(
            p, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask_table32 + 8 - r)), v);
        return;
    } else if constexpr (bytes == 32 && std::is_same_v<T, double>) {
        _mm256_maskstore_pd(
            p, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask_table64 + 4 - r)), v);
        return;
    }
#endif
    alignas(64) T buf[B::size];
    v.store_aligned(buf);
    std::memcpy(p, buf, r * sizeof(T));
}

/// Sum of the lanes of v, added in lane order 0, 1, … so the result does not depend on the
/// xsimd version or the shuffle pattern of a horizontal add.
template <class T, class A>
XACT_INLINE T reduce_add_ordered(const xsimd::batch<T, A>& v) noexcept {
    alignas(64) T lanes[xsimd::batch<T, A>::size];
    v.store_unaligned(lanes);
    T s = lanes[0];
    for (std::size_t i = 1; i < xsimd::batch<T, A>::size; ++i) s += lanes[i];
    return s;
}

/// The float lanes of v as doubles: lanes [0, W/2) in lo, [W/2, W) in hi (exact). One or two
/// conversions per half on x86; elsewhere through memory.
template <class A>
XACT_INLINE void widen(const xsimd::batch<float, A>& v, xsimd::batch<double, A>& lo,
                       xsimd::batch<double, A>& hi) noexcept {
    using D = xsimd::batch<double, A>;
    constexpr std::size_t W = xsimd::batch<float, A>::size;
    static_assert(D::size * 2 == W, "a double batch holds half the float lanes");
#if defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__))
    constexpr std::size_t bytes = W * sizeof(float);
#if defined(__AVX512F__)
    if constexpr (bytes == 64) {
        const __m512 f = v;
        lo = D(_mm512_cvtps_pd(_mm512_castps512_ps256(f)));
        hi = D(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))));
        return;
    }
#endif
#if defined(__AVX__)
    if constexpr (bytes == 32) {
        const __m256 f = v;
        lo = D(_mm256_cvtps_pd(_mm256_castps256_ps128(f)));
        hi = D(_mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)));
        return;
    }
#endif
    if constexpr (bytes == 16) {
        const __m128 f = v;
        lo = D(_mm_cvtps_pd(f));
        hi = D(_mm_cvtps_pd(_mm_movehl_ps(f, f)));
        return;
    }
#endif
    alignas(64) float f[W];
    alignas(64) double d[W];
    v.store_aligned(f);
    for (std::size_t i = 0; i < W; ++i) d[i] = static_cast<double>(f[i]);
    lo = D::load_aligned(d);
    hi = D::load_aligned(d + W / 2);
}

/// widen(load(p), lo, hi), converting straight from memory on AVX and AVX-512 (no shuffle
/// to reach the upper half).
template <class A>
XACT_INLINE void widen_load(const float* p, xsimd::batch<double, A>& lo,
                            xsimd::batch<double, A>& hi) noexcept {
    using D = xsimd::batch<double, A>;
    constexpr std::size_t bytes = D::size * sizeof(double);
    static_cast<void>(bytes);
#if defined(__AVX512F__)
    if constexpr (bytes == 64) {
        lo = D(_mm512_cvtps_pd(_mm256_loadu_ps(p)));
        hi = D(_mm512_cvtps_pd(_mm256_loadu_ps(p + 8)));
        return;
    }
#endif
#if defined(__AVX__) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__))
    if constexpr (bytes == 32) {
        lo = D(_mm256_cvtps_pd(_mm_loadu_ps(p)));
        hi = D(_mm256_cvtps_pd(_mm_loadu_ps(p + 4)));
        return;
    }
#endif
    widen(xsimd::batch<float, A>::load_unaligned(p), lo, hi);
}

/// Sum of the lanes of v by halving: lane i += lane i + W/2 for i < W/2, then the same on the
/// lower half, down to one lane. The same order on every target; on AVX and AVX-512 it stays
/// in registers (about 2 log2 W operations instead of W - 1 dependent scalar additions).
template <class T, class A>
XACT_INLINE T reduce_add_halving(const xsimd::batch<T, A>& v) noexcept {
    constexpr std::size_t W = xsimd::batch<T, A>::size;
    [[maybe_unused]] constexpr bool f32 = std::is_same_v<T, float>; // unused without AVX
#if defined(__AVX__)
    if constexpr (W * sizeof(T) == 64 || W * sizeof(T) == 32) {
        if constexpr (f32) {
            __m256 a;
            if constexpr (W == 16) {
#if defined(__AVX512F__)
                const __m512 z = v;
                a = _mm256_add_ps(_mm512_castps512_ps256(z),
                                  _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z), 1)));
#endif
            } else {
                a = v;
            }
            const __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
            const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
            return _mm_cvtss_f32(_mm_add_ss(c, _mm_shuffle_ps(c, c, 1)));
        } else {
            __m256d a;
            if constexpr (W == 8) {
#if defined(__AVX512F__)
                const __m512d z = v;
                a = _mm256_add_pd(_mm512_castpd512_pd256(z), _mm512_extractf64x4_pd(z, 1));
#endif
            } else {
                a = v;
            }
            const __m128d b = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
            return _mm_cvtsd_f64(_mm_add_sd(b, _mm_unpackhi_pd(b, b)));
        }
    }
#endif
    alignas(64) T lanes[W];
    v.store_unaligned(lanes);
    for (std::size_t h = W / 2; h >= 1; h /= 2)
        for (std::size_t i = 0; i < h; ++i) lanes[i] += lanes[i + h];
    return lanes[0];
}

} // namespace xact::detail

XACT_DIAGNOSTIC_POP
