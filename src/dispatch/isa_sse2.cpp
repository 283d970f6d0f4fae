// xact::dispatch: the kernels compiled for sse2 (flags set in CMakeLists.txt); see isa.inc.
#define XACT_DISPATCH_TABLE table_sse2
#define XACT_DISPATCH_ISA "sse2"
#define XACT_DISPATCH_NS xact_sse2
#define XSIMD_DISPATCH_NS xsimd_sse2
#include "isa.inc"
