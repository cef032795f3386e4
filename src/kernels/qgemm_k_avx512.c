/* qgemm_k_avx512.c — the prefill GEMM of the default path for K-quant
 * weights (Q4_K, Q5_K, Q6_K) with Q8_K activations, AVX512-VNNI:
 * y(B, R) = xq(B, n) · W(R, n)^T, R a multiple of 16, n of 256.
 *
 * The idea of qgemm_avx512.c, per super-block of 256 columns: 16 weight
 * rows are decoded to unsigned bytes (Q4_K 0..15, Q5_K 0..31, Q6_K 0..63)
 * and repacked so that one zmm holds 4 bytes of each row (qgemm_pack.h);
 * a vpdpbusd with 4 activation bytes broadcast adds 4 products to every
 * row's lane. The sub-block sums are weighted by the rows' integer scales
 * (vpmulld) into one exact integer per row and super-block; the other
 * integer term comes from the activations' bsums (sums of 16 values)
 * against the rows' mins (Q4_K, Q5_K: sum m_s x over sub-block s) or
 * scales (Q6_K: the -32 offset of its values), two int16 per lane by
 * vpdpwssd. Only then fp32, per row and super-block:
 *   Q4_K, Q5_K: acc = (acc + (d dx) isum) - (dmin dx) msum
 *   Q6_K:       acc = acc + (d dx) (isum - 32 ssum)
 * the integers of llama.cpp's vec_dot, the fp32 in another order (as its
 * repacked GEMMs also differ from its row dots).
 *
 * A row's result must not depend on the batch it came in (matmul.c uses
 * this kernel for one token too): for B < 4 the rows are decoded one at a
 * time with no repacking, the same integers summed in another order (exact)
 * and the same fp32 steps, so the bits equal the tiled path's.
 *
 * Scratch: per super-block of the tile, QK_PACK bytes (qgemm_scratch_bytes
 * in matmul.c reserves at least this). */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../tensor/quants.h"
#include "qgemm_pack.h"

/* packed super-block: 64 groups of 64 bytes, then int32 sc[16][16], then
 * int16 pairs mp[8][16][2], then fp32 d[16], dmin[16] */
enum { QK_Q = 4096, QK_SC = 1024, QK_MP = 512, QK_PACK = QK_Q + QK_SC + QK_MP + 128 };
_Static_assert(QK_PACK <= 8 * 768, "qgemm_scratch_bytes reserves 768 bytes per 32 columns");

/* One super-block of one row: its 256 values as unsigned bytes, the scale
 * of each sub-block (8 of 32 values for Q4_K/Q5_K, 16 of 16 for Q6_K), the
 * int16 pairs for vpdpwssd with the bsums pairs, d and dmin. */
typedef struct row_sb {
    uint8_t u[256] __attribute__((aligned(64)));
    int32_t sc[16];
    int16_t mp[8][2];
    float d, dmin;
} row_sb;

static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

