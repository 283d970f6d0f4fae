# Debian's xsimd 8.1 package exports a target whose INTERFACE_LINK_LIBRARIES names "xtl"
# without finding it, so every consumer fails to link with "-lxtl". xtl is only needed for
# xsimd's optional xtl::xcomplex support, which xact does not use: when no xtl target exists,
# drop the dangling name from the imported target.
if(TARGET xsimd)
  get_target_property(_xact_xsimd_imported xsimd IMPORTED)
  get_target_property(_xact_xsimd_libs xsimd INTERFACE_LINK_LIBRARIES)
  if(_xact_xsimd_imported AND _xact_xsimd_libs AND "xtl" IN_LIST _xact_xsimd_libs
     AND NOT TARGET xtl)
    find_package(xtl QUIET)
    if(NOT TARGET xtl)
      list(REMOVE_ITEM _xact_xsimd_libs xtl)
      set_target_properties(xsimd PROPERTIES INTERFACE_LINK_LIBRARIES "${_xact_xsimd_libs}")
    endif()
  endif()
endif()
