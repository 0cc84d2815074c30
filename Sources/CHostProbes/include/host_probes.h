#ifndef NODEBENCH_HOST_PROBES_H
#define NODEBENCH_HOST_PROBES_H
#include <stddef.h>

/// The widest vector instruction set the probes can use on this CPU, chosen at run time.
typedef enum { NB_ISA_SCALAR = 0, NB_ISA_AVX2_FMA = 1, NB_ISA_AVX512 = 2 } nb_isa;

nb_isa nb_host_best_isa(void);
/// Name of an instruction set, e.g. "avx512f".
const char *nb_isa_name(nb_isa isa);

/// Runs `iterations` rounds of independent fused multiply-add chains on one thread with `isa`,
/// starting near `start` (pass a value the compiler cannot see, such as 1.5 read at run time);
/// returns the floating-point operations performed. The result feeds `*sink` so nothing is elided.
double nb_host_fma_fp32(nb_isa isa, long iterations, double start, float *sink);
double nb_host_fma_fp64(nb_isa isa, long iterations, double start, double *sink);

/// Runs `iterations` rounds of four dependent integer additions (one cycle each on every x86-64
/// core since the Pentium) and returns the cycles that took; timing it gives the running clock.
/// Returns 0 where no such loop is written for the architecture.
double nb_dependent_add_cycles(long iterations);

/// Streaming kernels over `count` floats (STREAM's read, copy and triad).
float nb_stream_read(const float *a, size_t count);
void nb_stream_copy(float *restrict destination, const float *restrict source, size_t count);
void nb_stream_triad(float *restrict a, const float *restrict b, const float *restrict c, float scalar, size_t count);

#endif
