/* qdot_avx2.c — AVX2 integer dot products of a quantized weight row with
 * quantized activations (see quant_act.c for the numbers they compute),
 * and the f16 KV-cache helpers of attention. 32 products per block go
 * through one maddubs (u8 x i8 -> pairs of i16) and one madd (-> i32);
 * each block's integer sum is scaled in fp32. The kernels themselves are
 * in qdot_body.h, shared with the AVX512-VNNI variant. */
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

/* sum over groups of four u8 a x i8 b, as 8 fp32 lanes */
static inline __m256 dot_u8_i8(__m256i a, __m256i b) {
    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1));
    return _mm256_cvtepi32_ps(p);
}

#define QFN(name) name##_avx2
#include "qdot_body.h"
#undef QFN

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
