// xact — activation: any elementwise functor of xact as one value, chosen at run time by kind
// or by name.
//
//   xact::activation a = xact::leaky_relu{0.2};            // implicit from every functor
//   auto b = xact::activation::parse("gelu(approximate=tanh)");
//   b.forward(x, y, n);                                    // one dispatch per array call
//
// Text form: a name, optionally followed by parameters in parentheses, named or positional
// (in the order of the table below), separated by commas; spaces are ignored:
//   "relu", "leaky_relu(alpha=0.2)", "leaky_relu(0.2)", "hardtanh(lo=-2, hi=2)",
//   "swish(beta=1.5)", "gelu(approximate=tanh)", "softplus(beta=2)", "celu(alpha=0.5)".
// Names (lower case) and parameters (defaults): identity (also "linear"), relu, relu6,
// leaky_relu(alpha=0.01),
// hardtanh(lo=-1, hi=1), hard_sigmoid, hard_swish, sigmoid, tanh, swish(beta=1) (also "silu",
// which takes no parameter), softsign, elu(alpha=1), selu, celu(alpha=1),
// gelu(approximate=none|tanh), softplus(beta=1), mish, log_sigmoid.
// name() prints the shortest text that parse() maps back to the same activation: parameters
// at their default are left out, doubles are printed with the fewest digits that round-trip
// (swish with beta = 1 prints as "silu").
//
// Errors (std::invalid_argument, message naming the problem): an unknown name (the message
// lists the valid ones, and suggests the lower-case name for "ReLU"), an unknown, repeated or
// malformed parameter, a number beyond double's range ("1e-400", "1e400"), a value out of range
// (non-finite, celu alpha = 0, softplus beta <= 0, hardtanh lo > hi). The constructors from
// functors apply the same parameter checks. Parsing and printing may allocate; the array calls
// never do.
#pragma once

#include "algorithm.hpp"
#include "functions/elu.hpp"
#include "functions/gelu.hpp"
#include "functions/piecewise.hpp"
#include "functions/sigmoid.hpp"
#include "functions/softplus.hpp"
#include "parallel.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

XACT_DIAGNOSTIC_PUSH

