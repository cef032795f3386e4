/* qgemm_k_avx512.c — the GEMM of the default path for K-quant weights
 * (Q4_K, Q5_K, Q6_K) with Q8_K activations, AVX512-VNNI, on weights
 * repacked in tiles of 16 rows (qpack_*_vnni, at load) or packed per call
 * (qgemm_*_vnni): y(B, R) = xq(B, n) · W(R, n)^T, R a multiple of 16, n of
 * 256, any B >= 1 (one token included: decode streams the tiles).
 *
 * A tile keeps the file's bits in as many bytes per row (Q4_K 144, Q5_K
 * 176; Q6_K 212 against 210, padded to whole cache lines), so decode,
 * memory-bound on large models, reads no more than the row dots would. One
 * zmm load gives 4 bytes of each of the 16 rows, lane r for row r; per
 * super-block of 256 columns the nibbles become unsigned bytes in
 * registers (Q5_K's fifth bit by a byte mask, Q6_K's two high bits by a
 * shift and a vpternlog) and a vpdpbusd with 4 activation bytes broadcast
 * adds 4 products to every row's lane: no horizontal sums, the 16 rows'
 * results come out as one zmm.
 *
 * A tile is nsb super-blocks one after the other (one stream for the
 * prefetcher), each its sections in turn (r the row):
 *   Q  2048 bytes, 32 zmm: zmm c lane r = dword c of row r's qs (Q4_K,
 *      Q5_K: c = 8j + g, low nibbles values 64j + 4g.., high 64j + 32 +
 *      4g..) or ql (Q6_K: c = 16h + g, low 128h + 4g.., high 128h + 64 +
 *      4g..)
 *   H  Q5_K 512: per sub-block s and group g a 64-bit mask, bit 4r + i =
 *      fifth bit of value 32s + 4g + i of row r;
 *      Q6_K 1024: 16 zmm, zmm m lane r = dword m of qh
 *   S  Q4_K, Q5_K 128: [s][r] the 6-bit scale | the min's top 2 bits << 6;
 *      Q6_K 256: [t][r] the int8 scales
 *   M  Q4_K, Q5_K 64: [q][r] the low nibbles of mins 2q, 2q+1
 *   D  f16 d[16] (then dmin[16] for Q4_K, Q5_K)
 *
 * The integers are those of llama.cpp's vec_dot: per row and super-block
 * isum = sum over sub-blocks of scale x (sum of q x) and msum = sum of the
 * mins (Q4_K, Q5_K) or scales (Q6_K, for its -32 offset) times the sums of
 * the activations' sub-blocks. Only then fp32, per row and super-block:
 *   Q4_K, Q5_K: acc = (acc + (d dx) isum) - (dmin dx) msum
 *   Q6_K:       acc = acc + (d dx) (isum - 32 msum)
 * The fp32 steps are lane by lane, whatever B and however the rows are
 * grouped, so a row's bits never depend on its batch.
 *
 * Scratch: the packed GEMM counts on B x n/4 bytes (the per-row share of
 * qgemm_scratch_bytes, as matmul.c sizes its batches): Q4_K/Q5_K's
 * activation sub-block sums (n/16 bytes a row), and from 8 rows on, where
 * they fit, 64 bytes of accumulators a row and one decoded super-block.
 * The per-call qgemm_*_vnni packs each tile into the rest of
 * qgemm_scratch_bytes(n, B) and runs the same loops. */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../tensor/quants.h"
#include "qgemm_pack.h"

/* bytes per super-block of a tile, by section */
enum { SB_Q = 2048, SB_H5 = 512, SB_H6 = 1024, SB_S4 = 128, SB_S6 = 256, SB_M = 64, SB_D4 = 64, SB_D6 = 32 };
enum { SB_Q4 = SB_Q + SB_S4 + SB_M + SB_D4, SB_Q5 = SB_Q4 + SB_H5, SB_Q6 = SB_Q + SB_H6 + SB_S6 + SB_D6 };
_Static_assert(SB_Q5 <= 8 * 768 && SB_Q6 <= 8 * 768, "qgemm_scratch_bytes reserves 768 bytes per 32 columns");

/* activation side data per row and super-block: Q4_K/Q5_K the 8 sub-block
 * sums as int16 (Q6_K reads the bsums as they are) */
static inline size_t act_bytes(int type) { return type == OWL_TYPE_Q6_K ? 0 : 16; }

