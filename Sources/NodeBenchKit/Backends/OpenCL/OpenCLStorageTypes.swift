/// The OpenCL C every NodeBench kernel starts with: the storage type (`-D NB_FP32`, `NB_FP64`,
/// `NB_FP16` or `NB_BF16`), the accumulation type, and loads that widen and stores that round
/// (to nearest even) between them, one element (`LOAD1`, `STORE1`) or `VW` at a time (`LOADV`,
/// `STOREV`; `STORE_ACCV` stores `VW` accumulation-type values to global memory in one store). fp16
/// uses vload_half/vstore_half, so it needs no cl_khr_fp16; bf16 is a ushort.
enum OpenCLStorageTypes {
    static let text = #"""
        #define CAT_(a, b) a##b
        #define CAT(a, b) CAT_(a, b)

        #if defined(NB_FP64)
        #pragma OPENCL EXTENSION cl_khr_fp64 : enable
        #define ACC double
        typedef double storage_t;
        #else
        #define ACC float
        #if defined(NB_FP32)
        typedef float storage_t;
        #elif defined(NB_FP16)
        typedef half storage_t;
        #elif defined(NB_BF16)
        typedef ushort storage_t;
        #else
        #error "define one of NB_FP64, NB_FP32, NB_FP16, NB_BF16"
        #endif
        #endif
        typedef ACC acc_t;
        #ifdef VW
        typedef CAT(ACC, VW) accv_t;
        /* A vector type of element alignment, as libclc writes vstore: a store through it is one
           instruction on PoCL, whose vstore writes a vector in pieces (three for float16, sixteen
           for ushort16), and a load one instruction, where PoCL's compiler multiplied two vloads
           in 2-wide pieces. For global memory only. */
        typedef accv_t __attribute__((aligned(sizeof(ACC)))) accv_unaligned;
        #define STORE_ACCV(p, v) (*(__global accv_unaligned *)(p) = (v))
        #define LOAD_ACCV(p) (*(__global const accv_unaligned *)(p))
        #endif

        /* Loads widen to the accumulation type; stores narrow, rounding to nearest even. */
        #if defined(NB_FP16)
        #define LOAD1(p, i) vload_half((i), (p))
        #define STORE1(p, i, v) vstore_half_rte((v), (i), (p))
        #define LOADN(p, i, n) CAT(vload_half, n)(0, (p) + (i))
        #define STOREV(p, i, v) CAT(CAT(vstore_half, VW), _rte)((v), 0, (p) + (i))
        #define LOADV(p, i) LOADN(p, i, VW)
        #elif defined(NB_BF16)
        #define LOAD1(p, i) as_float((uint)(p)[i] << 16)
        inline ushort bf16_round(float v) {
            uint u = as_uint(v);
            return (ushort)((isnan(v) ? u | 0x400000u : u + 0x7fffu + ((u >> 16) & 1u)) >> 16); /* NaN: quieted */
        }
        #define STORE1(p, i, v) ((p)[i] = bf16_round(v))
        #define LOADN(p, i, n) CAT(as_float, n)(CAT(convert_uint, n)(CAT(vload, n)(0, (p) + (i))) << 16)
        #ifdef VW
        /* VW values rounded at once: the same bits as bf16_round, in vector registers. */
        inline CAT(ushort, VW) bf16_round_v(CAT(float, VW) v) {
            const CAT(uint, VW) u = CAT(as_uint, VW)(v);
            const CAT(uint, VW) rounded = u + 0x7fffu + ((u >> 16) & 1u);
            return CAT(convert_ushort, VW)(select(rounded, u | 0x400000u, CAT(as_uint, VW)(isnan(v))) >> 16);
        }
        typedef CAT(ushort, VW) __attribute__((aligned(2))) bf16v_unaligned; /* as accv_unaligned */
        #define STOREV(p, i, v) (*(__global bf16v_unaligned *)((p) + (i)) = bf16_round_v(v))
        #define LOADV(p, i) CAT(as_float, VW)(CAT(convert_uint, VW)(*(__global const bf16v_unaligned *)((p) + (i))) << 16)
        #endif
        #else
        #define LOAD1(p, i) ((p)[i])
        #define STORE1(p, i, v) ((p)[i] = (v))
        #define LOADN(p, i, n) CAT(vload, n)(0, (p) + (i))
        #define STOREV(p, i, v) STORE_ACCV((p) + (i), v)
        #define LOADV(p, i) LOAD_ACCV((p) + (i))
        #endif

        """#
}
