// Test support shared by test_guard.cpp, test_fenv.cpp and test_concurrent.cpp:
//
//  * guard_region: memory fenced by inaccessible pages on both sides (POSIX mmap + mprotect),
//    so that a read or a write of even one byte outside an array placed against a fence
//    faults (SIGSEGV); fault_reporter prints which call faulted (crash_note) before the
//    test framework reports the signal.
//  * catalogue<T>(): every array call of xact as a uniform `kernel` that reads its inputs and
//    writes its outputs through kernel_args: each elementwise activation (forward, backward,
//    backward_from_output where it exists; in place; range forms), xact::activation's calls
//    (run-time kind), softmax, log_softmax and their backward passes (any axis), PReLU
//    forward and backward (one or per-channel slopes), every loss (value mean / sum, per
//    element or row, gradient mean / sum / none / per-element upstream; in place), and the
//    xact::parallel overloads. Elementwise kernels also give the scalar result per element.
#pragma once

#include <xact/xact.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <csignal>
#include <sys/mman.h>
#include <unistd.h>
#define XACT_TEST_GUARD_PAGES 1
#else
#define XACT_TEST_GUARD_PAGES 0
#endif

namespace xact_test {

// ---------------------------------------------------------------- guard pages

#if XACT_TEST_GUARD_PAGES

/// [inaccessible page][data: `bytes` rounded up to whole pages][inaccessible page]. An array
/// of `count` elements placed with tail(count, 0) ends at the last byte before the back
/// fence; head(0) starts at the first byte after the front fence.
class guard_region {
  public:
    explicit guard_region(std::size_t bytes) {
        const long ps = ::sysconf(_SC_PAGESIZE);
        page_ = ps > 0 ? static_cast<std::size_t>(ps) : 4096;
        data_ = (bytes + page_ - 1) / page_ * page_;
        if (data_ == 0) data_ = page_;
        total_ = data_ + 2 * page_;
#if defined(MAP_ANONYMOUS)
        const int anon = MAP_ANONYMOUS;
#else
        const int anon = MAP_ANON;
#endif
        void* p = ::mmap(nullptr, total_, PROT_NONE, MAP_PRIVATE | anon, -1, 0);
        if (p == MAP_FAILED) throw std::runtime_error("guard_region: mmap failed");
        base_ = static_cast<unsigned char*>(p);
        if (::mprotect(base_ + page_, data_, PROT_READ | PROT_WRITE) != 0) {
            ::munmap(base_, total_);
            throw std::runtime_error("guard_region: mprotect failed");
        }
    }
    ~guard_region() {
        ::munmap(base_, total_);
    }
    guard_region(const guard_region&) = delete;
    guard_region& operator=(const guard_region&) = delete;

    unsigned char* begin() const {
        return base_ + page_;
    }
    unsigned char* end() const {
        return base_ + page_ + data_;
    }
    std::size_t bytes() const {
        return data_;
    }

    /// The array starting `offset` elements after the front fence.
    template <class E>
    E* head(std::size_t offset) const {
        return reinterpret_cast<E*>(begin()) + offset;
    }
    /// The array of `count` elements ending `gap` elements before the back fence.
    template <class E>
    E* tail(std::size_t count, std::size_t gap) const {
        return reinterpret_cast<E*>(end()) - count - gap;
    }

  private:
    unsigned char* base_ = nullptr;
    std::size_t page_ = 0, data_ = 0, total_ = 0;
};

/// What the guard test is calling, printed by fault_reporter if the call faults.
struct crash_note_t {
    const char* kernel = "";
    const char* type = "";
    const char* placement = "";
    std::size_t outer = 0, axis = 0, inner = 0, offset = 0;
};
inline crash_note_t crash_note;

namespace detail {
inline struct sigaction previous_segv, previous_bus;

inline void write_text(const char* s) {
    const std::size_t n = std::strlen(s);
    if (::write(2, s, n) < 0) return;
}
inline void write_number(std::size_t v) {
    char buf[24];
    std::size_t i = sizeof buf;
    buf[--i] = '\0';
    do {
        buf[--i] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0 && i > 0);
    write_text(buf + i);
}

/// Prints crash_note (async-signal-safe calls only), then puts the previous handler back and
/// returns: the faulting access runs again and reaches that handler (the test framework's).
inline void on_fault(int sig) {
    write_text("\nxact guard test: memory fault in ");
    write_text(crash_note.kernel);
    write_text(" <");
    write_text(crash_note.type);
    write_text(">, extents {");
    write_number(crash_note.outer);
    write_text(", ");
    write_number(crash_note.axis);
    write_text(", ");
    write_number(crash_note.inner);
    write_text("}, ");
    write_text(crash_note.placement);
    write_text(" placement, offset ");
    write_number(crash_note.offset);
    write_text("\n");
    ::sigaction(sig, sig == SIGSEGV ? &previous_segv : &previous_bus, nullptr);
}
} // namespace detail

/// Installs the handler of on_fault for SIGSEGV and SIGBUS while it lives.
class fault_reporter {
  public:
    fault_reporter() {
        struct sigaction sa;
        std::memset(&sa, 0, sizeof sa);
        sa.sa_handler = &detail::on_fault;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGSEGV, &sa, &detail::previous_segv);
        ::sigaction(SIGBUS, &sa, &detail::previous_bus);
    }
    ~fault_reporter() {
        ::sigaction(SIGSEGV, &detail::previous_segv, nullptr);
        ::sigaction(SIGBUS, &detail::previous_bus, nullptr);
    }
    fault_reporter(const fault_reporter&) = delete;
    fault_reporter& operator=(const fault_reporter&) = delete;
};

