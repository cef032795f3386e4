/* qdot_avx512.c — the integer dot kernels (qdot_body.h) with AVX512-VNNI:
 * a block's 32 u8 x i8 products are summed into 8 i32 lanes by one
 * vpdpbusd (256-bit, AVX512VL) instead of maddubs + madd. Same integers,
 * same fp32 operations after them: bit-identical to qdot_avx2.c. Chosen
 * by dispatch.c when the CPU has AVX512-VNNI and AVX512VL. */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <string.h>

#include "../tensor/quants.h"

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* sum over groups of four u8 a x i8 b, as 8 fp32 lanes */
static inline __m256 dot_u8_i8(__m256i a, __m256i b) {
    return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), a, b));
}

#define QFN(name) name##_vnni
#include "qdot_body.h"
#undef QFN

#endif /* __x86_64__ */
