/* qgemm_avx512.c — the prefill GEMM of the default path with AVX512-VNNI:
 * y(B, R) = xq(B, n) · W(R, n)^T for a Q4_0 / Q4_1 / Q8_0 weight W and
 * activations quantized per block to Q8_0 / Q8_1 (quant_act.c), R a
 * multiple of 16.
 *
 * Why a separate kernel: the row dots of qdot_body.h reduce each block's
 * 32 products across lanes, which costs more than the products. Here 16
 * weight rows are repacked (per thread, into scratch) so that one zmm
 * holds 4 bytes of each of the 16 rows: lane r of group g is elements
 * 4g..4g+3 of row r's block. A vpdpbusd of that zmm with 4 activation
 * bytes broadcast to every lane adds 4 products to each row's lane, so
 * after the 8 groups of a block lane r holds the block's integer sum for
 * row r — no horizontal sums at all. The repacked tile then serves every
 * activation row, four at a time.
 *
 * vpdpbusd multiplies u8 by i8, and the activations are i8, so the weight
 * side is made unsigned: Q4 nibbles already are (0..15), the Q8_0 bytes
 * get +128. The integers are corrected with the activation block's own
 * sum: sum((q-8) x) = sum(q x) - 8 sum(x); sum(q x) = sum((q+128) x) -
 * 128 sum(x). The corrected sum is the exact integer of the scalar
 * reference, and the fp32 operations after it are those of the
 * reference, lane by lane and in the same order (d_w * d_x, times the
 * sum, (+ m_w * s_x for Q4_1), added to the block accumulator), so every
 * output is bit-identical to qdot_*_ref (build flag -ffp-contract=off).
 *
 * Scratch (bytes): qgemm_scratch_bytes(n, B), defined in matmul.c. */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <string.h>

#include "../base/f16.h"
#include "../tensor/quants.h"
#include "qgemm_pack.h"

/* per activation block: its scale and, for Q8_0, K * sum(q) (the
 * correction of the weight's offset K); for Q8_1, s as fp32 */
typedef struct act_side {
    float d;
    union {
        int32_t c;
        float s;
    } u;
} act_side;

static inline int32_t load_i32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* sum of the 32 signed bytes of a Q8 block */
static inline int32_t sum_i8_32(const int8_t *q) {
    __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)q), _mm256_set1_epi8((char)0x80));
    __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256()); /* 4 x u64 sums of u8 = q + 128 */
    __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    t = _mm_add_epi64(t, _mm_unpackhi_epi64(t, t));
    return (int32_t)_mm_cvtsi128_si64(t) - 32 * 128;
}

/* The tile layout, in scratch (packed per call) or repacked at load
 * (qpack_*): per block i the packed bytes (256 for Q4: group g < 4 as raw
 * bytes, the low nibbles giving group g and the high nibbles group g + 4;
 * 512 for Q8_0: 8 groups of biased bytes), then after all blocks 16 f16
 * scales per block, then 16 f16 mins (Q4_1): the file's bytes, moved.
 * (transpose16x4, qgemm_pack.h, makes the groups.) */
static void pack_q4(uint8_t *dst, uint16_t *wd, uint16_t *wm, const uint8_t *w, size_t rs,
                    int64_t nb, int type) {
    const size_t bs = type == OWL_TYPE_Q4_1 ? sizeof(block_q4_1) : sizeof(block_q4_0);
    const size_t qoff = type == OWL_TYPE_Q4_1 ? offsetof(block_q4_1, qs) : offsetof(block_q4_0, qs);
    const __m512i zero = _mm512_setzero_si512();
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *p[16];
        for (int r = 0; r < 16; r++) {
            const uint8_t *blk = w + (size_t)r * rs + (size_t)i * bs;
            p[r] = blk + qoff;
            /* d, then m for Q4_1: the first fields of both */
            memcpy(&wd[i * 16 + r], blk, 2);
            if (type == OWL_TYPE_Q4_1) memcpy(&wm[i * 16 + r], blk + 2, 2);
        }
        transpose16x4(dst + (size_t)i * 256, p, zero);
    }
}

