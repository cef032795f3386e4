/* test_kernels.c — every kernel against a reference a person can check.
 *
 * - dot, axpy and the gemm tile: each ISA variant this CPU has against the
 *   scalar reference (normalized error: |a - b| / sum |terms|), at lengths
 *   that hit every tail;
 * - the fused row dots (quantized weight row x f32) of each ISA against the
 *   type table's scalar dot_f32;
 * - rmsnorm, softmax, swiglu, rope (both pair styles), attention_head:
 *   against the textbook formula computed in double;
 * - matmul over F32, F16, Q8_0, Q4_1 weights, B = 1 (dot_f32 path) and
 *   B = 7 (dequantized tile path), 1 and 3 threads: against a double
 *   product of the dequantized weights;
 * - the default path's pieces: activation quantization against its
 *   formula (d = amax/127, q = round-half-even(x * 127/amax)), the integer
 *   dots of each ISA against the scalar ones and against a double product
 *   of the dequantized blocks, f16 attention against a double reference on
 *   f16-rounded inputs, and the default-path matmul against the integer
 *   dot reference and (loosely) against the exact result.
 * Prints the ISA variants it tested. */
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
#include "kernels/exp_poly.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"
#include "tensor/quants.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) / (double)(1u << 24) * 2.0 - 1.0);
}
static void fill(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = frand();
}

/* |got - want| / (sum of |terms| + tiny): an error relative to the
 * magnitude that went in, immune to cancellation */
static double nerr(double got, double want, double mag) { return fabs(got - want) / (mag + 1e-30); }

static void test_vec(const kernel_table *kt) {
    static const int64_t lens[] = {0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100, 576, 1536};
    float a[1536], b[1536], y0[1536], y1[1536];
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        int64_t n = lens[li];
        fill(a, n);
        fill(b, n);
        double want = 0, mag = 0;
        for (int64_t i = 0; i < n; i++) want += (double)a[i] * b[i], mag += fabs((double)a[i] * b[i]);
        double e = nerr(kt->dot(a, b, n), want, mag);
        CHECK(e < 1e-6, "%s dot n=%lld: normalized error %g", kt->isa, (long long)n, e);
        fill(y0, n);
        memcpy(y1, y0, sizeof(float) * (size_t)n);
        axpy_ref(y0, 0.37f, a, n);
        kt->axpy(y1, 0.37f, a, n);
        double worst = 0;
        for (int64_t i = 0; i < n; i++) {
            double d = fabs((double)y0[i] - y1[i]) / (fabs(y0[i]) + fabs(0.37 * a[i]) + 1e-30);
            if (d > worst) worst = d;
        }
        CHECK(worst < 1e-6, "%s axpy n=%lld: error %g", kt->isa, (long long)n, worst);
    }
}

static void test_rowdot(const kernel_table *kt) {
    enum { NMAX = 1536 };
    static float w[NMAX], x[NMAX], wd[NMAX];
    static uint8_t q[NMAX * 4];
    int tested = 0;
    for (int t = 0; t < OWL_TYPE_COUNT; t++) {
        if (!kt->rowdot[t]) continue;
        const dtype_traits *tr = dtype_get(t);
        if (!tr || !tr->from_float) {
            CHECK(0, "%s: a row dot for type %d that the type table cannot write", kt->isa, t);
            continue;
        }
        for (int64_t n = tr->blck; n <= NMAX; n = n * 3 + tr->blck) {
            if (n % tr->blck) continue;
            fill(w, n);
            fill(x, n);
            for (int64_t i = 0; i < n; i += 5) w[i] *= 9; /* outliers widen the scales */
            tr->from_float(w, q, n);
            tr->to_float(q, wd, n);
            double want = 0, mag = 0;
            for (int64_t i = 0; i < n; i++) want += (double)wd[i] * x[i], mag += fabs((double)wd[i] * x[i]);
            double e1 = nerr(kt->rowdot[t](q, x, n), want, mag), e0 = nerr(tr->dot_f32(q, x, n), want, mag);
            CHECK(e1 < 2e-6, "%s rowdot %s n=%lld: normalized error %g (scalar dot_f32: %g)", kt->isa,
                  tr->name, (long long)n, e1, e0);
        }
        tested++;
    }
    if (strcmp(kt->isa, "scalar") != 0) CHECK(tested > 0, "%s has no fused row dots", kt->isa);
}

