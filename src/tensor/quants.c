/* quants.c — scalar reference dequantize, quantize and fp32 dot for every
 * tensor type owl reads (block layouts in quants.h).
 *
 * Bit-exactness. The dequantizers do the same float operations, in the
 * same order, as ggml's reference code and gguf-py's quants.py (which
 * mirrors it): e.g. Q4_1 is (d * q) + m, Q4_K is (d * sc) * q - (dmin * m),
 * Q6_K is (d * sc) * q. Their products are exact (an f16 times small
 * integers fits in 24 bits), so only the final add rounds and even FMA
 * contraction could not change them. The quantizers are more delicate
 * (x * id + 8.5 truncated, least-squares searches in the K-quants), so the
 * library is built with -ffp-contract=off (CMakeLists.txt), as ggml's
 * reference is. test_dequant holds every type to fixtures from gguf-py
 * and from llama.cpp's C code, bit for bit.
 *
 * The quantizers round as ggml's reference does: truncation of x*id + 8.5
 * (Q4_0) or + 0.5 (Q4_1, Q5_1) or + 16.5 (Q5_0), roundf (half away from
 * zero) for Q8_0 / Q8_1, round half to even for Q8_K and the K-quants.
 * Conversions to integers are clamped first, so NaN or inf in the input
 * give a block of garbage values but never undefined behaviour.
 *
 * The dot products dequantize one block into a stack buffer and multiply it
 * with x through 8 running fp32 partial sums (added pairwise at the end),
 * so the compiler can keep them in vector registers; no heap, no libm.
 */
#include "tensor/quants.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "base/f16.h"

/* ---- helpers ------------------------------------------------------------- */

/* trunc(v) clamped to [0, hi]; NaN gives 0. */
static inline int trunc_clamp(float v, int hi) {
    if (!(v > 0.0f)) return 0;
    if (v >= (float)hi) return hi;
    return (int)v;
}

/* roundf(v) (half away from zero) clamped to [-lim, lim]; NaN gives 0. */
static inline int round_clamp(float v, int lim) {
    if (!(v == v)) return 0;
    if (v >= (float)lim) return lim;
    if (v <= (float)-lim) return -lim;
    return (int)roundf(v);
}

/* Nearest integer, ties to even, for |v| < 2^22 (a larger v is clamped
 * first; NaN gives 0): adding 1.5 * 2^23 leaves the rounded integer in the
 * low mantissa bits, as ggml's reference does it. */
static inline int nearest_even(float v) {
    if (!(v == v)) return 0;
    if (v > 4194303.0f) v = 4194303.0f;
    if (v < -4194303.0f) v = -4194303.0f;
    return (int)(f32_bits(v + 12582912.0f) & 0x007fffff) - 0x00400000;
}

static inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static inline float load_f16(uint16_t h) { return f16_to_f32(h); }

