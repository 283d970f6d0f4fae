// xact — one array call spread over several threads, with the same bits as the serial call.
//
//   xact::forward(xact::parallel{}, xact::gelu{}, x, y, n);          // all cores
//   xact::softmax(xact::parallel{2}, x, y, xact::extents{rows, cols});
//   xact::parallel p; p.executor = my_pool_adapter;                  // the caller's own pool
//
// Splitting. Elementwise calls cut [0, n) into chunks whose starts are multiples of 64
// elements (whole cache lines and SIMD vectors): every element is computed by the same
// function whatever the chunk, so the result is bitwise the serial one for any thread count.
// softmax and its relatives split by rows: whole `outer` slices, or, when there are fewer
// slices than threads and the axis is strided, runs of inner positions that are multiples of
// 4 SIMD widths (each such column group is computed on its own in the serial call too).
// prelu_forward splits by whole outer slices (each slice sees every channel in the same
// order as the serial call); prelu_backward splits by channels where their dalpha sums are
// independent (the rows and runs layouts of prelu.hpp) and runs serially in the tiled layout
// (one shared slope, or few channels times inner), whose fixed sum order crosses channels.
//
// Threads. Without an executor xact uses a small pool of its own: threads - 1 workers
// started on first use (the calling thread works too), then only woken per call; no
// allocation per call after that. A call that finds the pool busy (another thread is using
// it) runs serially. With an executor, xact calls executor(count, body) once per call and
// expects body(i) to be called once for each i < count (on any threads, in any order)
// before it returns; exceptions from the executor propagate to the caller. Calls smaller
// than 2 * min_chunk elements (default: 16384, measured: below it waking a thread costs more
// than it saves for the cheapest kernels) run serially, without any thread wake-up.
//
// Floating-point environment. Each chunk that another thread runs runs under the caller's
// control state (x86: MXCSR's FTZ, DAZ, rounding mode and exception masks, set around the
// chunk and restored after it), so a call made under FTZ/DAZ gives the serial call's bits.
// The kernels themselves never change it.
//
// Argument errors are checked on the calling thread before any work starts, exactly as the
// serial calls check them.
#pragma once

#include "algorithm.hpp"
#include "extents.hpp"
#include "functions/piecewise.hpp"
#include "prelu.hpp"
#include "softmax.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__SSE__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 1)
#include <xmmintrin.h>
#define XACT_PARALLEL_MXCSR 1
#else
#define XACT_PARALLEL_MXCSR 0
#endif

XACT_DIAGNOSTIC_PUSH

namespace xact {

/// How one array call is spread over threads (the first argument of the parallel overloads).
struct parallel {
    /// Threads to use, the caller's included; 0: std::thread::hardware_concurrency().
    unsigned threads = 0;
    /// Elements (softmax: rows times axis) below which a chunk is not split further; a call
    /// of fewer than 2 * min_chunk runs serially. 0: the default, 16384 (65536 for the
    /// piecewise-linear functions and hard_swish, which cost about a cycle per element).
    std::size_t min_chunk = 0;
    /// Optional: run `count` chunks on the caller's own pool; must call body(i) exactly once
    /// for each i < count before returning.
    std::function<void(std::size_t count, const std::function<void(std::size_t)>& body)> executor{};
};

namespace detail {

inline constexpr std::size_t parallel_default_min_chunk = 16384;
/// The default for the cheapest functors: a split relu loses up to 65536 elements (measured,
/// docs/parallel.md), wins from 262144.
inline constexpr std::size_t parallel_cheap_min_chunk = 65536;

/// The default min_chunk of the elementwise calls with functor F.
template <class F>
inline constexpr std::size_t elementwise_min_chunk =
    std::is_same_v<F, identity> || std::is_same_v<F, relu> || std::is_same_v<F, relu6> ||
            std::is_same_v<F, leaky_relu> || std::is_same_v<F, hardtanh> ||
            std::is_same_v<F, hard_sigmoid> || std::is_same_v<F, hard_swish>
        ? parallel_cheap_min_chunk
        : parallel_default_min_chunk;
inline constexpr std::size_t parallel_align = 64; // chunk starts: multiples of this

/// std::thread::hardware_concurrency(), read once: glibc reads a /sys file for it (~5 us).
inline unsigned hardware_threads() noexcept {
    static const unsigned hw = [] {
        const unsigned h = std::thread::hardware_concurrency();
        return h != 0 ? h : 1u;
    }();
    return hw;
}

inline unsigned parallel_threads(const parallel& p) noexcept {
    const unsigned t = p.threads != 0 ? p.threads : hardware_threads();
    return t < 1024 ? t : 1024;
}

/// The thread pool behind xact::parallel without an executor: workers wait for a job, take
/// chunk indices from an atomic counter, and the caller takes part and waits for the end.
class work_pool {
  public:
    static work_pool& instance() {
        static work_pool pool;
        return pool;
    }

