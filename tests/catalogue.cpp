// The one instantiation of xact_test::catalogue (tests/guard.hpp) per test program: the
// guard-page, floating-point-environment and concurrency tests share it.
#define XACT_TEST_CATALOGUE_DEFINE 1
#include "guard.hpp"

namespace xact_test {
template std::vector<kernel<float>> catalogue<float>(bool);
template std::vector<kernel<double>> catalogue<double>(bool);
} // namespace xact_test
