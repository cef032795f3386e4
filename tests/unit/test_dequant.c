/* test_dequant.c — owl's tensor types against gguf-py and llama.cpp, bit for bit.
 *
 * Reads tests/fixtures/quants/<type>.bin (made by
 * scripts/reference/make_quant_fixtures.py from gguf-py and from
 * llama.cpp's C code; the layout is described there) and checks, for
 * every type:
 *   - to_float gives exactly the reference float32 values (compared as
 *     uint32): random blocks, edge cases, blocks llama.cpp quantized, and
 *     blocks of the real SmolLM2 file;
 *   - from_float gives exactly the reference bytes: gguf-py's for Q4_0,
 *     Q4_1, Q5_0, Q5_1, Q8_0, F16, BF16, llama.cpp's for those and Q8_1,
 *     Q8_K, Q4_K, Q5_K, Q6_K;
 *   - dot_f32 agrees with a double-precision dot of the dequantized row to
 *     1e-5 of sum |a_i x_i| (relative error, immune to cancellation);
 *   - all 65536 f16 values convert to f32 exactly, and f32 -> f16 / bf16
 *     round as numpy / gguf-py do (ties to even, subnormals, overflow,
 *     inf, nan);
 * and, without fixtures, the round trip of the activation types Q8_1 and
 * Q8_K (their stored sums) and the traits table itself.
 * Prints one line per type: "q4_k: 1536 values, 0 mismatches". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/f16.h"
#include "check.h"
#include "tensor/dtype.h"
#include "tensor/quants.h"

enum { KIND_DEQUANT = 1, KIND_QUANT = 2, KIND_F16_TABLE = 3 };

static const char *fixtures_dir;

/* deterministic floats in [-1, 1) */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float rng_float(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static bool is_nan16(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x03ff); }

/* Dot of row (type t, n elements) with x through dot_f32, against a double
 * dot of the reference values ref. Returns false when they differ. */
static bool dot_agrees(const dtype_traits *tr, const void *row, const float *ref, int64_t n,
                       const float *x, double *worst) {
    double exact = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        exact += (double)ref[i] * x[i];
        scale += fabs((double)ref[i] * x[i]);
    }
    double got = tr->dot_f32(row, x, n);
    double err = fabs(got - exact) / (scale > 0 ? scale : 1);
    if (err > *worst) *worst = err;
    return err <= 1e-5;
}

static bool all_finite(const float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return false;
    return true;
}

