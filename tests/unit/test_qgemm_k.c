/* test_qgemm_k.c — the K-quant GEMM of the default path (qgemm_k_avx512.c)
 * for Q4_K, Q5_K and Q6_K weights with Q8_K activations, both forms: on
 * weights repacked in 16-row tiles at load (qpack, every batch size, one
 * token included) and packing per call (qgemm):
 *   - every result has the bits of a scalar reference written here from
 *     the block formats: the exact integers of llama.cpp's vec_dot per row
 *     and super-block, then the kernel's fp32 steps in its order; for
 *     B = 1..5, 8, 9, 17 and n up to 11008 (43 super-blocks), with rows
 *     quantized from floats, rows of random bits (every scale, min and
 *     value, f16 d of any magnitude) and rows at the extremes, and
 *     activations of random bits down to -128;
 *   - so a row's bits never depend on the batch it came in (decode and
 *     prefill agree, the KV cache of a chat depends on it);
 *   - within 2e-6 x sum|terms| of the same dot in double from the
 *     dequantized weights (the reference itself is right);
 *   - y += for add, and nothing outside the R x B block written.
 * Skipped where the CPU has no AVX512-VNNI. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "check.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"
#include "tensor/quants.h"
#include "base/f16.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static float frand(void) { return (float)((double)(next() >> 11) / 9007199254740992.0 * 2.0 - 1.0); }

/* a finite f16 of any magnitude, either sign */
static uint16_t rand_f16(void) {
    for (;;) {
        const uint16_t h = (uint16_t)next();
        if ((h & 0x7c00) != 0x7c00) return h;
    }
}

/* the kernel's result for one weight row and one activation row */
static float ref_dot(int type, const uint8_t *w, const block_q8_K *x, int64_t n) {
    float acc = 0;
    for (int64_t k = 0; k < n / QK_K; k++) {
        int q[QK_K], sc[16];
        int nsub = 8;
        float d, dmin = 0;
        int32_t msum = 0;
        if (type == OWL_TYPE_Q6_K) {
            const block_q6_K *b = (const block_q6_K *)w + k;
            for (int h = 0; h < 2; h++)
                for (int l = 0; l < 32; l++) {
                    const uint8_t *ql = b->ql + 64 * h, qh = b->qh[32 * h + l];
                    q[128 * h + l] = (ql[l] & 15) | ((qh & 3) << 4);
                    q[128 * h + 32 + l] = (ql[l + 32] & 15) | (((qh >> 2) & 3) << 4);
                    q[128 * h + 64 + l] = (ql[l] >> 4) | (((qh >> 4) & 3) << 4);
                    q[128 * h + 96 + l] = (ql[l + 32] >> 4) | (((qh >> 6) & 3) << 4);
                }
            nsub = 16;
            for (int t = 0; t < 16; t++) {
                sc[t] = b->scales[t];
                msum += sc[t] * x[k].bsums[t];
            }
            d = f16_to_f32(b->d);
        } else {
            const block_q4_K *b4 = (const block_q4_K *)w + k;
            const block_q5_K *b5 = (const block_q5_K *)w + k;
            const uint8_t *qs = type == OWL_TYPE_Q5_K ? b5->qs : b4->qs;
            for (int j = 0; j < 4; j++)
                for (int l = 0; l < 32; l++) {
                    q[64 * j + l] = qs[32 * j + l] & 15;
                    q[64 * j + 32 + l] = qs[32 * j + l] >> 4;
                    if (type == OWL_TYPE_Q5_K) {
                        q[64 * j + l] += ((b5->qh[l] >> (2 * j)) & 1) << 4;
                        q[64 * j + 32 + l] += ((b5->qh[l] >> (2 * j + 1)) & 1) << 4;
                    }
                }
            for (int s = 0; s < 8; s++) {
                uint8_t c, m;
                k_scale_min(s, type == OWL_TYPE_Q5_K ? b5->scales : b4->scales, &c, &m);
                sc[s] = c;
                msum += m * (x[k].bsums[2 * s] + x[k].bsums[2 * s + 1]);
            }
            d = f16_to_f32(type == OWL_TYPE_Q5_K ? b5->d : b4->d);
            dmin = f16_to_f32(type == OWL_TYPE_Q5_K ? b5->dmin : b4->dmin);
        }
        int32_t isum = 0;
        for (int s = 0; s < nsub; s++) {
            const int len = QK_K / nsub;
            int32_t p = 0;
            for (int i = 0; i < len; i++) p += q[s * len + i] * x[k].qs[s * len + i];
            isum += sc[s] * p;
        }
        const float dx = x[k].d;
        if (type == OWL_TYPE_Q6_K) acc = acc + (d * dx) * (float)(isum - 32 * msum);
        else acc = (acc + (d * dx) * (float)isum) - (dmin * dx) * (float)msum;
    }
    return acc;
}