static inline __attribute__((always_inline)) void decode_sb(row_sb *o, const uint8_t *blk, int type) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    if (type == OWL_TYPE_Q6_K) {
        const block_q6_K *b = (const block_q6_K *)blk;
        const __m256i m3 = _mm256_set1_epi8(3);
        for (int n = 0; n < 2; n++) {
            const uint8_t *ql = b->ql + 64 * n, *qh = b->qh + 32 * n;
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)qh);
            /* values 128n + (0, 32, 64, 96) + l */
            const __m256i h0 = _mm256_and_si256(h, m3);
            const __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(h, 2), m3);
            const __m256i h2 = _mm256_and_si256(_mm256_srli_epi16(h, 4), m3);
            const __m256i h3 = _mm256_and_si256(_mm256_srli_epi16(h, 6), m3);
            uint8_t *u = o->u + 128 * n;
            _mm256_store_si256((__m256i *)u,
                               _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(h0, 4)));
            _mm256_store_si256((__m256i *)(u + 32),
                               _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(h1, 4)));
            _mm256_store_si256((__m256i *)(u + 64),
                               _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                               _mm256_slli_epi16(h2, 4)));
            _mm256_store_si256((__m256i *)(u + 96),
                               _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                               _mm256_slli_epi16(h3, 4)));
        }
        for (int t = 0; t < 16; t++) o->sc[t] = b->scales[t];
        for (int p = 0; p < 8; p++) {
            o->mp[p][0] = b->scales[2 * p];
            o->mp[p][1] = b->scales[2 * p + 1];
        }
        o->d = h2f(b->d);
        o->dmin = 0;
        return;
    }
    /* Q4_K and Q5_K share d, dmin, scales and the nibbles; Q5_K adds a bit */
    const block_q4_K *b4 = (const block_q4_K *)blk;
    const block_q5_K *b5 = (const block_q5_K *)blk;
    const uint8_t *qs = type == OWL_TYPE_Q5_K ? b5->qs : b4->qs;
    const uint8_t *scales = type == OWL_TYPE_Q5_K ? b5->scales : b4->scales;
    __m256i hb = _mm256_setzero_si256();
    if (type == OWL_TYPE_Q5_K) hb = _mm256_loadu_si256((const __m256i *)b5->qh);
    const __m256i one = _mm256_set1_epi8(1);
    for (int j = 0; j < 4; j++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * j));
        __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
        if (type == OWL_TYPE_Q5_K) { /* bit 2j of qh[l] for value 64j + l, bit 2j+1 for 64j+32+l */
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(hb, one), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4));
            hb = _mm256_srli_epi16(hb, 2);
        }
        _mm256_store_si256((__m256i *)(o->u + 64 * j), lo);
        _mm256_store_si256((__m256i *)(o->u + 64 * j + 32), hi);
    }
    for (int s = 0; s < 8; s++) {
        uint8_t sc, m;
        k_scale_min(s, scales, &sc, &m);
        o->sc[s] = sc;
        o->mp[s][0] = o->mp[s][1] = m;
    }
    o->d = h2f(type == OWL_TYPE_Q5_K ? b5->d : b4->d);
    o->dmin = h2f(type == OWL_TYPE_Q5_K ? b5->dmin : b4->dmin);
}

static void pack_sb(uint8_t *dst, const uint8_t *w, size_t rs, size_t off, int type) {
    row_sb rows[16];
    for (int r = 0; r < 16; r++) decode_sb(&rows[r], w + (size_t)r * rs + off, type);
    const __m512i zero = _mm512_setzero_si512();
    for (int c = 0; c < 16; c++) { /* 16 bytes of every row: groups 4c..4c+3 */
        const uint8_t *p[16];
        for (int r = 0; r < 16; r++) p[r] = rows[r].u + 16 * c;
        transpose16x4(dst + 256 * c, p, zero);
    }
    int32_t *sc = (int32_t *)(dst + QK_Q);
    int16_t *mp = (int16_t *)(dst + QK_Q + QK_SC);
    float *d = (float *)(dst + QK_Q + QK_SC + QK_MP);
    for (int r = 0; r < 16; r++) {
        for (int t = 0; t < 16; t++) sc[t * 16 + r] = rows[r].sc[t];
        for (int p = 0; p < 8; p++) {
            mp[(p * 16 + r) * 2] = rows[r].mp[p][0];
            mp[(p * 16 + r) * 2 + 1] = rows[r].mp[p][1];
        }
        d[r] = rows[r].d;
        d[16 + r] = rows[r].dmin;
    }
}

static inline __m512i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* the fp32 step of one super-block, lane by lane (the GEMV does the same
 * per row in scalar code: same operations, same order) */