static void test_gemm_tile(const kernel_table *kt) {
    enum { MAXB = 5, MAXR = 9, MAXN = 70, LD = 80 };
    static const int64_t ns[] = {1, 8, 15, 16, 33, 70};
    float x[MAXB * LD], w[MAXR * LD], y0[MAXB * 12], y1[MAXB * 12];
    fill(x, MAXB * LD);
    fill(w, MAXR * LD);
    int bad = 0, runs = 0;
    for (int add = 0; add < 2; add++)
        for (int64_t B = 1; B <= MAXB; B++)
            for (int64_t R = 1; R <= MAXR; R++)
                for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
                    int64_t n = ns[ni];
                    fill(y0, MAXB * 12);
                    memcpy(y1, y0, sizeof y0);
                    gemm_tile_ref(y0, 12, x, LD, B, w, LD, R, n, add);
                    kt->gemm_tile(y1, 12, x, LD, B, w, LD, R, n, add);
                    runs++;
                    for (int64_t i = 0; i < MAXB * 12; i++) {
                        int64_t b = i / 12, r = i % 12;
                        bool inside = b < B && r < R;
                        double mag = 0;
                        if (inside)
                            for (int64_t k = 0; k < n; k++) mag += fabs((double)x[b * LD + k] * w[r * LD + k]);
                        if (add) mag += fabs(y0[i]);
                        /* outside the tile nothing may change */
                        if (inside ? nerr(y1[i], y0[i], mag) > 1e-6 : y1[i] != y0[i]) bad++;
                    }
                }
    CHECK(bad == 0, "%s gemm_tile: %d wrong outputs in %d tiles", kt->isa, bad, runs);
}

static void test_elementwise(void) {
    enum { N = 77 };
    float x[N], w[N], o[N], g[N], u[N];
    fill(x, N);
    fill(w, N);
    /* rmsnorm */
    double ss = 0;
    for (int i = 0; i < N; i++) ss += (double)x[i] * x[i];
    double r = 1.0 / sqrt(ss / N + 1e-5);
    rmsnorm(o, x, w, N, 1e-5f);
    double worst = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(o[i] - x[i] * r * w[i]) / (fabs(x[i] * r * w[i]) + 1e-6));
    CHECK(worst < 1e-5, "rmsnorm: relative error %g", worst);
    /* softmax: sums to 1, matches exp(x - logsumexp) */
    for (int i = 0; i < N; i++) o[i] = x[i] * 30; /* wide range */
    double mx = -1e30, se = 0;
    for (int i = 0; i < N; i++) mx = fmax(mx, o[i]);
    for (int i = 0; i < N; i++) se += exp(o[i] - mx);
    float in[N];
    memcpy(in, o, sizeof in);
    softmax(o, N);
    worst = 0;
    double sum = 0;
    for (int i = 0; i < N; i++) {
        double want = exp(in[i] - mx) / se;
        worst = fmax(worst, fabs(o[i] - want));
        sum += o[i];
    }
    CHECK(worst < 1e-6 && fabs(sum - 1) < 1e-5, "softmax: error %g, sum %g", worst, sum);
    /* swiglu */
    fill(g, N);
    fill(u, N);
    for (int i = 0; i < N; i++) g[i] *= 8;
    swiglu(o, g, u, N);
    worst = 0;
    for (int i = 0; i < N; i++) {
        double want = g[i] / (1 + exp(-(double)g[i])) * u[i];
        worst = fmax(worst, fabs(o[i] - want) / (fabs(want) + 1e-6));
    }
    CHECK(worst < 1e-5, "swiglu: relative error %g", worst);
}

static void test_rope(void) {
    enum { H = 3, D = 16 };
    const int32_t n_rot = 12; /* partial rotation: channels 12..15 stay */
    const float theta = 10000.0f;
    for (int neox = 0; neox < 2; neox++)
        for (int32_t pos = 0; pos < 200; pos += 37) {
            float x[H * D], y[H * D], cs[D];
            fill(x, H * D);
            memcpy(y, x, sizeof x);
            rope_table(cs, pos, n_rot, theta, 0.5f, NULL); /* linear scaling by 2 */
            rope_apply(y, H, D, n_rot, cs, neox);
            double worst = 0;
            for (int h = 0; h < H; h++)
                for (int i = 0; i < D; i++) {
                    const float *xh = x + h * D;
                    double want = xh[i];
                    if (i < n_rot) {
                        int half = n_rot / 2;
                        int k = neox ? i % half : i / 2;   /* frequency index */
                        bool first = neox ? i < half : i % 2 == 0;
                        int mate = neox ? (first ? i + half : i - half) : (first ? i + 1 : i - 1);
                        double a = pos * 0.5 * pow(theta, -2.0 * k / n_rot);
                        /* (x_first + i x_second) * e^{ia} */
                        want = first ? xh[i] * cos(a) - xh[mate] * sin(a)
                                     : xh[mate] * sin(a) + xh[i] * cos(a);
                    }
                    worst = fmax(worst, fabs(y[h * D + i] - want));
                }
            CHECK(worst < 1e-5, "rope %s pos %d: error %g", neox ? "neox" : "norm", pos, worst);
        }
}

