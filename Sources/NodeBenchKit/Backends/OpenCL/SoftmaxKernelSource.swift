/// The unfused attention's row kernels, the way a framework's math path runs attention between
/// its matrix products (NodeBench's GEMM kernels, `OpenCLUnfusedAttention`): softmax over each
/// row of the fp32 `B·H·S·S` score matrix, which stays in memory, and its backward. Rows are
/// query rows, `S` per head; under `CAUSAL` row r sees keys 0...r mod S, and the rest of its row
/// is zero. Row kernels of `OpenCLRowKernels` (a work-group of `LG` work-items per row, `VW`
/// values at a time), built as fp32 whatever attention's storage type, since scores are fp32.
/// A row of 2048 scores is 8 KiB: after a kernel's first sweep of it, the others read the cache.
enum SoftmaxKernelSource {
    static let text = OpenCLStorageTypes.text + "\n" + OpenCLRowKernels.text + "\n" + #"""
        #ifndef CAUSAL
        #define CAUSAL 0
        #endif

        /* The keys a row sees, and zeros where causal masking hides the rest. */
        inline int visible_keys(const int S, const size_t row) { return CAUSAL ? (int)(row % S) + 1 : S; }

        inline void zero_masked(const int S, const int keys, __global float *restrict row) {
            __global float *masked = row + keys;
            FOR_VECTORS_OF(j, S - keys) STORE_ACCV(masked + j, (floatv)0);
            FOR_TAIL_OF(j, S - keys) masked[j] = 0;
        }

        /* Each row of scores (already scaled) becomes probabilities in three sweeps: its maximum,
           its exponentials (stored) and their sum, then their division by the sum; lse[row] is its
           logsumexp. Grid: (LG * rows), work-groups of LG. */
        __kernel __attribute__((reqd_work_group_size(LG, 1, 1)))
        void softmax_rows(const int S, __global float *restrict scores, __global float *restrict lse) {
            __local float partial[LG];
            const size_t row = get_group_id(0);
            const int keys = visible_keys(S, row);
            __global float *values = scores + row * S;
            floatv maxima = -INFINITY;
            float tailMax = -INFINITY;
            FOR_VECTORS_OF(j, keys) maxima = fmax(maxima, LOAD_FLOATV(values + j));
            FOR_TAIL_OF(j, keys) tailMax = fmax(tailMax, values[j]);
            const float m = group_max(fmax(vmax(maxima), tailMax), partial);
            floatv sums = 0;
            float tail = 0;
            FOR_VECTORS_OF(j, keys) {
                const floatv e = exp_nonpositive(LOAD_FLOATV(values + j) - m);
                STORE_ACCV(values + j, e);
                sums += e;
            }
            FOR_TAIL_OF(j, keys) {
                values[j] = exp_nonpositive(values[j] - m);
                tail += values[j];
            }
            const float sum = group_sum(vsum(sums) + tail, partial), inverse = 1.0f / sum;
            FOR_VECTORS_OF(j, keys) STORE_ACCV(values + j, LOAD_FLOATV(values + j) * inverse);
            FOR_TAIL_OF(j, keys) values[j] *= inverse;
            zero_masked(S, keys, values);
            if (get_local_id(0) == 0) lse[row] = m + log(sum);
        }

        /* Softmax's backward in place: dP[row][j] becomes P[row][j] * (dP[row][j] - sum_k P[row][k] * dP[row][k]);
           zero where P is masked. Grid: (LG * rows), work-groups of LG. */
        __kernel __attribute__((reqd_work_group_size(LG, 1, 1)))
        void softmax_backward_rows(const int S, __global const float *restrict probabilities, __global float *restrict gradient) {
            __local float partial[LG];
            const size_t row = get_group_id(0);
            const int keys = visible_keys(S, row);
            __global const float *p = probabilities + row * S;
            __global float *g = gradient + row * S;
            floatv dots = 0;
            float tail = 0;
            FOR_VECTORS_OF(j, keys) dots = fma(LOAD_FLOATV(p + j), LOAD_FLOATV(g + j), dots);
            FOR_TAIL_OF(j, keys) tail = fma(p[j], g[j], tail);
            const float dot = group_sum(vsum(dots) + tail, partial);
            FOR_VECTORS_OF(j, keys) STORE_ACCV(g + j, LOAD_FLOATV(p + j) * (LOAD_FLOATV(g + j) - dot));
            FOR_TAIL_OF(j, keys) g[j] = p[j] * (g[j] - dot);
            zero_masked(S, keys, g);
        }
        """#
}
