#ifndef NODEBENCH_CHWLOC_SHIM_H
#define NODEBENCH_CHWLOC_SHIM_H
#include <hwloc.h>
#endif
