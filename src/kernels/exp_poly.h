/* exp_poly.h — exp(x) for x <= 0 by a degree-6 polynomial (Cephes expf's
 * coefficients) times 2^n, in a scalar and an 8-lane AVX2 form that run the
 * very same fp32 operations in the same order (no FMA), so the two give the
 * same bits. Relative error ~2 ulp; x below -87 gives exp(-87). Used by the
 * softmax of the default path's f16 attention, where expf was a tenth of a
 * prompt's time (llama.cpp uses a polynomial exp there too). */
#ifndef OWL_KERNELS_EXP_POLY_H
#define OWL_KERNELS_EXP_POLY_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define EXP_POLY_MIN (-87.0f)
#define EXP_POLY_LOG2E 1.44269504088896341f
#define EXP_POLY_C1 0.693359375f
#define EXP_POLY_C2 (-2.12194440e-4f)
#define EXP_POLY_P0 1.9875691500e-4f
#define EXP_POLY_P1 1.3981999507e-3f
#define EXP_POLY_P2 8.3334519073e-3f
#define EXP_POLY_P3 4.1665795894e-2f
#define EXP_POLY_P4 1.6666665459e-1f
#define EXP_POLY_P5 5.0000001201e-1f

static inline float exp_poly(float x) {
    x = x > EXP_POLY_MIN ? x : EXP_POLY_MIN;
    const float n = nearbyintf(x * EXP_POLY_LOG2E);
    float r = x - n * EXP_POLY_C1;
    r = r - n * EXP_POLY_C2;
    float p = EXP_POLY_P0;
    p = p * r + EXP_POLY_P1;
    p = p * r + EXP_POLY_P2;
    p = p * r + EXP_POLY_P3;
    p = p * r + EXP_POLY_P4;
    p = p * r + EXP_POLY_P5;
    p = p * (r * r) + r;
    p = p + 1.0f;
    const uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float two_n;
    memcpy(&two_n, &bits, 4);
    return p * two_n;
}

#if defined(__AVX2__)
#include <immintrin.h>
static inline __m256 exp_poly8(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(EXP_POLY_MIN));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(EXP_POLY_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(EXP_POLY_C1)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(EXP_POLY_C2)));
    __m256 p = _mm256_set1_ps(EXP_POLY_P0);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_POLY_P1));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_POLY_P2));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_POLY_P3));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_POLY_P4));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_POLY_P5));
    p = _mm256_add_ps(_mm256_mul_ps(p, _mm256_mul_ps(r, r)), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
#endif


#if defined(__AVX512F__)
/* exp_poly, 16 lanes: the same fp32 operations in the same
 * order (no FMA), so the same bits */
static inline __m512 exp_poly16(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(EXP_POLY_MIN));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(EXP_POLY_LOG2E)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(EXP_POLY_C1)));
    r = _mm512_sub_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(EXP_POLY_C2)));
    __m512 p = _mm512_set1_ps(EXP_POLY_P0);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(EXP_POLY_P1));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(EXP_POLY_P2));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(EXP_POLY_P3));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(EXP_POLY_P4));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(EXP_POLY_P5));
    p = _mm512_add_ps(_mm512_mul_ps(p, _mm512_mul_ps(r, r)), r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    const __m512i e = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}
#endif

#endif
