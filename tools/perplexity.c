/* perplexity.c — `owl perplexity`: the perplexity of a text, and the
 * KL-divergence of this run's token distributions from a base run's,
 * measured the way llama.cpp's llama-perplexity measures them, so that the
 * figures of the two tools can be set side by side (bench/kld does).
 *
 * Method (as llama-perplexity):
 *   - the whole text is tokenized once (BOS as the model asks, special
 *     tokens not parsed, one trailing newline dropped) and cut into chunks
 *     of n_ctx tokens; each chunk is decoded from an empty cache, its first
 *     token replaced by BOS when the model adds one;
 *   - only the second half is scored: the logits at positions
 *     n_ctx/2 .. n_ctx-2 against the tokens that follow them, so that every
 *     scored token has at least n_ctx/2 tokens of context;
 *   - PPL = exp(mean NLL); its ± is PPL times the standard error of the
 *     mean NLL. With -b a multiple of n_ctx, b/n_ctx chunks share a batch
 *     as separate sequences.
 *
 * --kl-divergence-base FILE alone writes the run's log-probabilities to
 * FILE in llama-perplexity's own format, so an owl base can be read by
 * llama-perplexity --kl-divergence and vice versa (little-endian, as the
 * hosts both tools run on):
 *
 *   char   magic[8]  "_logits_"
 *   u32    n_ctx
 *   i32    n_vocab
 *   i32    n_chunk
 *   i32    tokens[n_chunk * n_ctx]   the text's tokens (not BOS-replaced)
 *   per chunk, per scored row (n_ctx - 1 - n_ctx/2 rows), nv = 2*((n_vocab+1)/2) + 4 u16:
 *     f32  scale         (max logit - lo) / 65535, lo = max(min logit, max logit - 16)
 *     f32  min_log_prob  log-probability of lo
 *     u16  q[n_vocab]    log p[v] ~= scale * q[v] + min_log_prob (0: at most lo)
 *     u16  pad           when n_vocab is odd
 *
 * With --kl-divergence the tokens and n_ctx come from FILE (-f is not
 * needed); each row's KL-divergence sum_v p_base log(p_base / p) is taken
 * over the base's tokens with log p_base > -16, as llama-perplexity does,
 * and the same statistics are printed. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "args.h"
#include "cli.h"

#define CMD "perplexity"

static const arg_cmd ppl_cmd = {
    .name = CMD,
    .synopsis = "-m MODEL -f TEXT [-c 512] [-b 2048] [--chunks N] [-t THREADS] [--exact]\n"
                "       [--kl-divergence-base FILE [--kl-divergence]]",
    .about =
        "Perplexity of TEXT as llama.cpp's llama-perplexity measures it: the tokens are\n"
        "cut into chunks of -c tokens, each decoded from an empty cache with BOS first\n"
        "(if the model adds BOS), and only the second half of each chunk is scored.\n"
        "stdout gets the running estimate after each chunk, [1]PPL,[2]PPL,..., then\n"
        "\"Final estimate: PPL = X +/- ERR\".\n"
        "\n"
        "--kl-divergence-base FILE writes this run's log-probabilities to FILE, in\n"
        "llama-perplexity's format. Adding --kl-divergence instead reads FILE (its\n"
        "tokens and context size; -f is not needed) and prints the KL-divergence of\n"
        "this run from the base, with llama-perplexity's statistics: mean KLD, its\n"
        "percentiles, the change of the right token's probability (Δp) and how often\n"
        "both runs agree on the most likely token (same top p). A base made with\n"
        "--exact measures the default fast path against owl's fp32 path; the same file\n"
        "can be given to llama-perplexity --kl-divergence.",
    .footer = "examples:\n"
              "  owl perplexity -m SmolLM2-135M-Instruct.Q4_1.gguf -f wiki.test.raw --chunks 20\n"
              "  owl perplexity -m M.gguf -f TEXT --exact --kl-divergence-base base.kld\n"
              "  owl perplexity -m M.gguf --kl-divergence-base base.kld --kl-divergence",
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* u16 values per stored row: two f32 (scale, min_log_prob), then n_vocab
 * values padded to an even count */
static size_t row_u16(int32_t n_vocab) { return 2 * (((size_t)n_vocab + 1) / 2) + 4; }

/* ---- one row of logits ---------------------------------------------------- */

typedef struct row_sm {
    float max;   /* largest logit */
    double lse;  /* log sum_v exp(logit[v] - max) */
    int32_t top; /* first index of the largest logit */
} row_sm;