static void pack_q8(uint8_t *dst, uint16_t *wd, const uint8_t *w, size_t rs, int64_t nb) {
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *p[16], *p2[16];
        for (int r = 0; r < 16; r++) {
            const block_q8_0 *b = (const block_q8_0 *)(w + (size_t)r * rs) + i;
            wd[i * 16 + r] = b->d;
            p[r] = (const uint8_t *)b->qs;
            p2[r] = (const uint8_t *)b->qs + 16;
        }
        transpose16x4(dst + (size_t)i * 512, p, bias);
        transpose16x4(dst + (size_t)i * 512 + 256, p2, bias);
    }
}

/* the 32 bits of qh as 32 bytes, 0x10 where the bit is set (Q5_0's fifth
 * bit of value j is bit j) */
static inline __m256i q5_high(const uint8_t qh[4]) {
    int32_t bits;
    memcpy(&bits, qh, 4);
    const __m256i shuf = _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
    const __m256i mask = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i v = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(bits), shuf), mask);
    return _mm256_and_si256(_mm256_cmpeq_epi8(v, mask), _mm256_set1_epi8(0x10));
}

/* the 32 values of a Q5_0 block as unsigned bytes 0..31 (value - 16 is the
 * signed one), in element order */
static inline __m256i q5_values(const block_q5_0 *b) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)b->qs);
    const __m256i nib =
        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0f));
    return _mm256_or_si256(nib, q5_high(b->qh));
}

/* Q5_0 in the Q4 layout plus the fifth bits: the 256 nibble bytes, then
 * 8 masks of 64 bits, mask k bit 4r + j set where value 4k + j of row r
 * has its fifth bit (the bytes of group k that get +16): 320 bytes per
 * block, the file's 22 bytes per row with the scale */
static void pack_q5_0(uint8_t *dst, uint16_t *wd, const uint8_t *w, size_t rs, int64_t nb) {
    const __m512i zero = _mm512_setzero_si512();
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *p[16];
        uint64_t mk[8] = {0};
        for (int r = 0; r < 16; r++) {
            const block_q5_0 *b = (const block_q5_0 *)(w + (size_t)r * rs) + i;
            wd[i * 16 + r] = b->d;
            p[r] = b->qs;
            uint32_t qh;
            memcpy(&qh, b->qh, 4);
            for (int k = 0; k < 8; k++) mk[k] |= (uint64_t)((qh >> (4 * k)) & 15) << (4 * r);
        }
        transpose16x4(dst + (size_t)i * 320, p, zero);
        memcpy(dst + (size_t)i * 320 + 256, mk, sizeof mk);
    }
}

/* the 8 weight groups of block i (written out: a loop here left W on the
 * stack) */
#define LOAD_GROUPS(W, p, q4)                                                         \
    do {                                                                              \
        if (q4) {                                                                     \
            const __m512i m_ = _mm512_set1_epi8(0x0f);                                \
            const __m512i v0_ = _mm512_loadu_si512((p)), v1_ = _mm512_loadu_si512((p) + 64); \
            const __m512i v2_ = _mm512_loadu_si512((p) + 128), v3_ = _mm512_loadu_si512((p) + 192); \
            W##0 = _mm512_and_si512(v0_, m_);                                         \
            W##1 = _mm512_and_si512(v1_, m_);                                         \
            W##2 = _mm512_and_si512(v2_, m_);                                         \
            W##3 = _mm512_and_si512(v3_, m_);                                         \
            W##4 = _mm512_and_si512(_mm512_srli_epi16(v0_, 4), m_);                   \
            W##5 = _mm512_and_si512(_mm512_srli_epi16(v1_, 4), m_);                   \
            W##6 = _mm512_and_si512(_mm512_srli_epi16(v2_, 4), m_);                   \
            W##7 = _mm512_and_si512(_mm512_srli_epi16(v3_, 4), m_);                   \
        } else {                                                                      \
            W##0 = _mm512_loadu_si512((p));                                           \
            W##1 = _mm512_loadu_si512((p) + 64);                                      \
            W##2 = _mm512_loadu_si512((p) + 128);                                     \
            W##3 = _mm512_loadu_si512((p) + 192);                                     \
            W##4 = _mm512_loadu_si512((p) + 256);                                     \
            W##5 = _mm512_loadu_si512((p) + 320);                                     \
            W##6 = _mm512_loadu_si512((p) + 384);                                     \
            W##7 = _mm512_loadu_si512((p) + 448);                                     \
        }                                                                             \
    } while (0)

