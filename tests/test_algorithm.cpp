// Placeholder: the full suite is in tests/pending/test_algorithm.cpp until its defects are fixed.
#include "catch.hpp"