static void test_attention(const kernel_table *kt) {
    enum { D = 24, NC = 40, STRIDE = 3 * D };
    float k[NC * STRIDE], v[NC * STRIDE], q[D], out[D], scores[NC];
    fill(k, NC * STRIDE);
    fill(v, NC * STRIDE);
    fill(q, D);
    for (int i = 0; i < D; i++) q[i] *= 4;
    int32_t cells[NC];
    int32_t N = 0;
    for (int32_t c = NC - 1; c >= 0; c -= 3) cells[N++] = c; /* any order, with holes */
    const float scale = 1.0f / sqrtf(D);
    attention_head(out, q, k + D, v + D, STRIDE, cells, N, D, scale, scores, kt);
    double s[NC], mx = -1e30, tot = 0, worst = 0;
    for (int32_t c = 0; c < N; c++) {
        double d = 0;
        for (int i = 0; i < D; i++) d += (double)q[i] * k[cells[c] * STRIDE + D + i];
        s[c] = d * scale;
        mx = fmax(mx, s[c]);
    }
    for (int32_t c = 0; c < N; c++) tot += (s[c] = exp(s[c] - mx));
    for (int i = 0; i < D; i++) {
        double want = 0;
        for (int32_t c = 0; c < N; c++) want += s[c] / tot * v[cells[c] * STRIDE + D + i];
        worst = fmax(worst, fabs(out[i] - want));
    }
    CHECK(worst < 1e-5, "%s attention_head: error %g", kt->isa, worst);
    attention_head(out, q, k, v, STRIDE, cells, 0, D, scale, scores, kt);
    double z = 0;
    for (int i = 0; i < D; i++) z += fabs(out[i]);
    CHECK(z == 0, "%s attention_head over no cells must give zeros", kt->isa);
}

