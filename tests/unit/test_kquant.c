/* test_kquant.c — the default path's K-quant matmul pieces: Q8_K
 * activations and the integer dots of Q4_K, Q5_K, Q6_K rows with them.
 *
 * - against llama.cpp (tests/fixtures/quants/kdot.bin, made by
 *   scripts/reference/make_kquant_fixtures.py from the llama.cpp build the
 *   benchmarks run): act_quantize_q8_K of every ISA gives llama.cpp's
 *   quantize_row_q8_K bytes, and the scalar qdot reference gives
 *   llama.cpp's ggml_vec_dot_qN_K_q8_K result bit for bit, as does every
 *   ISA variant (so owl's default path computes llama.cpp's numbers);
 * - every ISA's quantizer byte-identical to the scalar one on rows of
 *   extreme scales (subnormal maxima where 127 / max overflows, huge
 *   values, infinities and nans, signed zeros, ties);
 * - every ISA's qdot and qdot4 bit-identical to the scalar reference on
 *   many random rows: quantized weights, random bytes with sane scales,
 *   and activations from 1e-30 to 1e30;
 * - the reference against the exact product of the dequantized rows
 *   (double), within a bound derived below. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/f16.h"
#include "check.h"
#include "kernels/kernels.h"
#include "tensor/dtype.h"
#include "tensor/quants.h"

static const char *isas[] = {"scalar", "avx2", "avx512", "avx512vnni", "avx512bf16"};
enum { N_ISA = 5 };
/* the K-quants, and Q5_0 (with Q8_0 activations), which Q4_K_M files
 * hold for rows not a multiple of 256 long */
static const int ktypes[] = {OWL_TYPE_Q4_K, OWL_TYPE_Q5_K, OWL_TYPE_Q6_K, OWL_TYPE_Q5_0};
enum { N_KT = 4 };

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t urand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}
static float frand(void) { return (float)(urand() / 4294967296.0 * 2.0 - 1.0); }
static float grand(void) { /* roughly Gaussian */
    return (frand() + frand() + frand() + frand()) * 0.8660254f;
}

static float qdot_ref(int t, const void *w, const void *xq, int64_t n) {
    return t == OWL_TYPE_Q4_K   ? qdot_q4_K_q8_K_ref(w, xq, n)
           : t == OWL_TYPE_Q5_K ? qdot_q5_K_q8_K_ref(w, xq, n)
           : t == OWL_TYPE_Q6_K ? qdot_q6_K_q8_K_ref(w, xq, n)
                                : qdot_q5_0_q8_0_ref(w, xq, n);
}

static void act_quantize(int t, const float *x, void *xq, int64_t n) {
    if (dtype_get(t)->vec_dot_type == OWL_TYPE_Q8_K) act_quantize_q8_K(x, xq, n);
    else act_quantize_q8_0(x, xq, n);
}

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ---- llama.cpp's numbers ------------------------------------------------ */

