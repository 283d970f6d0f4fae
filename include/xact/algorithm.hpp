// xact — elementwise activations over arrays: forward, backward, backward_from_output.
//
//   xact::forward(xact::relu{}, x, y, n);                    // y = f(x); y may equal x
//   xact::backward(xact::relu{}, x, dy, dx, n);              // dx = dy * f'(x)
//   xact::backward_from_output(xact::relu{}, y, dy, dx, n);  // dx = dy * f'(x), f' from y
//
// T is float or double. Any length (0 included) and any alignment; the loop is written once:
// an unrolled SIMD body, then a partial batch for the tail, computed by the same functor, so
// every element gets the bitwise result of the scalar call f(x[i]). No allocation, no locks:
// safe from many threads on disjoint data.
//
// Preconditions, checked once per call before anything is written (std::invalid_argument,
// or XACT_ERROR_HANDLER without exceptions): pointers are non-null when n > 0; an output
// either equals an input exactly (in place) or does not overlap it at all; ranges have equal
// sizes; the functor's parameters are valid.
#pragma once

#include "detail/simd.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <type_traits>
#include <utility>

XACT_DIAGNOSTIC_PUSH

namespace xact {
namespace detail {

// ---------------------------------------------------------------- functor hooks

template <class F, class = void>
struct has_check : std::false_type {};
template <class F>
struct has_check<F, std::void_t<decltype(std::declval<const F&>().check())>> : std::true_type {};

template <class F, class = void>
struct has_check_from_output : std::false_type {};
template <class F>
struct has_check_from_output<F, std::void_t<decltype(std::declval<const F&>().check_from_output())>>
    : std::true_type {};

template <class F, class T, class = void>
struct has_derivative_from_output : std::false_type {};
template <class F, class T>
struct has_derivative_from_output<
    F, T, std::void_t<decltype(std::declval<const F&>().derivative_from_output(std::declval<T>()))>>
    : std::true_type {};

template <class F, class T, class = void>
struct has_check_for : std::false_type {};
template <class F, class T>
struct has_check_for<F, T, std::void_t<decltype(std::declval<const F&>().template check_for<T>())>>
    : std::true_type {};

/// Validates a functor's parameters: its optional check() member, then, for an array call on
/// elements of type T, its optional check_for<T>() (parameters that must survive the rounding
/// to T, such as softplus's β in float).
template <class T = void, class F>
inline void check_functor(const F& f) {
    if constexpr (has_check<F>::value) f.check();
    if constexpr (!std::is_void_v<T>) {
        if constexpr (has_check_for<F, T>::value) f.template check_for<T>();
    }
}

/// A functor may offer `template <class Fn> void specialize(Fn&& fn) const`, which calls fn
/// once with a functor of the same values whose parameter tests are settled at compile time
/// (swish with β = 1: silu). The array loops are then compiled for that case alone, without
/// the code of the others or a per-batch test of the parameter.
struct any_kernel_fn {
    template <class K>
    void operator()(const K&) const noexcept {}
};
template <class F, class = void>
struct has_specialize : std::false_type {};
template <class F>
struct has_specialize<
    F, std::void_t<decltype(std::declval<const F&>().specialize(std::declval<any_kernel_fn>()))>>
    : std::true_type {};
template <class F, class Fn>
XACT_INLINE void with_kernel(const F& f, Fn&& fn) {
    if constexpr (has_specialize<F>::value)
        f.specialize(fn);
    else
        fn(f);
}

// ---------------------------------------------------------------- argument checks

/// True when the byte ranges [a, a + a_bytes) and [b, b + b_bytes) share a byte.
inline bool overlaps(const void* a, std::size_t a_bytes, const void* b,
                     std::size_t b_bytes) noexcept {
    const auto pa = reinterpret_cast<std::uintptr_t>(a);
    const auto pb = reinterpret_cast<std::uintptr_t>(b);
    return a_bytes != 0 && b_bytes != 0 && pa < pb + b_bytes && pb < pa + a_bytes;
}

/// Checks a pointer of an array call: non-null when n > 0.
template <class T>
inline void check_pointer(const T* p, std::size_t n, const char* message) {
    if (n != 0 && p == nullptr) invalid_argument(message);
}

/// Checks that output `out` either is `in` or does not overlap it.
template <class T>
inline void check_alias(const T* in, const T* out, std::size_t n, const char* message) {
    if (in != out && overlaps(in, n * sizeof(T), out, n * sizeof(T))) invalid_argument(message);
}

template <class T>
inline void check_real() {
    static_assert(is_real_v<T>, "xact array operations take float or double elements");
}

// ---------------------------------------------------------------- loops

/// y[i] = op(x[i]) for i < n with batches of Arch; the tail goes through one partial batch.
template <class Arch, class T, class Op>
XACT_INLINE void map1(const T* x, T* y, std::size_t n, const Op& op) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    std::size_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        const B a0 = detail::load<T, Arch>(x + i), a1 = detail::load<T, Arch>(x + i + W);
        const B a2 = detail::load<T, Arch>(x + i + 2 * W),
                a3 = detail::load<T, Arch>(x + i + 3 * W);
        detail::store(y + i, op(a0));
        detail::store(y + i + W, op(a1));
        detail::store(y + i + 2 * W, op(a2));
        detail::store(y + i + 3 * W, op(a3));
    }
    for (; i + W <= n; i += W) detail::store(y + i, op(detail::load<T, Arch>(x + i)));
    if (i < n) {
        const std::size_t r = n - i;
        detail::store_partial(y + i, op(detail::load_partial<T, Arch>(x + i, r, T(0))), r);
    }
}