/* matmul of one type: y(B, R) = x(B, K) · W(R, K)^T, W quantized from random floats */
static void test_matmul_type(int type, const kernel_table *kt, threadpool *pool) {
    enum { R = 70, K = 96 };
    const dtype_traits *tr = dtype_get(type);
    if (!tr || !tr->from_float) {
        CHECK(0, "type %d cannot be written: no matmul test", type);
        return;
    }
    float wf[R * K], wd[K], x[7 * K], y[7 * R];
    fill(wf, R * K);
    size_t rs = dtype_row_size(type, K);
    uint8_t *wq = owl_xmalloc(rs * R);
    for (int r = 0; r < R; r++) tr->from_float(wf + r * K, wq + r * rs, K);
    mat w = {.data = wq, .type = type, .rows = R, .cols = K, .row_size = rs};
    int T = threadpool_size(pool);
    float *scratch = owl_xaligned(sizeof(float) * matmul_scratch_per_thread(K) * (size_t)T);
    matmul_ctx mc = {.pool = pool, .kt = kt, .scratch = scratch, .max_cols = K, .exact = true, .max_rows = 7};
    fill(x, 7 * K);
    for (int B = 1; B <= 7; B += 6)
        for (int add = 0; add < 2; add++) {
            for (int i = 0; i < 7 * R; i++) y[i] = add ? 1.0f : 12345.0f;
            matmul_op op = {y, R, x, K, &w, add};
            matmul(&mc, B, &op, 1);
            double worst = 0;
            for (int r = 0; r < R; r++) {
                tr->to_float(wq + r * rs, wd, K); /* the weights as owl reads them */
                for (int b = 0; b < B; b++) {
                    double want = add ? 1.0 : 0.0, mag = add ? 1.0 : 0.0;
                    for (int i = 0; i < K; i++) {
                        want += (double)x[b * K + i] * wd[i];
                        mag += fabs((double)x[b * K + i] * wd[i]);
                    }
                    worst = fmax(worst, nerr(y[b * R + r], want, mag));
                }
            }
            CHECK(worst < 1e-5, "matmul %s B=%d add=%d isa=%s threads=%d: normalized error %g",
                  tr->name, B, add, kt->isa, T, worst);
        }
    /* several ops in one pass, sharing x */
    float y2[7 * R], y3[7 * R];
    matmul_op ops[2] = {{y2, R, x, K, &w, false}, {y3, R, x, K, &w, false}};
    matmul(&mc, 7, ops, 2);
    matmul_op one = {y, R, x, K, &w, false};
    matmul(&mc, 7, &one, 1);
    CHECK(memcmp(y, y2, sizeof y) == 0 && memcmp(y, y3, sizeof y) == 0,
          "matmul %s: two ops in one pass differ from one op alone", tr->name);

    /* the default path: integer dots on quantized x, or x rounded to f16 */
    uint8_t xq0[7 * K * 2], xq1[7 * K * 2];
    float xh[7 * K], ye[7 * R];
    mc.exact = false;
    mc.x_act[OWL_TYPE_Q8_0] = xq0;
    mc.x_act[OWL_TYPE_Q8_1] = xq1;
    mc.x_f16 = xh;
    matmul_op oe = {ye, R, x, K, &w, false};
    mc.exact = true;
    matmul(&mc, 7, &oe, 1);
    mc.exact = false;
    for (int B = 1; B <= 7; B += 6) {
        matmul_op op = {y, R, x, K, &w, false};
        matmul(&mc, B, &op, 1);
        int act = tr->vec_dot_type;
        double worst = 0, loose = 0;
        uint8_t xqb[K * 2];
        float xr[K];
        for (int b = 0; b < B; b++) {
            if (kt->qdot[type]) {
                if (act == OWL_TYPE_Q8_0) act_quantize_q8_0(x + b * K, xqb, K);
                else act_quantize_q8_1(x + b * K, xqb, K);
            } else {
                for (int i = 0; i < K; i++) xr[i] = x[b * K + i];
                if (type == OWL_TYPE_F16) act_round_f16(xr, x + b * K, K);
            }
            for (int r = 0; r < R; r++) {
                double want, mag = 0;
                tr->to_float(wq + r * rs, wd, K);
                for (int i = 0; i < K; i++) mag += fabs((double)x[b * K + i] * wd[i]);
                if (kt->qdot[type]) {
                    /* the scalar integer dot is the reference */
                    want = type == OWL_TYPE_Q4_1   ? qdot_q4_1_q8_1_ref(wq + r * rs, xqb, K)
                           : type == OWL_TYPE_Q8_0 ? qdot_q8_0_q8_0_ref(wq + r * rs, xqb, K)
                                                   : qdot_q4_0_q8_0_ref(wq + r * rs, xqb, K);
                } else {
                    want = 0;
                    for (int i = 0; i < K; i++) want += (double)xr[i] * wd[i];
                }
                worst = fmax(worst, nerr(y[b * R + r], want, mag));
                loose = fmax(loose, nerr(y[b * R + r], ye[b * R + r], mag));
            }
        }
        CHECK(worst < 1e-5, "default-path matmul %s B=%d isa=%s: normalized error %g vs its reference",
              tr->name, B, kt->isa, worst);
        /* 8-bit activations cost about 1/127 of a term at worst */
        CHECK(loose < 2e-2, "default-path matmul %s B=%d isa=%s: %g away from the exact result",
              tr->name, B, kt->isa, loose);
    }
    owl_afree(scratch);
    free(wq);
}

static void test_act_quant(void) {
    enum { N = 128 };
    float x[N];
    block_q8_1 q1[N / 32];
    block_q8_0 q0[N / 32];
    fill(x, N);
    for (int i = 0; i < 32; i++) x[i] = 0; /* an all-zero block */
    x[40] = 3.0f; /* block 1: amax 3 */
    act_quantize_q8_0(x, q0, N);
    act_quantize_q8_1(x, q1, N);
    int bad = 0;
    for (int blk = 0; blk < N / 32; blk++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[blk * 32 + j]));
        float d = amax / 127.0f, id = amax ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int q = (int)nearbyintf(x[blk * 32 + j] * id);
            sum += q;
            bad += q0[blk].qs[j] != q || q1[blk].qs[j] != q;
        }
        bad += q0[blk].d != f32_to_f16(d) || q1[blk].d != f32_to_f16(d) ||
               q1[blk].s != f32_to_f16(d * (float)sum);
    }
    CHECK(bad == 0, "activation quantization: %d values differ from the formula", bad);
    /* every ISA's quantizer gives the scalar one's bytes, ties included */
    static const char *isas[] = {"avx2", "avx512", "avx512vnni"};
    float big[4096];
    fill(big, 4096);
    big[0] = 127.0f; /* block 0: id = 1, and x * id lands on .5: ties go to even */
    for (int j = 1; j < 32; j++) big[j] = (float)(j - 16) + 0.5f;
    static block_q8_0 r0[128], v0[128];
    static block_q8_1 r1[128], v1[128];
    act_quantize_q8_0(big, r0, 4096);
    act_quantize_q8_1(big, r1, 4096);
    for (int k = 0; k < 3; k++) {
        const kernel_table *kt = kernels_variant(isas[k]);
        if (!kt) continue;
        kt->act_quant[OWL_TYPE_Q8_0](big, v0, 4096);
        kt->act_quant[OWL_TYPE_Q8_1](big, v1, 4096);
        CHECK(!memcmp(r0, v0, sizeof r0) && !memcmp(r1, v1, sizeof r1),
              "%s activation quantizers differ from the scalar ones", isas[k]);
    }
}