static void test_fixture(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/quants/kdot.bin", check_env("OWL_FIXTURES"));
    size_t len;
    unsigned char *buf = (unsigned char *)check_read_file(path, &len);
    if (!buf || len < 12 || memcmp(buf, "OWLKDOT1", 8) != 0) {
        CHECK(0, "%s: missing or not a kdot fixture", path);
        free(buf);
        return;
    }
    uint32_t cases;
    memcpy(&cases, buf + 8, 4);
    size_t off = 12;
    int q_ok = 0, d_ok = 0, isa_ok = 0, isa_n = 0, types_seen = 0;
    for (uint32_t c = 0; c < cases; c++) {
        uint32_t t, n;
        if (off + 8 > len) break;
        memcpy(&t, buf + off, 4);
        memcpy(&n, buf + off + 4, 4);
        off += 8;
        if ((t != OWL_TYPE_Q4_K && t != OWL_TYPE_Q5_K && t != OWL_TYPE_Q6_K && t != OWL_TYPE_Q5_0) ||
            n % QK_K || n > 8192) {
            CHECK(0, "case %u: bad type %u or length %u", c, t, n);
            break;
        }
        const int act = dtype_get((int)t)->vec_dot_type;
        const size_t ws = dtype_row_size((int)t, n), xqs = dtype_row_size(act, n);
        if (off + ws + 4 * n + xqs + 4 > len) break;
        /* copies, aligned for the blocks */
        static block_q8_K want_q[40], got_q[40]; /* room for Q8_0 rows too */
        static float x[8192];
        static uint64_t w[8192];
        memcpy(w, buf + off, ws);
        memcpy(x, buf + off + ws, 4 * (size_t)n);
        memcpy(want_q, buf + off + ws + 4 * (size_t)n, xqs);
        float want;
        memcpy(&want, buf + off + ws + 4 * (size_t)n + xqs, 4);
        off += ws + 4 * (size_t)n + xqs + 4;
        types_seen |= 1 << (t == OWL_TYPE_Q5_0 ? 3 : t - OWL_TYPE_Q4_K);

        act_quantize((int)t, x, got_q, n);
        bool same_q = memcmp(got_q, want_q, xqs) == 0;
        q_ok += same_q;
        CHECK(same_q, "case %u: act_quantize_%s differs from llama.cpp's quantize_row", c, dtype_get(act)->name);
        float got = qdot_ref((int)t, w, want_q, n);
        d_ok += bits(got) == bits(want);
        CHECK(bits(got) == bits(want), "case %u (%s, n=%u): qdot ref %.9g, llama.cpp %.9g", c,
              dtype_get((int)t)->name, n, got, want);
        for (int k = 1; k < N_ISA; k++) {
            const kernel_table *kt = kernels_variant(isas[k]);
            if (!kt) continue;
            memset(got_q, 0x55, sizeof got_q);
            kt->act_quant[act](x, got_q, n);
            float g = kt->qdot[t](w, want_q, n);
            isa_n++;
            isa_ok += memcmp(got_q, want_q, xqs) == 0 && bits(g) == bits(want);
            CHECK(memcmp(got_q, want_q, xqs) == 0 && bits(g) == bits(want),
                  "case %u: %s quantizer or qdot (%.9g) differs from llama.cpp (%.9g)", c, isas[k], g, want);
        }
    }
    CHECK(off == len && types_seen == 15, "%s: read %zu of %zu bytes, types seen %d", path, off, len, types_seen);
    printf("llama.cpp fixture: %u cases, activation bytes equal in %d, dots equal in %d, ISA variants %d/%d\n",
           cases, q_ok, d_ok, isa_ok, isa_n);
    free(buf);
}

/* ---- quantizer: ISA variants against the scalar one ---------------------- */

static void test_act_quant_extremes(void) {
    enum { N = 256 * 16 };
    static float x[N];
    static block_q8_K want[N / QK_K], got[N / QK_K];
    for (int rep = 0; rep < 40; rep++) {
        for (int b = 0; b < N / QK_K; b++) {
            float *xb = x + b * QK_K;
            /* scales from subnormal (127 / max overflows to inf) to 1e38 */
            static const float scales[] = {1e-45f, 1e-40f, 3e-39f, 1e-37f, 1e-30f, 1e-6f, 1.0f,
                                           1e6f,   1e30f,  1e38f,  3e38f};
            const float s = scales[urand() % (sizeof scales / sizeof scales[0])];
            for (int j = 0; j < QK_K; j++) xb[j] = grand() * s;
            switch (urand() % 8) {
            case 0: memset(xb, 0, sizeof(float) * QK_K); break;
            case 1: for (int j = 0; j < QK_K; j++) xb[j] = -0.0f; break;
            case 2: xb[urand() % QK_K] = NAN; break;
            case 3: xb[urand() % QK_K] = (urand() & 1) ? INFINITY : -INFINITY; break;
            case 4: { /* a tie of either sign for the largest magnitude */
                int a = urand() % QK_K, c = urand() % QK_K;
                xb[a] = 50 * s, xb[c] = -50 * s;
                break;
            }
            case 5: /* halves: ties of the rounding */
                for (int j = 0; j < QK_K; j++) xb[j] = (float)((int)(urand() % 255) - 127) * 0.5f;
                xb[0] = 127.0f;
                break;
            default: break;
            }
        }
        act_quantize_q8_K(x, want, N);
        for (int k = 1; k < N_ISA; k++) {
            const kernel_table *kt = kernels_variant(isas[k]);
            if (!kt) continue;
            memset(got, 0x55, sizeof got);
            kt->act_quant[OWL_TYPE_Q8_K](x, got, N);
            CHECK(memcmp(got, want, sizeof got) == 0, "%s act_quantize_q8_K differs from the scalar one (rep %d)",
                  isas[k], rep);
        }
    }
    /* the formula, on a plain row: d = max / -127 with max the signed value
     * of largest magnitude, q = round(x / d), bsums the sums of 16 */
    for (int j = 0; j < QK_K; j++) x[j] = grand();
    x[77] = -3.5f;
    act_quantize_q8_K(x, want, QK_K);
    int bad = bits(want[0].d) != bits(1.0f / (-127.0f / -3.5f));
    for (int j = 0; j < QK_K; j++) bad += want[0].qs[j] != (int)nearbyintf(x[j] * (-127.0f / -3.5f));
    for (int g = 0; g < 16; g++) {
        int s = 0;
        for (int j = 0; j < 16; j++) s += want[0].qs[16 * g + j];
        bad += want[0].bsums[g] != s;
    }
    CHECK(bad == 0, "act_quantize_q8_K: %d fields differ from the formula", bad);
}