namespace xact {

/// Every elementwise activation of xact, in the order of activation_names().
enum class activation_kind {
    identity,
    relu,
    relu6,
    leaky_relu,
    hardtanh,
    hard_sigmoid,
    hard_swish,
    sigmoid,
    tanh,
    swish,
    softsign,
    elu,
    selu,
    celu,
    gelu,
    softplus,
    mish,
    log_sigmoid,
};

namespace detail {

using activation_variant =
    std::variant<identity, relu, relu6, leaky_relu, hardtanh, hard_sigmoid, hard_swish, sigmoid,
                 xact::tanh, swish, softsign, elu, selu, celu, gelu, softplus, mish, log_sigmoid>;

/// One activation's entry of the name table: its name and up to two parameter names.
struct activation_info {
    std::string_view name;
    std::array<std::string_view, 2> params;
};

inline constexpr std::array<activation_info, 18> activation_table = {{
    {"identity", {}},
    {"relu", {}},
    {"relu6", {}},
    {"leaky_relu", {"alpha", {}}},
    {"hardtanh", {"lo", "hi"}},
    {"hard_sigmoid", {}},
    {"hard_swish", {}},
    {"sigmoid", {}},
    {"tanh", {}},
    {"swish", {"beta", {}}},
    {"softsign", {}},
    {"elu", {"alpha", {}}},
    {"selu", {}},
    {"celu", {"alpha", {}}},
    {"gelu", {"approximate", {}}},
    {"softplus", {"beta", {}}},
    {"mish", {}},
    {"log_sigmoid", {}},
}};

/// The parameters of functor f as doubles, in table order (gelu: approximate as 0 or 1).
template <class F>
std::array<double, 2> functor_params(const F& f) noexcept {
    if constexpr (std::is_same_v<F, leaky_relu> || std::is_same_v<F, elu> ||
                  std::is_same_v<F, celu>)
        return {f.alpha, 0};
    else if constexpr (std::is_same_v<F, hardtanh>)
        return {f.lo, f.hi};
    else if constexpr (std::is_same_v<F, swish> || std::is_same_v<F, softplus>)
        return {f.beta, 0};
    else if constexpr (std::is_same_v<F, gelu>)
        return {f.approximate ? 1.0 : 0.0, 0};
    else
        return {0, 0};
}

/// fn(functor held by v), without std::visit's bad_variant_access path: the functors are
/// trivially copyable, so the variant is never valueless.
template <class R, class Fn, std::size_t... I>
R visit_nothrow(const activation_variant& v, Fn fn, std::index_sequence<I...>) noexcept {
    static_assert(std::is_trivially_copyable_v<activation_variant>);
    R r{};
    ((v.index() == I ? static_cast<void>(r = fn(*std::get_if<I>(&v))) : void()), ...);
    return r;
}
template <class R, class Fn>
R visit_nothrow(const activation_variant& v, Fn fn) noexcept {
    return visit_nothrow<R>(v, fn,
                            std::make_index_sequence<std::variant_size_v<activation_variant>>{});
}

/// fn(functor held by v) for the array calls. std::visit calls through a table of function
/// pointers and hands the captures x, y, n over on the stack: 5 ns more per call than the
/// direct call, 7 % of relu at n = 4096 (measured). This compare chain lets each branch inline,
/// with the arguments in registers (within 1.5 %). fn may throw (bad arguments).
template <class Fn, std::size_t... I>
XACT_INLINE void visit_call(const activation_variant& v, const Fn& fn, std::index_sequence<I...>) {
    static_cast<void>(((v.index() == I ? (fn(*std::get_if<I>(&v)), true) : false) || ...));
}
template <class Fn>
XACT_INLINE void visit_call(const activation_variant& v, const Fn& fn) {
    visit_call(v, fn, std::make_index_sequence<std::variant_size_v<activation_variant>>{});
}

/// The parameters of an activation as doubles, in table order.
inline std::array<double, 2> activation_params(const activation_variant& v) noexcept {
    return visit_nothrow<std::array<double, 2>>(v, [](const auto& f) { return functor_params(f); });
}

/// The activation of `kind` with parameters p (table order), not yet checked.
inline activation_variant make_activation(activation_kind kind, const std::array<double, 2>& p) {
    switch (kind) {
    case activation_kind::identity:
        return identity{};
    case activation_kind::relu:
        return relu{};
    case activation_kind::relu6:
        return relu6{};
    case activation_kind::leaky_relu:
        return leaky_relu{p[0]};
    case activation_kind::hardtanh:
        return hardtanh{p[0], p[1]};
    case activation_kind::hard_sigmoid:
        return hard_sigmoid{};
    case activation_kind::hard_swish:
        return hard_swish{};
    case activation_kind::sigmoid:
        return sigmoid{};
    case activation_kind::tanh:
        return xact::tanh{};
    case activation_kind::swish:
        return swish{p[0]};
    case activation_kind::softsign:
        return softsign{};
    case activation_kind::elu:
        return elu{p[0]};
    case activation_kind::selu:
        return selu{};
    case activation_kind::celu:
        return celu{p[0]};
    case activation_kind::gelu:
        return gelu{p[0] != 0};
    case activation_kind::softplus:
        return softplus{p[0]};
    case activation_kind::mish:
        return mish{};
    case activation_kind::log_sigmoid:
        return log_sigmoid{};
    }
    invalid_argument("xact::activation: unknown activation_kind");
}

/// Default parameters of each kind (table order).
inline std::array<double, 2> activation_defaults(activation_kind kind) noexcept {
    switch (kind) {
    case activation_kind::leaky_relu:
        return {0.01, 0};
    case activation_kind::hardtanh:
        return {-1.0, 1.0};
    case activation_kind::swish:
    case activation_kind::elu:
    case activation_kind::celu:
    case activation_kind::softplus:
        return {1.0, 0};
    default:
        return {0, 0};
    }
}

/// Shortest decimal text of v that reads back as v.
inline std::string shortest(double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

inline std::string valid_names_list() {
    std::string s;
    for (const auto& info : activation_table) {
        if (!s.empty()) s += ", ";
        s += info.name;
        if (info.name == "identity") s += ", linear";
        if (info.name == "swish") s += ", silu";
    }
    return s;
}

/// Whether the decimal text t (already read by from_chars as out of double's range) is too
/// small rather than too large: the decimal order of its first nonzero digit, plus the
/// exponent, is negative ("1e-400", "0.000…1", but not "1000…0e-10").
inline bool underflows(std::string_view t) {
    const std::size_t e = t.find_first_of("eE");
    long exponent = 0;
    if (e != std::string_view::npos) {
        std::size_t k = e + 1;
        const bool negative = k < t.size() && t[k] == '-';
        if (k < t.size() && (t[k] == '-' || t[k] == '+')) ++k;
        for (; k < t.size() && t[k] >= '0' && t[k] <= '9'; ++k)
            exponent = std::min(exponent * 10 + (t[k] - '0'), 100000000L);
        if (negative) exponent = -exponent;
    }
    const std::string_view m = t.substr(0, e);
    const std::size_t point = std::min(m.find('.'), m.size());
    for (std::size_t k = 0; k < m.size(); ++k)
        if (m[k] >= '1' && m[k] <= '9') {
            const long order =
                k < point ? static_cast<long>(point - k) - 1 : -static_cast<long>(k - point);
            return order + exponent < 0;
        }
    return true;
}

[[noreturn]] inline void parse_error(std::string_view text, const std::string& what) {
    const std::string message = "xact::activation::parse: " + what + " in \"" + std::string(text) +
                                "\"; valid names: " + valid_names_list();
    invalid_argument(message.c_str());
}

inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

} // namespace detail

/// Any elementwise functor of xact, chosen at run time. A small value type (copyable,
/// comparable); each array call visits the functor once, then runs its kernel.
class activation {
  public:
    /// relu.
    activation() = default;

