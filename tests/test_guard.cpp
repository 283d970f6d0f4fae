// Guard pages (spec.md §4: any length, any alignment): every array call of xact — each
// elementwise activation forward / backward / backward_from_output (pointer and range forms,
// in place), xact::activation's calls, softmax / log_softmax and their backward passes along
// the last and along a middle axis, PReLU with one and with per-channel slopes, every loss
// (values, per-element / per-row outputs, gradients) and the xact::parallel overloads — runs
// on arrays placed against inaccessible pages (mmap + mprotect; tests/guard.hpp), each array
// in a mapping of its own. A read or a write of even one byte past the end (tail placement,
// gap 0) or before the start (head placement, offset 0) faults: the test then dies with
// SIGSEGV, after printing the call, extents and placement.
//
// Coverage, for float and double with W = xsimd::batch<T>::size:
//   * every length n = 0 .. 4W+3; elementwise calls on n elements, calls along an axis on
//     every extents {outer, axis, inner} with outer * axis * inner = n (the last axis,
//     inner = 1, and every middle axis, inner > 1), plus empty extents for n = 0;
//   * for each n, every offset k = 0 .. W-1 in two placements: the arrays start k elements
//     after their front fence (head: start alignment k, under-reads deeper than k elements
//     fault), and the arrays end k elements before their back fence (tail: start alignment
//     -(n + k) elements modulo 64 bytes, over-reads longer than k elements fault). k = 0
//     catches every out-of-bounds read and write; writes into the gaps are caught by
//     sentinels;
//   * a few long shapes that reach the other code paths (log_softmax's blocks, the untiled
//     strided softmax, PReLU's rows / runs / blocked layouts, split parallel calls), at
//     offsets 0, 1 and W-1 in both placements.
// Results are checked too: every output equals the same call on ordinary heap buffers
// (bitwise; NaN equals NaN), elementwise outputs equal the scalar functor's result per
// element, no input is modified, and the elements around each output stay untouched.
#include "catch.hpp"
#include "guard.hpp"
#include "harness.hpp"
#include "reference.hpp"

#include <xact/xact.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#if XACT_TEST_GUARD_PAGES
#include <sys/types.h>
#include <sys/wait.h>