    /// Calls fn(ctx, i) for every i < count on up to `threads` threads (the caller's
    /// included). Runs serially when the pool is in use by another call.
    void run(std::size_t count, unsigned threads, void (*fn)(const void*, std::size_t),
             const void* ctx) {
        std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
        if (!busy.owns_lock() || threads <= 1 || count <= 1) {
            for (std::size_t i = 0; i < count; ++i) fn(ctx, i);
            return;
        }
        const unsigned helpers = static_cast<unsigned>(
            std::min<std::size_t>(threads - 1, count - 1)); // workers that may join
        {
            std::lock_guard<std::mutex> lock(m_);
            while (workers_.size() < helpers) {
                const unsigned id = static_cast<unsigned>(workers_.size());
                workers_.emplace_back([this, id] { worker(id); });
            }
            fn_ = fn;
            ctx_ = ctx;
            count_ = count;
            helpers_ = helpers;
            next_.store(0, std::memory_order_relaxed);
            completed_.store(0, std::memory_order_relaxed);
            open_ = true;
            ++generation_;
            published_.store(generation_, std::memory_order_release);
        }
        wake_.notify_all();
        work(fn, ctx, count);
        // Spin a little for the helpers' last chunks before sleeping: the futex wake-up of
        // the caller costs tens of microseconds here (a third of a call on 2^18 floats). The
        // condition is checked again under the lock below, as before.
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
        for (unsigned k = 1; !(completed_.load(std::memory_order_acquire) == count &&
                               active_.load(std::memory_order_acquire) == 0);
             ++k) {
            if ((k & 63) == 0 && std::chrono::steady_clock::now() > until) break;
            std::this_thread::yield();
        }
        std::unique_lock<std::mutex> lock(m_);
        done_.wait(lock, [this] {
            return completed_.load(std::memory_order_acquire) == count_ &&
                   active_.load(std::memory_order_acquire) == 0;
        });
        open_ = false; // no late worker joins this job any more
    }

    work_pool(const work_pool&) = delete;
    work_pool& operator=(const work_pool&) = delete;

    ~work_pool() {
        {
            std::lock_guard<std::mutex> lock(m_);
            stop_ = true;
        }
        wake_.notify_all();
        for (auto& t : workers_) t.join();
    }

  private:
    work_pool() = default;

    void work(void (*fn)(const void*, std::size_t), const void* ctx, std::size_t count) {
        for (;;) {
            const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
            if (i >= count) return;
            fn(ctx, i);
            if (completed_.fetch_add(1, std::memory_order_acq_rel) + 1 == count) {
                std::lock_guard<std::mutex> lock(m_);
                done_.notify_all();
            }
        }
    }

