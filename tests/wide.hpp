// Test support: the wide reference type of each kernel type and the math functions on it.
// long double (64-bit significand) for float; __float128 (libquadmath, 113 bits) for double
// when XACT_TEST_QUADMATH is set (tests/CMakeLists.txt checks for the library), otherwise
// long double, and has_accurate_ref<double>() is false (suites then skip the double
// accuracy checks with a WARN).
#pragma once

#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>

#if defined(XACT_TEST_QUADMATH) && XACT_TEST_QUADMATH && defined(__SIZEOF_FLOAT128__)
#include <quadmath.h>
#define XACT_TT_QUAD 1
#else
#define XACT_TT_QUAD 0
#endif

namespace xact_test::wide {

using ld = long double;

#if XACT_TT_QUAD
__extension__ typedef __float128 quad;
#endif

// ---------------------------------------------------------------- reference arithmetic

/// The reference type for T: long double for float; __float128 for double when available
/// (otherwise long double, and the double accuracy checks are skipped).
template <class T>
struct ref_type {
    using type = ld;
};
#if XACT_TT_QUAD
template <>
struct ref_type<double> {
    using type = quad;
};
#endif
template <class T>
using ref_t = typename ref_type<T>::type;

template <class T>
constexpr bool has_accurate_ref() {
    return std::is_same_v<T, float> || XACT_TT_QUAD;
}

/// The math functions the references need, for long double and __float128.
namespace rm {
inline ld exp(ld x) {
    return expl(x);
}
inline ld expm1(ld x) {
    return expm1l(x);
}
inline ld log1p(ld x) {
    return log1pl(x);
}
inline ld log(ld x) {
    return logl(x);
}
inline ld erfc(ld x) {
    return erfcl(x);
}
inline ld tanh(ld x) {
    return tanhl(x);
}
inline ld sqrt(ld x) {
    return sqrtl(x);
}
inline ld fabs(ld x) {
    return fabsl(x);
}
inline ld frexp(ld x, int* e) {
    return frexpl(x, e);
}
inline ld ldexp(ld x, int e) {
    return ldexpl(x, e);
}
inline ld parse(ld, const char* s) {
    return strtold(s, nullptr);
}
#if XACT_TT_QUAD
inline quad exp(quad x) {
    return expq(x);
}
inline quad expm1(quad x) {
    return expm1q(x);
}
inline quad log1p(quad x) {
    return log1pq(x);
}
inline quad log(quad x) {
    return logq(x);
}
inline quad erfc(quad x) {
    return erfcq(x);
}
inline quad tanh(quad x) {
    return tanhq(x);
}
inline quad sqrt(quad x) {
    return sqrtq(x);
}
inline quad fabs(quad x) {
    return fabsq(x);
}
inline quad frexp(quad x, int* e) {
    return frexpq(x, e);
}
inline quad ldexp(quad x, int e) {
    return ldexpq(x, e);
}
inline quad parse(quad, const char* s) {
    return strtoflt128(s, nullptr);
}
#endif
template <class R>
bool isnan(R x) {
    return x != x;
}
template <class R>
bool isinf(R x) {
    const R inf = static_cast<R>(std::numeric_limits<double>::infinity());
    return x == inf || x == -inf;
}
template <class R>
R inf() {
    return static_cast<R>(std::numeric_limits<double>::infinity());
}
template <class R>
R max(R a, R b) {
    return a > b ? a : b;
}
} // namespace rm

} // namespace xact_test::wide