/* acc[k] += a[i + k] * b[i + k] over n elements (n a multiple of 8). */
static inline void acc8(float acc[8], const float *restrict a, const float *restrict b, int n) {
    for (int i = 0; i < n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
}

static inline float sum8(const float acc[8]) {
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* ---- one block -> floats --------------------------------------------------- */

static void block_q4_0_deq(const block_q4_0 *restrict b, float *restrict y) {
    const float d = load_f16(b->d);
    for (int j = 0; j < QK4_0 / 2; j++) {
        y[j] = d * (float)((b->qs[j] & 0x0f) - 8);
        y[j + QK4_0 / 2] = d * (float)((b->qs[j] >> 4) - 8);
    }
}

static void block_q4_1_deq(const block_q4_1 *restrict b, float *restrict y) {
    const float d = load_f16(b->d), m = load_f16(b->m);
    for (int j = 0; j < QK4_1 / 2; j++) {
        y[j] = d * (float)(b->qs[j] & 0x0f) + m;
        y[j + QK4_1 / 2] = d * (float)(b->qs[j] >> 4) + m;
    }
}

/* The fifth bits of a Q5 block, bit j of qh for element j, as 0 or 16. */
static inline void q5_high_bits(const uint8_t qh[4], uint8_t h[32]) {
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 8; j++) h[8 * k + j] = (uint8_t)(((qh[k] >> j) & 1) << 4);
}

static void block_q5_0_deq(const block_q5_0 *restrict b, float *restrict y) {
    const float d = load_f16(b->d);
    uint8_t h[32];
    q5_high_bits(b->qh, h);
    for (int j = 0; j < QK5_0 / 2; j++) {
        y[j] = d * (float)(((b->qs[j] & 0x0f) | h[j]) - 16);
        y[j + QK5_0 / 2] = d * (float)(((b->qs[j] >> 4) | h[j + 16]) - 16);
    }
}

static void block_q5_1_deq(const block_q5_1 *restrict b, float *restrict y) {
    const float d = load_f16(b->d), m = load_f16(b->m);
    uint8_t h[32];
    q5_high_bits(b->qh, h);
    for (int j = 0; j < QK5_1 / 2; j++) {
        y[j] = d * (float)((b->qs[j] & 0x0f) | h[j]) + m;
        y[j + QK5_1 / 2] = d * (float)((b->qs[j] >> 4) | h[j + 16]) + m;
    }
}

static void block_q8_0_deq(const block_q8_0 *restrict b, float *restrict y) {
    const float d = load_f16(b->d);
    for (int j = 0; j < QK8_0; j++) y[j] = (float)b->qs[j] * d;
}

static void block_q8_1_deq(const block_q8_1 *restrict b, float *restrict y) {
    const float d = load_f16(b->d);
    for (int j = 0; j < QK8_1; j++) y[j] = (float)b->qs[j] * d;
}

static void block_q2_K_deq(const block_q2_K *restrict b, float *restrict y) {
    const float d = load_f16(b->d), dmin = load_f16(b->dmin);
    int is = 0;
    for (int half = 0; half < 2; half++) {
        const uint8_t *q = b->qs + 32 * half;
        for (int shift = 0; shift < 8; shift += 2) {
            for (int k = 0; k < 2; k++) { /* two sub-blocks of 16 per shift */
                const uint8_t sc = b->scales[is++];
                const float dl = d * (float)(sc & 0x0f), ml = dmin * (float)(sc >> 4);
                for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[16 * k + l] >> shift) & 3) - ml;
            }
        }
    }
}

/* The 16 signed scales of a Q3_K block: low 4 bits of scale j are nibble
 * (j / 8) of byte j % 8; the top 2 bits are bits 2*(j/4).. of byte 8 + j%4. */
static void q3_K_scales(const uint8_t packed[12], int8_t sc[16]) {
    for (int j = 0; j < 16; j++) {
        int lo = (j < 8 ? packed[j] : packed[j - 8] >> 4) & 0x0f;
        int hi = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        sc[j] = (int8_t)((lo | hi << 4) - 32);
    }
}

static void block_q3_K_deq(const block_q3_K *restrict b, float *restrict y) {
    const float d = load_f16(b->d);
    int8_t sc[16];
    q3_K_scales(b->scales, sc);
    int is = 0;
    uint8_t m = 1;
    for (int half = 0; half < 2; half++) {
        const uint8_t *q = b->qs + 32 * half;
        for (int shift = 0; shift < 8; shift += 2, m = (uint8_t)(m << 1)) {
            for (int k = 0; k < 2; k++) {
                const float dl = d * (float)sc[is++];
                for (int l = 0; l < 16; l++) {
                    int i = 16 * k + l;
                    int v = ((q[i] >> shift) & 3) - ((b->hmask[i] & m) ? 0 : 4);
                    *y++ = dl * (float)v;
                }
            }
        }
    }
}


static void block_q4_K_deq(const block_q4_K *restrict b, float *restrict y) {
    const float d = load_f16(b->d), dmin = load_f16(b->dmin);
    const uint8_t *q = b->qs;
    for (int j = 0; j < 8; j += 2, q += 32) {
        uint8_t sc, m;
        k_scale_min(j, b->scales, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        k_scale_min(j + 1, b->scales, &sc, &m);
        const float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0x0f) - m1;
        for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
    }
}