    /// From any elementwise functor (implicit); its parameters are checked.
    template <class F, std::enable_if_t<std::is_constructible_v<detail::activation_variant, F> &&
                                            !std::is_same_v<std::decay_t<F>, activation>,
                                        int> = 0>
    activation(const F& f) : v_(f) { // NOLINT(google-explicit-constructor): by design
        detail::check_functor(f);
    }

    /// The activation of `kind` with its default parameters.
    explicit activation(activation_kind kind)
        : v_(detail::make_activation(kind, detail::activation_defaults(kind))) {}

    /// Parses text such as "leaky_relu(alpha=0.2)" (grammar at the top of this header);
    /// std::invalid_argument naming the problem and listing the valid names otherwise.
    static activation parse(std::string_view text);

    /// The shortest text that parse() maps back to this activation.
    std::string name() const;

    /// Which activation this is.
    activation_kind kind() const noexcept { return static_cast<activation_kind>(v_.index()); }

    /// True when backward_from_output is available (identity, relu, relu6, leaky_relu,
    /// hardtanh, sigmoid, tanh, elu).
    bool has_derivative_from_output() const noexcept {
        return detail::visit_nothrow<bool>(v_, [](const auto& f) {
            using F = std::decay_t<decltype(f)>;
            return detail::has_derivative_from_output<F, float>::value;
        });
    }

    /// Calls fn(functor) with the functor held (of its own type) and returns its result.
    template <class Fn>
    decltype(auto) visit(Fn&& fn) const {
        return std::visit(std::forward<Fn>(fn), v_);
    }

    /// y[i] = f(x[i]) for i < n; as xact::forward.
    template <class T>
    void forward(const T* x, T* y, std::size_t n) const {
        detail::visit_call(v_, [&](const auto& f) { xact::forward(f, x, y, n); });
    }
    /// dx[i] = dy[i] f'(x[i]) for i < n; as xact::backward.
    template <class T>
    void backward(const T* x, const T* dy, T* dx, std::size_t n) const {
        detail::visit_call(v_, [&](const auto& f) { xact::backward(f, x, dy, dx, n); });
    }
    /// dx[i] = dy[i] f'(x[i]) from y = f(x); as xact::backward_from_output. Throws
    /// std::invalid_argument when the function has no derivative from its output.
    template <class T>
    void backward_from_output(const T* y, const T* dy, T* dx, std::size_t n) const {
        detail::visit_call(v_, [&](const auto& f) {
            using F = std::decay_t<decltype(f)>;
            if constexpr (detail::has_derivative_from_output<F, T>::value) {
                xact::backward_from_output(f, y, dy, dx, n);
            } else {
                detail::invalid_argument(
                    "xact::activation::backward_from_output: this activation has no derivative "
                    "from its output; use backward() with the input");
            }
        });
    }

    /// The three array calls spread over threads as p says (xact/parallel.hpp); the same bits.
    template <class T>
    void forward(const parallel& p, const T* x, T* y, std::size_t n) const {
        detail::visit_call(v_, [&](const auto& f) { xact::forward(p, f, x, y, n); });
    }
    template <class T>
    void backward(const parallel& p, const T* x, const T* dy, T* dx, std::size_t n) const {
        detail::visit_call(v_, [&](const auto& f) { xact::backward(p, f, x, dy, dx, n); });
    }
    template <class T>
    void backward_from_output(const parallel& p, const T* y, const T* dy, T* dx,
                              std::size_t n) const {
        detail::visit_call(v_, [&](const auto& f) {
            using F = std::decay_t<decltype(f)>;
            if constexpr (detail::has_derivative_from_output<F, T>::value) {
                xact::backward_from_output(p, f, y, dy, dx, n);
            } else {
                detail::invalid_argument(
                    "xact::activation::backward_from_output: this activation has no derivative "
                    "from its output; use backward() with the input");
            }
        });
    }