static void test_qdot(const kernel_table *kt) {
    enum { N = 576 };
    static float w[N], x[N], wd[N], xd[N];
    static uint8_t wq[N * 2], xq[N * 2];
    static const int types[] = {OWL_TYPE_Q4_0, OWL_TYPE_Q4_1, OWL_TYPE_Q8_0};
    const kernel_table *ref = kernels_variant("scalar");
    for (size_t ti = 0; ti < 3; ti++) {
        int t = types[ti];
        if (!kt->qdot[t]) {
            CHECK(0, "%s has no integer dot for type %d", kt->isa, t);
            continue;
        }
        const dtype_traits *tr = dtype_get(t), *ta = dtype_get(tr->vec_dot_type);
        fill(w, N);
        fill(x, N);
        tr->from_float(w, wq, N);
        if (tr->vec_dot_type == OWL_TYPE_Q8_0) act_quantize_q8_0(x, xq, N);
        else act_quantize_q8_1(x, xq, N);
        tr->to_float(wq, wd, N);
        ta->to_float(xq, xd, N);
        double want = 0, mag = 0;
        for (int i = 0; i < N; i++) want += (double)wd[i] * xd[i], mag += fabs((double)wd[i] * xd[i]);
        double e_ref = nerr(ref->qdot[t](wq, xq, N), want, mag);
        double e_isa = nerr(kt->qdot[t](wq, xq, N), ref->qdot[t](wq, xq, N), mag);
        /* Q8_1's s is an f16 rounding of d * sum q: its share of the error */
        CHECK(e_ref < 2e-3 && e_isa < 1e-6, "%s qdot %s: %g vs the dequantized product, %g vs scalar",
              kt->isa, tr->name, e_ref, e_isa);
        /* qdot4 gives exactly qdot's four results (batch == one by one) */
        static uint8_t xq4[4 * N * 2];
        size_t xs = dtype_row_size(tr->vec_dot_type, N);
        for (int k = 0; k < 4; k++) {
            fill(x, N);
            if (tr->vec_dot_type == OWL_TYPE_Q8_0) act_quantize_q8_0(x, xq4 + k * xs, N);
            else act_quantize_q8_1(x, xq4 + k * xs, N);
        }
        /* the VNNI kernels sum the same integers as the AVX2 ones: same bits */
        const kernel_table *k2 = kernels_variant("avx2");
        if (k2 && strcmp(kt->isa, "scalar") != 0)
            CHECK(kt->qdot[t](wq, xq, N) == k2->qdot[t](wq, xq, N), "%s qdot %s differs from avx2's",
                  kt->isa, tr->name);
        float o4[4];
        kt->qdot4[t](wq, xq4, xs, o4, N);
        int same = 0;
        for (int k = 0; k < 4; k++) same += o4[k] == kt->qdot[t](wq, xq4 + k * xs, N);
        CHECK(same == 4, "%s qdot4 %s: %d of 4 results equal qdot's", kt->isa, tr->name, same);
    }
    /* f16 helpers */
    uint16_t h[N];
    float y0[N], y1[N];
    for (int i = 0; i < N; i++) h[i] = f32_to_f16(w[i]);
    double d0 = dot_f16_ref(h, x, N), d1 = kt->dot_f16(h, x, N), mag = 0;
    for (int i = 0; i < N; i++) mag += fabs(w[i] * x[i]), y0[i] = y1[i] = x[i];
    CHECK(nerr(d1, d0, mag) < 1e-6, "%s dot_f16", kt->isa);
    axpy_f16_ref(y0, 0.3f, h, N);
    kt->axpy_f16(y1, 0.3f, h, N);
    double worst = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(y0[i] - y1[i]));
    CHECK(worst < 1e-6, "%s axpy_f16: %g", kt->isa, worst);
}

