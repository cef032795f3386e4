/* test_qgemm_k.c — the K-quant GEMM of the default path (qgemm_k_avx512.c)
 * for Q4_K, Q5_K and Q6_K weights with Q8_K activations:
 *   - every result within 2e-6 x sum|terms| of the same dot computed in
 *     double from the dequantized weights and activations (the integers
 *     are exact; only the fp32 steps round);
 *   - a row's result has the same bits whatever the batch it came in
 *     (B = 1..3 take the no-repacking path, B >= 4 the tiles): decode and
 *     prefill must agree, the KV cache of a chat depends on it;
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

static uint64_t rng = 88172645463325252ull;
static float frand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

int main(void) {
    const kernel_table *kt = kernels_variant("avx512vnni");
    if (!kt || !kt->qgemm[OWL_TYPE_Q4_K]) {
        printf("no AVX512-VNNI K-quant GEMM on this CPU: skipped\n");
        return check_done();
    }
    enum { NMAX = 768, R = 48, BMAX = 9, LDY = 56 };
    static float w[R * NMAX], x[BMAX * NMAX], wd[R * NMAX], xd[BMAX * NMAX];
    static float y[BMAX * LDY], y1[BMAX * LDY];
    static const int types[] = {OWL_TYPE_Q4_K, OWL_TYPE_Q5_K, OWL_TYPE_Q6_K};
    for (int ti = 0; ti < 3; ti++) {
        const int t = types[ti];
        const dtype_traits *tr = dtype_get(t), *ta = dtype_get(OWL_TYPE_Q8_K);
        for (int n = 256; n <= NMAX; n += 256) {
            const size_t rs = dtype_row_size(t, n), xs = dtype_row_size(OWL_TYPE_Q8_K, n);
            uint8_t *wq = owl_xaligned(rs * R), *xq = owl_xaligned(xs * BMAX);
            /* rows of different magnitude, some with an outlier, so the
             * sub-block scales and mins differ */
            for (int r = 0; r < R; r++)
                for (int i = 0; i < n; i++)
                    w[r * n + i] = frand() * (1.0f + (float)(r % 5)) + (i % 97 == r % 97 ? 8.0f : 0.0f);
            for (int i = 0; i < BMAX * n; i++) x[i] = frand() * 3.0f;
            for (int r = 0; r < R; r++) {
                tr->from_float(w + r * n, wq + r * rs, n);
                tr->to_float(wq + r * rs, wd + r * n, n);
            }
            for (int b = 0; b < BMAX; b++) {
                ta->from_float(x + b * n, xq + b * xs, n);
                ta->to_float(xq + b * xs, xd + b * n, n);
            }
            void *scratch = owl_xaligned(qgemm_scratch_bytes(n, BMAX));
            int far = 0, moved = 0, outside = 0;
            double worst = 0;
            for (int B = 1; B <= BMAX; B++)
                for (int add = 0; add < 2; add++) {
                    for (int i = 0; i < BMAX * LDY; i++) y[i] = add ? 0.25f : 777.0f;
                    kt->qgemm[t](y, LDY, wq, rs, R, xq, xs, B, n, add, scratch);
                    for (int b = 0; b < BMAX; b++)
                        for (int r = 0; r < LDY; r++) {
                            const float got = y[b * LDY + r];
                            if (b >= B || r >= R) {
                                outside += got != (add ? 0.25f : 777.0f);
                                continue;
                            }
                            double ref = 0, mag = 0;
                            for (int i = 0; i < n; i++) {
                                ref += (double)wd[r * n + i] * xd[b * n + i];
                                mag += fabs((double)wd[r * n + i] * xd[b * n + i]);
                            }
                            const double e = fabs((got - (add ? 0.25 : 0.0)) - ref) / (mag + 1e-30);
                            if (e > worst) worst = e;
                            far += e > 2e-6;
                            /* the bits of row (b, r) at B = 1 (no repacking) */
                            if (B == 1 && !add) y1[b * LDY + r] = got;
                            if (!add && b == 0 && got != y1[r]) moved++;
                        }
                }
            CHECK(far == 0 && moved == 0 && outside == 0,
                  "qgemm %s n=%d: %d results beyond 2e-6 x sum|terms| (worst %.2e), %d rows whose "
                  "bits depend on the batch, %d values outside the block written",
                  tr->name, n, far, worst, moved, outside);
            owl_afree(scratch);
            owl_afree(wq);
            owl_afree(xq);
        }
    }
    return check_done();
}
