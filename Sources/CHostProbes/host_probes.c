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
// (1.0 is a fixed point of x * 0.999 + 0.001).
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define NB_CHAINS 12

__attribute__((target("avx512f"))) static double fma_fp32_avx512(long iterations, double start, float *sink) {
    const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
#define DECLARE(i) __m512 a##i = _mm512_set1_ps((float)start + (float)(i) * 1e-3f);
    CHAINS(DECLARE)
#undef DECLARE
    for (long n = 0; n < iterations; ++n) {
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, m, c);
        CHAINS(STEP)
#undef STEP
    }
    __m512 total = _mm512_setzero_ps();
#define SUM(i) total = _mm512_add_ps(total, a##i);
    CHAINS(SUM)
#undef SUM
    *sink = _mm512_reduce_add_ps(total);
    return (double)iterations * NB_CHAINS * 16 * 2;
}

__attribute__((target("avx512f"))) static double fma_fp64_avx512(long iterations, double start, double *sink) {
    const __m512d m = _mm512_set1_pd(0.999), c = _mm512_set1_pd(0.001);
#define DECLARE(i) __m512d a##i = _mm512_set1_pd(start + (double)(i) * 1e-3);
    CHAINS(DECLARE)
#undef DECLARE
    for (long n = 0; n < iterations; ++n) {
#define STEP(i) a##i = _mm512_fmadd_pd(a##i, m, c);
        CHAINS(STEP)
#undef STEP
    }
    __m512d total = _mm512_setzero_pd();
#define SUM(i) total = _mm512_add_pd(total, a##i);
    CHAINS(SUM)
#undef SUM
    *sink = _mm512_reduce_add_pd(total);
    return (double)iterations * NB_CHAINS * 8 * 2;
}

__attribute__((target("avx2,fma"))) static double fma_fp32_avx2(long iterations, double start, float *sink) {
    const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
#define DECLARE(i) __m256 a##i = _mm256_set1_ps((float)start + (float)(i) * 1e-3f);
    CHAINS(DECLARE)
#undef DECLARE
    for (long n = 0; n < iterations; ++n) {
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, m, c);
        CHAINS(STEP)
#undef STEP
    }
    __m256 total = _mm256_setzero_ps();
#define SUM(i) total = _mm256_add_ps(total, a##i);
    CHAINS(SUM)
#undef SUM
    float lanes[8];
    _mm256_storeu_ps(lanes, total);
    *sink = lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
    return (double)iterations * NB_CHAINS * 8 * 2;
}

__attribute__((target("avx2,fma"))) static double fma_fp64_avx2(long iterations, double start, double *sink) {
    const __m256d m = _mm256_set1_pd(0.999), c = _mm256_set1_pd(0.001);
#define DECLARE(i) __m256d a##i = _mm256_set1_pd(start + (double)(i) * 1e-3);
    CHAINS(DECLARE)
#undef DECLARE
    for (long n = 0; n < iterations; ++n) {
#define STEP(i) a##i = _mm256_fmadd_pd(a##i, m, c);
        CHAINS(STEP)
#undef STEP
    }
    __m256d total = _mm256_setzero_pd();
#define SUM(i) total = _mm256_add_pd(total, a##i);
    CHAINS(SUM)
#undef SUM
    double lanes[4];
    _mm256_storeu_pd(lanes, total);
    *sink = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    return (double)iterations * NB_CHAINS * 4 * 2;
}

static double fma_fp32_scalar(long iterations, double start, float *sink) {
#define DECLARE(i) float a##i = (float)start + (float)(i) * 1e-3f;
    CHAINS(DECLARE)
#undef DECLARE
    for (long n = 0; n < iterations; ++n) {
#define STEP(i) a##i = fmaf(a##i, 0.999f, 0.001f);
        CHAINS(STEP)
#undef STEP
    }
    float total = 0;
#define SUM(i) total += a##i;
    CHAINS(SUM)
#undef SUM
    *sink = total;
    return (double)iterations * NB_CHAINS * 2;
}

static double fma_fp64_scalar(long iterations, double start, double *sink) {
#define DECLARE(i) double a##i = start + (double)(i) * 1e-3;
    CHAINS(DECLARE)
#undef DECLARE
    for (long n = 0; n < iterations; ++n) {
#define STEP(i) a##i = fma(a##i, 0.999, 0.001);
        CHAINS(STEP)
#undef STEP
    }
    double total = 0;
#define SUM(i) total += a##i;
    CHAINS(SUM)
#undef SUM
    *sink = total;
    return (double)iterations * NB_CHAINS * 2;
}

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