/* D = 64 takes the register-resident path of the AVX2 variant */
static void test_attention_f16(const kernel_table *kt, const int D) {
    enum { MAXD = 64, NC = 20, STRIDE = 2 * MAXD };
    float kf[NC * STRIDE], vf[NC * STRIDE], q[MAXD], out[MAXD], scores[NC];
    uint16_t k[NC * STRIDE], v[NC * STRIDE];
    fill(kf, NC * STRIDE);
    fill(vf, NC * STRIDE);
    fill(q, D);
    for (int i = 0; i < NC * STRIDE; i++) k[i] = f32_to_f16(kf[i]), v[i] = f32_to_f16(vf[i]);
    int32_t cells[NC];
    for (int c = 0; c < NC; c++) cells[c] = NC - 1 - c;
    const float scale = 1.0f / sqrtf((float)D);
    attention_head_f16(out, q, k + D, v + D, STRIDE, cells, NC, D, scale, scores, kt);
    double s[NC], mx = -1e30, tot = 0, worst = 0;
    for (int c = 0; c < NC; c++) {
        double d = 0;
        for (int i = 0; i < D; i++)
            d += (double)q[i] * f16_to_f32(k[cells[c] * STRIDE + D + i]);
        mx = fmax(mx, s[c] = d * scale);
    }
    for (int c = 0; c < NC; c++) tot += (s[c] = exp(s[c] - mx));
    for (int i = 0; i < D; i++) {
        double want = 0;
        for (int c = 0; c < NC; c++) want += s[c] / tot * f16_to_f32(v[cells[c] * STRIDE + D + i]);
        worst = fmax(worst, fabs(out[i] - want));
    }
    /* the query and the softmax weights in fp32: fp32 rounding only (f16
     * weights, as llama.cpp's, would be off by about 2^-11 of each) */
    CHECK(worst < 1e-5, "%s attention_head_f16: error %g", kt->isa, worst);
    /* the table's variant gives the generic kernel's bits */
    float out2[MAXD];
    kt->attn_f16(out2, q, k + D, v + D, STRIDE, cells, NC, D, scale, scores, kt);
    CHECK(memcmp(out, out2, sizeof(float) * (size_t)D) == 0, "%s attn_f16 differs from attention_head_f16 (D %d)",
          kt->isa, D);
}

static void test_rope_tables(void) {
    float a[64], b[64];
    double worst = 0;
    for (int32_t pos = 0; pos < 4096; pos += 511) {
        rope_table(a, pos, 64, 100000.0f, 1.0f, NULL);
        rope_table_f32(b, pos, 64, 100000.0f, 1.0f, NULL);
        for (int i = 0; i < 64; i++) worst = fmax(worst, fabs(a[i] - b[i]));
    }
    /* frequency factors divide each frequency: factor 4 at pos p = factor 1 at p/4 */
    float ff[32], c[64];
    for (int i = 0; i < 32; i++) ff[i] = 4.0f;
    rope_table(a, 400, 64, 100000.0f, 1.0f, ff);
    rope_table(c, 100, 64, 100000.0f, 1.0f, NULL);
    rope_table_f32(b, 400, 64, 100000.0f, 1.0f, ff);
    for (int i = 0; i < 64; i++) worst = fmax(worst, fmax(fabs(a[i] - c[i]), fabs(b[i] - c[i])));
    /* fp32 angles lose about pos * 2^-24 * (number of steps) radians */
    CHECK(worst < 5e-3, "rope_table_f32 strays %g from the double table", worst);
}

/* exp_poly: close to exp over the range softmax feeds it */
static void test_exp_poly(void) {
    double worst = 0;
    for (int i = 0; i <= 86900; i++) {
        float x = -(float)i * 0.001f;
        worst = fmax(worst, fabs(exp_poly(x) - exp((double)x)) / exp((double)x));
    }
    CHECK(worst < 1e-6, "exp_poly: relative error %g over [-86.9, 0]", worst);
    CHECK(exp_poly(0.0f) == 1.0f && exp_poly(-1000.0f) == exp_poly(-87.0f), "exp_poly ends");
}

