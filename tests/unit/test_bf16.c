/* test_bf16.c — the default path for BF16 weights (kernels/bf16*.c).
 *
 * - act_quantize_bf16 against llama.cpp's rounding written out here bit by
 *   bit (round to nearest, ties to even; NaN -> quiet NaN; overflow to
 *   inf), on ties, NaN, inf, subnormals and random bit patterns; every
 *   ISA's quantizer gives the scalar one's bytes, at lengths with tails;
 * - qdot_bf16_ref against a double product of the bf16 values, within the
 *   bound of its fp32 lanes;
 * - every ISA's qdot, qdot4 and qgemm bit-identical to qdot_bf16_ref, on
 *   random rows of many lengths (tails of every size), on subnormal, huge
 *   and tiny values (the DAZ/FTZ of vdpbf16ps), for B = 1..13, ragged R,
 *   with and without add;
 * - the GEMM on weights repacked in tiles of 16 rows, bit-identical to
 *   qdot_bf16_ref for every batch (one token included), lengths with
 *   tails, K in one chunk or several;
 * - matmul's default path on a BF16 weight, on the file's rows and (where
 *   the table repacks BF16) on tiles: every result equal to the reference
 *   dot on the rounded activations, and within 2^-9 (the bf16 rounding of
 *   x) plus fp32 noise of the exact path, 1 and 3 threads. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/f16.h"
#include "base/mem.h"
#include "base/threadpool.h"
#include "check.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint32_t rand32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}
static float frand(void) { return (float)(rand32() / 4294967296.0 * 2.0 - 1.0); }
static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* llama.cpp's fp32 -> bf16, spelled out differently from base/f16.h */
static uint16_t bf16_formula(uint32_t u) {
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) return (uint16_t)((u >> 16) | 0x40);
    uint32_t t = u >> 16, rem = u & 0xffff;
    if (rem > 0x8000 || (rem == 0x8000 && (t & 1))) t++; /* carries into the exponent: inf */
    return (uint16_t)t;
}

static const char *isas[] = {"scalar", "avx2", "avx512", "avx512vnni", "avx512bf16"};
enum { N_ISA = 5 };

static void test_quantize(void) {
    enum { N = 1000 };
    static const uint32_t special[] = {
        0x3f808000, /* tie, even below: down */ 0x3f818000, /* tie, odd below: up */
        0x3f808001, 0x3f807fff, 0xbf818000, 0x7f800000, 0xff800000, 0x7f7fffff, /* -> inf */
        0x7f7f7fff, 0x7fc00000, 0x7f800001 /* signalling NaN */, 0xffffffff, 0x7fbfffff,
        0x00000001, 0x007fffff /* subnormal -> smallest normal */, 0x80000000, 0x00000000,
        0x00008000, 0x00018000, 0x80400000};
    static float x[N];
    static uint16_t want[N], got[N];
    const int ns = (int)(sizeof special / sizeof special[0]);
    for (int i = 0; i < N; i++) {
        uint32_t u = i < ns ? special[i] : i % 3 ? rand32() : (uint32_t)(rand32() & 0xffff8000u) | 0x8000u;
        x[i] = from_bits(u);
        want[i] = bf16_formula(u);
    }
    act_quantize_bf16(x, got, N);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += got[i] != want[i];
    CHECK(bad == 0, "act_quantize_bf16: %d of %d differ from llama.cpp's rounding", bad, N);
    CHECK(want[0] == 0x3f80 && want[1] == 0x3f82 && want[5] == 0x7f80 && want[7] == 0x7f80 &&
              want[9] == 0x7fc0 && want[10] == 0x7fc0 && want[14] == 0x0080,
          "the rounding formula's own cases");
    for (int k = 1; k < N_ISA; k++) {
        const kernel_table *kt = kernels_variant(isas[k]);
        if (!kt) continue;
        CHECK(kt->act_quant[OWL_TYPE_BF16] != NULL, "%s has no bf16 activation rounding", isas[k]);
        if (!kt->act_quant[OWL_TYPE_BF16]) continue;
        int badl = 0;
        for (int n = 0; n <= 70; n++) { /* tails; the guard after n stays untouched */
            uint16_t v[72];
            memset(v, 0xab, sizeof v);
            kt->act_quant[OWL_TYPE_BF16](x + 3, v, n);
            badl += memcmp(v, want + 3, sizeof(uint16_t) * (size_t)n) != 0 || v[n] != 0xabab;
        }
        memset(got, 0, sizeof got);
        kt->act_quant[OWL_TYPE_BF16](x, got, N);
        CHECK(badl == 0 && memcmp(got, want, sizeof got) == 0,
              "%s bf16 activation rounding differs from the scalar bytes (%d lengths)", isas[k], badl);
    }
}