/// out[i] = op(a[i], b[i]) for i < n; same structure as map1.
template <class Arch, class T, class Op>
XACT_INLINE void map2(const T* a, const T* b, T* out, std::size_t n, const Op& op) noexcept {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t W = B::size;
    std::size_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        const B a0 = detail::load<T, Arch>(a + i), a1 = detail::load<T, Arch>(a + i + W);
        const B a2 = detail::load<T, Arch>(a + i + 2 * W),
                a3 = detail::load<T, Arch>(a + i + 3 * W);
        const B b0 = detail::load<T, Arch>(b + i), b1 = detail::load<T, Arch>(b + i + W);
        const B b2 = detail::load<T, Arch>(b + i + 2 * W),
                b3 = detail::load<T, Arch>(b + i + 3 * W);
        detail::store(out + i, op(a0, b0));
        detail::store(out + i + W, op(a1, b1));
        detail::store(out + i + 2 * W, op(a2, b2));
        detail::store(out + i + 3 * W, op(a3, b3));
    }
    for (; i + W <= n; i += W)
        detail::store(out + i, op(detail::load<T, Arch>(a + i), detail::load<T, Arch>(b + i)));
    if (i < n) {
        const std::size_t r = n - i;
        detail::store_partial(out + i,
                              op(detail::load_partial<T, Arch>(a + i, r, T(0)),
                                 detail::load_partial<T, Arch>(b + i, r, T(0))),
                              r);
    }
}

// ---------------------------------------------------------------- per-arch entry points

template <class Arch, class F, class T>
void forward_arch(const F& f, const T* x, T* y, std::size_t n) {
    check_real<T>();
    check_pointer(x, n, "xact::forward: x is null while n > 0");
    check_pointer(y, n, "xact::forward: y is null while n > 0");
    check_alias(x, y, n, "xact::forward: y partially overlaps x (only y == x is allowed)");
    check_functor<T>(f);
    with_kernel(f, [&](const auto& k) {
        map1<Arch>(x, y, n, [k](const auto& v) XACT_LAMBDA_INLINE { return k(v); });
    });
}

template <class Arch, class F, class T>
void backward_arch(const F& f, const T* x, const T* dy, T* dx, std::size_t n) {
    check_real<T>();
    check_pointer(x, n, "xact::backward: x is null while n > 0");
    check_pointer(dy, n, "xact::backward: dy is null while n > 0");
    check_pointer(dx, n, "xact::backward: dx is null while n > 0");
    check_alias(x, dx, n, "xact::backward: dx partially overlaps x (only dx == x is allowed)");
    check_alias(dy, dx, n, "xact::backward: dx partially overlaps dy (only dx == dy is allowed)");
    check_functor<T>(f);
    with_kernel(f, [&](const auto& k) {
        map2<Arch>(x, dy, dx, n, [k](const auto& v, const auto& g) XACT_LAMBDA_INLINE {
            return g * k.derivative(v);
        });
    });
}

template <class Arch, class F, class T>
void backward_from_output_arch(const F& f, const T* y, const T* dy, T* dx, std::size_t n) {
    static_assert(has_derivative_from_output<F, T>::value,
                  "this activation has no derivative_from_output: use backward() with the input");
    check_real<T>();
    check_pointer(y, n, "xact::backward_from_output: y is null while n > 0");
    check_pointer(dy, n, "xact::backward_from_output: dy is null while n > 0");
    check_pointer(dx, n, "xact::backward_from_output: dx is null while n > 0");
    check_alias(y, dx, n,
                "xact::backward_from_output: dx partially overlaps y (only dx == y is allowed)");
    check_alias(dy, dx, n,
                "xact::backward_from_output: dx partially overlaps dy (only dx == dy is allowed)");
    check_functor<T>(f);
    if constexpr (has_check_from_output<F>::value) f.check_from_output();
    with_kernel(f, [&](const auto& k) {
        map2<Arch>(y, dy, dx, n, [k](const auto& v, const auto& g) XACT_LAMBDA_INLINE {
            return g * k.derivative_from_output(v);
        });
    });
}

