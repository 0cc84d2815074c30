#ifndef NODEBENCH_LAYER_OPS_H
#define NODEBENCH_LAYER_OPS_H

// The memory-bound ops of a transformer layer on the host. Tensors are stored as `type`
// (NB_STORE_*) and computed in fp32; row statistics, losses and rotary tables are fp32. Each call
// covers rows [r0, r1) (row ops) or elements [begin, end) (elementwise ops), so callers split the
// work between threads. Weight gradients are written per call into `partial` rows of `width`
// floats and summed by nb_column_sums.

enum { NB_STORE_FP32 = 0, NB_STORE_FP16 = 1, NB_STORE_BF16 = 2 };

void nb_rmsnorm_forward(int type, const void *x, const void *w, void *y, float *rstd, long r0, long r1, long width,
                        float eps);
void nb_rmsnorm_backward(int type, const void *x, const void *w, const void *dy, const float *rstd, void *dx,
                         float *dw_partial, long r0, long r1, long width);
void nb_layernorm_forward(int type, const void *x, const void *w, const void *b, void *y, float *mean, float *rstd,
                          long r0, long r1, long width, float eps);
void nb_layernorm_backward(int type, const void *x, const void *w, const void *dy, const float *mean,
                           const float *rstd, void *dx, float *dw_partial, float *db_partial, long r0, long r1,
                           long width);
/// out[j] = sum of partial[p * width + j] over p < count, stored as `type`.
void nb_column_sums(int type, const float *partial, long count, long width, void *out);

void nb_gelu_forward(int type, const void *x, void *y, long begin, long end);
void nb_gelu_backward(int type, const void *x, const void *dy, void *dx, long begin, long end);
void nb_swiglu_forward(int type, const void *gate, const void *up, void *y, long begin, long end);
void nb_swiglu_backward(int type, const void *gate, const void *up, const void *dy, void *dgate, void *dup, long begin,
                        long end);
void nb_add(int type, const void *a, const void *b, void *y, long begin, long end);

/// Rotates each head of `head_dim` values of a row by the row's angles (cos, sin: head_dim / 2
/// per row); `direction` -1 rotates back (the backward pass).
void nb_rotary(int type, const void *x, const float *cos, const float *sin, void *y, long r0, long r1, long width,
               long head_dim, float direction);

/// loss[r] = logsumexp(row r) - row r[targets[r]]; lse[r] is kept for the backward.
void nb_cross_entropy_forward(int type, const void *logits, const int *targets, float *loss, float *lse, long r0,
                              long r1, long width);
/// dlogits = (softmax - one_hot(target)) * scale.
void nb_cross_entropy_backward(int type, const void *logits, const int *targets, const float *lse, float scale,
                               void *dlogits, long r0, long r1, long width);

#endif
