/* vec_avx512.c — AVX-512F variants of the f32 vector kernels (16 lanes).
 * Built with -mavx512f (and friends); called only through the dispatch
 * table when the CPU has AVX-512F. Tails use masked loads, so every length
 * stays in vector registers. The gemm tile runs a 2 x 4 micro-kernel: two
 * activation rows against four weight rows. */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

static inline __mmask16 tail_mask(int64_t left) {
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

float dot_avx512(const float *restrict a, const float *restrict b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

void axpy_avx512(float *restrict y, float a, const float *restrict x, int64_t n) {
    __m512 va = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 r = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
        _mm512_mask_storeu_ps(y + i, m, r);
    }
}

/* y[0..nb)[0..nr) for nb <= 2 activation rows and nr <= 4 weight rows */
static inline void micro(float *restrict y, ptrdiff_t ldy, const float *restrict x, ptrdiff_t ldx,
                         int nb, const float *restrict w, ptrdiff_t ldw, int nr, int64_t n,
                         bool add) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
    __m512 c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    const float *x0 = x, *x1 = x + (nb > 1 ? ldx : 0);
    const float *w0 = w, *w1 = w + (nr > 1 ? ldw : 0), *w2 = w + (nr > 2 ? 2 * ldw : 0),
                *w3 = w + (nr > 3 ? 3 * ldw : 0);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 a0 = _mm512_maskz_loadu_ps(m, x0 + i), a1 = _mm512_maskz_loadu_ps(m, x1 + i);
        __m512 v0 = _mm512_maskz_loadu_ps(m, w0 + i), v1 = _mm512_maskz_loadu_ps(m, w1 + i);
        __m512 v2 = _mm512_maskz_loadu_ps(m, w2 + i), v3 = _mm512_maskz_loadu_ps(m, w3 + i);
        c00 = _mm512_fmadd_ps(a0, v0, c00);
        c01 = _mm512_fmadd_ps(a0, v1, c01);
        c02 = _mm512_fmadd_ps(a0, v2, c02);
        c03 = _mm512_fmadd_ps(a0, v3, c03);
        c10 = _mm512_fmadd_ps(a1, v0, c10);
        c11 = _mm512_fmadd_ps(a1, v1, c11);
        c12 = _mm512_fmadd_ps(a1, v2, c12);
        c13 = _mm512_fmadd_ps(a1, v3, c13);
    }
    float s[2][4] = {
        {_mm512_reduce_add_ps(c00), _mm512_reduce_add_ps(c01), _mm512_reduce_add_ps(c02),
         _mm512_reduce_add_ps(c03)},
        {_mm512_reduce_add_ps(c10), _mm512_reduce_add_ps(c11), _mm512_reduce_add_ps(c12),
         _mm512_reduce_add_ps(c13)},
    };
    for (int b = 0; b < nb; b++)
        for (int r = 0; r < nr; r++) {
            float *o = y + b * ldy + r;
            *o = add ? *o + s[b][r] : s[b][r];
        }
}

void gemm_tile_avx512(float *restrict y, ptrdiff_t ldy, const float *restrict x, ptrdiff_t ldx,
                      int64_t B, const float *restrict w, ptrdiff_t ldw, int64_t R, int64_t n,
                      bool add) {
    for (int64_t b = 0; b < B; b += 2) {
        int nb = B - b >= 2 ? 2 : 1;
        for (int64_t r = 0; r < R; r += 4) {
            int nr = R - r >= 4 ? 4 : (int)(R - r);
            micro(y + b * ldy + r, ldy, x + b * ldx, ldx, nb, w + r * ldw, ldw, nr, n, add);
        }
    }
}

#endif /* __x86_64__ */
