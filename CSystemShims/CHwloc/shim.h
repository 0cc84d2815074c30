#ifndef NODEBENCH_CHWLOC_SHIM_H
#define NODEBENCH_CHWLOC_SHIM_H
#include <hwloc.h>

// hwloc's API version is a macro Swift cannot import.
static inline unsigned nodebench_hwloc_header_api_version(void) { return HWLOC_API_VERSION; }
#endif