static row_sm row_softmax(const float *l, int32_t V) {
    row_sm r = {l[0], 0, 0};
    for (int32_t v = 1; v < V; v++)
        if (l[v] > r.max) {
            r.max = l[v];
            r.top = v;
        }
    double s = 0;
    for (int32_t v = 0; v < V; v++) s += exp((double)l[v] - (double)r.max);
    r.lse = log(s);
    return r;
}

/* The row's log-probabilities in 16 bits over the 16 nats below the top
 * (lower ones are stored as the floor: they add nothing the KLD keeps). */
static void row_pack(uint16_t *out, const float *l, int32_t V, const row_sm *sm) {
    float lo = l[0];
    for (int32_t v = 1; v < V; v++)
        if (l[v] < lo) lo = l[v];
    if (lo < sm->max - 16) lo = sm->max - 16;
    float scale = (sm->max - lo) / 65535.0f;
    float min_lp = (float)((double)lo - (double)sm->max - sm->lse);
    memcpy(out, &scale, sizeof scale);
    memcpy(out + 2, &min_lp, sizeof min_lp);
    uint16_t *q = out + 4;
    memset(q, 0, (row_u16(V) - 4) * sizeof *q);
    if (scale > 0) {
        float inv = 1.0f / scale;
        for (int32_t v = 0; v < V; v++) {
            if (!(l[v] > lo)) continue;
            long x = lrintf(inv * (l[v] - lo));
            q[v] = (uint16_t)(x > 65535 ? 65535 : x);
        }
    }
}

/* Running sums of the KL-divergence mode (names after what they sum). */
typedef struct kld_acc {
    double nll, nll2, nll_base, nll_base2, nll_nll_base;
    double kld, kld2;
    double dp, dp2, dp4;
    size_t same_top, count;
} kld_acc;

/* Compares one row with the base row; returns its KLD, sets *dp to the
 * change of the probability of the right token. */
static double row_kld(const float *l, int32_t V, const uint16_t *base, int32_t tok, kld_acc *a, float *dp) {
    row_sm sm = row_softmax(l, V);
    float scale, min_lp;
    memcpy(&scale, base, sizeof scale);
    memcpy(&min_lp, base + 2, sizeof min_lp);
    const uint16_t *q = base + 4;
    const double norm = (double)sm.max + sm.lse; /* log p[v] = l[v] - norm */

    double nll = norm - (double)l[tok];
    double nll_base = -((double)scale * q[tok] + (double)min_lp);
    a->nll += nll;
    a->nll2 += nll * nll;
    a->nll_base += nll_base;
    a->nll_base2 += nll_base * nll_base;
    a->nll_nll_base += nll * nll_base;

    double sum = 0;
    int32_t top_base = 0;
    uint16_t q_top = q[0];
    for (int32_t v = 0; v < V; v++) {
        if (q[v] > q_top) {
            q_top = q[v];
            top_base = v;
        }
        double lpb = (double)scale * q[v] + (double)min_lp;
        if (lpb > -16) sum += exp(lpb) * (lpb - ((double)l[v] - norm));
    }
    a->kld += sum;
    a->kld2 += sum * sum;
    a->count++;
    if (top_base == sm.top) a->same_top++;

    double d = exp(-nll) - exp(-nll_base);
    a->dp += d;
    a->dp2 += d * d;
    a->dp4 += d * d * d * d;
    *dp = (float)d;
    return sum;
}

/* mean of the summed values and the standard error of that mean */
static void mean_err(double sum, double sum2, size_t n, double *mean, double *err) {
    *mean = n ? sum / (double)n : 0;
    double var = n ? sum2 / (double)n - *mean * *mean : 0;
    *err = var > 0 && n > 10 ? sqrt(var / (double)(n - 1)) : 0;
}