static inline __m512 sb_acc(__m512 acc, __m512i isum, __m512i msum, __m512 d, __m512 dmin, float dx,
                            int type) {
    const __m512 vdx = _mm512_set1_ps(dx);
    if (type == OWL_TYPE_Q6_K) {
        isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(msum, 5));
        return _mm512_add_ps(acc, _mm512_mul_ps(_mm512_mul_ps(d, vdx), _mm512_cvtepi32_ps(isum)));
    }
    const __m512 t = _mm512_mul_ps(_mm512_mul_ps(d, vdx), _mm512_cvtepi32_ps(isum));
    const __m512 u = _mm512_mul_ps(_mm512_mul_ps(dmin, vdx), _mm512_cvtepi32_ps(msum));
    return _mm512_sub_ps(_mm512_add_ps(acc, t), u);
}

static inline float sb_acc1(float acc, int32_t isum, int32_t msum, float d, float dmin, float dx,
                            int type) {
    if (type == OWL_TYPE_Q6_K) return acc + (d * dx) * (float)(isum - 32 * msum);
    return (acc + (d * dx) * (float)isum) - (dmin * dx) * (float)msum;
}

/* msum for one activation super-block: sum over pairs p of mp[p] . bsums pair p */
static inline __m512i sb_msum(const int16_t *mp, const block_q8_K *x) {
    __m512i m = _mm512_setzero_si512();
    for (int p = 0; p < 8; p++) {
        int32_t pair;
        memcpy(&pair, x->bsums + 2 * p, 4);
        m = _mm512_dpwssd_epi32(m, _mm512_load_si512((const void *)(mp + p * 32)), _mm512_set1_epi32(pair));
    }
    return m;
}

/* the sub-block sums of activation row x (block k) with the 8 groups in
 * W0..W7, weighted by the rows' scales, added to isum (a macro: written
 * out per row, so the sums stay in registers) */
#define SUB_ROW(isum, xrow)                                                              \
    do {                                                                                 \
        const int8_t *x_ = ((const block_q8_K *)(xrow) + k)->qs + 32 * s;                \
        __m512i p0_ = _mm512_dpbusd_epi32(_mm512_setzero_si512(), W0, bcast4(x_));       \
        __m512i p1_ = _mm512_dpbusd_epi32(_mm512_setzero_si512(), W4, bcast4(x_ + 16));  \
        p0_ = _mm512_dpbusd_epi32(p0_, W1, bcast4(x_ + 4));                              \
        p1_ = _mm512_dpbusd_epi32(p1_, W5, bcast4(x_ + 20));                             \
        p0_ = _mm512_dpbusd_epi32(p0_, W2, bcast4(x_ + 8));                              \
        p1_ = _mm512_dpbusd_epi32(p1_, W6, bcast4(x_ + 24));                             \
        p0_ = _mm512_dpbusd_epi32(p0_, W3, bcast4(x_ + 12));                             \
        p1_ = _mm512_dpbusd_epi32(p1_, W7, bcast4(x_ + 28));                             \
        if (type == OWL_TYPE_Q6_K)                                                       \
            isum = _mm512_add_epi32(isum, _mm512_add_epi32(_mm512_mullo_epi32(p0_, S0),  \
                                                           _mm512_mullo_epi32(p1_, S1)));\
        else                                                                             \
            isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(_mm512_add_epi32(p0_, p1_), S0)); \
    } while (0)

#define LOAD_SUB()                                                                       \
    const __m512i *q_ = (const __m512i *)(p + 512 * s);                                  \
    const __m512i W0 = _mm512_load_si512(q_), W1 = _mm512_load_si512(q_ + 1);            \
    const __m512i W2 = _mm512_load_si512(q_ + 2), W3 = _mm512_load_si512(q_ + 3);        \
    const __m512i W4 = _mm512_load_si512(q_ + 4), W5 = _mm512_load_si512(q_ + 5);        \
    const __m512i W6 = _mm512_load_si512(q_ + 6), W7 = _mm512_load_si512(q_ + 7);        \
    const __m512i S0 = _mm512_load_si512(type == OWL_TYPE_Q6_K ? sc + 32 * s : sc + 16 * s); \
    const __m512i S1 = type == OWL_TYPE_Q6_K ? _mm512_load_si512(sc + 32 * s + 16) : S0