/* bf16 rows: random values, or (wild) bit patterns with subnormals, huge
 * and tiny exponents, no NaN or inf */
static void fill_bf16(uint16_t *p, int64_t n, int wild) {
    for (int64_t i = 0; i < n; i++) {
        if (!wild) {
            p[i] = f32_to_bf16(frand());
            continue;
        }
        uint32_t r = rand32(), e;
        switch (r % 5) {
        case 0: e = 0; break;                /* zero or subnormal */
        case 1: e = 1 + (r >> 8) % 6; break; /* near the smallest normal */
        case 2: e = 200 + (r >> 8) % 54; break;
        default: e = 100 + (r >> 8) % 50; break;
        }
        p[i] = (uint16_t)((r >> 31) << 15 | e << 7 | ((r >> 16) & 0x7f));
    }
}

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)); }

static void test_qdot(void) {
    enum { NMAX = 2100 };
    static uint16_t w[NMAX], x[4 * NMAX];
    /* the reference against a double product: each of 16 lanes sums about
     * n/16 exact products in fp32, then four adds */
    int64_t lens[64];
    int nl = 0;
    for (int64_t n = 1; n <= 100; n++)
        if (n <= 40 || n % 7 == 0) lens[nl++] = n;
    lens[nl++] = 576, lens[nl++] = 1536, lens[nl++] = 2048 + 17;
    double worst_ratio = 0;
    for (int li = 0; li < nl; li++) {
        int64_t n = lens[li];
        fill_bf16(w, n, 0);
        fill_bf16(x, n, 0);
        double want = 0, mag = 0;
        for (int64_t i = 0; i < n; i++) {
            double p = (double)bf16_to_f32(w[i]) * bf16_to_f32(x[i]);
            want += p, mag += fabs(p);
        }
        double bound = ((double)(n + 31) / 32 * 2 + 4) * 0x1p-24 * mag + 1e-30;
        worst_ratio = fmax(worst_ratio, fabs(qdot_bf16_ref(w, x, n) - want) / bound);
    }
    CHECK(worst_ratio <= 1, "qdot_bf16_ref: %g of its fp32 error bound from the double product", worst_ratio);

    for (int k = 1; k < N_ISA; k++) {
        const kernel_table *kt = kernels_variant(isas[k]);
        if (!kt) continue;
        if (!kt->qdot[OWL_TYPE_BF16] || !kt->qdot4[OWL_TYPE_BF16]) {
            CHECK(0, "%s has no bf16 dot", isas[k]);
            continue;
        }
        int bad = 0, bad4 = 0, runs = 0;
        for (int wild = 0; wild < 2; wild++)
            for (int li = 0; li < nl; li++)
                for (int rep = 0; rep < 3; rep++, runs++) {
                    int64_t n = lens[li];
                    size_t xs = sizeof(uint16_t) * (size_t)(n + 3); /* rows not 64-byte aligned */
                    fill_bf16(w, n, wild);
                    for (int m = 0; m < 4; m++) fill_bf16(x + m * (n + 3), n, wild);
                    bad += !same_bits(kt->qdot[OWL_TYPE_BF16](w, x, n), qdot_bf16_ref(w, x, n));
                    float o4[4];
                    kt->qdot4[OWL_TYPE_BF16](w, x, xs, o4, n);
                    for (int m = 0; m < 4; m++)
                        bad4 += !same_bits(o4[m], qdot_bf16_ref(w, (const char *)x + m * xs, n));
                }
        CHECK(bad == 0 && bad4 == 0, "%s bf16 qdot: %d of %d differ from the scalar reference, qdot4 %d of %d",
              isas[k], bad, runs, bad4, 4 * runs);
    }
}

