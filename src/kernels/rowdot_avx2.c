/* rowdot_avx2.c — AVX2+FMA+F16C dot products of one weight row in its file
 * type with f32 activations: the inner loop of a one-token matmul (decode),
 * where each weight is used once and the scalar dequantize-then-dot of the
 * type table (tensor/quants.c) is the bottleneck.
 *
 * Types: Q4_0, Q4_1, Q8_0, Q4_K, Q5_K, Q6_K, F16, F32. Same contract as
 * dtype_traits.dot_f32: n elements (a whole number of blocks), fp32
 * accumulation. Each weight is dequantized in registers
 * (w = d*q + m, or d*(q - 8), ...) and multiplied with x; the sum runs in
 * 8 lanes per block order, so results differ from the scalar reference
 * only by fp32 rounding (test_kernels holds them to it). */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "../base/f16.h"
#include "../tensor/quants.h"

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float half(uint16_t h) { return _cvtsh_ss(h); }

/* 32 4-bit values of a block (low nibbles = elements 0..15, high = 16..31)
 * as four vectors of 8 floats */
static inline void nibbles_to_f32(const uint8_t *qs, __m256 q[4]) {
    __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    __m128i m4 = _mm_set1_epi8(0x0f);
    __m128i lo = _mm_and_si128(raw, m4), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), m4);
    q[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo));
    q[1] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
    q[2] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi));
    q[3] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
}

float rowdot_q4_0_avx2(const void *restrict row, const float *restrict x, int64_t n) {
    const block_q4_0 *b = row;
    __m256 acc = _mm256_setzero_ps();
    const __m256 eight = _mm256_set1_ps(8.0f);
    for (int64_t i = 0; i < n / QK4_0; i++, x += QK4_0) {
        __m256 q[4], s;
        nibbles_to_f32(b[i].qs, q);
        s = _mm256_mul_ps(_mm256_sub_ps(q[0], eight), _mm256_loadu_ps(x));
        s = _mm256_fmadd_ps(_mm256_sub_ps(q[1], eight), _mm256_loadu_ps(x + 8), s);
        s = _mm256_fmadd_ps(_mm256_sub_ps(q[2], eight), _mm256_loadu_ps(x + 16), s);
        s = _mm256_fmadd_ps(_mm256_sub_ps(q[3], eight), _mm256_loadu_ps(x + 24), s);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(b[i].d)), s, acc);
    }
    return hsum8(acc);
}

float rowdot_q4_1_avx2(const void *restrict row, const float *restrict x, int64_t n) {
    const block_q4_1 *b = row;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK4_1; i++, x += QK4_1) {
        __m256 q[4];
        nibbles_to_f32(b[i].qs, q);
        __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
        __m256 x2 = _mm256_loadu_ps(x + 16), x3 = _mm256_loadu_ps(x + 24);
        /* sum (d q + m) x = d * sum q x + m * sum x */
        __m256 sq = _mm256_mul_ps(q[0], x0);
        sq = _mm256_fmadd_ps(q[1], x1, sq);
        sq = _mm256_fmadd_ps(q[2], x2, sq);
        sq = _mm256_fmadd_ps(q[3], x3, sq);
        __m256 sx = _mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(b[i].d)), sq, acc);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(b[i].m)), sx, acc);
    }
    return hsum8(acc);
}

float rowdot_q8_0_avx2(const void *restrict row, const float *restrict x, int64_t n) {
    const block_q8_0 *b = row;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        __m256i raw = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m128i lo = _mm256_castsi256_si128(raw), hi = _mm256_extracti128_si256(raw, 1);
        __m256 s = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), _mm256_loadu_ps(x));
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))),
                            _mm256_loadu_ps(x + 8), s);
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), _mm256_loadu_ps(x + 16), s);
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))),
                            _mm256_loadu_ps(x + 24), s);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(b[i].d)), s, acc);
    }
    return hsum8(acc);
}

/* 8 bytes at p (u8 or i8 per the cvt) as 8 floats */
static inline __m256 u8x8_f32(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }
static inline __m256 i8x8_f32(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }

/* sum over 32 u8 q[0..32) times x[0..32), 8 lanes; sx += the sum of x */
static inline __m256 dot32_u8(__m256i q, const float *x, __m256 *sx) {
    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
    __m256 x2 = _mm256_loadu_ps(x + 16), x3 = _mm256_loadu_ps(x + 24);
    *sx = _mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3));
    __m256 s = _mm256_mul_ps(u8x8_f32(lo), x0);
    s = _mm256_fmadd_ps(u8x8_f32(_mm_srli_si128(lo, 8)), x1, s);
    s = _mm256_fmadd_ps(u8x8_f32(hi), x2, s);
    return _mm256_fmadd_ps(u8x8_f32(_mm_srli_si128(hi, 8)), x3, s);
}

/* 6-bit scale and min of sub-block j of Q4_K / Q5_K (GGUF's packing: see
 * tensor/quants.c) */
