// The floating-point environment (x86 SSE control register MXCSR). The behaviour documented
// and tested here, for every array call of xact (tests/guard.hpp: every activation forward /
// backward / backward_from_output, xact::activation, softmax / log_softmax and their backward
// passes, PReLU, every loss, the xact::parallel overloads):
//
//  1. No call changes the caller's MXCSR. Its control bits (DAZ, exception masks, rounding
//     control, FTZ) are the same after every call as before, whatever they were: the default,
//     FTZ, DAZ, FTZ+DAZ, each directed rounding mode. (The kernels never read or write MXCSR;
//     only xact::parallel reads the caller's control bits and sets them on another thread
//     around each chunk it runs there, restoring that thread's own after. The status flags,
//     bits 0-5, are raised by the arithmetic as IEEE 754 says and are not compared.)
//  2. Under FTZ+DAZ, subnormal inputs read as zeros of the same sign and subnormal results
//     flush to zero; NaN still propagates and infinities give the default results. Precisely,
//     with r = the result of the same call in the default environment on the inputs with
//     every subnormal replaced by a zero of its sign, and z = the result under FTZ+DAZ:
//       - z is NaN exactly where r is NaN (NaN in -> NaN out; no NaN is created);
//       - where |r| >= Z = 2^(emin + p + 8) (float 2^-93, double 2^-960) or r = ±inf, z has
//         the bits of r;
//       - below Z, z is finite and |z - r| < Z.
//     The last rule is not "z = r, or z = ±0 where r is subnormal": measured over every
//     binade, a flushed intermediate moves a few results near the bottom of the normal range
//     by 1 ULP (selu up to 2^-100 in float, 2^-966 in double; softplus, log_sigmoid), mish(x)
//     returns x for the smallest positive normal x on SSE2 (x tanh(softplus x) ~ 0.6 x: the
//     0.4 x term flushes), SSE2's gelu returns x where the true x/2 is subnormal, and
//     identity, hardtanh, swish (β != 1) and mish return a subnormal input's own bits (which a
//     DAZ consumer reads as ±0) where f(±0) = ±0 is formed by passing x through; silu returns
//     the zero DAZ reads (its x = ±0 comes out of the arithmetic with x's sign).
//  3. Under each directed rounding mode (FTZ and DAZ off), every result is NaN exactly where
//     the default environment's is (for finite targets and upstream gradients: with an
//     infinite probability target a cross-entropy row is inf in one mode, NaN in another).
//  4. xact::parallel gives the bits of the serial call also under FTZ+DAZ: the chunks that
//     other threads compute run under the caller's control bits (before 301ecb5 the pool's
//     workers kept their own MXCSR, and split calls under FTZ+DAZ differed).
#include "catch.hpp"
#include "guard.hpp"
#include "harness.hpp"
#include "reference.hpp"

#include <xact/xact.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if defined(__SSE2__)
#include <pmmintrin.h>
#include <xmmintrin.h>

namespace {

using xact_test::kernel;
using xact_test::kernel_inputs;
using xact_test::kernel_result;

/// MXCSR's control bits: DAZ (6), the exception masks (7-12), rounding control (13-14) and
/// FTZ (15). Bits 0-5 are the sticky status flags.
constexpr unsigned control_bits = 0xffc0u;

/// Sets MXCSR for its lifetime and restores the previous value (flags included) after.
class mxcsr_scope {
  public:
    explicit mxcsr_scope(unsigned csr) : saved_(_mm_getcsr()) { _mm_setcsr(csr); }
    ~mxcsr_scope() { _mm_setcsr(saved_); }
    mxcsr_scope(const mxcsr_scope&) = delete;
    mxcsr_scope& operator=(const mxcsr_scope&) = delete;

