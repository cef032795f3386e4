/* qdot_avx2.c — AVX2 integer dot products of a quantized weight row with
 * quantized activations (see quant_act.c for the numbers they compute),
 * and the f16 KV-cache helpers of attention. 32 products per block go
 * through one maddubs (u8 x i8 -> pairs of i16) and one madd (-> i32);
 * each block's integer sum is scaled in fp32. */
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

/* 32 nibbles of a block as bytes 0..15: element j at byte j */
static inline __m256i nibbles(const uint8_t *qs) {
    __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

/* sum over pairs of u8 a x i8 b, as 8 fp32 lanes */
static inline __m256 dot_u8_i8(__m256i a, __m256i b) {
    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1));
    return _mm256_cvtepi32_ps(p);
}

/* the same for i8 a x i8 b: |a| x (b with a's sign) */
static inline __m256 dot_i8_i8(__m256i a, __m256i b) {
    return dot_u8_i8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

float qdot_q4_0_q8_0_avx2(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q4_0 *a = w;
    const block_q8_0 *b = xq;
    __m256 acc = _mm256_setzero_ps();
    const __m256i eight = _mm256_set1_epi8(8);
    for (int64_t i = 0; i < n / QK8_0; i++) {
        __m256i qa = _mm256_sub_epi8(nibbles(a[i].qs), eight);
        __m256i qb = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256 d = _mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d));
        acc = _mm256_fmadd_ps(d, dot_i8_i8(qa, qb), acc);
    }
    return hsum8(acc);
}

float qdot_q4_1_q8_1_avx2(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q4_1 *a = w;
    const block_q8_1 *b = xq;
    __m256 acc = _mm256_setzero_ps();
    float mins = 0;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        mins += _cvtsh_ss(a[i].m) * _cvtsh_ss(b[i].s);
        __m256i qb = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256 d = _mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d));
        acc = _mm256_fmadd_ps(d, dot_u8_i8(nibbles(a[i].qs), qb), acc);
    }
    return hsum8(acc) + mins;
}

float qdot_q8_0_q8_0_avx2(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q8_0 *a = w;
    const block_q8_0 *b = xq;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK8_0; i++) {
        __m256i qa = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i qb = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256 d = _mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d));
        acc = _mm256_fmadd_ps(d, dot_i8_i8(qa, qb), acc);
    }
    return hsum8(acc);
}

/* One weight row against four activation rows (stride xs bytes): the
 * weight block is unpacked once and serves four dots, each computed with
 * the very operations of the single-row kernel above, so every result is
 * bit-identical to it. */
void qdot4_q4_0_q8_0_avx2(const void *restrict w, const void *restrict xq, size_t xs,
                          float out[4], int64_t n) {
    const block_q4_0 *a = w;
    const block_q8_0 *b[4];
    for (int k = 0; k < 4; k++) b[k] = (const block_q8_0 *)((const char *)xq + k * xs);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    const __m256i eight = _mm256_set1_epi8(8);
    for (int64_t i = 0; i < n / QK8_0; i++) {
        __m256i qa = _mm256_sub_epi8(nibbles(a[i].qs), eight);
        __m256i ua = _mm256_sign_epi8(qa, qa);
        float da = _cvtsh_ss(a[i].d);
        for (int k = 0; k < 4; k++) {
            __m256i qb = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)b[k][i].qs), qa);
            __m256 d = _mm256_set1_ps(da * _cvtsh_ss(b[k][i].d));
            acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(ua, qb), acc[k]);
        }
    }
    for (int k = 0; k < 4; k++) out[k] = hsum8(acc[k]);
}

void qdot4_q4_1_q8_1_avx2(const void *restrict w, const void *restrict xq, size_t xs,
                          float out[4], int64_t n) {
    const block_q4_1 *a = w;
    const block_q8_1 *b[4];
    for (int k = 0; k < 4; k++) b[k] = (const block_q8_1 *)((const char *)xq + k * xs);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float mins[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / QK8_1; i++) {
        __m256i qa = nibbles(a[i].qs);
        float da = _cvtsh_ss(a[i].d), ma = _cvtsh_ss(a[i].m);
        for (int k = 0; k < 4; k++) {
            mins[k] += ma * _cvtsh_ss(b[k][i].s);
            __m256i qb = _mm256_loadu_si256((const __m256i *)b[k][i].qs);
            __m256 d = _mm256_set1_ps(da * _cvtsh_ss(b[k][i].d));
            acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(qa, qb), acc[k]);
        }
    }
    for (int k = 0; k < 4; k++) out[k] = hsum8(acc[k]) + mins[k];
}

void qdot4_q8_0_q8_0_avx2(const void *restrict w, const void *restrict xq, size_t xs,
                          float out[4], int64_t n) {
    const block_q8_0 *a = w;
    const block_q8_0 *b[4];
    for (int k = 0; k < 4; k++) b[k] = (const block_q8_0 *)((const char *)xq + k * xs);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < n / QK8_0; i++) {
        __m256i qa = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i ua = _mm256_sign_epi8(qa, qa);
        float da = _cvtsh_ss(a[i].d);
        for (int k = 0; k < 4; k++) {
            __m256i qb = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)b[k][i].qs), qa);
            __m256 d = _mm256_set1_ps(da * _cvtsh_ss(b[k][i].d));
            acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(ua, qb), acc[k]);
        }
    }
    for (int k = 0; k < 4; k++) out[k] = hsum8(acc[k]);
}

float dot_f16_avx2(const uint16_t *restrict a, const float *restrict x, int64_t n) {
    return rowdot_f16_avx2(a, x, n);
}

void axpy_f16_avx2(float *restrict y, float a, const uint16_t *restrict x, int64_t n) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, v, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) y[i] += a * f16_to_f32(x[i]);
}

#endif /* __x86_64__ */
