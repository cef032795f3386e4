/* quant_act.c — activations quantized for the integer matmul of the
 * default (not exact) path, and the integer dot products that use them:
 * scalar references.
 *
 * The default path computes as llama.cpp does on x86, so that the two give
 * the same tokens: before a product with a Q4_0/Q8_0 (Q4_1) weight, each
 * block of 32 activations becomes Q8_0 (Q8_1) — d = amax / 127 stored as
 * f16, q = round-half-even(x * 127 / amax), and for Q8_1 s = d * sum q as
 * f16 — and a block's dot is d_w * d_x * (integer sum of q_w q_x), plus
 * m_w * s_x for Q4_1. Before a product with an F16 weight the activations
 * are rounded to f16. Accumulation is fp32. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "../base/f16.h"
#include "../tensor/quants.h"

/* amax of a block, d and the multiplier, as llama.cpp's AVX path takes them */
static inline float block_scale(const float *x, float *id) {
    float amax = 0;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
    *id = amax != 0.0f ? 127.0f / amax : 0.0f;
    return amax / 127.0f;
}

void act_quantize_q8_0(const float *restrict x, void *restrict dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        float id, d = block_scale(x, &id);
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)nearbyintf(x[j] * id);
    }
}

void act_quantize_q8_1(const float *restrict x, void *restrict dst, int64_t n) {
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / QK8_1; i++, x += QK8_1) {
        float id, d = block_scale(x, &id);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            y[i].qs[j] = (int8_t)nearbyintf(x[j] * id);
            sum += y[i].qs[j];
        }
        y[i].d = f32_to_f16(d);
        y[i].s = f32_to_f16(d * (float)sum);
    }
}

/* round half to even of |v| < 2^22 by the float trick llama.cpp's
 * nearest_int uses (v + 1.5 * 2^23 lands on an integer ulp); for other v
 * (inf, nan, huge) its bits give what llama.cpp's do */
static inline int32_t nearest_int_bits(float v) {
    float f = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* Q8_K as llama.cpp's quantize_row_q8_K makes it on x86 (its reference
 * quantizer): per 256, max = the first element of largest |x| (nans never
 * are), iscale = -127 / max, q = min(127, nearest_int(iscale * x)) kept
 * as its low byte, bsums = sums of 16, d = 1 / iscale. A block of zeros
 * gets d = 0 and zero qs and bsums (llama.cpp leaves its bsums as they
 * were; no dot reads them then, d being 0). */
void act_quantize_q8_K(const float *restrict x, void *restrict dst, int64_t n) {
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            int32_t v = nearest_int_bits(iscale * x[j]);
            y[i].qs[j] = (int8_t)(uint8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += y[i].qs[16 * g + j];
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

void act_round_f16(float *restrict dst, const float *restrict x, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = f16_to_f32(f32_to_f16(x[i]));
}

float qdot_q4_0_q8_0_ref(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q4_0 *a = w;
    const block_q8_0 *b = xq;
    float s = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0 / 2; j++) {
            sumi += ((a[i].qs[j] & 0x0f) - 8) * b[i].qs[j];
            sumi += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + QK8_0 / 2];
        }
        s += f16_to_f32(a[i].d) * f16_to_f32(b[i].d) * (float)sumi;
    }
    return s;
}

float qdot_q4_1_q8_1_ref(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q4_1 *a = w;
    const block_q8_1 *b = xq;
    float s = 0;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_1 / 2; j++) {
            sumi += (a[i].qs[j] & 0x0f) * b[i].qs[j];
            sumi += (a[i].qs[j] >> 4) * b[i].qs[j + QK8_1 / 2];
        }
        s += f16_to_f32(a[i].d) * f16_to_f32(b[i].d) * (float)sumi +
             f16_to_f32(a[i].m) * f16_to_f32(b[i].s);
    }
    return s;
}

float qdot_q8_0_q8_0_ref(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q8_0 *a = w;
    const block_q8_0 *b = xq;
    float s = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; j++) sumi += a[i].qs[j] * b[i].qs[j];
        s += f16_to_f32(a[i].d) * f16_to_f32(b[i].d) * (float)sumi;
    }
    return s;
}

/* four rows through the single-row reference: the definition of qdot4 */
#define QDOT4_REF(name)                                                                  \
    void qdot4_##name##_ref(const void *restrict w, const void *restrict xq, size_t xs,    \
                            float out[4], int64_t n) {                                     \
        for (int k = 0; k < 4; k++) out[k] = qdot_##name##_ref(w, (const char *)xq + k * xs, n); \
    }
QDOT4_REF(q4_0_q8_0)
QDOT4_REF(q4_1_q8_1)
QDOT4_REF(q8_0_q8_0)


float dot_f16_ref(const uint16_t *restrict a, const float *restrict x, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += f16_to_f32(a[i]) * x[i];
    return s;
}

void axpy_f16_ref(float *restrict y, float a, const uint16_t *restrict x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * f16_to_f32(x[i]);
}