/* One fixture file: every section checked; per-type counts printed. */
static void check_fixture(const char *name, int type) {
    char path[1024];
    snprintf(path, sizeof path, "%s/quants/%s.bin", fixtures_dir, name);
    size_t len = 0;
    unsigned char *buf = read_file(path, &len);
    CHECK(buf != NULL, "%s: cannot read the fixture", path);
    if (!buf) return;
    const dtype_traits *tr = dtype_get(type);
    CHECK(tr != NULL, "%s: no traits for type %d", name, type);
    CHECK(len >= 16 && memcmp(buf, "OWLQFIX1", 8) == 0, "%s: bad magic", path);
    CHECK(len >= 16 && (int)rd32(buf + 8) == type, "%s: type %u, want %d", path, rd32(buf + 8), type);
    if (!tr || len < 16) {
        free(buf);
        return;
    }
    uint32_t n_sec = rd32(buf + 12);
    size_t off = 16;
    long deq_values = 0, deq_mismatch = 0, q_values = 0, q_mismatch = 0, dots = 0, dot_bad = 0;
    long table_mismatch = 0;
    double dot_worst = 0;
    for (uint32_t s = 0; s < n_sec; s++) {
        CHECK(off + 24 <= len, "%s: section %u header past the end", path, s);
        if (off + 24 > len) break;
        uint32_t kind = rd32(buf + off);
        uint64_t n = rd64(buf + off + 8), nb = rd64(buf + off + 16);
        off += 24;
        if (n > (1u << 24) || nb > (1u << 26) || off + nb + 4 * n > len) {
            CHECK(0, "%s: section %u sizes out of range", path, s);
            break;
        }
        const unsigned char *raw = buf + off + (kind == KIND_QUANT ? 4 * n : 0);
        const unsigned char *fl = buf + off + (kind == KIND_QUANT ? 0 : nb);
        off += nb + 4 * n;
        float *f = malloc(4 * n + 4);          /* the section's floats, aligned */
        float *out = malloc(4 * n + 4);
        void *q = malloc(nb + 4);              /* the section's bytes, aligned */
        memcpy(f, fl, 4 * n);
        memcpy(q, raw, nb);

        if (kind == KIND_F16_TABLE) {
            CHECK(type == OWL_TYPE_F16 && n == 65536, "%s: bad f16 table", path);
            long row_mismatch = 0;
            if (n == 65536) {
                /* f16_to_f32 (base/f16.h) and the row converter of the
                 * traits table, which has its own branchless code */
                uint16_t *all = malloc(65536 * sizeof *all);
                for (uint32_t h = 0; h < 65536; h++) {
                    all[h] = (uint16_t)h;
                    if (f32_bits(f16_to_f32((uint16_t)h)) != f32_bits(f[h])) table_mismatch++;
                }
                tr->to_float(all, out, 65536);
                for (uint32_t h = 0; h < 65536; h++) row_mismatch += f32_bits(out[h]) != f32_bits(f[h]);
                free(all);
            }
            printf("f16 -> f32: all 65536 values, %ld mismatches (f16_to_f32), %ld (row to_float)\n",
                   table_mismatch, row_mismatch);
            CHECK(table_mismatch == 0, "f16_to_f32: %ld of 65536 differ from numpy", table_mismatch);
            CHECK(row_mismatch == 0, "f16 to_float: %ld of 65536 differ from numpy", row_mismatch);
        } else if (kind == KIND_DEQUANT) {
            CHECK(nb == dtype_row_size(type, (int64_t)n), "%s: %llu bytes for %llu values", path,
                  (unsigned long long)nb, (unsigned long long)n);
            tr->to_float(q, out, (int64_t)n);
            long bad = 0;
            for (uint64_t i = 0; i < n; i++) {
                if (f32_bits(out[i]) != f32_bits(f[i])) {
                    if (bad < 5)
                        fprintf(stderr, "  %s section %u value %llu: owl %.9g (%08x), reference %.9g (%08x)\n",
                                name, s, (unsigned long long)i, out[i], f32_bits(out[i]), f[i], f32_bits(f[i]));
                    bad++;
                }
            }
            deq_values += (long)n;
            deq_mismatch += bad;
            if (all_finite(f, (int64_t)n)) {
                float *x = malloc(4 * n + 4);
                for (uint64_t i = 0; i < n; i++) x[i] = rng_float();
                dots += 2;
                dot_bad += !dot_agrees(tr, q, f, (int64_t)n, x, &dot_worst);
                dot_bad += !dot_agrees(tr, q, f, tr->blck, x, &dot_worst); /* one block */
                free(x);
            }
        } else if (kind == KIND_QUANT) {
            CHECK(tr->from_float != NULL, "%s: owl cannot quantize", name);
            CHECK(nb == dtype_row_size(type, (int64_t)n), "%s: quantize %llu bytes for %llu values",
                  path, (unsigned long long)nb, (unsigned long long)n);
            if (tr->from_float && nb == dtype_row_size(type, (int64_t)n)) {
                unsigned char *mine = malloc(nb + 4);
                tr->from_float(f, mine, (int64_t)n);
                long bad = 0;
                if (tr->size == 2 && tr->blck == 1) {
                    /* f16 / bf16: per value; a NaN only has to stay a NaN
                     * of the same sign (numpy keeps a signalling NaN's
                     * payload, F16C and owl quiet it) */
                    for (uint64_t i = 0; i < n; i++) {
                        uint16_t a, b;
                        memcpy(&a, mine + 2 * i, 2);
                        memcpy(&b, raw + 2 * i, 2);
                        bool ok = a == b || (type == OWL_TYPE_F16 && is_nan16(a) && is_nan16(b) &&
                                             (a & 0x8000) == (b & 0x8000));
                        if (!ok) {
                            if (bad < 5)
                                fprintf(stderr, "  %s from f32 %08x: owl %04x, reference %04x\n", name,
                                        f32_bits(f[i]), a, b);
                            bad++;
                        }
                    }
                } else {
                    for (uint64_t i = 0; i < nb; i++) {
                        if (mine[i] != raw[i]) {
                            if (bad < 5)
                                fprintf(stderr, "  %s quantize: byte %llu (block %llu): owl %02x, reference %02x\n",
                                        name, (unsigned long long)i, (unsigned long long)(i / tr->size),
                                        mine[i], raw[i]);
                            bad++;
                        }
                    }
                }
                q_values += (long)n;
                q_mismatch += bad;
                free(mine);
            }
        } else {
            CHECK(0, "%s: unknown section kind %u", path, kind);
        }
        free(f);
        free(out);
        free(q);
    }
    CHECK(off == len, "%s: %zu trailing bytes", path, len - off);
    if (deq_values) {
        printf("%s: %ld values, %ld mismatches\n", name, deq_values, deq_mismatch);
        CHECK(deq_mismatch == 0, "%s: %ld of %ld dequantized values differ from the reference", name,
              deq_mismatch, deq_values);
    }
    if (q_values) {
        printf("%s quantize: %ld values, %ld mismatches (%s)\n", name, q_values, q_mismatch,
               tr->blck == 1 ? "values" : "bytes");
        CHECK(q_mismatch == 0, "%s: from_float differs from the reference in %ld places", name, q_mismatch);
    }
    if (dots) {
        printf("%s dot_f32: %ld rows, %ld off, worst relative error %.2e\n", name, dots, dot_bad, dot_worst);
        CHECK(dot_bad == 0, "%s: dot_f32 off by more than 1e-5 in %ld rows", name, dot_bad);
    }
    free(buf);
}