namespace {

using xact_test::kernel;
using xact_test::kernel_args;
using xact_test::same;
using xact_test::sentinel;

/// Inputs: special values, subnormals, values near the kinks and random values of several
/// scales (fixed seed).
template <class T>
std::vector<T> value_pool(std::uint64_t seed) {
    std::vector<T> pool = xact_test::special_values<T>();
    for (const double k : {0.0, 6.0, -3.0, 3.0, -1.0, 1.0, -2.0, 3.5, -20.0, 20.0, -100.0, 100.0})
        for (T v : xact_test::around(static_cast<T>(k), 1)) pool.push_back(v);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> small(-8.0, 8.0);
    std::uniform_real_distribution<double> exponent(-45.0, 35.0);
    for (int i = 0; i < 160; ++i) pool.push_back(static_cast<T>(small(rng)));
    for (int i = 0; i < 40; ++i) {
        const T m = static_cast<T>(std::pow(10.0, exponent(rng)));
        pool.push_back(i % 2 == 0 ? m : -m);
    }
    std::shuffle(pool.begin(), pool.end(), rng);
    return pool;
}

/// Every extents {outer, axis, inner} of n elements (n > 0), or a few empty ones (n = 0).
std::vector<xact::extents> shapes_of(std::size_t n) {
    std::vector<xact::extents> s;
    if (n == 0) {
        for (const xact::extents e :
             {xact::extents{0, 4, 1}, xact::extents{0, 3, 5}, xact::extents{3, 0, 1},
              xact::extents{2, 0, 3}, xact::extents{2, 3, 0}, xact::extents{0, 0, 0}})
            s.push_back(e);
        return s;
    }
    for (std::size_t inner = 1; inner <= n; ++inner) {
        if (n % inner != 0) continue;
        for (std::size_t axis = 1; axis <= n / inner; ++axis)
            if ((n / inner) % axis == 0) s.push_back(xact::extents{n / inner / axis, axis, inner});
    }
    return s;
}

/// The inputs of one n: the same for every placement, so the expected results are computed
/// once. A few more than n values: empty extents may still have rows (per-row dout) or
/// channels (slopes).
template <class T>
struct inputs : xact_test::kernel_inputs<T> {
    explicit inputs(std::size_t n) {
        const std::vector<T> px = value_pool<T>(11), pt = value_pool<T>(12);
        for (std::size_t i = 0; i < n + 16; ++i) {
            this->x.push_back(px[(i + 7 * n) % px.size()]);
            this->t.push_back(pt[(i + 3 * n) % pt.size()]);
            this->g.push_back(static_cast<T>(0.25) * static_cast<T>(static_cast<int>(i % 9) - 4));
            this->alpha.push_back(static_cast<T>(0.125) *
                                  static_cast<T>(static_cast<int>(i % 7) - 2));
        }
    }
};

template <class T>
using result = xact_test::kernel_result<T>;

template <class T>
const char* type_name() {
    return sizeof(T) == 4 ? "float" : "double";
}

/// Collects failures: the first few are reported in full, the rest counted.
struct failures {
    std::size_t count = 0;
    void add(const std::string& what) {
        if (++count <= 12) FAIL_CHECK(what);
    }
};

struct placement {
    bool tail;          // end k elements before the back fence (else: start k after the front)
    std::size_t offset; // k
};

/// One guarded mapping per buffer of a call.
struct regions {
    static constexpr std::size_t bytes = std::size_t(1) << 16;
    xact_test::guard_region x{bytes}, t{bytes}, g{bytes}, alpha{bytes}, cls{bytes}, out{bytes},
        out2{bytes};
};

template <class E>
E* place(const xact_test::guard_region& r, std::size_t count, const placement& p) {
    return p.tail ? r.tail<E>(count, p.offset) : r.head<E>(p.offset);
}

/// The elements of an output array and around it that the check looks at: from `before`
/// elements before it to `after` elements after it, clipped to the mapping.
template <class T>
struct window {
    T* first;
    T* last;
};
template <class T>
window<T> around(const xact_test::guard_region& r, T* p, std::size_t count) {
    constexpr std::size_t margin = xact_test::simd_width<T> + 1;
    T* lo = reinterpret_cast<T*>(r.begin());
    T* hi = reinterpret_cast<T*>(r.end());
    return {p - std::min<std::size_t>(margin, static_cast<std::size_t>(p - lo)),
            p + count + std::min<std::size_t>(margin, static_cast<std::size_t>(hi - (p + count)))};
}

template <class T>
std::string describe(const kernel<T>& k, const xact::extents& e, const placement& p) {
    std::ostringstream s;
    s << k.name << " <" << type_name<T>() << "> extents {" << e.outer << ", " << e.axis << ", "
      << e.inner << "}, " << (p.tail ? "tail" : "head") << " placement, offset " << p.offset;
    return s.str();
}

/// Runs kernel k on extents e with every buffer placed against its fence as p says, and
/// checks the outputs against `want`, the area around them, and the inputs.
template <class T>
void run_guarded(const regions& R, const kernel<T>& k, const xact::extents& e, const placement& p,
                 const inputs<T>& in, const std::vector<std::int64_t>& cls, const result<T>& want,
                 failures& fail) {
    const std::size_t n = e.size(), ng = k.g_count(e), na = k.alpha_count(e);
    const std::size_t no = k.out_count(e), no2 = k.out2_count(e), nc = cls.size();
    T* x = place<T>(R.x, n, p);
    T* t = place<T>(R.t, n, p);
    T* g = place<T>(R.g, ng, p);
    T* alpha = place<T>(R.alpha, na, p);
    std::int64_t* c = place<std::int64_t>(R.cls, nc, p);
    T* out = place<T>(R.out, no, p);
    T* out2 = place<T>(R.out2, no2, p);
    std::copy_n(in.x.data(), n, x);
    std::copy_n(in.t.data(), n, t);
    std::copy_n(in.g.data(), ng, g);
    std::copy_n(in.alpha.data(), na, alpha);
    std::copy_n(cls.data(), nc, c);
    const window<T> w1 = around(R.out, out, no), w2 = around(R.out2, out2, no2);
    std::fill(w1.first, w1.last, sentinel<T>());
    std::fill(w2.first, w2.last, sentinel<T>());

    kernel_args<T> a;
    a.x = x;
    a.t = t;
    a.g = g;
    a.alpha = alpha;
    a.cls = c;
    a.out = out;
    a.out2 = out2;
    xact_test::crash_note.kernel = k.name.c_str();
    xact_test::crash_note.type = type_name<T>();
    xact_test::crash_note.placement = p.tail ? "tail" : "head";
    xact_test::crash_note.outer = e.outer;
    xact_test::crash_note.axis = e.axis;
    xact_test::crash_note.inner = e.inner;
    xact_test::crash_note.offset = p.offset;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    k.run(a, e);
    std::atomic_signal_fence(std::memory_order_seq_cst);

    const auto check_out = [&](const window<T>& w, T* o, const std::vector<T>& expect,
                               const char* which) {
        for (T* q = w.first; q != w.last; ++q) {
            const bool inside = q >= o && q < o + expect.size();
            const T v = *q;
            const bool ok = inside ? same(v, expect[static_cast<std::size_t>(q - o)])
                                   : xact_test::is_sentinel(v);
            if (!ok) {
                std::ostringstream s;
                s << describe(k, e, p) << ": " << which << "[" << (q - o) << "] = " << v;
                if (inside)
                    s << ", the call on heap buffers gave "
                      << expect[static_cast<std::size_t>(q - o)];
                else
                    s << ", written outside the array";
                fail.add(s.str());
                return;
            }
        }
    };
    check_out(w1, out, want.out, "out");
    check_out(w2, out2, want.out2, "out2");
    const bool inputs_kept = xact_test::bitwise_equal(x, in.x.data(), n) &&
                             xact_test::bitwise_equal(t, in.t.data(), n) &&
                             xact_test::bitwise_equal(g, in.g.data(), ng) &&
                             xact_test::bitwise_equal(alpha, in.alpha.data(), na) &&
                             std::equal(c, c + nc, cls.data());
    if (!inputs_kept) fail.add(describe(k, e, p) + ": an input was modified");
}

/// Every kernel on every shape of n elements (elementwise kernels: {1, n, 1}) at every
/// placement in `places`.
template <class T>
void run_length(const regions& R, const std::vector<kernel<T>>& ks,
                const std::vector<xact::extents>& axis_shapes, const std::vector<placement>& places,
                failures& fail) {
    std::size_t n = 0;
    for (const auto& e : axis_shapes) n = std::max(n, e.size());
    const inputs<T> in(n);
    const std::vector<xact::extents> flat{xact::extents{1, n, 1}};
    for (const kernel<T>& k : ks) {
        for (const xact::extents& e : k.along_axis ? axis_shapes : flat) {
            const std::vector<std::int64_t> cls =
                k.class_targets ? xact_test::class_targets(e) : std::vector<std::int64_t>{};
            const result<T> want = xact_test::run_kernel(k, e, in, sentinel<T>());
            if (k.element) {
                // The scalar call, element by element (heap results, so this runs once).
                for (std::size_t i = 0; i < e.size(); ++i) {
                    const T s = k.element(in.x[i], in.t[i], in.g[i]);
                    if (!same(want.out[i], s)) {
                        std::ostringstream m;
                        m << k.name << " <" << type_name<T>() << ">, n = " << e.size() << ": out["
                          << i << "] = " << want.out[i] << ", the scalar call gives " << s
                          << " (x = " << in.x[i] << ", t = " << in.t[i] << ")";
                        fail.add(m.str());
                        break;
                    }
                }
            }
            for (const placement& p : places) run_guarded(R, k, e, p, in, cls, want, fail);
        }
    }
}

template <class T>
std::vector<placement> placements(const std::vector<std::size_t>& offsets) {
    std::vector<placement> ps;
    for (const bool tail : {true, false})
        for (const std::size_t k : offsets) ps.push_back(placement{tail, k});
    return ps;
}

template <class T>
void guard_all_lengths() {
    constexpr std::size_t W = xact_test::simd_width<T>;
    const regions R;
    const std::vector<kernel<T>> ks = xact_test::catalogue<T>(false);
    std::vector<std::size_t> offsets;
    for (std::size_t k = 0; k < W; ++k) offsets.push_back(k);
    const std::vector<placement> places = placements<T>(offsets);
    failures fail;
    const xact_test::fault_reporter reporter;
    for (std::size_t n = 0; n <= 4 * W + 3; ++n) {
        std::vector<xact::extents> shapes = shapes_of(n);
        // shapes_of(0) are empty extents; the elementwise kernels then run on {1, 0, 1}.
        run_length<T>(R, ks, shapes, places, fail);
    }
    INFO(fail.count << " failures");
    CHECK(fail.count == 0);
}

template <class T>
void guard_long_shapes() {
    constexpr std::size_t W = xact_test::simd_width<T>;
    const regions R;
    const std::vector<kernel<T>> ks = xact_test::catalogue<T>(true);
    std::vector<std::size_t> offsets{0, 1, W - 1};
    offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
    const std::vector<placement> places = placements<T>(offsets);
    // log_softmax's blocks (1024 floats, 512 doubles); PReLU rows and runs layouts (1027
    // channels or axis * inner = 1027: no tile of at most 4 KiB), and blocks of 64 tiles (one
    // slope); softmax along a strided axis too long for the 16 KiB tile; splits of the
    // parallel calls (chunks of 64 elements, rows).
    const xact::extents longs[] = {{1, 2048 + W + 3, 1}, {3, 1027, 1}, {2, 13, 79},
                                   {1, 1100, 5},         {1, 1, 4133}, {5, 7, 130}};
    failures fail;
    const xact_test::fault_reporter reporter;
    for (const xact::extents& e : longs) run_length<T>(R, ks, {e}, places, fail);
    INFO(fail.count << " failures");
    CHECK(fail.count == 0);
}

} // namespace