/* the packed GEMM of the table for a type */
static const qpack_ops *packed(const kernel_table *kt, int type) {
    return kt->qpack[type] ? kt->qpack[type]
           : type == OWL_TYPE_Q4_K ? &qpack_q4_K_vnni
           : type == OWL_TYPE_Q5_K ? &qpack_q5_K_vnni
                                   : &qpack_q6_K_vnni;
}

/* weight rows of random bits: any value, scale and min, f16 d and dmin of
 * any magnitude (but scaled so the sums stay finite) */
static void random_row(int type, uint8_t *w, int64_t n, int extreme) {
    const size_t bs = dtype_get(type)->size;
    for (int64_t k = 0; k < n / QK_K; k++) {
        uint8_t *b = w + (size_t)k * bs;
        for (size_t i = 0; i < bs; i++) b[i] = extreme ? 0xff : (uint8_t)next();
        uint16_t d = rand_f16(), dmin = rand_f16();
        if (extreme) d = 0x7bff, dmin = 0xfbff; /* +-65504 */
        if (type == OWL_TYPE_Q6_K) {
            block_q6_K *q = (block_q6_K *)b;
            q->d = d;
            if (extreme == 2)
                for (int t = 0; t < 16; t++) q->scales[t] = -128;
        } else {
            block_q4_K *q = (block_q4_K *)b; /* Q5_K starts the same */
            q->d = d;
            q->dmin = dmin;
        }
    }
}

