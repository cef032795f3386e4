/* bf16_avx2.c — the BF16 default path (bf16.c) for CPUs without
 * AVX512-BF16, and the exact path's BF16 row dot, with AVX2 + FMA.
 *
 * bf16 -> fp32 is a shift (or a mask, for the odd element of a pair), so
 * vdpbf16ps can be replayed step for step: the 16 lanes are two ymm
 * accumulators (elements 0-15 and 16-31 of a group), each lane takes the
 * odd element and then the even one by fused multiply-add. The
 * instruction's DAZ/FTZ (subnormal inputs read as zero, subnormal results
 * flushed) come from MXCSR, set for the loop and restored before the
 * lanes are summed: bit-identical to qdot_bf16_ref. Empty asm statements
 * pin the loop between the two MXCSR writes (the compiler does not know
 * that arithmetic depends on MXCSR). */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "../base/f16.h"

#define DAZ_FTZ 0x8040u
#define AI static inline __attribute__((always_inline))

void act_quantize_bf16_avx2(const float *restrict x, void *restrict dst, int64_t n) {
    uint16_t *y = dst;
    const __m256i abs = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i bias = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1);
    const __m256i quiet = _mm256_set1_epi32(64);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(x + i));
        __m256i hi = _mm256_srli_epi32(u, 16);
        __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs), inf);
        __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(bias, _mm256_and_si256(hi, one)));
        r = _mm256_blendv_epi8(_mm256_srli_epi32(r, 16), _mm256_or_si256(hi, quiet), nan);
        r = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
        _mm_storeu_si128((__m128i *)(y + i), _mm256_castsi256_si128(r));
    }
    for (; i < n; i++) y[i] = f32_to_bf16(x[i]);
}

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* one group of 32 elements of MB activation rows against one weight row:
 * acc[2m], acc[2m+1] are row m's 16 lanes */
AI void group(__m256 *acc, const uint16_t *w, const uint16_t *const *x, int64_t i, const int MB) {
    const __m256i odd = _mm256_set1_epi32((int)0xffff0000u);
    for (int h = 0; h < 2; h++) {
        __m256i wv = _mm256_loadu_si256((const __m256i *)(w + i + 16 * h));
        __m256 wo = _mm256_castsi256_ps(_mm256_and_si256(wv, odd));
        __m256 we = _mm256_castsi256_ps(_mm256_slli_epi32(wv, 16));
#pragma GCC unroll 4
        for (int m = 0; m < MB; m++) {
            __m256i xv = _mm256_loadu_si256((const __m256i *)(x[m] + i + 16 * h));
            __m256 a = _mm256_fmadd_ps(wo, _mm256_castsi256_ps(_mm256_and_si256(xv, odd)), acc[2 * m + h]);
            acc[2 * m + h] = _mm256_fmadd_ps(we, _mm256_castsi256_ps(_mm256_slli_epi32(xv, 16)), a);
        }
    }
}

/* out[m] = qdot_bf16_ref(w, x[m], n) for m < MB */
AI void dots(float *out, const uint16_t *w, const uint16_t *const *x, int64_t n, const int MB) {
    __m256 acc[8];
    const unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | DAZ_FTZ);
#pragma GCC unroll 8
    for (int k = 0; k < 2 * MB; k++) {
        acc[k] = _mm256_setzero_ps();
        __asm__ volatile("" : "+x"(acc[k]));
    }
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) group(acc, w, x, i, MB);
    if (i < n) { /* the last group, zero-padded */
        uint16_t wt[32] = {0}, xt[4][32] = {{0}};
        const uint16_t *xp[4];
        size_t bytes = sizeof(uint16_t) * (size_t)(n - i);
        memcpy(wt, w + i, bytes);
        for (int m = 0; m < MB; m++) memcpy(xt[m], x[m] + i, bytes), xp[m] = xt[m];
        group(acc, wt, xp, 0, MB);
    }
#pragma GCC unroll 8
    for (int k = 0; k < 2 * MB; k++) __asm__ volatile("" : "+x"(acc[k]));
    _mm_setcsr(csr);
#pragma GCC unroll 4
    for (int m = 0; m < MB; m++) {
        __asm__ volatile("" : "+x"(acc[2 * m]), "+x"(acc[2 * m + 1]));
        out[m] = hsum8(_mm256_add_ps(acc[2 * m], acc[2 * m + 1]));
    }
}

float qdot_bf16_avx2(const void *restrict w, const void *restrict xq, int64_t n) {
    const uint16_t *x[1] = {xq};
    float out;
    dots(&out, w, x, n, 1);
    return out;
}

void qdot4_bf16_avx2(const void *restrict w, const void *restrict xq, size_t xs, float out[4],
                     int64_t n) {
    const uint16_t *x[4];
    for (int m = 0; m < 4; m++) x[m] = (const uint16_t *)((const char *)xq + m * xs);
    dots(out, w, x, n, 4);
}

/* the exact path: a bf16 row with fp32 activations (dot_f32 contract) */
float rowdot_bf16_avx2(const void *restrict row, const float *restrict x, int64_t n) {
    const uint16_t *h = row;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(h + i));
        __m256 w0 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(v)), 16));
        __m256 w1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(v, 1)), 16));
        s0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), s1);
    }
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += bf16_to_f32(h[i]) * x[i];
    return s;
}

#endif /* __x86_64__ */