TEST_CASE("guard: the fences fault on the first byte past either end", "[guard]") {
    // A child process reads one element past a tail-placed array, or one before a
    // head-placed one: it must die (or, under AddressSanitizer, exit with an error).
    const xact_test::guard_region r(100);
    for (const bool tail : {true, false}) {
        const float* p = tail ? r.tail<float>(7, 0) + 7 : r.head<float>(0) - 1;
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            std::signal(SIGSEGV, SIG_DFL); // die of the signal, without any report
            std::signal(SIGBUS, SIG_DFL);
            const volatile float v = *static_cast<const volatile float*>(p);
            (void)v;
            ::_exit(0);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        INFO((tail ? "read past the end" : "read before the start") << ", wait status " << status);
        CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
}

TEMPLATE_TEST_CASE("guard: every array call stays within its arrays at every length and offset",
                   "[guard]", float, double) {
    guard_all_lengths<TestType>();
}

TEMPLATE_TEST_CASE("guard: long shapes and split parallel calls stay within their arrays",
                   "[guard]", float, double) {
    guard_long_shapes<TestType>();
}

#else

TEST_CASE("guard: every array call stays within its arrays", "[guard]") {
    WARN("guard-page tests need POSIX mmap/mprotect: skipped on this platform");
}

#endif
