/* qdot_avx2.c — AVX2 integer dot products of a quantized weight row with
 * quantized activations (see quant_act.c for the numbers they compute),
 * and the f16 KV-cache helpers of attention. 32 products per block go
 * through one maddubs (u8 x i8 -> pairs of i16) and one madd (-> i32);
 * each block's integer sum is scaled in fp32. The kernels themselves are
 * in qdot_body.h, shared with the AVX512-VNNI variant. */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <string.h>

#include "../base/f16.h"
#include "../tensor/quants.h"
#include "exp_poly.h"

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
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

/* x(32) -> q(32) with d = amax / 127 and q = round-half-even(x * 127 / amax),
 * as act_quantize_q8_0 computes it (same operations, so the same bytes) */
static inline float quant_block(const float *x, int8_t *q, __m256i *isum) {
    __m256 v[4], sign = _mm256_set1_ps(-0.0f);
    for (int k = 0; k < 4; k++) v[k] = _mm256_loadu_ps(x + 8 * k);
    __m256 amax = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                                _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float mx = _mm_cvtss_f32(m4);
    const __m256 id = _mm256_set1_ps(mx != 0.0f ? 127.0f / mx : 0.0f);
    __m256i i[4];
    for (int k = 0; k < 4; k++)
        i[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], id),
                                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (isum) *isum = _mm256_add_epi32(_mm256_add_epi32(i[0], i[1]), _mm256_add_epi32(i[2], i[3]));
    /* i32 -> i16 -> i8; the packs work per 128-bit lane, the permute restores order */
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, p);
    return mx / 127.0f;
}

/* f32_to_f16 by the F16C instruction: the same round-to-nearest-even for
 * every finite value (the scales here are), a few cycles instead of a few
 * dozen */
static inline uint16_t f16c_round(float x) {
    return (uint16_t)_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

void act_quantize_q8_0_avx2(const float *restrict x, void *restrict dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0)
        y[i].d = f16c_round(quant_block(x, y[i].qs, NULL));
}

void act_quantize_q8_1_avx2(const float *restrict x, void *restrict dst, int64_t n) {
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / QK8_1; i++, x += QK8_1) {
        __m256i s8;
        float d = quant_block(x, y[i].qs, &s8);
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
        y[i].d = f16c_round(d);
        y[i].s = f16c_round(d * (float)_mm_cvtsi128_si32(s4));
    }
}

/* swiglu_poly, 8 at a time: the same operations, the same bits */
void swiglu_poly_avx2(float *o, const float *g, const float *restrict u, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), neg = _mm256_set1_ps(-0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 e = exp_poly8(_mm256_xor_ps(x, neg));
        _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)),
                                              _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) o[i] = g[i] / (1.0f + exp_poly(-g[i])) * u[i];
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

/* attention_head_f16 (attention.c) with the f16 dot and axpy above inlined:
 * the same operations in the same order, so the same bits, without two
 * indirect calls per cell. */
