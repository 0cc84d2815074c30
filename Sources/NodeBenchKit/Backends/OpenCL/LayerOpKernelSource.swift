/// The layer's memory-bound ops in OpenCL C, on the storage types of `OpenCLStorageTypes` with
/// fp32 arithmetic, `VW` adjacent values at a time (explicit vectors: CPU compilers do not
/// vectorize strided loops across work-items). Row ops (the norms, cross-entropy's forward) give
/// each row a work-group of `LG` work-items, reduced in local memory: on a GPU many work-items of
/// 4-wide vectors, on a CPU one work-item streaming its row in 16-wide vectors. A norm's backward
/// gives each work-group a block of rows and keeps its share of the weight gradients in one row of
/// `partial` (a work-item always owns the same columns, so no two touch one value), four rows' share
/// at a time; `column_sums` adds the blocks' rows. Elementwise ops (and the loss's backward) take
/// `NV` vectors of `VW` values per work-item; `NV` > 1 (a CPU with 16-bit storage) also makes a norm's
/// backward narrow dx a block of `NV` vectors at a time.
enum LayerOpKernelSource {
    static let text = OpenCLStorageTypes.text + "\n" + OpenCLRowKernels.text + "\n" + #"""
        #ifndef NV
        #define NV 1
        #endif

        /* --- norms ----------------------------------------------------------------------- */

        __kernel __attribute__((reqd_work_group_size(LG, 1, 1)))
        void rmsnorm_forward(const int width, const float eps, __global const storage_t *restrict x,
                             __global const storage_t *restrict w, __global storage_t *restrict y, __global float *restrict rstd) {
            __local float partial[LG];
            const size_t row = get_group_id(0), at = row * width;
            floatv squares[SUM_CHAINS] = {0};
            float tail = 0;
            FOR_CHAINED_VECTORS(j, c, const floatv v = LOADV(x, at + j); squares[c] = fma(v, v, squares[c]);)
            FOR_TAIL(j) { const float v = LOAD1(x, at + j); tail = fma(v, v, tail); }
            const float inverse = rsqrt(group_sum(chains_sum(squares) + tail, partial) / width + eps);
            FOR_VECTORS(j) STOREV(y, at + j, LOADV(x, at + j) * inverse * LOADV(w, j));
            FOR_TAIL(j) STORE1(y, at + j, LOAD1(x, at + j) * inverse * LOAD1(w, j));
            if (get_local_id(0) == 0) rstd[row] = inverse;
        }

