/* qdot_k.c — the integer dot products of K-quant weight rows (Q4_K, Q5_K,
 * Q6_K) with Q8_K activations: the scalar references of the default path.
 *
 * The default path aims for llama.cpp's tokens, so these compute what
 * llama.cpp's x86 (AVX2) vec_dot does, to the bit:
 *   - the integer products of a super-block (256 elements) are summed with
 *     their sub-block scales into 8 lanes, lane l holding the elements e
 *     with e % 32 / 4 == l (32 consecutive bytes in one 256-bit register,
 *     summed four by four). Integer sums are exact, so only the partition
 *     matters, not the order;
 *   - per super-block, lane l of an fp32 accumulator takes
 *     fma(d_x * d_w, (float)lane_l, acc_l); the 8 lanes are reduced as
 *     (a0+a4 + a2+a6) + (a1+a5 + a3+a7) at the end (hsum8 below);
 *   - the min terms of Q4_K (dmin * sum_k m_k * sum of sub-block k of x)
 *     go to 4 more fp32 lanes, lane p taking sub-blocks 2p and 2p+1,
 *     reduced as (m0+m2) + (m1+m3); those of Q5_K to one fp32 sum per row,
 *     each super-block's integer total fused in with one fma.
 * The ISA variants (qdot_k_avx2.c, qdot_k_avx512.c) do the same operations
 * and give the same bits; test_kquant holds them to it. Q5_0 x Q8_0
 * (below) follows the same rules. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "../base/f16.h"
#include "../tensor/quants.h"

/* the 6-bit scales and mins of Q4_K / Q5_K sub-blocks 0..7 */
static void k4_scales(const uint8_t *s, uint8_t sc[8], uint8_t m[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        m[j] = s[j + 4] & 63;
        sc[j + 4] = (uint8_t)((s[j + 8] & 0x0f) | ((s[j] >> 6) << 4));
        m[j + 4] = (uint8_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
    }
}

/* the 8-lane horizontal sum of llama.cpp's hsum_float_8 */
static float hsum8(const float a[8]) {
    float r0 = a[0] + a[4], r1 = a[1] + a[5], r2 = a[2] + a[6], r3 = a[3] + a[7];
    return (r0 + r2) + (r1 + r3);
}

/* acc[l] = fma(d, lane[l], acc[l]) */
static void lanes_fma(float acc[8], float d, const int32_t lane[8]) {
    for (int l = 0; l < 8; l++) acc[l] = fmaf(d, (float)lane[l], acc[l]);
}

float qdot_q4_K_q8_K_ref(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q4_K *a = w;
    const block_q8_K *b = xq;
    float acc[8] = {0}, accm[4] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sc[8], m[8];
        k4_scales(a[i].scales, sc, m);
        const float d = b[i].d * f16_to_f32(a[i].d);
        const float dmin = -b[i].d * f16_to_f32(a[i].dmin);
        const int16_t *bs = b[i].bsums;
        for (int p = 0; p < 4; p++) {
            int s = m[2 * p] * (bs[4 * p] + bs[4 * p + 1]) + m[2 * p + 1] * (bs[4 * p + 2] + bs[4 * p + 3]);
            accm[p] = fmaf(dmin, (float)s, accm[p]);
        }
        int32_t lane[8] = {0};
        for (int e = 0; e < QK_K; e++) {
            const uint8_t byte = a[i].qs[e / 64 * 32 + e % 32];
            const int q = (e / 32) % 2 ? byte >> 4 : byte & 15;
            lane[e % 32 / 4] += sc[e / 32] * q * b[i].qs[e];
        }
        lanes_fma(acc, d, lane);
    }
    return hsum8(acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]));
}

float qdot_q5_K_q8_K_ref(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q5_K *a = w;
    const block_q8_K *b = xq;
    float acc[8] = {0}, summs = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sc[8], m[8];
        k4_scales(a[i].scales, sc, m);
        const float d = b[i].d * f16_to_f32(a[i].d);
        const float dmin = -b[i].d * f16_to_f32(a[i].dmin);
        int s = 0;
        for (int k = 0; k < 8; k++) s += m[k] * (b[i].bsums[2 * k] + b[i].bsums[2 * k + 1]);
        summs = fmaf(dmin, (float)s, summs);
        int32_t lane[8] = {0};
        for (int e = 0; e < QK_K; e++) {
            const uint8_t byte = a[i].qs[e / 64 * 32 + e % 32];
            const int lo = (e / 32) % 2 ? byte >> 4 : byte & 15;
            const int q = lo | ((a[i].qh[e % 32] >> (e / 32)) & 1) << 4;
            lane[e % 32 / 4] += sc[e / 32] * q * b[i].qs[e];
        }
        lanes_fma(acc, d, lane);
    }
    return hsum8(acc) + summs;
}

float qdot_q6_K_q8_K_ref(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q6_K *a = w;
    const block_q8_K *b = xq;
    float acc[8] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = b[i].d * f16_to_f32(a[i].d);
        int32_t lane[8] = {0};
        for (int e = 0; e < QK_K; e++) {
            /* e = 128 h + 32 g + k: low 4 bits in ql[64 h + 32 (g % 2) + k]
             * (low nibble for g < 2), top 2 bits at 2 g in qh[32 h + k] */
            const int h = e / 128, g = e % 128 / 32, k = e % 32;
            const uint8_t lb = a[i].ql[64 * h + 32 * (g % 2) + k];
            const int q = (g < 2 ? lb & 15 : lb >> 4) | ((a[i].qh[32 * h + k] >> (2 * g)) & 3) << 4;
            lane[k / 4] += a[i].scales[e / 16] * (q - 32) * b[i].qs[e];
        }
        lanes_fma(acc, d, lane);
    }
    return hsum8(acc);
}

/* Q5_0 x Q8_0: the 32-element rows that Q4_K_M files hold wherever a
 * row's length is not a multiple of 256 (all of SmolLM2-135M's 576-wide
 * ones). llama.cpp's AVX2 dot: per block, the 8 lanes of 4-element
 * integer sums, acc_l = fma(d_w * d_x, lane_l, acc_l), hsum8 at the end
 * (qdot_body.h computes it so). */
float qdot_q5_0_q8_0_ref(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q5_0 *a = w;
    const block_q8_0 *b = xq;
    float acc[8] = {0};
    for (int64_t i = 0; i < n / QK5_0; i++) {
        uint32_t qh;
        memcpy(&qh, a[i].qh, 4);
        int32_t lane[8] = {0};
        for (int j = 0; j < QK5_0; j++) {
            const int lo = j < 16 ? a[i].qs[j] & 15 : a[i].qs[j - 16] >> 4;
            lane[j / 4] += (lo + (int)((qh >> j) & 1) * 16 - 16) * b[i].qs[j];
        }
        lanes_fma(acc, f16_to_f32(a[i].d) * f16_to_f32(b[i].d), lane);
    }
    return hsum8(acc);
}

/* four rows through the single-row reference: the definition of qdot4 */
#define QDOT4_REF(name)                                                                  \
    void qdot4_##name##_ref(const void *restrict w, const void *restrict xq, size_t xs,    \
                            float out[4], int64_t n) {                                     \
        for (int k = 0; k < 4; k++) out[k] = qdot_##name##_ref(w, (const char *)xq + k * xs, n); \
    }
QDOT4_REF(q4_K_q8_K)
QDOT4_REF(q5_K_q8_K)
QDOT4_REF(q6_K_q8_K)
QDOT4_REF(q5_0_q8_0)
