// The consumer's program: xact brought in by FetchContent (see CMakeLists.txt next to it).
#include <xact/xact.hpp>

#include <cstdio>
#include <vector>

int main() {
    const std::vector<float> x{-2.0f, -1.0f, 0.0f, 1.0f, 2.0f};
    std::vector<float> y(x.size());
    const xact::activation act = xact::activation::parse("gelu");
    act.forward(x, y);
    for (std::size_t i = 0; i < x.size(); ++i)
        std::printf("%s(%+.1f) = %+.6f\n", act.name().c_str(), static_cast<double>(x[i]),
                    static_cast<double>(y[i]));
    return y[2] == 0.0f && y[4] > 1.9f ? 0 : 1;
}
