/* vec_ref.c — scalar references of the f32 vector kernels: dot, axpy and
 * the matmul tile. The truth every ISA variant is tested against, and the
 * fallback on CPUs without AVX2. */
#include "kernels.h"

float dot_ref(const float *restrict a, const float *restrict b, int64_t n) {
    /* four partial sums, as the SIMD variants keep several lanes */
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

void axpy_ref(float *restrict y, float a, const float *restrict x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

void gemm_tile_ref(float *restrict y, ptrdiff_t ldy, const float *restrict x, ptrdiff_t ldx,
                   int64_t B, const float *restrict w, ptrdiff_t ldw, int64_t R, int64_t n,
                   bool add) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < R; r++) {
            float d = dot_ref(x + b * ldx, w + r * ldw, n);
            y[b * ldy + r] = add ? y[b * ldy + r] + d : d;
        }
}
