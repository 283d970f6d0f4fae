// xact::dispatch: the kernels compiled for avx2 (flags set in CMakeLists.txt); see isa.inc.
#define XACT_DISPATCH_TABLE table_avx2
#define XACT_DISPATCH_ISA "avx2"
#define XACT_DISPATCH_NS xact_avx2
#define XSIMD_DISPATCH_NS xsimd_avx2
#include "isa.inc"
