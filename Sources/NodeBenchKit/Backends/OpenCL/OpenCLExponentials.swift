/// Polynomial exponentials in OpenCL C, for kernels whose exponentials a CPU compiler would make
/// library calls slow enough to bound them by arithmetic (PoCL's `exp`, `exp2` and `tanh`).
/// `EXP_FAMILY(T, AS_T, AS_INT_T)` defines them for one float type; a source instantiates it for
/// each type it uses.
enum OpenCLExponentials {
    static let text = #"""
        /* e^r·2^n for |r| <= ln2/2, with n the integer held in the low mantissa bits of `shifted`
           (n + 1.5·2^23): a degree-5 minimax polynomial whose constant term is 1, 2^n built in the
           exponent (n = -127 gives 0). exp(x) for x <= 0 within about 2 ulp, exp(-87) below -87
           (the host's `nb_exp_nonpositive`); 2^x within about 2 ulp for -126 <= x <= 127, 0 below
           -126.5 (so a masked score's -inf gives 0); the logistic function from exp, exact in form. */
        #define EXP_FAMILY(T, AS_T, AS_INT_T)                                                     \
            __attribute__((overloadable)) inline T exp_reduced(T r, T shifted) {                  \
                T p = r * 8.290315047e-3f + 4.189793020e-2f;                                      \
                p = p * r + 1.666763574e-1f;                                                      \
                p = p * r + 4.999915063e-1f;                                                      \
                p = p * r + 9.999997020e-1f;                                                      \
                p = p * r + 1.0f;                                                                 \
                return p * AS_T((AS_INT_T(shifted) - 0x4B400000 + 127) << 23);                    \
            }                                                                                     \
            __attribute__((overloadable)) inline T exp_nonpositive(T x) {                         \
                x = select(x, (T)-87.0f, isless(x, -87.0f)); /* NaN stays NaN */                \
                const T shifted = x * 1.44269504088896341f + 12582912.0f, n = shifted - 12582912.0f; \
                return exp_reduced((x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f, shifted); \
            }                                                                                     \
            __attribute__((overloadable)) inline T exp2_polynomial(T x) {                         \
                x = select(x, (T)-127.0f, isless(x, -127.0f));                                    \
                const T shifted = x + 12582912.0f, n = shifted - 12582912.0f;                     \
                return exp_reduced((x - n) * 0.693147180559945309f, shifted);                     \
            }                                                                                     \
            __attribute__((overloadable)) inline T sigmoid(T z) {                                 \
                const T e = exp_nonpositive(-fabs(z));                                            \
                return select(e, (T)1.0f, isgreaterequal(z, 0.0f)) / (1.0f + e);                  \
            }
        """#
}
