// Test support: ULP measurement against higher-precision references (spec.md §3), special
// values, and buffers at chosen alignments. Reference formulas live in the test files, written
// independently of the kernels, in long double.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

namespace xact_test {

/// Bits of a float or double, to compare results bitwise (sign of zero, NaN payload aside).
template <class T>
auto bits(T v) {
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    U u;
    std::memcpy(&u, &v, sizeof v);
    return u;
}

/// Bitwise equality, except that any NaN equals any NaN.
template <class T>
bool same(T a, T b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return bits(a) == bits(b);
}

/// One ULP of the reference value r in type T: 2^(exponent(r) - (digits - 1)), floored at the
/// smallest subnormal of T (spec.md §3).
template <class T>
long double ulp_of(long double r) {
    const long double tiny = std::numeric_limits<T>::denorm_min();
    if (r == 0 || !std::isfinite(r)) return tiny;
    int e = 0;
    std::frexp(r, &e); // r = m * 2^e, 0.5 <= |m| < 1
    const long double u = std::ldexp(1.0L, e - std::numeric_limits<T>::digits);
    return u < tiny ? tiny : u;
}

/// Error of y against the reference r in ULP of r (in T). NaN/inf mismatches and a zero
/// returned where a nonzero representable result is expected count as infinite error.
template <class T>
double ulp_error(T y, long double r) {
    const double inf = std::numeric_limits<double>::infinity();
    if (std::isnan(r)) return std::isnan(y) ? 0.0 : inf;
    if (std::isnan(y)) return inf;
    if (std::isinf(r) || std::isinf(y)) {
        // A finite reference beyond T's range must round to the same infinity.
        const long double rt = static_cast<T>(r);
        return (std::isinf(rt) && y == rt) ? 0.0 : inf;
    }
    if (y == 0 && static_cast<T>(r) != 0) return inf;
    return static_cast<double>(std::fabs(static_cast<long double>(y) - r) / ulp_of<T>(r));
}

/// Special and boundary values for T: signed zeros, infinities, NaN, extremes, subnormals.
template <class T>
std::vector<T> special_values() {
    using L = std::numeric_limits<T>;
    return {T(0),           -T(0),           L::infinity(),
            -L::infinity(), L::quiet_NaN(),  -L::quiet_NaN(),
            L::max(),       -L::max(),       L::min(),
            -L::min(),      L::denorm_min(), -L::denorm_min(),
            L::epsilon(),   -L::epsilon(),   T(1),
            T(-1),          T(1e30),         T(-1e30),
            T(1e38),        T(-1e38)};
}

/// The value v and its neighbours: k floats on each side (for kinks).
template <class T>
std::vector<T> around(T v, int k = 4) {
    std::vector<T> out{v};
    T up = v, down = v;
    for (int i = 0; i < k; ++i) {
        up = std::nextafter(up, std::numeric_limits<T>::infinity());
        down = std::nextafter(down, -std::numeric_limits<T>::infinity());
        out.push_back(up);
        out.push_back(down);
    }
    return out;
}

/// A buffer of n elements of T whose first element sits `offset` elements after a 64-byte
/// boundary, so tests can place arrays at every alignment.
template <class T>
class offset_buffer {
  public:
    offset_buffer(std::size_t n, std::size_t offset)
        : storage_(n + offset + 64 / sizeof(T) + 1), n_(n) {
        auto addr = reinterpret_cast<std::uintptr_t>(storage_.data());
        const std::size_t skip = ((64 - addr % 64) % 64) / sizeof(T);
        data_ = storage_.data() + skip + offset;
    }
    T* data() { return data_; }
    const T* data() const { return data_; }
    std::size_t size() const { return n_; }
    T& operator[](std::size_t i) { return data_[i]; }
    const T& operator[](std::size_t i) const { return data_[i]; }

  private:
    std::vector<T> storage_;
    std::size_t n_;
    T* data_;
};

} // namespace xact_test
