// A translation unit for the static analysers (clang-tidy, cppcheck): includes every public
// header and instantiates every public family for float and double, so the templates the
// analysers would otherwise skip are checked too. Compiled, never run.
#include <xact/dispatch.hpp>
#include <xact/xact.hpp>

#include <cstdint>
#include <vector>

namespace {

template <class T>
void instantiate_all() {
    constexpr std::size_t n = 64;
    std::vector<T> x(n, T(0.5)), y(n), dy(n, T(1)), dx(n), t(n, T(0.25)), alpha(4, T(0.1)),
        dalpha(4);
    std::vector<std::int64_t> labels(8, 1);
    const xact::extents rows{8, 8}, nchw{2, 4, 8};
    const xact::parallel two{2};

    for (std::string_view name : xact::activation_names()) {
        const xact::activation a = xact::activation::parse(name);
        a.forward(x.data(), y.data(), n);
        a.backward(x.data(), dy.data(), dx.data(), n);
        if (a.has_derivative_from_output())
            a.backward_from_output(y.data(), dy.data(), dx.data(), n);
        a.forward(two, x.data(), y.data(), n);
        a.forward(x, y);
        xact::dispatch::forward(a, x.data(), y.data(), n);
        xact::dispatch::backward(a, x.data(), dy.data(), dx.data(), n);
    }
    xact::forward(xact::gelu{}, x, y);
    xact::backward(xact::gelu{}, x, dy, dx);
    xact::backward_from_output(xact::sigmoid{}, y, dy, dx);
    xact::forward(two, xact::mish{}, x.data(), y.data(), n);

    xact::softmax(x.data(), y.data(), rows);
    xact::log_softmax(x.data(), y.data(), nchw);
    xact::softmax_backward(y.data(), dy.data(), dx.data(), rows);
    xact::log_softmax_backward(y.data(), dy.data(), dx.data(), nchw);
    xact::softmax(two, x.data(), y.data(), rows);
    xact::dispatch::softmax(x.data(), y.data(), rows);

    xact::prelu_forward(x.data(), alpha.data(), alpha.size(), y.data(), nchw);
    xact::prelu_backward(x.data(), alpha.data(), alpha.size(), dy.data(), dx.data(), dalpha.data(),
                         nchw);
    xact::prelu_backward(two, x.data(), alpha.data(), alpha.size(), dy.data(), dx.data(),
                         dalpha.data(), nchw);

    T loss = xact::mse_loss(x.data(), t.data(), n);
    loss += xact::mae_loss(x.data(), t.data(), n, xact::reduction::sum);
    loss += xact::binary_cross_entropy_with_logits(x.data(), t.data(), n);
    xact::mse_loss_backward(x.data(), t.data(), dx.data(), n);
    xact::mae_loss_backward(x.data(), t.data(), dy.data(), dx.data(), n);
    xact::binary_cross_entropy_with_logits_backward(x.data(), t.data(), dx.data(), n);
    loss += xact::cross_entropy(x.data(), labels.data(), rows);
    loss += xact::cross_entropy(x.data(), y.data(), rows);
    xact::cross_entropy_backward(x.data(), labels.data(), dx.data(), rows);
    y[0] = loss;
}

} // namespace

int main() {
    try {
        instantiate_all<float>();
        instantiate_all<double>();
    } catch (...) {
        return 1;
    }
    return 0;
}
