/// Polynomial exponentials in OpenCL C, for kernels whose exponentials a CPU compiler would make
/// library calls slow enough to bound them by arithmetic (PoCL's `exp`, `exp2` and `tanh`).
/// `EXP_FAMILY(T, AS_T, AS_INT_T)` defines them for one float type; a source instantiates it for
/// each type it uses.
enum OpenCLExponentials {
    static let text = #"""
        /* e^r·2^n for |r| <= ln2/2, with n + 127 in the low mantissa bits of `shifted` (n + 127 +
           1.5·2^23): a degree-5 minimax polynomial whose constant term is 1, 2^n those bits shifted
           into the exponent (n = -127 gives 0). exp(x) for x <= 0 within about 2 ulp, exp(-87) below
           -87 (the host's `nb_exp_nonpositive`); 2^x within about 2 ulp for -126 <= x <= 127, 0 below
           -126.5 (so a masked score's -inf gives 0); 2^y clamped to [2^-126, 2^126], the activations'
           e^-z = 2^(-z·log2 e) with log2 e folded into the arithmetic before it, where 1 / (1 + e^-z)
           is 0 or 1 in fp32 beyond the clamp. */
        #define EXP_SHIFT (12582912.0f + 127.0f)
        #define EXP_FAMILY(T, AS_T, AS_UINT_T)                                                    \
            __attribute__((overloadable)) inline T exp_reduced(T r, T shifted) {                  \
                T p = r * 8.290315047e-3f + 4.189793020e-2f;                                      \
                p = p * r + 1.666763574e-1f;                                                      \
                p = p * r + 4.999915063e-1f;                                                      \
                p = p * r + 9.999997020e-1f;                                                      \
                p = p * r + 1.0f;                                                                 \
                return p * AS_T(AS_UINT_T(shifted) << 23);                                        \
            }                                                                                     \
            __attribute__((overloadable)) inline T exp_nonpositive(T x) {                         \
                x = select(x, (T)-87.0f, isless(x, -87.0f)); /* NaN stays NaN */                \
                const T shifted = x * M_LOG2E_F + EXP_SHIFT, n = shifted - EXP_SHIFT;             \
                return exp_reduced((x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f, shifted); \
            }                                                                                     \
            __attribute__((overloadable)) inline T exp2_polynomial(T x) {                         \
                x = select(x, (T)-127.0f, isless(x, -127.0f));                                    \
                const T shifted = x + EXP_SHIFT, n = shifted - EXP_SHIFT;                         \
                return exp_reduced((x - n) * 0.693147180559945309f, shifted);                     \
            }                                                                                     \
            __attribute__((overloadable)) inline T exp2_clamped(T y) {                            \
                return exp2_polynomial(clamp(y, -126.0f, 126.0f));                                \
            }
        """#
}