/* Q5_0: the fifth bits (masks after the nibbles) added to the groups */
static inline __mmask64 load_mask(const uint8_t *p) {
    uint64_t m;
    memcpy(&m, p, 8);
    return _cvtu64_mask64(m);
}
#define ADD_HIGH(W, p)                                                                \
    do {                                                                              \
        const __m512i h_ = _mm512_set1_epi8(0x10);                                    \
        W##0 = _mm512_mask_add_epi8(W##0, load_mask((p) + 0), W##0, h_);              \
        W##1 = _mm512_mask_add_epi8(W##1, load_mask((p) + 8), W##1, h_);              \
        W##2 = _mm512_mask_add_epi8(W##2, load_mask((p) + 16), W##2, h_);             \
        W##3 = _mm512_mask_add_epi8(W##3, load_mask((p) + 24), W##3, h_);             \
        W##4 = _mm512_mask_add_epi8(W##4, load_mask((p) + 32), W##4, h_);             \
        W##5 = _mm512_mask_add_epi8(W##5, load_mask((p) + 40), W##5, h_);             \
        W##6 = _mm512_mask_add_epi8(W##6, load_mask((p) + 48), W##6, h_);             \
        W##7 = _mm512_mask_add_epi8(W##7, load_mask((p) + 56), W##7, h_);             \
    } while (0)

/* the integer sums of one activation block (32 bytes) with the 16 rows */
static inline __m512i block_sums(__m512i W0, __m512i W1, __m512i W2, __m512i W3, __m512i W4,
                                 __m512i W5, __m512i W6, __m512i W7, const uint8_t *qs) {
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    s0 = _mm512_dpbusd_epi32(s0, W0, _mm512_set1_epi32(load_i32(qs + 0)));
    s1 = _mm512_dpbusd_epi32(s1, W1, _mm512_set1_epi32(load_i32(qs + 4)));
    s0 = _mm512_dpbusd_epi32(s0, W2, _mm512_set1_epi32(load_i32(qs + 8)));
    s1 = _mm512_dpbusd_epi32(s1, W3, _mm512_set1_epi32(load_i32(qs + 12)));
    s0 = _mm512_dpbusd_epi32(s0, W4, _mm512_set1_epi32(load_i32(qs + 16)));
    s1 = _mm512_dpbusd_epi32(s1, W5, _mm512_set1_epi32(load_i32(qs + 20)));
    s0 = _mm512_dpbusd_epi32(s0, W6, _mm512_set1_epi32(load_i32(qs + 24)));
    s1 = _mm512_dpbusd_epi32(s1, W7, _mm512_set1_epi32(load_i32(qs + 28)));
    return _mm512_add_epi32(s0, s1);
}
#define BLOCK_SUMS(W, qs) block_sums(W##0, W##1, W##2, W##3, W##4, W##5, W##6, W##7, (qs))

/* the fp32 step of the reference for one block: acc + (d_w d_x) sum
 * [+ m_w s_x] */
static inline __m512 block_acc(__m512 acc, __m512i sum, __m512 wd, __m512 wm, const act_side *a,
                               bool q41) {
    if (q41) {
        __m512 t = _mm512_mul_ps(_mm512_mul_ps(wd, _mm512_set1_ps(a->d)), _mm512_cvtepi32_ps(sum));
        __m512 u = _mm512_mul_ps(wm, _mm512_set1_ps(a->u.s));
        return _mm512_add_ps(acc, _mm512_add_ps(t, u));
    }
    sum = _mm512_sub_epi32(sum, _mm512_set1_epi32(a->u.c));
    return _mm512_add_ps(acc, _mm512_mul_ps(_mm512_mul_ps(wd, _mm512_set1_ps(a->d)),
                                            _mm512_cvtepi32_ps(sum)));
}

static inline void store16(float *y, __m512 v, bool add) {
    if (add) v = _mm512_add_ps(_mm512_loadu_ps(y), v);
    _mm512_storeu_ps(y, v);
}

