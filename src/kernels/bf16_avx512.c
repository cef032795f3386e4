/* bf16_avx512.c — the BF16 default path (bf16.c) with AVX-512: the
 * activation rounding (AVX-512F/BW, integer arithmetic: llama.cpp's
 * scalar formula 16 at a time) and the dots, four-row dots and prefill
 * GEMM with vdpbf16ps (AVX512-BF16). dispatch.c uses the dots only on
 * CPUs with AVX512-BF16.
 *
 * Each result is one zmm accumulator fed 32 elements at a time in order
 * (a masked load, zeros beyond n, for the last group) and summed by the
 * halving tree of bf16.c: bit-identical to qdot_bf16_ref. The GEMM keeps
 * a block of activation rows in L2 and, for every four weight rows (in
 * L1), runs 4 x 4 register tiles (one weight row at a time for one to
 * three activation rows, as in decoding); the 16 accumulators of a tile
 * are summed together by a transposed form of the same tree (each add
 * combines the same two partial sums the one-row tree does). */
#include "kernels.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define AI static inline __attribute__((always_inline))

void act_quantize_bf16_avx512(const float *restrict x, void *restrict dst, int64_t n) {
    uint16_t *y = dst;
    const __m512i abs = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
    const __m512i quiet = _mm512_set1_epi32(64);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512i u = _mm512_maskz_loadu_epi32(m, x + i);
        __m512i hi = _mm512_srli_epi32(u, 16);
        __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, abs), inf);
        __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(bias, _mm512_and_si512(hi, one)));
        r = _mm512_mask_blend_epi32(nan, _mm512_srli_epi32(r, 16), _mm512_or_si512(hi, quiet));
        _mm256_mask_storeu_epi16(y + i, m, _mm512_cvtepi32_epi16(r));
    }
}

static inline __m512bh ld(const uint8_t *p) { return (__m512bh)_mm512_loadu_si512(p); }
static inline __m512bh ldm(__mmask32 m, const uint8_t *p) {
    return (__m512bh)_mm512_maskz_loadu_epi16(m, p);
}

/* the tree of bf16.c on one accumulator */
static inline float hsum16(__m512 v) {
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The tree on 16 accumulators at once: lane 4q + k of the result is the
 * sum of a[q + 4k]. Level by level each add pairs lanes j and j+8 (then
 * j+4, j+2, j+1) of one accumulator, as hsum16 does. */
AI __m512 hsum16x16(const __m512 a[16]) {
    __m512 c[8], e[4], g[2];
    for (int i = 0; i < 8; i++) /* c[i]: a[2i] lanes 0-7, a[2i+1] lanes 8-15 */
        c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0xee));
    for (int i = 0; i < 4; i++) /* e[i]: quarter q holds a[4i + q] */
        e[i] = _mm512_add_ps(_mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], 0xdd));
    for (int i = 0; i < 2; i++) { /* g[i]: quarter q, pairs a[8i + q], a[8i + 4 + q] */
        __m512d lo = _mm512_unpacklo_pd(_mm512_castps_pd(e[2 * i]), _mm512_castps_pd(e[2 * i + 1]));
        __m512d hi = _mm512_unpackhi_pd(_mm512_castps_pd(e[2 * i]), _mm512_castps_pd(e[2 * i + 1]));
        g[i] = _mm512_add_ps(_mm512_castpd_ps(lo), _mm512_castpd_ps(hi));
    }
    return _mm512_add_ps(_mm512_shuffle_ps(g[0], g[1], 0x88), _mm512_shuffle_ps(g[0], g[1], 0xdd));
}

/* y[m*ldy + r] (+)= dot(weight row r, activation row m) for m < MB, r < NR,
 * MB * NR <= 16; w, x point at the first rows, rs, xs bytes apart */
