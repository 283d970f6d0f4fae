#include <xact/xact.hpp>
#include <vector>

int main() {
    std::vector<float> x{-2.0f, -0.5f, 0.0f, 0.5f, 2.0f}, y(x.size());
    xact::forward(xact::leaky_relu{0.1}, x, y);            // y = f(x); in place allowed

    std::vector<float> dy(x.size(), 1.0f), dx(x.size());
    xact::backward(xact::hard_swish{}, x, dy, dx);          // dx = dy * f'(x)
    xact::backward_from_output(xact::relu{}, y, dy, dx);   // f' from the saved output

    float one = xact::hard_sigmoid{}(3.0f);                 // scalars work too
    (void)one;

    // PReLU, one slope per channel of an NCHW tensor {N, C, H*W}:
    std::vector<float> img(2 * 3 * 16, -1.0f), out(img.size()), alpha{0.1f, 0.2f, 0.3f};
    xact::prelu_forward(img.data(), alpha.data(), alpha.size(), out.data(),
                        xact::extents{2, 3, 16});
}