/* bytes of one super-block of a tile: its sections one after the other
 * (Q6_K padded from 3360 to whole cache lines: 212 bytes per row against
 * the file's 210) */
static inline size_t sb_bytes(int type) {
    return type == OWL_TYPE_Q6_K ? (SB_Q6 + 63) & ~63 : type == OWL_TYPE_Q5_K ? SB_Q5 : SB_Q4;
}

/* how many super-blocks of a tile ahead to prefetch, by type, and into
 * L2 (prefetcht1), not L1: t0 prefetches seem to hold the L1 miss buffers
 * the demand loads need. Measured, not derived (bench-kernels, 4096 x
 * 16384 from memory, one thread, B = 1, medians): Q6_K 10 GB/s without,
 * 13-17 with t0 2 ahead, 34 with t1 4 ahead (the row dots: 18; Q4_K, which
 * needs none, 34); Q5_K 5-10 without, 30-34 with. Large batches prefetch
 * before decoding a super-block (Q6_K at B = 8: 48 -> 92 GMAC/s) */
static inline size_t pf_ahead(int type) {
    return type == OWL_TYPE_Q6_K ? 4 : type == OWL_TYPE_Q5_K ? 2 : 0;
}

/* always_inline: otherwise gcc finds the function free of side effects
 * (pure) and drops its calls, prefetches and all */
static inline __attribute__((always_inline)) void prefetch_sb(const uint8_t *sb, int type) {
    for (size_t off = 0; off < sb_bytes(type); off += 64) _mm_prefetch((const char *)sb + off, _MM_HINT_T1);
}

static inline size_t tile_bytes_t(int64_t n, int type) { return (size_t)(n / QK_K) * sb_bytes(type); }

/* where the sections of super-block k start: x + k * step */
typedef struct sections {
    size_t q, h, s, m, d, step;
} sections;

static inline sections tile_sections(int type) {
    const size_t q6 = type == OWL_TYPE_Q6_K;
    const size_t hk = q6 ? SB_H6 : type == OWL_TYPE_Q5_K ? SB_H5 : 0, sk = q6 ? SB_S6 : SB_S4;
    const size_t mk = q6 ? 0 : SB_M;
    sections o;
    o.q = 0, o.h = SB_Q, o.s = o.h + hk, o.m = o.s + sk, o.d = o.m + mk;
    o.step = sb_bytes(type);
    return o;
}
#define SEC(base, x, k) ((base) + o.x + (size_t)(k) * o.step)

/* ---- packing: 16 rows of blocks -> one tile ------------------------------ */

/* 16 rows of 16*nd bytes each (p[r]) -> nd zmm: zmm c lane r = dword c */
static void transpose_dwords(uint8_t *out, const uint8_t *const p[16], int nd) {
    for (int c = 0; c < nd; c += 4) {
        const uint8_t *q[16];
        for (int r = 0; r < 16; r++) q[r] = p[r] + 4 * c;
        transpose16x4(out + 64 * c, q, _mm512_setzero_si512());
    }
}

