/* attention_avx512.c — blocked attention over the f16 KV cache, for
 * prompts: one call serves a tile of up to 16 query rows times the G query
 * heads that share one KV head (GQA), so each key and value row is loaded
 * and converted from f16 once per tile instead of once per (row, head),
 * and the scores and the weighted sum become small GEMMs.
 *
 * Layout: the 16 rows of the tile are the 16 lanes of a vector. Q is kept
 * transposed, Qt[j][d][row]; a score vector S[c][j] holds cell c against
 * head j for all rows, so the visibility of a cell is a 16-bit lane mask
 * and the softmax runs down the lanes with no horizontal operation. The
 * output is accumulated transposed too, Ot[j][d][row] += V[c][d] * P[c][j],
 * and transposed back at the end. K and V are converted to f32
 * ATTN_TILE_CELLS cells at a time (8 KiB each at D = 64: L1-sized).
 *
 * Each lane computes what attention_head_f16_avx2 computes for that row
 * and head over the cells it sees, with the same operations in the same
 * order, so the same bits (test_attention_tile checks it): a prompt
 * decoded as one batch matches it decoded token by token, and the split
 * of a batch into tiles and threads changes nothing. That means: the
 * query in fp32 (not rounded to f16, see attention_head_f16); each dot as
 * sixteen chains over d = m (mod 16), summed in the tree of the 8-lane
 * horizontal add; the softmax sum in double as four partial sums by the
 * cell's rank among the ones the row sees (mod 4); the weights normalized,
 * in fp32, and summed against V in cell order. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "../base/f16.h"
#include "exp_poly.h"
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define NK ATTN_TILE_CELLS


/* dst(n) = f16 row src(n) as f32 */
static inline void load_row_f16(float *restrict dst, const uint16_t *restrict src, int32_t n) {
    int32_t d = 0;
    for (; d + 16 <= n; d += 16)
        _mm512_store_ps(dst + d, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + d))));
    for (; d < n; d++) dst[d] = f16_to_f32(src[d]);
}

/* (lo, hi) as one vector, with AVX512F only */
static inline __m512 join8(__m256 lo, __m256 hi) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)),
                                               _mm256_castps_pd(hi), 1));
}

#define REP8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* S[c0 + x][j] = scale * q_j . k_{c0 + x} for x < 8, each lane summed
 * as rowdot_f16_avx2 sums: chain m (m < 16) over d = 16t + m, then
 * a_m = p_m + p_{m+8}, then ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)).
 * D a multiple of 16. A: scratch (8, 8, 16). */
static inline void qk_8(float *restrict S, const float *restrict Qt, const float *restrict Kf,
                        int32_t ld, int32_t D, int32_t G, int32_t j, int32_t c0, __m512 vscale,
                        float *restrict A) {
    const float *qj = Qt + (size_t)j * D * 16, *kc = Kf + (size_t)c0 * ld;
    for (int32_t m = 0; m < 8; m++) {
#define DECL(x) __m512 a##x = _mm512_setzero_ps(), b##x = _mm512_setzero_ps();
        REP8(DECL)
#undef DECL
        for (int32_t t = m; t < D; t += 16) {
            const __m512 u = _mm512_load_ps(qj + (size_t)t * 16),
                         w = _mm512_load_ps(qj + (size_t)(t + 8) * 16);
#define STEP(x)                                                                     \
    a##x = _mm512_fmadd_ps(_mm512_set1_ps(kc[(size_t)(x) * ld + t]), u, a##x);      \
    b##x = _mm512_fmadd_ps(_mm512_set1_ps(kc[(size_t)(x) * ld + t + 8]), w, b##x);
            REP8(STEP)
#undef STEP
        }
#define OUT(x) _mm512_store_ps(A + ((size_t)(x) * 8 + m) * 16, _mm512_add_ps(a##x, b##x));
        REP8(OUT)
#undef OUT
    }
    for (int32_t x = 0; x < 8; x++) {
        const float *a = A + (size_t)x * 8 * 16;
#define LD(m) _mm512_load_ps(a + (m) * 16)
        const __m512 r = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(LD(0), LD(4)), _mm512_add_ps(LD(2), LD(6))),
                                       _mm512_add_ps(_mm512_add_ps(LD(1), LD(5)), _mm512_add_ps(LD(3), LD(7))));
#undef LD
        _mm512_store_ps(S + ((size_t)(c0 + x) * G + j) * 16, _mm512_mul_ps(vscale, r));
    }
}

/* Ot[j + h][d0 + x] += sum_c V[c][d0 + x] * P[c][j + h], x < 8, h < 2, in
 * cell order */
