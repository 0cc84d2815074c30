import OpenCLKit

/// The OpenCL C that row kernels share (the layer ops, the unfused attention's softmax): a row is
/// a work-group of `LG` work-items, each taking `VW` adjacent fp32 values at a time (explicit
/// vectors: CPU compilers do not vectorize strided loops across work-items), reduced in local
/// memory; and `OpenCLExponentials` for float and `floatv`. Needs `VW`; a source includes it after
/// `OpenCLStorageTypes`.
enum OpenCLRowKernels {
    /// Work-items per row and values per vector: on a GPU many work-items, enough to cover memory
    /// latency, with 4-wide vectors; on a CPU one work-item per row (work-items are loop
    /// iterations there, and barriers split them) streaming 16-wide vectors, one AVX-512 register.
    static func shape(on device: Device) -> (groupSize: Int, vectorWidth: Int) {
        device.isCPU ? (1, 16) : (min(256, device.maxWorkGroupSize.nonzeroPowerOfTwoFloor), 4)
    }

    static let text = OpenCLExponentials.text + "\n" + #"""
        #ifndef LG
        #define LG 64
        #endif

        inline float group_sum(float value, __local float *partial) {
            const int lane = get_local_id(0);
            partial[lane] = value;
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int step = LG / 2; step > 0; step >>= 1) {
                if (lane < step) partial[lane] += partial[lane + step];
                barrier(CLK_LOCAL_MEM_FENCE);
            }
            const float total = partial[0];
            barrier(CLK_LOCAL_MEM_FENCE);
            return total;
        }

        inline float group_max(float value, __local float *partial) {
            const int lane = get_local_id(0);
            partial[lane] = value;
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int step = LG / 2; step > 0; step >>= 1) {
                if (lane < step) partial[lane] = fmax(partial[lane], partial[lane + step]);
                barrier(CLK_LOCAL_MEM_FENCE);
            }
            const float total = partial[0];
            barrier(CLK_LOCAL_MEM_FENCE);
            return total;
        }

        typedef CAT(float, VW) floatv;
        #define VSTORE CAT(vstore, VW)
        /* A global fp32 vector in one load, through a type of element alignment (as LOADV). */
        typedef floatv __attribute__((aligned(sizeof(float)))) floatv_unaligned;
        #define LOAD_FLOATV(p) (*(__global const floatv_unaligned *)(p))

        EXP_FAMILY(float, as_float, as_uint)
        EXP_FAMILY(floatv, CAT(as_float, VW), CAT(as_uint, VW))

        inline float vsum(floatv v) {
            float lanes[VW];
            VSTORE(v, 0, lanes);
            float total = 0;
            for (int l = 0; l < VW; ++l) total += lanes[l];
            return total;
        }

        inline float vmax(floatv v) {
            float lanes[VW];
            VSTORE(v, 0, lanes);
            float top = lanes[0];
            for (int l = 1; l < VW; ++l) top = fmax(top, lanes[l]);
            return top;
        }

        /* A row's first n values VW at a time, then the tail (n not a multiple of VW) one at a time;
           FOR_VECTORS and FOR_TAIL take the row's `width` values. */
        #define FOR_VECTORS_OF(j, n) for (int j = (int)get_local_id(0) * VW; j + VW <= (n); j += LG * VW)
        #define FOR_TAIL_OF(j, n) for (int j = (n) / VW * VW + (int)get_local_id(0); j < (n); j += LG)
        #define FOR_VECTORS(j) FOR_VECTORS_OF(j, width)
        #define FOR_TAIL(j) FOR_TAIL_OF(j, width)

        /* FOR_VECTORS with each vector's term for one of four chains (accumulators) `c`: rounds of
           four vectors, one per chain, then the vectors after the last whole round on chain 0. On a
           CPU one work-item streams the row, and one accumulator's chain of adds, not the loads,
           would bound the sweep. The rounds are written out so that `c` is a constant: with a loop
           over the chains PoCL ran no faster than with one chain. The body is the last argument. */
        #define SUM_CHAINS 4 /* FOR_CHAINED_VECTORS and chains_sum are written out for four */
        #define FOR_CHAINED_VECTORS(j, c, ...) {                                                  \
            int j##Round = (int)get_local_id(0) * VW;                                             \
            for (; j##Round + 3 * LG * VW + VW <= width; j##Round += 4 * LG * VW) {               \
                { const int c = 0, j = j##Round; __VA_ARGS__ }                                    \
                { const int c = 1, j = j##Round + LG * VW; __VA_ARGS__ }                          \
                { const int c = 2, j = j##Round + 2 * LG * VW; __VA_ARGS__ }                      \
                { const int c = 3, j = j##Round + 3 * LG * VW; __VA_ARGS__ }                      \
            }                                                                                     \
            for (; j##Round + VW <= width; j##Round += LG * VW) { const int c = 0, j = j##Round; __VA_ARGS__ } \
        }

        inline float chains_sum(const floatv chains[SUM_CHAINS]) { return vsum((chains[0] + chains[1]) + (chains[2] + chains[3])); }
        """#
}

extension Int {
    /// The largest power of two not above this (at least 1).
    var nonzeroPowerOfTwoFloor: Int { self < 2 ? 1 : 1 << (Int.bitWidth - 1 - leadingZeroBitCount) }
}