AI void tile(float *restrict y, ptrdiff_t ldy, const uint8_t *w, size_t rs, const uint8_t *x,
             size_t xs, int64_t n, bool add, const int MB, const int NR) {
    __m512 acc[16];
#pragma GCC unroll 16
    for (int k = 0; k < 16; k++) acc[k] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512bh xv[4];
#pragma GCC unroll 4
        for (int m = 0; m < MB; m++) xv[m] = ld(x + m * xs + 2 * i);
#pragma GCC unroll 16
        for (int r = 0; r < NR; r++) {
            __m512bh wv = ld(w + r * rs + 2 * i);
#pragma GCC unroll 4
            for (int m = 0; m < MB; m++) acc[m * NR + r] = _mm512_dpbf16_ps(acc[m * NR + r], wv, xv[m]);
        }
    }
    if (i < n) {
        __mmask32 mk = (__mmask32)((1u << (n - i)) - 1);
        __m512bh xv[4];
#pragma GCC unroll 4
        for (int m = 0; m < MB; m++) xv[m] = ldm(mk, x + m * xs + 2 * i);
#pragma GCC unroll 16
        for (int r = 0; r < NR; r++) {
            __m512bh wv = ldm(mk, w + r * rs + 2 * i);
#pragma GCC unroll 4
            for (int m = 0; m < MB; m++) acc[m * NR + r] = _mm512_dpbf16_ps(acc[m * NR + r], wv, xv[m]);
        }
    }
    if (MB * NR <= 2) { /* one by one is cheaper than the 16-wide tree */
#pragma GCC unroll 2
        for (int m = 0; m < MB; m++)
#pragma GCC unroll 2
            for (int r = 0; r < NR; r++) {
                float *o = y + m * ldy + r, d = hsum16(acc[m * NR + r]);
                *o = add ? *o + d : d;
            }
        return;
    }
    /* result lane L = m*NR + r comes from a[L/4 + 4*(L%4)] */
    __m512 a[16];
#pragma GCC unroll 16
    for (int L = 0; L < 16; L++) a[L / 4 + 4 * (L % 4)] = acc[L];
    float out[16];
    _mm512_storeu_ps(out, hsum16x16(a));
#pragma GCC unroll 4
    for (int m = 0; m < MB; m++)
#pragma GCC unroll 16
        for (int r = 0; r < NR; r++) {
            float *o = y + m * ldy + r;
            *o = add ? *o + out[m * NR + r] : out[m * NR + r];
        }
}

float qdot_bf16_avx512bf16(const void *restrict w, const void *restrict xq, int64_t n) {
    const uint8_t *a = w, *b = xq;
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) acc = _mm512_dpbf16_ps(acc, ld(a + 2 * i), ld(b + 2 * i));
    if (i < n) {
        __mmask32 mk = (__mmask32)((1u << (n - i)) - 1);
        acc = _mm512_dpbf16_ps(acc, ldm(mk, a + 2 * i), ldm(mk, b + 2 * i));
    }
    return hsum16(acc);
}

void qdot4_bf16_avx512bf16(const void *restrict w, const void *restrict xq, size_t xs,
                           float out[4], int64_t n) {
    tile(out, 1, w, 0, xq, xs, n, false, 4, 1);
}

/* decoding (MB < 4 activation rows): every weight row read once, in
 * memory order. Reading 16 rows side by side (16 accumulators in
 * flight) streamed at 12.6 GB/s on one Zen 4 core, row after row at
 * 23.7 GB/s: the out-of-order core overlaps the rows' dependency chains
 * by itself, and the hardware prefetcher sees one stream. */
AI void rows(float *restrict y, ptrdiff_t ldy, const uint8_t *w, size_t rs, int64_t R,
             const uint8_t *x, size_t xs, int64_t n, bool add, const int MB) {
    for (int64_t r = 0; r < R; r++) tile(y + r, ldy, w + r * rs, rs, x, xs, n, add, MB, 1);
}

/* activation rows [b0, b1) against weight rows [r0, r0 + NR), MB = 4
 * at a time and then the rest */
AI void block(float *restrict y, ptrdiff_t ldy, const uint8_t *w, size_t rs, const uint8_t *x,
              size_t xs, int64_t b0, int64_t b1, int64_t n, bool add, const int NR) {
    int64_t b = b0;
    for (; b + 4 <= b1; b += 4) tile(y + b * ldy, ldy, w, rs, x + b * xs, xs, n, add, 4, NR);
    switch (b1 - b) {
    case 3: tile(y + b * ldy, ldy, w, rs, x + b * xs, xs, n, add, 3, NR); break;
    case 2: tile(y + b * ldy, ldy, w, rs, x + b * xs, xs, n, add, 2, NR); break;
    case 1: tile(y + b * ldy, ldy, w, rs, x + b * xs, xs, n, add, 1, NR); break;
    default: break;
    }
}