static double covariance(double sa, double sb, double sab, size_t n) {
    if (n < 10) return 0;
    double c = sab / (double)n - (sa / (double)n) * (sb / (double)n);
    return c / (double)(n - 1);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* value at fraction f of the sorted v[0..n), linearly interpolated */
static double percentile(const float *v, size_t n, double f) {
    if (f <= 0) return v[0];
    if (f >= 1) return v[n - 1];
    double p = f * (double)(n - 1);
    size_t i = (size_t)p;
    p -= (double)i;
    size_t j = i + 1 < n ? i + 1 : n - 1;
    return (1 - p) * v[i] + p * v[j];
}

static double median(const float *v, size_t n) {
    return n % 2 ? v[n / 2] : 0.5 * ((double)v[n / 2] + v[n / 2 - 1]);
}

/* ---- the base file ---------------------------------------------------------- */

typedef struct base_file {
    FILE *f;
    const char *path;
    uint32_t n_ctx;
    int32_t n_vocab, n_chunk;
    owl_token *tokens; /* (n_chunk * n_ctx) */
} base_file;

/* Reads and checks the header and tokens of a base file; the rows follow
 * at the file position it leaves. */
static int base_open(base_file *b, const char *path) {
    memset(b, 0, sizeof *b);
    b->path = path;
    b->f = fopen(path, "rb");
    if (!b->f) return cli_fail(CMD, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(b->f), &st) != 0) return cli_fail(CMD, "cannot stat '%s': %s", path, strerror(errno));
    char magic[8];
    uint32_t n_ctx;
    int32_t n_vocab, n_chunk;
    if (fread(magic, 1, 8, b->f) != 8 || memcmp(magic, "_logits_", 8))
        return cli_fail(CMD, "'%s' is not a KL-divergence base file (no \"_logits_\" magic)", path);
    if (fread(&n_ctx, 4, 1, b->f) != 1 || fread(&n_vocab, 4, 1, b->f) != 1 || fread(&n_chunk, 4, 1, b->f) != 1)
        return cli_fail(CMD, "'%s' is truncated: it ends inside its header", path);
    if (n_ctx < 4 || n_ctx > (1u << 24))
        return cli_fail(CMD, "'%s': context size %u is out of range [4, %u]", path, n_ctx, 1u << 24);
    if (n_vocab < 1 || n_vocab > (1 << 24))
        return cli_fail(CMD, "'%s': vocabulary size %d is out of range [1, %d]", path, n_vocab, 1 << 24);
    if (n_chunk < 1) return cli_fail(CMD, "'%s': %d chunks (at least 1 expected)", path, n_chunk);
    /* the size the header promises, in bytes; all factors < 2^31 here */
    double want = 20.0 + 4.0 * n_chunk * n_ctx +
                  2.0 * n_chunk * (double)(n_ctx - 1 - n_ctx / 2) * (double)row_u16(n_vocab);
    if ((double)st.st_size != want)
        return cli_fail(CMD, "'%s' is %s: %lld bytes, its header (n_ctx %u, n_vocab %d, %d chunks) says %.0f",
                        path, (double)st.st_size < want ? "truncated" : "too long", (long long)st.st_size, n_ctx,
                        n_vocab, n_chunk, want);
    size_t nt = (size_t)n_chunk * n_ctx;
    b->tokens = malloc(nt * sizeof *b->tokens);
    if (!b->tokens) return cli_fail(CMD, "out of memory reading '%s'", path);
    if (fread(b->tokens, sizeof *b->tokens, nt, b->f) != nt) return cli_fail(CMD, "cannot read '%s'", path);
    for (size_t i = 0; i < nt; i++)
        if (b->tokens[i] < 0 || b->tokens[i] >= n_vocab)
            return cli_fail(CMD, "'%s': token %zu is %d, out of the vocabulary [0, %d)", path, i, b->tokens[i],
                            n_vocab);
    /* every row's scale and floor, checked now rather than after hours of decoding */
    const long rows_at = ftell(b->f);
    const size_t n_rows = (size_t)n_chunk * (n_ctx - 1 - n_ctx / 2), row_bytes = 2 * row_u16(n_vocab);
    for (size_t i = 0; i < n_rows; i++) {
        float h[2];
        if (fseek(b->f, rows_at + (long)(i * row_bytes), SEEK_SET) != 0 || fread(h, sizeof h[0], 2, b->f) != 2)
            return cli_fail(CMD, "cannot read '%s'", path);
        if (!isfinite(h[0]) || h[0] < 0 || !isfinite(h[1]) || h[1] > 0)
            return cli_fail(CMD, "'%s': row %zu holds no log-probabilities (scale %g, floor %g)", path, i,
                            (double)h[0], (double)h[1]);
    }
    if (fseek(b->f, rows_at, SEEK_SET) != 0) return cli_fail(CMD, "cannot read '%s'", path);
    b->n_ctx = n_ctx;
    b->n_vocab = n_vocab;
    b->n_chunk = n_chunk;
    return 0;
}

static void base_close(base_file *b) {
    if (b->f) fclose(b->f);
    free(b->tokens);
    b->f = NULL;
    b->tokens = NULL;
}

/* ---- the run ------------------------------------------------------------------ */

typedef struct ppl_run {
    owl_model *model;
    owl_context *ctx;
    int32_t n_vocab;
    int32_t n_ctx, n_batch, n_seq;
    bool add_bos;
    owl_token bos;
    const owl_token *tokens; /* (n_chunk * n_ctx) */
    int32_t n_chunk;
    owl_token *b_token; /* (n_batch) */
    int32_t *b_pos, *b_seq;
    int8_t *b_logits;
} ppl_run;