static void pack_tile(uint8_t *restrict dst, const uint8_t *restrict w, size_t rs, int64_t n, int type) {
    const int64_t nsb = n / QK_K;
    const sections o = tile_sections(type);
    const size_t bs = rs / (size_t)nsb;
    memset(dst, 0, tile_bytes_t(n, type)); /* the padding too */
    for (int64_t k = 0; k < nsb; k++) {
        const uint8_t *blk[16];
        for (int r = 0; r < 16; r++) blk[r] = w + (size_t)r * rs + (size_t)k * bs;
        const uint8_t *p[16];
        if (type == OWL_TYPE_Q6_K) {
            for (int r = 0; r < 16; r++) p[r] = ((const block_q6_K *)blk[r])->ql;
            transpose_dwords(SEC(dst, q, k), p, 32);
            for (int r = 0; r < 16; r++) p[r] = ((const block_q6_K *)blk[r])->qh;
            transpose_dwords(SEC(dst, h, k), p, 16);
            int8_t *S = (int8_t *)(SEC(dst, s, k));
            uint16_t *D = (uint16_t *)(SEC(dst, d, k));
            for (int r = 0; r < 16; r++) {
                const block_q6_K *b = (const block_q6_K *)blk[r];
                for (int t = 0; t < 16; t++) S[16 * t + r] = b->scales[t];
                D[r] = b->d;
            }
            continue;
        }
        for (int r = 0; r < 16; r++)
            p[r] = type == OWL_TYPE_Q5_K ? ((const block_q5_K *)blk[r])->qs : ((const block_q4_K *)blk[r])->qs;
        transpose_dwords(SEC(dst, q, k), p, 32);
        uint8_t *S = SEC(dst, s, k), *M = SEC(dst, m, k);
        uint16_t *D = (uint16_t *)(SEC(dst, d, k));
        for (int r = 0; r < 16; r++) {
            const block_q4_K *b4 = (const block_q4_K *)blk[r];
            const block_q5_K *b5 = (const block_q5_K *)blk[r];
            const uint8_t *scales = type == OWL_TYPE_Q5_K ? b5->scales : b4->scales;
            for (int s = 0; s < 8; s++) {
                uint8_t sc, m;
                k_scale_min(s, scales, &sc, &m);
                S[16 * s + r] = (uint8_t)(sc | (m >> 4) << 6);
                M[16 * (s / 2) + r] |= (uint8_t)((m & 15) << 4 * (s & 1));
            }
            D[r] = type == OWL_TYPE_Q5_K ? b5->d : b4->d;
            D[16 + r] = type == OWL_TYPE_Q5_K ? b5->dmin : b4->dmin;
        }
        if (type == OWL_TYPE_Q5_K) { /* zmm g of the transposed qh: byte 4r + i = qh[4g + i] of row r */
            uint8_t qh[8 * 64] __attribute__((aligned(64)));
            for (int r = 0; r < 16; r++) p[r] = ((const block_q5_K *)blk[r])->qh;
            transpose_dwords(qh, p, 8);
            uint64_t *H = (uint64_t *)(SEC(dst, h, k));
            for (int s = 0; s < 8; s++)
                for (int g = 0; g < 8; g++)
                    H[8 * s + g] = _cvtmask64_u64(
                        _mm512_test_epi8_mask(_mm512_load_si512(qh + 64 * g), _mm512_set1_epi8((char)(1 << s))));
        }
    }
}

/* ---- the tile kernel ----------------------------------------------------- */

/* per activation row and super-block, Q4_K/Q5_K: the sums of the 8
 * sub-blocks of 32 (int16), for the mins */
static void prep_act(uint8_t *restrict act, const uint8_t *restrict xq, size_t xs, int64_t B, int64_t nsb,
                     int type) {
    if (type == OWL_TYPE_Q6_K) return;
    for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < nsb; k++) {
            const block_q8_K *x = (const block_q8_K *)(xq + (size_t)b * xs) + k;
            int16_t *v = (int16_t *)(act + ((size_t)b * (size_t)nsb + (size_t)k) * 16);
            for (int s = 0; s < 8; s++) v[s] = (int16_t)(x->bsums[2 * s] + x->bsums[2 * s + 1]);
        }
}

/* keeps gcc from reassociating the sums of a super-block across its
 * sub-blocks (it then holds every sub-block's dot at once and spills) */
#define KEEP(v) __asm__("" : "+v"(v))

static inline __m512i bcast4(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

static inline void store_row(float *y, __m512 v, bool add) {
    if (add) v = _mm512_add_ps(_mm512_loadu_ps(y), v);
    _mm512_storeu_ps(y, v);
}

/* byte zmm i (0..3) of Q6_K sub-block t of a super-block: values
 * 16t + 4i.. of the 16 rows as unsigned bytes 0..63 */
static inline __attribute__((always_inline)) __m512i w_q6(const uint8_t *Q, const uint8_t *H, int t, int i) {
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    const int h = t >> 3, hi = (t >> 2) & 1, f = 2 * hi + ((t >> 1) & 1);
    const __m512i v = _mm512_load_si512(Q + 64 * (16 * h + 4 * (t & 3) + i));
    const __m512i nib = hi ? _mm512_and_si512(_mm512_srli_epi16(v, 4), m4) : _mm512_and_si512(v, m4);
    const __m512i hb = _mm512_load_si512(H + 64 * (8 * h + 4 * (t & 1) + i));
    const __m512i hs = f == 0   ? _mm512_slli_epi16(hb, 4)
                       : f == 1 ? _mm512_slli_epi16(hb, 2)
                       : f == 2 ? hb
                                : _mm512_srli_epi16(hb, 2);
    return _mm512_ternarylogic_epi32(nib, hs, m30, 0xf8); /* nib | (hs & 0x30) */
}

/* byte zmm g (0..7) of Q4_K/Q5_K sub-block s: values 32s + 4g.. of the 16
 * rows, 0..15 (Q5_K 0..31) */
static inline __attribute__((always_inline)) __m512i w_q45(const uint8_t *Q, const uint8_t *H, int s, int g,
                                                           int type) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i v = _mm512_load_si512(Q + 64 * (8 * (s >> 1) + g));
    __m512i w = (s & 1) ? _mm512_and_si512(_mm512_srli_epi16(v, 4), m4) : _mm512_and_si512(v, m4);
    if (type == OWL_TYPE_Q5_K) {
        uint64_t bits;
        memcpy(&bits, H + 8 * (8 * s + g), 8);
        w = _mm512_mask_add_epi8(w, _cvtu64_mask64(bits), w, _mm512_set1_epi8(0x10));
    }
    return w;
}

