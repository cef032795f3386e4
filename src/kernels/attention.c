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

void attention_head_f16(float *restrict out, const float *restrict q, const uint16_t *k,
                        const uint16_t *v, size_t stride, const int32_t *restrict cells,
                        int32_t N, int32_t D, float scale, float *restrict scores,
                        const kernel_table *kt) {
    memset(out, 0, sizeof(float) * (size_t)D);
    if (N <= 0) return;
    for (int32_t c = 0; c < N; c++)
        scores[c] = scale * kt->dot_f16(k + (size_t)cells[c] * stride, q, D);
    softmax_poly(scores, N);
    for (int32_t c = 0; c < N; c++)
        kt->axpy_f16(out, scores[c], v + (size_t)cells[c] * stride, D);
}

size_t attention_tile_scratch_floats(int32_t G, int32_t D, int32_t N) {
    /* as attention_avx512.c lays it out: Qt, Ot (16, G, D); the dot sums
     * (8, 8, 16); K and V tiles (ATTN_TILE_CELLS, D); one head's rows
     * (16, D); scores (N rounded up to 8, G, 16) */
    const size_t g = (size_t)G, d = (size_t)D;
    return 32 * g * d + 1024 + 2 * ATTN_TILE_CELLS * d + 16 * d + ((size_t)N + 7) / 8 * 8 * g * 16;
}