static void test_qgemm(void) {
    enum { NMAX = 600, RMAX = 37, BMAX = 13, LDY = 41 };
    static const int64_t ns[] = {1, 31, 32, 33, 64, 100, 576};
    static const int64_t Rs[] = {1, 3, 4, 5, 16, 17, 32, 37};
    static uint16_t w[RMAX * NMAX], x[BMAX * NMAX];
    static float y[BMAX * LDY];
    int tested = 0;
    for (int k = 0; k < N_ISA; k++) {
        const kernel_table *kt = kernels_variant(isas[k]);
        if (!kt || !kt->qgemm[OWL_TYPE_BF16]) continue;
        tested++;
        int bad = 0, runs = 0;
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
            const int64_t n = ns[ni];
            const size_t rs = 2 * (size_t)n + 2, xs = 2 * (size_t)n + 6; /* odd strides */
            fill_bf16(w, RMAX * NMAX, ni % 3 == 2);
            fill_bf16(x, BMAX * NMAX, ni % 3 == 2);
            for (size_t ri = 0; ri < sizeof Rs / sizeof Rs[0]; ri++)
                for (int64_t B = 1; B <= BMAX; B++)
                    for (int add = 0; add < 2; add++) {
                        const int64_t R = Rs[ri];
                        for (int i = 0; i < BMAX * LDY; i++) y[i] = add ? 0.5f : 12345.0f;
                        kt->qgemm[OWL_TYPE_BF16](y, LDY, w, rs, R, x, xs, B, n, add, NULL);
                        for (int64_t b = 0; b < BMAX; b++)
                            for (int64_t r = 0; r < LDY; r++) {
                                float got = y[b * LDY + r];
                                if (b >= B || r >= R) {
                                    bad += got != (add ? 0.5f : 12345.0f);
                                    continue;
                                }
                                float d = qdot_bf16_ref((const char *)w + r * rs, (const char *)x + b * xs, n);
                                bad += !same_bits(got, add ? 0.5f + d : d);
                            }
                        runs++;
                    }
        }
        CHECK(bad == 0, "%s bf16 qgemm: %d results differ from the scalar dot (or written outside) in %d runs",
              kt->isa, bad, runs);
    }
    const kernel_table *kb = kernels_variant("avx512bf16");
    if (kb) CHECK(tested > 0, "avx512bf16 has no bf16 GEMM");
}

/* the GEMM on weights repacked in 16-row tiles: every output bit-identical
 * to qdot_bf16_ref for B = 1..13 and a batch over two activation blocks,
 * lengths with tails, in one chunk of columns or several (partial sums
 * kept between chunks, n > 1024), 1 to 3 tiles, with and without add;
 * nothing written outside the tiles' columns */
static void test_qgemm_packed(void) {
    const kernel_table *kb = kernels_variant("avx512bf16");
    if (!kb) return;
    const qpack_ops *qp = kb->qpack[OWL_TYPE_BF16];
    CHECK(qp != NULL, "avx512bf16 does not repack BF16 weights");
    if (!qp) return;
    static const int64_t ns[] = {1, 31, 33, 100, 576, 1056, 1100, 2080};
    static const int64_t Bs[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 130};
    enum { TMAX = 3, BMAX = 130, LDY = 16 * TMAX + 5 };
    const int64_t nmax = 2080;
    /* rows nmax + 1 and nmax + 3 elements apart (odd strides below) */
    uint16_t *w = malloc(sizeof(uint16_t) * 16 * TMAX * (nmax + 1)), *x = malloc(sizeof(uint16_t) * BMAX * (nmax + 3));
    float *y = malloc(sizeof(float) * BMAX * LDY), *ref = malloc(sizeof(float) * BMAX * 16 * TMAX);
    int bad = 0, runs = 0;
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
        const int64_t n = ns[ni];
        const size_t rs = 2 * (size_t)n + 2, xs = 2 * (size_t)n + 6; /* odd strides */
        fill_bf16(w, 16 * TMAX * (int64_t)rs / 2, ni % 3 == 2);
        fill_bf16(x, BMAX * (int64_t)xs / 2, ni % 3 == 1);
        const size_t tb = qp->tile_bytes(n);
        CHECK(tb == 16 * 64 * (size_t)((n + 31) / 32), "bf16 tile of n=%lld: %zu bytes", (long long)n, tb);
        uint8_t *tiles = owl_xaligned(tb * TMAX);
        for (int t = 0; t < TMAX; t++) qp->pack(tiles + t * tb, (const uint8_t *)w + t * 16 * rs, rs, n);
        void *scratch = owl_xaligned(qgemm_scratch_bytes(n, BMAX));
        for (int64_t b = 0; b < BMAX; b++)
            for (int r = 0; r < 16 * TMAX; r++)
                ref[b * 16 * TMAX + r] = qdot_bf16_ref((const uint8_t *)w + r * rs, (const uint8_t *)x + b * xs, n);
        for (int T = 1; T <= TMAX; T++)
            for (size_t bi = 0; bi < sizeof Bs / sizeof Bs[0]; bi++)
                for (int add = 0; add < 2; add++) {
                    const int64_t B = Bs[bi];
                    if (B > 13 && (T != TMAX || n < 1056)) continue;
                    for (int i = 0; i < BMAX * LDY; i++) y[i] = add ? 0.5f : 12345.0f;
                    qp->gemm(y, LDY, tiles, T, x, xs, B, n, add, scratch);
                    for (int64_t b = 0; b < BMAX; b++)
                        for (int r = 0; r < LDY; r++) {
                            float got = y[b * LDY + r];
                            if (b >= B || r >= 16 * T) bad += got != (add ? 0.5f : 12345.0f);
                            else {
                                float d = ref[b * 16 * TMAX + r];
                                bad += !same_bits(got, add ? 0.5f + d : d);
                            }
                        }
                    runs++;
                }
        owl_afree(scratch);
        owl_afree(tiles);
    }
    CHECK(bad == 0, "bf16 packed GEMM: %d results differ from the scalar dot (or written outside) in %d runs",
          bad, runs);
    free(w);
    free(x);
    free(y);
    free(ref);
}