/* Called for each scored row, in order of chunk and position: logits l
 * predict the token that follows position pos of chunk c. */
typedef int (*row_fn)(void *user, int32_t c, int32_t pos, const float *l);

/* Decodes chunks c0 .. c0+n_seq-1 (one sequence each) from an empty cache
 * and hands every scored row to fn. */
static int eval_chunks(ppl_run *r, int32_t c0, int32_t n_seq, row_fn fn, void *user) {
    const int32_t first = r->n_ctx / 2;
    owl_kv_seq_rm(r->ctx, -1, 0, -1);
    for (int32_t p0 = 0; p0 < r->n_ctx; p0 += r->n_batch) {
        int32_t len = r->n_ctx - p0 < r->n_batch ? r->n_ctx - p0 : r->n_batch;
        int32_t n = 0;
        for (int32_t s = 0; s < n_seq; s++) {
            const owl_token *t = r->tokens + (size_t)(c0 + s) * (size_t)r->n_ctx;
            for (int32_t k = 0; k < len; k++, n++) {
                int32_t pos = p0 + k;
                r->b_token[n] = pos == 0 && r->add_bos ? r->bos : t[pos];
                r->b_pos[n] = pos;
                r->b_seq[n] = s;
                r->b_logits[n] = pos >= first && pos <= r->n_ctx - 2;
            }
        }
        owl_batch b = {.n = n, .token = r->b_token, .pos = r->b_pos, .seq = r->b_seq, .logits = r->b_logits};
        if (owl_decode(r->ctx, &b) != OWL_OK) return cli_fail(CMD, "decode failed: %s", owl_last_error());
        for (int32_t i = 0; i < n; i++) {
            if (!r->b_logits[i]) continue;
            const float *l = owl_get_logits(r->ctx, i);
            if (!l) return cli_fail(CMD, "no logits for batch row %d", i);
            if (fn(user, c0 + r->b_seq[i], r->b_pos[i], l)) return 1;
        }
    }
    return 0;
}

static void print_eta(double t, int32_t n_pass) {
    fprintf(stderr, "owl " CMD ": %.2f seconds per pass - ETA %.2f minutes\n", t, t * n_pass / 60.0);
}

/* -- perplexity (and writing the base) -- */

typedef struct ppl_state {
    ppl_run *r;
    double nll, nll2;
    size_t count;
    FILE *out; /* base file being written, or NULL */
    uint16_t *packed; /* (row_u16) */
} ppl_state;

static int ppl_row(void *user, int32_t c, int32_t pos, const float *l) {
    ppl_state *st = user;
    ppl_run *r = st->r;
    owl_token next = r->tokens[(size_t)c * (size_t)r->n_ctx + (size_t)pos + 1];
    row_sm sm = row_softmax(l, r->n_vocab);
    double nll = (double)sm.max + sm.lse - (double)l[next];
    st->nll += nll;
    st->nll2 += nll * nll;
    st->count++;
    if (st->out) {
        row_pack(st->packed, l, r->n_vocab, &sm);
        if (fwrite(st->packed, sizeof *st->packed, row_u16(r->n_vocab), st->out) != row_u16(r->n_vocab))
            return cli_fail(CMD, "cannot write the base file: %s", strerror(errno));
    }
    if (pos == r->n_ctx - 2) { /* the chunk's last scored row */
        printf("[%d]%.4f,", c + 1, exp(st->nll / (double)st->count));
        fflush(stdout);
    }
    return 0;
}

