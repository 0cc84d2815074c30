/// The layer's memory-bound ops in OpenCL C, on the storage types of `OpenCLStorageTypes` with
/// fp32 arithmetic. Row ops (the norms, cross-entropy's forward) give each row a work-group of
/// `LG` work-items, each taking 4 adjacent values at a time (explicit vectors, as CPU compilers
/// do not vectorize the strided loop across work-items), reduced in local memory. A norm's
/// backward gives each work-group a block of rows and keeps its share of the weight gradients in
/// one row of `partial` (a work-item always owns the same columns, so no two touch one value);
/// `column_sums` adds the blocks' rows. Elementwise ops take one value per work-item.
enum LayerOpKernelSource {
    static let text = OpenCLStorageTypes.text + "\n" + #"""
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

        inline float sum4(float4 v) { return (v.x + v.y) + (v.z + v.w); }

        /* A row's values 4 at a time, then the tail (width not a multiple of 4) one at a time. */
        #define FOR_VECTORS(j) for (int j = (int)get_local_id(0) * 4; j + 4 <= width; j += LG * 4)
        #define FOR_TAIL(j) for (int j = (width & ~3) + (int)get_local_id(0); j < width; j += LG)

        /* --- norms ----------------------------------------------------------------------- */

        __kernel __attribute__((reqd_work_group_size(LG, 1, 1)))
        void rmsnorm_forward(const int width, const float eps, __global const storage_t *restrict x,
                             __global const storage_t *restrict w, __global storage_t *restrict y, __global float *restrict rstd) {
            __local float partial[LG];
            const size_t row = get_group_id(0), at = row * width;
            float4 squares = 0;
            float tail = 0;
            FOR_VECTORS(j) { const float4 v = LOADV(x, at + j); squares = fma(v, v, squares); }
            FOR_TAIL(j) { const float v = LOAD1(x, at + j); tail = fma(v, v, tail); }
            const float inverse = rsqrt(group_sum(sum4(squares) + tail, partial) / width + eps);
            FOR_VECTORS(j) STOREV(y, at + j, LOADV(x, at + j) * inverse * LOADV(w, j));
            FOR_TAIL(j) STORE1(y, at + j, LOAD1(x, at + j) * inverse * LOAD1(w, j));
            if (get_local_id(0) == 0) rstd[row] = inverse;
        }

        /* dx = rstd * (g - xh * mean(g * xh)), g = dy * w, xh = x * rstd; this block's dw in partial. */
        __kernel __attribute__((reqd_work_group_size(LG, 1, 1)))
        void rmsnorm_backward(const int rows, const int width, const int rowsPerGroup, __global const storage_t *restrict x,
                              __global const storage_t *restrict w, __global const storage_t *restrict dy,
                              __global const float *restrict rstd, __global storage_t *restrict dx, __global float *restrict partial) {
            __local float scratch[LG];
            const int first = get_group_id(0) * rowsPerGroup, last = min(rows, first + rowsPerGroup);
            __global float *dw = partial + (size_t)get_group_id(0) * width;
            FOR_VECTORS(j) vstore4((float4)0, 0, dw + j);
            FOR_TAIL(j) dw[j] = 0;
            for (int row = first; row < last; ++row) {
                const size_t at = (size_t)row * width;
                const float inverse = rstd[row];
                float4 dot4 = 0;
                float tail = 0;
                FOR_VECTORS(j) dot4 = fma(LOADV(dy, at + j) * LOADV(w, j), LOADV(x, at + j), dot4);
                FOR_TAIL(j) tail = fma(LOAD1(dy, at + j) * LOAD1(w, j), LOAD1(x, at + j), tail);
                const float projection = group_sum(sum4(dot4) + tail, scratch) * inverse * inverse / width;
                FOR_VECTORS(j) {
                    const float4 xv = LOADV(x, at + j), g = LOADV(dy, at + j);
                    STOREV(dx, at + j, inverse * (g * LOADV(w, j) - xv * projection));
                    vstore4(vload4(0, dw + j) + g * xv * inverse, 0, dw + j);
                }
                FOR_TAIL(j) {
                    const float xv = LOAD1(x, at + j), g = LOAD1(dy, at + j);
                    STORE1(dx, at + j, inverse * (g * LOAD1(w, j) - xv * projection));
                    dw[j] += g * xv * inverse;
                }
            }
        }