int main(void) {
    const kernel_table *kt = kernels_variant("avx512vnni");
    if (!kt || !kt->qgemm[OWL_TYPE_Q4_K]) {
        printf("no AVX512-VNNI K-quant GEMM on this CPU: skipped\n");
        return check_done();
    }
    enum { NMAX = 11008, R = 48, BMAX = 17, LDY = 56 };
    static const int ns[] = {256, 512, 768, 2304, 11008};
    static const int Bs[] = {1, 2, 3, 4, 5, 8, 9, 17};
    static float w[R * NMAX], x[BMAX * NMAX], wd[R * NMAX], xd[BMAX * NMAX];
    static float y[BMAX * LDY], yp[BMAX * LDY], yref[BMAX * LDY];
    static const int types[] = {OWL_TYPE_Q4_K, OWL_TYPE_Q5_K, OWL_TYPE_Q6_K};
    for (int ti = 0; ti < 3; ti++) {
        const int t = types[ti];
        const dtype_traits *tr = dtype_get(t), *ta = dtype_get(OWL_TYPE_Q8_K);
        const qpack_ops *qp = packed(kt, t);
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
            for (int rnd = 0; rnd < 2; rnd++) {
                const int n = ns[ni];
                const size_t rs = dtype_row_size(t, n), xs = dtype_row_size(OWL_TYPE_Q8_K, n);
                uint8_t *wq = owl_xaligned(rs * R), *xq = owl_xaligned(xs * BMAX);
                /* rnd 0: rows quantized from floats of different magnitude,
                 * some with an outlier, so the sub-block scales and mins
                 * differ; rnd 1: random bits, two rows at the extremes */
                for (int r = 0; r < R; r++)
                    for (int i = 0; i < n; i++)
                        w[r * n + i] = frand() * (1.0f + (float)(r % 5)) + (i % 97 == r % 97 ? 8.0f : 0.0f);
                for (int i = 0; i < BMAX * n; i++) x[i] = frand() * 3.0f;
                for (int r = 0; r < R; r++) {
                    if (rnd) random_row(t, wq + r * rs, n, r == 5 ? 1 : r == 20 ? 2 : 0);
                    else tr->from_float(w + r * n, wq + r * rs, n);
                    tr->to_float(wq + r * rs, wd + r * n, n);
                }
                for (int b = 0; b < BMAX; b++) {
                    ta->from_float(x + b * n, xq + b * xs, n);
                    if (rnd) /* int8 of random bits (-128 too), d small so sums stay finite */
                        for (int k = 0; k < n / QK_K; k++) {
                            block_q8_K *q = (block_q8_K *)(xq + b * xs) + k;
                            for (int i = 0; i < QK_K; i++) q->qs[i] = (int8_t)next();
                            if (b == 3) memset(q->qs, 0x80, QK_K);
                            for (int j = 0; j < QK_K / 16; j++) {
                                int s = 0;
                                for (int i = 0; i < 16; i++) s += q->qs[16 * j + i];
                                q->bsums[j] = (int16_t)s;
                            }
                            q->d = ldexpf(frand(), -40);
                        }
                    ta->to_float(xq + b * xs, xd + b * n, n);
                }
                const size_t tb = qp->tile_bytes(n);
                uint8_t *tiles = owl_xaligned(tb * (R / 16));
                for (int i = 0; i < R / 16; i++) qp->pack(tiles + tb * i, wq + (size_t)(16 * i) * rs, rs, n);
                for (int b = 0; b < BMAX; b++)
                    for (int r = 0; r < R; r++)
                        yref[b * LDY + r] = ref_dot(t, wq + r * rs, (const block_q8_K *)(xq + b * xs), n);
                void *scratch = owl_xaligned(qgemm_scratch_bytes(n, BMAX));
                int far = 0, bits = 0, pbits = 0, outside = 0;
                double worst = 0;
                for (size_t bi = 0; bi < sizeof Bs / sizeof Bs[0]; bi++)
                    for (int add = 0; add < 2; add++) {
                        const int B = Bs[bi];
                        const float fill = add ? 0.25f : 777.0f;
                        for (int i = 0; i < BMAX * LDY; i++) y[i] = yp[i] = fill;
                        /* the batch may start at any row of xq */
                        const int b0 = B < BMAX ? (int)(next() % (uint64_t)(BMAX - B + 1)) : 0;
                        kt->qgemm[t](y, LDY, wq, rs, R, xq + b0 * xs, xs, B, n, add, scratch);
                        /* the packed GEMM gets only the per-row share of the
                         * scratch (as matmul.c sizes its batches) */
                        void *ps = owl_xaligned((qgemm_scratch_bytes(n, 1) - qgemm_scratch_bytes(n, 0)) * B);
                        qp->gemm(yp, LDY, tiles, R / 16, xq + b0 * xs, xs, B, n, add, ps);
                        owl_afree(ps);
                        for (int b = 0; b < BMAX; b++)
                            for (int r = 0; r < LDY; r++) {
                                const float got = y[b * LDY + r], gotp = yp[b * LDY + r];
                                if (b >= B || r >= R) {
                                    outside += got != fill || gotp != fill;
                                    continue;
                                }
                                const float want = add ? fill + yref[(b0 + b) * LDY + r] : yref[(b0 + b) * LDY + r];
                                bits += memcmp(&got, &want, 4) != 0;
                                pbits += memcmp(&gotp, &want, 4) != 0;
                                if (rnd || add) continue;
                                double ref = 0, mag = 0;
                                for (int i = 0; i < n; i++) {
                                    ref += (double)wd[r * n + i] * xd[(b0 + b) * n + i];
                                    mag += fabs((double)wd[r * n + i] * xd[(b0 + b) * n + i]);
                                }
                                const double e = fabs(got - ref) / (mag + 1e-30);
                                if (e > worst) worst = e;
                                far += e > 2e-6;
                            }
                    }
                CHECK(far == 0 && bits == 0 && pbits == 0 && outside == 0,
                      "%s n=%d %s rows: %d (qgemm) and %d (packed) results not bit-identical to the "
                      "reference, %d beyond 2e-6 x sum|terms| (worst %.2e), %d values outside the "
                      "block written",
                      tr->name, n, rnd ? "random-bit" : "quantized", bits, pbits, far, worst, outside);
                owl_afree(scratch);
                owl_afree(tiles);
                owl_afree(wq);
                owl_afree(xq);
            }
    }
    return check_done();
}