void qgemm_bf16_avx512bf16(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                           int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n,
                           bool add, void *scratch) {
    (void)scratch;
    const uint8_t *wp = w, *xp = xq;
    switch (B) {
    case 1: rows(y, ldy, wp, rs, R, xp, xs, n, add, 1); return;
    case 2: rows(y, ldy, wp, rs, R, xp, xs, n, add, 2); return;
    case 3: rows(y, ldy, wp, rs, R, xp, xs, n, add, 3); return;
    default: break;
    }
    /* activation rows in blocks of about 256 KiB, which stay in L2 while
     * every group of four weight rows (in L1) passes over them */
    int64_t bc = ((int64_t)(256 << 10) / (2 * (n > 0 ? n : 1))) & ~(int64_t)3;
    if (bc < 4) bc = 4;
    for (int64_t b0 = 0; b0 < B; b0 += bc) {
        int64_t b1 = B - b0 < bc ? B : b0 + bc;
        int64_t r = 0;
        for (; r + 4 <= R; r += 4) block(y + r, ldy, wp + r * rs, rs, xp, xs, b0, b1, n, add, 4);
        for (; r < R; r++) block(y + r, ldy, wp + r * rs, rs, xp, xs, b0, b1, n, add, 1);
    }
}

/* ---- weights repacked at load (kernels.h qpack_ops) -------------------
 *
 * A tile holds 16 rows as four slices of 4 rows, one after the other;
 * a slice holds its rows group by group: group g (elements 32g ..
 * 32g+31, the last one padded with zeros) of row 4s + r is the 64 bytes
 * at s * ng * 256 + g * 256 + r * 64 (ng groups a row). Prefill's 4 x 4
 * register tiles read one slice at a time, so a chunk of groups is one
 * contiguous run of memory (a chunk spread over 32 pieces 1 KiB apart
 * left 7B-wide prefill at 73-80 GMAC/s against 104 in cache); one token
 * reads the four slices side by side, four streams, and runs 16
 * accumulators (16 independent vdpbf16ps chains) where the row dot runs
 * one. Each result is still one accumulator fed the row's groups in order
 * and summed by the tree of bf16.c, so every output is bit-identical to
 * qdot_bf16_ref, for every batch. The zero padding changes nothing: the
 * activation's last group is loaded under the same mask as in qdot, so
 * the padded lanes add fma(0, 0, lane) as the reference's do. */

enum { PK_GROUP = 4 * 64 }; /* bytes of one group of a slice */

static size_t tile_bytes_bf16(int64_t n) { return (size_t)((n + 31) / 32) * 4 * PK_GROUP; }

/* bytes from a slice to the next */
static inline size_t pk_slice(int64_t n) { return (size_t)((n + 31) / 32) * PK_GROUP; }

static void pack_bf16(void *restrict dst, const void *restrict w, size_t rs, int64_t n) {
    uint8_t *d = dst;
    const uint8_t *s = w;
    for (int r = 0; r < 16; r++)
        for (int64_t g = 0; g < (n + 31) / 32; g++) {
            uint8_t *o = d + (size_t)(r / 4) * pk_slice(n) + g * PK_GROUP + (r % 4) * 64;
            const size_t m = 2 * (size_t)(n - 32 * g < 32 ? n - 32 * g : 32);
            memcpy(o, s + r * rs + g * 64, m);
            memset(o + m, 0, 64 - m);
        }
}

/* acc[m*NR + r] += groups [g0, g1) of (tile rows r of w, activation row m);
 * w points at the first of the NR rows in the tile (a slice's first row) */