    /// Range forms: contiguous ranges of equal size.
    template <
        class X, class Y,
        std::enable_if_t<detail::is_contiguous_range_v<X> && detail::is_output_range_v<Y>, int> = 0>
    void forward(const X& x, Y&& y) const {
        detail::check_same_size(x, y, "xact::activation::forward: y.size() != x.size()");
        forward(std::data(x), std::data(y), std::size(x));
    }
    template <
        class X, class DY, class DX,
        std::enable_if_t<detail::is_contiguous_range_v<X> && detail::is_contiguous_range_v<DY> &&
                             detail::is_output_range_v<DX>,
                         int> = 0>
    void backward(const X& x, const DY& dy, DX&& dx) const {
        detail::check_same_size(x, dy, "xact::activation::backward: dy.size() != x.size()");
        detail::check_same_size(x, dx, "xact::activation::backward: dx.size() != x.size()");
        backward(std::data(x), std::data(dy), std::data(dx), std::size(x));
    }
    template <
        class Y, class DY, class DX,
        std::enable_if_t<detail::is_contiguous_range_v<Y> && detail::is_contiguous_range_v<DY> &&
                             detail::is_output_range_v<DX>,
                         int> = 0>
    void backward_from_output(const Y& y, const DY& dy, DX&& dx) const {
        detail::check_same_size(y, dy,
                                "xact::activation::backward_from_output: dy.size() != y.size()");
        detail::check_same_size(y, dx,
                                "xact::activation::backward_from_output: dx.size() != y.size()");
        backward_from_output(std::data(y), std::data(dy), std::data(dx), std::size(y));
    }

    /// Same kind and bitwise the same parameters: alpha = -0 and +0 differ, as their results
    /// do (leaky_relu(-1) is -0 and +0).
    friend bool operator==(const activation& a, const activation& b) noexcept {
        const auto pa = detail::activation_params(a.v_), pb = detail::activation_params(b.v_);
        for (std::size_t i = 0; i < pa.size(); ++i)
            if (!(pa[i] == pb[i] && std::signbit(pa[i]) == std::signbit(pb[i]))) return false;
        return a.kind() == b.kind();
    }
    friend bool operator!=(const activation& a, const activation& b) noexcept { return !(a == b); }