_Static_assert(sizeof(act_side) == 8, "qgemm_scratch_bytes counts 8 bytes per activation block");

/* sum of the 8 i32 lanes */
static inline int32_t hsum_i32x8(__m256i v) {
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    t = _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 1));
    return _mm_cvtsi128_si32(t);
}

/* A few activation rows (B < 4, decoding): no repacking, each weight row
 * is read in order; the integer block sums are exact (summed across
 * lanes) and the fp32 steps are those of the reference, so the bits equal
 * the tiled path's. This is the term one block adds to a row's sum (the
 * tail rows). */
static inline __attribute__((always_inline)) float
block_term(const uint8_t *row, int64_t i, const uint8_t *xqs, const act_side *a, int type) {
    if (type == OWL_TYPE_Q8_0) {
        const block_q8_0 *w = (const block_q8_0 *)row + i;
        const __m256i q = _mm256_loadu_si256((const __m256i *)w->qs);
        const __m256i x = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)xqs), q);
        const int32_t sum =
            hsum_i32x8(_mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(q, q), x));
        return _cvtsh_ss(w->d) * a->d * (float)sum;
    }
    if (type == OWL_TYPE_Q5_0) {
        const block_q5_0 *w = (const block_q5_0 *)row + i;
        const __m256i x = _mm256_loadu_si256((const __m256i *)xqs);
        const __m256i p = _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), q5_values(w), x),
                                           _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(16), x));
        return _cvtsh_ss(w->d) * a->d * (float)hsum_i32x8(p);
    }
    const uint8_t *qs = type == OWL_TYPE_Q4_1 ? ((const block_q4_1 *)row + i)->qs
                                              : ((const block_q4_0 *)row + i)->qs;
    const __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    const __m256i nib =
        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0f));
    const __m256i x = _mm256_loadu_si256((const __m256i *)xqs);
    if (type == OWL_TYPE_Q4_1) {
        const block_q4_1 *w = (const block_q4_1 *)row + i;
        const int32_t sum = hsum_i32x8(_mm256_dpbusd_epi32(_mm256_setzero_si256(), nib, x));
        const float t = _cvtsh_ss(w->d) * a->d * (float)sum;
        const float u = _cvtsh_ss(w->m) * a->u.s;
        return t + u;
    }
    const block_q4_0 *w = (const block_q4_0 *)row + i;
    const __m256i q = _mm256_sub_epi8(nib, _mm256_set1_epi8(8));
    const int32_t sum = hsum_i32x8(_mm256_dpbusd_epi32(_mm256_setzero_si256(),
                                                       _mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q)));
    return _cvtsh_ss(w->d) * a->d * (float)sum;
}

/* the 32 products of a weight block with an activation block as 8 i32
 * lanes (exact integers), and the block's scale (and min) */
static inline __attribute__((always_inline)) __m256i
block_lanes(const uint8_t *row, int64_t i, __m256i x, int type, uint16_t *d, uint16_t *m) {
    if (type == OWL_TYPE_Q8_0) {
        const block_q8_0 *w = (const block_q8_0 *)row + i;
        *d = w->d;
        const __m256i q = _mm256_loadu_si256((const __m256i *)w->qs);
        return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(q, q),
                                   _mm256_sign_epi8(x, q));
    }
    if (type == OWL_TYPE_Q5_0) { /* sum (q - 16) x, exact per lane */
        const block_q5_0 *w = (const block_q5_0 *)row + i;
        *d = w->d;
        return _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), q5_values(w), x),
                                _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(16), x));
    }
    const uint8_t *qs;
    if (type == OWL_TYPE_Q4_1) {
        const block_q4_1 *w = (const block_q4_1 *)row + i;
        *d = w->d;
        *m = w->m;
        qs = w->qs;
    } else {
        const block_q4_0 *w = (const block_q4_0 *)row + i;
        *d = w->d;
        qs = w->qs;
    }
    const __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    const __m256i nib =
        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0f));
    if (type == OWL_TYPE_Q4_1) return _mm256_dpbusd_epi32(_mm256_setzero_si256(), nib, x);
    const __m256i q = _mm256_sub_epi8(nib, _mm256_set1_epi8(8));
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(q, q),
                               _mm256_sign_epi8(x, q));
}

