// xact — exact and fast activation functions. The umbrella header: everything public.
#pragma once

// The includes in dependency order.
// clang-format off
#include "version.hpp"
#include "config.hpp"
#include "extents.hpp"
#include "functions/piecewise.hpp"
#include "functions/sigmoid.hpp"
#include "functions/elu.hpp"
#include "functions/gelu.hpp"
#include "functions/softplus.hpp"
#include "math/exp.hpp"
#include "math/log1p.hpp"
#include "math/erfc.hpp"
#include "algorithm.hpp"
#include "prelu.hpp"
#include "softmax.hpp"
#include "parallel.hpp"
#include "activation.hpp"
#include "loss.hpp"
// clang-format on