        /* A norm's backward, once a row's sums are known: dx = inverse·(dy·w - shift - xh·projection) with
           xh = (x - mean)·inverse (RMSNorm: mean and shift 0); dw += dy·xh, db += dy. NORM_ROWS rows
           run their output sweeps together, their weight gradients summed before dw and db are read and
           written: once per group of rows, not once per row. Each row's terms are in `terms` as
           (mean, inverse, shift, projection); with_bias is a constant. The loops over a group's rows
           run NORM_ROWS times, skipping rows past `count`, so that a compiler unrolls them and keeps
           `terms` in registers (a GPU puts a private array indexed at run time in memory). */
        #define NORM_ROWS 4
        #define NORM_OUTPUTS(T, LOAD, STORE, j, with_bias)                                        \
            const T wj = LOAD(w, j);                                                              \
            T weight = 0, bias = 0;                                                               \
            for (int q = 0; q < NORM_ROWS; ++q) if (q < count) {                                  \
                const size_t at = (size_t)(row + q) * width;                                      \
                const float4 t = terms[q];                                                        \
                const T xh = (LOAD(x, at + j) - t.x) * t.y, d = LOAD(dy, at + j);                 \
                STORE(dx, at + j, t.y * (d * wj - t.z - xh * t.w));                               \
                weight = fma(d, xh, weight);                                                      \
                bias += d;                                                                        \
            }                                                                                     \
            ADD_##T(dw, j, weight);                                                               \
            if (with_bias) ADD_##T(db, j, bias);
        #define ADD_floatv(p, j, v) STORE_ACCV((p) + (j), LOAD_FLOATV((p) + (j)) + (v))
        #define ADD_float(p, j, v) ((p)[j] += (v))
        #if NV > 1 && LG != 1
        #error "NV > 1 sweeps a whole row in each work-item: it needs LG = 1"
        #elif NV > 1
        /* 16-bit dx on a CPU (one work-item a row): NV vectors of columns at a time, each row's dx
           computed into fp32 first and narrowed in a loop of its own, as the elementwise ops do;
           narrowed where it is computed, the rows' terms spilled. Then the vectors after the last
           whole block, and the tail. */
        #define KEEP_DX(p, i, v) (dxBlock[q][vector] = (v))
        #define NORM_BACKWARD_OUTPUTS(with_bias)                                                  \
            int blocksEnd = 0;                                                                    \
            for (; blocksEnd + NV * VW <= width; blocksEnd += NV * VW) {                          \
                floatv dxBlock[NORM_ROWS][NV];                                                    \
                for (int vector = 0; vector < NV; ++vector) {                                     \
                    const int j = blocksEnd + vector * VW;                                        \
                    NORM_OUTPUTS(floatv, LOADV, KEEP_DX, j, with_bias)                            \
                }                                                                                 \
                for (int q = 0; q < NORM_ROWS; ++q) if (q < count)                                \
                    for (int vector = 0; vector < NV; ++vector)                                   \
                        STOREV(dx, (size_t)(row + q) * width + blocksEnd + vector * VW, dxBlock[q][vector]); \
            }                                                                                     \
            for (int j = blocksEnd; j + VW <= width; j += VW) { NORM_OUTPUTS(floatv, LOADV, STOREV, j, with_bias) } \
            FOR_TAIL(j) { NORM_OUTPUTS(float, LOAD1, STORE1, j, with_bias) }
        #else
        #define NORM_BACKWARD_OUTPUTS(with_bias)                                                  \
            FOR_VECTORS(j) { NORM_OUTPUTS(floatv, LOADV, STOREV, j, with_bias) }                  \
            FOR_TAIL(j) { NORM_OUTPUTS(float, LOAD1, STORE1, j, with_bias) }
        #endif

        /* dx = rstd * (g - xh * mean(g * xh)), g = dy * w, xh = x * rstd; this block's dw in partial. */
        __kernel __attribute__((reqd_work_group_size(LG, 1, 1)))
        void rmsnorm_backward(const int rows, const int width, const int rowsPerGroup, __global const storage_t *restrict x,
                              __global const storage_t *restrict w, __global const storage_t *restrict dy,
                              __global const float *restrict rstd, __global storage_t *restrict dx, __global float *restrict partial) {
            __local float scratch[LG];
            const int first = get_group_id(0) * rowsPerGroup, last = min(rows, first + rowsPerGroup);
            __global float *dw = partial + (size_t)get_group_id(0) * width, *db = 0;
            FOR_VECTORS(j) STORE_ACCV(dw + j, 0);
            FOR_TAIL(j) dw[j] = 0;
            for (int row = first; row < last; row += NORM_ROWS) {
                const int count = min(NORM_ROWS, last - row);
                float4 terms[NORM_ROWS];
                for (int q = 0; q < NORM_ROWS; ++q) if (q < count) {
                    const size_t at = (size_t)(row + q) * width;
                    const float inverse = rstd[row + q];
                    floatv dot[SUM_CHAINS] = {0};
                    float tail = 0;
                    FOR_CHAINED_VECTORS(j, c, dot[c] = fma(LOADV(dy, at + j) * LOADV(w, j), LOADV(x, at + j), dot[c]);)
                    FOR_TAIL(j) tail = fma(LOAD1(dy, at + j) * LOAD1(w, j), LOAD1(x, at + j), tail);
                    terms[q] = (float4)(0, inverse, 0, group_sum(chains_sum(dot) + tail, scratch) * inverse / width);
                }
                NORM_BACKWARD_OUTPUTS(false)
            }
        }

