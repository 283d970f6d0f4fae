// xact::dispatch — the instruction set chosen at run time (link the CMake target
// xact::dispatch, a small compiled library; everything else in xact is header-only and uses
// the instruction set the compiler targets, -march).
//
// The library holds the kernels compiled three times, for SSE2, AVX2+FMA and AVX-512 (those
// the compiler can target; "avx512f" stands for the AVX-512 of every such CPU since 2017: F,
// CD, BW, DQ and VL, all required at run time), and on first use picks the best one this CPU
// supports. The
// environment variable XACT_ISA=sse2|avx2|avx512f asks for a given one instead (to compare,
// or to avoid a lower clock under AVX-512); naming one the CPU or the build lacks is an error
// (std::invalid_argument from the first call), never an illegal instruction.
//
// Results. For one input, every instruction set runs the same algorithm, with these
// differences: AVX2 and AVX-512F fuse a*b+c (FMA) where SSE2 rounds twice, so the
// transcendental functions, hard_sigmoid and hard_swish may differ in the last bits between
// SSE2 and the others (each within its documented bound); gelu (erf form, float) uses a
// table fitted to each target's width, so AVX2 and AVX-512F may differ there too. The exact
// functions (identity, relu, relu6, leaky_relu, hardtanh) give the same bits everywhere, and
// AVX2 and AVX-512F agree on every elementwise function but that gelu; softmax sums in an
// order that depends on the vector width, so its last bits may differ between instruction sets
// (each within 4 ULP).
#pragma once

#include "activation.hpp"
#include "extents.hpp"

#include <cstddef>
#include <string_view>
#include <vector>

namespace xact::dispatch {

/// The instruction set in use: "sse2", "avx2" or "avx512f" (chosen on the first call).
std::string_view active_isa();

/// The instruction sets this build compiled and this CPU supports, best first.
std::vector<std::string_view> supported_isas();

/// Uses `isa` from now on (for tests and benchmarks; not thread-safe against concurrent
/// calls). std::invalid_argument (nothing changed) if `isa` is empty or unknown, or the build
/// or the CPU lacks it.
void set_isa(std::string_view isa);

/// As xact::forward / backward / backward_from_output with the activation a. T is float or
/// double (the two types the library is compiled for).
template <class T>
void forward(const activation& a, const T* x, T* y, std::size_t n);
template <class T>
void backward(const activation& a, const T* x, const T* dy, T* dx, std::size_t n);
template <class T>
void backward_from_output(const activation& a, const T* y, const T* dy, T* dx, std::size_t n);

/// As xact::softmax, log_softmax, softmax_backward and log_softmax_backward; T is float or
/// double.
template <class T>
void softmax(const T* x, T* y, extents e);
template <class T>
void log_softmax(const T* x, T* y, extents e);
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, extents e);
template <class T>
void log_softmax_backward(const T* y, const T* dy, T* dx, extents e);

namespace detail {
/// The choice made on first use: the ISA named by `requested` (XACT_ISA; empty: the best one)
/// among those available; nullptr-like empty result never: an error names the problem.
/// Exposed for tests of the selection logic on any CPU.
std::string_view choose_isa(std::string_view requested, bool has_avx2_fma, bool has_avx512f,
                            bool built_avx2, bool built_avx512f);
} // namespace detail

} // namespace xact::dispatch