        __kernel __attribute__((reqd_work_group_size(LG, 1, 1)))
        void layernorm_forward(const int width, const float eps, __global const storage_t *restrict x,
                               __global const storage_t *restrict w, __global const storage_t *restrict b, __global storage_t *restrict y,
                               __global float *restrict mean, __global float *restrict rstd) {
            __local float partial[LG];
            const size_t row = get_group_id(0), at = row * width;
            float4 sum = 0;
            float tail = 0;
            FOR_VECTORS(j) sum += LOADV(x, at + j);
            FOR_TAIL(j) tail += LOAD1(x, at + j);
            const float mu = group_sum(sum4(sum) + tail, partial) / width;
            float4 squares = 0;
            tail = 0;
            FOR_VECTORS(j) { const float4 d = LOADV(x, at + j) - mu; squares = fma(d, d, squares); }
            FOR_TAIL(j) { const float d = LOAD1(x, at + j) - mu; tail = fma(d, d, tail); }
            const float inverse = rsqrt(group_sum(sum4(squares) + tail, partial) / width + eps);
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
            FOR_VECTORS(j) { vstore4((float4)0, 0, dw + j); vstore4((float4)0, 0, db + j); }
            FOR_TAIL(j) { dw[j] = 0; db[j] = 0; }
            for (int row = first; row < last; ++row) {
                const size_t at = (size_t)row * width;
                const float mu = mean[row], inverse = rstd[row];
                float4 sum = 0, dot4 = 0;
                float sumTail = 0, dotTail = 0;
                FOR_VECTORS(j) {
                    const float4 g = LOADV(dy, at + j) * LOADV(w, j);
                    sum += g;
                    dot4 = fma(g, LOADV(x, at + j) - mu, dot4);
                }
                FOR_TAIL(j) {
                    const float g = LOAD1(dy, at + j) * LOAD1(w, j);
                    sumTail += g;
                    dotTail = fma(g, LOAD1(x, at + j) - mu, dotTail);
                }
                const float meanG = group_sum(sum4(sum) + sumTail, scratch) / width;
                const float projection = group_sum(sum4(dot4) + dotTail, scratch) * inverse / width;
                FOR_VECTORS(j) {
                    const float4 xh = (LOADV(x, at + j) - mu) * inverse, d = LOADV(dy, at + j);
                    STOREV(dx, at + j, inverse * (d * LOADV(w, j) - meanG - xh * projection));
                    vstore4(vload4(0, dw + j) + d * xh, 0, dw + j);
                    vstore4(vload4(0, db + j) + d, 0, db + j);
                }
                FOR_TAIL(j) {
                    const float xh = (LOAD1(x, at + j) - mu) * inverse, d = LOAD1(dy, at + j);
                    STORE1(dx, at + j, inverse * (d * LOAD1(w, j) - meanG - xh * projection));
                    dw[j] += d * xh;
                    db[j] += d;
                }
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

        __kernel void gelu_forward(const int n, __global const storage_t *restrict x, __global storage_t *restrict y) {
            const int i = get_global_id(0);
            if (i >= n) return;
            const float v = LOAD1(x, i);
            STORE1(y, i, 0.5f * v * (1.0f + tanh(GELU_C * fma(GELU_A * v, v * v, v))));
        }

        __kernel void gelu_backward(const int n, __global const storage_t *restrict x, __global const storage_t *restrict dy,
                                    __global storage_t *restrict dx) {
            const int i = get_global_id(0);
            if (i >= n) return;
            const float v = LOAD1(x, i), th = tanh(GELU_C * fma(GELU_A * v, v * v, v));
            const float slope = 0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * GELU_C * (1.0f + 3.0f * GELU_A * v * v);
            STORE1(dx, i, LOAD1(dy, i) * slope);
        }

        inline float sigmoid(float z) { return 1.0f / (1.0f + exp(-z)); }

        __kernel void swiglu_forward(const int n, __global const storage_t *restrict gate, __global const storage_t *restrict up,
                                     __global storage_t *restrict y) {
            const int i = get_global_id(0);
            if (i >= n) return;
            const float g = LOAD1(gate, i);
            STORE1(y, i, g * sigmoid(g) * LOAD1(up, i));
        }

        __kernel void swiglu_backward(const int n, __global const storage_t *restrict gate, __global const storage_t *restrict up,
                                      __global const storage_t *restrict dy, __global storage_t *restrict dgate,
                                      __global storage_t *restrict dup) {
            const int i = get_global_id(0);
            if (i >= n) return;
            const float g = LOAD1(gate, i), u = LOAD1(up, i), d = LOAD1(dy, i), s = sigmoid(g);
            STORE1(dgate, i, d * u * s * (1.0f + g * (1.0f - s)));
            STORE1(dup, i, d * g * s);
        }

        __kernel void add(const int n, __global const storage_t *restrict a, __global const storage_t *restrict b,
                          __global storage_t *restrict y) {
            const int i = get_global_id(0);
            if (i >= n) return;
            STORE1(y, i, LOAD1(a, i) + LOAD1(b, i));
        }

        /* --- rotary embedding ------------------------------------------------------------- */

        /* Grid: (headDim / 2, rows * heads); direction -1 rotates back. */
        __kernel void rotary(const int headDim, const int heads, const float direction, __global const storage_t *restrict x,
                             __global const float *restrict cosines, __global const float *restrict sines, __global storage_t *restrict y) {
            const int i = get_global_id(0), pairs = headDim / 2;
            const size_t rowHead = get_global_id(1), row = rowHead / heads, at = rowHead * headDim;
            const float c = cosines[row * pairs + i], s = direction * sines[row * pairs + i];
            const float low = LOAD1(x, at + i), high = LOAD1(x, at + pairs + i);
            STORE1(y, at + i, low * c - high * s);
            STORE1(y, at + pairs + i, high * c + low * s);
        }

        /* --- cross-entropy ---------------------------------------------------------------- */

        /* One pass: each work-item keeps a running maximum and its sum scaled to it. */
        __kernel __attribute__((reqd_work_group_size(LG, 1, 1)))
        void cross_entropy_forward(const int width, __global const storage_t *restrict logits, __global const int *restrict targets,
                                   __global float *restrict loss, __global float *restrict lse) {
            __local float partial[LG];
            const size_t row = get_group_id(0), at = row * width;
            float m = -INFINITY, s = 0;
            FOR_VECTORS(j) {
                const float4 v = LOADV(logits, at + j);
                const float top = fmax(fmax(m, fmax(v.x, v.y)), fmax(v.z, v.w));
                s = s * exp(m - top) + sum4(exp(v - top));
                m = top;
            }
            FOR_TAIL(j) {
                const float v = LOAD1(logits, at + j), top = fmax(m, v);
                s = s * exp(m - top) + exp(v - top);
                m = top;
            }
            const float rowMax = group_max(m, partial);
            const float total = group_sum(m == -INFINITY ? 0.0f : s * exp(m - rowMax), partial);
            if (get_local_id(0) == 0) {
                const float logsumexp = rowMax + log(total);
                lse[row] = logsumexp;
                loss[row] = logsumexp - LOAD1(logits, at + targets[row]);
            }
        }

        /* dlogits = (softmax - one_hot(target)) * scale. Grid: (width, rows). */
        __kernel void cross_entropy_backward(const int width, const float scale, __global const storage_t *restrict logits,
                                             __global const int *restrict targets, __global const float *restrict lse,
                                             __global storage_t *restrict dlogits) {
            const int j = get_global_id(0);
            const size_t row = get_global_id(1), at = row * width + j;
            if (j >= width) return;
            const float p = exp(LOAD1(logits, at) - lse[row]);
            STORE1(dlogits, at, (j == targets[row] ? p - 1.0f : p) * scale);
        }
        """#
}
