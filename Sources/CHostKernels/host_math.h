// What the host's C kernels share: one clone per instruction set, picked when the program loads;
// an exponential the compiler vectorizes; independent lanes for sums and maxima.
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

// exp(x) for x <= 0 (a score minus its row's maximum, or minus a magnitude), within about 2 ulp:
// x = n*ln2 + r with |r| <= ln2/2, exp(r) by a degree-5 minimax polynomial, 2^n built in the
// exponent. Below -87 it returns exp(-87), about 1.6e-38: nothing beside any sum it joins.
NB_INLINE float nb_exp_nonpositive(float x) {
    x = x < -87.0f ? -87.0f : x;
    // Adding 1.5 * 2^23 rounds to an integer held in the low bits of the mantissa.
    const float shifted = x * 1.44269504088896341f + 12582912.0f, n = shifted - 12582912.0f;
    const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
    float p = 8.290315047e-3f;
    p = p * r + 4.189793020e-2f;
    p = p * r + 1.666763574e-1f;
    p = p * r + 4.999915063e-1f;
    p = p * r + 9.999997020e-1f;
    p = p * r + 1.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    bits = (bits - 0x4B400000 + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// Maximum and sum in NB_LANES independent lanes: the compiler vectorizes them without being
// allowed to reassociate floating-point arithmetic in general.
#define NB_LANES 16

#endif
