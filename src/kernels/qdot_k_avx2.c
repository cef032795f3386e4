/* qdot_k_avx2.c — AVX2 integer dots of K-quant weight rows (Q4_K, Q5_K,
 * Q6_K) with Q8_K activations, and the Q8_K activation quantizer: the
 * numbers of qdot_k.c and act_quantize_q8_K (quant_act.c), bit for bit.
 *
 * A super-block's weights are unpacked once into 8 registers of 32 bytes
 * (chunk c = elements 32c..32c+31) and 8 scale vectors; each activation
 * row then costs per chunk one maddubs (u8 weight x i8 activation -> i16
 * pair sums, never saturating: |pair| <= 2 * 63 * 128), one madd with the
 * chunk's scale (-> the 8 i32 lanes of qdot_k.c) and one add. qdot4 runs
 * four activation rows over one unpacking with the same operations. */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <string.h>

#include "../tensor/quants.h"
#include "qdot_k_simd.h"

/* ---- Q8_K activations ---------------------------------------------------- */

void act_quantize_q8_K_avx2(const float *restrict x, void *restrict dst, int64_t n) {
    block_q8_K *y = dst;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        /* max(|x|, m): a nan in x yields m, as the scalar > skips it */
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < QK_K; k += 8)
            m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)), m);
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* the signed value of the first element of largest |x| */
        const __m256 va = _mm256_set1_ps(amax);
        float max = 0;
        for (int k = 0; k < QK_K; k += 8) {
            int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)), va, _CMP_EQ_OQ));
            if (hit) {
                max = x[k + __builtin_ctz((unsigned)hit)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 vs = _mm256_set1_ps(iscale), magic = _mm256_set1_ps(12582912.0f);
        const __m256i mant = _mm256_set1_epi32(0x007fffff), half = _mm256_set1_epi32(0x00400000);
        const __m256i top = _mm256_set1_epi32(127), low = _mm256_set1_epi32(0xff);
        for (int k = 0; k < QK_K; k += 32) {
            __m256i v[4];
            for (int j = 0; j < 4; j++) {
                __m256 f = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), vs), magic);
                __m256i q = _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(f), mant), half);
                v[j] = _mm256_and_si256(_mm256_min_epi32(q, top), low); /* the low byte, as the cast */
            }
            /* 0..255 survive both unsigned packs; they work per 128-bit
             * lane, the permute restores the order */
            __m256i p = _mm256_packus_epi16(_mm256_packus_epi32(v[0], v[1]), _mm256_packus_epi32(v[2], v[3]));
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(y[i].qs + k), p);
            /* sums of 8 (q + 128) per 64-bit lane */
            __m256i s = _mm256_sad_epu8(_mm256_xor_si256(p, _mm256_set1_epi8(-128)), _mm256_setzero_si256());
            int64_t s8[4];
            _mm256_storeu_si256((__m256i *)s8, s);
            y[i].bsums[k / 16] = (int16_t)(s8[0] + s8[1] - 16 * 128);
            y[i].bsums[k / 16 + 1] = (int16_t)(s8[2] + s8[3] - 16 * 128);
        }
        y[i].d = 1.0f / iscale;
    }
}

/* ---- unpacking ------------------------------------------------------------- */

/* i16 lane k of v (k < 8) in all 16 lanes */
static inline __m256i bcast16(__m128i v, int k) {
    const __m256i both = _mm256_broadcastsi128_si256(v);
    return _mm256_shuffle_epi8(both, _mm256_set1_epi16((short)((2 * k + 1) << 8 | 2 * k)));
}

typedef struct kw {
    __m256i q[8];  /* chunk c: the 32 weights 32c.. as u8 */
    __m256i sc[8]; /* chunk c's scale in every i16 lane (Q6_K: two scales, 8 lanes each) */
    __m128i mins;  /* Q4_K/Q5_K: m0..m7 as i16 */
    float d, dmin;
} kw;