/* Q8_0, Q8_1 and Q8_K: round trip within half a step, and the sums that
 * Q8_1 (s) and Q8_K (bsums) carry for the integer dot kernels. */
static void check_activation_types(void) {
    enum { N = 1024 };
    static float x[N], y[N];
    static block_q8_1 b81[N / QK8_1];
    static block_q8_K b8k[N / QK_K];
    for (int i = 0; i < N; i++) x[i] = rng_float() * (i < 512 ? 1.0f : 100.0f);
    x[40] = 0; /* not every block has its extreme at the edges */

    q8_1_from_float(x, b81, N);
    q8_1_to_float(b81, y, N);
    long bad = 0, bad_s = 0;
    for (int b = 0; b < N / QK8_1; b++) {
        float d = f16_to_f32(b81[b].d);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            int i = b * QK8_1 + j;
            sum += b81[b].qs[j];
            /* q was rounded with the fp32 d, y uses the f16 d */
            if (fabsf(x[i] - y[i]) > 0.5f * d + 127.0f * d / 2048.0f + 1e-30f) bad++;
        }
        /* s was rounded from sum * (fp32 d): within two f16 roundings */
        float s = f16_to_f32(b81[b].s), want = (float)sum * d;
        if (fabsf(s - want) > fabsf(want) * (2.0f / 2048.0f) + 1e-7f * d) bad_s++;
    }
    printf("q8_1 round trip: %d values, %ld beyond half a step, %ld wrong sums\n", N, bad, bad_s);
    CHECK(bad == 0 && bad_s == 0, "q8_1: %ld values off, %ld sums wrong", bad, bad_s);

    q8_K_from_float(x, b8k, N);
    q8_K_to_float(b8k, y, N);
    bad = 0;
    bad_s = 0;
    for (int b = 0; b < N / QK_K; b++) {
        float d = fabsf(b8k[b].d);
        int extreme = 0;
        for (int j = 0; j < QK_K; j++) {
            int i = b * QK_K + j;
            if (fabsf(x[i] - y[i]) > 0.5f * d * 1.0001f) bad++;
            if (b8k[b].qs[j] == -127) extreme++;
        }
        if (!extreme) bad++; /* the largest magnitude maps to -127 */
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += b8k[b].qs[16 * g + l];
            if (b8k[b].bsums[g] != sum) bad_s++;
        }
    }
    printf("q8_k round trip: %d values, %ld beyond half a step, %ld wrong block sums\n", N, bad, bad_s);
    CHECK(bad == 0 && bad_s == 0, "q8_k: %ld values off, %ld bsums wrong", bad, bad_s);

    /* a zero block quantizes to zeros, and back */
    float z[QK_K] = {0};
    q8_K_from_float(z, b8k, QK_K);
    q8_K_to_float(b8k, y, QK_K);
    CHECK(b8k[0].d == 0 && y[0] == 0 && y[QK_K - 1] == 0, "q8_k: zero block");

    /* the dot of each against its own dequantization */
    const dtype_traits *t81 = dtype_get(OWL_TYPE_Q8_1), *t8k = dtype_get(OWL_TYPE_Q8_K);
    double worst = 0;
    q8_1_from_float(x, b81, N);
    q8_1_to_float(b81, y, N);
    CHECK(dot_agrees(t81, b81, y, N, x, &worst), "q8_1 dot_f32");
    q8_K_from_float(x, b8k, N);
    q8_K_to_float(b8k, y, N);
    CHECK(dot_agrees(t8k, b8k, y, N, x, &worst), "q8_k dot_f32");
}