    void worker(unsigned id) {
        std::uint64_t seen = 0;
        std::unique_lock<std::mutex> lock(m_);
        for (;;) {
            if (generation_ == seen && !stop_) {
                // Spin a little before sleeping: a futex wake-up costs tens of microseconds
                // here, about the time one call on 2^18 floats takes; calls in a row (a
                // network's layers) then find the workers awake.
                lock.unlock();
                const auto until =
                    std::chrono::steady_clock::now() + std::chrono::microseconds(200);
                for (unsigned k = 1; published_.load(std::memory_order_acquire) == seen; ++k) {
                    if ((k & 63) == 0 && std::chrono::steady_clock::now() > until) break;
                    std::this_thread::yield();
                }
                lock.lock();
            }
            wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
            if (id >= helpers_ || !open_) continue;
            const auto fn = fn_;
            const void* ctx = ctx_;
            const std::size_t count = count_;
            ++active_;
            lock.unlock();
            work(fn, ctx, count);
            lock.lock();
            if (--active_ == 0) done_.notify_all();
        }
    }

    std::mutex busy_; // one job at a time
    std::mutex m_;
    std::condition_variable wake_, done_;
    std::vector<std::thread> workers_;
    std::uint64_t generation_ = 0;
    bool stop_ = false, open_ = false;
    unsigned helpers_ = 0;
    std::atomic<unsigned> active_{0}; // changed under m_; read by the spinning caller too
    void (*fn_)(const void*, std::size_t) = nullptr;
    const void* ctx_ = nullptr;
    std::size_t count_ = 0;
    std::atomic<std::size_t> next_{0}, completed_{0};
    std::atomic<std::uint64_t> published_{0}; // generation_, for the spinning workers
};

/// The caller's floating-point control state (x86: MXCSR's FTZ, DAZ, rounding and exception
/// masks), applied around each chunk that another thread runs, so that a split call computes
/// under the caller's environment — FTZ/DAZ included — and gives the serial call's bits.
struct fp_control {
#if XACT_PARALLEL_MXCSR
    static constexpr unsigned control_bits = 0xFFC0u; // bits 0-5 are the sticky status flags
    unsigned csr = _mm_getcsr() & control_bits;
    template <class Body>
    void run(const Body& body, std::size_t i) const {
        const unsigned mine = _mm_getcsr();
        if ((mine & control_bits) == csr) return body(i);
        _mm_setcsr((mine & ~control_bits) | csr);
        body(i);
        _mm_setcsr((_mm_getcsr() & ~control_bits) | (mine & control_bits));
    }
#else
    template <class Body>
    void run(const Body& body, std::size_t i) const {
        body(i);
    }
#endif
};

/// Runs body(i) for i < count as the policy says (the caller's executor, or the pool), each
/// under the caller's floating-point control state.
template <class Body>
void parallel_run(const parallel& p, std::size_t count, const Body& body) {
    if (count == 0) return;
    const fp_control env;
    const auto in_env = [&](std::size_t i) { env.run(body, i); };
    if (p.executor) {
        const std::function<void(std::size_t)> f = in_env;
        p.executor(count, f);
        return;
    }
    const unsigned t = parallel_threads(p);
    if (t <= 1 || count == 1) {
        for (std::size_t i = 0; i < count; ++i) body(i);
        return;
    }
    using Env = decltype(in_env);
    work_pool::instance().run(
        count, t, [](const void* ctx, std::size_t i) { (*static_cast<const Env*>(ctx))(i); },
        &in_env);
}

/// Chunks of [0, n) for p: the chunk length (a multiple of parallel_align) and their count;
/// count 1 when the call is too small to split.
struct chunking {
    std::size_t length, count;
};
inline chunking parallel_chunks(const parallel& p, std::size_t n, std::size_t unit = 1,
                                std::size_t default_min = parallel_default_min_chunk) noexcept {
    const std::size_t min_chunk = p.min_chunk != 0 ? p.min_chunk : default_min;
    const unsigned t = p.executor ? 8u : parallel_threads(p);
    if (n * unit < 2 * min_chunk || t <= 1) return {n, 1};
    // About 4 chunks per thread (some balance when threads are disturbed), none below
    // min_chunk, starts on multiples of parallel_align.
    std::size_t len = (n + 4 * std::size_t(t) - 1) / (4 * std::size_t(t));
    const std::size_t min_len = (min_chunk + unit - 1) / unit;
    if (len < min_len) len = min_len;
    len = (len + parallel_align - 1) / parallel_align * parallel_align;
    return {len, (n + len - 1) / len};
}

/// Elementwise: body(begin, length) over the chunks of [0, n).
template <class Body>
void parallel_elements(const parallel& p, std::size_t n, const Body& body,
                       std::size_t default_min = parallel_default_min_chunk) {
    const chunking c = parallel_chunks(p, n, 1, default_min);
    if (c.count <= 1) return body(std::size_t(0), n);
    parallel_run(p, c.count, [&](std::size_t i) {
        const std::size_t b = i * c.length;
        body(b, std::min(c.length, n - b));
    });
}

} // namespace detail

/// forward(f, x, y, n) spread over threads as p says; the same bits as the serial call.
template <class F, class T>
void forward(const parallel& p, const F& f, const T* x, T* y, std::size_t n) {
    detail::check_real<T>();
    detail::check_pointer(x, n, "xact::forward: x is null while n > 0");
    detail::check_pointer(y, n, "xact::forward: y is null while n > 0");
    detail::check_alias(x, y, n, "xact::forward: y partially overlaps x (only y == x is allowed)");
    detail::check_functor<T>(f);
    detail::parallel_elements(
        p, n, [&](std::size_t b, std::size_t m) { forward(f, x + b, y + b, m); },
        detail::elementwise_min_chunk<F>);
}

/// backward(f, x, dy, dx, n) spread over threads as p says; the same bits as the serial call.
template <class F, class T>
void backward(const parallel& p, const F& f, const T* x, const T* dy, T* dx, std::size_t n) {
    detail::check_real<T>();
    detail::check_pointer(x, n, "xact::backward: x is null while n > 0");
    detail::check_pointer(dy, n, "xact::backward: dy is null while n > 0");
    detail::check_pointer(dx, n, "xact::backward: dx is null while n > 0");
    detail::check_alias(x, dx, n,
                        "xact::backward: dx partially overlaps x (only dx == x is allowed)");
    detail::check_alias(dy, dx, n,
                        "xact::backward: dx partially overlaps dy (only dx == dy is allowed)");
    detail::check_functor<T>(f);
    detail::parallel_elements(
        p, n, [&](std::size_t b, std::size_t m) { backward(f, x + b, dy + b, dx + b, m); },
        detail::elementwise_min_chunk<F>);
}

/// backward_from_output(f, y, dy, dx, n) spread over threads; the same bits as the serial call.
template <class F, class T>
void backward_from_output(const parallel& p, const F& f, const T* y, const T* dy, T* dx,
                          std::size_t n) {
    static_assert(detail::has_derivative_from_output<F, T>::value,
                  "this activation has no derivative_from_output: use backward() with the input");
    detail::check_real<T>();
    detail::check_pointer(y, n, "xact::backward_from_output: y is null while n > 0");
    detail::check_pointer(dy, n, "xact::backward_from_output: dy is null while n > 0");
    detail::check_pointer(dx, n, "xact::backward_from_output: dx is null while n > 0");
    detail::check_alias(
        y, dx, n, "xact::backward_from_output: dx partially overlaps y (only dx == y is allowed)");
    detail::check_alias(
        dy, dx, n,
        "xact::backward_from_output: dx partially overlaps dy (only dx == dy is allowed)");
    detail::check_functor<T>(f);
    if constexpr (detail::has_check_from_output<F>::value) f.check_from_output();
    detail::parallel_elements(
        p, n,
        [&](std::size_t b, std::size_t m) { backward_from_output(f, y + b, dy + b, dx + b, m); },
        detail::elementwise_min_chunk<F>);
}

/// Range forms of the three above: contiguous ranges of equal size.
template <
    class F, class X, class Y,
    std::enable_if_t<detail::is_contiguous_range_v<X> && detail::is_output_range_v<Y>, int> = 0>
void forward(const parallel& p, const F& f, const X& x, Y&& y) {
    detail::check_same_size(x, y, "xact::forward: y.size() != x.size()");
    forward(p, f, std::data(x), std::data(y), std::size(x));
}
template <class F, class X, class DY, class DX,
          std::enable_if_t<detail::is_contiguous_range_v<X> && detail::is_contiguous_range_v<DY> &&
                               detail::is_output_range_v<DX>,
                           int> = 0>
void backward(const parallel& p, const F& f, const X& x, const DY& dy, DX&& dx) {
    detail::check_same_size(x, dy, "xact::backward: dy.size() != x.size()");
    detail::check_same_size(x, dx, "xact::backward: dx.size() != x.size()");
    backward(p, f, std::data(x), std::data(dy), std::data(dx), std::size(x));
}
template <class F, class Y, class DY, class DX,
          std::enable_if_t<detail::is_contiguous_range_v<Y> && detail::is_contiguous_range_v<DY> &&
                               detail::is_output_range_v<DX>,
                           int> = 0>
void backward_from_output(const parallel& p, const F& f, const Y& y, const DY& dy, DX&& dx) {
    detail::check_same_size(y, dy, "xact::backward_from_output: dy.size() != y.size()");
    detail::check_same_size(y, dx, "xact::backward_from_output: dx.size() != y.size()");
    backward_from_output(p, f, std::data(y), std::data(dy), std::data(dx), std::size(y));
}

namespace detail {

/// The rows of extents e spread over threads: body(piece) for pieces of whole outer slices or,
/// with fewer slices than threads along a strided axis, of inner positions (multiples of 4
/// SIMD widths) of one slice. Each row is computed the same in any piece.
template <class T, class Body>
void parallel_rows(const parallel& p, const extents& e, const Body& body) {
    const std::size_t slice = e.axis * e.inner;
    const row_piece all{0, e.outer, 0, e.inner};
    const chunking c = parallel_chunks(p, e.outer * e.inner, e.axis == 0 ? 1 : e.axis);
    if (c.count <= 1 || slice == 0) return body(all);
    const unsigned t = p.executor ? 8u : parallel_threads(p);
    if (e.inner == 1 || e.outer >= 2 * std::size_t(t)) {
        const std::size_t per = (e.outer + c.count - 1) / c.count; // whole slices per piece
        const std::size_t count = (e.outer + per - 1) / per;
        parallel_run(p, count, [&](std::size_t i) {
            const std::size_t o = i * per;
            body(row_piece{o, std::min(per, e.outer - o), 0, e.inner});
        });
        return;
    }
    constexpr std::size_t W = xsimd::batch<T>::size;
    std::size_t per = (e.outer * e.inner + c.count - 1) / c.count;
    per = (per + 4 * W - 1) / (4 * W) * (4 * W);
    if (per > e.inner) per = e.inner;
    const std::size_t pieces = (e.inner + per - 1) / per;
    parallel_run(p, e.outer * pieces, [&](std::size_t i) {
        const std::size_t o = i / pieces, j = (i % pieces) * per;
        body(row_piece{o, 1, j, std::min(per, e.inner - j)});
    });
}

template <class T>
void parallel_softmax(const parallel& p, const T* x, T* y, const extents& e, bool log) {
    // The serial call's checks, on this thread, before any work (empty: nothing to do).
    if (check_softmax_forward(x, y, e, log) == 0) return;
    parallel_rows<T>(
        p, e, [&](const row_piece& r) { softmax_piece<xsimd::default_arch>(x, y, e, r, log); });
}

template <class T>
void parallel_softmax_backward(const parallel& p, const T* y, const T* dy, T* dx, const extents& e,
                               bool log) {
    if (check_softmax_backward(y, dy, dx, e, log) == 0) return;
    parallel_rows<T>(p, e, [&](const row_piece& r) {
        softmax_backward_piece<xsimd::default_arch>(y, dy, dx, e, r, log);
    });
}

} // namespace detail

/// softmax(x, y, e) spread over threads (by rows); the same bits as the serial call.
template <class T>
void softmax(const parallel& p, const T* x, T* y, extents e) {
    detail::parallel_softmax(p, x, y, e, false);
}
/// log_softmax(x, y, e) spread over threads (by rows); the same bits as the serial call.
template <class T>
void log_softmax(const parallel& p, const T* x, T* y, extents e) {
    detail::parallel_softmax(p, x, y, e, true);
}
/// softmax_backward(y, dy, dx, e) spread over threads (by rows); the same bits.
template <class T>
void softmax_backward(const parallel& p, const T* y, const T* dy, T* dx, extents e) {
    detail::parallel_softmax_backward(p, y, dy, dx, e, false);
}
/// log_softmax_backward(y, dy, dx, e) spread over threads (by rows); the same bits.
template <class T>
void log_softmax_backward(const parallel& p, const T* y, const T* dy, T* dx, extents e) {
    detail::parallel_softmax_backward(p, y, dy, dx, e, true);
}

/// prelu_forward spread over threads (by whole outer slices); the same bits as the serial call.
template <class T>
void prelu_forward(const parallel& p, const T* x, const T* alpha, std::size_t alpha_count, T* y,
                   extents e) {
    const std::size_t n = detail::check_prelu(x, alpha, alpha_count, y, e);
    if (n == 0) return;
    const std::size_t slice = e.axis * e.inner;
    const detail::chunking c = detail::parallel_chunks(p, e.outer, slice);
    if (c.count <= 1) return prelu_forward(x, alpha, alpha_count, y, e);
    const std::size_t per = (e.outer + c.count - 1) / c.count;
    const std::size_t count = (e.outer + per - 1) / per;
    detail::parallel_run(p, count, [&](std::size_t i) {
        const std::size_t o = i * per;
        prelu_forward(x + o * slice, alpha, alpha_count, y + o * slice,
                      extents{std::min(per, e.outer - o), e.axis, e.inner});
    });
}

/// prelu_backward spread over threads by channels, whose dalpha sums are independent in the
/// rows and runs layouts; the tiled layout (one shared slope, or few channels times inner:
/// see prelu.hpp) runs serially, its sum order crossing every channel. The same bits as the
/// serial call.
template <class T>
void prelu_backward(const parallel& p, const T* x, const T* alpha, std::size_t alpha_count,
                    const T* dy, T* dx, T* dalpha, extents e) {
    using A = xsimd::default_arch;
    constexpr std::size_t W = xsimd::batch<T, A>::size;
    const std::size_t n = detail::check_prelu_backward(x, alpha, alpha_count, dy, dx, dalpha, e);
    if (n == 0) return;
    const bool rows = e.inner == 1;
    const std::size_t block = rows ? detail::prelu_rows_chunk : detail::prelu_runs_chunk;
    const detail::chunking c = detail::parallel_chunks(p, e.axis, e.outer * e.inner);
    if (detail::prelu_backward_tiled_layout<T, W>(alpha_count, e) || c.count <= 1 ||
        e.axis <= block)
        return prelu_backward(x, alpha, alpha_count, dy, dx, dalpha, e);
    std::size_t per = (e.axis + c.count - 1) / c.count;
    per = (per + block - 1) / block * block; // splits at the serial chunk boundaries
    const std::size_t count = (e.axis + per - 1) / per;
    detail::parallel_run(p, count, [&](std::size_t i) {
        const std::size_t c0 = i * per, c1 = std::min(e.axis, c0 + per);
        if (rows)
            detail::prelu_backward_rows<A>(x, alpha, dy, dx, dalpha, e.outer, e.axis, c0, c1);
        else
            detail::prelu_backward_runs<A>(x, alpha, dy, dx, dalpha, e, c0, c1);
    });
}

} // namespace xact

XACT_DIAGNOSTIC_POP
