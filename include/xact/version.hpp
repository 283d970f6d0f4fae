// xact — version of the headers.
#pragma once

#define XACT_VERSION_MAJOR 0
#define XACT_VERSION_MINOR 1
#define XACT_VERSION_PATCH 0
/// Single number for comparisons: major * 10000 + minor * 100 + patch.
#define XACT_VERSION (XACT_VERSION_MAJOR * 10000 + XACT_VERSION_MINOR * 100 + XACT_VERSION_PATCH)