/* Quantizing NaN, inf, huge and subnormal inputs gives garbage blocks but
 * must be free of undefined behaviour (the sanitizer build checks that);
 * an ordinary block beside them must come out as usual. */
static void check_hostile_inputs(void) {
    static float x[2 * QK_K], y[2 * QK_K], z[2 * QK_K];
    static _Alignas(8) unsigned char q[2 * sizeof(block_q8_K)];
    const float special[] = {NAN, -NAN, INFINITY, -INFINITY, 3e38f, -3e38f, 1e-45f, -1e-40f};
    for (int i = 0; i < QK_K; i++) x[i] = special[i % 8] * (i % 3 == 0 ? 1.0f : 0.5f);
    for (int i = QK_K; i < 2 * QK_K; i++) x[i] = rng_float();
    long bad = 0;
    for (int t = 0; t < OWL_TYPE_COUNT; t++) {
        const dtype_traits *tr = dtype_get(t);
        if (!tr || !tr->from_float || !tr->quantized) continue;
        tr->from_float(x, q, 2 * QK_K);
        tr->to_float(q, y, 2 * QK_K);
        /* the second half alone must quantize the same as beside garbage */
        tr->from_float(x + QK_K, q, QK_K);
        tr->to_float(q, z, QK_K);
        for (int i = 0; i < QK_K; i++) bad += f32_bits(y[QK_K + i]) != f32_bits(z[i]);
    }
    printf("quantizers on NaN / inf / huge inputs: %ld values of the next block disturbed\n", bad);
    CHECK(bad == 0, "garbage in one block changed %ld values of the next", bad);
}

static void check_float_rows(void) {
    enum { N = 37 }; /* not a multiple of 8: the tails */
    float a[N], x[N], back[N];
    uint16_t h[N];
    for (int i = 0; i < N; i++) {
        a[i] = rng_float();
        x[i] = rng_float();
    }
    const dtype_traits *t = dtype_get(OWL_TYPE_F32);
    double worst = 0;
    CHECK(dot_agrees(t, a, a, N, x, &worst), "f32 dot_f32");
    t->from_float(a, back, N);
    CHECK(memcmp(a, back, sizeof a) == 0, "f32 from_float copies");

    f16_row_from_float(a, h, N);
    f16_row_to_float(h, back, N);
    CHECK(dot_agrees(dtype_get(OWL_TYPE_F16), h, back, N, x, &worst), "f16 dot_f32");
    bf16_row_from_float(a, h, N);
    bf16_row_to_float(h, back, N);
    CHECK(dot_agrees(dtype_get(OWL_TYPE_BF16), h, back, N, x, &worst), "bf16 dot_f32");

    /* 200 elements: more than the 64-value stack buffer of the half dots */
    float a2[200], x2[200], b2[200];
    uint16_t h2[200];
    for (int i = 0; i < 200; i++) {
        a2[i] = rng_float();
        x2[i] = rng_float();
    }
    f16_row_from_float(a2, h2, 200);
    f16_row_to_float(h2, b2, 200);
    CHECK(dot_agrees(dtype_get(OWL_TYPE_F16), h2, b2, 200, x2, &worst), "f16 dot_f32, 200");
}