/* Q4_K/Q5_K: the scale of sub-block s of the 16 rows, and the mins of
 * sub-blocks 2q, 2q+1 as int16 pairs (lane r for row r) for vpdpwssd with
 * the activations' sub-block sums; from S (sc | (m >> 4) << 6) and M
 * (the mins' low nibbles, 2q in the low one) */
static inline __m512i q45_scale(const uint8_t *S, int s) {
    return _mm512_and_si512(_mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(S + 16 * s))), _mm512_set1_epi32(63));
}
static inline __m512i q45_min_pair(const uint8_t *S, const uint8_t *M, int q) {
    const __m512i x = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(M + 16 * q)));
    const __m512i c0 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(S + 32 * q)));
    const __m512i c1 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(S + 32 * q + 16)));
    /* (a | b) & c: low nibbles to bits 0-3 and 16-19, high bits to 4-5 and 20-21 */
    const __m512i lo = _mm512_ternarylogic_epi32(x, _mm512_slli_epi32(x, 12), _mm512_set1_epi32(0x000f000f), 0xa8);
    const __m512i hi = _mm512_ternarylogic_epi32(_mm512_srli_epi32(c0, 2), _mm512_slli_epi32(c1, 14),
                                                 _mm512_set1_epi32(0x00300030), 0xa8);
    return _mm512_or_si512(lo, hi);
}

/* Q6_K: the scales of sub-blocks 2p, 2p+1 as int16 pairs, lane r for row
 * r, for vpdpwssd with the activations' bsums pairs */
static inline __m512i q6_scale_pair(const int8_t *S, int p) {
    const __m128i a = _mm_load_si128((const __m128i *)(S + 32 * p)), b = _mm_load_si128((const __m128i *)(S + 32 * p + 16));
    const __m256i ab = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(a, b)), _mm_unpackhi_epi8(a, b), 1);
    return _mm512_cvtepi8_epi16(ab);
}

/* large batches: one super-block of a tile decoded to bytes (U, UB bytes:
 * zmm 4t + i or 8s + g, then the scales as int32, then Q6_K's scale
 * pairs), then read by every group of rows */
enum { UB = 4096 + 1024 + 512 };

static void decode_sb(uint8_t *restrict u, const uint8_t *restrict tile, int64_t k, int type) {
    const sections o = tile_sections(type);
    const uint8_t *Q = SEC(tile, q, k), *H = SEC(tile, h, k), *S = SEC(tile, s, k);
    if (type == OWL_TYPE_Q6_K)
#pragma GCC unroll 16
        for (int t = 0; t < 16; t++) {
#pragma GCC unroll 16
            for (int i = 0; i < 4; i++) _mm512_store_si512(u + 64 * (4 * t + i), w_q6(Q, H, t, i));
            _mm512_store_si512(u + 4096 + 64 * t, _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(S + 16 * t))));
            if (t < 8) _mm512_store_si512(u + 5120 + 64 * t, q6_scale_pair((const int8_t *)S, t));
        }
    else
#pragma GCC unroll 16
        for (int s = 0; s < 8; s++) {
#pragma GCC unroll 16
            for (int g = 0; g < 8; g++) _mm512_store_si512(u + 64 * (8 * s + g), w_q45(Q, H, s, g, type));
            _mm512_store_si512(u + 4096 + 64 * s, q45_scale(S, s));
            if (s < 4) _mm512_store_si512(u + 5120 + 64 * s, q45_min_pair(S, SEC(tile, m, k), s));
        }
}

