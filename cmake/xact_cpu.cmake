# Sets XACT_CPU_HAS_AVX2 and XACT_CPU_HAS_AVX512 from the machine that configures the build,
# so that test and benchmark variants for an instruction set run only where it exists.
set(XACT_CPU_HAS_AVX2 OFF)
set(XACT_CPU_HAS_AVX512 OFF)
if(EXISTS /proc/cpuinfo)
  file(STRINGS /proc/cpuinfo _xact_flags REGEX "^flags" LIMIT_COUNT 1)
  if(_xact_flags MATCHES " avx2( |$)" AND _xact_flags MATCHES " fma( |$)")
    set(XACT_CPU_HAS_AVX2 ON)
  endif()
  if(_xact_flags MATCHES " avx512f( |$)" AND _xact_flags MATCHES " avx512bw( |$)"
     AND _xact_flags MATCHES " avx512dq( |$)" AND _xact_flags MATCHES " avx512vl( |$)")
    set(XACT_CPU_HAS_AVX512 ON)
  endif()
endif()