static inline void pv_8x2(float *restrict Ot, const float *restrict P, const float *restrict Vf,
                          int32_t ld, int32_t D, int32_t G, int32_t j, int32_t d0,
                          int32_t nk) {
    float *o0 = Ot + ((size_t)j * D + d0) * 16, *o1 = o0 + (size_t)D * 16;
#define DECL(x) __m512 a##x = _mm512_load_ps(o0 + (x) * 16), b##x = _mm512_load_ps(o1 + (x) * 16);
    REP8(DECL)
#undef DECL
    for (int32_t c = 0; c < nk; c++) {
        const __m512 p0 = _mm512_load_ps(P + ((size_t)c * G + j) * 16),
                     p1 = _mm512_load_ps(P + ((size_t)c * G + j + 1) * 16);
        const float *vc = Vf + (size_t)c * ld + d0;
#define STEP(x)                                   \
    {                                             \
        const __m512 vb = _mm512_set1_ps(vc[x]);  \
        a##x = _mm512_fmadd_ps(vb, p0, a##x);     \
        b##x = _mm512_fmadd_ps(vb, p1, b##x);     \
    }
        REP8(STEP)
#undef STEP
    }
#define OUT(x) _mm512_store_ps(o0 + (x) * 16, a##x); _mm512_store_ps(o1 + (x) * 16, b##x);
    REP8(OUT)
#undef OUT
}

static inline void pv_8x1(float *restrict Ot, const float *restrict P, const float *restrict Vf,
                          int32_t ld, int32_t D, int32_t G, int32_t j, int32_t d0,
                          int32_t nk) {
    float *o0 = Ot + ((size_t)j * D + d0) * 16;
#define DECL(x) __m512 a##x = _mm512_load_ps(o0 + (x) * 16);
    REP8(DECL)
#undef DECL
    for (int32_t c = 0; c < nk; c++) {
        const __m512 p0 = _mm512_load_ps(P + ((size_t)c * G + j) * 16);
        const float *vc = Vf + (size_t)c * ld + d0;
#define STEP(x) a##x = _mm512_fmadd_ps(_mm512_set1_ps(vc[x]), p0, a##x);
        REP8(STEP)
#undef STEP
    }
#define OUT(x) _mm512_store_ps(o0 + (x) * 16, a##x);
    REP8(OUT)
#undef OUT
}