/* the scales, mins, d and dmin of a Q4_K or Q5_K super-block */
static inline void unpack_k4_head(const uint8_t *scales, uint16_t d, uint16_t dmin, kw *u) {
    const __m256i sm = _mm256_cvtepu8_epi16(k4_scales_mins(scales));
    const __m128i sc = _mm256_castsi256_si128(sm);
    u->mins = _mm256_extracti128_si256(sm, 1);
    for (int c = 0; c < 8; c++) u->sc[c] = bcast16(sc, c);
    u->d = _cvtsh_ss(d);
    u->dmin = _cvtsh_ss(dmin);
}

static inline void unpack_q4_K(const block_q4_K *a, kw *u) {
    unpack_k4_head(a->scales, a->d, a->dmin, u);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int j = 0; j < 4; j++) {
        const __m256i b = _mm256_loadu_si256((const __m256i *)(a->qs + 32 * j));
        u->q[2 * j] = _mm256_and_si256(b, m4);
        u->q[2 * j + 1] = _mm256_and_si256(_mm256_srli_epi16(b, 4), m4);
    }
}

static inline void unpack_q5_K(const block_q5_K *a, kw *u) {
    unpack_k4_head(a->scales, a->d, a->dmin, u);
    const __m256i m4 = _mm256_set1_epi8(0x0f), b4 = _mm256_set1_epi8(0x10);
    /* bit c of qh[k] is bit 4 of element 32c + k: shift it there, then
     * the next bit down to bit 0 for the next chunk */
    __m256i hb = _mm256_loadu_si256((const __m256i *)a->qh);
    for (int j = 0; j < 4; j++) {
        const __m256i b = _mm256_loadu_si256((const __m256i *)(a->qs + 32 * j));
        u->q[2 * j] = _mm256_or_si256(_mm256_and_si256(b, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), b4));
        u->q[2 * j + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 4), m4),
                                          _mm256_and_si256(_mm256_slli_epi16(hb, 3), b4));
        hb = _mm256_srli_epi16(hb, 2);
    }
}

/* Q6_K chunk c: scale 2c in i16 lanes 0..7, 2c+1 in lanes 8..15 */
static inline __m256i q6_scales(const int8_t *scales, int c) {
    static const uint8_t pick[8][16] = {
        {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
        {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
        {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5},
        {6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
        {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9},
        {10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
        {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13},
        {14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
    };
    const __m128i s8 = _mm_loadu_si128((const __m128i *)scales);
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s8, _mm_loadu_si128((const __m128i *)pick[c])));
}

static inline void unpack_q6_K(const block_q6_K *a, kw *u) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; h++) {
        const __m256i l0 = _mm256_loadu_si256((const __m256i *)(a->ql + 64 * h));
        const __m256i l1 = _mm256_loadu_si256((const __m256i *)(a->ql + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(a->qh + 32 * h));
        /* bits 2g, 2g+1 of qh to bits 4, 5 */
        const __m256i h0 = _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2);
        const __m256i h1 = _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2);
        const __m256i h2 = _mm256_and_si256(qh, m2);
        const __m256i h3 = _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2);
        u->q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, m4), h0);
        u->q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m4), h1);
        u->q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), h2);
        u->q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), h3);
    }
    for (int c = 0; c < 8; c++) u->sc[c] = q6_scales(a->scales, c);
    u->d = _cvtsh_ss(a->d);
}

/* ---- one activation row ---------------------------------------------------- */

/* the 8 lanes of sum sc * q * x over a super-block */
static inline __m256i lanes_u8(const kw *u, const int8_t *qs) {
    __m256i s = _mm256_setzero_si256();
    for (int c = 0; c < 8; c++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        s = _mm256_add_epi32(s, _mm256_madd_epi16(u->sc[c], _mm256_maddubs_epi16(u->q[c], x)));
    }
    return s;
}

/* Q6_K: the weights are q - 32, i.e. maddubs(q, x) - maddubs(32, x) */
static inline __m256i lanes_q6(const kw *u, const int8_t *qs) {
    const __m256i k32 = _mm256_set1_epi8(32);
    __m256i s = _mm256_setzero_si256();
    for (int c = 0; c < 8; c++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(u->q[c], x), _mm256_maddubs_epi16(k32, x));
        s = _mm256_add_epi32(s, _mm256_madd_epi16(u->sc[c], p));
    }
    return s;
}

#define KFN(name) name##_avx2
#include "qdot_k_body.h"
#undef KFN

#endif /* __x86_64__ */