static int run_perplexity(ppl_run *r, const char *base_path) {
    ppl_state st = {.r = r};
    int rc = 1;
    if (base_path) {
        st.out = fopen(base_path, "wb");
        if (!st.out) return cli_fail(CMD, "cannot create '%s': %s", base_path, strerror(errno));
        st.packed = malloc(row_u16(r->n_vocab) * sizeof *st.packed);
        uint32_t n_ctx = (uint32_t)r->n_ctx;
        size_t nt = (size_t)r->n_chunk * (size_t)r->n_ctx;
        if (!st.packed || fwrite("_logits_", 1, 8, st.out) != 8 || fwrite(&n_ctx, 4, 1, st.out) != 1 ||
            fwrite(&r->n_vocab, 4, 1, st.out) != 1 || fwrite(&r->n_chunk, 4, 1, st.out) != 1 ||
            fwrite(r->tokens, sizeof *r->tokens, nt, st.out) != nt) {
            cli_fail(CMD, "cannot write '%s': %s", base_path, st.packed ? strerror(errno) : "out of memory");
            goto out;
        }
        fprintf(stderr, "owl " CMD ": writing the log-probabilities to %s\n", base_path);
    }
    for (int32_t c = 0; c < r->n_chunk; c += r->n_seq) {
        int32_t n_seq = r->n_chunk - c < r->n_seq ? r->n_chunk - c : r->n_seq;
        double t0 = now_s();
        if (eval_chunks(r, c, n_seq, ppl_row, &st)) goto out;
        if (c == 0) print_eta(now_s() - t0, (r->n_chunk + r->n_seq - 1) / r->n_seq);
    }
    printf("\n");
    double mean = st.nll / (double)st.count, var = st.nll2 / (double)st.count - mean * mean;
    double ppl = exp(mean), err = var > 0 && st.count > 1 ? sqrt(var / (double)(st.count - 1)) * ppl : 0;
    printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, err);
    if (st.out) {
        FILE *f = st.out;
        st.out = NULL;
        if (fclose(f) != 0) {
            cli_fail(CMD, "cannot write '%s': %s", base_path, strerror(errno));
            goto out;
        }
    }
    rc = 0;
out:
    if (st.out) fclose(st.out);
    free(st.packed);
    return rc;
}

/* -- KL-divergence against a base -- */

typedef struct kld_state {
    ppl_run *r;
    base_file *base;
    uint16_t *rows; /* (n_score * row_u16) the base rows of the current chunk */
    kld_acc a;
    float *kld_v, *dp_v; /* (n_chunk * n_score) */
    size_t n_v;
} kld_state;

static int kld_row(void *user, int32_t c, int32_t pos, const float *l) {
    kld_state *st = user;
    ppl_run *r = st->r;
    const size_t nv = row_u16(r->n_vocab);
    const uint16_t *b = st->rows + (size_t)(pos - r->n_ctx / 2) * nv;
    float scale, min_lp;
    memcpy(&scale, b, sizeof scale);
    memcpy(&min_lp, b + 2, sizeof min_lp);
    if (!isfinite(scale) || scale < 0 || !isfinite(min_lp) || min_lp > 0) /* it changed since base_open */
        return cli_fail(CMD, "'%s': chunk %d, position %d holds no log-probabilities (scale %g, floor %g)",
                        st->base->path, c + 1, pos, (double)scale, (double)min_lp);
    owl_token next = r->tokens[(size_t)c * (size_t)r->n_ctx + (size_t)pos + 1];
    float dp;
    st->kld_v[st->n_v] = (float)row_kld(l, r->n_vocab, b, next, &st->a, &dp);
    st->dp_v[st->n_v++] = dp;
    return 0;
}

static void print_kld_chunk(int32_t c, const kld_acc *a) {
    double lp, lp_e, lb, lb_e, k, k_e, m, m_e;
    mean_err(a->nll, a->nll2, a->count, &lp, &lp_e);
    mean_err(a->nll_base, a->nll_base2, a->count, &lb, &lb_e);
    double cov = covariance(a->nll, a->nll_base, a->nll_nll_base, a->count);
    double ratio_e2 = lp_e * lp_e + lb_e * lb_e - 2 * cov;
    mean_err(a->kld, a->kld2, a->count, &k, &k_e);
    mean_err(a->dp2, a->dp4, a->count, &m, &m_e);
    double rms = sqrt(m), rms_e = rms > 0 ? 0.5 / rms * m_e : 0;
    double top = (double)a->same_top / (double)a->count;
    double top_e = a->count > 1 ? sqrt(top * (1 - top) / (double)(a->count - 1)) : 0;
    printf("%4d    %9.4f ± %9.4f    %10.5f ± %10.5f    %10.5f ± %10.5f    %6.3f ± %6.3f %%    %6.3f ± %6.3f %%\n",
           c + 1, exp(lp), exp(lp) * lp_e, lp - lb, ratio_e2 > 0 ? sqrt(ratio_e2) : 0, k, k_e, 100 * rms,
           100 * rms_e, 100 * top, 100 * top_e);
}