#endif // XACT_TEST_GUARD_PAGES

// ---------------------------------------------------------------- the catalogue

/// A contiguous range over a pointer: the range overloads of xact accept it (data(), size()).
template <class E>
struct view {
    E* p;
    std::size_t n;
    E* data() const { return p; }
    std::size_t size() const { return n; }
};

/// The buffers of one call. Counts, for extents e (elementwise kernels: e = {1, n, 1}):
/// x and t: e.size(); g: e.size(), or rows = e.outer * e.inner (kernel::dout_rows);
/// alpha: kernel::alpha_count(e); cls: rows; out: kernel::out_count(e); out2:
/// kernel::out2_count(e).
template <class T>
struct kernel_args {
    const T* x = nullptr;              // activation input, logits, softmax output y
    const T* t = nullptr;              // dy, loss target, probability target
    const T* g = nullptr;              // per-element or per-row upstream gradient (dout)
    const T* alpha = nullptr;          // PReLU slopes
    const std::int64_t* cls = nullptr; // class indices, one per row
    T* out = nullptr;                  // y, dx, per-element or per-row loss, dlogits
    T* out2 = nullptr;                 // dalpha (zeroed by the kernel first), or the loss value
};

enum class out_kind { none, elements, rows };
enum class out2_kind { none, value, dalpha };
enum class alpha_kind { none, one, per_channel };

template <class T>
struct kernel {
    std::string name;
    bool along_axis = false; // takes any extents; otherwise elementwise over e.size()
    out_kind out = out_kind::elements;
    out2_kind out2 = out2_kind::none;
    alpha_kind alpha = alpha_kind::none;
    bool dout_rows = false;     // g has one value per row (cross-entropy)
    bool class_targets = false; // reads cls
    bool parallel = false;      // an xact::parallel overload
    std::function<void(const kernel_args<T>&, const xact::extents&)> run;
    /// Elementwise kernels: the scalar result for element i from x[i], t[i], g[i].
    std::function<T(T, T, T)> element;

    static std::size_t rows(const xact::extents& e) { return e.outer * e.inner; }
    std::size_t alpha_count(const xact::extents& e) const {
        return alpha == alpha_kind::none ? 0 : alpha == alpha_kind::one ? 1 : e.axis;
    }
    std::size_t g_count(const xact::extents& e) const { return dout_rows ? rows(e) : e.size(); }
    std::size_t cls_count(const xact::extents& e) const { return class_targets ? rows(e) : 0; }
    std::size_t out_count(const xact::extents& e) const {
        return out == out_kind::none ? 0 : out == out_kind::elements ? e.size() : rows(e);
    }
    std::size_t out2_count(const xact::extents& e) const {
        return out2 == out2_kind::none ? 0 : out2 == out2_kind::value ? 1 : alpha_count(e);
    }
};

/// The policy of the parallel kernels: two threads, chunks of 64 elements, so that arrays of
/// a few hundred elements are split.
inline xact::parallel two_threads() {
    xact::parallel p;
    p.threads = 2;
    p.min_chunk = 64;
    return p;
}

