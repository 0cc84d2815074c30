/// OpenCL kernels of the peak probes. Compute: `CHAINS` independent FMA chains on vectors of
/// `WIDTH` lanes of `real`. Bandwidth: float4 streams, each work-item taking `PER_ITEM`
/// consecutive elements on CPUs (one core's cache lines stay together) or one element on GPUs.
enum PeakKernelSource {
    /// The OpenCL C name of a type, e.g. `float` for fp32.
    static func typeName(_ dtype: DType) -> String {
        switch dtype {
        case .fp64: "double"
        case .fp16: "half"
        case .fp32, .bf16: "float"
        }
    }

    static func computeOptions(dtype: DType, width: Int) -> String {
        "\(dtype.kernelTypeOption) -D WIDTH=\(width)"
    }

    static let compute = #"""
        #if defined(NB_FP64)
        #pragma OPENCL EXTENSION cl_khr_fp64 : enable
        #define REAL double
        #elif defined(NB_FP16)
        #pragma OPENCL EXTENSION cl_khr_fp16 : enable
        #define REAL half
        #else
        #define REAL float
        #endif
        typedef REAL real;
        #define CAT_(a, b) a##b
        #define CAT(a, b) CAT_(a, b)
        #if WIDTH == 1
        typedef real vec;
        #define SUM_LANES(v) (v)
        #else
        typedef CAT(REAL, WIDTH) vec;
        inline real sum_lanes(vec v) {
            real lanes[WIDTH];
            CAT(vstore, WIDTH)(v, 0, lanes);
            real total = 0;
            for (int i = 0; i < WIDTH; ++i) total += lanes[i];
            return total;
        }
        #define SUM_LANES(v) sum_lanes(v)
        #endif

        __kernel void peak_fma(__global real *out, const int iterations) {
            const vec m = (vec)((real)0.999f), c = (vec)((real)0.001f);
            const vec start = (vec)((real)1 + (real)(get_global_id(0) & 7) * (real)0.001f);
            vec a0 = start, a1 = start + (real)0.01f, a2 = start + (real)0.02f, a3 = start + (real)0.03f;
            vec a4 = start + (real)0.04f, a5 = start + (real)0.05f, a6 = start + (real)0.06f, a7 = start + (real)0.07f;
            for (int i = 0; i < iterations; ++i) {
                a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
                a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
            }
            out[get_global_id(0)] = SUM_LANES(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)));
        }
        """#

    /// FMA chains per work-item in `compute`.
    static let chains = 8

    /// float4s each work-item of the bandwidth kernels moves: on a CPU a run of them, so a
    /// work-item is worth its loop overhead; on a GPU one, so neighbours read neighbouring memory.
    static func float4sPerItem(isCPU: Bool) -> Int { isCPU ? 16 : 1 }

    static func bandwidthOptions(perItem: Int) -> String { "-D PER_ITEM=\(perItem)" }

    static let bandwidth = #"""
        __kernel void bw_read(__global const float4 *a, __global float *out) {
            const size_t first = get_global_id(0) * PER_ITEM;
            float4 s = 0;
            for (int i = 0; i < PER_ITEM; ++i) s += a[first + i];
            out[get_global_id(0)] = s.x + s.y + s.z + s.w;
        }
        __kernel void bw_copy(__global const float4 *a, __global float4 *b) {
            const size_t first = get_global_id(0) * PER_ITEM;
            for (int i = 0; i < PER_ITEM; ++i) b[first + i] = a[first + i];
        }
        __kernel void bw_triad(__global float4 *a, __global const float4 *b, __global const float4 *c, const float s) {
            const size_t first = get_global_id(0) * PER_ITEM;
            for (int i = 0; i < PER_ITEM; ++i) a[first + i] = b[first + i] + s * c[first + i];
        }
        __kernel void empty(void) {}
        """#
}