static void print_kld_stats(kld_state *st) {
    const kld_acc *a = &st->a;
    size_t n = st->n_v;
    qsort(st->kld_v, n, sizeof *st->kld_v, cmp_float);
    qsort(st->dp_v, n, sizeof *st->dp_v, cmp_float);

    double lp, lp_e, lb, lb_e;
    mean_err(a->nll, a->nll2, a->count, &lp, &lp_e);
    mean_err(a->nll_base, a->nll_base2, a->count, &lb, &lb_e);
    double ppl = exp(lp), ppl_e = ppl * lp_e, pb = exp(lb), pb_e = pb * lb_e;
    double cov = covariance(a->nll, a->nll_base, a->nll_nll_base, a->count);
    double r_e2 = lp_e * lp_e + lb_e * lb_e - 2 * cov, r_e = r_e2 > 0 ? sqrt(r_e2) : 0;
    double d_e2 = ppl_e * ppl_e + pb_e * pb_e - 2 * ppl * pb * cov;
    printf("\n====== Perplexity statistics ======\n");
    printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", ppl, ppl_e);
    printf("Mean PPL(base)                : %10.6f ± %10.6f\n", pb, pb_e);
    printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", lp_e > 0 && lb_e > 0 ? 100 * cov / (lp_e * lb_e) : 100.0);
    printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", lp - lb, r_e);
    printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", exp(lp - lb), exp(lp - lb) * r_e);
    printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", ppl - pb, d_e2 > 0 ? sqrt(d_e2) : 0);

    double k, k_e;
    mean_err(a->kld, a->kld2, a->count, &k, &k_e);
    const float *kv = st->kld_v;
    printf("\n====== KL divergence statistics ======\n");
    printf("Mean    KLD: %10.6f ± %10.6f\n", k, k_e);
    printf("Maximum KLD: %10.6f\n", (double)kv[n - 1]);
    printf("99.9%%   KLD: %10.6f\n", percentile(kv, n, 0.999));
    printf("99.0%%   KLD: %10.6f\n", percentile(kv, n, 0.990));
    printf("Median  KLD: %10.6f\n", median(kv, n));
    printf("10.0%%   KLD: %10.6f\n", percentile(kv, n, 0.100));
    printf(" 5.0%%   KLD: %10.6f\n", percentile(kv, n, 0.050));
    printf(" 1.0%%   KLD: %10.6f\n", percentile(kv, n, 0.010));
    printf("Minimum KLD: %10.6f\n", (double)kv[0]);

    double d, d_e, m, m_e;
    mean_err(a->dp, a->dp2, a->count, &d, &d_e);
    mean_err(a->dp2, a->dp4, a->count, &m, &m_e);
    const float *dv = st->dp_v;
    static const struct {
        const char *label;
        double f;
    } dp_pct[] = {{"99.9%  ", 0.999}, {"99.0%  ", 0.99}, {"95.0%  ", 0.95}, {"90.0%  ", 0.90},
                  {"75.0%  ", 0.75},  {NULL, 0.5},     {"25.0%  ", 0.25}, {"10.0%  ", 0.10},
                  {" 5.0%  ", 0.05},  {" 1.0%  ", 0.01}, {" 0.1%  ", 0.001}};
    printf("\n====== Token probability statistics ======\n");
    printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100 * d, 100 * d_e);
    printf("Maximum Δp: %6.3f%%\n", 100.0 * dv[n - 1]);
    for (size_t i = 0; i < sizeof dp_pct / sizeof dp_pct[0]; i++) {
        if (dp_pct[i].label)
            printf("%s Δp: %6.3f%%\n", dp_pct[i].label, 100 * percentile(dv, n, dp_pct[i].f));
        else
            printf("Median  Δp: %6.3f%%\n", 100 * median(dv, n));
    }
    printf("Minimum Δp: %6.3f%%\n", 100.0 * dv[0]);
    double rms = sqrt(m);
    printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100 * rms, rms > 0 ? 100 * 0.5 / rms * m_e : 0.0);
    double top = (double)a->same_top / (double)a->count;
    printf("Same top p: %6.3f ± %5.3f %%\n", 100 * top,
           a->count > 1 ? 100 * sqrt(top * (1 - top) / (double)(a->count - 1)) : 0.0);
}

static int run_kld(ppl_run *r, base_file *base) {
    const size_t n_score = (size_t)(r->n_ctx - 1 - r->n_ctx / 2), nv = row_u16(r->n_vocab);
    kld_state st = {.r = r, .base = base};
    int rc = 1;
    st.rows = malloc(n_score * nv * sizeof *st.rows);
    st.kld_v = malloc((size_t)r->n_chunk * n_score * sizeof *st.kld_v);
    st.dp_v = malloc((size_t)r->n_chunk * n_score * sizeof *st.dp_v);
    if (!st.rows || !st.kld_v || !st.dp_v) {
        cli_fail(CMD, "out of memory");
        goto out;
    }
    printf("chunk             PPL               ln(PPL(Q)/PPL(base))          KL Divergence              Δp RMS"
           "            Same top p\n");
    for (int32_t c = 0; c < r->n_chunk; c++) {
        if (fread(st.rows, sizeof *st.rows, n_score * nv, base->f) != n_score * nv) {
            cli_fail(CMD, "cannot read chunk %d of '%s'", c + 1, base->path);
            goto out;
        }
        double t0 = now_s();
        if (eval_chunks(r, c, 1, kld_row, &st)) goto out;
        if (c == 0) print_eta(now_s() - t0, r->n_chunk);
        print_kld_chunk(c, &st.a);
        fflush(stdout);
    }
    print_kld_stats(&st);
    rc = 0;
out:
    free(st.rows);
    free(st.kld_v);
    free(st.dp_v);
    return rc;
}