static void block_q5_K_deq(const block_q5_K *restrict b, float *restrict y) {
    const float d = load_f16(b->d), dmin = load_f16(b->dmin);
    const uint8_t *q = b->qs;
    for (int j = 0; j < 8; j += 2, q += 32) {
        uint8_t sc, m;
        k_scale_min(j, b->scales, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        k_scale_min(j + 1, b->scales, &sc, &m);
        const float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++) {
            int v = (q[l] & 0x0f) | ((b->qh[l] >> j) & 1) << 4;
            *y++ = d1 * (float)v - m1;
        }
        for (int l = 0; l < 32; l++) {
            int v = (q[l] >> 4) | ((b->qh[l] >> (j + 1)) & 1) << 4;
            *y++ = d2 * (float)v - m2;
        }
    }
}

static void block_q6_K_deq(const block_q6_K *restrict b, float *restrict y) {
    const float d = load_f16(b->d);
    float dl[QK_K / 16]; /* d * scale of each sub-block of 16, as ggml rounds it */
    for (int i = 0; i < QK_K / 16; i++) dl[i] = d * (float)b->scales[i];
    /* each half of 128: ql[0..63] and qh[0..31]; quarter k of 32 elements
     * takes nibble k / 2 of ql[32 * (k % 2) + l] and bits 2k..2k+1 of qh[l] */
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = b->ql + 64 * half, *qh = b->qh + 32 * half;
        const float *s = dl + 8 * half;
        float *o = y + 128 * half;
        for (int k = 0; k < 4; k++) {
            const uint8_t *lo = ql + 32 * (k % 2);
            const int nib = 4 * (k / 2), hs = 2 * k;
            for (int l = 0; l < 32; l++) {
                int q = (((lo[l] >> nib) & 0x0f) | ((qh[l] >> hs) & 3) << 4) - 32;
                o[32 * k + l] = s[2 * k + l / 16] * (float)q;
            }
        }
    }
}

static void block_q8_K_deq(const block_q8_K *restrict b, float *restrict y) {
    for (int j = 0; j < QK_K; j++) y[j] = b->d * (float)b->qs[j];
}

/* ---- rows: to_float and dot_f32 for each block type ----------------------- */

/* Defines <name>_to_float and <name>_dot_f32 from a one-block dequantizer. */
#define DEFINE_ROW_FNS(name, btype, qk)                                               \
    void name##_to_float(const void *restrict src, float *restrict dst, int64_t n) {  \
        const btype *b = (const btype *)src;                                          \
        for (int64_t i = 0; i < n / (qk); i++) block_##name##_deq(b + i, dst + i * (qk)); \
    }                                                                                 \
    float name##_dot_f32(const void *restrict row, const float *restrict x, int64_t n) { \
        const btype *b = (const btype *)row;                                          \
        float buf[qk];                                                                \
        float acc[8] = {0};                                                           \
        for (int64_t i = 0; i < n / (qk); i++) {                                      \
            block_##name##_deq(b + i, buf);                                           \
            acc8(acc, buf, x + i * (qk), (qk));                                       \
        }                                                                             \
        return sum8(acc);                                                             \
    }

DEFINE_ROW_FNS(q4_0, block_q4_0, QK4_0)
DEFINE_ROW_FNS(q4_1, block_q4_1, QK4_1)
DEFINE_ROW_FNS(q5_0, block_q5_0, QK5_0)
DEFINE_ROW_FNS(q5_1, block_q5_1, QK5_1)
DEFINE_ROW_FNS(q8_0, block_q8_0, QK8_0)
DEFINE_ROW_FNS(q8_1, block_q8_1, QK8_1)
DEFINE_ROW_FNS(q2_K, block_q2_K, QK_K)
DEFINE_ROW_FNS(q3_K, block_q3_K, QK_K)
DEFINE_ROW_FNS(q4_K, block_q4_K, QK_K)
DEFINE_ROW_FNS(q5_K, block_q5_K, QK_K)
DEFINE_ROW_FNS(q6_K, block_q6_K, QK_K)
DEFINE_ROW_FNS(q8_K, block_q8_K, QK_K)

/* ---- float types ------------------------------------------------------------ */

