/// The OpenCL GEMM kernels: one work-item per element of C, correct for any M, N, K and for the
/// NN, NT and TN layouts. Built once per element type with `-D NB_<TYPE>`.
enum GEMMKernelSource {
    static func buildOptions(for dtype: DType) -> String {
        "-D NB_\(dtype.rawValue.uppercased())"
    }

    static func kernelName(for layout: GEMMLayout) -> String {
        "gemm_\(layout.rawValue.lowercased())"
    }

    static let text = #"""
        #if defined(NB_FP64)
        #pragma OPENCL EXTENSION cl_khr_fp64 : enable
        typedef double storage_t;
        typedef double acc_t;
        #define LOAD(p, i) ((p)[i])
        #define STORE(p, i, v) ((p)[i] = (v))
        #elif defined(NB_FP32)
        typedef float storage_t;
        typedef float acc_t;
        #define LOAD(p, i) ((p)[i])
        #define STORE(p, i, v) ((p)[i] = (v))
        #elif defined(NB_FP16)
        /* half pointers and vload_half/vstore_half need no cl_khr_fp16. */
        typedef half storage_t;
        typedef float acc_t;
        #define LOAD(p, i) vload_half((i), (p))
        #define STORE(p, i, v) vstore_half_rte((v), (i), (p))
        #elif defined(NB_BF16)
        /* bf16 is the upper half of an fp32: widen by shifting, narrow rounding to nearest even. */
        typedef ushort storage_t;
        typedef float acc_t;
        #define LOAD(p, i) as_float((uint)(p)[i] << 16)
        #define STORE(p, i, v) ((p)[i] = float_to_bf16(v))
        inline ushort float_to_bf16(float v) {
            if (isnan(v)) return (ushort)0x7fc0;
            uint u = as_uint(v);
            u += 0x7fffu + ((u >> 16) & 1u);
            return (ushort)(u >> 16);
        }
        #else
        #error "define one of NB_FP64, NB_FP32, NB_FP16, NB_BF16"
        #endif

        /* Row-major storage: element (row, k) of op(A) and (k, col) of op(B). */
        #define A_PLAIN(row, k) ((size_t)(row) * K + (k))
        #define A_TRANS(row, k) ((size_t)(k) * M + (row))
        #define B_PLAIN(k, col) ((size_t)(k) * N + (col))
        #define B_TRANS(k, col) ((size_t)(col) * K + (k))

        #define GEMM_KERNEL(NAME, A_AT, B_AT)                                              \
        __kernel void NAME(const int M, const int N, const int K,                         \
                           __global const storage_t *A, __global const storage_t *B,      \
                           __global storage_t *C) {                                       \
            const int col = get_global_id(0);                                             \
            const int row = get_global_id(1);                                             \
            if (row >= M || col >= N) return;                                             \
            acc_t acc = 0;                                                                \
            for (int k = 0; k < K; ++k)                                                   \
                acc += (acc_t)LOAD(A, A_AT(row, k)) * (acc_t)LOAD(B, B_AT(k, col));       \
            STORE(C, (size_t)row * N + col, acc);                                         \
        }

        GEMM_KERNEL(gemm_nn, A_PLAIN, B_PLAIN)
        GEMM_KERNEL(gemm_nt, A_PLAIN, B_TRANS)
        GEMM_KERNEL(gemm_tn, A_TRANS, B_PLAIN)
        """#
}
