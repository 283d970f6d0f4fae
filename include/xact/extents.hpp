// xact — extents: how an operation "along an axis" sees a contiguous N-d array.
#pragma once

#include "config.hpp"

#include <cstddef>
#include <limits>

namespace xact {

/// A contiguous array viewed as [outer][axis][inner]; the operation runs along `axis`, whose
/// elements are `inner` apart. Last axis of a matrix: {rows, cols, 1}; channels of NCHW:
/// {N, C, H*W}; channels of NHWC: {N*H*W, C, 1}.
struct extents {
    std::size_t outer;
    std::size_t axis;
    std::size_t inner = 1;

    /// outer * axis * inner; throws std::invalid_argument if that overflows std::size_t.
    std::size_t size() const {
        constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
        if (axis != 0 && outer > max / axis)
            detail::invalid_argument("xact::extents: size overflows");
        const std::size_t oa = outer * axis;
        if (inner != 0 && oa > max / inner)
            detail::invalid_argument("xact::extents: size overflows");
        return oa * inner;
    }
};

} // namespace xact
