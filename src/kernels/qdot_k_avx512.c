/* qdot_k_avx512.c — the K-quant dots (qdot_k_body.h) with AVX-512BW: 64
 * weights (two chunks of 32) per register, so half the instructions of
 * qdot_k_avx2.c per super-block. Pair p holds chunks 2p (low 256 bits)
 * and 2p+1 (high); maddubs and madd with the chunks' scales give 16 i32
 * lanes, and adding the high half to the low one at the end gives the
 * very integers of the AVX2 kernel's 8 lanes (lane l: the elements e with
 * e % 32 / 4 == l). The fp32 steps are the body's: bit-identical to the
 * scalar reference. Used by the avx512 and avx512vnni tables (vpdpbusd
 * would save nothing here: a scale multiply follows each 4-sum anyway). */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <string.h>

#include "../tensor/quants.h"
#include "qdot_k_simd.h"

typedef struct kw {
    __m512i q[4];  /* pair p: the weights of chunks 2p, 2p+1 as u8 */
    __m512i sc[4]; /* their scales as i16, one per pair of bytes */
    __m128i mins;  /* Q4_K/Q5_K: m0..m7 as i16 */
    float d, dmin;
} kw;

static inline __m512i two(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

static inline void unpack_k4_head(const uint8_t *scales, uint16_t d, uint16_t dmin, kw *u) {
    const __m256i sm = _mm256_cvtepu8_epi16(k4_scales_mins(scales));
    u->mins = _mm256_extracti128_si256(sm, 1);
    /* pair p: scale 2p in i16 lanes 0..15, 2p+1 in lanes 16..31 */
    const __m512i sc = _mm512_castsi256_si512(sm);
    for (int p = 0; p < 4; p++)
        u->sc[p] = _mm512_permutexvar_epi16(
            two(_mm256_set1_epi16((short)(2 * p)), _mm256_set1_epi16((short)(2 * p + 1))), sc);
    u->d = _cvtsh_ss(d);
    u->dmin = _cvtsh_ss(dmin);
}

static inline void unpack_q4_K(const block_q4_K *a, kw *u) {
    unpack_k4_head(a->scales, a->d, a->dmin, u);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int p = 0; p < 4; p++) {
        const __m256i b = _mm256_loadu_si256((const __m256i *)(a->qs + 32 * p));
        u->q[p] = two(_mm256_and_si256(b, m4), _mm256_and_si256(_mm256_srli_epi16(b, 4), m4));
    }
}

static inline void unpack_q5_K(const block_q5_K *a, kw *u) {
    unpack_k4_head(a->scales, a->d, a->dmin, u);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m512i b4 = _mm512_set1_epi8(0x10);
    /* bit c of qh[k] is bit 4 of element 32c + k: bits 2p, 2p+1 shifted
     * to bit 4 in the two halves (right first: a left shift of 16 bits
     * would drop the high byte's top bits) */
    const __m256i qh = _mm256_loadu_si256((const __m256i *)a->qh);
    const __m512i up = two(_mm256_set1_epi16(4), _mm256_set1_epi16(3));
    __m512i hb = two(qh, qh);
    for (int p = 0; p < 4; p++) {
        const __m256i b = _mm256_loadu_si256((const __m256i *)(a->qs + 32 * p));
        const __m512i lo = two(_mm256_and_si256(b, m4), _mm256_and_si256(_mm256_srli_epi16(b, 4), m4));
        u->q[p] = _mm512_or_si512(lo, _mm512_and_si512(_mm512_sllv_epi16(hb, up), b4));
        hb = _mm512_srli_epi16(hb, 2);
    }
}

static inline void unpack_q6_K(const block_q6_K *a, kw *u) {
    const __m512i m4 = _mm512_set1_epi8(0x0f), m2 = _mm512_set1_epi8(0x30);
    /* shifts bringing bits 2g, 2g+1 of qh to bits 4, 5: g = 0 | 1, 2 | 3 */
    const __m512i left = two(_mm256_set1_epi16(4), _mm256_set1_epi16(2));
    const __m512i right = two(_mm256_set1_epi16(0), _mm256_set1_epi16(2));
    for (int h = 0; h < 2; h++) {
        const __m512i l = _mm512_loadu_si512(a->ql + 64 * h); /* chunks 4h, 4h+1: low nibbles; 4h+2, 4h+3: high */
        const __m256i qh256 = _mm256_loadu_si256((const __m256i *)(a->qh + 32 * h));
        const __m512i qh = two(qh256, qh256);
        u->q[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, left), m2));
        u->q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                          _mm512_and_si512(_mm512_srlv_epi16(qh, right), m2));
    }
    /* pair p (chunks 2p, 2p+1): scales 4p .. 4p+3, each over 8 i16 lanes */
    const __m512i s16 = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a->scales)));
    for (int p = 0; p < 4; p++)
        u->sc[p] = _mm512_permutexvar_epi16(
            two(_mm256_setr_epi16((short)(4 * p), (short)(4 * p), (short)(4 * p), (short)(4 * p), (short)(4 * p),
                                  (short)(4 * p), (short)(4 * p), (short)(4 * p), (short)(4 * p + 1),
                                  (short)(4 * p + 1), (short)(4 * p + 1), (short)(4 * p + 1), (short)(4 * p + 1),
                                  (short)(4 * p + 1), (short)(4 * p + 1), (short)(4 * p + 1)),
                _mm256_setr_epi16((short)(4 * p + 2), (short)(4 * p + 2), (short)(4 * p + 2), (short)(4 * p + 2),
                                  (short)(4 * p + 2), (short)(4 * p + 2), (short)(4 * p + 2), (short)(4 * p + 2),
                                  (short)(4 * p + 3), (short)(4 * p + 3), (short)(4 * p + 3), (short)(4 * p + 3),
                                  (short)(4 * p + 3), (short)(4 * p + 3), (short)(4 * p + 3), (short)(4 * p + 3))),
            s16);
    u->d = _cvtsh_ss(a->d);
}

/* 16 lanes folded to the 8 of the AVX2 kernel: exact integer adds */
static inline __m256i fold(__m512i s) {
    return _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
}

static inline __m256i lanes_u8(const kw *u, const int8_t *qs) {
    __m512i s = _mm512_setzero_si512();
    for (int p = 0; p < 4; p++) {
        const __m512i x = _mm512_loadu_si512(qs + 64 * p);
        s = _mm512_add_epi32(s, _mm512_madd_epi16(u->sc[p], _mm512_maddubs_epi16(u->q[p], x)));
    }
    return fold(s);
}

static inline __m256i lanes_q6(const kw *u, const int8_t *qs) {
    const __m512i k32 = _mm512_set1_epi8(32);
    __m512i s = _mm512_setzero_si512();
    for (int p = 0; p < 4; p++) {
        const __m512i x = _mm512_loadu_si512(qs + 64 * p);
        const __m512i d = _mm512_sub_epi16(_mm512_maddubs_epi16(u->q[p], x), _mm512_maddubs_epi16(k32, x));
        s = _mm512_add_epi32(s, _mm512_madd_epi16(u->sc[p], d));
    }
    return fold(s);
}

#define KFN(name) name##_avx512
#include "qdot_k_body.h"
#undef KFN

#endif /* __x86_64__ */