namespace detail {

template <class T>
using args_t = kernel_args<T>;

template <class T, class Run, class Element>
kernel<T> elementwise_kernel(std::string name, Run run, Element element, bool parallel = false) {
    kernel<T> k;
    k.name = std::move(name);
    k.parallel = parallel;
    k.run = [run](const args_t<T>& a, const xact::extents& e) { run(a, e.size()); };
    k.element = element;
    return k;
}

template <class F, class T, class = void>
struct has_from_output : std::false_type {};
template <class F, class T>
struct has_from_output<
    F, T, std::void_t<decltype(std::declval<const F&>().derivative_from_output(std::declval<T>()))>>
    : std::true_type {};

/// forward, backward and backward_from_output of functor f: pointer and range forms, in place.
template <class T, class F>
void add_functor(std::vector<kernel<T>>& ks, const F& f, const std::string& name) {
    using A = args_t<T>;
    const auto fwd = [f](T x, T, T) { return f(x); };
    const auto bwd = [f](T x, T dy, T) { return dy * f.derivative(x); };
    ks.push_back(elementwise_kernel<T>(
        name + " forward", [f](const A& a, std::size_t n) { xact::forward(f, a.x, a.out, n); },
        fwd));
    ks.push_back(elementwise_kernel<T>(
        name + " forward in place",
        [f](const A& a, std::size_t n) {
            std::copy_n(a.x, n, a.out);
            xact::forward(f, a.out, a.out, n);
        },
        fwd));
    ks.push_back(elementwise_kernel<T>(
        name + " forward (ranges)",
        [f](const A& a, std::size_t n) {
            xact::forward(f, view<const T>{a.x, n}, view<T>{a.out, n});
        },
        fwd));
    ks.push_back(elementwise_kernel<T>(
        name + " backward",
        [f](const A& a, std::size_t n) { xact::backward(f, a.x, a.t, a.out, n); }, bwd));
    ks.push_back(elementwise_kernel<T>(
        name + " backward in place (dx = x)",
        [f](const A& a, std::size_t n) {
            std::copy_n(a.x, n, a.out);
            xact::backward(f, a.out, a.t, a.out, n);
        },
        bwd));
    ks.push_back(elementwise_kernel<T>(
        name + " backward in place (dx = dy)",
        [f](const A& a, std::size_t n) {
            std::copy_n(a.t, n, a.out);
            xact::backward(f, a.x, a.out, a.out, n);
        },
        bwd));
    ks.push_back(elementwise_kernel<T>(
        name + " backward (ranges)",
        [f](const A& a, std::size_t n) {
            xact::backward(f, view<const T>{a.x, n}, view<const T>{a.t, n}, view<T>{a.out, n});
        },
        bwd));
    if constexpr (has_from_output<F, T>::value) {
        const auto bfo = [f](T y, T dy, T) { return dy * f.derivative_from_output(y); };
        ks.push_back(elementwise_kernel<T>(
            name + " backward_from_output",
            [f](const A& a, std::size_t n) { xact::backward_from_output(f, a.x, a.t, a.out, n); },
            bfo));
        ks.push_back(elementwise_kernel<T>(
            name + " backward_from_output in place (dx = y)",
            [f](const A& a, std::size_t n) {
                std::copy_n(a.x, n, a.out);
                xact::backward_from_output(f, a.out, a.t, a.out, n);
            },
            bfo));
        ks.push_back(elementwise_kernel<T>(
            name + " backward_from_output in place (dx = dy)",
            [f](const A& a, std::size_t n) {
                std::copy_n(a.t, n, a.out);
                xact::backward_from_output(f, a.x, a.out, a.out, n);
            },
            bfo));
        ks.push_back(elementwise_kernel<T>(
            name + " backward_from_output (ranges)",
            [f](const A& a, std::size_t n) {
                xact::backward_from_output(f, view<const T>{a.x, n}, view<const T>{a.t, n},
                                           view<T>{a.out, n});
            },
            bfo));
    }
}

/// The parallel overloads of forward, backward and backward_from_output for functor f.
template <class T, class F>
void add_functor_parallel(std::vector<kernel<T>>& ks, const F& f, const std::string& name) {
    using A = args_t<T>;
    ks.push_back(elementwise_kernel<T>(
        name + " forward (parallel)",
        [f](const A& a, std::size_t n) { xact::forward(two_threads(), f, a.x, a.out, n); },
        [f](T x, T, T) { return f(x); }, true));
    ks.push_back(elementwise_kernel<T>(
        name + " backward (parallel)",
        [f](const A& a, std::size_t n) { xact::backward(two_threads(), f, a.x, a.t, a.out, n); },
        [f](T x, T dy, T) { return dy * f.derivative(x); }, true));
    if constexpr (has_from_output<F, T>::value) {
        ks.push_back(elementwise_kernel<T>(
            name + " backward_from_output (parallel)",
            [f](const A& a, std::size_t n) {
                xact::backward_from_output(two_threads(), f, a.x, a.t, a.out, n);
            },
            [f](T y, T dy, T) { return dy * f.derivative_from_output(y); }, true));
    }
}

/// xact::activation's forward, backward and backward_from_output (the function chosen at run
/// time); the scalar reference is the held functor's.
template <class T>
void add_activation(std::vector<kernel<T>>& ks, const xact::activation& act, bool parallel) {
    using A = args_t<T>;
    const std::string name = "activation(\"" + act.name() + "\")";
    const std::string suffix = parallel ? " (parallel)" : "";
    const auto fwd = [act](T x, T, T) { return act.visit([x](const auto& f) { return f(x); }); };
    const auto bwd = [act](T x, T dy, T) {
        return act.visit([x, dy](const auto& f) { return dy * f.derivative(x); });
    };
    ks.push_back(elementwise_kernel<T>(
        name + ".forward" + suffix,
        [act, parallel](const A& a, std::size_t n) {
            if (parallel)
                act.forward(two_threads(), a.x, a.out, n);
            else
                act.forward(a.x, a.out, n);
        },
        fwd, parallel));
    ks.push_back(elementwise_kernel<T>(
        name + ".backward" + suffix,
        [act, parallel](const A& a, std::size_t n) {
            if (parallel)
                act.backward(two_threads(), a.x, a.t, a.out, n);
            else
                act.backward(a.x, a.t, a.out, n);
        },
        bwd, parallel));
    if (act.has_derivative_from_output()) {
        const auto bfo = [act](T y, T dy, T) {
            return act.visit([y, dy](const auto& f) -> T {
                using F = std::decay_t<decltype(f)>;
                if constexpr (has_from_output<F, T>::value) {
                    return dy * f.derivative_from_output(y);
                } else {
                    return T(0); // not reached: has_derivative_from_output() was checked
                }
            });
        };
        ks.push_back(elementwise_kernel<T>(
            name + ".backward_from_output" + suffix,
            [act, parallel](const A& a, std::size_t n) {
                if (parallel)
                    act.backward_from_output(two_threads(), a.x, a.t, a.out, n);
                else
                    act.backward_from_output(a.x, a.t, a.out, n);
            },
            bfo, parallel));
    }
}

template <class T, class Run>
kernel<T> axis_kernel(std::string name, out_kind out, out2_kind out2, Run run) {
    kernel<T> k;
    k.name = std::move(name);
    k.along_axis = true;
    k.out = out;
    k.out2 = out2;
    k.run = run;
    return k;
}

template <class T>
void add_softmax(std::vector<kernel<T>>& ks) {
    using A = args_t<T>;
    using E = xact::extents;
    const auto el = out_kind::elements;
    const auto no = out2_kind::none;
    for (const bool log : {false, true}) {
        const std::string fn = log ? "log_softmax" : "softmax";
        ks.push_back(axis_kernel<T>(fn, el, no, [log](const A& a, const E& e) {
            if (log)
                xact::log_softmax(a.x, a.out, e);
            else
                xact::softmax(a.x, a.out, e);
        }));
        ks.push_back(axis_kernel<T>(fn + " in place", el, no, [log](const A& a, const E& e) {
            std::copy_n(a.x, e.size(), a.out);
            if (log)
                xact::log_softmax(a.out, a.out, e);
            else
                xact::softmax(a.out, a.out, e);
        }));
        ks.push_back(axis_kernel<T>(fn + " (ranges)", el, no, [log](const A& a, const E& e) {
            const view<const T> x{a.x, e.size()};
            if (log)
                xact::log_softmax(x, view<T>{a.out, e.size()}, e);
            else
                xact::softmax(x, view<T>{a.out, e.size()}, e);
        }));
        ks.push_back(axis_kernel<T>(fn + "_backward", el, no, [log](const A& a, const E& e) {
            if (log)
                xact::log_softmax_backward(a.x, a.t, a.out, e);
            else
                xact::softmax_backward(a.x, a.t, a.out, e);
        }));
        ks.push_back(axis_kernel<T>(fn + "_backward in place (dx = y)", el, no,
                                    [log](const A& a, const E& e) {
                                        std::copy_n(a.x, e.size(), a.out);
                                        if (log)
                                            xact::log_softmax_backward(a.out, a.t, a.out, e);
                                        else
                                            xact::softmax_backward(a.out, a.t, a.out, e);
                                    }));
        ks.push_back(axis_kernel<T>(fn + "_backward in place (dx = dy)", el, no,
                                    [log](const A& a, const E& e) {
                                        std::copy_n(a.t, e.size(), a.out);
                                        if (log)
                                            xact::log_softmax_backward(a.x, a.out, a.out, e);
                                        else
                                            xact::softmax_backward(a.x, a.out, a.out, e);
                                    }));
        ks.push_back(
            axis_kernel<T>(fn + "_backward (ranges)", el, no, [log](const A& a, const E& e) {
                const view<const T> y{a.x, e.size()}, dy{a.t, e.size()};
                if (log)
                    xact::log_softmax_backward(y, dy, view<T>{a.out, e.size()}, e);
                else
                    xact::softmax_backward(y, dy, view<T>{a.out, e.size()}, e);
            }));
        kernel<T> p = axis_kernel<T>(fn + " (parallel)", el, no, [log](const A& a, const E& e) {
            if (log)
                xact::log_softmax(two_threads(), a.x, a.out, e);
            else
                xact::softmax(two_threads(), a.x, a.out, e);
        });
        p.parallel = true;
        ks.push_back(p);
        p = axis_kernel<T>(fn + "_backward (parallel)", el, no, [log](const A& a, const E& e) {
            if (log)
                xact::log_softmax_backward(two_threads(), a.x, a.t, a.out, e);
            else
                xact::softmax_backward(two_threads(), a.x, a.t, a.out, e);
        });
        p.parallel = true;
        ks.push_back(p);
    }
}

template <class T>
void add_prelu(std::vector<kernel<T>>& ks) {
    using A = args_t<T>;
    using E = xact::extents;
    const auto el = out_kind::elements;
    for (const alpha_kind ak : {alpha_kind::one, alpha_kind::per_channel}) {
        const std::string slopes = ak == alpha_kind::one ? " (one slope)" : " (per channel)";
        const auto count = [ak](const E& e) { return ak == alpha_kind::one ? 1 : e.axis; };
        std::vector<kernel<T>> more;
        more.push_back(axis_kernel<T>("prelu_forward" + slopes, el, out2_kind::none,
                                      [count](const A& a, const E& e) {
                                          xact::prelu_forward(a.x, a.alpha, count(e), a.out, e);
                                      }));
        more.push_back(axis_kernel<T>("prelu_forward in place" + slopes, el, out2_kind::none,
                                      [count](const A& a, const E& e) {
                                          std::copy_n(a.x, e.size(), a.out);
                                          xact::prelu_forward(a.out, a.alpha, count(e), a.out, e);
                                      }));
        more.push_back(axis_kernel<T>(
            "prelu_backward" + slopes, el, out2_kind::dalpha, [count](const A& a, const E& e) {
                std::fill_n(a.out2, count(e), T(0));
                xact::prelu_backward(a.x, a.alpha, count(e), a.t, a.out, a.out2, e);
            }));
        more.push_back(axis_kernel<T>("prelu_backward in place (dx = x)" + slopes, el,
                                      out2_kind::dalpha, [count](const A& a, const E& e) {
                                          std::fill_n(a.out2, count(e), T(0));
                                          std::copy_n(a.x, e.size(), a.out);
                                          xact::prelu_backward(a.out, a.alpha, count(e), a.t, a.out,
                                                               a.out2, e);
                                      }));
        more.push_back(axis_kernel<T>("prelu_backward in place (dx = dy)" + slopes, el,
                                      out2_kind::dalpha, [count](const A& a, const E& e) {
                                          std::fill_n(a.out2, count(e), T(0));
                                          std::copy_n(a.t, e.size(), a.out);
                                          xact::prelu_backward(a.x, a.alpha, count(e), a.out, a.out,
                                                               a.out2, e);
                                      }));
        kernel<T> p =
            axis_kernel<T>("prelu_forward (parallel)" + slopes, el, out2_kind::none,
                           [count](const A& a, const E& e) {
                               xact::prelu_forward(two_threads(), a.x, a.alpha, count(e), a.out, e);
                           });
        p.parallel = true;
        more.push_back(p);
        p = axis_kernel<T>("prelu_backward (parallel)" + slopes, el, out2_kind::dalpha,
                           [count](const A& a, const E& e) {
                               std::fill_n(a.out2, count(e), T(0));
                               xact::prelu_backward(two_threads(), a.x, a.alpha, count(e), a.t,
                                                    a.out, a.out2, e);
                           });
        p.parallel = true;
        more.push_back(p);
        for (auto& k : more) {
            k.alpha = ak;
            ks.push_back(std::move(k));
        }
    }
}

/// The calls of one elementwise loss (mse_loss, mae_loss, binary_cross_entropy_with_logits).
template <class T, class Value, class None, class Backward, class Each>
void add_loss(std::vector<kernel<T>>& ks, const std::string& fn, Value value, None none,
              Backward backward, Each each) {
    using A = args_t<T>;
    using R = xact::reduction;
    const auto add = [&ks](std::string name, out_kind out, out2_kind out2, auto run,
                           bool dout = false) {
        kernel<T> k;
        k.name = std::move(name);
        k.out = out;
        k.out2 = out2;
        k.run = [run](const A& a, const xact::extents& e) { run(a, e.size()); };
        (void)dout;
        ks.push_back(std::move(k));
    };
    const auto el = out_kind::elements;
    add(fn + " mean", out_kind::none, out2_kind::value,
        [value](const A& a, std::size_t n) { a.out2[0] = value(a.x, a.t, n, R::mean); });
    add(fn + " sum", out_kind::none, out2_kind::value,
        [value](const A& a, std::size_t n) { a.out2[0] = value(a.x, a.t, n, R::sum); });
    add(fn + " none", el, out2_kind::none,
        [none](const A& a, std::size_t n) { none(a.x, a.t, a.out, n); });
    add(fn + " none in place (out = x)", el, out2_kind::none, [none](const A& a, std::size_t n) {
        std::copy_n(a.x, n, a.out);
        none(a.out, a.t, a.out, n);
    });
    add(fn + " none in place (out = target)", el, out2_kind::none,
        [none](const A& a, std::size_t n) {
            std::copy_n(a.t, n, a.out);
            none(a.x, a.out, a.out, n);
        });
    for (const R r : {R::mean, R::sum, R::none}) {
        const std::string rn = r == R::mean ? "mean" : r == R::sum ? "sum" : "none";
        add(fn + "_backward " + rn, el, out2_kind::none,
            [backward, r](const A& a, std::size_t n) { backward(a.x, a.t, a.out, n, r, T(0.75)); });
    }
    add(fn + "_backward in place (dx = x)", el, out2_kind::none,
        [backward](const A& a, std::size_t n) {
            std::copy_n(a.x, n, a.out);
            backward(a.out, a.t, a.out, n, R::mean, T(1));
        });
    add(fn + "_backward in place (dx = target)", el, out2_kind::none,
        [backward](const A& a, std::size_t n) {
            std::copy_n(a.t, n, a.out);
            backward(a.x, a.out, a.out, n, R::sum, T(1));
        });
    add(fn + "_backward (dout)", el, out2_kind::none,
        [each](const A& a, std::size_t n) { each(a.x, a.t, a.g, a.out, n); });
    add(fn + "_backward in place (dx = dout)", el, out2_kind::none,
        [each](const A& a, std::size_t n) {
            std::copy_n(a.g, n, a.out);
            each(a.x, a.t, a.out, a.out, n);
        });
}

template <class T>
void add_losses(std::vector<kernel<T>>& ks) {
    using R = xact::reduction;
    add_loss<T>(
        ks, "mse_loss",
        [](const T* x, const T* t, std::size_t n, R r) { return xact::mse_loss(x, t, n, r); },
        [](const T* x, const T* t, T* o, std::size_t n) { xact::mse_loss(x, t, o, n); },
        [](const T* x, const T* t, T* d, std::size_t n, R r, T s) {
            xact::mse_loss_backward(x, t, d, n, r, s);
        },
        [](const T* x, const T* t, const T* g, T* d, std::size_t n) {
            xact::mse_loss_backward(x, t, g, d, n);
        });
    add_loss<T>(
        ks, "mae_loss",
        [](const T* x, const T* t, std::size_t n, R r) { return xact::mae_loss(x, t, n, r); },
        [](const T* x, const T* t, T* o, std::size_t n) { xact::mae_loss(x, t, o, n); },
        [](const T* x, const T* t, T* d, std::size_t n, R r, T s) {
            xact::mae_loss_backward(x, t, d, n, r, s);
        },
        [](const T* x, const T* t, const T* g, T* d, std::size_t n) {
            xact::mae_loss_backward(x, t, g, d, n);
        });
    add_loss<T>(
        ks, "binary_cross_entropy_with_logits",
        [](const T* x, const T* t, std::size_t n, R r) {
            return xact::binary_cross_entropy_with_logits(x, t, n, r);
        },
        [](const T* x, const T* t, T* o, std::size_t n) {
            xact::binary_cross_entropy_with_logits(x, t, o, n);
        },
        [](const T* x, const T* t, T* d, std::size_t n, R r, T s) {
            xact::binary_cross_entropy_with_logits_backward(x, t, d, n, r, s);
        },
        [](const T* x, const T* t, const T* g, T* d, std::size_t n) {
            xact::binary_cross_entropy_with_logits_backward(x, t, g, d, n);
        });
}

template <class T>
void add_cross_entropy(std::vector<kernel<T>>& ks) {
    using A = args_t<T>;
    using E = xact::extents;
    using R = xact::reduction;
    xact::cross_entropy_options smooth;
    smooth.label_smoothing = 0.1;
    xact::cross_entropy_options sum;
    sum.red = R::sum;
    xact::cross_entropy_options none;
    none.red = R::none;
    const std::pair<const char*, xact::cross_entropy_options> opts[] = {
        {"mean", xact::cross_entropy_options{}}, {"sum", sum}, {"smoothing 0.1", smooth}};
    for (const bool prob : {false, true}) {
        const std::string fn = prob ? "cross_entropy (probabilities)" : "cross_entropy (classes)";
        std::vector<kernel<T>> more;
        // The target: t (probabilities, e.size() values) or cls (class indices, one per row).
        for (const auto& [on, o] : opts) {
            more.push_back(axis_kernel<T>(fn + " " + on, out_kind::none, out2_kind::value,
                                          [prob, o = o](const A& a, const E& e) {
                                              a.out2[0] =
                                                  prob ? xact::cross_entropy(a.x, a.t, e, o)
                                                       : xact::cross_entropy(a.x, a.cls, e, o);
                                          }));
            more.push_back(axis_kernel<T>(
                fn + "_backward " + on, out_kind::elements, out2_kind::none,
                [prob, o = o](const A& a, const E& e) {
                    if (prob)
                        xact::cross_entropy_backward(a.x, a.t, a.out, e, o, T(0.5));
                    else
                        xact::cross_entropy_backward(a.x, a.cls, a.out, e, o, T(0.5));
                }));
        }
        more.push_back(axis_kernel<T>(fn + " none", out_kind::rows, out2_kind::none,
                                      [prob](const A& a, const E& e) {
                                          if (prob)
                                              xact::cross_entropy(a.x, a.t, a.out, e);
                                          else
                                              xact::cross_entropy(a.x, a.cls, a.out, e);
                                      }));
        more.push_back(
            axis_kernel<T>(fn + "_backward none", out_kind::elements, out2_kind::none,
                           [prob, none](const A& a, const E& e) {
                               if (prob)
                                   xact::cross_entropy_backward(a.x, a.t, a.out, e, none);
                               else
                                   xact::cross_entropy_backward(a.x, a.cls, a.out, e, none);
                           }));
        kernel<T> k =
            axis_kernel<T>(fn + "_backward (dout)", out_kind::elements, out2_kind::none,
                           [prob](const A& a, const E& e) {
                               if (prob)
                                   xact::cross_entropy_backward(a.x, a.t, a.g, a.out, e);
                               else
                                   xact::cross_entropy_backward(a.x, a.cls, a.g, a.out, e);
                           });
        k.dout_rows = true;
        more.push_back(k);
        more.push_back(axis_kernel<T>(fn + "_backward in place (dlogits = logits)",
                                      out_kind::elements, out2_kind::none,
                                      [prob](const A& a, const E& e) {
                                          std::copy_n(a.x, e.size(), a.out);
                                          if (prob)
                                              xact::cross_entropy_backward(a.out, a.t, a.out, e);
                                          else
                                              xact::cross_entropy_backward(a.out, a.cls, a.out, e);
                                      }));
        if (prob)
            more.push_back(axis_kernel<T>(fn + "_backward in place (dlogits = target)",
                                          out_kind::elements, out2_kind::none,
                                          [](const A& a, const E& e) {
                                              std::copy_n(a.t, e.size(), a.out);
                                              xact::cross_entropy_backward(a.x, a.out, a.out, e);
                                          }));
        for (auto& m : more) {
            m.class_targets = !prob;
            ks.push_back(std::move(m));
        }
    }
}

} // namespace detail

