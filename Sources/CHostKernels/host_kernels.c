// Host attention kernels in C: the online-softmax step between the two BLAS calls of fused
// attention. Its exponential is a branch-free polynomial, so the compiler vectorizes the loop;
// libm's expf would cost more than the GEMMs around it. One clone per instruction set, picked
// when the program loads.
#include "host_kernels.h"
#include "host_math.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

NB_INLINE float nb_row_max(const float *row, int n) {
    float lanes[NB_LANES];
    for (int l = 0; l < NB_LANES; ++l) lanes[l] = -INFINITY;
    int j = 0;
    for (; j + NB_LANES <= n; j += NB_LANES)
        for (int l = 0; l < NB_LANES; ++l) lanes[l] = row[j + l] > lanes[l] ? row[j + l] : lanes[l];
    float result = -INFINITY;
    for (; j < n; ++j) result = row[j] > result ? row[j] : result;
    for (int l = 0; l < NB_LANES; ++l) result = lanes[l] > result ? lanes[l] : result;
    return result;
}

// Replaces row[j] by exp(row[j] - max) for j < n and returns their sum.
NB_INLINE float nb_exp_row(float *row, int n, float max) {
    float lanes[NB_LANES] = {0};
    int j = 0;
    for (; j + NB_LANES <= n; j += NB_LANES)
        for (int l = 0; l < NB_LANES; ++l) {
            const float p = nb_exp_nonpositive(row[j + l] - max);
            row[j + l] = p;
            lanes[l] += p;
        }
    float sum = 0;
    for (; j < n; ++j) {
        row[j] = nb_exp_nonpositive(row[j] - max);
        sum += row[j];
    }
    for (int l = 0; l < NB_LANES; ++l) sum += lanes[l];
    return sum;
}

NB_CLONES
void nb_softmax_block(float *scores, int rows, int cols, int ld, const int *valid, float *max, float *sum,
                      float *correction) {
    for (int r = 0; r < rows; ++r) {
        float *row = scores + (long)r * ld;
        const int n = valid[r] < cols ? valid[r] : cols;
        const float blockMax = nb_row_max(row, n);
        const float newMax = blockMax > max[r] ? blockMax : max[r];
        if (newMax == -INFINITY) {  // nothing valid yet in this row
            for (int j = 0; j < cols; ++j) row[j] = 0;
            correction[r] = 1;
            continue;
        }
        const float blockSum = nb_exp_row(row, n, newMax);
        for (int j = n; j < cols; ++j) row[j] = 0;
        correction[r] = max[r] == -INFINITY ? 0 : nb_exp_nonpositive(max[r] - newMax);
        sum[r] = sum[r] * correction[r] + blockSum;
        max[r] = newMax;
    }
}

NB_CLONES
void nb_scale_rows(float *values, int rows, int cols, int ld, const float *factors) {
    for (int r = 0; r < rows; ++r) {
        float *row = values + (long)r * ld;
        const float factor = factors[r];
        for (int j = 0; j < cols; ++j) row[j] *= factor;
    }
}

NB_CLONES
void nb_probabilities_block(float *scores, int rows, int cols, int ld, const int *valid, const float *lse) {
    for (int r = 0; r < rows; ++r) {
        float *row = scores + (long)r * ld;
        const int n = valid[r] < cols ? valid[r] : cols;
        for (int j = 0; j < n; ++j) {
            // A score minus its row's logsumexp is at most 0, up to rounding.
            const float x = row[j] - lse[r];
            row[j] = nb_exp_nonpositive(x < 0 ? x : 0);
        }
        for (int j = n; j < cols; ++j) row[j] = 0;
    }
}

NB_CLONES
void nb_score_gradient_block(float *gradient, const float *probabilities, int rows, int cols, int ld, const float *delta,
                             float scale) {
    for (int r = 0; r < rows; ++r) {
        float *row = gradient + (long)r * ld;
        const float *p = probabilities + (long)r * ld;
        const float d = delta[r];
        for (int j = 0; j < cols; ++j) row[j] = p[j] * (row[j] - d) * scale;
    }
}

NB_CLONES
void nb_softmax_backward_rows(float *gradient, const float *probabilities, int rows, int cols, int ld, float scale) {
    for (int r = 0; r < rows; ++r) {
        float *row = gradient + (long)r * ld;
        const float *p = probabilities + (long)r * ld;
        // Eight partial sums, so the dot product vectorizes without reassociating a single sum.
        float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int j = 0;
        for (; j + 8 <= cols; j += 8)
            for (int lane = 0; lane < 8; ++lane) partial[lane] += p[j + lane] * row[j + lane];
        float dot = 0;
        for (int lane = 0; lane < 8; ++lane) dot += partial[lane];
        for (; j < cols; ++j) dot += p[j] * row[j];
        for (j = 0; j < cols; ++j) row[j] = p[j] * (row[j] - dot) * scale;
    }
}

NB_CLONES
float nb_clone_multiply_add(float a, float b, float c) { return a * b + c; }