        __kernel __attribute__((reqd_work_group_size(LG, 1, 1)))
        void layernorm_forward(const int width, const float eps, __global const storage_t *restrict x,
                               __global const storage_t *restrict w, __global const storage_t *restrict b, __global storage_t *restrict y,
                               __global float *restrict mean, __global float *restrict rstd) {
            __local float partial[LG];
            const size_t row = get_group_id(0), at = row * width;
            floatv sum[SUM_CHAINS] = {0};
            float tail = 0;
            FOR_CHAINED_VECTORS(j, c, sum[c] += LOADV(x, at + j);)
            FOR_TAIL(j) tail += LOAD1(x, at + j);
            const float mu = group_sum(chains_sum(sum) + tail, partial) / width;
            floatv squares[SUM_CHAINS] = {0};
            tail = 0;
            FOR_CHAINED_VECTORS(j, c, const floatv d = LOADV(x, at + j) - mu; squares[c] = fma(d, d, squares[c]);)
            FOR_TAIL(j) { const float d = LOAD1(x, at + j) - mu; tail = fma(d, d, tail); }
            const float inverse = rsqrt(group_sum(chains_sum(squares) + tail, partial) / width + eps);
            FOR_VECTORS(j) STOREV(y, at + j, (LOADV(x, at + j) - mu) * inverse * LOADV(w, j) + LOADV(b, j));
            FOR_TAIL(j) STORE1(y, at + j, (LOAD1(x, at + j) - mu) * inverse * LOAD1(w, j) + LOAD1(b, j));
            if (get_local_id(0) == 0) { mean[row] = mu; rstd[row] = inverse; }
        }

        /* dx = rstd * (g - mean(g) - xh * mean(g * xh)); this block's dw and db in partial (dw rows, then db rows). */
        __kernel __attribute__((reqd_work_group_size(LG, 1, 1)))
        void layernorm_backward(const int rows, const int width, const int rowsPerGroup, __global const storage_t *restrict x,
                                __global const storage_t *restrict w, __global const storage_t *restrict dy,
                                __global const float *restrict mean, __global const float *restrict rstd,
                                __global storage_t *restrict dx, __global float *restrict partial) {
            __local float scratch[LG];
            const int first = get_group_id(0) * rowsPerGroup, last = min(rows, first + rowsPerGroup);
            __global float *dw = partial + (size_t)get_group_id(0) * width;
            __global float *db = partial + ((size_t)get_num_groups(0) + get_group_id(0)) * width;
            FOR_VECTORS(j) { STORE_ACCV(dw + j, 0); STORE_ACCV(db + j, 0); }
            FOR_TAIL(j) { dw[j] = 0; db[j] = 0; }
            for (int row = first; row < last; row += NORM_ROWS) {
                const int count = min(NORM_ROWS, last - row);
                float4 terms[NORM_ROWS];
                for (int q = 0; q < NORM_ROWS; ++q) if (q < count) {
                    const size_t at = (size_t)(row + q) * width;
                    const float mu = mean[row + q], inverse = rstd[row + q];
                    floatv sum[SUM_CHAINS] = {0}, dot[SUM_CHAINS] = {0};
                    float sumTail = 0, dotTail = 0;
                    FOR_CHAINED_VECTORS(j, c,
                        const floatv g = LOADV(dy, at + j) * LOADV(w, j);
                        sum[c] += g;
                        dot[c] = fma(g, LOADV(x, at + j) - mu, dot[c]);
                    )
                    FOR_TAIL(j) {
                        const float g = LOAD1(dy, at + j) * LOAD1(w, j);
                        sumTail += g;
                        dotTail = fma(g, LOAD1(x, at + j) - mu, dotTail);
                    }
                    const float meanG = group_sum(chains_sum(sum) + sumTail, scratch) / width;
                    terms[q] = (float4)(mu, inverse, meanG, group_sum(chains_sum(dot) + dotTail, scratch) * inverse / width);
                }
                NORM_BACKWARD_OUTPUTS(true)
            }
        }

