/* attention.c — one query head against the cached keys and values of the
 * cells it may see: scores, softmax, weighted sum of values. The cell list
 * (which cells belong to the row's sequence and are not in its future) is
 * built by the caller once per row and shared by all heads. */
#include <string.h>

#include "kernels.h"

void attention_head(float *restrict out, const float *restrict q, const float *k,
                    const float *v, size_t stride, const int32_t *restrict cells, int32_t N,
                    int32_t D, float scale, float *restrict scores, const kernel_table *kt) {
    memset(out, 0, sizeof(float) * (size_t)D);
    if (N <= 0) return;
    for (int32_t c = 0; c < N; c++)
        scores[c] = scale * kt->dot(q, k + (size_t)cells[c] * stride, D);
    softmax(scores, N);
    for (int32_t c = 0; c < N; c++) kt->axpy(out, scores[c], v + (size_t)cells[c] * stride, D);
}