static inline void k4_scale_min(int j, const uint8_t *q, float *sc, float *m) {
    if (j < 4) {
        *sc = (float)(q[j] & 63);
        *m = (float)(q[j + 4] & 63);
    } else {
        *sc = (float)((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        *m = (float)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Q4_K: x = d*sc_j * q - dmin*m_j in sub-block j of 32; the 32 bytes of
 * qs[32p..] hold sub-block 2p in their low nibbles and 2p+1 in the high */
float rowdot_q4_K_avx2(const void *restrict row, const float *restrict x, int64_t n) {
    const block_q4_K *b = row;
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        const float d = half(b[i].d), dmin = half(b[i].dmin);
        for (int p = 0; p < 4; p++) {
            __m256i raw = _mm256_loadu_si256((const __m256i *)(b[i].qs + 32 * p));
            for (int h = 0; h < 2; h++) {
                int j = 2 * p + h;
                float sc, m;
                k4_scale_min(j, b[i].scales, &sc, &m);
                __m256i q = _mm256_and_si256(h ? _mm256_srli_epi16(raw, 4) : raw, m4);
                __m256 sx, s = dot32_u8(q, x + 32 * j, &sx);
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d * sc), s, acc);
                acc = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * m), sx, acc);
            }
        }
    }
    return hsum8(acc);
}

/* Q5_K: as Q4_K with a fifth bit, bit j of qh[l], for element l of sub-block j */
float rowdot_q5_K_avx2(const void *restrict row, const float *restrict x, int64_t n) {
    const block_q5_K *b = row;
    const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        const float d = half(b[i].d), dmin = half(b[i].dmin);
        __m256i qh = _mm256_loadu_si256((const __m256i *)b[i].qh);
        for (int p = 0; p < 4; p++) {
            __m256i raw = _mm256_loadu_si256((const __m256i *)(b[i].qs + 32 * p));
            for (int h = 0; h < 2; h++) {
                int j = 2 * p + h;
                float sc, m;
                k4_scale_min(j, b[i].scales, &sc, &m);
                __m256i q = _mm256_and_si256(h ? _mm256_srli_epi16(raw, 4) : raw, m4);
                /* bit j of each qh byte, moved to bit 4 */
                __m256i hb = _mm256_and_si256(_mm256_srli_epi16(qh, j), one);
                q = _mm256_or_si256(q, _mm256_slli_epi16(hb, 4));
                __m256 sx, s = dot32_u8(q, x + 32 * j, &sx);
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d * sc), s, acc);
                acc = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * m), sx, acc);
            }
        }
    }
    return hsum8(acc);
}

/* Q6_K: x = d*scale_s * (q - 32), 16 sub-blocks s of 16, q of 6 bits: per
 * half of 128, quarter k (32 elements) takes nibble k/2 of
 * ql[32*(k%2) + l] and bits 2k..2k+1 of qh[l] */
float rowdot_q6_K_avx2(const void *restrict row, const float *restrict x, int64_t n) {
    const block_q6_K *b = row;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(3), c32 = _mm256_set1_epi8(32);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        const float d = half(b[i].d);
        for (int hf = 0; hf < 2; hf++) {
            const uint8_t *ql = b[i].ql + 64 * hf, *qhp = b[i].qh + 32 * hf;
            const int8_t *sc = b[i].scales + 8 * hf;
            const float *xh = x + 128 * hf;
            __m256i qh = _mm256_loadu_si256((const __m256i *)qhp);
            for (int k = 0; k < 4; k++) {
                __m256i lo = _mm256_loadu_si256((const __m256i *)(ql + 32 * (k % 2)));
                if (k >= 2) lo = _mm256_srli_epi16(lo, 4);
                lo = _mm256_and_si256(lo, m4);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2);
                __m256i q = _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)), c32);
                __m128i q0 = _mm256_castsi256_si128(q), q1 = _mm256_extracti128_si256(q, 1);
                const float *xk = xh + 32 * k;
                __m256 t0 = _mm256_mul_ps(i8x8_f32(q0), _mm256_loadu_ps(xk));
                t0 = _mm256_fmadd_ps(i8x8_f32(_mm_srli_si128(q0, 8)), _mm256_loadu_ps(xk + 8), t0);
                __m256 t1 = _mm256_mul_ps(i8x8_f32(q1), _mm256_loadu_ps(xk + 16));
                t1 = _mm256_fmadd_ps(i8x8_f32(_mm_srli_si128(q1, 8)), _mm256_loadu_ps(xk + 24), t1);
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)sc[2 * k]), t0, acc);
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)sc[2 * k + 1]), t1, acc);
            }
        }
    }
    return hsum8(acc);
}

float rowdot_f32_avx2(const void *restrict row, const float *restrict x, int64_t n) {
    return dot_avx2(row, x, n);
}

float rowdot_f16_avx2(const void *restrict row, const float *restrict x, int64_t n) {
    const uint16_t *h = row;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))),
                             _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 8))),
                             _mm256_loadu_ps(x + i + 8), s1);
    }
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += f16_to_f32(h[i]) * x[i];
    return s;
}

#endif /* __x86_64__ */
