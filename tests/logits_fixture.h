/* logits_fixture.h — reading the golden logits fixtures and holding owl's
 * logits to them; shared by test_logits.c (GGUF models) and
 * test_hf_logits.c (Hugging Face folders).
 *
 * Byte layout of tests/fixtures/logits/<model>.logits (written by
 * scripts/reference/make_logits_fixtures.py and make_hf_models.py), all
 * little-endian:
 *
 *     char magic[8] "OWLLOGIT"; u32 version (1); u32 n_seq; u32 n_tok;
 *     u32 n_vocab; then n_seq records:
 *       i32 n_prompt; i32 tokens[n_tok];
 *       n_tok rows (row t = logits after tokens[0..t]):
 *         f32 scale; i32 argmax; f32 top1; f32 margin (top1 - top2);
 *         i16 q[n_vocab]            logit[v] = q[v] * scale
 *
 * A row passes when max |owl - ref| <= REL_TOL x max |ref| and the argmax
 * is the same. */
#ifndef OWL_TESTS_LOGITS_FIXTURE_H
#define OWL_TESTS_LOGITS_FIXTURE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "owl.h"

#define REL_TOL 1e-3

typedef struct fixture {
    uint32_t n_seq, n_tok, n_vocab;
    int32_t *n_prompt; /* (n_seq) */
    int32_t *tokens;   /* (n_seq, n_tok) */
    float *scale;      /* (n_seq, n_tok) */
    int32_t *argmax;   /* (n_seq, n_tok) */
    float *top1;       /* (n_seq, n_tok) */
    float *margin;     /* (n_seq, n_tok) */
    int16_t *q;        /* (n_seq, n_tok, n_vocab) */
} fixture;

static uint32_t rd_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static float rd_f32(const unsigned char *p) {
    uint32_t u = rd_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void fixture_free(fixture *f) {
    free(f->n_prompt);
    free(f->tokens);
    free(f->scale);
    free(f->argmax);
    free(f->top1);
    free(f->margin);
    free(f->q);
    memset(f, 0, sizeof *f);
}

/* Reads a .logits file; false (with a message) if it is missing or malformed. */
static bool fixture_read(const char *path, fixture *f) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "cannot open %s\n", path);
        return false;
    }
    unsigned char h[24];
    bool ok = fread(h, 1, sizeof h, fp) == sizeof h && memcmp(h, "OWLLOGIT", 8) == 0 &&
              rd_u32(h + 8) == 1;
    if (ok) {
        f->n_seq = rd_u32(h + 12);
        f->n_tok = rd_u32(h + 16);
        f->n_vocab = rd_u32(h + 20);
        ok = f->n_seq > 0 && f->n_seq <= 64 && f->n_tok > 0 && f->n_tok <= 4096 &&
             f->n_vocab > 1 && f->n_vocab <= (1u << 20);
    }
    size_t rows = ok ? (size_t)f->n_seq * f->n_tok : 0;
    unsigned char *buf = ok ? malloc((size_t)f->n_vocab * 2 + 16) : NULL;
    if (ok) {
        f->n_prompt = malloc(f->n_seq * sizeof *f->n_prompt);
        f->tokens = malloc(rows * sizeof *f->tokens);
        f->scale = malloc(rows * sizeof *f->scale);
        f->argmax = malloc(rows * sizeof *f->argmax);
        f->top1 = malloc(rows * sizeof *f->top1);
        f->margin = malloc(rows * sizeof *f->margin);
        f->q = malloc(rows * f->n_vocab * sizeof *f->q);
        ok = buf && f->n_prompt && f->tokens && f->scale && f->argmax && f->top1 && f->margin && f->q;
    }
    for (uint32_t s = 0; ok && s < f->n_seq; s++) {
        ok = fread(buf, 4, 1, fp) == 1;
        f->n_prompt[s] = ok ? (int32_t)rd_u32(buf) : 0;
        for (uint32_t t = 0; ok && t < f->n_tok; t++) {
            ok = fread(buf, 4, 1, fp) == 1;
            f->tokens[(size_t)s * f->n_tok + t] = (int32_t)rd_u32(buf);
        }
        for (uint32_t t = 0; ok && t < f->n_tok; t++) {
            size_t r = (size_t)s * f->n_tok + t;
            ok = fread(buf, 1, 16 + (size_t)f->n_vocab * 2, fp) == 16 + (size_t)f->n_vocab * 2;
            if (!ok) break;
            f->scale[r] = rd_f32(buf);
            f->argmax[r] = (int32_t)rd_u32(buf + 4);
            f->top1[r] = rd_f32(buf + 8);
            f->margin[r] = rd_f32(buf + 12);
            int16_t *q = f->q + r * f->n_vocab;
            for (uint32_t v = 0; v < f->n_vocab; v++)
                q[v] = (int16_t)(uint16_t)(buf[16 + 2 * v] | buf[17 + 2 * v] << 8);
            ok = f->argmax[r] >= 0 && (uint32_t)f->argmax[r] < f->n_vocab;
        }
    }
    ok = ok && fgetc(fp) == EOF;
    free(buf);
    fclose(fp);
    if (!ok) {
        fprintf(stderr, "%s: malformed logits fixture\n", path);
        fixture_free(f);
    }
    return ok;
}

/* Running figures of one sequence. */
typedef struct tally {
    double worst_ratio; /* max over rows of max|owl - ref| / max|ref| */
    int worst_row;
    double top1_ratio; /* max over rows of |owl - ref| at the reference's argmax / max|ref| */
    int argmax_same, rows, bad_rows;
} tally;