static inline __attribute__((always_inline)) void
qgemv_body(float *restrict y, ptrdiff_t ldy, const uint8_t *restrict w, size_t rs, int64_t R,
           const uint8_t *restrict xq, size_t xs, const act_side *side, size_t xbs, size_t xoff,
           int64_t B, int64_t n, bool add, int type) {
    const int64_t nb = n / 32;
    for (int64_t b = 0; b < B; b++) {
        const uint8_t *xr = xq + (size_t)b * xs + xoff;
        const act_side *sd = side + b * nb;
        float *yb = y + b * ldy;
        int64_t r = 0;
        /* four rows: their block sums reduced together (two rounds of
         * hadd), the fp32 steps in four lanes, one lane per row */
        for (; r + 4 <= R; r += 4) {
            const uint8_t *w0 = w + (size_t)r * rs;
            __m128 acc = _mm_setzero_ps();
            const size_t bs = rs / (size_t)nb; /* bytes per weight block */
            const uint8_t *next = r + 12 <= R ? w0 + 8 * rs : w0;
            for (int64_t i = 0; i < nb; i++) {
                /* the next four rows, a block at a time: streams the
                 * weights in from memory while these four compute */
                _mm_prefetch((const char *)next + (size_t)i * bs, _MM_HINT_T0);
                _mm_prefetch((const char *)next + rs + (size_t)i * bs, _MM_HINT_T0);
                _mm_prefetch((const char *)next + 2 * rs + (size_t)i * bs, _MM_HINT_T0);
                _mm_prefetch((const char *)next + 3 * rs + (size_t)i * bs, _MM_HINT_T0);
                const __m256i x = _mm256_loadu_si256((const __m256i *)(xr + (size_t)i * xbs));
                uint16_t d0, d1, d2, d3, m0 = 0, m1 = 0, m2 = 0, m3 = 0;
                const __m256i p0 = block_lanes(w0, i, x, type, &d0, &m0);
                const __m256i p1 = block_lanes(w0 + rs, i, x, type, &d1, &m1);
                const __m256i p2 = block_lanes(w0 + 2 * rs, i, x, type, &d2, &m2);
                const __m256i p3 = block_lanes(w0 + 3 * rs, i, x, type, &d3, &m3);
                const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
                const __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
                const __m128 dw = _mm_cvtph_ps(_mm_setr_epi16((short)d0, (short)d1, (short)d2, (short)d3, 0, 0, 0, 0));
                __m128 t = _mm_mul_ps(_mm_mul_ps(dw, _mm_set1_ps(sd[i].d)), _mm_cvtepi32_ps(s4));
                if (type == OWL_TYPE_Q4_1) {
                    const __m128 mw = _mm_cvtph_ps(_mm_setr_epi16((short)m0, (short)m1, (short)m2, (short)m3, 0, 0, 0, 0));
                    t = _mm_add_ps(t, _mm_mul_ps(mw, _mm_set1_ps(sd[i].u.s)));
                }
                acc = _mm_add_ps(acc, t);
            }
            if (add) acc = _mm_add_ps(_mm_loadu_ps(yb + r), acc);
            _mm_storeu_ps(yb + r, acc);
        }
        for (; r < R; r++) {
            float a0 = 0;
            for (int64_t i = 0; i < nb; i++)
                a0 = a0 + block_term(w + (size_t)r * rs, i, xr + (size_t)i * xbs, sd + i, type);
            yb[r] = add ? yb[r] + a0 : a0;
        }
    }
}

/* the activation side of B rows, once for all tiles; K * sum(q) only
 * where the tile loops run (with_c) */
static inline __attribute__((always_inline)) void
act_sides(act_side *side, const uint8_t *xq, size_t xs, int64_t B, int64_t nb, bool with_c,
          int type) {
    const bool q41 = type == OWL_TYPE_Q4_1;
    const int32_t K = type == OWL_TYPE_Q4_0 ? 8 : type == OWL_TYPE_Q5_0 ? 16 : 128; /* the offset */
    const size_t xbs = q41 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < nb; i++) {
            const uint8_t *blk = xq + (size_t)b * xs + (size_t)i * xbs;
            act_side *a = side + b * nb + i;
            if (q41) {
                const block_q8_1 *q = (const block_q8_1 *)blk;
                a->d = _cvtsh_ss(q->d);
                a->u.s = _cvtsh_ss(q->s);
            } else {
                const block_q8_0 *q = (const block_q8_0 *)blk;
                a->d = _cvtsh_ss(q->d);
                if (with_c) a->u.c = K * sum_i8_32(q->qs);
            }
        }
}

