// Host compute and bandwidth probes. Each FMA probe exists once per instruction set, compiled with
// that set enabled by a target attribute, and the caller picks by what the CPU reports at run time:
// one portable binary still reaches the peak of the CPU it runs on.
#include "host_probes.h"

#include <immintrin.h>
#include <math.h>

nb_isa nb_host_best_isa(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return NB_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return NB_ISA_AVX2_FMA;
    return NB_ISA_SCALAR;
}

const char *nb_isa_name(nb_isa isa) {
    switch (isa) {
    case NB_ISA_AVX512: return "avx512f";
    case NB_ISA_AVX2_FMA: return "avx2+fma";
    default: return "scalar";
    }
}

// Twelve independent chains: enough to cover FMA latency (4-5 cycles) on two pipes. Each chain
// starts from `start`, known only at run time: a constant start could be folded by the compiler
// (1.0 is a fixed point of x * 0.999 + 0.001). One macro writes the probe for every ISA and type.
#define NB_CHAINS 12
#define FMA_PROBE(NAME, TARGET, VEC, SCALAR, LANES, SET1, FMADD, ADD, STOREU)                      \
    TARGET static double NAME(long iterations, double start, SCALAR *sink) {                       \
        const VEC m = SET1((SCALAR)0.999), c = SET1((SCALAR)0.001);                               \
        const SCALAR s = (SCALAR)start, d = (SCALAR)1e-3;                                         \
        VEC a0 = SET1(s), a1 = SET1(s + d), a2 = SET1(s + 2 * d), a3 = SET1(s + 3 * d);           \
        VEC a4 = SET1(s + 4 * d), a5 = SET1(s + 5 * d), a6 = SET1(s + 6 * d), a7 = SET1(s + 7 * d); \
        VEC a8 = SET1(s + 8 * d), a9 = SET1(s + 9 * d), a10 = SET1(s + 10 * d), a11 = SET1(s + 11 * d); \
        for (long n = 0; n < iterations; ++n) {                                                   \
            a0 = FMADD(a0, m, c); a1 = FMADD(a1, m, c); a2 = FMADD(a2, m, c); a3 = FMADD(a3, m, c); \
            a4 = FMADD(a4, m, c); a5 = FMADD(a5, m, c); a6 = FMADD(a6, m, c); a7 = FMADD(a7, m, c); \
            a8 = FMADD(a8, m, c); a9 = FMADD(a9, m, c); a10 = FMADD(a10, m, c); a11 = FMADD(a11, m, c); \
        }                                                                                         \
        VEC total = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));            \
        total = ADD(total, ADD(ADD(a8, a9), ADD(a10, a11)));                                      \
        SCALAR lanes[LANES], sum = 0;                                                             \
        STOREU(lanes, total);                                                                     \
        for (int i = 0; i < LANES; ++i) sum += lanes[i];                                          \
        *sink = sum;                                                                              \
        return (double)iterations * NB_CHAINS * LANES * 2;                                        \
    }

#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))
#define SCALAR_ONLY
#define SAME(x) (x)
#define PLUS(x, y) ((x) + (y))
#define STORE_ONE(lanes, value) ((lanes)[0] = (value))

FMA_PROBE(fma_fp32_avx512, AVX512, __m512, float, 16, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_storeu_ps)
FMA_PROBE(fma_fp64_avx512, AVX512, __m512d, double, 8, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_add_pd, _mm512_storeu_pd)
FMA_PROBE(fma_fp32_avx2, AVX2, __m256, float, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_storeu_ps)
FMA_PROBE(fma_fp64_avx2, AVX2, __m256d, double, 4, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_add_pd, _mm256_storeu_pd)
FMA_PROBE(fma_fp32_scalar, SCALAR_ONLY, float, float, 1, SAME, fmaf, PLUS, STORE_ONE)
FMA_PROBE(fma_fp64_scalar, SCALAR_ONLY, double, double, 1, SAME, fma, PLUS, STORE_ONE)

double nb_host_fma_fp32(nb_isa isa, long iterations, double start, float *sink) {
    switch (isa) {
    case NB_ISA_AVX512: return fma_fp32_avx512(iterations, start, sink);
    case NB_ISA_AVX2_FMA: return fma_fp32_avx2(iterations, start, sink);
    default: return fma_fp32_scalar(iterations, start, sink);
    }
}

double nb_host_fma_fp64(nb_isa isa, long iterations, double start, double *sink) {
    switch (isa) {
    case NB_ISA_AVX512: return fma_fp64_avx512(iterations, start, sink);
    case NB_ISA_AVX2_FMA: return fma_fp64_avx2(iterations, start, sink);
    default: return fma_fp64_scalar(iterations, start, sink);
    }
}

double nb_dependent_add_cycles(long iterations) {
#if defined(__x86_64__)
    long counter = iterations, value = 0;
    __asm__ volatile(
        "1:\n\t"
        "add $1, %0\n\t"
        "add $1, %0\n\t"
        "add $1, %0\n\t"
        "add $1, %0\n\t"
        "dec %1\n\t"
        "jnz 1b\n\t"
        : "+r"(value), "+r"(counter)
        :
        : "cc");
    return 4.0 * (double)iterations;
#else
    (void)iterations;
    return 0;
#endif
}

// The streaming kernels are plain loops: the compiler vectorizes them for the baseline ISA, and
// memory, not instructions, bounds them once the arrays are far larger than the caches.
float nb_stream_read(const float *a, size_t count) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3];
        s4 += a[i + 4]; s5 += a[i + 5]; s6 += a[i + 6]; s7 += a[i + 7];
    }
    for (; i < count; ++i) s0 += a[i];
    return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

void nb_stream_copy(float *restrict destination, const float *restrict source, size_t count) {
    for (size_t i = 0; i < count; ++i) destination[i] = source[i];
}

void nb_stream_triad(float *restrict a, const float *restrict b, const float *restrict c, float scalar, size_t count) {
    for (size_t i = 0; i < count; ++i) a[i] = b[i] + scalar * c[i];
}