/* nb (1..4) activation rows against super-blocks k0..k1-1 of one tile; act
 * holds their prep_act data, as bytes apart; U (dec) super-block k0
 * decoded. The fp32 accumulators start at zero (k0 == 0) or from accs and
 * end in y (k1 == nsb) or in accs. */
static inline __attribute__((always_inline)) void
tile_rows(float *restrict y, ptrdiff_t ldy, const uint8_t *restrict tile, int64_t k0, int64_t k1, int64_t nsb,
          const uint8_t *xq, size_t xs, const uint8_t *act, size_t as, int nb, const uint8_t *U, bool dec,
          float *accs, bool add, int type) {
    const sections o = tile_sections(type);
    __m512 acc[4];
#pragma GCC unroll 16
    for (int b = 0; b < nb; b++) acc[b] = k0 == 0 ? _mm512_setzero_ps() : _mm512_load_ps(accs + 16 * b);
    for (int64_t k = k0; k < k1; k++) {
        const uint8_t *Q = SEC(tile, q, k);
        if (pf_ahead(type) && !dec) prefetch_sb(Q + pf_ahead(type) * sb_bytes(type), type);
        const uint8_t *u = dec ? U + (size_t)(k - k0) * UB : NULL; /* U is NULL unless dec */
        const block_q8_K *x[4];
#pragma GCC unroll 16
        for (int b = 0; b < nb; b++) x[b] = (const block_q8_K *)(xq + (size_t)b * xs) + k;
        __m512i isum[4];
#pragma GCC unroll 16
        for (int b = 0; b < nb; b++) isum[b] = _mm512_setzero_si512();
        if (type == OWL_TYPE_Q6_K) {
            const uint8_t *H = SEC(tile, h, k);
            const int8_t *S = (const int8_t *)(SEC(tile, s, k));
#pragma GCC unroll 16
            for (int t = 0; t < 16; t++) { /* values 16t..16t+15 */
                __m512i W[4];
#pragma GCC unroll 16
                for (int i = 0; i < 4; i++) W[i] = dec ? _mm512_load_si512(u + 64 * (4 * t + i)) : w_q6(Q, H, t, i);
                const __m512i sc = dec ? _mm512_load_si512(u + 4096 + 64 * t)
                                       : _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(S + 16 * t)));
#pragma GCC unroll 16
                for (int b = 0; b < nb; b++) {
                    const int8_t *xv = x[b]->qs + 16 * t;
                    __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), W[0], bcast4(xv));
                    p = _mm512_dpbusd_epi32(p, W[1], bcast4(xv + 4));
                    p = _mm512_dpbusd_epi32(p, W[2], bcast4(xv + 8));
                    p = _mm512_dpbusd_epi32(p, W[3], bcast4(xv + 12));
                    isum[b] = _mm512_add_epi32(isum[b], _mm512_mullo_epi32(p, sc));
                    KEEP(isum[b]);
                }
            }
            /* the -32 offset of the values: msum = sum of scale x bsum */
            __m512i sp[8];
#pragma GCC unroll 16
            for (int q = 0; q < 8; q++) sp[q] = dec ? _mm512_load_si512(u + 5120 + 64 * q) : q6_scale_pair(S, q);
            const __m512 d = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(SEC(tile, d, k))));
#pragma GCC unroll 16
            for (int b = 0; b < nb; b++) {
                __m512i msum = _mm512_setzero_si512();
#pragma GCC unroll 16
                for (int q = 0; q < 8; q++) msum = _mm512_dpwssd_epi32(msum, sp[q], bcast4(x[b]->bsums + 2 * q));
                const __m512i i6 = _mm512_sub_epi32(isum[b], _mm512_slli_epi32(msum, 5));
                const __m512 dd = _mm512_mul_ps(d, _mm512_set1_ps(x[b]->d));
                acc[b] = _mm512_add_ps(acc[b], _mm512_mul_ps(dd, _mm512_cvtepi32_ps(i6)));
            }
            continue;
        }
        const uint8_t *S = SEC(tile, s, k);
        const uint8_t *H = SEC(tile, h, k);