  private:
    unsigned saved_;
};

/// An environment: the current MXCSR with the status flags cleared and FTZ, DAZ and the
/// rounding mode set as given (through the intrinsics' macros).
struct environment {
    std::string name;
    unsigned csr;
};
environment make_environment(const std::string& name, bool ftz, bool daz, unsigned rounding) {
    const mxcsr_scope keep(_mm_getcsr() & ~0x3fu);
    _MM_SET_FLUSH_ZERO_MODE(ftz ? _MM_FLUSH_ZERO_ON : _MM_FLUSH_ZERO_OFF);
    _MM_SET_DENORMALS_ZERO_MODE(daz ? _MM_DENORMALS_ZERO_ON : _MM_DENORMALS_ZERO_OFF);
    _MM_SET_ROUNDING_MODE(rounding);
    return {name, _mm_getcsr()};
}
environment default_environment() {
    return make_environment("default", false, false, _MM_ROUND_NEAREST);
}
environment ftz_daz() {
    return make_environment("FTZ+DAZ", true, true, _MM_ROUND_NEAREST);
}
std::vector<environment> directed_roundings() {
    return {make_environment("round down", false, false, _MM_ROUND_DOWN),
            make_environment("round up", false, false, _MM_ROUND_UP),
            make_environment("round toward zero", false, false, _MM_ROUND_TOWARD_ZERO)};
}
std::vector<environment> all_environments() {
    std::vector<environment> envs{
        default_environment(), make_environment("FTZ", true, false, _MM_ROUND_NEAREST),
        make_environment("DAZ", false, true, _MM_ROUND_NEAREST), ftz_daz(),
        make_environment("FTZ+DAZ, round toward zero", true, true, _MM_ROUND_TOWARD_ZERO)};
    for (const environment& e : directed_roundings()) envs.push_back(e);
    return envs;
}

template <class T>
const char* type_name() {
    return sizeof(T) == 4 ? "float" : "double";
}

template <class T>
bool subnormal(T v) {
    return v != 0 && std::fabs(v) < std::numeric_limits<T>::min();
}

/// v, or a zero of its sign where v is subnormal: what DAZ reads.
template <class T>
T daz(T v) {
    return subnormal(v) ? std::copysign(T(0), v) : v;
}

/// Input values: specials, many subnormals and values whose results are subnormal or near
/// the bottom of the normal range (sigmoid(-100.f) = 3.7e-44, e^-745 ...), ordinary values;
/// NaN and infinities are rare, so most softmax rows hold none.
template <class T>
std::vector<T> pool(std::uint64_t seed) {
    using L = std::numeric_limits<T>;
    const bool f32 = sizeof(T) == 4;
    std::vector<T> v{L::denorm_min(),
                     -L::denorm_min(),
                     L::min() / 2,
                     -L::min() / 3,
                     L::min(),
                     -L::min(),
                     L::min() * T(1.5),
                     T(0),
                     -T(0),
                     T(1),
                     T(-1),
                     T(0.5),
                     T(-2.5)};
    const double tails[] = {-80, -87.5, -88, -90, -100, -103, -104, -110, -150, 80, 100, 104};
    const double tails64[] = {-700, -708, -710, -720, -740, -745, -750, -800, 700, 745};
    for (const double d : tails) v.push_back(static_cast<T>(d));
    if (!f32)
        for (const double d : tails64) v.push_back(static_cast<T>(d));
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-6.0, 6.0), m(1.0, 2.0);
    std::uniform_int_distribution<int> tiny(L::min_exponent - L::digits - 1, L::min_exponent + 40);
    for (int i = 0; i < 40; ++i) v.push_back(static_cast<T>(u(rng)));
    for (int i = 0; i < 40; ++i) {
        const T s = static_cast<T>(std::ldexp(m(rng), tiny(rng)));
        v.push_back(i % 2 == 0 ? s : -s);
    }
    std::shuffle(v.begin(), v.end(), rng);
    // One NaN and one infinity of each sign per about 120 values.
    v.insert(v.begin() + 17, L::quiet_NaN());
    v.insert(v.begin() + 41, L::infinity());
    v.insert(v.begin() + 77, -L::infinity());
    return v;
}

template <class T>
kernel_inputs<T> make_inputs(std::size_t n) {
    const std::vector<T> px = pool<T>(1), pt = pool<T>(2), pg = pool<T>(3);
    kernel_inputs<T> in;
    for (std::size_t i = 0; i < n; ++i) {
        in.x.push_back(px[i % px.size()]);
        in.t.push_back(pt[(i + 5) % pt.size()]);
        in.g.push_back(pg[(i + 9) % pg.size()]);
        // Slopes: ordinary values and a subnormal one.
        const T a[] = {T(0.25),  T(-0.5), T(0), T(1.5), std::numeric_limits<T>::denorm_min(),
                       T(0.125), T(3)};
        in.alpha.push_back(a[i % 7]);
    }
    return in;
}

template <class T>
kernel_inputs<T> daz_inputs(kernel_inputs<T> in) {
    for (auto* v : {&in.x, &in.t, &in.g, &in.alpha})
        for (T& e : *v) e = daz(e);
    return in;
}

