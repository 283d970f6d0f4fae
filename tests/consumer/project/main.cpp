// Consumer check: includes the umbrella header, runs a few kernels, checks the results.
#include <xact/xact.hpp>

#include <cstdio>
#include <vector>

int main() {
    std::vector<float> x{-2.0f, -0.5f, 0.0f, 0.5f, 2.0f, 7.0f}, y(x.size());
    xact::forward(xact::relu6{}, x, y);
    const float expected[] = {0.0f, 0.0f, 0.0f, 0.5f, 2.0f, 6.0f};
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (y[i] != expected[i]) {
            std::printf("relu6(%g) = %g, expected %g\n", x[i], y[i], expected[i]);
            return 1;
        }
    }
    std::printf("xact %d.%d.%d works\n", XACT_VERSION_MAJOR, XACT_VERSION_MINOR,
                XACT_VERSION_PATCH);
    return 0;
}