static inline void store_row(float *y, __m512 v, bool add) {
    if (add) v = _mm512_add_ps(_mm512_loadu_ps(y), v);
    _mm512_storeu_ps(y, v);
}

/* four activation rows against the packed tile, all super-blocks */
static inline __attribute__((always_inline)) void
tile4(float *restrict y, ptrdiff_t ldy, const uint8_t *pk, const uint8_t *xq, size_t xs,
      int64_t nsb, bool add, int type) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t k = 0; k < nsb; k++) {
        const uint8_t *p = pk + (size_t)k * QK_PACK;
        const int32_t *sc = (const int32_t *)(p + QK_Q);
        __m512i i0 = _mm512_setzero_si512(), i1 = i0, i2 = i0, i3 = i0;
        for (int s = 0; s < 8; s++) { /* 32 values: groups 8s..8s+7 */
            LOAD_SUB();
            SUB_ROW(i0, xq);
            SUB_ROW(i1, xq + xs);
            SUB_ROW(i2, xq + 2 * xs);
            SUB_ROW(i3, xq + 3 * xs);
        }
        const int16_t *mp = (const int16_t *)(p + QK_Q + QK_SC);
        const float *d = (const float *)(p + QK_Q + QK_SC + QK_MP);
        const __m512 vd = _mm512_load_ps(d), vdmin = _mm512_load_ps(d + 16);
        const block_q8_K *x0 = (const block_q8_K *)xq + k, *x1 = (const block_q8_K *)(xq + xs) + k;
        const block_q8_K *x2 = (const block_q8_K *)(xq + 2 * xs) + k, *x3 = (const block_q8_K *)(xq + 3 * xs) + k;
        a0 = sb_acc(a0, i0, sb_msum(mp, x0), vd, vdmin, x0->d, type);
        a1 = sb_acc(a1, i1, sb_msum(mp, x1), vd, vdmin, x1->d, type);
        a2 = sb_acc(a2, i2, sb_msum(mp, x2), vd, vdmin, x2->d, type);
        a3 = sb_acc(a3, i3, sb_msum(mp, x3), vd, vdmin, x3->d, type);
    }
    store_row(y, a0, add);
    store_row(y + ldy, a1, add);
    store_row(y + 2 * ldy, a2, add);
    store_row(y + 3 * ldy, a3, add);
}

/* one activation row (the tail of a batch) */
static inline __attribute__((always_inline)) void
tile1(float *restrict y, const uint8_t *pk, const uint8_t *xq, int64_t nsb, bool add, int type) {
    __m512 a0 = _mm512_setzero_ps();
    for (int64_t k = 0; k < nsb; k++) {
        const uint8_t *p = pk + (size_t)k * QK_PACK;
        const int32_t *sc = (const int32_t *)(p + QK_Q);
        __m512i i0 = _mm512_setzero_si512();
        for (int s = 0; s < 8; s++) {
            LOAD_SUB();
            SUB_ROW(i0, xq);
        }
        const int16_t *mp = (const int16_t *)(p + QK_Q + QK_SC);
        const float *d = (const float *)(p + QK_Q + QK_SC + QK_MP);
        const block_q8_K *x0 = (const block_q8_K *)xq + k;
        a0 = sb_acc(a0, i0, sb_msum(mp, x0), _mm512_load_ps(d), _mm512_load_ps(d + 16), x0->d, type);
    }
    store_row(y, a0, add);
}

/* B < 4: each weight row decoded a super-block at a time, no repacking;
 * the same exact integers and the same fp32 steps as tile4 */