AI void pk_run(__m512 *acc, const uint8_t *w, const uint8_t *x, size_t xs, int64_t g0, int64_t g1,
               int64_t n, const int MB, const int NR) {
    const size_t ss = pk_slice(n);
    const int64_t gf = g1 < n / 32 ? g1 : n / 32; /* the full groups */
    int64_t g = g0;
    for (; g < gf; g++) {
        __m512bh xv[4];
        /* in registers: gcc would otherwise reload each of them for every
         * weight row (4 x 4 tiles at 67 instead of 84 GMAC/s) */
#pragma GCC unroll 4
        for (int m = 0; m < MB; m++) {
            xv[m] = ld(x + m * xs + g * 64);
            __asm__("" : "+v"(xv[m]));
        }
#pragma GCC unroll 16
        for (int r = 0; r < NR; r++) {
            __m512bh wv = (__m512bh)_mm512_load_si512(w + (r / 4) * ss + g * PK_GROUP + (r % 4) * 64);
#pragma GCC unroll 4
            for (int m = 0; m < MB; m++) acc[m * NR + r] = _mm512_dpbf16_ps(acc[m * NR + r], wv, xv[m]);
        }
    }
    if (g < g1) { /* n % 32 != 0: the padded group, the activation masked as qdot's */
        __mmask32 mk = (__mmask32)((1u << (n - 32 * g)) - 1);
        __m512bh xv[4];
#pragma GCC unroll 4
        for (int m = 0; m < MB; m++) xv[m] = ldm(mk, x + m * xs + g * 64);
#pragma GCC unroll 16
        for (int r = 0; r < NR; r++) {
            __m512bh wv = (__m512bh)_mm512_load_si512(w + (r / 4) * ss + g * PK_GROUP + (r % 4) * 64);
#pragma GCC unroll 4
            for (int m = 0; m < MB; m++) acc[m * NR + r] = _mm512_dpbf16_ps(acc[m * NR + r], wv, xv[m]);
        }
    }
}

/* out[k] = the tree of bf16.c on acc[k], k < K <= 16 */
AI void pk_sums(float *out, const __m512 *acc, const int K) {
    if (K <= 2) {
#pragma GCC unroll 2
        for (int k = 0; k < K; k++) out[k] = hsum16(acc[k]);
        return;
    }
    __m512 a[16];
#pragma GCC unroll 16
    for (int L = 0; L < 16; L++) a[L / 4 + 4 * (L % 4)] = L < K ? acc[L] : _mm512_setzero_ps();
    float o[16];
    _mm512_storeu_ps(o, hsum16x16(a));
#pragma GCC unroll 16
    for (int k = 0; k < K; k++) out[k] = o[k];
}

/* A register tile (MB activation rows x NR tile rows) over groups
 * [g0, g1): from zero (first) or the partial sums in part, to part or,
 * after the last group, summed into y[m*ldy + r] */
AI void pk_tile(float *restrict y, ptrdiff_t ldy, const uint8_t *w, const uint8_t *x, size_t xs,
                int64_t g0, int64_t g1, int64_t n, bool add, float *part, bool first, bool last,
                const int MB, const int NR) {
    __m512 acc[16];
#pragma GCC unroll 16
    for (int k = 0; k < MB * NR; k++) acc[k] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(part + 16 * k);
    pk_run(acc, w, x, xs, g0, g1, n, MB, NR);
    if (!last) {
#pragma GCC unroll 16
        for (int k = 0; k < MB * NR; k++) _mm512_storeu_ps(part + 16 * k, acc[k]);
        return;
    }
    float out[16];
    pk_sums(out, acc, MB * NR);
#pragma GCC unroll 4
    for (int m = 0; m < MB; m++)
#pragma GCC unroll 16
        for (int r = 0; r < NR; r++) {
            float *o = y + m * ldy + r;
            *o = add ? *o + out[m * NR + r] : out[m * NR + r];
        }
}

/* Prefill: activation rows in blocks that stay in L2 (bc rows of up to
 * PK_KG groups); for each 4 rows of a tile, the groups in chunks of
 * PK_KG (8 KiB of weights, in L1) against every 4 activation rows of the
 * block (4 x 4 register tiles), partial sums kept in scratch between
 * chunks (a store and a load are exact, so the order of the fma's is
 * unchanged). Single thread, 64 activation rows (bench/kernels.c, side by
 * side): 4096 x 4096 at 100 GMAC/s (the tile layout of 16 rows group by
 * group: 69-86; slices without the prefetch: 90), 11008 x 4096 at 96-98
 * (41 for the GEMM on the file's rows); in cache 104, of a measured
 * vdpbf16ps peak of 117 per core. */
enum { PK_KG = 32 };