void attention_head_f16_avx2(float *restrict out, const float *restrict q, const uint16_t *k,
                             const uint16_t *v, size_t stride, const int32_t *restrict cells,
                             int32_t N, int32_t D, float scale, float *restrict scores,
                             const kernel_table *kt) {
    (void)kt;
    memset(out, 0, sizeof(float) * (size_t)D);
    if (N <= 0) return;
    for (int32_t c = 0; c < N; c++) {
        const uint16_t *kc = k + (size_t)cells[c] * stride;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        int32_t i = 0;
        for (; i + 16 <= D; i += 16) {
            s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kc + i))),
                                 _mm256_loadu_ps(q + i), s0);
            s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kc + i + 8))),
                                 _mm256_loadu_ps(q + i + 8), s1);
        }
        float d = hsum8(_mm256_add_ps(s0, s1));
        for (; i < D; i++) d += f16_to_f32(kc[i]) * q[i];
        scores[c] = scale * d;
    }
    /* softmax_poly with the exponentials 8 at a time and its four partial
     * sums as the lanes of one vector (same bits) */
    __m256 vmx = _mm256_set1_ps(scores[0]);
    int32_t e = 0;
    for (; e + 8 <= N; e += 8) vmx = _mm256_max_ps(vmx, _mm256_loadu_ps(scores + e));
    float mx = hmax8(vmx);
    for (; e < N; e++)
        if (scores[e] > mx) mx = scores[e];
    const __m256 vm = _mm256_set1_ps(mx);
    __m256d acc = _mm256_setzero_pd();
    for (e = 0; e + 8 <= N; e += 8) {
        const __m256 ex = exp_poly8(_mm256_sub_ps(_mm256_loadu_ps(scores + e), vm));
        _mm256_storeu_ps(scores + e, ex);
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(ex)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(ex, 1)));
    }
    double sums[4];
    _mm256_storeu_pd(sums, acc);
    for (; e < N; e++) {
        scores[e] = exp_poly(scores[e] - mx);
        sums[e % 4] += (double)scores[e];
    }
    const float inv = (float)(1.0 / ((sums[0] + sums[1]) + (sums[2] + sums[3])));
    const __m256 vinv = _mm256_set1_ps(inv);
    for (e = 0; e + 8 <= N; e += 8)
        _mm256_storeu_ps(scores + e, _mm256_mul_ps(_mm256_loadu_ps(scores + e), vinv));
    for (; e < N; e++) scores[e] *= inv;
    if (D == 64) { /* the common head size: the output stays in registers */
        __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0, o4 = o0, o5 = o0, o6 = o0, o7 = o0;
        for (int32_t c = 0; c < N; c++) {
            const __m128i *vc = (const __m128i *)(v + (size_t)cells[c] * stride);
            const __m256 va = _mm256_set1_ps(scores[c]);
            o0 = _mm256_fmadd_ps(va, _mm256_cvtph_ps(_mm_loadu_si128(vc + 0)), o0);
            o1 = _mm256_fmadd_ps(va, _mm256_cvtph_ps(_mm_loadu_si128(vc + 1)), o1);
            o2 = _mm256_fmadd_ps(va, _mm256_cvtph_ps(_mm_loadu_si128(vc + 2)), o2);
            o3 = _mm256_fmadd_ps(va, _mm256_cvtph_ps(_mm_loadu_si128(vc + 3)), o3);
            o4 = _mm256_fmadd_ps(va, _mm256_cvtph_ps(_mm_loadu_si128(vc + 4)), o4);
            o5 = _mm256_fmadd_ps(va, _mm256_cvtph_ps(_mm_loadu_si128(vc + 5)), o5);
            o6 = _mm256_fmadd_ps(va, _mm256_cvtph_ps(_mm_loadu_si128(vc + 6)), o6);
            o7 = _mm256_fmadd_ps(va, _mm256_cvtph_ps(_mm_loadu_si128(vc + 7)), o7);
        }
        _mm256_storeu_ps(out, o0);
        _mm256_storeu_ps(out + 8, o1);
        _mm256_storeu_ps(out + 16, o2);
        _mm256_storeu_ps(out + 24, o3);
        _mm256_storeu_ps(out + 32, o4);
        _mm256_storeu_ps(out + 40, o5);
        _mm256_storeu_ps(out + 48, o6);
        _mm256_storeu_ps(out + 56, o7);
        return;
    }
    for (int32_t c = 0; c < N; c++) {
        const uint16_t *vc = v + (size_t)cells[c] * stride;
        const float p = scores[c];
        const __m256 va = _mm256_set1_ps(p);
        int32_t i = 0;
        for (; i + 8 <= D; i += 8) {
            __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vc + i)));
            _mm256_storeu_ps(out + i, _mm256_fmadd_ps(va, vv, _mm256_loadu_ps(out + i)));
        }
        for (; i < D; i++) out[i] += p * f16_to_f32(vc[i]);
    }
}

#endif /* __x86_64__ */