/// The shapes each kernel runs on: 1001 elements for the elementwise ones (SIMD body and tail
/// for every width; every input value meets several others), and a few extents along the
/// last axis and along middle axes.
std::vector<xact::extents> shapes_for(bool along_axis) {
    if (!along_axis) return {xact::extents{1, 1001, 1}};
    return {xact::extents{5, 13, 1}, xact::extents{2, 37, 1}, xact::extents{8, 120, 1},
            xact::extents{3, 6, 5},  xact::extents{2, 1, 9},  xact::extents{2, 30, 7}};
}

constexpr std::size_t input_count = 1001; // >= every shape's element count

template <class T>
std::vector<T> flat(const kernel_result<T>& r) {
    std::vector<T> v = r.out;
    v.insert(v.end(), r.out2.begin(), r.out2.end());
    return v;
}

/// Collects failures: the first few are reported in full, the rest counted.
struct failures {
    std::size_t count = 0;
    void add(const std::string& what) {
        if (++count <= 12) FAIL_CHECK(what);
    }
};

template <class T>
std::string where(const kernel<T>& k, const xact::extents& e, std::size_t i) {
    std::ostringstream s;
    s << k.name << " <" << type_name<T>() << "> extents {" << e.outer << ", " << e.axis << ", "
      << e.inner << "}, output " << i;
    return s.str();
}

template <class T>
std::string hex(T v) {
    std::ostringstream s;
    s << std::hexfloat << v;
    return s.str();
}

template <class T>
void control_bits_unchanged() {
    const std::vector<kernel<T>> ks = xact_test::catalogue<T>(true);
    const kernel_inputs<T> in = make_inputs<T>(input_count);
    failures fail;
    for (const environment& env : all_environments()) {
        const mxcsr_scope scope(env.csr);
        for (const kernel<T>& k : ks)
            for (const xact::extents& e : shapes_for(k.along_axis)) {
                (void)xact_test::run_kernel(k, e, in, T(0));
                const unsigned now = _mm_getcsr();
                if ((now & control_bits) != (env.csr & control_bits)) {
                    std::ostringstream s;
                    s << where(k, e, 0) << ", " << env.name << ": MXCSR was " << std::hex << env.csr
                      << ", is " << now << " after the call";
                    fail.add(s.str());
                    _mm_setcsr(env.csr);
                }
            }
    }
    INFO(fail.count << " failures");
    CHECK(fail.count == 0);
}

template <class T>
void flush_to_zero_semantics() {
    using L = std::numeric_limits<T>;
    const T Z = std::ldexp(T(1), L::min_exponent + L::digits + 8);
    const std::vector<kernel<T>> ks = xact_test::catalogue<T>(false);
    const kernel_inputs<T> in = make_inputs<T>(input_count), in_daz = daz_inputs(in);
    const environment ftz = ftz_daz(), def = default_environment();
    failures fail;
    std::size_t compared = 0, flushed = 0;
    for (const kernel<T>& k : ks) {
        for (const xact::extents& e : shapes_for(k.along_axis)) {
            std::vector<T> r, z;
            {
                const mxcsr_scope scope(def.csr);
                r = flat(xact_test::run_kernel(k, e, in_daz, T(0)));
            }
            {
                const mxcsr_scope scope(ftz.csr);
                z = flat(xact_test::run_kernel(k, e, in, T(0)));
            }
            for (std::size_t i = 0; i < r.size(); ++i) {
                ++compared;
                const T a = r[i], b = z[i];
                bool ok;
                if (std::isnan(a) || std::isnan(b))
                    ok = std::isnan(a) && std::isnan(b);
                else if (std::isinf(a) || std::fabs(a) >= Z)
                    ok = xact_test::bits(a) == xact_test::bits(b);
                else
                    ok = std::isfinite(b) && std::fabs(b - a) < Z;
                if (!std::isnan(a) && xact_test::bits(a) != xact_test::bits(b)) ++flushed;
                // NaN in -> NaN out, stated on the raw input for the elementwise functions.
                if (k.element && i < e.size() && std::isnan(in.x[i]) && !std::isnan(b)) ok = false;
                if (!ok) {
                    std::ostringstream s;
                    s << where(k, e, i) << ": under FTZ+DAZ " << hex(b)
                      << ", in the default environment (subnormal inputs as zeros) " << hex(a);
                    if (k.element) s << " (x = " << hex(in.x[i]) << ", t = " << hex(in.t[i]) << ")";
                    fail.add(s.str());
                }
            }
        }
    }
    INFO(fail.count << " failures in " << compared << " results (" << flushed
                    << " differ from the default environment's, all below " << hex(Z) << ")");
    CHECK(fail.count == 0);
    CHECK(flushed > 0); // the inputs do reach the flushed range
}

