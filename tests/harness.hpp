// Test harness shared by the array tests: guarded output buffers, bitwise comparison, and
// checks that an argument error throws std::invalid_argument naming the argument.
#pragma once

#include "catch.hpp"
#include "reference.hpp"

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace xact_test {

/// Lanes of the default xsimd batch: the width the array calls use.
template <class T>
constexpr std::size_t simd_width = xsimd::batch<T>::size;

/// A finite bit pattern no kernel produces from the test inputs, written into output guards.
template <class T>
T sentinel() {
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    const U u = sizeof(T) == 4 ? U(0x5a5a5a5aU) : U(0x5a5a5a5a5a5a5a5aULL);
    T v;
    std::memcpy(&v, &u, sizeof v);
    return v;
}

template <class T>
bool is_sentinel(T v) {
    return bits(v) == bits(sentinel<T>());
}

/// An output of n elements starting `offset` elements after a 64-byte boundary, with one guard
/// element before it and W + 1 after it; everything starts as the sentinel.
template <class T>
class guarded {
  public:
    guarded(std::size_t n, std::size_t offset)
        : buf_(n + simd_width<T> + 2, offset + 64 / sizeof(T) - 1), n_(n) {
        for (std::size_t i = 0; i < buf_.size(); ++i) buf_[i] = sentinel<T>();
    }
    T* data() { return buf_.data() + 1; }
    T& operator[](std::size_t i) { return buf_[i + 1]; }
    const T& operator[](std::size_t i) const { return buf_[i + 1]; }
    std::size_t size() const { return n_; }
    /// True when the element before and the W + 1 elements after the output are untouched.
    bool guards_intact() const {
        if (!is_sentinel(buf_[0])) return false;
        for (std::size_t i = n_ + 1; i < buf_.size(); ++i)
            if (!is_sentinel(buf_[i])) return false;
        return true;
    }
    /// True when every element, guards included, is still the sentinel.
    bool untouched() const {
        for (std::size_t i = 0; i < buf_.size(); ++i)
            if (!is_sentinel(buf_[i])) return false;
        return true;
    }

  private:
    offset_buffer<T> buf_;
    std::size_t n_;
};

template <class T>
bool bitwise_equal(const T* a, const T* b, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (bits(a[i]) != bits(b[i])) return false;
    return true;
}

/// True when `arg` appears in `message` as a whole identifier ("x" is not found in "xact").
inline bool names(const std::string& message, const std::string& arg) {
    const auto ident = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    };
    for (std::size_t p = message.find(arg); p != std::string::npos; p = message.find(arg, p + 1)) {
        const bool left = p == 0 || !ident(message[p - 1]);
        const bool right = p + arg.size() >= message.size() || !ident(message[p + arg.size()]);
        if (left && right) return true;
    }
    return false;
}

/// fn() must throw std::invalid_argument whose message names `arg`.
template <class Fn>
void expect_invalid(Fn&& fn, const std::string& arg) {
    bool threw = false;
    std::string message;
    try {
        fn();
    } catch (const std::invalid_argument& e) {
        threw = true;
        message = e.what();
    }
    INFO("expected std::invalid_argument naming '" << arg << "'; message: \"" << message << "\"");
    CHECK(threw);
    CHECK(names(message, arg));
}

} // namespace xact_test