  private:
    detail::activation_variant v_{relu{}};
};

/// Every name activation::parse accepts (the aliases "linear" and "silu" included), in
/// activation_kind order.
inline std::vector<std::string_view> activation_names() {
    std::vector<std::string_view> names;
    for (const auto& info : detail::activation_table) {
        names.push_back(info.name);
        if (info.name == "identity") names.emplace_back("linear");
        if (info.name == "swish") names.emplace_back("silu");
    }
    return names;
}

inline activation activation::parse(std::string_view text) {
    std::string_view s = detail::trim(text);
    // The name runs up to the parameters (or a space before them).
    std::size_t i = 0;
    while (i < s.size() && s[i] != '(' && s[i] != ')' && s[i] != ' ' && s[i] != '\t') ++i;
    const std::string_view name = s.substr(0, i);
    std::string_view rest = detail::trim(s.substr(i));
    if (name.empty()) detail::parse_error(text, "missing activation name");
    const bool is_silu = name == "silu";
    const std::string_view key_name = is_silu ? "swish" : name == "linear" ? "identity" : name;
    const auto index_of = [](std::string_view n) {
        std::size_t k = 0;
        while (k < detail::activation_table.size() && detail::activation_table[k].name != n) ++k;
        return k;
    };
    const std::size_t k = index_of(key_name);
    if (k == detail::activation_table.size()) {
        std::string lower(name);
        for (char& c : lower)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        const bool known_lower = lower == "silu" || lower == "linear" ||
                                 index_of(lower) != detail::activation_table.size();
        detail::parse_error(text, "unknown activation '" + std::string(name) + "'" +
                                      (known_lower && lower != name
                                           ? " (names are lower case: '" + lower + "')"
                                           : std::string()));
    }
    const auto kind = static_cast<activation_kind>(k);
    const auto& params = detail::activation_table[k].params;
    std::array<double, 2> value = detail::activation_defaults(kind);
    std::array<bool, 2> seen = {false, false};
    if (!rest.empty()) {
        if (rest.front() != '(' || rest.back() != ')')
            detail::parse_error(text,
                                "expected '(' parameters ')' after '" + std::string(name) + "'");
        std::string_view inside = detail::trim(rest.substr(1, rest.size() - 2));
        std::size_t position = 0;
        while (!inside.empty()) {
            const std::size_t comma = inside.find(',');
            const std::string_view item =
                detail::trim(comma == std::string_view::npos ? inside : inside.substr(0, comma));
            inside = comma == std::string_view::npos ? std::string_view{}
                                                     : detail::trim(inside.substr(comma + 1));
            if (item.empty() || (comma != std::string_view::npos && inside.empty()))
                detail::parse_error(text, "empty parameter");
            std::string_view key, val;
            const std::size_t eq = item.find('=');
            std::size_t slot = 0;
            if (eq == std::string_view::npos) { // positional
                slot = position++;
                val = item;
                if (slot >= 2 || params[slot].empty() || is_silu)
                    detail::parse_error(text,
                                        "too many parameters for '" + std::string(name) + "'");
            } else {
                key = detail::trim(item.substr(0, eq));
                val = detail::trim(item.substr(eq + 1));
                slot = 0;
                while (slot < 2 && (params[slot].empty() || params[slot] != key)) ++slot;
                if (slot == 2 || is_silu) {
                    std::string allowed;
                    for (const auto& p : params)
                        if (!p.empty()) allowed += (allowed.empty() ? "" : ", ") + std::string(p);
                    detail::parse_error(text, "unknown parameter '" + std::string(key) + "' of '" +
                                                  std::string(name) + "' (parameters: " +
                                                  (allowed.empty() || is_silu ? "none" : allowed) +
                                                  ")");
                }
            }
            if (seen[slot])
                detail::parse_error(text,
                                    "parameter '" + std::string(params[slot]) + "' given twice");
            seen[slot] = true;
            if (kind == activation_kind::gelu) {
                if (val == "tanh" || val == "true" || val == "1")
                    value[slot] = 1;
                else if (val == "none" || val == "false" || val == "0")
                    value[slot] = 0;
                else
                    detail::parse_error(text, "gelu approximate must be none or tanh, not '" +
                                                  std::string(val) + "'");
                continue;
            }
            double v = 0;
            if (val.size() > 1 && val.front() == '+') val.remove_prefix(1); // from_chars: no '+'
            const auto r = std::from_chars(val.data(), val.data() + val.size(), v);
            if (r.ec == std::errc::result_out_of_range && r.ptr == val.data() + val.size())
                detail::parse_error(text, "value out of range: '" + std::string(val) + "' for '" +
                                              std::string(params[slot]) + "' " +
                                              (detail::underflows(val)
                                                   ? "is too small for a double (it would be 0)"
                                                   : "overflows a double"));
            if (r.ec != std::errc() || r.ptr != val.data() + val.size())
                detail::parse_error(text, "malformed number '" + std::string(val) + "' for '" +
                                              std::string(params[slot]) + "'");
            if (!std::isfinite(v))
                detail::parse_error(text,
                                    "parameter '" + std::string(params[slot]) + "' must be finite");
            value[slot] = v;
        }
    }
    // Ranges (the functors' own checks, reported with the text).
    if (kind == activation_kind::hardtanh && !(value[0] <= value[1]))
        detail::parse_error(text, "value out of range: hardtanh needs lo <= hi");
    if (kind == activation_kind::celu && value[0] == 0)
        detail::parse_error(text, "value out of range: celu alpha must be nonzero");
    if (kind == activation_kind::softplus && !(value[0] > 0))
        detail::parse_error(text, "value out of range: softplus beta must be > 0");
    activation a;
    a.v_ = detail::make_activation(kind, value);
    std::visit([](const auto& f) { detail::check_functor(f); }, a.v_);
    return a;
}

inline std::string activation::name() const {
    const std::size_t k = v_.index();
    const auto kind = static_cast<activation_kind>(k);
    const auto& info = detail::activation_table[k];
    const auto p = detail::activation_params(v_);
    const auto d = detail::activation_defaults(kind);
    if (kind == activation_kind::swish && p[0] == 1.0) return "silu";
    if (kind == activation_kind::gelu) return p[0] != 0 ? "gelu(approximate=tanh)" : "gelu";
    std::string args;
    for (std::size_t i = 0; i < 2; ++i) {
        if (info.params[i].empty()) continue;
        // Bitwise comparison keeps -0.0 (which equals the default 0 as a value) printable.
        if (p[i] == d[i] && std::signbit(p[i]) == std::signbit(d[i])) continue;
        if (!args.empty()) args += ", ";
        args += std::string(info.params[i]) + "=" + detail::shortest(p[i]);
    }
    return std::string(info.name) + (args.empty() ? "" : "(" + args + ")");
}

} // namespace xact

XACT_DIAGNOSTIC_POP