template <class T>
void directed_rounding_keeps_nan() {
    const std::vector<kernel<T>> ks = xact_test::catalogue<T>(false);
    kernel_inputs<T> in = make_inputs<T>(input_count);
    // Finite targets and upstream gradients (x keeps its NaN and infinities): with an infinite
    // probability target, whether a cross-entropy row gives inf or NaN (inf * 0, inf - inf)
    // depends on which intermediates overflow, hence on the rounding mode.
    for (auto* v : {&in.t, &in.g})
        for (T& e : *v)
            if (!std::isfinite(e)) e = T(0.5);
    const environment def = default_environment();
    failures fail;
    for (const kernel<T>& k : ks) {
        for (const xact::extents& e : shapes_for(k.along_axis)) {
            std::vector<T> r;
            {
                const mxcsr_scope scope(def.csr);
                r = flat(xact_test::run_kernel(k, e, in, T(0)));
            }
            for (const environment& env : directed_roundings()) {
                std::vector<T> z;
                {
                    const mxcsr_scope scope(env.csr);
                    z = flat(xact_test::run_kernel(k, e, in, T(0)));
                }
                for (std::size_t i = 0; i < r.size(); ++i)
                    if (std::isnan(r[i]) != std::isnan(z[i])) {
                        fail.add(where(k, e, i) + ", " + env.name + ": " + hex(z[i]) +
                                 ", in the default environment " + hex(r[i]));
                        break;
                    }
            }
        }
    }
    INFO(fail.count << " failures");
    CHECK(fail.count == 0);
}

} // namespace

TEMPLATE_TEST_CASE("fenv: no call changes MXCSR's control bits, in any environment", "[fenv]",
                   float, double) {
    control_bits_unchanged<TestType>();
}

TEMPLATE_TEST_CASE("fenv: under FTZ+DAZ subnormals read and flush as zeros, NaN propagates, "
                   "everything else is the default environment's",
                   "[fenv]", float, double) {
    flush_to_zero_semantics<TestType>();
}

TEMPLATE_TEST_CASE("fenv: directed rounding modes create and lose no NaN", "[fenv]", float,
                   double) {
    directed_rounding_keeps_nan<TestType>();
}

TEST_CASE("fenv: parallel calls under FTZ+DAZ give the serial call's bits", "[fenv][parallel]") {
    // xact::parallel's pool threads compute the chunks of a split call. Their results must be
    // the caller's: computed in the caller's floating-point environment. sigmoid(-100.f) and
    // softmax rows [0, -100, ...] have subnormal results, flushed to 0 under FTZ.
    using T = float;
    const std::size_t n = std::size_t(1) << 20; // long enough for the pool's thread to take part
    std::vector<T> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = i % 3 == 0 ? T(0) : T(-100) - T(i % 7);
    xact::parallel p;
    p.threads = 2;
    p.min_chunk = 64;
    std::vector<T> warm(n);
    xact::forward(p, xact::sigmoid{}, x.data(), warm.data(), n); // the pool starts here, or
                                                                 // has already started
    const mxcsr_scope scope(ftz_daz().csr);
    std::vector<T> serial(n), split(n);
    const xact::extents e{n / 64, 64, 1};
    std::size_t differ_forward = 0, differ_softmax = 0;
    for (int rep = 0; rep < 10; ++rep) {
        xact::forward(xact::sigmoid{}, x.data(), serial.data(), n);
        xact::forward(p, xact::sigmoid{}, x.data(), split.data(), n);
        for (std::size_t i = 0; i < n; ++i)
            differ_forward += xact_test::bits(serial[i]) != xact_test::bits(split[i]) ? 1 : 0;
        xact::softmax(x.data(), serial.data(), e);
        xact::softmax(p, x.data(), split.data(), e);
        for (std::size_t i = 0; i < n; ++i)
            differ_softmax += xact_test::bits(serial[i]) != xact_test::bits(split[i]) ? 1 : 0;
    }
    INFO("elements of 10 split calls that differ from the serial call: forward(sigmoid) "
         << differ_forward << ", softmax " << differ_softmax << " (of " << 10 * n << " each)");
    CHECK(differ_forward == 0);
    CHECK(differ_softmax == 0);
}

