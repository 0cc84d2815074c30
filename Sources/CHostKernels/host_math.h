// What the host's C kernels share: one clone per instruction set, picked when the program loads;
// exponentials the compiler vectorizes; independent lanes for sums and maxima.
#ifndef NODEBENCH_HOST_MATH_H
#define NODEBENCH_HOST_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

// The AVX2 clone is picked by features (x86-64-v3: AVX2, FMA, BMI), not by name: the resolver of
// an "arch=haswell" clone compares the CPU's model, so AMD and newer Intel CPUs without AVX-512
// would run the baseline clone's SSE2.
#define NB_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
// A helper of a cloned kernel must be inlined into each clone: called, it runs as compiled for the
// baseline instruction set.
#define NB_INLINE static inline __attribute__((always_inline))

#define NB_LOG2E 1.44269504088896341f

// Adding this rounds y (|y| <= 126) to an integer n, held as n + 127 in the low bits of the sum's
// mantissa: shifted left by 23, those bits are the float 2^n (nb_exp2_scale).
#define NB_EXP2_SHIFT (12582912.0f + 127.0f) /* 1.5 * 2^23 + 127 */

// c0 + c1·x + ... + c5·x^5 by Horner's rule.
NB_INLINE float nb_degree5(float x, float c0, float c1, float c2, float c3, float c4, float c5) {
    return ((((c5 * x + c4) * x + c3) * x + c2) * x + c1) * x + c0;
}

NB_INLINE float nb_exp2_scale(float shifted) {
    uint32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    bits <<= 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return scale;
}

// exp(x) for x <= 0 (a score minus its row's maximum, or minus a magnitude), within about 2 ulp:
// x = n*ln2 + r with |r| <= ln2/2, exp(r) by a degree-5 minimax polynomial, 2^n built in the
// exponent. Below -87 it returns exp(-87), about 1.6e-38: nothing beside any sum it joins.
NB_INLINE float nb_exp_nonpositive(float x) {
    x = x < -87.0f ? -87.0f : x;
    const float shifted = x * NB_LOG2E + NB_EXP2_SHIFT, n = shifted - NB_EXP2_SHIFT;
    const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
    return nb_degree5(r, 1.0f, 9.999997020e-1f, 4.999915063e-1f, 1.666763574e-1f, 4.189793020e-2f, 8.290315047e-3f) *
           nb_exp2_scale(shifted);
}

// 2^y for y in [-126, 126], within about 2 ulp: y = n + f with |f| <= 1/2 (exact), 2^f by the
// polynomial above with r = f·ln2 folded into its coefficients. For an exponential whose factor
// log2(e) folds into the arithmetic before it: two operations fewer than the reduction x - n·ln2.
NB_INLINE float nb_exp2_within(float y) {
    const float shifted = y + NB_EXP2_SHIFT, f = y - (shifted - NB_EXP2_SHIFT);
    return nb_degree5(f, 1.0f, 6.931469740e-1f, 2.402224261e-1f, 5.550733592e-2f, 9.671512848e-3f, 1.326472773e-3f) *
           nb_exp2_scale(shifted);
}

// Maximum and sum in NB_LANES independent lanes: the compiler vectorizes them without being
// allowed to reassociate floating-point arithmetic in general.
#define NB_LANES 16

#endif