void attention_tile_f16_avx512(float *out, ptrdiff_t ldo, const float *q, ptrdiff_t ldq,
                               int32_t rows, int32_t G, int32_t D, const uint16_t *k,
                               const uint16_t *v, size_t stride, const int32_t *restrict cells,
                               const uint16_t *restrict masks, int32_t N, float scale,
                               float *scratch) {
    const int32_t Np = (N + 7) & ~7;
    float *Qt = scratch, *Ot = Qt + (size_t)16 * G * D, *A = Ot + (size_t)16 * G * D;
    float *Kf = A + 8 * 8 * 16, *Vf = Kf + (size_t)NK * D, *Qr = Vf + (size_t)NK * D;
    float *S = Qr + (size_t)16 * D; /* (Np, G, 16) scores, then weights */

    /* Q transposed; rows past `rows` are zero, and never visible: their
     * mask bits are clear */
    for (int32_t j = 0; j < G; j++) {
        for (int32_t i = 0; i < 16; i++) {
            float *qr = Qr + (size_t)i * D;
            if (i >= rows) {
                memset(qr, 0, sizeof(float) * (size_t)D);
                continue;
            }
            const float *qi = q + i * ldq + (ptrdiff_t)j * D;
            for (int32_t d = 0; d < D; d += 16)
                _mm512_store_ps(qr + d, _mm512_loadu_ps(qi + d));
        }
        float *qt = Qt + (size_t)j * D * 16;
        for (int32_t d = 0; d < D; d++)
            for (int32_t i = 0; i < 16; i++) qt[(size_t)d * 16 + i] = Qr[(size_t)i * D + d];
    }

    /* pass 1: every score */
    const __m512 vscale = _mm512_set1_ps(scale);
    for (int32_t t0 = 0; t0 < Np; t0 += NK) {
        const int32_t nk8 = Np - t0 < NK ? Np - t0 : NK;
        for (int32_t c = 0; c < nk8; c++) {
            if (t0 + c < N)
                load_row_f16(Kf + (size_t)c * D, k + (size_t)cells[t0 + c] * stride, D);
            else /* the last 8-cell block's padding: never visible */
                memset(Kf + (size_t)c * D, 0, sizeof(float) * (size_t)D);
        }
        for (int32_t j = 0; j < G; j++)
            for (int32_t c = 0; c < nk8; c += 8)
                qk_8(S + (size_t)t0 * G * 16, Qt, Kf, D, D, G, j, c, vscale, A);
    }

    /* pass 2, per head and row (lane): the max over the cells the row
     * sees; the weights exp(s - max); their sum in double as four partial
     * sums, cell into sum (its rank among the row's cells) mod 4, added as
     * (s0 + s1) + (s2 + s3); the weights times the sum's inverse. Cells a
     * row does not see get weight 0. */
    const __m512i three = _mm512_set1_epi32(3), one_i = _mm512_set1_epi32(1);
    for (int32_t j = 0; j < G; j++) {
        __m512 mx = _mm512_set1_ps(-INFINITY);
        for (int32_t c = 0; c < N; c++)
            mx = _mm512_mask_max_ps(mx, masks[c], mx, _mm512_load_ps(S + ((size_t)c * G + j) * 16));
        __m512d l0 = _mm512_setzero_pd(), l1 = l0, l2 = l0, l3 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0;
        __m512i rank = _mm512_setzero_si512();
        for (int32_t c = 0; c < N; c++) {
            float *s = S + ((size_t)c * G + j) * 16;
            const __mmask16 m = masks[c];
            const __m512 p = _mm512_maskz_mov_ps(m, exp_poly16(_mm512_maskz_sub_ps(m, _mm512_load_ps(s), mx)));
            _mm512_store_ps(s, p);
            const __m512d pl = _mm512_cvtps_pd(_mm512_castps512_ps256(p)),
                          ph = _mm512_cvtps_pd(_mm256_castsi256_ps(
                              _mm512_extracti64x4_epi64(_mm512_castps_si512(p), 1)));
            const __m512i r4 = _mm512_and_si512(rank, three);
#define PART(r)                                                                     \
    {                                                                               \
        const __mmask16 mr = m & _mm512_cmpeq_epi32_mask(r4, _mm512_set1_epi32(r)); \
        l##r = _mm512_mask_add_pd(l##r, (__mmask8)mr, l##r, pl);                    \
        h##r = _mm512_mask_add_pd(h##r, (__mmask8)(mr >> 8), h##r, ph);             \
    }
            PART(0) PART(1) PART(2) PART(3)
#undef PART
            rank = _mm512_mask_add_epi32(rank, m, rank, one_i);
        }
        const __m512d one = _mm512_set1_pd(1.0);
        const __m512d tl = _mm512_add_pd(_mm512_add_pd(l0, l1), _mm512_add_pd(l2, l3)),
                      th = _mm512_add_pd(_mm512_add_pd(h0, h1), _mm512_add_pd(h2, h3));
        const __m512 inv = join8(_mm512_cvtpd_ps(_mm512_div_pd(one, tl)),
                                 _mm512_cvtpd_ps(_mm512_div_pd(one, th)));
        /* a row that sees no cell: weights 0, not 0 * inf */
        const __mmask16 seen = _mm512_cmpneq_epi32_mask(rank, _mm512_setzero_si512());
        for (int32_t c = 0; c < N; c++) {
            float *s = S + ((size_t)c * G + j) * 16;
            _mm512_store_ps(s, _mm512_maskz_mov_ps(seen, _mm512_mul_ps(_mm512_load_ps(s), inv)));
        }
    }

    /* pass 3: Ot = V^T P, each lane a chain over the cells in order (the
     * cells a row does not see add exact zeros) */
    memset(Ot, 0, sizeof(float) * (size_t)16 * G * D);
    for (int32_t t0 = 0; t0 < N; t0 += NK) {
        const int32_t nk = N - t0 < NK ? N - t0 : NK;
        for (int32_t c = 0; c < nk; c++)
            load_row_f16(Vf + (size_t)c * D, v + (size_t)cells[t0 + c] * stride, D);
        const float *P = S + (size_t)t0 * G * 16;
        int32_t j = 0;
        for (; j + 2 <= G; j += 2)
            for (int32_t d = 0; d < D; d += 8) pv_8x2(Ot, P, Vf, D, D, G, j, d, nk);
        for (; j < G; j++)
            for (int32_t d = 0; d < D; d += 8) pv_8x1(Ot, P, Vf, D, D, G, j, d, nk);
    }

    /* out = Ot^T */
    for (int32_t j = 0; j < G; j++) {
        const float *ot = Ot + (size_t)j * D * 16;
        for (int32_t i = 0; i < rows; i++) {
            float *o = out + i * ldo + (ptrdiff_t)j * D;
            for (int32_t d = 0; d < D; d++) o[d] = ot[(size_t)d * 16 + i];
        }
    }
}

#endif /* __x86_64__ */