/* the default path's SwiGLU: same bits as swiglu_poly, close to swiglu */
static void test_swiglu_poly(const kernel_table *kt) {
    enum { N = 45 };
    float g[N], u[N], a[N], b[N], c[N];
    fill(g, N);
    fill(u, N);
    for (int i = 0; i < N; i++) g[i] *= 20.0f; /* silu's both tails */
    swiglu_poly(a, g, u, N);
    kt->swiglu(b, g, u, N);
    swiglu(c, g, u, N);
    double worst = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(a[i] - c[i]) / (fabs(c[i]) + 1e-30));
    CHECK(memcmp(a, b, sizeof a) == 0 && worst < 1e-5,
          "%s swiglu: %s swiglu_poly's bits, %g from swiglu", kt->isa,
          memcmp(a, b, sizeof a) == 0 ? "same as" : "differs from", worst);
}

/* The prefill GEMM: every output bit-identical to the scalar integer dot,
 * for B = 1..9 (the 1-3 row path, tiles of 8 and 4 rows, and tails), with
 * and without add, and a y stride wider than R. */
/* Q5_0 x Q8_0 as the GEMM sums it: per block the exact integer
 * sum (q - 16) x, then acc + (d_w d_x) sum, block after block (the
 * order of qdot_q4_0_q8_0_ref) */
