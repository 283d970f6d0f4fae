// xact — version of the headers.
#pragma once

// Semantic versioning: MAJOR changes break the API, MINOR adds to it, PATCH fixes. CMake's
// project() reads these three lines (so xact.pc and xactConfigVersion.cmake agree).
#define XACT_VERSION_MAJOR 0 ///< Incompatible API changes.
#define XACT_VERSION_MINOR 1 ///< Additions, compatible.
#define XACT_VERSION_PATCH 0 ///< Fixes, compatible.
/// Single number for comparisons: major * 10000 + minor * 100 + patch.
#define XACT_VERSION (XACT_VERSION_MAJOR * 10000 + XACT_VERSION_MINOR * 100 + XACT_VERSION_PATCH)
