/* test_attention_tile.c — the blocked attention of prompts
 * (kernel_table.attn_tile, attention_avx512.c) against the scalar
 * reference attention_head (fp32, double-sum softmax) run on the same
 * inputs (k and v f16 values, q any fp32), for every row and head of a tile:
 *   - head_dim 64 and 128 (and 16, 48: the AVX2 kernel's other path), GQA groups
 *     1, 3, 4, 8, tiles of 1, 5 and 16 rows;
 *   - 1..700 cells, scattered over a larger cache in shuffled order, with
 *     per-row visibility masks that have holes (cells of other sequences),
 *     causal staircases, and rows that see no cell at all (zeros);
 *   - each row and head gives exactly the bits of the table's per-(row,
 *     head) kernel (attn_f16, attention_head_f16_avx2) over the cells that
 *     row sees: the forward pass's split of a batch into tiles, threads
 *     and single tokens leaves the results alone;
 * The tolerance: k and v are exactly representable in both, the query and
 * the softmax weights stay fp32 (llama.cpp rounds both to f16: that would
 * be off by about 1e-4 here), so the dots and sums differ by fp32 rounding
 * only (~1e-6). A wrong cell, mask or weight is off by far more. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/f16.h"
#include "base/mem.h"
#include "check.h"
#include "kernels/kernels.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t urand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}
static float frand(void) { return (float)(urand() / 4294967296.0 * 2.0 - 1.0); }

enum { CACHE = 800, MAXG = 8, MAXD = 128, ROWS = ATTN_TILE_ROWS };

/* mask kinds */
enum { RANDOM, CAUSAL, NONE_FOR_SOME };