static float q5_0_seq_dot(const void *w, const void *xq, int64_t n) {
    const block_q5_0 *a = w;
    const block_q8_0 *b = xq;
    float acc = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        uint32_t qh;
        memcpy(&qh, a[i].qh, 4);
        int32_t sum = 0;
        for (int j = 0; j < 16; j++) {
            int v0 = (a[i].qs[j] & 15) | (int)(((qh >> j) & 1) << 4);
            int v1 = (a[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            sum += (v0 - 16) * b[i].qs[j] + (v1 - 16) * b[i].qs[j + 16];
        }
        acc = acc + f16_to_f32(a[i].d) * f16_to_f32(b[i].d) * (float)sum;
    }
    return acc;
}

static void test_qgemm(const kernel_table *kt) {
    enum { N = 160, R = 112, BMAX = 9, LDY = 120 }; /* 7 tiles: decode runs 4, 2 and 1 at a time */
    static const int types[] = {OWL_TYPE_Q4_0, OWL_TYPE_Q4_1, OWL_TYPE_Q8_0, OWL_TYPE_Q5_0};
    static float w[R * N], x[BMAX * N], y[BMAX * LDY];
    static uint8_t wq[R * N * 2], xq[BMAX * N * 2];
    for (size_t ti = 0; ti < 4; ti++) {
        int t = types[ti];
        if (!kt->qgemm[t]) continue;
        const dtype_traits *tr = dtype_get(t);
        const size_t rs = dtype_row_size(t, N), xs = dtype_row_size(tr->vec_dot_type, N);
        fill(w, R * N);
        fill(x, BMAX * N);
        for (int r = 0; r < R; r++) tr->from_float(w + r * N, wq + r * rs, N);
        for (int b = 0; b < BMAX; b++) {
            if (tr->vec_dot_type == OWL_TYPE_Q8_0) act_quantize_q8_0(x + b * N, xq + b * xs, N);
            else act_quantize_q8_1(x + b * N, xq + b * xs, N);
        }
        void *scratch = owl_xaligned(qgemm_scratch_bytes(N, BMAX));
        /* the packed layout (weights repacked at load), where the table has one */
        const qpack_ops *qp = kt->qpack[t];
        uint8_t *tiles = qp ? owl_xaligned(qp->tile_bytes(N) * (R / 16)) : NULL;
        for (int k = 0; qp && k < R / 16; k++)
            qp->pack(tiles + (size_t)k * qp->tile_bytes(N), wq + (size_t)k * 16 * rs, rs, N);
        for (int v = 0; v < (qp ? 2 : 1); v++)
        for (int B = 1; B <= BMAX; B++)
            for (int add = 0; add < 2; add++) {
                for (int i = 0; i < BMAX * LDY; i++) y[i] = add ? 0.5f : 12345.0f;
                if (v == 0) kt->qgemm[t](y, LDY, wq, rs, R, xq, xs, B, N, add, scratch);
                else qp->gemm(y, LDY, tiles, R / 16, xq, xs, B, N, add, scratch);
                int same = 0, untouched = 0;
                for (int b = 0; b < BMAX; b++)
                    for (int r = 0; r < LDY; r++) {
                        float got = y[b * LDY + r];
                        if (b >= B || r >= R) {
                            untouched += got == (add ? 0.5f : 12345.0f);
                            continue;
                        }
                        float d = t == OWL_TYPE_Q4_1   ? qdot_q4_1_q8_1_ref(wq + r * rs, xq + b * xs, N)
                                  : t == OWL_TYPE_Q8_0 ? qdot_q8_0_q8_0_ref(wq + r * rs, xq + b * xs, N)
                                  : t == OWL_TYPE_Q5_0 ? q5_0_seq_dot(wq + r * rs, xq + b * xs, N)
                                                       : qdot_q4_0_q8_0_ref(wq + r * rs, xq + b * xs, N);
                        same += got == (add ? 0.5f + d : d);
                    }
                CHECK(same == B * R && untouched == BMAX * LDY - B * R,
                      "%s qgemm%s %s B=%d add=%d: %d of %d results equal the scalar dot, %d of %d "
                      "others untouched",
                      kt->isa, v ? " (packed)" : "", tr->name, B, add, same, B * R, untouched,
                      BMAX * LDY - B * R);
            }
        owl_afree(tiles);
        owl_afree(scratch);
    }
}

/* the table's rmsnorm: within 1 ulp of the reference (its double sum
 * runs in another order), in place too; to_f16: the reference's bits,
 * with values that round to even, subnormals, infinities */
static void test_norm_f16(const kernel_table *kt) {
    enum { N = 2053 };
    static float x[N], w[N], a[N], b[N];
    static uint16_t h0[N], h1[N];
    fill(x, N);
    fill(w, N);
    x[3] = 1e-6f;
    for (int64_t n = 1; n <= N; n = n < 40 ? n + 1 : n * 3 + 1) {
        rmsnorm(a, x, w, n, 1e-5f);
        kt->rmsnorm(b, x, w, n, 1e-5f);
        int bad = 0;
        for (int64_t i = 0; i < n; i++) {
            float d = fabsf(a[i] - b[i]), u = nextafterf(fabsf(a[i]), INFINITY) - fabsf(a[i]);
            bad += d > u;
        }
        memcpy(b, x, sizeof(float) * (size_t)n);
        kt->rmsnorm(b, b, w, n, 1e-5f);
        float c[N];
        kt->rmsnorm(c, x, w, n, 1e-5f);
        CHECK(bad == 0 && memcmp(b, c, sizeof(float) * (size_t)n) == 0,
              "%s rmsnorm n=%lld: %d values more than 1 ulp from the reference, or in place differs",
              kt->isa, (long long)n, bad);
    }
    for (int i = 0; i < N; i++) x[i] = (float)ldexp(frand(), (i % 60) - 30);
    x[0] = 1.0f + 1.0f / 2048; /* a tie: rounds to even (1.0) */
    x[1] = 65520.0f;           /* rounds up to infinity */
    x[2] = -INFINITY;
    x[4] = 3e-8f;              /* an f16 subnormal */
    to_f16_ref(h0, x, N);
    kt->to_f16(h1, x, N);
    CHECK(memcmp(h0, h1, sizeof h0) == 0 && h0[0] == 0x3c00 && h0[1] == 0x7c00,
          "%s to_f16 differs from the reference", kt->isa);
}

int main(void) {
    static const char *isas[] = {"scalar", "avx2", "avx512", "avx512vnni", "avx512bf16"};
    printf("dispatch chose: %s\n", kernels_get()->isa);
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        const kernel_table *kt = kernels_variant(isas[i]);
        if (!kt) {
            printf("%s: not available on this CPU, skipped\n", isas[i]);
            continue;
        }
        printf("testing %s\n", kt->isa);
        test_vec(kt);
        test_gemm_tile(kt);
        test_rowdot(kt);
        test_attention(kt);
        test_qdot(kt);
        test_qgemm(kt);
        test_swiglu_poly(kt);
        test_norm_f16(kt);
        test_attention_f16(kt, 32);
        test_attention_f16(kt, 64);
    }
    test_act_quant();
    test_exp_poly();
    test_rope_tables();
    test_elementwise();
    test_rope();
    static const int types[] = {OWL_TYPE_F32, OWL_TYPE_F16, OWL_TYPE_Q8_0, OWL_TYPE_Q4_1, OWL_TYPE_Q4_0};
    for (int nt = 1; nt <= 3; nt += 2) {
        threadpool *pool = NULL;
        if (threadpool_new(nt, &pool) != OWL_OK) {
            CHECK(0, "threadpool_new(%d): %s", nt, owl_last_error());
            continue;
        }
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            test_matmul_type(types[i], kernels_get(), pool);
            test_matmul_type(types[i], kernels_variant("scalar"), pool);
        }
        threadpool_free(pool);
    }
    return check_done();
}