        /* out[g * width + j] = the sum over blocks of partial[(g * blocks + block) * width + j]. Grid: (width, gradients). */
        __kernel void column_sums(const int width, const int blocks, __global const float *restrict partial, __global storage_t *restrict out) {
            const int j = get_global_id(0), gradient = get_global_id(1);
            if (j >= width) return;
            float sum = 0;
            for (int block = 0; block < blocks; ++block) sum += partial[((size_t)gradient * blocks + block) * width + j];
            STORE1(out, (size_t)gradient * width + j, sum);
        }

        /* --- activations and the residual ------------------------------------------------- */

        #define GELU_C 0.7978845608028654f
        #define GELU_A 0.044715f

        /* Elementwise: a work-item takes the NV vectors of values from first, those at end or past it
           one by one. With NV > 1 (16-bit storage on a CPU) it computes them into fp32 first and
           narrows them in a loop of their own: one loop from load to rounded store outgrows a core's
           out-of-order window. `outputs(each)` applies each to the kernel's output pointers. */
        #define KEEP_IN_BLOCK(p, i, v) (CAT(p, _block)[vector] = (v))
        #define DECLARE_BLOCK(p) floatv CAT(p, _block)[NV];
        #define NARROW_BLOCK(p) for (int vector = 0; vector < NV; ++vector) STOREV(p, first + vector * VW, CAT(p, _block)[vector]);
        #define ELEMENTWISE_TO(end, body, outputs)                                                \
            if (first + VW * NV <= (end)) {                                                       \
                outputs(DECLARE_BLOCK)                                                            \
                for (int vector = 0; vector < NV; ++vector) { const size_t i = first + vector * VW; body(floatv, LOADV, KEEP_IN_BLOCK) } \
                outputs(NARROW_BLOCK)                                                             \
            } else for (size_t i = first; i < min((size_t)(end), first + VW * NV); ++i) { body(float, LOAD1, STORE1) }
        /* Work-item i takes the values from i·VW·NV. */
        #define ELEMENTWISE(body, outputs) const size_t first = get_global_id(0) * VW * NV; ELEMENTWISE_TO((size_t)n, body, outputs)
        #define OUTPUT_Y(each) each(y)

        /* GELU's tanh approximation 0.5·v·(1 + tanh z), z = C·(v + A·v³), is v·s with s = 1 / (1 + e)
           and e = e^-2z = 2^(-2C·log2 e·v·(1 + A·v²)): one exponential, one division, no cancellation
           in either tail. Its slope s + v·s·(1 - s)·2z' with 1 - s = e·s and z' = C·(1 + 3A·v²): e·s
           before the other factors, as e alone overflows them in the negative tail. */
        #define GELU_EXP(v) exp2_clamped((v) * ((v) * (v) * (-2.0f * GELU_C * GELU_A * M_LOG2E_F) + -2.0f * GELU_C * M_LOG2E_F))
        #define GELU(T, LOAD, STORE)                                                              \
            const T v = LOAD(x, i);                                                               \
            STORE(y, i, v / (1.0f + GELU_EXP(v)));

        __kernel void gelu_forward(const int n, __global const storage_t *restrict x, __global storage_t *restrict y) {
            ELEMENTWISE(GELU, OUTPUT_Y)
        }

        #define GELU_BACKWARD(T, LOAD, STORE)                                                     \
            const T v = LOAD(x, i), e = GELU_EXP(v), s = 1.0f / (1.0f + e);                        \
            const T slope = s + v * (e * s) * s * (v * v * (6.0f * GELU_C * GELU_A) + 2.0f * GELU_C); \
            STORE(dx, i, LOAD(dy, i) * slope);