void f32_to_float(const void *restrict src, float *restrict dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

/* f16 -> f32 without branches, so rows convert in vector registers: the
 * half's exponent and mantissa, moved into an f32's places, read as a
 * float 2^112 too small (a subnormal half becomes a subnormal float); one
 * exact multiply by 2^112 fixes the exponent and normalises subnormals.
 * Inf and NaN (exponent 31) take all-ones instead. Same bits as
 * f16_to_f32 (base/f16.h) for all 65536 inputs (test_dequant checks). */
static inline float f16_to_f32_branchless(uint16_t h) {
    uint32_t em = (uint32_t)(h & 0x7fff) << 13;
    uint32_t r = f32_bits(f32_from_bits(em) * 0x1p112f);
    r = em >= 0x0f800000u ? em | 0x7f800000u : r;
    return f32_from_bits(r | (uint32_t)(h & 0x8000) << 16);
}

void f16_row_to_float(const void *restrict src, float *restrict dst, int64_t n) {
    const uint16_t *h = (const uint16_t *)src;
    for (int64_t i = 0; i < n; i++) dst[i] = f16_to_f32_branchless(h[i]);
}

void bf16_row_to_float(const void *restrict src, float *restrict dst, int64_t n) {
    const uint16_t *h = (const uint16_t *)src;
    for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_f32(h[i]);
}

void f32_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void f16_row_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    uint16_t *h = (uint16_t *)dst;
    for (int64_t i = 0; i < n; i++) h[i] = f32_to_f16(src[i]);
}

void bf16_row_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    uint16_t *h = (uint16_t *)dst;
    for (int64_t i = 0; i < n; i++) h[i] = f32_to_bf16(src[i]);
}

float f32_dot_f32(const void *restrict row, const float *restrict x, int64_t n) {
    const float *a = (const float *)row;
    float acc[8] = {0};
    int64_t n8 = n - n % 8;
    for (int64_t i = 0; i < n8; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * x[i + k];
    for (int64_t i = n8; i < n; i++) acc[i - n8] += a[i] * x[i];
    return sum8(acc);
}

/* f16 / bf16 rows are converted 64 at a time into a stack buffer. */
#define DEFINE_HALF_DOT(name, conv)                                                   \
    float name##_dot_f32(const void *restrict row, const float *restrict x, int64_t n) { \
        const uint16_t *h = (const uint16_t *)row;                                    \
        float buf[64];                                                                \
        float acc[8] = {0};                                                           \
        for (int64_t i = 0; i < n; i += 64) {                                         \
            int m = n - i < 64 ? (int)(n - i) : 64;                                   \
            for (int k = 0; k < m; k++) buf[k] = conv(h[i + k]);                      \
            int m8 = m - m % 8;                                                       \
            acc8(acc, buf, x + i, m8);                                                \
            for (int k = m8; k < m; k++) acc[k - m8] += buf[k] * x[i + k];            \
        }                                                                             \
        return sum8(acc);                                                             \
    }

DEFINE_HALF_DOT(f16, f16_to_f32_branchless)
DEFINE_HALF_DOT(bf16, bf16_to_f32)

/* ---- quantize ------------------------------------------------------------------ */

/* The element of largest magnitude (the first one on ties), sign kept. */
static inline float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static inline void min_max(const float *x, int n, float *mn, float *mx) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

void q4_0_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q4_0 *y = (block_q4_0 *)dst;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float *x = src + i * QK4_0;
        const float d = signed_absmax(x, QK4_0) / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            int q0 = trunc_clamp(x[j] * id + 8.5f, 15);
            int q1 = trunc_clamp(x[j + QK4_0 / 2] * id + 8.5f, 15);
            y[i].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