static void pk_gemm(float *restrict y, ptrdiff_t ldy, const uint8_t *tiles, int64_t T,
                    const uint8_t *x, size_t xs, int64_t B, int64_t n, bool add, float *part) {
    const size_t tb = tile_bytes_bf16(n);
    const int64_t ng = (n + 31) / 32, kc = ng < PK_KG ? n : 32 * PK_KG;
    int64_t bc = ((int64_t)(256 << 10) / (2 * kc)) & ~(int64_t)3;
    if (bc < 4) bc = 4;
    for (int64_t b0 = 0; b0 < B; b0 += bc) {
        const int64_t b1 = B - b0 < bc ? B : b0 + bc;
        for (int64_t t = 0; t < T; t++)
            for (int s = 0; s < 4; s++) {
                const uint8_t *w = tiles + (size_t)t * tb + s * pk_slice(n);
                float *yt = y + t * 16 + s * 4;
                for (int64_t g0 = 0; g0 < ng; g0 += PK_KG) {
                    const int64_t g1 = ng - g0 < PK_KG ? ng : g0 + PK_KG;
                    const bool first = g0 == 0, last = g1 == ng;
                    float *p = part;
                    int64_t b = b0;
                    /* the next chunk of weights (the next bytes of the
                     * region) brought to L2 a share per register tile, so
                     * its first pass does not wait on memory */
                    const char *nx = (const char *)(w + g1 * PK_GROUP);
                    const size_t nbytes = (size_t)(g1 - g0) * PK_GROUP;
                    const size_t share = ((nbytes / (size_t)((b1 - b0 + 3) / 4)) + 63) & ~(size_t)63;
                    size_t off = 0;
                    for (; b + 4 <= b1; b += 4, p += 16 * 16) {
                        for (size_t e = off + share; off < e && off < nbytes; off += 64)
                            _mm_prefetch(nx + off, _MM_HINT_T1);
                        pk_tile(yt + b * ldy, ldy, w, x + b * xs, xs, g0, g1, n, add, p, first, last, 4, 4);
                    }
                    switch (b1 - b) {
                    case 3: pk_tile(yt + b * ldy, ldy, w, x + b * xs, xs, g0, g1, n, add, p, first, last, 3, 4); break;
                    case 2: pk_tile(yt + b * ldy, ldy, w, x + b * xs, xs, g0, g1, n, add, p, first, last, 2, 4); break;
                    case 1: pk_tile(yt + b * ldy, ldy, w, x + b * xs, xs, g0, g1, n, add, p, first, last, 1, 4); break;
                    default: break;
                    }
                }
            }
    }
}

/* Decoding: every tile read once, 16 rows (B = 1) or 8 rows (B = 2) at a
 * time, whole rows (no partial sums) */
AI void pk_small(float *restrict y, ptrdiff_t ldy, const uint8_t *tiles, int64_t T,
                 const uint8_t *x, size_t xs, int64_t n, bool add, const int MB, const int NR) {
    const size_t tb = tile_bytes_bf16(n);
    const int64_t ng = (n + 31) / 32;
    for (int64_t t = 0; t < T; t++)
        for (int s = 0; s < 16 / NR; s++)
            pk_tile(y + t * 16 + s * NR, ldy, tiles + (size_t)t * tb + s * (NR / 4) * pk_slice(n), x, xs, 0, ng, n,
                    add, NULL, true, true, MB, NR);
}

static void qgemm_packed_bf16_avx512bf16(float *restrict y, ptrdiff_t ldy, const void *restrict tiles,
                                         int64_t T, const void *restrict xq, size_t xs, int64_t B,
                                         int64_t n, bool add, void *scratch) {
    const uint8_t *tp = tiles, *xp = xq;
    switch (B) {
    case 1: pk_small(y, ldy, tp, T, xp, xs, n, add, 1, 16); return;
    case 2: pk_small(y, ldy, tp, T, xp, xs, n, add, 2, 8); return;
    default: pk_gemm(y, ldy, tp, T, xp, xs, B, n, add, scratch); return;
    }
}

/* rows narrower than 1024 stay in the file layout: one token reads them
 * faster as rows (SmolLM2's 576-wide 49152-row output: 25-34 GB/s as rows
 * against 21-26 packed, one thread; 135M BF16 tg128 57-61 t/s against 53-55) */
const qpack_ops qpack_bf16_avx512bf16 = {tile_bytes_bf16, pack_bf16, qgemm_packed_bf16_avx512bf16,
                                         1024};

#endif /* __x86_64__ */