/* one block of every activation row of a group: the tile's 8 groups of
 * block i loaded once (the group's rows are x0 + k*xs, their sides
 * s0 + k*nb) */
#define TILE_STEP(k) a##k = block_acc(a##k, BLOCK_SUMS(W, xi + (k) * xs), d, m, s0 + (k) * nb + i, q41)

/* bytes of the packed quants of nb blocks (per block: Q4 nibbles 256,
 * Q5_0 nibbles and fifth-bit masks 320, Q8_0 bytes 512) */
static inline size_t quant_bytes(int64_t nb, int type) {
    return (size_t)nb * (type == OWL_TYPE_Q5_0 ? 320 : type == OWL_TYPE_Q8_0 ? 512 : 256);
}

/* block i of a tile: its 8 groups W0..W7 (Q5_0's fifth bits added), scale
 * d and min m (m = d where the type has none); p the tile's quants, sc its
 * f16 scales (mins nb * 16 after) */
#define LOAD_BLOCK(W, d, m, p, sc, i)                                                            \
    __m512i W##0, W##1, W##2, W##3, W##4, W##5, W##6, W##7;                                      \
    LOAD_GROUPS(W, (p) + (size_t)(i) * bpb, q4);                                                 \
    if (q5) ADD_HIGH(W, (p) + (size_t)(i) * bpb + 256);                                          \
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((sc) + (i) * 16)));    \
    const __m512 m = q41 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((sc) + nb * 16 + (i) * 16))) : d

/* y(B, 16) for one tile: pk the packed bytes, wd the f16 scales of its
 * blocks (Q4_1's mins nb * 16 after them) */
static inline __attribute__((always_inline)) void
tile_gemm(float *restrict y, ptrdiff_t ldy, const uint8_t *pk, const uint16_t *wd,
          const uint8_t *xb, size_t xs, const act_side *side, int64_t B,
          int64_t nb, bool add, int type) {
    const bool q5 = type == OWL_TYPE_Q5_0, q41 = type == OWL_TYPE_Q4_1;
    const bool q4 = type == OWL_TYPE_Q4_0 || q41 || q5; /* nibbles */
    const size_t bpb = quant_bytes(1, type);
    const size_t xbs = q41 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const size_t xoff = q41 ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    int64_t b = 0;
    for (; b + 8 <= B; b += 8) { /* eight activation rows per unpacked block */
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        const uint8_t *x0 = xb + (size_t)b * xs + xoff;
        const act_side *s0 = side + b * nb;
        for (int64_t i = 0; i < nb; i++) {
            LOAD_BLOCK(W, d, m, pk, wd, i);
            const uint8_t *xi = x0 + (size_t)i * xbs;
            TILE_STEP(0); TILE_STEP(1); TILE_STEP(2); TILE_STEP(3);
            TILE_STEP(4); TILE_STEP(5); TILE_STEP(6); TILE_STEP(7);
        }
        store16(y + b * ldy, a0, add);
        store16(y + (b + 1) * ldy, a1, add);
        store16(y + (b + 2) * ldy, a2, add);
        store16(y + (b + 3) * ldy, a3, add);
        store16(y + (b + 4) * ldy, a4, add);
        store16(y + (b + 5) * ldy, a5, add);
        store16(y + (b + 6) * ldy, a6, add);
        store16(y + (b + 7) * ldy, a7, add);
    }
    for (; b + 4 <= B; b += 4) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const uint8_t *x0 = xb + (size_t)b * xs + xoff;
        const act_side *s0 = side + b * nb;
        for (int64_t i = 0; i < nb; i++) {
            LOAD_BLOCK(W, d, m, pk, wd, i);
            const uint8_t *xi = x0 + (size_t)i * xbs;
            TILE_STEP(0); TILE_STEP(1); TILE_STEP(2); TILE_STEP(3);
        }
        store16(y + b * ldy, a0, add);
        store16(y + (b + 1) * ldy, a1, add);
        store16(y + (b + 2) * ldy, a2, add);
        store16(y + (b + 3) * ldy, a3, add);
    }
    for (; b < B; b++) {
        __m512 a0 = _mm512_setzero_ps();
        const uint8_t *x0 = xb + (size_t)b * xs + xoff;
        const act_side *s0 = side + b * nb;
        for (int64_t i = 0; i < nb; i++) {
            LOAD_BLOCK(W, d, m, pk, wd, i);
            const uint8_t *xi = x0 + (size_t)i * xbs;
            TILE_STEP(0);
        }
        store16(y + b * ldy, a0, add);
    }
}