#pragma GCC unroll 8
        for (int s = 0; s < 8; s++) { /* values 32s..32s+31 */
            __m512i W[8];
#pragma GCC unroll 16
            for (int g = 0; g < 8; g++) W[g] = dec ? _mm512_load_si512(u + 64 * (8 * s + g)) : w_q45(Q, H, s, g, type);
            const __m512i sc = dec ? _mm512_load_si512(u + 4096 + 64 * s) : q45_scale(S, s);
#pragma GCC unroll 16
            for (int b = 0; b < nb; b++) {
                const int8_t *xv = x[b]->qs + 32 * s;
                __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), W[0], bcast4(xv));
                __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), W[4], bcast4(xv + 16));
                p0 = _mm512_dpbusd_epi32(p0, W[1], bcast4(xv + 4));
                p1 = _mm512_dpbusd_epi32(p1, W[5], bcast4(xv + 20));
                p0 = _mm512_dpbusd_epi32(p0, W[2], bcast4(xv + 8));
                p1 = _mm512_dpbusd_epi32(p1, W[6], bcast4(xv + 24));
                p0 = _mm512_dpbusd_epi32(p0, W[3], bcast4(xv + 12));
                p1 = _mm512_dpbusd_epi32(p1, W[7], bcast4(xv + 28));
                isum[b] = _mm512_add_epi32(isum[b], _mm512_mullo_epi32(_mm512_add_epi32(p0, p1), sc));
                KEEP(isum[b]);
            }
        }
        const uint8_t *M = SEC(tile, m, k);
        __m512i mp[4];
#pragma GCC unroll 16
        for (int q = 0; q < 4; q++) mp[q] = dec ? _mm512_load_si512(u + 5120 + 64 * q) : q45_min_pair(S, M, q);
        const uint8_t *Dp = SEC(tile, d, k);
        const __m512 d = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)Dp));
        const __m512 dmin = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(Dp + 32)));
#pragma GCC unroll 16
        for (int b = 0; b < nb; b++) {
            const uint8_t *a = act + (size_t)b * as + (size_t)k * 16;
            __m512i msum = _mm512_dpwssd_epi32(_mm512_setzero_si512(), mp[0], bcast4(a));
            msum = _mm512_dpwssd_epi32(msum, mp[1], bcast4(a + 4));
            msum = _mm512_dpwssd_epi32(msum, mp[2], bcast4(a + 8));
            msum = _mm512_dpwssd_epi32(msum, mp[3], bcast4(a + 12));
            const __m512 vdx = _mm512_set1_ps(x[b]->d);
            const __m512 t = _mm512_mul_ps(_mm512_mul_ps(d, vdx), _mm512_cvtepi32_ps(isum[b]));
            const __m512 u = _mm512_mul_ps(_mm512_mul_ps(dmin, vdx), _mm512_cvtepi32_ps(msum));
            acc[b] = _mm512_sub_ps(_mm512_add_ps(acc[b], t), u);
        }
    }
#pragma GCC unroll 16
    for (int b = 0; b < nb; b++) {
        if (k1 == nsb) store_row(y + b * ldy, acc[b], add);
        else _mm512_store_ps(accs + 16 * b, acc[b]);
    }
}

/* all B activation rows against super-blocks k0..k1-1 of one tile, four
 * at a time (accs: 16 floats per row) */
static inline __attribute__((always_inline)) void
tile_all(float *restrict y, ptrdiff_t ldy, const uint8_t *restrict tile, int64_t k0, int64_t k1, int64_t nsb,
         const uint8_t *xq, size_t xs, int64_t B, const uint8_t *act, const uint8_t *U, bool dec, float *accs,
         bool add, int type) {
    const size_t as = (size_t)nsb * act_bytes(type);
    int64_t b = 0;
#define ROWS(nb)                                                                                       \
    tile_rows(y + b * ldy, ldy, tile, k0, k1, nsb, xq + (size_t)b * xs, xs, act + (size_t)b * as, as, nb, \
              U, dec, accs + 16 * b, add, type)
    for (; b + 4 <= B; b += 4) ROWS(4);
    switch (B - b) {
    case 3: ROWS(3); break;
    case 2: ROWS(2); break;
    case 1: ROWS(1); break;
    default: break;
    }
#undef ROWS
}

static inline size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* T tiles; scratch holds budget bytes. From 8 rows on, where the scratch
 * has room for the decoded super-block and the rows' accumulators, each
 * super-block of a tile is decoded once for all rows (same integers, same
 * fp32 steps in the same order: the same bits) */
