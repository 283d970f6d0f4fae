// xact::dispatch front end, compiled for the baseline instruction set: chooses a kernel table
// once (CPU features, XACT_ISA) and forwards each call to it. See include/xact/dispatch.hpp.
#include "table.hpp"

#include <xact/dispatch.hpp>

#include <atomic>
#include <cstdlib>
#include <string>

namespace xact::dispatch {
namespace {

using xact_dispatch_impl::table;

#ifdef XACT_DISPATCH_HAVE_AVX2
constexpr bool built_avx2 = true;
#else
constexpr bool built_avx2 = false;
#endif
#ifdef XACT_DISPATCH_HAVE_AVX512F
constexpr bool built_avx512f = true;
#else
constexpr bool built_avx512f = false;
#endif

struct cpu_features {
    bool avx2_fma = false, avx512f = false;
};

cpu_features detect() noexcept {
    cpu_features c;
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    // libgcc / compiler-rt check the OS support (XCR0) as well as the CPUID bits.
    __builtin_cpu_init();
    c.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    c.avx512f = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                __builtin_cpu_supports("avx512vl");
#endif
    return c;
}

const table* table_of(std::string_view isa) noexcept {
    if (isa == "sse2") return xact_dispatch_impl::table_sse2();
#ifdef XACT_DISPATCH_HAVE_AVX2
    if (isa == "avx2") return xact_dispatch_impl::table_avx2();
#endif
#ifdef XACT_DISPATCH_HAVE_AVX512F
    if (isa == "avx512f") return xact_dispatch_impl::table_avx512f();
#endif
    return nullptr;
}

std::atomic<const table*> current{nullptr};

const table& get() {
    const table* t = current.load(std::memory_order_acquire);
    if (t != nullptr) return *t;
    const char* env = std::getenv("XACT_ISA");
    const cpu_features c = detect();
    const std::string_view isa = detail::choose_isa(env != nullptr ? env : "", c.avx2_fma,
                                                    c.avx512f, built_avx2, built_avx512f);
    t = table_of(isa);
    current.store(t, std::memory_order_release); // racing first calls store the same table
    return *t;
}

xact_dispatch_impl::desc desc_of(const activation& a) {
    const auto p = a.visit([](const auto& f) { return xact::detail::functor_params(f); });
    return {static_cast<int>(a.kind()), p[0], p[1]};
}

template <class T>
const xact_dispatch_impl::kernels<T>& kernels() {
    if constexpr (std::is_same_v<T, float>)
        return get().f32;
    else
        return get().f64;
}

template <class T>
xact_dispatch_impl::shape shape_of(const extents& e) {
    (void)e.size(); // overflow check on the calling side, as the header-only calls do
    return {e.outer, e.axis, e.inner};
}

} // namespace

namespace {
/// choose_isa, with `source` naming where the request came from in error messages
/// ("XACT_ISA=avx2", "set_isa(\"avx2\")").
std::string_view choose(std::string_view requested, const std::string& source, bool has_avx2_fma,
                        bool has_avx512f, bool built_avx2_, bool built_avx512f_) {
    const bool avx512f = has_avx512f && has_avx2_fma && built_avx512f_;
    const bool avx2 = has_avx2_fma && built_avx2_;
    if (requested.empty()) return avx512f ? "avx512f" : avx2 ? "avx2" : "sse2";
    if (requested == "sse2") return "sse2";
    if (requested == "avx2" || requested == "avx512f") {
        const bool built = requested == "avx2" ? built_avx2_ : built_avx512f_;
        const bool cpu = requested == "avx2" ? has_avx2_fma : has_avx512f && has_avx2_fma;
        if (built && cpu) return requested == "avx2" ? "avx2" : "avx512f";
        const std::string message =
            "xact::dispatch: " + source +
            (built ? " is not supported by this CPU"
                   : " was not compiled into this build of xact::dispatch") +
            " (available: " + std::string(avx512f ? "avx512f, " : "") + (avx2 ? "avx2, " : "") +
            "sse2)";
        xact::detail::invalid_argument(message.c_str());
    }
    const std::string message = "xact::dispatch: " + source +
                                " is not an instruction set name (valid: sse2, avx2, avx512f)";
    xact::detail::invalid_argument(message.c_str());
}
} // namespace

std::string_view detail::choose_isa(std::string_view requested, bool has_avx2_fma, bool has_avx512f,
                                    bool built_avx2_, bool built_avx512f_) {
    return choose(requested, "XACT_ISA=" + std::string(requested), has_avx2_fma, has_avx512f,
                  built_avx2_, built_avx512f_);
}

std::string_view active_isa() {
    return get().isa;
}

std::vector<std::string_view> supported_isas() {
    const cpu_features c = detect();
    std::vector<std::string_view> v;
    if (built_avx512f && c.avx512f && c.avx2_fma) v.push_back("avx512f");
    if (built_avx2 && c.avx2_fma) v.push_back("avx2");
    v.push_back("sse2");
    return v;
}

void set_isa(std::string_view isa) {
    // Unlike an unset XACT_ISA, an empty name here is a mistake, not "the best one".
    if (isa.empty())
        xact::detail::invalid_argument("xact::dispatch: set_isa(\"\"): the instruction set name "
                                       "is empty (valid: sse2, avx2, avx512f)");
    const cpu_features c = detect();
    const std::string_view chosen = choose(isa, "set_isa(\"" + std::string(isa) + "\")", c.avx2_fma,
                                           c.avx512f, built_avx2, built_avx512f);
    current.store(table_of(chosen), std::memory_order_release);
}

template <class T>
void forward(const activation& a, const T* x, T* y, std::size_t n) {
    kernels<T>().forward(desc_of(a), x, y, n);
}
template <class T>
void backward(const activation& a, const T* x, const T* dy, T* dx, std::size_t n) {
    kernels<T>().backward(desc_of(a), x, dy, dx, n);
}
template <class T>
void backward_from_output(const activation& a, const T* y, const T* dy, T* dx, std::size_t n) {
    if (!a.has_derivative_from_output())
        xact::detail::invalid_argument(
            "xact::dispatch::backward_from_output: this activation has no derivative from its "
            "output; use backward() with the input");
    kernels<T>().backward_from_output(desc_of(a), y, dy, dx, n);
}
template <class T>
void softmax(const T* x, T* y, extents e) {
    kernels<T>().softmax(x, y, shape_of<T>(e), false);
}
template <class T>
void log_softmax(const T* x, T* y, extents e) {
    kernels<T>().softmax(x, y, shape_of<T>(e), true);
}
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, extents e) {
    kernels<T>().softmax_backward(y, dy, dx, shape_of<T>(e), false);
}
template <class T>
void log_softmax_backward(const T* y, const T* dy, T* dx, extents e) {
    kernels<T>().softmax_backward(y, dy, dx, shape_of<T>(e), true);
}

#define XACT_DISPATCH_INSTANTIATE(T)                                                               \
    template void forward<T>(const activation&, const T*, T*, std::size_t);                        \
    template void backward<T>(const activation&, const T*, const T*, T*, std::size_t);             \
    template void backward_from_output<T>(const activation&, const T*, const T*, T*, std::size_t); \
    template void softmax<T>(const T*, T*, extents);                                               \
    template void log_softmax<T>(const T*, T*, extents);                                           \
    template void softmax_backward<T>(const T*, const T*, T*, extents);                            \
    template void log_softmax_backward<T>(const T*, const T*, T*, extents);
XACT_DISPATCH_INSTANTIATE(float)
XACT_DISPATCH_INSTANTIATE(double)
#undef XACT_DISPATCH_INSTANTIATE

} // namespace xact::dispatch
