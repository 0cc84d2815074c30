#ifndef NODEBENCH_COPENCL_SHIM_H
#define NODEBENCH_COPENCL_SHIM_H
// OpenCL 1.2 is the newest version every vendor (NVIDIA, AMD, Intel, PoCL) implements in full.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <CL/cl_ext.h>  // CL_PLATFORM_NOT_FOUND_KHR, from the ICD loader extension
#endif