/* bytes of one tile (the quants, then scales and mins), rounded to a
 * cache line */
static inline size_t tile_size(int64_t n, int type) {
    const int64_t nb = n / 32;
    const size_t sc = (size_t)nb * 16 * sizeof(uint16_t) * (type == OWL_TYPE_Q4_1 ? 2 : 1);
    return (quant_bytes(nb, type) + sc + 63) & ~(size_t)63;
}

/* one tile of 16 rows into dst in the tile layout */
static inline __attribute__((always_inline)) void
pack_tile(uint8_t *dst, const uint8_t *w, size_t rs, int64_t n, int type) {
    const int64_t nb = n / 32;
    uint16_t *wd = (uint16_t *)(dst + quant_bytes(nb, type)), *wm = wd + nb * 16;
    if (type == OWL_TYPE_Q4_0 || type == OWL_TYPE_Q4_1) pack_q4(dst, wd, wm, w, rs, nb, type);
    else if (type == OWL_TYPE_Q5_0) pack_q5_0(dst, wd, w, rs, nb);
    else pack_q8(dst, wd, w, rs, nb);
}

/* the generic body; type is a constant in each caller */
static inline __attribute__((always_inline)) void
qgemm_body(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs, int64_t R,
           const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add, void *scratch,
           int type) {
    const bool q41 = type == OWL_TYPE_Q4_1;
    const int64_t nb = n / 32;
    const size_t xbs = q41 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const size_t xoff = q41 ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    uint8_t *pk = scratch;
    act_side *side = (act_side *)(pk + tile_size(n, type));
    act_sides(side, xq, xs, B, nb, B >= 4, type);
    if (B < 4) {
        qgemv_body(y, ldy, w, rs, R, xq, xs, side, xbs, xoff, B, n, add, type);
        return;
    }
    const uint16_t *wd = (const uint16_t *)(pk + quant_bytes(nb, type));
    for (int64_t r0 = 0; r0 + 16 <= R; r0 += 16) {
        pack_tile(pk, (const uint8_t *)w + (size_t)r0 * rs, rs, n, type);
        tile_gemm(y + r0, ldy, pk, wd, xq, xs, side, B, nb, add, type);
    }
}

/* one block of tile k (at pk + k * tb) of a group of tiles, into acc */
#define GEMV_STEP(acc, k)                                                                      \
    do {                                                                                       \
        const uint8_t *p_ = pk + (k) * tb;                                                     \
        LOAD_BLOCK(W, d, m, p_, (const uint16_t *)(p_ + sc_off), i);                           \
        acc = block_acc(acc, BLOCK_SUMS(W, xi), d, m, s0 + i, q41);                           \
    } while (0)

/* y(B, 16 * G) for G = 2 or 4 neighbouring tiles, tb bytes apart (decode,
 * B < 4): G streams and G accumulator chains in flight, each lane's fp32
 * steps those of tile_gemm's */
