#ifndef NODEBENCH_CCLBLAST_SHIM_H
#define NODEBENCH_CCLBLAST_SHIM_H
// The same OpenCL version COpenCL uses, so both see one set of declarations.
#define CL_TARGET_OPENCL_VERSION 120
#include <clblast_c.h>
#endif