TEST_CASE("fenv: an executor's thread computes the chunks in the caller's environment",
          "[fenv][parallel]") {
    // Deterministic: every chunk runs on the executor's thread, whose own MXCSR is the other
    // environment (FTZ+DAZ for a default caller, default for an FTZ+DAZ caller), and must be
    // its own again after the call.
    using T = float;
    const std::size_t n = 4096;
    std::vector<T> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = i % 3 == 0 ? T(0) : T(-100) - T(i % 7);
    const std::vector<T> alpha{T(0.25), T(1e-40), T(-0.5), T(2)};
    const xact::extents e{n / 64, 64, 1}, pe{2, 4, n / 8};
    for (const bool caller_ftz : {false, true}) {
        const unsigned caller = caller_ftz ? ftz_daz().csr : default_environment().csr;
        const unsigned other = caller_ftz ? default_environment().csr : ftz_daz().csr;
        unsigned after = other, chunks = 0;
        xact::parallel p;
        p.min_chunk = 64;
        p.executor = [&](std::size_t count, const std::function<void(std::size_t)>& body) {
            std::thread t([&] {
                _mm_setcsr(other);
                for (std::size_t i = 0; i < count; ++i, ++chunks) body(i);
                after = _mm_getcsr();
            });
            t.join();
        };
        const mxcsr_scope scope(caller);
        std::vector<T> serial(n), split(n), da(4), das(4);
        std::size_t subnormal_results = 0;
        const auto compare = [&](const char* what) {
            std::size_t differ = 0;
            for (std::size_t i = 0; i < n; ++i) {
                differ += xact_test::bits(serial[i]) != xact_test::bits(split[i]) ? 1 : 0;
                subnormal_results += subnormal(serial[i]) ? 1 : 0;
            }
            INFO(what << (caller_ftz ? ", caller FTZ+DAZ" : ", caller default") << ": " << differ
                      << " of " << n << " elements differ from the serial call");
            CHECK(differ == 0);
        };
        xact::forward(xact::sigmoid{}, x.data(), serial.data(), n);
        xact::forward(p, xact::sigmoid{}, x.data(), split.data(), n);
        compare("forward(sigmoid)");
        xact::softmax(x.data(), serial.data(), e);
        xact::softmax(p, x.data(), split.data(), e);
        compare("softmax");
        xact::prelu_forward(x.data(), alpha.data(), 4, serial.data(), pe);
        xact::prelu_forward(p, x.data(), alpha.data(), 4, split.data(), pe);
        compare("prelu_forward");
        CHECK(chunks > 3);
        CHECK((after & control_bits) == (other & control_bits));
        CHECK((_mm_getcsr() & control_bits) == (caller & control_bits));
        // The inputs reach subnormal results where they are kept (default caller).
        CHECK((subnormal_results == 0) == caller_ftz);
    }
}

TEMPLATE_TEST_CASE("fenv: under FTZ+DAZ swish returns a subnormal input's own bits and silu "
                   "its signed zero, scalar and SIMD alike",
                   "[fenv]", float, double) {
    using T = TestType;
    // swish (β != 1) forms f(±0) = ±0 by passing x through (a compare with 0 and a select,
    // which under DAZ also takes the subnormals); a zero from elsewhere (a class table that
    // sees DAZ's zero) would differ from the scalar path's x. silu computes x / (1 + e^-x) for
    // x = ±0 too, so under DAZ a subnormal x gives the zero of x's sign, in both paths.
    const T tiny = std::numeric_limits<T>::denorm_min();
    std::vector<T> x;
    for (int k = 0; k < 70; ++k) {
        const T v = tiny * static_cast<T>(1 + 3 * k);
        x.push_back(k % 2 ? -v : v);
    }
    std::vector<T> y(x.size());
    const unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); // FTZ | DAZ
    std::vector<T> scalar(x.size());
    for (const double beta : {1.0, 1.7}) {
        const xact::swish f{beta};
        xact::forward(f, x.data(), y.data(), x.size());
        for (std::size_t i = 0; i < x.size(); ++i) scalar[i] = f(x[i]);
        _mm_setcsr(saved);
        for (std::size_t i = 0; i < x.size(); ++i) {
            INFO("beta " << beta << ", x = " << x[i]);
            const T expected = beta == 1.0 ? std::copysign(T(0), x[i]) : x[i];
            CHECK(xact_test::bits(y[i]) == xact_test::bits(expected));
            CHECK(xact_test::bits(scalar[i]) == xact_test::bits(expected));
        }
        _mm_setcsr(saved | 0x8040u);
    }
    _mm_setcsr(saved);
}

#else

TEST_CASE("fenv: MXCSR tests", "[fenv]") {
    WARN("the floating-point environment tests need x86 SSE2 (MXCSR): skipped");
}

#endif
