// xact — configuration macros shared by every header.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

/// Forces inlining of kernels; everything reachable from a per-ISA translation unit is
/// inlined or templated so differently compiled copies can never be merged by the linker.
#ifndef XACT_INLINE
#if defined(__GNUC__) || defined(__clang__)
#define XACT_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define XACT_INLINE __forceinline
#else
#define XACT_INLINE inline
#endif
#endif

/// Placed after a lambda's parameter list to force-inline it into the kernel loop.
#ifndef XACT_LAMBDA_INLINE
#if defined(__GNUC__) || defined(__clang__)
#define XACT_LAMBDA_INLINE __attribute__((always_inline))
#else
#define XACT_LAMBDA_INLINE
#endif
#endif

// xact's accuracy bounds and its NaN, infinity and signed-zero behaviour assume IEEE
// arithmetic. -ffast-math (or -ffinite-math-only, /fp:fast) lets the compiler drop NaN checks,
// reassociate the error-free sums and products, and ignore -0: results may then be off by
// millions of ULP. Hence a warning; define XACT_ALLOW_FAST_MATH to accept the loss, or call
// the kernels from a file compiled without it (xact::dispatch turns it off for its own).
#if !defined(XACT_ALLOW_FAST_MATH)
#if defined(__FAST_MATH__) || (defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__)
#pragma GCC warning "xact: fast-math voids its bounds; see the FAQ or define XACT_ALLOW_FAST_MATH"
#elif defined(_MSC_VER) && defined(_M_FP_FAST)
#pragma message("xact: /fp:fast voids its bounds; see the FAQ or define XACT_ALLOW_FAST_MATH")
#endif
#endif

/// Open and close the body of every xact header. GCC 12 and older warn "'__Y' may be used
/// uninitialized" inside their own AVX-512 intrinsics wherever those are inlined (the
/// intrinsics pass a deliberately undefined vector as the unused merge operand; GCC bug
/// 105593), thousands of times per AVX-512 translation unit under -Wall. The xact headers
/// silence those two warnings for their own code only; other compilers see nothing.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#define XACT_DIAGNOSTIC_PUSH                                                                       \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")           \
        _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define XACT_DIAGNOSTIC_POP _Pragma("GCC diagnostic pop")
#else
#define XACT_DIAGNOSTIC_PUSH
#define XACT_DIAGNOSTIC_POP
#endif

/// 1 when C++ exceptions are enabled. Argument errors then throw std::invalid_argument;
/// otherwise they go to XACT_ERROR_HANDLER (default: message on stderr, then std::abort()).
#ifndef XACT_HAS_EXCEPTIONS
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define XACT_HAS_EXCEPTIONS 1
#else
#define XACT_HAS_EXCEPTIONS 0
#endif
#endif

namespace xact::detail {

/// Reports a violated precondition of a public call. The check runs once per call, before
/// anything is written, so a caller that catches the exception sees its outputs unchanged.
[[noreturn]] inline void invalid_argument(const char* message) {
#if defined(XACT_ERROR_HANDLER)
    XACT_ERROR_HANDLER(message);
    std::abort();
#elif XACT_HAS_EXCEPTIONS
    throw std::invalid_argument(message);
#else
    std::fprintf(stderr, "xact: invalid argument: %s\n", message);
    std::abort();
#endif
}

/// For a functor's check_for<T>(): reports `what` unless the double parameter v, rounded to
/// the element type T, is finite and (with nonzero) not 0.
template <class T>
inline void check_param_in(double v, bool nonzero, const char* what) {
    const T t = static_cast<T>(v);
    if (!(t - t == T(0)) || (nonzero && t == T(0))) invalid_argument(what);
}

} // namespace xact::detail