static inline __attribute__((always_inline)) void
gemv_rows(float *restrict y, ptrdiff_t ldy, const uint8_t *w, size_t rs, int64_t R, const uint8_t *xq,
          size_t xs, int64_t B, int64_t nsb, bool add, int type) {
    const size_t bs = rs / (size_t)nsb;
    for (int64_t r = 0; r < R; r++) {
        float acc[3] = {0, 0, 0};
        for (int64_t k = 0; k < nsb; k++) {
            row_sb o;
            decode_sb(&o, w + (size_t)r * rs + (size_t)k * bs, type);
            /* per-lane scales: lane i of a zmm of products covers values
             * 4i..4i+3 of the 64 at hand, sub-block (64c + 4i) / 32 (or /16) */
            const __m512i scs = _mm512_loadu_si512(o.sc);
            __m512i scv[4];
            for (int c = 0; c < 4; c++) {
                const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
                const __m512i idx = type == OWL_TYPE_Q6_K
                                        ? _mm512_add_epi32(_mm512_set1_epi32(4 * c), _mm512_srli_epi32(lane, 2))
                                        : _mm512_add_epi32(_mm512_set1_epi32(2 * c), _mm512_srli_epi32(lane, 3));
                scv[c] = _mm512_permutexvar_epi32(idx, scs);
            }
            for (int64_t b = 0; b < B; b++) {
                const block_q8_K *x = (const block_q8_K *)(xq + (size_t)b * xs) + k;
                __m512i s = _mm512_setzero_si512();
                for (int c = 0; c < 4; c++) {
                    const __m512i u = _mm512_load_si512(o.u + 64 * c);
                    const __m512i v = _mm512_loadu_si512(x->qs + 64 * c);
                    const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, v);
                    s = _mm512_add_epi32(s, _mm512_mullo_epi32(dot, scv[c]));
                }
                const int32_t isum = _mm512_reduce_add_epi32(s);
                const __m256i mprod = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)o.mp),
                                                        _mm256_loadu_si256((const __m256i *)x->bsums));
                const int32_t msum = _mm512_reduce_add_epi32(_mm512_castsi256_si512(mprod)) ;
                acc[b] = sb_acc1(acc[b], isum, msum, o.d, o.dmin, x->d, type);
            }
        }
        for (int64_t b = 0; b < B; b++) y[b * ldy + r] = add ? y[b * ldy + r] + acc[b] : acc[b];
    }
}

static inline __attribute__((always_inline)) void
qgemm_k_body(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs, int64_t R,
             const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add, void *scratch,
             int type) {
    const int64_t nsb = n / QK_K;
    const size_t bs = rs / (size_t)nsb;
    if (B < 4) {
        gemv_rows(y, ldy, w, rs, R, xq, xs, B, nsb, add, type);
        return;
    }
    uint8_t *pk = scratch;
    for (int64_t r0 = 0; r0 + 16 <= R; r0 += 16) {
        const uint8_t *wt = (const uint8_t *)w + (size_t)r0 * rs;
        for (int64_t k = 0; k < nsb; k++) pack_sb(pk + (size_t)k * QK_PACK, wt, rs, (size_t)k * bs, type);
        int64_t b = 0;
        for (; b + 4 <= B; b += 4)
            tile4(y + b * ldy + r0, ldy, pk, (const uint8_t *)xq + (size_t)b * xs, xs, nsb, add, type);
        for (; b < B; b++)
            tile1(y + b * ldy + r0, pk, (const uint8_t *)xq + (size_t)b * xs, nsb, add, type);
    }
}

void qgemm_q4_K_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                     int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,
                     void *scratch) {
    qgemm_k_body(y, ldy, w, rs, R, xq, xs, B, n, add, scratch, OWL_TYPE_Q4_K);
}

void qgemm_q5_K_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                     int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,
                     void *scratch) {
    qgemm_k_body(y, ldy, w, rs, R, xq, xs, B, n, add, scratch, OWL_TYPE_Q5_K);
}

void qgemm_q6_K_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                     int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,
                     void *scratch) {
    qgemm_k_body(y, ldy, w, rs, R, xq, xs, B, n, add, scratch, OWL_TYPE_Q6_K);
}

#endif /* __x86_64__ */