/* ---- main ------------------------------------------------------------------------ */

int cmd_perplexity(int argc, char **argv) {
    const char *model_arg = NULL, *text_path = NULL, *base_path = NULL;
    int32_t n_ctx = 512, n_batch = 2048, n_chunks = -1, n_threads = 0;
    bool exact = false, kld = false;
    const arg_opt opts[] = {
        {"-m", "--model", ARG_STR, &model_arg, 0, 0, "FILE", "the model (GGUF or a model folder)"},
        {"-f", "--file", ARG_STR, &text_path, 0, 0, "FILE", "the text (- for stdin)"},
        {"-c", "--ctx-size", ARG_INT, &n_ctx, 4, 1 << 24, "N", "tokens per chunk; the second half is scored"},
        {"-b", "--batch-size", ARG_INT, &n_batch, 1, 1 << 24, "N",
         "most tokens decoded at once; a multiple of -c puts that many chunks in one batch"},
        {NULL, "--chunks", ARG_INT, &n_chunks, -1, INT32_MAX, "N", "most chunks to score, -1 = all"},
        {"-t", "--threads", ARG_INT, &n_threads, 0, 1024, "N", "threads, 0 = every CPU this process may use"},
        {NULL, "--exact", ARG_FLAG, &exact, 0, 0, NULL,
         "fp32 reference path (slow): dequantized weights, f32 KV cache"},
        {NULL, "--kl-divergence-base", ARG_STR, &base_path, 0, 0, "FILE",
         "write the log-probabilities to FILE (read them with --kl-divergence)"},
        {NULL, "--kl-divergence", ARG_FLAG, &kld, 0, 0, NULL,
         "compare with the base in --kl-divergence-base FILE instead of writing it"},
    };
    enum { N_OPTS = sizeof opts / sizeof opts[0] };
    bool given[N_OPTS] = {0};
    int n_pos = 0;
    int ra = args_parse_given(&ppl_cmd, opts, N_OPTS, argc, argv, NULL, 0, &n_pos, given);
    if (ra != ARGS_OK) return ra == ARGS_HELP ? 0 : 1;
    if (!model_arg) return cli_fail(CMD, "no model given (-m FILE)");
    if (kld && !base_path) return cli_fail(CMD, "--kl-divergence needs the base: --kl-divergence-base FILE");
    if (!kld && !text_path) return cli_fail(CMD, "no text given (-f FILE)");

    int rc = 1;
    base_file base = {0};
    char *text = NULL;
    size_t text_len = 0;
    owl_token *tokens = NULL, *pre = NULL;
    ppl_run r = {0};

    if (kld) {
        if (base_open(&base, base_path)) goto out;
        bool c_given = false;
        for (size_t k = 0; k < N_OPTS; k++) c_given |= given[k] && opts[k].dst == &n_ctx;
        if (c_given && (uint32_t)n_ctx != base.n_ctx) {
            cli_fail(CMD, "-c %d differs from the context size of '%s' (%u); leave -c out", n_ctx, base_path,
                     base.n_ctx);
            goto out;
        }
        n_ctx = (int32_t)base.n_ctx;
    } else {
        if (!(text = cli_read_file(CMD, text_path, &text_len))) goto out;
        if (text_len && text[text_len - 1] == '\n') text_len--; /* as llama.cpp reads -f */
        if (!text_len) {
            cli_fail(CMD, "'%s' is empty: there is no text to score", text_path);
            goto out;
        }
    }

    char cached[4096];
    const char *path = cli_model_path(CMD, model_arg, cached, sizeof cached);
    if (!path) goto out;
    owl_model_params mp = owl_model_default_params();
    mp.no_repack = exact; /* the exact path never reads the tiles */
    if (owl_model_load(path, &mp, &r.model) != OWL_OK) {
        cli_fail(CMD, "%s", owl_last_error());
        goto out;
    }
    r.n_vocab = owl_n_vocab(r.model);
    r.bos = owl_token_bos(r.model);
    /* does the model add BOS (and nothing else)? tokenizing no text shows it */
    size_t n_pre = 0;
    if (owl_tokenize(r.model, "", 0, true, false, &pre, &n_pre) != OWL_OK) {
        cli_fail(CMD, "cannot tokenize: %s", owl_last_error());
        goto out;
    }
    for (size_t i = 0; i < n_pre; i++)
        if (pre[i] != r.bos) {
            cli_fail(CMD, "the model's tokenizer adds token %d besides BOS around every text; llama-perplexity "
                          "refuses such models too", pre[i]);
            goto out;
        }
    r.add_bos = n_pre > 0 && r.bos >= 0;

    size_t n_tok = 0;
    if (kld) {
        if (base.n_vocab != r.n_vocab) {
            cli_fail(CMD, "'%s' was made with a vocabulary of %d tokens, the model has %d", base_path, base.n_vocab,
                     r.n_vocab);
            goto out;
        }
        r.tokens = base.tokens;
        r.n_chunk = base.n_chunk;
    } else {
        if (owl_tokenize(r.model, text, text_len, true, false, &tokens, &n_tok) != OWL_OK) {
            cli_fail(CMD, "cannot tokenize '%s': %s", text_path, owl_last_error());
            goto out;
        }
        if (n_tok < 2 * (size_t)n_ctx) {
            cli_fail(CMD, "'%s' has only %zu tokens; -c %d needs at least %d (two chunks)", text_path, n_tok, n_ctx,
                     2 * n_ctx);
            goto out;
        }
        r.tokens = tokens;
        r.n_chunk = (int32_t)(n_tok / (size_t)n_ctx);
    }
    if (n_chunks >= 0 && n_chunks < r.n_chunk) r.n_chunk = n_chunks;
    if (r.n_chunk < 1) {
        cli_fail(CMD, "--chunks 0: nothing to score");
        goto out;
    }
    r.n_ctx = n_ctx;
    if (kld) {
        r.n_seq = 1;
        r.n_batch = n_batch < n_ctx ? n_batch : n_ctx;
    } else {
        if (n_batch > n_ctx && n_batch % n_ctx) {
            cli_fail(CMD, "-b %d must be below -c %d or a multiple of it", n_batch, n_ctx);
            goto out;
        }
        r.n_seq = n_batch / n_ctx > 1 ? n_batch / n_ctx : 1;
        if (r.n_seq > r.n_chunk) r.n_seq = r.n_chunk;
        r.n_batch = n_batch < n_ctx * r.n_seq ? n_batch : n_ctx * r.n_seq;
    }

    owl_context_params cp = owl_context_default_params();
    cp.n_ctx = (uint32_t)(n_ctx * r.n_seq);
    cp.n_batch = (uint32_t)r.n_batch;
    cp.n_seq_max = (uint32_t)r.n_seq;
    cp.n_threads = n_threads;
    cp.exact = exact;
    if (owl_context_new(r.model, &cp, &r.ctx) != OWL_OK) {
        cli_fail(CMD, "cannot create the context: %s", owl_last_error());
        goto out;
    }
    size_t nb = (size_t)r.n_batch;
    r.b_token = malloc(nb * sizeof *r.b_token);
    r.b_pos = malloc(nb * sizeof *r.b_pos);
    r.b_seq = malloc(nb * sizeof *r.b_seq);
    r.b_logits = malloc(nb * sizeof *r.b_logits);
    if (!r.b_token || !r.b_pos || !r.b_seq || !r.b_logits) {
        cli_fail(CMD, "out of memory");
        goto out;
    }
    owl_model_info mi;
    owl_model_get_info(r.model, &mi);
    if (n_ctx > mi.n_ctx_train)
        fprintf(stderr, "owl " CMD ": warning: the model was trained on %d tokens of context, -c is %d\n",
                mi.n_ctx_train, n_ctx);
    if (kld)
        fprintf(stderr, "owl " CMD ": %d chunks of %d tokens from %s, %s path\n", r.n_chunk, n_ctx, base_path,
                exact ? "exact" : "default");
    else
        fprintf(stderr, "owl " CMD ": %zu tokens; %d chunks, n_ctx=%d, batch_size=%d, n_seq=%d, %s path\n", n_tok,
                r.n_chunk, n_ctx, r.n_batch, r.n_seq, exact ? "exact" : "default");
    rc = kld ? run_kld(&r, &base) : run_perplexity(&r, base_path);
out:
    free(r.b_token);
    free(r.b_pos);
    free(r.b_seq);
    free(r.b_logits);
    owl_context_free(r.ctx);
    owl_free(pre);
    owl_free(tokens);
    owl_model_free(r.model);
    base_close(&base);
    free(text);
    return rc;
}
