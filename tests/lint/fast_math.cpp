// Compiled with -ffast-math by tests/CMakeLists.txt: the xact headers must warn that fast-math
// voids their bounds, and must stay silent (even under -Werror) once XACT_ALLOW_FAST_MATH is
// defined. Compiled, never run.
#include <xact/xact.hpp>

float fast_math_sigmoid(float x) {
    return xact::sigmoid{}(x);
}