/* matmul of a BF16 weight on the default path, against the reference dot
 * and against the exact path */
static void test_matmul(const kernel_table *kt, threadpool *pool) {
    enum { R = 100, K = 101, BM = 20 };
    static uint16_t wq[R * K];
    static float x[BM * K], y[BM * R], ye[BM * R];
    fill_bf16(wq, R * K, 0);
    for (int i = 0; i < BM * K; i++) x[i] = frand() * 3.0f;
    mat w = {.data = wq, .type = OWL_TYPE_BF16, .rows = R, .cols = K, .row_size = sizeof(uint16_t) * K};
    /* where the table repacks BF16, the second pass runs on tiles (6 of
     * 16 rows, the last 4 rows from the file's) */
    const qpack_ops *qp = kt->qpack[OWL_TYPE_BF16];
    uint8_t *tiles = qp ? owl_xaligned(qp->tile_bytes(K) * (R / 16)) : NULL;
    for (int t = 0; qp && t < R / 16; t++)
        qp->pack(tiles + (size_t)t * qp->tile_bytes(K), wq + t * 16 * K, w.row_size, K);
    const int T = threadpool_size(pool);
    float *scratch = owl_xaligned(sizeof(float) * matmul_scratch_per_thread(K) * (size_t)T);
    uint8_t *xa = owl_xaligned(matmul_act_row_bytes(OWL_TYPE_BF16, K) * BM);
    matmul_ctx mc = {.pool = pool, .kt = kt, .scratch = scratch, .max_cols = K, .exact = true, .max_rows = BM};
    mc.x_act[OWL_TYPE_BF16] = xa;
    static const int Bs[] = {1, 2, 3, 5, 20};
    for (size_t bi = 0; bi < 2 * (sizeof Bs / sizeof Bs[0]); bi++) {
        const int B = Bs[bi % (sizeof Bs / sizeof Bs[0])];
        const bool packed = bi >= sizeof Bs / sizeof Bs[0];
        if (packed && !qp) break;
        w.tiles = packed ? tiles : NULL;
        w.pack = packed ? qp : NULL;
        matmul_op op = {ye, R, x, K, &w, false};
        mc.exact = true;
        matmul(&mc, B, &op, 1);
        op.y = y;
        mc.exact = false;
        matmul(&mc, B, &op, 1);
        int bad = 0;
        double loose = 0;
        for (int b = 0; b < B; b++) {
            uint16_t xb[K];
            act_quantize_bf16(x + b * K, xb, K);
            for (int r = 0; r < R; r++) {
                bad += !same_bits(y[b * R + r], qdot_bf16_ref(wq + r * K, xb, K));
                double mag = 0;
                for (int i = 0; i < K; i++) mag += fabs((double)bf16_to_f32(wq[r * K + i]) * x[b * K + i]);
                loose = fmax(loose, fabs(y[b * R + r] - ye[b * R + r]) / mag);
            }
        }
        CHECK(bad == 0, "default-path matmul bf16%s B=%d isa=%s threads=%d: %d of %d differ from qdot_bf16_ref",
              packed ? " (packed)" : "", B, kt->isa, T, bad, B * R);
        /* x rounded to bf16 moves each term by at most 2^-9 of itself; the
         * two fp32 sums add a few 2^-24 */
        CHECK(loose < 0x1p-9 + 1e-5, "default-path matmul bf16 B=%d isa=%s: %g from the exact path", B,
              kt->isa, loose);
    }
    owl_afree(tiles);
    owl_afree(xa);
    owl_afree(scratch);
}

int main(void) {
    printf("dispatch chose: %s\n", kernels_get()->isa);
    test_quantize();
    test_qdot();
    test_qgemm();
    test_qgemm_packed();
    for (int nt = 1; nt <= 3; nt += 2) {
        threadpool *pool = NULL;
        if (threadpool_new(nt, &pool) != OWL_OK) {
            CHECK(0, "threadpool_new(%d): %s", nt, owl_last_error());
            continue;
        }
        for (int k = 0; k < N_ISA; k++) {
            const kernel_table *kt = kernels_variant(isas[k]);
            if (kt) test_matmul(kt, pool);
        }
        threadpool_free(pool);
    }
    return check_done();
}