void q4_1_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q4_1 *y = (block_q4_1 *)dst;
    for (int64_t i = 0; i < n / QK4_1; i++) {
        const float *x = src + i * QK4_1;
        float mn, mx;
        min_max(x, QK4_1, &mn, &mx);
        const float d = (mx - mn) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        y[i].m = f32_to_f16(mn);
        for (int j = 0; j < QK4_1 / 2; j++) {
            int q0 = trunc_clamp((x[j] - mn) * id + 0.5f, 15);
            int q1 = trunc_clamp((x[j + QK4_1 / 2] - mn) * id + 0.5f, 15);
            y[i].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

static inline void store_u32(uint8_t p[4], uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void q5_0_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q5_0 *y = (block_q5_0 *)dst;
    for (int64_t i = 0; i < n / QK5_0; i++) {
        const float *x = src + i * QK5_0;
        const float d = signed_absmax(x, QK5_0) / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint32_t qh = 0;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < QK5_0 / 2; j++) {
            int q0 = trunc_clamp(x[j] * id + 16.5f, 31);
            int q1 = trunc_clamp(x[j + QK5_0 / 2] * id + 16.5f, 31);
            y[i].qs[j] = (uint8_t)((q0 & 0x0f) | (q1 & 0x0f) << 4);
            qh |= (uint32_t)(q0 >> 4) << j | (uint32_t)(q1 >> 4) << (j + QK5_0 / 2);
        }
        store_u32(y[i].qh, qh);
    }
}

void q5_1_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q5_1 *y = (block_q5_1 *)dst;
    for (int64_t i = 0; i < n / QK5_1; i++) {
        const float *x = src + i * QK5_1;
        float mn, mx;
        min_max(x, QK5_1, &mn, &mx);
        const float d = (mx - mn) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint32_t qh = 0;
        y[i].d = f32_to_f16(d);
        y[i].m = f32_to_f16(mn);
        for (int j = 0; j < QK5_1 / 2; j++) {
            int q0 = trunc_clamp((x[j] - mn) * id + 0.5f, 31);
            int q1 = trunc_clamp((x[j + QK5_1 / 2] - mn) * id + 0.5f, 31);
            y[i].qs[j] = (uint8_t)((q0 & 0x0f) | (q1 & 0x0f) << 4);
            qh |= (uint32_t)(q0 >> 4) << j | (uint32_t)(q1 >> 4) << (j + QK5_1 / 2);
        }
        store_u32(y[i].qh, qh);
    }
}

static inline float absmax(const float *x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
    return amax;
}

void q8_0_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q8_0 *y = (block_q8_0 *)dst;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const float *x = src + i * QK8_0;
        const float d = absmax(x, QK8_0) / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)round_clamp(x[j] * id, 127);
    }
}

void q8_1_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q8_1 *y = (block_q8_1 *)dst;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        const float *x = src + i * QK8_1;
        const float d = absmax(x, QK8_1) / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            y[i].qs[j] = (int8_t)round_clamp(x[j] * id, 127);
            sum += y[i].qs[j];
        }
        y[i].d = f32_to_f16(d);
        y[i].s = f32_to_f16((float)sum * d);
    }
}

void q8_K_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q8_K *y = (block_q8_K *)dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        const float max = signed_absmax(x, QK_K);
        if (max == 0.0f || !(max == max)) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* -127 / max, not -128: the most negative value maps to -127 */
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) y[i].qs[j] = (int8_t)clamp_int(nearest_even(iscale * x[j]), -127, 127);
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[i].qs[16 * g + l];
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

/* ---- K-quant quantizers (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) ------------------------
 *
 * Same results as ggml's reference quantizers (what llama.cpp's quantize
 * tool writes without an importance matrix), checked bit for bit against
 * llama.cpp in test_dequant. Each sub-block first gets its own float scale
 * (and min) from a small search; the super-block then stores those scales
 * as 6- or 8-bit integers relative to one f16 d (and dmin), and the values
 * are quantized again with the scales as stored. A sub-block whose stored
 * scale comes out 0 keeps the levels found by its search. */

/* Fits x[0..n) ~ scale * L - neg_min with levels L in 0..nmax, min <= 0,
 * minimising sum w * err^2 (or sum w * |err| when abs_err). Starts from
 * the plain min/max mapping, then tries nstep + 1 stretched grids (nmax +
 * rmin + rdelta * k levels over the range) and refits scale and min of
 * each by weighted least squares, keeping the best. Returns the scale;
 * *neg_min = -min. n <= 32. */