static inline __attribute__((always_inline)) void
tiles_run(float *restrict y, ptrdiff_t ldy, const uint8_t *tiles, int64_t T, const uint8_t *xq, size_t xs,
          int64_t B, int64_t nsb, bool add, uint8_t *scratch, size_t budget, int type) {
    const size_t tb = tile_bytes_t(nsb * QK_K, type);
    uint8_t *act = scratch;
    float *accs = (float *)(act + align64((size_t)B * (size_t)nsb * act_bytes(type)));
    uint8_t *U = (uint8_t *)accs + align64((size_t)B * 64);
    const bool dec = B >= 8 && (size_t)(U - scratch) + UB <= budget;
    prep_act(act, xq, xs, B, nsb, type);
    for (int64_t t = 0; t < T; t++) {
        const uint8_t *tile = tiles + (size_t)t * tb;
        if (!dec) {
            tile_all(y + 16 * t, ldy, tile, 0, nsb, nsb, xq, xs, B, act, NULL, false, accs, add, type);
            continue;
        }
        for (int64_t k = 0; k < nsb; k++) {
            if (pf_ahead(type)) prefetch_sb(tile + (size_t)(k + (int64_t)pf_ahead(type)) * sb_bytes(type), type);
            decode_sb(U, tile, k, type);
            tile_all(y + 16 * t, ldy, tile, k, k + 1, nsb, xq, xs, B, act, U, true, accs, add, type);
        }
    }
}

/* the scratch the packed GEMM may count on: matmul.c sizes the batch so
 * that B x qgemm_scratch_bytes' share per activation row fits */
static inline size_t packed_budget(int64_t n, int64_t B) {
    return (size_t)B * (qgemm_scratch_bytes(n, 1) - qgemm_scratch_bytes(n, 0));
}

static inline __attribute__((always_inline)) void
gemm_packed(float *restrict y, ptrdiff_t ldy, const void *restrict tiles, int64_t T, const void *restrict xq,
            size_t xs, int64_t B, int64_t n, bool add, void *scratch, int type) {
    tiles_run(y, ldy, tiles, T, xq, xs, B, n / QK_K, add, scratch, packed_budget(n, B), type);
}

/* the unpacked form: each tile packed into scratch, then the same loops on
 * the rest of qgemm_scratch_bytes(n, B) */
static inline __attribute__((always_inline)) void
gemm_unpacked(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs, int64_t R,
              const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add, void *scratch, int type) {
    uint8_t *tile = scratch, *rest = tile + align64(tile_bytes_t(n, type));
    const size_t budget = qgemm_scratch_bytes(n, B) - (size_t)(rest - tile);
    for (int64_t r0 = 0; r0 + 16 <= R; r0 += 16) {
        pack_tile(tile, (const uint8_t *)w + (size_t)r0 * rs, rs, n, type);
        tiles_run(y + r0, ldy, tile, 1, xq, xs, B, n / QK_K, add, rest, budget, type);
    }
}

#define KPACK(T, TYPE)                                                                              \
    static size_t tile_bytes_##T(int64_t n) { return tile_bytes_t(n, TYPE); }                       \
    static void pack_##T(void *restrict dst, const void *restrict w, size_t rs, int64_t n) {       \
        pack_tile(dst, w, rs, n, TYPE);                                                             \
    }                                                                                               \
    static void gemm_##T(float *restrict y, ptrdiff_t ldy, const void *restrict tiles, int64_t T_, \
                         const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,        \
                         void *scratch) {                                                           \
        gemm_packed(y, ldy, tiles, T_, xq, xs, B, n, add, scratch, TYPE);                           \
    }                                                                                               \
    const qpack_ops qpack_##T##_vnni = {tile_bytes_##T, pack_##T, gemm_##T, 0};                      \
    void qgemm_##T##_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,     \
                          int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n,      \
                          bool add, void *scratch) {                                                \
        gemm_unpacked(y, ldy, w, rs, R, xq, xs, B, n, add, scratch, TYPE);                          \
    }

KPACK(q4_K, OWL_TYPE_Q4_K)
KPACK(q5_K, OWL_TYPE_Q5_K)
KPACK(q6_K, OWL_TYPE_Q6_K)

#endif /* __x86_64__ */
