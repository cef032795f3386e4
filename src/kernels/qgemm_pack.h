/* qgemm_pack.h — the repacking step shared by the VNNI GEMMs
 * (qgemm_avx512.c, qgemm_k_avx512.c): 16 weight rows turned so that one
 * zmm holds 4 consecutive bytes of each row, lane r for row r, ready for
 * vpdpbusd against 4 activation bytes broadcast to every lane.
 * Include only from files built with AVX-512 (F, BW, VL). */
#ifndef OWL_KERNELS_QGEMM_PACK_H
#define OWL_KERNELS_QGEMM_PACK_H

#include <immintrin.h>
#include <stdint.h>

/* transpose16x4: 16 rows of 16 bytes (p[r]) -> 4 zmm stored at out, zmm g
 * holding word g (bytes 4g..4g+3) of row r in lane r; xor flips bits (the
 * Q8_0 bias). */
static inline void transpose16x4(uint8_t *out, const uint8_t *const p[16], __m512i xor) {
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    __m512i B[4];
    for (int k = 0; k < 4; k++) {
        __m512i a = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p[4 * k]));
        a = _mm512_inserti32x4(a, _mm_loadu_si128((const __m128i *)p[4 * k + 1]), 1);
        a = _mm512_inserti32x4(a, _mm_loadu_si128((const __m128i *)p[4 * k + 2]), 2);
        a = _mm512_inserti32x4(a, _mm_loadu_si128((const __m128i *)p[4 * k + 3]), 3);
        /* 128-bit chunk g: word g of the four rows */
        B[k] = _mm512_permutexvar_epi32(idx, a);
    }
    const __m512i t0 = _mm512_shuffle_i32x4(B[0], B[1], _MM_SHUFFLE(1, 0, 1, 0));
    const __m512i t1 = _mm512_shuffle_i32x4(B[2], B[3], _MM_SHUFFLE(1, 0, 1, 0));
    const __m512i t2 = _mm512_shuffle_i32x4(B[0], B[1], _MM_SHUFFLE(3, 2, 3, 2));
    const __m512i t3 = _mm512_shuffle_i32x4(B[2], B[3], _MM_SHUFFLE(3, 2, 3, 2));
    _mm512_storeu_si512(out + 0, _mm512_xor_si512(_mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(2, 0, 2, 0)), xor));
    _mm512_storeu_si512(out + 64, _mm512_xor_si512(_mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(3, 1, 3, 1)), xor));
    _mm512_storeu_si512(out + 128, _mm512_xor_si512(_mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(2, 0, 2, 0)), xor));
    _mm512_storeu_si512(out + 192, _mm512_xor_si512(_mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(3, 1, 3, 1)), xor));
}

#endif
