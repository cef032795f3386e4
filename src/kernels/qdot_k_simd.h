/* qdot_k_simd.h — helpers of the K-quant dot kernels (qdot_k_avx2.c,
 * qdot_k_avx512.c) that both compute with the same 128/256-bit operations:
 * the final horizontal sums, the 6-bit scales and mins of Q4_K/Q5_K, and
 * the min terms. Needs <immintrin.h>, <string.h> and quants.h. */
#ifndef OWL_KERNELS_QDOT_K_SIMD_H
#define OWL_KERNELS_QDOT_K_SIMD_H

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* (m0+m2) + (m1+m3) */
static inline float hsum4(__m128 s) {
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Q4_K / Q5_K scales: bytes sc0..sc7, m0..m7 */
static inline __m128i k4_scales_mins(const uint8_t *s) {
    uint32_t u[3];
    memcpy(u, s, 12);
    const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
    return _mm_setr_epi32((int)(u[0] & m6), (int)((u[2] & m4) | ((u[0] >> 6) & m2) << 4),
                          (int)(u[1] & m6), (int)(((u[2] >> 4) & m4) | ((u[1] >> 6) & m2) << 4));
}

/* Q4_K mins: lane p of madd(m, sums of sub-blocks) -> fma into acc */
static inline __m128 mins4(__m128i mins, const block_q8_K *b, float dmin, __m128 acc) {
    const __m256i bs = _mm256_loadu_si256((const __m256i *)b->bsums);
    const __m128i s = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
    return _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(_mm_madd_epi16(mins, s)), acc);
}

/* Q5_K mins: the integer total of the same */
static inline int mins_total(__m128i mins, const block_q8_K *b) {
    const __m256i bs = _mm256_loadu_si256((const __m256i *)b->bsums);
    const __m128i s = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
    __m128i p = _mm_madd_epi16(mins, s);
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, 0x4e));
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, 0xb1));
    return _mm_cvtsi128_si32(p);
}

#endif