static float fit_scale_min(int n, int nmax, const float *restrict x, const float *restrict w,
                           uint8_t *restrict L, float *restrict neg_min, float rmin, float rdelta,
                           int nstep, bool abs_err) {
    uint8_t cand[32];
    float lo = x[0], hi = x[0];
    float sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (lo > 0) lo = 0;
    if (hi == lo) {
        memset(L, 0, (size_t)n);
        *neg_min = -lo;
        return 0.0f;
    }
    float iscale = nmax / (hi - lo);
    float scale = 1 / iscale;
    float best = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)clamp_int(nearest_even(iscale * (x[i] - lo)), 0, nmax);
        float e = scale * L[i] + lo - x[i];
        best += w[i] * (abs_err ? fabsf(e) : e * e);
    }
    for (int k = 0; k <= nstep; k++) {
        iscale = (rmin + rdelta * k + nmax) / (hi - lo);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp_int(nearest_even(iscale * (x[i] - lo)), 0, nmax);
            cand[i] = (uint8_t)l;
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        float det = sum_w * sum_l2 - sum_l * sum_l;
        if (!(det > 0)) continue;
        float s = (sum_w * sum_xl - sum_x * sum_l) / det;
        float m = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        if (m > 0) { /* the min may only lower the range */
            m = 0;
            s = sum_xl / sum_l2;
        }
        float err = 0;
        for (int i = 0; i < n; i++) {
            float e = s * cand[i] + m - x[i];
            err += w[i] * (abs_err ? fabsf(e) : e * e);
        }
        if (err < best) {
            memcpy(L, cand, (size_t)n);
            best = err;
            scale = s;
            lo = m;
        }
    }
    *neg_min = -lo;
    return scale;
}

/* Q4_K and Q5_K: 8 sub-blocks of 32 with a scale and a min each, levels
 * 0..nmax (15 or 31). Fills y's d, dmin and scales; L gets the levels. */