// ---------------------------------------------------------------- ranges

template <class R>
using range_value_t =
    std::remove_cv_t<std::remove_pointer_t<decltype(std::data(std::declval<R&>()))>>;

template <class R, class = void>
struct is_contiguous_range : std::false_type {};
template <class R>
struct is_contiguous_range<R, std::void_t<decltype(std::data(std::declval<R&>())),
                                          decltype(std::size(std::declval<R&>()))>>
    : std::bool_constant<std::is_pointer_v<decltype(std::data(std::declval<R&>()))>> {};

template <class R>
inline constexpr bool is_contiguous_range_v =
    is_contiguous_range<std::remove_reference_t<R>>::value;

/// A range whose elements can be written (not a view of const elements). A class template,
/// so that a non-range R (a pointer) is rejected without instantiating std::data(R).
template <class R, bool = is_contiguous_range_v<R>>
struct is_output_range : std::false_type {};
template <class R>
struct is_output_range<R, true>
    : std::bool_constant<
          !std::is_const_v<std::remove_pointer_t<decltype(std::data(std::declval<R&>()))>>> {};
template <class R>
inline constexpr bool is_output_range_v = is_output_range<R>::value;

template <class A, class B>
inline void check_same_size(const A& a, const B& b, const char* message) {
    if (std::size(a) != std::size(b)) invalid_argument(message);
}

} // namespace detail

// ---------------------------------------------------------------- public API

/// y[i] = f(x[i]) for i < n. y may equal x (in place); any other overlap is an error.
template <class F, class T>
void forward(const F& f, const T* x, T* y, std::size_t n) {
    detail::forward_arch<xsimd::default_arch>(f, x, y, n);
}

/// dx[i] = dy[i] * f'(x[i]) for i < n, f' from the input (accurate in the tails).
/// dx may equal x or dy.
template <class F, class T>
void backward(const F& f, const T* x, const T* dy, T* dx, std::size_t n) {
    detail::backward_arch<xsimd::default_arch>(f, x, dy, dx, n);
}

/// dx[i] = dy[i] * f'(x[i]) for i < n, f' computed from the output y = f(x) (for the
/// functions that have derivative_from_output). dx may equal y or dy.
template <class F, class T>
void backward_from_output(const F& f, const T* y, const T* dy, T* dx, std::size_t n) {
    detail::backward_from_output_arch<xsimd::default_arch>(f, y, dy, dx, n);
}

/// Range form of forward: x and y are contiguous ranges (std::vector, std::array, std::span…)
/// of equal size.
template <
    class F, class X, class Y,
    std::enable_if_t<detail::is_contiguous_range_v<X> && detail::is_output_range_v<Y>, int> = 0>
void forward(const F& f, const X& x, Y&& y) {
    detail::check_same_size(x, y, "xact::forward: y.size() != x.size()");
    forward(f, std::data(x), std::data(y), std::size(x));
}

/// Range form of backward: x, dy and dx of equal size.
template <class F, class X, class DY, class DX,
          std::enable_if_t<detail::is_contiguous_range_v<X> && detail::is_contiguous_range_v<DY> &&
                               detail::is_output_range_v<DX>,
                           int> = 0>
void backward(const F& f, const X& x, const DY& dy, DX&& dx) {
    detail::check_same_size(x, dy, "xact::backward: dy.size() != x.size()");
    detail::check_same_size(x, dx, "xact::backward: dx.size() != x.size()");
    backward(f, std::data(x), std::data(dy), std::data(dx), std::size(x));
}

/// Range form of backward_from_output: y, dy and dx of equal size.
template <class F, class Y, class DY, class DX,
          std::enable_if_t<detail::is_contiguous_range_v<Y> && detail::is_contiguous_range_v<DY> &&
                               detail::is_output_range_v<DX>,
                           int> = 0>
void backward_from_output(const F& f, const Y& y, const DY& dy, DX&& dx) {
    detail::check_same_size(y, dy, "xact::backward_from_output: dy.size() != y.size()");
    detail::check_same_size(y, dx, "xact::backward_from_output: dx.size() != y.size()");
    backward_from_output(f, std::data(y), std::data(dy), std::data(dx), std::size(y));
}

} // namespace xact

XACT_DIAGNOSTIC_POP
