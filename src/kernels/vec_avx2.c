/* vec_avx2.c — AVX2+FMA variants of the f32 vector kernels (8 lanes).
 * Built with -mavx2 -mfma; called only through the dispatch table when the
 * CPU has both. The gemm tile runs a 2 x 4 micro-kernel: two activation
 * rows against four weight rows, so each load feeds two or four FMAs. */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* rmsnorm with the squares (fp32 products, as the reference) summed in
 * four double lanes; the scaling as the reference, 8 at a time */
void rmsnorm_avx2(float *o, const float *x, const float *restrict w, int64_t n, float eps) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 p = _mm256_mul_ps(v, v);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
    }
    double l[4];
    _mm256_storeu_pd(l, _mm256_add_pd(s0, s1));
    double ss = (l[0] + l[1]) + (l[2] + l[3]);
    for (; i < n; i++) ss += (double)(x[i] * x[i]);
    const float mean = (float)(ss / (double)n);
    const float r = 1.0f / sqrtf(mean + eps);
    const __m256 vr = _mm256_set1_ps(r);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vr),
                                              _mm256_loadu_ps(w + i)));
    for (; i < n; i++) o[i] = (x[i] * r) * w[i];
}

/* f32 -> f16, round to nearest even, by F16C */
void to_f16_avx2(uint16_t *restrict dst, const float *restrict x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++)
        dst[i] = (uint16_t)_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

float dot_avx2(const float *restrict a, const float *restrict b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

void axpy_avx2(float *restrict y, float a, const float *restrict x, int64_t n) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

/* y[0..nb)[0..nr) for nb <= 2 activation rows and nr <= 4 weight rows */
static inline void micro(float *restrict y, ptrdiff_t ldy, const float *restrict x, ptrdiff_t ldx,
                         int nb, const float *restrict w, ptrdiff_t ldw, int nr, int64_t n,
                         bool add) {
    __m256 acc[2][4];
    for (int b = 0; b < 2; b++)
        for (int r = 0; r < 4; r++) acc[b][r] = _mm256_setzero_ps();
    const float *x0 = x, *x1 = x + (nb > 1 ? ldx : 0);
    const float *w0 = w, *w1 = w + (nr > 1 ? ldw : 0), *w2 = w + (nr > 2 ? 2 * ldw : 0),
                *w3 = w + (nr > 3 ? 3 * ldw : 0);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a0 = _mm256_loadu_ps(x0 + i), a1 = _mm256_loadu_ps(x1 + i);
        __m256 v0 = _mm256_loadu_ps(w0 + i), v1 = _mm256_loadu_ps(w1 + i);
        __m256 v2 = _mm256_loadu_ps(w2 + i), v3 = _mm256_loadu_ps(w3 + i);
        acc[0][0] = _mm256_fmadd_ps(a0, v0, acc[0][0]);
        acc[0][1] = _mm256_fmadd_ps(a0, v1, acc[0][1]);
        acc[0][2] = _mm256_fmadd_ps(a0, v2, acc[0][2]);
        acc[0][3] = _mm256_fmadd_ps(a0, v3, acc[0][3]);
        acc[1][0] = _mm256_fmadd_ps(a1, v0, acc[1][0]);
        acc[1][1] = _mm256_fmadd_ps(a1, v1, acc[1][1]);
        acc[1][2] = _mm256_fmadd_ps(a1, v2, acc[1][2]);
        acc[1][3] = _mm256_fmadd_ps(a1, v3, acc[1][3]);
    }
    const float *xs[2] = {x0, x1}, *ws[4] = {w0, w1, w2, w3};
    for (int b = 0; b < nb; b++)
        for (int r = 0; r < nr; r++) {
            float s = hsum8(acc[b][r]);
            for (int64_t j = i; j < n; j++) s += xs[b][j] * ws[r][j];
            float *o = y + b * ldy + r;
            *o = add ? *o + s : s;
        }
}

void gemm_tile_avx2(float *restrict y, ptrdiff_t ldy, const float *restrict x, ptrdiff_t ldx,
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
