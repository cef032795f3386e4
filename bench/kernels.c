/* bench/kernels.c — the matmul kernels alone, single thread: GMAC/s (and
 * GB/s of weights read) of the default path's GEMM (qgemm), its form on
 * weights repacked at load (packed) and the row dots (qdot4) for a weight
 * type and a shape, so a kernel change is measured without the rest of the
 * forward pass. Random weights and activations; the same inputs for every variant.
 *
 *   build/bench-kernels [TYPE=q4_0] [N=576] [R=1536] [B=512] [REPS=5]
 *
 * Prints, per kernel-table variant of this CPU, the best of REPS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    const char *tname = argc > 1 ? argv[1] : "q4_0";
    const int64_t N = argc > 2 ? atoll(argv[2]) : 576, R = argc > 3 ? atoll(argv[3]) : 1536,
                  B = argc > 4 ? atoll(argv[4]) : 512;
    const int reps = argc > 5 ? atoi(argv[5]) : 5;
    int type = -1;
    for (int t = 0; t < OWL_TYPE_COUNT; t++)
        if (dtype_get(t) && dtype_get(t)->name && strcmp(dtype_get(t)->name, tname) == 0) type = t;
    if (type < 0 || !dtype_get(type)->from_float) {
        fprintf(stderr, "bench-kernels: unknown or unwritable type '%s'\n", tname);
        return 1;
    }
    const int act = dtype_get(type)->vec_dot_type;
    float *w = malloc(sizeof(float) * (size_t)(N * R)), *x = malloc(sizeof(float) * (size_t)(N * B));
    srand(1);
    for (int64_t i = 0; i < N * R; i++) w[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
    for (int64_t i = 0; i < N * B; i++) x[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
    const size_t rs = dtype_row_size(type, N), xs = dtype_row_size(act, N);
    uint8_t *wq = owl_xaligned(rs * (size_t)R), *xq = owl_xaligned(xs * (size_t)B);
    for (int64_t r = 0; r < R; r++) dtype_get(type)->from_float(w + r * N, wq + (size_t)r * rs, N);
    float *y = owl_xaligned(sizeof(float) * (size_t)(R * B));
    void *scratch = owl_xaligned(qgemm_scratch_bytes(N, B));
    const char *isas[] = {"avx2", "avx512", "avx512vnni", "avx512bf16"};
    for (int k = 0; k < 4; k++) {
        const kernel_table *kt = kernels_variant(isas[k]);
        if (!kt || !(kt->qdot4[type] || kt->qgemm[type])) continue;
        for (int64_t b = 0; b < B; b++) {
            if (kt->act_quant[act]) kt->act_quant[act](x + b * N, xq + (size_t)b * xs, N);
            else dtype_get(act)->from_float(x + b * N, xq + (size_t)b * xs, N);
        }
        /* the layout repacked at load, where the table has one */
        const qpack_ops *qp = kt->qpack[type];
        uint8_t *tiles = qp ? owl_xaligned(qp->tile_bytes(N) * (size_t)(R / 16)) : NULL;
        for (int64_t t = 0; qp && t < R / 16; t++)
            qp->pack(tiles + (size_t)t * qp->tile_bytes(N), wq + (size_t)t * 16 * rs, rs, N);
        for (int g = 0; g < 3; g++) {
            if (g == 0 && (!kt->qdot4[type] || !kt->qdot[type])) continue;
            if (g == 1 && !kt->qgemm[type]) continue;
            if (g == 2 && !qp) continue;
            double best = 1e30;
            for (int it = 0; it < reps; it++) {
                double t0 = now();
                if (g == 2) {
                    qp->gemm(y, R, tiles, R / 16, xq, xs, B, N, false, scratch);
                } else if (g == 1) {
                    kt->qgemm[type](y, R, wq, rs, R / 16 * 16, xq, xs, B, N, false, scratch);
                } else if (B < 4) {
                    for (int64_t b = 0; b < B; b++)
                        for (int64_t r = 0; r < R; r++)
                            y[b * R + r] = kt->qdot[type](wq + (size_t)r * rs, xq + (size_t)b * xs, N);
                } else {
                    for (int64_t b = 0; b + 4 <= B; b += 4)
                        for (int64_t r = 0; r < R; r++) {
                            float d[4];
                            kt->qdot4[type](wq + (size_t)r * rs, xq + (size_t)b * xs, xs, d, N);
                            for (int j = 0; j < 4; j++) y[(b + j) * R + r] = d[j];
                        }
                }
                double dt = now() - t0;
                if (dt < best) best = dt;
            }
            const double wbytes = g == 2 ? (double)qp->tile_bytes(N) * (double)(R / 16) : (double)rs * (double)R;
            printf("%-11s %-6s %-5s N=%lld R=%lld B=%lld: %7.3f ms  %6.1f GMAC/s  %5.1f GB/s\n", isas[k],
                   g == 2 ? "packed" : g ? "qgemm" : B < 4 ? "qdot" : "qdot4", tname, (long long)N, (long long)R,
                   (long long)B, best * 1e3, (double)N * (double)R * (double)B / best * 1e-9, wbytes / best * 1e-9);
        }
        owl_afree(tiles);
    }
    return 0;
}