/* ---- dots --------------------------------------------------------------- */

/* a weight row of type t: quantized Gaussian values, or random bytes whose
 * f16 scales are finite and of either sign */
static void make_weights(int t, void *wq, int64_t n, bool random_bytes) {
    const dtype_traits *tr = dtype_get(t);
    if (!random_bytes) {
        static float w[8192];
        const float s = 0.01f + (float)(urand() % 300) / 100.0f;
        for (int64_t i = 0; i < n; i++) w[i] = grand() * s;
        tr->from_float(w, wq, n);
        return;
    }
    uint8_t *p = wq;
    for (size_t i = 0; i < dtype_row_size(t, n); i++) p[i] = (uint8_t)urand();
    for (int64_t b = 0; b < n / tr->blck; b++) {
        uint8_t *blk = p + b * tr->size;
        const int offs[2] = {t == OWL_TYPE_Q6_K ? 208 : 0, t == OWL_TYPE_Q4_K || t == OWL_TYPE_Q5_K ? 2 : -1};
        for (int k = 0; k < 2; k++) {
            if (offs[k] < 0) continue;
            float v = ldexpf(1.0f + frand() * 0.5f, -(int)(urand() % 14) - 1) * ((urand() % 5) ? 1.0f : -1.0f);
            uint16_t h = f32_to_f16(v);
            memcpy(blk + offs[k], &h, 2);
        }
    }
}

static void test_qdot_variants(void) {
    enum { NMAX = 256 * 12 };
    static uint64_t wq[NMAX * 2 / 8];
    static float x[4 * NMAX];
    static block_q8_K xq[4 * NMAX / QK_K + 8];
    static const float scales[] = {1e-30f, 1e-10f, 1e-3f, 1.0f, 30.0f, 1e4f, 1e10f, 1e30f};
    int cases = 0, same = 0, same4 = 0;
    for (int rep = 0; rep < 300; rep++) {
        const int t = ktypes[rep % N_KT];
        const int64_t n = QK_K * (1 + (int64_t)(urand() % 12));
        make_weights(t, wq, n, rep % 2);
        const size_t xs = dtype_row_size(dtype_get(t)->vec_dot_type, n);
        for (int k = 0; k < 4; k++) {
            for (int64_t i = 0; i < n; i++)
                x[k * n + i] = grand() * scales[urand() % (sizeof scales / sizeof scales[0])];
            act_quantize(t, x + k * n, (char *)xq + k * xs, n);
        }
        float want[4];
        for (int k = 0; k < 4; k++) want[k] = qdot_ref(t, wq, (char *)xq + k * xs, n);
        for (int v = 0; v < N_ISA; v++) {
            const kernel_table *kt = kernels_variant(isas[v]);
            if (!kt) continue;
            if (!kt->qdot[t] || !kt->qdot4[t]) {
                CHECK(0, "%s has no qdot for %s", isas[v], dtype_get(t)->name);
                continue;
            }
            cases++;
            float got = kt->qdot[t](wq, xq, n), got4[4];
            same += bits(got) == bits(want[0]);
            CHECK(bits(got) == bits(want[0]), "%s qdot %s n=%lld: %.9g, reference %.9g", isas[v],
                  dtype_get(t)->name, (long long)n, got, want[0]);
            kt->qdot4[t](wq, xq, xs, got4, n);
            int s4 = 0;
            for (int k = 0; k < 4; k++) s4 += bits(got4[k]) == bits(want[k]);
            same4 += s4 == 4;
            CHECK(s4 == 4, "%s qdot4 %s n=%lld: %d of 4 equal the reference", isas[v], dtype_get(t)->name,
                  (long long)n, s4);
        }
    }
    printf("qdot/qdot4 variants: %d of %d equal the reference, qdot4 %d\n", same, cases, same4);
}

