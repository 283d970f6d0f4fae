// xact::dispatch: the kernels compiled for avx512f (flags set in CMakeLists.txt); see isa.inc.
#define XACT_DISPATCH_TABLE table_avx512f
#define XACT_DISPATCH_ISA "avx512f"
#define XACT_DISPATCH_NS xact_avx512f
#define XSIMD_DISPATCH_NS xsimd_avx512f
#include "isa.inc"
