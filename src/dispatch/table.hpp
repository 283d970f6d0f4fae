// xact::dispatch internals: the interface between the front end (dispatch.cpp, compiled for
// the baseline instruction set) and the kernels compiled once per instruction set
// (isa_*.cpp). Plain types only: each per-ISA translation unit sees xact and xsimd under
// names of its own (see isa.inc), so no xact or xsimd type may cross this boundary.
#pragma once

#include <cstddef>

namespace xact_dispatch_impl {

/// An activation as data: its kind (xact::activation_kind as int) and parameters.
struct desc {
    int kind;
    double p0, p1;
};

/// extents as data.
struct shape {
    std::size_t outer, axis, inner;
};

template <class T>
struct kernels {
    void (*forward)(const desc&, const T*, T*, std::size_t);
    void (*backward)(const desc&, const T*, const T*, T*, std::size_t);
    void (*backward_from_output)(const desc&, const T*, const T*, T*, std::size_t);
    void (*softmax)(const T*, T*, const shape&, bool log);
    void (*softmax_backward)(const T*, const T*, T*, const shape&, bool log);
};

/// One instruction set's kernels.
struct table {
    const char* isa; // "sse2", "avx2", "avx512f"
    kernels<float> f32;
    kernels<double> f64;
};

// Defined by the per-ISA translation units that this build compiled (see CMakeLists.txt).
const table* table_sse2() noexcept;
const table* table_avx2() noexcept;
const table* table_avx512f() noexcept;

} // namespace xact_dispatch_impl