static void run_case(const kernel_table *kt, int32_t G, int32_t D, int32_t rows, int32_t N,
                     int kind) {
    const int32_t Hkv = 2, stride = Hkv * D, QD = Hkv * G * D;
    const int32_t g = 1; /* test the second kv head: offsets must be right */
    uint16_t *k = malloc(sizeof *k * (size_t)CACHE * stride);
    uint16_t *v = malloc(sizeof *v * (size_t)CACHE * stride);
    float *kf = malloc(sizeof *kf * (size_t)CACHE * stride);
    float *vf = malloc(sizeof *vf * (size_t)CACHE * stride);
    float *q = malloc(sizeof *q * (size_t)ROWS * QD), *out = malloc(sizeof *out * (size_t)ROWS * QD);
    float *one = malloc(sizeof *one * (size_t)D);
    float *scratch = owl_xaligned(sizeof(float) * attention_tile_scratch_floats(G, D, N));
    int32_t cells[CACHE], sub[CACHE], perm[CACHE];
    uint16_t masks[CACHE];
    float scores[CACHE], ref[MAXD];
    for (int32_t i = 0; i < CACHE * stride; i++) {
        k[i] = f32_to_f16(frand()), v[i] = f32_to_f16(frand());
        kf[i] = f16_to_f32(k[i]), vf[i] = f16_to_f32(v[i]);
    }
    /* spread scores over a few units so the softmax is neither flat nor one-hot */
    for (int32_t i = 0; i < ROWS * QD; i++) q[i] = 3.0f * frand();
    for (int32_t i = 0; i < CACHE; i++) perm[i] = i;
    for (int32_t i = CACHE - 1; i > 0; i--) {
        int32_t j = (int32_t)(urand() % (uint32_t)(i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    for (int32_t c = 0; c < N; c++) {
        cells[c] = perm[c];
        unsigned m = 0;
        for (int32_t i = 0; i < rows; i++) {
            bool sees = kind == CAUSAL ? c <= N - rows + i
                                       : (urand() % 4 != 0); /* RANDOM, NONE_FOR_SOME */
            if (kind == NONE_FOR_SOME && i % 3 == 1) sees = false;
            m |= (unsigned)sees << i;
        }
        masks[c] = (uint16_t)m;
    }
    for (int32_t i = 0; i < ROWS * QD; i++) out[i] = NAN;
    const float scale = 1.0f / sqrtf((float)D);
    kt->attn_tile(out + g * G * D, QD, q + g * G * D, QD, rows, G, D, k + g * D, v + g * D,
                  (size_t)stride, cells, masks, N, scale, scratch);
    const kernel_table *ref_kt = kernels_variant("scalar");
    double worst = 0;
    int wrong_zero = 0, untouched = 1, same_row = 1;
    for (int32_t i = 0; i < rows; i++) {
        int32_t n = 0;
        for (int32_t c = 0; c < N; c++)
            if (masks[c] >> i & 1) sub[n++] = cells[c];
        for (int32_t j = 0; j < G; j++) {
            const float *got = out + i * QD + (g * G + j) * D;
            attention_head(ref, q + i * QD + (g * G + j) * D, kf + g * D, vf + g * D, (size_t)stride, sub,
                           n, D, scale, scores, ref_kt);
            if (n > 0) {
                kt->attn_f16(one, q + i * QD + (g * G + j) * D, k + g * D, v + g * D,
                             (size_t)stride, sub, n, D, scale, scores, kt);
                same_row &= memcmp(one, got, sizeof(float) * (size_t)D) == 0;
            }
            for (int32_t d = 0; d < D; d++) {
                double e = fabs((double)got[d] - ref[d]);
                if (!(e <= worst)) worst = e; /* NaN sticks */
                if (n == 0 && got[d] != 0.0f) wrong_zero++;
            }
        }
        /* the other kv head's outputs are not written */
        for (int32_t d = 0; d < G * D; d++) untouched &= isnan(out[i * QD + d]);
    }
    CHECK(worst < 1e-5, "%s attn_tile G=%d D=%d rows=%d N=%d mask %d: error %g", kt->isa, G, D,
          rows, N, kind, worst);
    CHECK(wrong_zero == 0, "%s attn_tile G=%d D=%d N=%d: a row that sees no cell is not zero",
          kt->isa, G, D, N);
    CHECK(same_row, "%s attn_tile G=%d D=%d rows=%d N=%d mask %d: not attn_f16's bits",
          kt->isa, G, D, rows, N, kind);
    CHECK(untouched, "%s attn_tile G=%d D=%d: wrote another kv head's output", kt->isa, G, D);
    free(k), free(v), free(kf), free(vf), free(q), free(out), free(one);
    owl_afree(scratch);
}

int main(void) {
    static const char *isas[] = {"scalar", "avx2", "avx512", "avx512vnni"};
    static const int32_t Gs[] = {1, 3, 4, 8}, Ds[] = {64, 128, 16, 48}, rowss[] = {16, 5, 1};
    static const int32_t Ns[] = {1, 2, 7, 8, 9, 31, 32, 33, 64, 100, 257, 512, 700};
    int tested = 0;
    for (size_t t = 0; t < sizeof isas / sizeof isas[0]; t++) {
        const kernel_table *kt = kernels_variant(isas[t]);
        if (!kt || !kt->attn_tile) continue;
        bool seen = false; /* tables sharing one kernel: test it once */
        for (size_t u = 0; u < t; u++) {
            const kernel_table *o = kernels_variant(isas[u]);
            seen |= o && o->attn_tile == kt->attn_tile && o->attn_f16 == kt->attn_f16;
        }
        if (seen) continue;
        printf("testing %s attn_tile\n", kt->isa);
        tested++;
        for (size_t gi = 0; gi < 4; gi++)
            for (size_t di = 0; di < 4; di++)
                for (size_t ri = 0; ri < 3; ri++)
                    for (size_t ni = 0; ni < sizeof Ns / sizeof Ns[0]; ni++)
                        for (int kind = 0; kind < 3; kind++) {
                            if (kind == CAUSAL && Ns[ni] < rowss[ri]) continue;
                            run_case(kt, Gs[gi], Ds[di], rowss[ri], Ns[ni], kind);
                        }
    }
    if (!tested) printf("no ISA with a blocked attention on this CPU: nothing to test\n");
    return check_done();
}