static void kquant_scale_min_block(const float *restrict x, int nmax, float rmin, int nstep,
                                   uint16_t *d_out, uint16_t *dmin_out, uint8_t scales[K_SCALE_SIZE],
                                   uint8_t L[QK_K]) {
    float sc[QK_K / 32], mn[QK_K / 32], w[32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        const float *xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(xs[l]);
        sc[j] = fit_scale_min(32, nmax, xs, w, L + 32 * j, &mn[j], rmin, 0.1f, nstep, false);
        if (sc[j] > max_scale) max_scale = sc[j];
        if (mn[j] > max_min) max_min = mn[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(scales, 0, K_SCALE_SIZE);
    for (int j = 0; j < QK_K / 32; j++) {
        /* as the reference: the integer's low byte, then at most 63 */
        uint8_t ls = (uint8_t)nearest_even(inv_scale * sc[j]);
        uint8_t lm = (uint8_t)nearest_even(inv_min * mn[j]);
        if (ls > 63) ls = 63;
        if (lm > 63) lm = 63;
        if (j < 4) {
            scales[j] |= ls;
            scales[j + 4] |= lm;
        } else { /* low 4 bits in byte j + 4, top 2 on top of bytes j - 4 and j */
            scales[j + 4] = (uint8_t)((ls & 0x0f) | (lm & 0x0f) << 4);
            scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
            scales[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *d_out = f32_to_f16(max_scale / 63.f);
    *dmin_out = f32_to_f16(max_min / 63.f);
    const float d = f16_to_f32(*d_out), dmin = f16_to_f32(*dmin_out);
    for (int j = 0; j < QK_K / 32; j++) {
        uint8_t s, m;
        k_scale_min(j, scales, &s, &m);
        const float ds = d * (float)s;
        if (ds == 0.0f) continue;
        const float dm = dmin * (float)m;
        for (int l = 0; l < 32; l++)
            L[32 * j + l] = (uint8_t)clamp_int(nearest_even((x[32 * j + l] + dm) / ds), 0, nmax);
    }
}

void q4_K_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q4_K *y = (block_q4_K *)dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++) {
        kquant_scale_min_block(src + i * QK_K, 15, -1.0f, 20, &y[i].d, &y[i].dmin, y[i].scales, L);
        for (int j = 0; j < QK_K / 64; j++) /* 64 elements: low nibbles, then high */
            for (int l = 0; l < 32; l++)
                y[i].qs[32 * j + l] = (uint8_t)(L[64 * j + l] | L[64 * j + 32 + l] << 4);
    }
}

void q5_K_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q5_K *y = (block_q5_K *)dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++) {
        kquant_scale_min_block(src + i * QK_K, 31, -0.5f, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
        memset(y[i].qh, 0, sizeof y[i].qh);
        for (int j = 0; j < QK_K / 64; j++) {
            for (int l = 0; l < 32; l++) {
                int a = L[64 * j + l], b = L[64 * j + 32 + l];
                y[i].qs[32 * j + l] = (uint8_t)((a & 0x0f) | (b & 0x0f) << 4);
                y[i].qh[l] |= (uint8_t)((a >> 4) << (2 * j) | (b >> 4) << (2 * j + 1));
            }
        }
    }
}

/* Symmetric fit for Q6_K sub-blocks: x ~ scale * l, l in -nmax..nmax-1,
 * weights x^2. Tries 19 scales around nmax / max|x| and keeps the one that
 * maximises (sum w x l)^2 / sum w l^2. L gets l + nmax. */
static float fit_scale_sym(int n, int nmax, const float *restrict x, int8_t *restrict L) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    if (amax < 1e-15f) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clamp_int(nearest_even(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int k = -9; k <= 9; k++) {
        if (k == 0) continue;
        iscale = -(nmax + 0.1f * k) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp_int(nearest_even(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(clamp_int(nearest_even(iscale * x[i]), -nmax, nmax - 1) + nmax);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

void q6_K_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q6_K *y = (block_q6_K *)dst;
    int8_t L[QK_K];
    float sc[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        float max_scale = 0, max_abs = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            sc[j] = fit_scale_sym(16, 32, x + 16 * j, L + 16 * j);
            if (fabsf(sc[j]) > max_abs) {
                max_abs = fabsf(sc[j]);
                max_scale = sc[j];
            }
        }
        if (max_abs < 1e-15f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[i].d = f32_to_f16(1 / iscale);
        for (int j = 0; j < QK_K / 16; j++) {
            int v = nearest_even(iscale * sc[j]);
            y[i].scales[j] = (int8_t)(v > 127 ? 127 : v);
        }
        const float d = f16_to_f32(y[i].d);
        for (int j = 0; j < QK_K / 16; j++) {
            const float ds = d * (float)y[i].scales[j];
            if (ds == 0.0f) continue;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (int8_t)(clamp_int(nearest_even(x[16 * j + l] / ds), -32, 31) + 32);
        }
        /* each 128 elements: quarter k's low nibbles go to ql[32 * (k % 2) + l]
         * (low nibble for k < 2, high for k >= 2), its top 2 bits to bits
         * 2k of qh[l] */
        for (int h = 0; h < 2; h++) {
            const int8_t *Lh = L + 128 * h;
            uint8_t *ql = y[i].ql + 64 * h, *qh = y[i].qh + 32 * h;
            for (int l = 0; l < 32; l++) {
                int q1 = Lh[l], q2 = Lh[l + 32], q3 = Lh[l + 64], q4 = Lh[l + 96];
                ql[l] = (uint8_t)((q1 & 0x0f) | (q3 & 0x0f) << 4);
                ql[l + 32] = (uint8_t)((q2 & 0x0f) | (q4 & 0x0f) << 4);
                qh[l] = (uint8_t)((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }
}

/* Packs 256 2-bit levels: each 128 elements fill 32 bytes, element
 * 32k + l of the half in bits 2k..2k+1 of byte l. */
static void pack_2bit(const uint8_t L[QK_K], uint8_t qs[QK_K / 4]) {
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const uint8_t *Lh = L + 128 * h;
            qs[32 * h + l] = (uint8_t)(Lh[l] | Lh[l + 32] << 2 | Lh[l + 64] << 4 | Lh[l + 96] << 6);
        }
}

void q2_K_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q2_K *y = (block_q2_K *)dst;
    uint8_t L[QK_K];
    float sc[QK_K / 16], mn[QK_K / 16], w[16];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            for (int l = 0; l < 16; l++) w[l] = fabsf(x[16 * j + l]);
            sc[j] = fit_scale_min(16, 3, x + 16 * j, w, L + 16 * j, &mn[j], -0.5f, 0.1f, 15, true);
            if (sc[j] > max_scale) max_scale = sc[j];
            if (mn[j] > max_min) max_min = mn[j];
        }
        /* 4-bit scales and mins relative to d = max / 15, dmin likewise
         * (stored as the reference does: the integer's low byte) */
        memset(y[i].scales, 0, sizeof y[i].scales);
        y[i].d = 0;
        y[i].dmin = 0;
        if (max_scale > 0) {
            const float iscale = 15.f / max_scale;
            for (int j = 0; j < QK_K / 16; j++) y[i].scales[j] = (uint8_t)nearest_even(iscale * sc[j]);
            y[i].d = f32_to_f16(max_scale / 15.f);
        }
        if (max_min > 0) {
            const float iscale = 15.f / max_min;
            for (int j = 0; j < QK_K / 16; j++)
                y[i].scales[j] = (uint8_t)(y[i].scales[j] | nearest_even(iscale * mn[j]) << 4);
            y[i].dmin = f32_to_f16(max_min / 15.f);
        }
        const float d = f16_to_f32(y[i].d), dmin = f16_to_f32(y[i].dmin);
        for (int j = 0; j < QK_K / 16; j++) {
            const float ds = d * (float)(y[i].scales[j] & 0x0f);
            if (ds == 0.0f) continue;
            const float dm = dmin * (float)(y[i].scales[j] >> 4);
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (uint8_t)clamp_int(nearest_even((x[16 * j + l] + dm) / ds), 0, 3);
        }
        pack_2bit(L, y[i].qs);
    }
}

/* Symmetric fit for Q3_K sub-blocks: l in -nmax..nmax-1 from the largest
 * magnitude, then up to 5 rounds of coordinate descent that move one
 * level at a time when that raises (sum w x l)^2 / sum w l^2, w = x^2.
 * L gets l + nmax; returns the least-squares scale. */
static float fit_scale_q3(int n, int nmax, const float *restrict x, int8_t *restrict L) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    if (amax < 1e-15f) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    const float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clamp_int(nearest_even(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int round = 0; round < 5; round++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * L[i];
            if (!(slx > 0)) continue;
            float sl2 = suml2 - w * L[i] * L[i];
            int nl = clamp_int(nearest_even(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (nl == L[i]) continue;
            slx += w * x[i] * nl;
            sl2 += w * nl * nl;
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                L[i] = (int8_t)nl;
                sumlx = slx;
                suml2 = sl2;
                changed++;
            }
        }
        if (!changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return sumlx / suml2;
}

void q3_K_from_float(const float *restrict src, void *restrict dst, int64_t n) {
    block_q3_K *y = (block_q3_K *)dst;
    int8_t L[QK_K];
    uint8_t U[QK_K];
    float sc[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        float max_scale = 0, amax = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            sc[j] = fit_scale_q3(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(sc[j]) > amax) {
                amax = fabsf(sc[j]);
                max_scale = sc[j];
            }
        }
        memset(y[i].scales, 0, sizeof y[i].scales);
        y[i].d = 0;
        if (max_scale != 0.0f) {
            /* 6-bit signed scales, stored + 32: low nibbles in bytes 0..7,
             * top 2 bits in bytes 8..11 (see q3_K_scales) */
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < QK_K / 16; j++) {
                int l = clamp_int((int8_t)nearest_even(iscale * sc[j]), -32, 31) + 32;
                if (j < 8)
                    y[i].scales[j] = (uint8_t)(l & 0x0f);
                else
                    y[i].scales[j - 8] |= (uint8_t)((l & 0x0f) << 4);
                y[i].scales[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
            }
            y[i].d = f32_to_f16(1 / iscale);
        }
        int8_t s[16];
        q3_K_scales(y[i].scales, s);
        const float d = f16_to_f32(y[i].d);
        for (int j = 0; j < QK_K / 16; j++) {
            const float ds = d * (float)s[j];
            if (ds == 0.0f) continue;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (int8_t)(clamp_int(nearest_even(x[16 * j + l] / ds), -4, 3) + 4);
        }
        /* the third bit of element j goes to bit j / 32 of hmask[j % 32] */
        memset(y[i].hmask, 0, sizeof y[i].hmask);
        for (int j = 0; j < QK_K; j++) {
            int l = L[j];
            if (l > 3) {
                y[i].hmask[j % 32] |= (uint8_t)(1u << (j / 32));
                l -= 4;
            }
            U[j] = (uint8_t)l;
        }
        pack_2bit(U, y[i].qs);
    }
}