/* Compares owl's row with fixture row r; records, and CHECKs if strict. */
static void compare_row(const fixture *f, size_t r, const float *got, tally *t, bool strict,
                        const char *what, int seq, int row) {
    const int16_t *q = f->q + r * f->n_vocab;
    double sc = f->scale[r], maxabs = 0, maxdiff = 0;
    int32_t am = 0;
    bool finite = true;
    for (uint32_t v = 0; v < f->n_vocab; v++) {
        double ref = q[v] * sc, d = fabs((double)got[v] - ref);
        if (!isfinite(got[v])) finite = false;
        if (d > maxdiff) maxdiff = d;
        if (fabs(ref) > maxabs) maxabs = fabs(ref);
        if (got[v] > got[am]) am = (int32_t)v;
    }
    double ratio = finite ? maxdiff / (maxabs > 0 ? maxabs : 1) : INFINITY;
    bool same = am == f->argmax[r];
    /* top1 is stored as f32, free of the int16 rounding: a finer figure */
    double e1 = fabs((double)got[f->argmax[r]] - f->top1[r]) / (maxabs > 0 ? maxabs : 1);
    if (!(e1 <= t->top1_ratio)) t->top1_ratio = e1;
    t->rows++;
    t->argmax_same += same;
    if (!(ratio <= t->worst_ratio)) {
        t->worst_ratio = ratio;
        t->worst_row = row;
    }
    bool ok = ratio <= REL_TOL && same;
    if (!ok) t->bad_rows++;
    if (strict && !ok && t->bad_rows <= 3) /* the first few, not all 64 */
        CHECK(ok, "%s seq %d row %d: max|diff| %.3g / max|logit| %.3g = %.2e (bound %.0e); "
                  "argmax owl %d (%.4f) ref %d (ref top-2 margin %.4f)",
              what, seq, row, maxdiff, maxabs, ratio, REL_TOL, am, got[am], f->argmax[r],
              f->margin[r]);
    else if (strict)
        CHECK(ok, "%s seq %d row %d", what, seq, row);
}

static void tally_merge(tally *all, const tally *t) {
    all->argmax_same += t->argmax_same;
    all->rows += t->rows;
    all->bad_rows += t->bad_rows;
    if (t->worst_ratio > all->worst_ratio) all->worst_ratio = t->worst_ratio;
    if (t->top1_ratio > all->top1_ratio) all->top1_ratio = t->top1_ratio;
}

static owl_context *new_ctx(owl_model *m, uint32_t n_tok, bool exact) {
    owl_context_params cp = owl_context_default_params();
    cp.n_ctx = n_tok;
    cp.n_batch = n_tok;
    cp.exact = exact;
    owl_context *ctx = NULL;
    owl_status s = owl_context_new(m, &cp, &ctx);
    CHECK(s == OWL_OK, "owl_context_new (exact %d): %s", exact, owl_last_error());
    return ctx;
}

/* Sequence s as one batch asking for every row's logits. */
static void run_batch(owl_context *ctx, const fixture *f, uint32_t s, bool strict,
                      const char *what, tally *t) {
    uint32_t n = f->n_tok;
    int32_t *pos = malloc(n * sizeof *pos), *seq = calloc(n, sizeof *seq);
    int8_t *want = malloc(n);
    if (!pos || !seq || !want) abort();
    for (uint32_t i = 0; i < n; i++) {
        pos[i] = (int32_t)i;
        want[i] = 1;
    }
    owl_kv_seq_rm(ctx, -1, 0, -1);
    owl_batch b = {(int32_t)n, f->tokens + (size_t)s * n, pos, seq, want};
    owl_status st = owl_decode(ctx, &b);
    CHECK(st == OWL_OK, "%s seq %u: owl_decode: %s", what, s, owl_last_error());
    for (uint32_t i = 0; st == OWL_OK && i < n; i++) {
        const float *lg = owl_get_logits(ctx, (int32_t)i);
        CHECK(lg != NULL, "%s seq %u: no logits for row %u", what, s, i);
        if (lg) compare_row(f, (size_t)s * n + i, lg, t, strict, what, (int)s, (int)i);
    }
    free(pos);
    free(seq);
    free(want);
}

/* Sequence s one token per owl_decode call. */
static void run_one_by_one(owl_context *ctx, const fixture *f, uint32_t s, const char *what,
                           tally *t) {
    owl_kv_seq_rm(ctx, -1, 0, -1);
    for (uint32_t i = 0; i < f->n_tok; i++) {
        int32_t pos = (int32_t)i, seq = 0;
        int8_t want = 1;
        owl_batch b = {1, f->tokens + (size_t)s * f->n_tok + i, &pos, &seq, &want};
        owl_status st = owl_decode(ctx, &b);
        CHECK(st == OWL_OK, "%s seq %u token %u: owl_decode: %s", what, s, i, owl_last_error());
        if (st != OWL_OK) return;
        const float *lg = owl_get_logits(ctx, 0);
        CHECK(lg != NULL, "%s seq %u token %u: no logits", what, s, i);
        if (lg) compare_row(f, (size_t)s * f->n_tok + i, lg, t, true, what, (int)s, (int)i);
    }
}

static void print_tally(const char *what, uint32_t s, const fixture *f, const tally *t) {
    printf("  %-22s seq %u (prompt %2d): max|diff|/max|logit| %.2e (row %2d), "
           "at the top-1 %.1e, argmax equal %d/%d\n",
           what, s, f->n_prompt[s], t->worst_ratio, t->worst_row, t->top1_ratio, t->argmax_same,
           t->rows);
}

#endif