static void check_traits(void) {
    static const struct { int type; const char *name; int blck; size_t size; } want[] = {
        {OWL_TYPE_F32, "f32", 1, 4},       {OWL_TYPE_F16, "f16", 1, 2},
        {OWL_TYPE_BF16, "bf16", 1, 2},     {OWL_TYPE_Q4_0, "q4_0", 32, 18},
        {OWL_TYPE_Q4_1, "q4_1", 32, 20},   {OWL_TYPE_Q5_0, "q5_0", 32, 22},
        {OWL_TYPE_Q5_1, "q5_1", 32, 24},   {OWL_TYPE_Q8_0, "q8_0", 32, 34},
        {OWL_TYPE_Q8_1, "q8_1", 32, 36},   {OWL_TYPE_Q2_K, "q2_k", 256, 84},
        {OWL_TYPE_Q3_K, "q3_k", 256, 110}, {OWL_TYPE_Q4_K, "q4_k", 256, 144},
        {OWL_TYPE_Q5_K, "q5_k", 256, 176}, {OWL_TYPE_Q6_K, "q6_k", 256, 210},
        {OWL_TYPE_Q8_K, "q8_k", 256, 292},
    };
    int known = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const dtype_traits *t = dtype_get(want[i].type);
        CHECK(t && t->blck == want[i].blck && t->size == want[i].size && t->to_float && t->dot_f32,
              "traits of %s", want[i].name);
        const char *nm = owl_type_name(want[i].type);
        CHECK(nm && strcmp(nm, want[i].name) == 0, "owl_type_name(%d) = %s, want %s", want[i].type,
              nm ? nm : "NULL", want[i].name);
    }
    for (int t = -2; t < OWL_TYPE_COUNT + 3; t++) known += dtype_get(t) != NULL;
    CHECK(known == (int)(sizeof want / sizeof want[0]), "%d types known, want %zu", known,
          sizeof want / sizeof want[0]);
    CHECK(owl_type_name(16) == NULL && owl_type_name(-1) == NULL && owl_type_name(OWL_TYPE_COUNT) == NULL,
          "unknown types have no name");
    CHECK(dtype_row_size(OWL_TYPE_Q4_K, 4096) == 16 * 144, "q4_k row of 4096");
    CHECK(dtype_row_size(OWL_TYPE_Q4_0, 33) == 0, "q4_0 row of 33 is not whole blocks");
    CHECK(dtype_row_size(OWL_TYPE_F32, -4) == 0, "negative row");
    CHECK(dtype_row_size(OWL_TYPE_F32, INT64_MAX) == 0, "f32 row size overflow");
    CHECK(dtype_row_size(17, 256) == 0, "unknown type row size");
}

int main(void) {
    fixtures_dir = check_env("OWL_FIXTURES");
    static const struct { const char *name; int type; } files[] = {
        {"f16", OWL_TYPE_F16},   {"bf16", OWL_TYPE_BF16}, {"q4_0", OWL_TYPE_Q4_0},
        {"q4_1", OWL_TYPE_Q4_1}, {"q5_0", OWL_TYPE_Q5_0}, {"q5_1", OWL_TYPE_Q5_1},
        {"q8_0", OWL_TYPE_Q8_0}, {"q2_k", OWL_TYPE_Q2_K}, {"q3_k", OWL_TYPE_Q3_K},
        {"q4_k", OWL_TYPE_Q4_K}, {"q5_k", OWL_TYPE_Q5_K}, {"q6_k", OWL_TYPE_Q6_K},
        {"q8_1", OWL_TYPE_Q8_1}, {"q8_k", OWL_TYPE_Q8_K},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) check_fixture(files[i].name, files[i].type);
    check_activation_types();
    check_hostile_inputs();
    check_float_rows();
    check_traits();
    return check_done();
}