static inline __attribute__((always_inline)) void
tiles_gemv(float *restrict y, ptrdiff_t ldy, const uint8_t *pk, size_t tb, int G, size_t sc_off,
           const uint8_t *xb, size_t xs, const act_side *side, int64_t B, int64_t nb, bool add,
           int type) {
    const bool q5 = type == OWL_TYPE_Q5_0, q41 = type == OWL_TYPE_Q4_1;
    const bool q4 = type == OWL_TYPE_Q4_0 || q41 || q5;
    const size_t bpb = quant_bytes(1, type);
    const size_t xbs = q41 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const size_t xoff = q41 ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    for (int64_t b = 0; b < B; b++) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const uint8_t *x0 = xb + (size_t)b * xs + xoff;
        const act_side *s0 = side + b * nb;
        for (int64_t i = 0; i < nb; i++) {
            const uint8_t *xi = x0 + (size_t)i * xbs;
            GEMV_STEP(a0, 0);
            GEMV_STEP(a1, 1);
            if (G == 4) {
                GEMV_STEP(a2, 2);
                GEMV_STEP(a3, 3);
            }
        }
        store16(y + b * ldy, a0, add);
        store16(y + b * ldy + 16, a1, add);
        if (G == 4) {
            store16(y + b * ldy + 32, a2, add);
            store16(y + b * ldy + 48, a3, add);
        }
    }
}

/* the same on tiles packed at load: every B runs the tile loops */
static inline __attribute__((always_inline)) void
qgemm_packed_body(float *restrict y, ptrdiff_t ldy, const void *restrict tiles, int64_t T,
                  const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,
                  void *scratch, int type) {
    const int64_t nb = n / 32;
    const size_t tb = tile_size(n, type);
    act_side *side = scratch;
    act_sides(side, xq, xs, B, nb, true, type);
    int64_t t = 0;
    /* decode: four tiles at a time, streaming from memory (4096 x 32768
     * Q4_0, one thread: 30 GMAC/s a tile at a time, 36 two, 44 four) */
    if (B < 4) {
        for (; t + 4 <= T; t += 4)
            tiles_gemv(y + t * 16, ldy, (const uint8_t *)tiles + (size_t)t * tb, tb, 4,
                       quant_bytes(nb, type), xq, xs, side, B, nb, add, type);
        for (; t + 2 <= T; t += 2)
            tiles_gemv(y + t * 16, ldy, (const uint8_t *)tiles + (size_t)t * tb, tb, 2,
                       quant_bytes(nb, type), xq, xs, side, B, nb, add, type);
    }
    for (; t < T; t++) {
        const uint8_t *pk = (const uint8_t *)tiles + (size_t)t * tb;
        const uint16_t *wd = (const uint16_t *)(pk + quant_bytes(nb, type));
        tile_gemm(y + t * 16, ldy, pk, wd, xq, xs, side, B, nb, add, type);
    }
}

#define QGEMM(name, type)                                                                      \
    void qgemm_##name##_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w,         \
                             size_t rs, int64_t R, const void *restrict xq, size_t xs,          \
                             int64_t B, int64_t n, bool add, void *scratch) {                   \
        qgemm_body(y, ldy, w, rs, R, xq, xs, B, n, add, scratch, type);                        \
    }
QGEMM(q4_0, OWL_TYPE_Q4_0)
QGEMM(q4_1, OWL_TYPE_Q4_1)
QGEMM(q5_0, OWL_TYPE_Q5_0)
QGEMM(q8_0, OWL_TYPE_Q8_0)

#define QPACK(name, type)                                                                      \
    static size_t qp_tile_bytes_##name(int64_t n) { return tile_size(n, type); }                  \
    static void qp_pack_##name(void *restrict dst, const void *restrict w, size_t rs, int64_t n) { \
        pack_tile(dst, w, rs, n, type);                                                        \
    }                                                                                          \
    static void qp_gemm_##name(float *restrict y, ptrdiff_t ldy, const void *restrict tiles,      \
                            int64_t T, const void *restrict xq, size_t xs, int64_t B,          \
                            int64_t n, bool add, void *scratch) {                              \
        qgemm_packed_body(y, ldy, tiles, T, xq, xs, B, n, add, scratch, type);                 \
    }                                                                                          \
    const qpack_ops qpack_##name##_vnni = {qp_tile_bytes_##name, qp_pack_##name, qp_gemm_##name, 0};
QPACK(q4_0, OWL_TYPE_Q4_0)
QPACK(q4_1, OWL_TYPE_Q4_1)
QPACK(q8_0, OWL_TYPE_Q8_0)
QPACK(q5_0, OWL_TYPE_Q5_0)

#endif /* __x86_64__ */
