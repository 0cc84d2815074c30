#ifndef NODEBENCH_HOST_KERNELS_H
#define NODEBENCH_HOST_KERNELS_H

/// One online-softmax step of attention on a block of scores (FlashAttention-2's inner update).
/// `scores` holds `rows` x `cols` scores, row stride `ld`; in row r only the first `valid[r]`
/// columns count (causal masking), the rest become 0. For each row: the running maximum `max[r]`
/// rises to cover the block, `scores` becomes exp(score - max), `correction[r]` is
/// exp(old max - new max) (by which earlier sums and outputs must be scaled) and `sum[r]` becomes
/// sum[r] * correction[r] + the row's new exponentials. Start a row with max -INFINITY, sum 0.
void nb_softmax_block(float *scores, int rows, int cols, int ld, const int *valid, float *max, float *sum,
                      float *correction);

/// Multiplies row r of the `rows` x `cols` matrix `values` (row stride `ld`) by `factors[r]`.
void nb_scale_rows(float *values, int rows, int cols, int ld, const float *factors);

/// The backward pass's probabilities, recomputed from the forward's logsumexps: in row r of the
/// `rows` x `cols` block (row stride `ld`) the first `valid[r]` scores become exp(score - lse[r]),
/// the rest 0.
void nb_probabilities_block(float *scores, int rows, int cols, int ld, const int *valid, const float *lse);

/// The scores' gradient dS = P * (dP - delta[r]) * scale, in place of dP (`gradient`), with P in
/// `probabilities`; both `rows` x `cols`, row stride `ld`.
void nb_score_gradient_block(float *gradient, const float *probabilities, int rows, int cols, int ld, const float *delta,
                             float scale);

/// Softmax's backward as a framework's math path runs it, in place of dP (`gradient`): row r becomes
/// P * (dP - sum_j P[r][j] * dP[r][j]) * scale, with P in `probabilities`; `rows` x `cols`, row stride `ld`.
void nb_softmax_backward_rows(float *gradient, const float *probabilities, int rows, int cols, int ld, float scale);

/// a·b + c as the clone of the host kernels picked for this CPU computes it: rounded once where the
/// clone has fused multiply-add (AVX2, AVX-512), twice in the baseline clone. Tells which runs.
float nb_clone_multiply_add(float a, float b, float c);

#endif