        #define OUTPUT_DX(each) each(dx)
        __kernel void gelu_backward(const int n, __global const storage_t *restrict x, __global const storage_t *restrict dy,
                                    __global storage_t *restrict dx) {
            ELEMENTWISE(GELU_BACKWARD, OUTPUT_DX)
        }

        /* SiLU's e^-g; silu(g)·u = g·u / (1 + e^-g), its slope s·(1 + g·(1 - s)) with 1 - s = e·s. */
        #define SILU_EXP(g) exp2_clamped((g) * -M_LOG2E_F)
        #define SWIGLU(T, LOAD, STORE)                                                            \
            const T g = LOAD(gate, i);                                                            \
            STORE(y, i, g * LOAD(up, i) / (1.0f + SILU_EXP(g)));

        __kernel void swiglu_forward(const int n, __global const storage_t *restrict gate, __global const storage_t *restrict up,
                                     __global storage_t *restrict y) {
            ELEMENTWISE(SWIGLU, OUTPUT_Y)
        }

        #define SWIGLU_BACKWARD(T, LOAD, STORE)                                                   \
            const T g = LOAD(gate, i), u = LOAD(up, i), d = LOAD(dy, i), e = SILU_EXP(g), s = 1.0f / (1.0f + e); \
            STORE(dgate, i, d * u * s * (1.0f + g * (e * s)));                                     \
            STORE(dup, i, d * g * s);

        #define OUTPUTS_DGATE_DUP(each) each(dgate) each(dup)
        __kernel void swiglu_backward(const int n, __global const storage_t *restrict gate, __global const storage_t *restrict up,
                                      __global const storage_t *restrict dy, __global storage_t *restrict dgate,
                                      __global storage_t *restrict dup) {
            ELEMENTWISE(SWIGLU_BACKWARD, OUTPUTS_DGATE_DUP)
        }

        #define ADD(T, LOAD, STORE) STORE(y, i, LOAD(a, i) + LOAD(b, i));

        __kernel void add(const int n, __global const storage_t *restrict a, __global const storage_t *restrict b,
                          __global storage_t *restrict y) {
            ELEMENTWISE(ADD, OUTPUT_Y)
        }

        /* --- rotary embedding ------------------------------------------------------------- */

        /* Work-item i takes VW pairs of one head, the head's last work-item fewer, so that adjacent
           work-items read adjacent values (a GPU then loads a warp's values in whole cache lines; with a
           head per work-item its loads were a head apart). Grid: (rows * heads * ceil(pairs / VW));
           direction -1 rotates back. */
        __kernel void rotary(const int headDim, const int heads, const float direction, __global const storage_t *restrict x,
                             __global const float *restrict cosines, __global const float *restrict sines, __global storage_t *restrict y) {
            const int pairs = headDim / 2, vectors = (pairs + VW - 1) / VW;
            const size_t rowHead = get_global_id(0) / vectors, at = rowHead * headDim;
            const int first = get_global_id(0) % vectors * VW;
            __global const float *c = cosines + rowHead / heads * pairs, *s = sines + rowHead / heads * pairs;
            if (first + VW <= pairs) {
                const floatv low = LOADV(x, at + first), high = LOADV(x, at + pairs + first);
                const floatv cv = LOAD_FLOATV(c + first), sv = direction * LOAD_FLOATV(s + first);
                STOREV(y, at + first, low * cv - high * sv);
                STOREV(y, at + pairs + first, high * cv + low * sv);
            } else for (int i = first; i < pairs; ++i) {
                const float low = LOAD1(x, at + i), high = LOAD1(x, at + pairs + i), sine = direction * s[i];
                STORE1(y, at + i, low * c[i] - high * sine);
                STORE1(y, at + pairs + i, high * c[i] + low * sine);
            }
        }

        /* --- cross-entropy ---------------------------------------------------------------- */

        #ifndef CE_BLOCK
        #define CE_BLOCK 32
        #endif

