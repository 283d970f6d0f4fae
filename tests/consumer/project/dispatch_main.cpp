// Consumer check of the installed xact::dispatch library: the activation chosen by name, the
// instruction set at run time; the results checked against exact values.
#include <xact/dispatch.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main() {
    const xact::activation a = xact::activation::parse("leaky_relu(alpha=0.5)");
    const std::vector<float> x{-2.0f, -0.5f, 0.0f, 0.5f, 2.0f};
    std::vector<float> y(x.size());
    xact::dispatch::forward(a, x.data(), y.data(), x.size());
    const float expected[] = {-1.0f, -0.25f, 0.0f, 0.5f, 2.0f};
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (y[i] != expected[i]) {
            std::printf("%s(%g) = %g, expected %g\n", a.name().c_str(), x[i], y[i], expected[i]);
            return 1;
        }
    }
    std::vector<double> s{1.0, 1.0, 1.0, 1.0}, p(4);
    xact::dispatch::softmax(s.data(), p.data(), xact::extents{1, 4});
    if (p[2] != 0.25) {
        std::printf("softmax of equal values: %g, expected 0.25\n", p[2]);
        return 1;
    }
    std::printf("xact::dispatch works, instruction set %s\n",
                std::string(xact::dispatch::active_isa()).c_str());
    return 0;
}