/// Input values of a call: x, t, g and alpha hold at least the counts the kernels read
/// (see kernel_args).
template <class T>
struct kernel_inputs {
    std::vector<T> x, t, g, alpha;
};

/// Outputs of a call: out, then out2 (see kernel_args).
template <class T>
struct kernel_result {
    std::vector<T> out, out2;
};

/// Class indices for the rows of e: valid ones, and ignore_index (-100) for every fifth row
/// and where there are no classes.
inline std::vector<std::int64_t> class_targets(const xact::extents& e) {
    std::vector<std::int64_t> c(e.outer * e.inner);
    for (std::size_t r = 0; r < c.size(); ++r)
        c[r] = (e.axis == 0 || r % 5 == 3) ? std::int64_t(-100)
                                           : static_cast<std::int64_t>((r * 7 + 3) % e.axis);
    return c;
}

/// Runs k on extents e with heap buffers of exactly the sizes it reads and writes (copies of
/// the first elements of `in`; class targets from class_targets(e)); outputs start as `fill`.
template <class T>
kernel_result<T> run_kernel(const kernel<T>& k, const xact::extents& e, const kernel_inputs<T>& in,
                            T fill) {
    const auto first = [](const std::vector<T>& v, std::size_t n) {
        if (v.size() < n) throw std::logic_error("run_kernel: too few input values");
        return std::vector<T>(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
    };
    const std::size_t n = e.size();
    const std::vector<T> x = first(in.x, n), t = first(in.t, n), g = first(in.g, k.g_count(e)),
                         alpha = first(in.alpha, k.alpha_count(e));
    const std::vector<std::int64_t> cls =
        k.class_targets ? class_targets(e) : std::vector<std::int64_t>{};
    kernel_result<T> r{std::vector<T>(k.out_count(e), fill), std::vector<T>(k.out2_count(e), fill)};
    kernel_args<T> a;
    a.x = x.data();
    a.t = t.data();
    a.g = g.data();
    a.alpha = alpha.data();
    a.cls = cls.data();
    a.out = r.out.data();
    a.out2 = r.out2.data();
    k.run(a, e);
    return r;
}

/// Every elementwise functor of xact, with default and with other parameters.
inline std::vector<xact::activation> all_activations() {
    std::vector<xact::activation> acts;
    for (int k = 0; k <= static_cast<int>(xact::activation_kind::log_sigmoid); ++k)
        acts.emplace_back(static_cast<xact::activation_kind>(k));
    for (const char* text :
         {"leaky_relu(alpha=0.2)", "hardtanh(lo=-2, hi=3.5)", "swish(beta=1.5)", "elu(alpha=0.5)",
          "celu(alpha=0.5)", "gelu(approximate=tanh)", "softplus(beta=2)"})
        acts.push_back(xact::activation::parse(text));
    return acts;
}

/// Every array call of xact for element type T (see the top of this file). With
/// `with_parallel` false the xact::parallel overloads are left out.
template <class T>
std::vector<kernel<T>> catalogue(bool with_parallel = true) {
    std::vector<kernel<T>> ks;
    for (const xact::activation& act : all_activations())
        act.visit([&ks, &act](const auto& f) { detail::add_functor<T>(ks, f, act.name()); });
    for (const xact::activation& act : all_activations()) detail::add_activation<T>(ks, act, false);
    detail::add_softmax<T>(ks);
    detail::add_prelu<T>(ks);
    detail::add_losses<T>(ks);
    detail::add_cross_entropy<T>(ks);
    if (with_parallel) {
        for (const char* text : {"identity", "relu", "leaky_relu(alpha=0.2)", "sigmoid", "tanh",
                                 "gelu", "elu", "mish"}) {
            const xact::activation act = xact::activation::parse(text);
            act.visit(
                [&ks, &act](const auto& f) { detail::add_functor_parallel<T>(ks, f, act.name()); });
            detail::add_activation<T>(ks, act, true);
        }
    }
    std::vector<kernel<T>> out;
    for (auto& k : ks)
        if (with_parallel || !k.parallel) out.push_back(std::move(k));
    return out;
}

// The catalogue instantiates every family of xact, which makes it the costliest code of the
// suite to compile: tests/catalogue.cpp instantiates it once per test program, and every
// other file links to that copy.
#ifndef XACT_TEST_CATALOGUE_DEFINE
extern template std::vector<kernel<float>> catalogue<float>(bool);
extern template std::vector<kernel<double>> catalogue<double>(bool);
#endif

} // namespace xact_test
