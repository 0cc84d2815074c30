#ifndef NODEBENCH_CBLAS_SHIM_H
#define NODEBENCH_CBLAS_SHIM_H
// OpenBLAS's cblas.h also declares openblas_get_config, openblas_get_corename and the thread calls.
#include <cblas.h>
#endif
