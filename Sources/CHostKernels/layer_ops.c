// The layer's memory-bound ops on the host. Each body is written once for every storage type and
// inlined into one function per type (NB_BY_TYPE), so the loads and stores of fp32 compile to
// plain vector moves and the loops vectorize.
#include "layer_ops.h"
#include "host_math.h"

#include <immintrin.h>

NB_INLINE float nb_bits_float(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

NB_INLINE uint32_t nb_float_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

// fp16 to fp32 without branches: move the exponent and significand into place, rebias, then fix
// infinities and NaNs (exponent all ones) and renormalize subnormals by one subtraction.
NB_INLINE float nb_half_float(uint16_t h) {
    const uint32_t shifted = ((uint32_t)h & 0x7fffu) << 13, exponent = shifted & 0x0f800000u;
    uint32_t bits = shifted + ((127u - 15u) << 23);
    bits += exponent == 0x0f800000u ? (128u - 16u) << 23 : 0;
    float f = nb_bits_float(bits + (exponent == 0 ? 1u << 23 : 0));
    f -= exponent == 0 ? nb_bits_float(113u << 23) : 0.0f;
    return nb_bits_float(nb_float_bits(f) | ((uint32_t)h & 0x8000u) << 16);
}

// fp32 to fp16, to nearest even; overflow to infinity, NaN stays NaN.
NB_INLINE uint16_t nb_float_half(float value) {
    uint32_t bits = nb_float_bits(value);
    const uint32_t sign = bits & 0x80000000u;
    bits ^= sign;
    uint16_t half;
    if (bits >= (127u + 16u) << 23) {
        half = bits > 255u << 23 ? 0x7e00 : 0x7c00;
    } else if (bits < 113u << 23) {  // a subnormal half: let the fp32 adder round it
        const uint32_t magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
        half = (uint16_t)(nb_float_bits(nb_bits_float(bits) + nb_bits_float(magic)) - magic);
    } else {
        bits += ((15u - 127u) << 23) + 0xfffu + ((bits >> 13) & 1u);
        half = (uint16_t)(bits >> 13);
    }
    return half | (uint16_t)(sign >> 16);
}

// fp32 to bf16, to nearest even; a NaN is quieted and truncated, not rounded (rounding could carry
// it to infinity), as OpenCL's and Swift's conversions do. The choice is between two 32-bit values
// that depend on the input, so a vector of them narrows once (between constants it narrows twice).
NB_INLINE uint16_t nb_float_bf16(float value) {
    const uint32_t bits = nb_float_bits(value);
    return (uint16_t)((value != value ? bits | 0x400000u : bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

NB_INLINE float nb_load(int type, const void *p, long i) {
    if (type == NB_STORE_FP32) return ((const float *)p)[i];
    const uint16_t word = ((const uint16_t *)p)[i];
    return type == NB_STORE_FP16 ? nb_half_float(word) : nb_bits_float((uint32_t)word << 16);
}

NB_INLINE void nb_store(int type, void *p, long i, float v) {
    if (type == NB_STORE_FP32)
        ((float *)p)[i] = v;
    else
        ((uint16_t *)p)[i] = type == NB_STORE_FP16 ? nb_float_half(v) : nb_float_bf16(v);
}

// One function per storage type from one body: `body` is called with a constant type.
#define NB_BY_TYPE(type, body, ...)                                                                          \
    switch (type) {                                                                                          \
    case NB_STORE_FP32: body(NB_STORE_FP32, __VA_ARGS__); break;                                             \
    case NB_STORE_FP16: body(NB_STORE_FP16, __VA_ARGS__); break;                                             \
    default: body(NB_STORE_BF16, __VA_ARGS__); break;                                                        \
    }

// A 16-bit output is computed NB_NARROW_BLOCK values at a time into fp32 and narrowed in a loop of
// its own. Narrowed in the loop that takes an exponential per value, each vector's chain of
// dependent instructions grew so long that the out-of-order window, not the arithmetic units,
// bound the loop (AVX2, bf16 SwiGLU in cache: 0.86 -> 0.69 ns a value). fp32 results are stored where
// they are computed (through a buffer, 8-10% slower).
#define NB_NARROW_BLOCK 256

// Values in the block from `from`: fp32 takes the whole range as one block.
NB_INLINE long nb_block_count(int type, long from, long end) {
    return type == NB_STORE_FP32 || end - from < NB_NARROW_BLOCK ? end - from : NB_NARROW_BLOCK;
}

// Where a block's fp32 results go: the output itself for fp32, the buffer otherwise.
NB_INLINE float *nb_block_results(int type, void *y, long from, float *buffer) {
    return type == NB_STORE_FP32 ? (float *)y + from : buffer;
}

// Narrows a block to bf16 by the CPU's own instruction (AVX512-BF16's VCVTNE2PS2BF16: 32 values an
// instruction, rounded to nearest even, a NaN quieted and truncated). It flushes subnormals to zero,
// so 32 values holding one take the bit arithmetic: every value gets the bits nb_float_bf16 gives it.
__attribute__((target("avx512f,avx512dq,avx512bf16"))) static void nb_narrow_bf16_natively(uint16_t *y,
                                                                                          const float *values,
                                                                                          long count) {
    long k = 0;
    for (; k + 32 <= count; k += 32) {
        const __m512 low = _mm512_loadu_ps(values + k), high = _mm512_loadu_ps(values + k + 16);
        if (_mm512_fpclass_ps_mask(low, 0x20) | _mm512_fpclass_ps_mask(high, 0x20))  // 0x20: subnormal
            for (int q = 0; q < 32; ++q) y[k + q] = nb_float_bf16(values[k + q]);
        else
            _mm512_storeu_si512(y + k, (__m512i)_mm512_cvtne2ps_pbh(high, low));
    }
    for (; k < count; ++k) y[k] = nb_float_bf16(values[k]);
}

// Stores a block's results in a 16-bit output (bf16 by the instruction where the CPU has it); fp32
// results are in place already. Ops of a few operations a value store each value where they compute
// it instead: through blocks, the norms' forward and the residual ran slower from memory even with
// the instruction (Zen 4, bf16: the residual 106-135% of the copy per value, 88-122% through blocks).
NB_INLINE void nb_narrow_block(int type, void *y, long from, const float *results, long count) {
    if (type == NB_STORE_BF16 && __builtin_cpu_supports("avx512bf16"))
        nb_narrow_bf16_natively((uint16_t *)y + from, results, count);
    else if (type != NB_STORE_FP32)
        for (long k = 0; k < count; ++k) nb_store(type, y, from + k, results[k]);
}

// y[i] = value for every i in [begin, end), `value` an expression of i, through the blocks above.
#define NB_STORE_EACH(t, y, begin, end, i, value)                                                            \
    do {                                                                                                     \
        float nb_buffer[NB_NARROW_BLOCK];                                                                    \
        for (long from = (begin), to = (end), count; from < to; from += count) {                             \
            count = nb_block_count(t, from, to);                                                             \
            float *out = nb_block_results(t, y, from, nb_buffer);                                            \
            for (long i = from; i < from + count; ++i) out[i - from] = (value);                              \
            nb_narrow_block(t, y, from, out, count);                                                         \
        }                                                                                                    \
    } while (0)

// The norms' row sums run in NB_SUM_LANES independent lanes, four AVX-512 vectors (eight AVX2):
// with one vector's 16 the latency of its chain of adds, not the loads, bound each sweep. The
// softmax and the loss, bound by their exponentials, keep NB_LANES.
#define NB_SUM_LANES 64

// Sums of a row's values and of their squared distances from `center` (RMSNorm: 0; LayerNorm's
// variance: the mean), in independent lanes.
NB_INLINE float nb_sum_squares(int type, const void *x, long at, long width, float center) {
    float lanes[NB_SUM_LANES] = {0};
    long j = 0;
    for (; j + NB_SUM_LANES <= width; j += NB_SUM_LANES)
        for (int l = 0; l < NB_SUM_LANES; ++l) {
            const float d = nb_load(type, x, at + j + l) - center;
            lanes[l] += d * d;
        }
    float sum = 0;
    for (; j < width; ++j) sum += (nb_load(type, x, at + j) - center) * (nb_load(type, x, at + j) - center);
    for (int l = 0; l < NB_SUM_LANES; ++l) sum += lanes[l];
    return sum;
}

NB_INLINE float nb_sum(int type, const void *x, long at, long width) {
    float lanes[NB_SUM_LANES] = {0};
    long j = 0;
    for (; j + NB_SUM_LANES <= width; j += NB_SUM_LANES)
        for (int l = 0; l < NB_SUM_LANES; ++l) lanes[l] += nb_load(type, x, at + j + l);
    float sum = 0;
    for (; j < width; ++j) sum += nb_load(type, x, at + j);
    for (int l = 0; l < NB_SUM_LANES; ++l) sum += lanes[l];
    return sum;
}

/* --- norms --------------------------------------------------------------------------------- */

// A norm's backward of one row once its sums are known: dx = inverse·(dy·w - shift - xh·projection)
// with xh = (x - mean)·inverse (RMSNorm: mean and shift 0); dw += dy·xh, db += dy.
typedef struct {
    long at;
    float mean, inverse, shift, projection;
} nb_norm_row;

// Rows whose output sweeps run together: their weight gradients are summed before dw and db are
// read and written, once per group of rows rather than once per row.
#define NB_NORM_ROWS 4
_Static_assert(NB_NORM_ROWS == 4, "norm_backward_outputs has a case for each count up to 4");

// The output sweep of `count` (at most NB_NORM_ROWS) rows, read again from cache. Each count has
// its own loop, in which the number of rows is a constant, so the rows' terms stay in registers.
// A 16-bit dx is computed a block of columns at a time into fp32 and narrowed after, as NB_STORE_EACH
// does: narrowed in the loop, four rows' conversions pushed the rows' terms out of registers.
NB_INLINE void norm_backward_outputs(int t, int count, const void *restrict x, const void *restrict w,
                                     const void *restrict dy, void *restrict dx, float *restrict dw,
                                     float *restrict db, const nb_norm_row *rows, long width) {
    float blocks[NB_NORM_ROWS][NB_NARROW_BLOCK];
    for (long from = 0, columns; from < width; from += columns) {
        columns = nb_block_count(t, from, width);
        switch (count) {
#define NB_NORM_OUTPUTS(n)                                                                                   \
        case n:                                                                                              \
            for (long j = from; j < from + columns; ++j) {                                                   \
                const float wj = nb_load(t, w, j);                                                           \
                float weight = 0, bias = 0;                                                                  \
                for (int q = 0; q < n; ++q) {                                                                \
                    const nb_norm_row row = rows[q];                                                         \
                    const float d = nb_load(t, dy, row.at + j), xh = (nb_load(t, x, row.at + j) - row.mean) * row.inverse; \
                    const float value = row.inverse * (d * wj - row.shift - xh * row.projection);           \
                    if (t == NB_STORE_FP32) nb_store(t, dx, row.at + j, value);                              \
                    else blocks[q][j - from] = value;                                                        \
                    weight += d * xh;                                                                        \
                    bias += d;                                                                               \
                }                                                                                            \
                dw[j] += weight;                                                                             \
                if (db) db[j] += bias;                                                                       \
            }                                                                                                \
            break;
            NB_NORM_OUTPUTS(1)
            NB_NORM_OUTPUTS(2)
            NB_NORM_OUTPUTS(3)
            default: NB_NORM_OUTPUTS(NB_NORM_ROWS)
#undef NB_NORM_OUTPUTS
        }
        for (int q = 0; q < count; ++q) nb_narrow_block(t, dx, rows[q].at + from, blocks[q], columns);
    }
}

NB_INLINE void rmsnorm_forward(int t, const void *x, const void *w, void *y, float *rstd, long r0, long r1, long width,
                               float eps) {
    for (long r = r0; r < r1; ++r) {
        const long at = r * width;
        const float inverse = 1.0f / sqrtf(nb_sum_squares(t, x, at, width, 0) / (float)width + eps);
        for (long j = 0; j < width; ++j) nb_store(t, y, at + j, nb_load(t, x, at + j) * inverse * nb_load(t, w, j));
        rstd[r] = inverse;
    }
}

NB_CLONES
void nb_rmsnorm_forward(int type, const void *x, const void *w, void *y, float *rstd, long r0, long r1, long width,
                        float eps) {
    NB_BY_TYPE(type, rmsnorm_forward, x, w, y, rstd, r0, r1, width, eps)
}

// dx = rstd * (g - xh * mean(g * xh)) with g = dy * w and xh = x * rstd; dw += dy * xh.
NB_INLINE void rmsnorm_backward(int t, const void *x, const void *w, const void *dy, const float *rstd, void *dx,
                                float *dw, long r0, long r1, long width) {
    for (long j = 0; j < width; ++j) dw[j] = 0;
    for (long r = r0; r < r1; r += NB_NORM_ROWS) {
        const int count = r1 - r < NB_NORM_ROWS ? (int)(r1 - r) : NB_NORM_ROWS;
        nb_norm_row rows[NB_NORM_ROWS];
        for (int q = 0; q < count; ++q) {
            const long at = (r + q) * width;
            const float inverse = rstd[r + q];
            float lanes[NB_SUM_LANES] = {0};
            long j = 0;
            for (; j + NB_SUM_LANES <= width; j += NB_SUM_LANES)
                for (int l = 0; l < NB_SUM_LANES; ++l)
                    lanes[l] += nb_load(t, dy, at + j + l) * nb_load(t, w, j + l) * nb_load(t, x, at + j + l);
            float dot = 0;
            for (; j < width; ++j) dot += nb_load(t, dy, at + j) * nb_load(t, w, j) * nb_load(t, x, at + j);
            for (int l = 0; l < NB_SUM_LANES; ++l) dot += lanes[l];
            rows[q] = (nb_norm_row){at, 0, inverse, 0, dot * inverse / (float)width};
        }
        norm_backward_outputs(t, count, x, w, dy, dx, dw, NULL, rows, width);
    }
}

NB_CLONES
void nb_rmsnorm_backward(int type, const void *x, const void *w, const void *dy, const float *rstd, void *dx,
                         float *dw_partial, long r0, long r1, long width) {
    NB_BY_TYPE(type, rmsnorm_backward, x, w, dy, rstd, dx, dw_partial, r0, r1, width)
}

NB_INLINE void layernorm_forward(int t, const void *x, const void *w, const void *b, void *y, float *mean, float *rstd,
                                 long r0, long r1, long width, float eps) {
    for (long r = r0; r < r1; ++r) {
        const long at = r * width;
        const float mu = nb_sum(t, x, at, width) / (float)width;
        const float inverse = 1.0f / sqrtf(nb_sum_squares(t, x, at, width, mu) / (float)width + eps);
        for (long j = 0; j < width; ++j)
            nb_store(t, y, at + j, (nb_load(t, x, at + j) - mu) * inverse * nb_load(t, w, j) + nb_load(t, b, j));
        mean[r] = mu;
        rstd[r] = inverse;
    }
}

NB_CLONES
void nb_layernorm_forward(int type, const void *x, const void *w, const void *b, void *y, float *mean, float *rstd,
                          long r0, long r1, long width, float eps) {
    NB_BY_TYPE(type, layernorm_forward, x, w, b, y, mean, rstd, r0, r1, width, eps)
}

// dx = rstd * (g - mean(g) - xh * mean(g * xh)); dw += dy * xh; db += dy.
NB_INLINE void layernorm_backward(int t, const void *x, const void *w, const void *dy, const float *mean,
                                  const float *rstd, void *dx, float *dw, float *db, long r0, long r1, long width) {
    for (long j = 0; j < width; ++j) dw[j] = db[j] = 0;
    for (long r = r0; r < r1; r += NB_NORM_ROWS) {
        const int count = r1 - r < NB_NORM_ROWS ? (int)(r1 - r) : NB_NORM_ROWS;
        nb_norm_row rows[NB_NORM_ROWS];
        for (int q = 0; q < count; ++q) {
            const long at = (r + q) * width;
            const float mu = mean[r + q], inverse = rstd[r + q];
            float sumLanes[NB_SUM_LANES] = {0}, dotLanes[NB_SUM_LANES] = {0};
            long j = 0;
            for (; j + NB_SUM_LANES <= width; j += NB_SUM_LANES)
                for (int l = 0; l < NB_SUM_LANES; ++l) {
                    const float g = nb_load(t, dy, at + j + l) * nb_load(t, w, j + l);
                    sumLanes[l] += g;
                    dotLanes[l] += g * (nb_load(t, x, at + j + l) - mu);
                }
            float sum = 0, dot = 0;
            for (; j < width; ++j) {
                const float g = nb_load(t, dy, at + j) * nb_load(t, w, j);
                sum += g;
                dot += g * (nb_load(t, x, at + j) - mu);
            }
            for (int l = 0; l < NB_SUM_LANES; ++l) {
                sum += sumLanes[l];
                dot += dotLanes[l];
            }
            rows[q] = (nb_norm_row){at, mu, inverse, sum / (float)width, dot * inverse / (float)width};
        }
        norm_backward_outputs(t, count, x, w, dy, dx, dw, db, rows, width);
    }
}

NB_CLONES
void nb_layernorm_backward(int type, const void *x, const void *w, const void *dy, const float *mean,
                           const float *rstd, void *dx, float *dw_partial, float *db_partial, long r0, long r1,
                           long width) {
    NB_BY_TYPE(type, layernorm_backward, x, w, dy, mean, rstd, dx, dw_partial, db_partial, r0, r1, width)
}

NB_INLINE void column_sums(int t, const float *partial, long count, long width, void *out) {
    for (long j = 0; j < width; ++j) {
        float sum = 0;
        for (long p = 0; p < count; ++p) sum += partial[p * width + j];
        nb_store(t, out, j, sum);
    }
}

void nb_column_sums(int type, const float *partial, long count, long width, void *out) {
    NB_BY_TYPE(type, column_sums, partial, count, width, out)
}

/* --- activations and the residual ---------------------------------------------------------- */

// 2^y clamped to [2^-126, 2^126]: the activations' e^-z (z·log2 e folded into the arithmetic before
// it), where 1 / (1 + e^-z) is 0 or 1 in fp32 beyond the clamp.
NB_INLINE float nb_exp2_clamped(float y) {
    return nb_exp2_within(y < -126.0f ? -126.0f : y > 126.0f ? 126.0f : y);
}

// 2^y for y <= 0: the loss's exponentials, e^(x - m) = 2^(x·log2 e - m·log2 e).
NB_INLINE float nb_exp2_nonpositive(float y) {
    return nb_exp2_within(y < -126.0f ? -126.0f : y);
}

#define NB_GELU_C 0.7978845608028654f /* sqrt(2 / pi) */
#define NB_GELU_A 0.044715f

// GELU's tanh approximation 0.5·v·(1 + tanh z), z = C·(v + A·v³), is v·s with s = 1 / (1 + e^-2z):
// one exponential, one division, no cancellation in either tail. e^-2z = 2^(-2C·log2 e·v·(1 + A·v²)).
NB_INLINE float nb_gelu_exponential(float v) {
    return nb_exp2_clamped(v * (-2.0f * NB_GELU_C * NB_LOG2E + -2.0f * NB_GELU_C * NB_GELU_A * NB_LOG2E * (v * v)));
}

NB_INLINE float nb_gelu(float v) {
    return v / (1.0f + nb_gelu_exponential(v));
}

// The slope s + v·s·(1 - s)·2z' with 1 - s = e·s, z' = C·(1 + 3A·v²): e·s before the other factors,
// as e alone overflows them in the negative tail.
NB_INLINE float nb_gelu_slope(float v) {
    const float e = nb_gelu_exponential(v), s = 1.0f / (1.0f + e);
    return s + v * (e * s) * s * (2.0f * NB_GELU_C + 6.0f * NB_GELU_C * NB_GELU_A * (v * v));
}

NB_INLINE void gelu_forward(int t, const void *x, void *y, long begin, long end) {
    NB_STORE_EACH(t, y, begin, end, i, nb_gelu(nb_load(t, x, i)));
}

NB_CLONES
void nb_gelu_forward(int type, const void *x, void *y, long begin, long end) {
    NB_BY_TYPE(type, gelu_forward, x, y, begin, end)
}

NB_INLINE void gelu_backward(int t, const void *x, const void *dy, void *dx, long begin, long end) {
    NB_STORE_EACH(t, dx, begin, end, i, nb_load(t, dy, i) * nb_gelu_slope(nb_load(t, x, i)));
}

NB_CLONES
void nb_gelu_backward(int type, const void *x, const void *dy, void *dx, long begin, long end) {
    NB_BY_TYPE(type, gelu_backward, x, dy, dx, begin, end)
}

// e^-g, SiLU's exponential.
NB_INLINE float nb_silu_exponential(float g) {
    return nb_exp2_clamped(g * -NB_LOG2E);
}

NB_INLINE void swiglu_forward(int t, const void *gate, const void *up, void *y, long begin, long end) {
    NB_STORE_EACH(t, y, begin, end, i,
                  nb_load(t, gate, i) * nb_load(t, up, i) / (1.0f + nb_silu_exponential(nb_load(t, gate, i))));
}

NB_CLONES
void nb_swiglu_forward(int type, const void *gate, const void *up, void *y, long begin, long end) {
    NB_BY_TYPE(type, swiglu_forward, gate, up, y, begin, end)
}

NB_INLINE void swiglu_backward(int t, const void *gate, const void *up, const void *dy, void *dgate, void *dup,
                               long begin, long end) {
    float gateBuffer[NB_NARROW_BLOCK], upBuffer[NB_NARROW_BLOCK];
    for (long from = begin, count; from < end; from += count) {
        count = nb_block_count(t, from, end);
        float *outGate = nb_block_results(t, dgate, from, gateBuffer), *outUp = nb_block_results(t, dup, from, upBuffer);
        for (long k = 0; k < count; ++k) {
            const float g = nb_load(t, gate, from + k), u = nb_load(t, up, from + k), d = nb_load(t, dy, from + k);
            const float e = nb_silu_exponential(g), s = 1.0f / (1.0f + e);
            outGate[k] = d * u * s * (1.0f + g * (e * s));
            outUp[k] = d * g * s;
        }
        nb_narrow_block(t, dgate, from, outGate, count);
        nb_narrow_block(t, dup, from, outUp, count);
    }
}

NB_CLONES
void nb_swiglu_backward(int type, const void *gate, const void *up, const void *dy, void *dgate, void *dup, long begin,
                        long end) {
    NB_BY_TYPE(type, swiglu_backward, gate, up, dy, dgate, dup, begin, end)
}

NB_INLINE void add(int t, const void *a, const void *b, void *y, long begin, long end) {
    for (long i = begin; i < end; ++i) nb_store(t, y, i, nb_load(t, a, i) + nb_load(t, b, i));
}

NB_CLONES
void nb_add(int type, const void *a, const void *b, void *y, long begin, long end) {
    NB_BY_TYPE(type, add, a, b, y, begin, end)
}

/* --- rotary embedding ---------------------------------------------------------------------- */

NB_INLINE void rotary(int t, const void *x, const float *cos, const float *sin, void *y, long r0, long r1, long width,
                      long head_dim, float direction) {
    const long half = head_dim / 2;
    for (long r = r0; r < r1; ++r) {
        const float *c = cos + r * half, *s = sin + r * half;
        for (long head = r * width; head < (r + 1) * width; head += head_dim)
            for (long i = 0; i < half; ++i) {
                const float low = nb_load(t, x, head + i), high = nb_load(t, x, head + half + i), sine = direction * s[i];
                nb_store(t, y, head + i, low * c[i] - high * sine);
                nb_store(t, y, head + half + i, high * c[i] + low * sine);
            }
    }
}

NB_CLONES
void nb_rotary(int type, const void *x, const float *cos, const float *sin, void *y, long r0, long r1, long width,
               long head_dim, float direction) {
    NB_BY_TYPE(type, rotary, x, cos, sin, y, r0, r1, width, head_dim, direction)
}

/* --- cross-entropy ------------------------------------------------------------------------- */

// Values per block of cross-entropy's forward: small enough to stay in L1 between its two loops.
#define NB_CE_BLOCK 512

// Asks for values [begin, end) of x to be brought into cache, one request per 64-byte line.
NB_INLINE void nb_prefetch(int type, const void *x, long begin, long end) {
    const long size = type == NB_STORE_FP32 ? 4 : 2;
    for (long i = begin; i < end; i += 64 / size) __builtin_prefetch((const char *)x + i * size);
}

// One read of the row from memory: NB_CE_BLOCK values at a time, each lane's maximum over the block,
// then (the block now in L1) its exponentials, a lane's running sum rescaled when its maximum rises.
// The next block is requested first: its maximum's loop would otherwise wait on memory while the
// arithmetic units idle, as the exponentials' loop leaves the memory idle.
NB_INLINE void cross_entropy_forward(int t, const void *logits, const int *targets, float *loss, float *lse, long r0,
                                     long r1, long width) {
    const long vectorEnd = width / NB_LANES * NB_LANES;
    for (long r = r0; r < r1; ++r) {
        const long at = r * width;
        float maxima[NB_LANES], sums[NB_LANES] = {0};
        for (int l = 0; l < NB_LANES; ++l) maxima[l] = -INFINITY;
        long j = 0;
        while (j < vectorEnd) {
            const long end = j + NB_CE_BLOCK < vectorEnd ? j + NB_CE_BLOCK : vectorEnd;
            nb_prefetch(t, logits, at + end, end + NB_CE_BLOCK < vectorEnd ? at + end + NB_CE_BLOCK : at + vectorEnd);
            float top[NB_LANES];
            for (int l = 0; l < NB_LANES; ++l) top[l] = maxima[l];
            for (long k = j; k < end; k += NB_LANES)
                for (int l = 0; l < NB_LANES; ++l) {
                    const float v = nb_load(t, logits, at + k + l);
                    top[l] = v > top[l] ? v : top[l];
                }
            float offsets[NB_LANES];
            for (int l = 0; l < NB_LANES; ++l) {
                sums[l] *= nb_exp_nonpositive(maxima[l] - top[l]);
                maxima[l] = top[l];
                offsets[l] = -top[l] * NB_LOG2E;
            }
            for (long k = j; k < end; k += NB_LANES)
                for (int l = 0; l < NB_LANES; ++l)
                    sums[l] += nb_exp2_nonpositive(nb_load(t, logits, at + k + l) * NB_LOG2E + offsets[l]);
            j = end;
        }
        float m = -INFINITY;
        for (long k = j; k < width; ++k) m = nb_load(t, logits, at + k) > m ? nb_load(t, logits, at + k) : m;
        for (int l = 0; l < NB_LANES; ++l) m = maxima[l] > m ? maxima[l] : m;
        float sum = 0;
        for (; j < width; ++j) sum += nb_exp_nonpositive(nb_load(t, logits, at + j) - m);
        for (int l = 0; l < NB_LANES; ++l) sum += maxima[l] == -INFINITY ? 0 : sums[l] * nb_exp_nonpositive(maxima[l] - m);
        lse[r] = m + logf(sum);
        loss[r] = lse[r] - nb_load(t, logits, at + targets[r]);
    }
}

NB_CLONES
void nb_cross_entropy_forward(int type, const void *logits, const int *targets, float *loss, float *lse, long r0,
                              long r1, long width) {
    NB_BY_TYPE(type, cross_entropy_forward, logits, targets, loss, lse, r0, r1, width)
}

NB_INLINE void cross_entropy_backward(int t, const void *logits, const int *targets, const float *lse, float scale,
                                      void *dlogits, long r0, long r1, long width) {
    for (long r = r0; r < r1; ++r) {
        const long at = r * width;
        const float offset = -lse[r] * NB_LOG2E;
        NB_STORE_EACH(t, dlogits, at, at + width, j, nb_exp2_nonpositive(nb_load(t, logits, j) * NB_LOG2E + offset) * scale);
        const long target = at + targets[r];
        nb_store(t, dlogits, target, (nb_exp2_nonpositive(nb_load(t, logits, target) * NB_LOG2E + offset) - 1.0f) * scale);
    }
}

NB_CLONES
void nb_cross_entropy_backward(int type, const void *logits, const int *targets, const float *lse, float scale,
                               void *dlogits, long r0, long r1, long width) {
    NB_BY_TYPE(type, cross_entropy_backward, logits, targets, lse, scale, dlogits, r0, r1, width)
}