        /* One read of the row from memory: each work-item takes its vectors CE_BLOCK at a time, their
           lanes' maxima, then (the block now in cache) their exponentials, rescaling a lane's running
           sum when its maximum rises; the lanes' and work-items' sums are then scaled to the row's
           maximum and added. The next block's maxima are taken in this block's exponentials' loop, so
           that its reads from memory overlap the arithmetic: on a CPU one work-item streams the row,
           and taken apart each loop left the other's unit idle. */
        __kernel __attribute__((reqd_work_group_size(LG, 1, 1)))
        void cross_entropy_forward(const int width, __global const storage_t *restrict logits, __global const int *restrict targets,
                                   __global float *restrict loss, __global float *restrict lse) {
            __local float partial[LG];
            const size_t row = get_group_id(0), at = row * width;
            const int stride = LG * VW, step = CE_BLOCK * stride, first = get_local_id(0) * VW, last = width - VW;
            floatv sum = 0, runningMax = -INFINITY, blockMax = -INFINITY;
            for (int j = first; j < first + step && j <= last; j += stride) blockMax = max(blockMax, LOADV(logits, at + j));
            for (int block = first; block <= last; block += step) {
                blockMax = max(blockMax, runningMax);
                sum *= exp_nonpositive(runningMax - blockMax);
                floatv nextMax = -INFINITY;
                const floatv offset = -blockMax * M_LOG2E_F;  /* e^(x - m) = 2^(x·log2 e - m·log2 e) */
                for (int j = block; j < block + step && j <= last; j += stride) {
                    sum += exp2_polynomial(LOADV(logits, at + j) * M_LOG2E_F + offset);
                    if (j + step <= last) nextMax = max(nextMax, LOADV(logits, at + j + step));
                }
                runningMax = blockMax;
                blockMax = nextMax;
            }
            float tailMax = -INFINITY, tail = 0;
            FOR_TAIL(j) tailMax = max(tailMax, LOAD1(logits, at + j));
            FOR_TAIL(j) tail += exp_nonpositive(LOAD1(logits, at + j) - tailMax);
            const float rowMax = group_max(max(vmax(runningMax), tailMax), partial);
            /* A lane that saw no value keeps -inf and a zero sum: exp_nonpositive(-inf) is finite (exp(-87)), so no NaN. */
            const float mine = vsum(sum * exp_nonpositive(runningMax - rowMax)) + tail * exp_nonpositive(tailMax - rowMax);
            const float total = group_sum(mine, partial);
            if (get_local_id(0) == 0) {
                const float logsumexp = rowMax + log(total);
                lse[row] = logsumexp;
                loss[row] = logsumexp - LOAD1(logits, at + targets[row]);
            }
        }

        /* dlogits = (softmax - one_hot(target)) * scale, VW·NV columns per work-item. Grid: (columns / (VW·NV), rows). */
        #define CE_GRADIENT(T, LOAD, STORE) STORE(dlogits, i, exp2_polynomial(LOAD(logits, i) * M_LOG2E_F + offset) * scale);
        #define OUTPUT_DLOGITS(each) each(dlogits)
        __kernel void cross_entropy_backward(const int width, const float scale, __global const storage_t *restrict logits,
                                             __global const int *restrict targets, __global const float *restrict lse,
                                             __global storage_t *restrict dlogits) {
            const size_t row = get_global_id(1), at = row * width, first = at + get_global_id(0) * VW * NV;
            const float offset = -lse[row] * M_LOG2E_F;  /* e^(x - lse) = 2^(x·log2 e - lse·log2 e) */
            ELEMENTWISE_TO(at + width, CE_GRADIENT, OUTPUT_DLOGITS)
            const size_t target = at + targets[row];
            if (target >= first && target < first + VW * NV)
                STORE1(dlogits, target, (exp2_polynomial(LOAD1(logits, target) * M_LOG2E_F + offset) - 1.0f) * scale);
        }
        """#
}