/* The reference against the exact product of what it multiplies: the
 * dequantized weights w_e and activations d_x q_e in double. Integer sums
 * are exact; the fp32 steps are one product d_x * d_w per super-block,
 * one fma per lane and super-block, and the final sums: a relative error
 * of a few ulp (2^-24 each) of the terms' magnitude, times the number of
 * steps any term goes through (at most n / block + 5). The bound below is
 * 4 * (n / block + 5) * 2^-24 of sum |terms| (the mins' products count in
 * it, as they cancel against the scaled sums). */
static void test_qdot_exact(void) {
    enum { N = 256 * 8 };
    static uint64_t wq[N * 2 / 8];
    static float x[N], wd[N], xd[N];
    static block_q8_K xq[N / QK_K + 8];
    double worst = 0;
    for (int rep = 0; rep < 60; rep++) {
        const int t = ktypes[rep % N_KT];
        make_weights(t, wq, N, rep % 2);
        for (int i = 0; i < N; i++) x[i] = grand() * ((rep / 3) % 4 ? 1.0f : 1e-20f);
        act_quantize(t, x, xq, N);
        dtype_get(t)->to_float(wq, wd, N);
        dtype_get(dtype_get(t)->vec_dot_type)->to_float(xq, xd, N);
        double exact = 0, mag = 0;
        for (int i = 0; i < N; i++) exact += (double)wd[i] * xd[i];
        /* magnitude: the weights' terms, and for Q4_K/Q5_K the mins' terms
         * (dmin * m * x) that the fp32 sums carry separately */
        for (int b = 0; b < N / QK_K; b++) {
            float dmin = 0;
            uint8_t m[8] = {0};
            if (t == OWL_TYPE_Q4_K || t == OWL_TYPE_Q5_K) {
                const block_q4_K *blk = (const block_q4_K *)((const char *)wq + b * dtype_get(t)->size);
                const uint8_t *s = blk->scales;
                dmin = f16_to_f32(blk->dmin);
                for (int j = 0; j < 4; j++) {
                    m[j] = s[j + 4] & 63;
                    m[j + 4] = (uint8_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
                }
            }
            for (int e = 0; e < QK_K; e++) {
                const int i = b * QK_K + e;
                const double mt = fabs((double)dmin * m[e / 32] * xd[i]);
                mag += fabs((double)wd[i] * xd[i]) + 2 * mt;
            }
        }
        const double bound = 4.0 * (N / dtype_get(t)->blck + 5) * ldexp(1.0, -24);
        const double e = fabs(qdot_ref(t, wq, xq, N) - exact) / (mag + 1e-300);
        if (e > worst) worst = e;
        CHECK(e <= bound, "%s qdot vs the exact product: %g of the magnitude (bound %g)", dtype_get(t)->name, e,
              bound);
    }
    printf("qdot vs the exact product of the dequantized rows: worst %.3g of sum |terms|\n", worst);
}

/* the default path's table sends K-quant weights to the integer path */
static void test_tables(void) {
    for (int v = 0; v < N_ISA; v++) {
        const kernel_table *kt = kernels_variant(isas[v]);
        if (!kt) {
            printf("%s: not available on this CPU, skipped\n", isas[v]);
            continue;
        }
        int have = kt->act_quant[OWL_TYPE_Q8_K] != NULL;
        for (int k = 0; k < N_KT; k++) have += kt->qdot[ktypes[k]] && kt->qdot4[ktypes[k]];
        CHECK(have == 1 + N_KT, "%s: Q8_K quantizer or a K-quant / Q5_0 qdot missing", isas[v]);
    }
}

int main(void) {
    test_tables();
    test_fixture();
    test_act_quant_extremes();
    test_qdot_variants();
    test_qdot_exact();
    return check_done();
}
