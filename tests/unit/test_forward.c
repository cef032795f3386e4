/* test_forward.c — the forward pass agrees with itself however a batch is
 * cut, on the real SmolLM2-135M (env OWL_SMOLLM2):
 *   - a prompt decoded as one batch gives the logits of the same prompt
 *     decoded token by token (within 1e-4 x max|logit|, same argmax);
 *   - two sequences interleaved in one batch give the logits each gives
 *     alone;
 *   - forgetting positions with owl_kv_seq_rm and decoding them again
 *     reproduces their logits;
 *   - a full cache refuses a batch with OWL_ERR_FULL and stays usable;
 *   - bad batches are refused with a message naming the row.
 * And on a tiny llama written by tests/gguf_builder.h: loading names the
 * missing tensor, the wrong shape, the unknown architecture, a bad
 * rope_freqs.weight; and its q/k/v/output biases act as biases must. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gguf_builder.h"
#include "owl.h"

/* "The capital of France is Paris. The quick brown fox jumps over" in
 * SmolLM2's vocabulary */
static const owl_token prompt[] = {504, 3575, 282, 4649, 314, 7042, 30, 378, 2365, 6354, 16438, 27003};
enum { P = sizeof prompt / sizeof prompt[0] };

static int32_t V;
static bool exact; /* which path the contexts run */

/* Largest |a - b| over the row, relative to max |b|; *same_arg: equal argmax. */
static double row_diff(const float *a, const float *b, bool *same_arg) {
    double d = 0, m = 0;
    int32_t ia = 0, ib = 0;
    for (int32_t v = 0; v < V; v++) {
        d = fmax(d, fabs((double)a[v] - b[v]));
        m = fmax(m, fabs((double)b[v]));
        if (a[v] > a[ia]) ia = v;
        if (b[v] > b[ib]) ib = v;
    }
    *same_arg = ia == ib;
    return d / (m > 0 ? m : 1);
}

static owl_context *new_ctx(owl_model *m, uint32_t n_ctx, uint32_t n_seq) {
    owl_context_params cp = owl_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_seq_max = n_seq;
    cp.n_batch = 64;
    cp.exact = exact;
    owl_context *ctx = NULL;
    owl_status s = owl_context_new(m, &cp, &ctx);
    CHECK(s == OWL_OK, "owl_context_new: %s", owl_last_error());
    return ctx;
}

/* Decodes tok[0..n) of sequence seq at positions p0.. one by one, storing
 * each row's logits into out(n, V). */
static bool decode_one_by_one(owl_context *ctx, const owl_token *tok, int n, int32_t seq, int32_t p0,
                              float *out) {
    for (int i = 0; i < n; i++) {
        int32_t pos = p0 + i;
        owl_batch b = {1, &tok[i], &pos, &seq, NULL};
        if (owl_decode(ctx, &b) != OWL_OK) {
            CHECK(0, "decode token %d: %s", i, owl_last_error());
            return false;
        }
        memcpy(out + (size_t)i * V, owl_get_logits(ctx, 0), sizeof(float) * (size_t)V);
    }
    return true;
}

static void compare_rows(const char *what, const float *got, const float *want, int n) {
    double worst = 0;
    int wrong_arg = 0;
    for (int i = 0; i < n; i++) {
        bool same;
        worst = fmax(worst, row_diff(got + (size_t)i * V, want + (size_t)i * V, &same));
        wrong_arg += !same;
    }
    printf("%s (%s): max diff %.2e of max|logit|, %d argmax differ\n", what, exact ? "exact" : "default",
           worst, wrong_arg);
    CHECK(worst <= 1e-4 && wrong_arg == 0, "%s (%s): max diff %g x max|logit|, %d rows with another argmax",
          what, exact ? "exact" : "default", worst, wrong_arg);
}

static void test_smollm2(const char *path) {
    owl_model *m = NULL;
    if (owl_model_load(path, NULL, &m) != OWL_OK) {
        CHECK(0, "load %s: %s", path, owl_last_error());
        return;
    }
    owl_model_info info;
    owl_model_get_info(m, &info);
    CHECK(!strcmp(info.arch, "llama") && info.n_layer == 30 && info.n_head == 9 && info.n_head_kv == 3 &&
              info.head_dim == 64 && info.n_embd == 576 && info.n_ff == 1536 && info.tied_output,
          "SmolLM2 hyperparameters read wrong: %s L%d H%d/%d D%d C%d F%d tied %d", info.arch,
          info.n_layer, info.n_head, info.n_head_kv, info.head_dim, info.n_embd, info.n_ff, info.tied_output);
    V = info.n_vocab;
    float *ref = malloc(sizeof(float) * (size_t)V * P), *got = malloc(sizeof(float) * (size_t)V * P);

    /* 1. token by token, then the whole prompt as one batch */
    owl_context *ctx = new_ctx(m, 64, 2);
    if (!ctx) goto out;
    decode_one_by_one(ctx, prompt, P, 0, 0, ref);
    CHECK(owl_kv_seq_pos_max(ctx, 0) == P - 1, "pos max after the prompt: %d", owl_kv_seq_pos_max(ctx, 0));
    owl_kv_seq_rm(ctx, 0, 0, -1);
    CHECK(owl_kv_seq_pos_max(ctx, 0) == -1, "the cache should be empty after rm");
    int32_t pos[P], seq[2 * P];
    int8_t want[2 * P];
    for (int i = 0; i < P; i++) pos[i] = i, seq[i] = 0, want[i] = 1;
    owl_batch b = {P, prompt, pos, seq, want};
    CHECK(owl_decode(ctx, &b) == OWL_OK, "batch decode: %s", owl_last_error());
    for (int i = 0; i < P; i++) {
        const float *l = owl_get_logits(ctx, i);
        CHECK(l != NULL, "no logits for row %d", i);
        if (l) memcpy(got + (size_t)i * V, l, sizeof(float) * (size_t)V);
    }
    compare_rows("one batch vs token by token", got, ref, P);

    /* 2. forget positions [7, P) and decode them again as a batch */
    owl_kv_seq_rm(ctx, 0, 7, -1);
    CHECK(owl_kv_seq_pos_max(ctx, 0) == 6, "pos max after rm [7, end): %d", owl_kv_seq_pos_max(ctx, 0));
    owl_batch b2 = {P - 7, prompt + 7, pos + 7, seq, NULL}; /* logits NULL: last row only */
    CHECK(owl_decode(ctx, &b2) == OWL_OK, "re-decode: %s", owl_last_error());
    CHECK(owl_get_logits(ctx, 0) == NULL && owl_get_logits(ctx, P - 8) != NULL,
          "logits == NULL must give the last row only");
    if (owl_get_logits(ctx, P - 8)) compare_rows("seq_rm then re-decode", owl_get_logits(ctx, P - 8), ref + (size_t)(P - 1) * V, 1);

    /* 3. two sequences interleaved in one batch: seq 0 = prompt[0..8),
     * seq 1 = prompt[4..10) (another text at its own positions) */
    owl_kv_seq_rm(ctx, -1, 0, -1);
    enum { NA = 8, NB = 6 };
    owl_token tok2[NA + NB];
    int32_t pos2[NA + NB];
    int n2 = 0;
    for (int i = 0; i < NA || i < NB; i++) {
        if (i < NA) tok2[n2] = prompt[i], pos2[n2] = i, seq[n2] = 0, want[n2++] = 1;
        if (i < NB) tok2[n2] = prompt[4 + i], pos2[n2] = i, seq[n2] = 1, want[n2++] = 1;
    }
    owl_batch b3 = {n2, tok2, pos2, seq, want};
    CHECK(owl_decode(ctx, &b3) == OWL_OK, "two-sequence batch: %s", owl_last_error());
    float *alone = malloc(sizeof(float) * (size_t)V * NB);
    owl_context *c1 = new_ctx(m, 64, 1);
    if (c1) {
        /* seq 0 alone is rows 0..NA of the token-by-token reference */
        double worst = 0;
        int wrong = 0;
        for (int r = 0; r < n2; r++) {
            bool same;
            const float *l = owl_get_logits(ctx, r);
            if (seq[r] == 0) {
                worst = fmax(worst, row_diff(l, ref + (size_t)pos2[r] * V, &same));
                wrong += !same;
            }
        }
        printf("seq 0 inside a two-sequence batch vs alone: max diff %.2e\n", worst);
        CHECK(worst <= 1e-4 && wrong == 0, "seq 0 of a two-sequence batch differs from alone: %g, %d argmax", worst, wrong);
        decode_one_by_one(c1, prompt + 4, NB, 0, 0, alone);
        worst = 0;
        wrong = 0;
        for (int r = 0; r < n2; r++) {
            bool same;
            if (seq[r] != 1) continue;
            worst = fmax(worst, row_diff(owl_get_logits(ctx, r), alone + (size_t)pos2[r] * V, &same));
            wrong += !same;
        }
        printf("seq 1 inside a two-sequence batch vs alone: max diff %.2e\n", worst);
        CHECK(worst <= 1e-4 && wrong == 0, "seq 1 of a two-sequence batch differs from alone: %g, %d argmax", worst, wrong);
        CHECK(owl_kv_seq_pos_max(ctx, 0) == NA - 1 && owl_kv_seq_pos_max(ctx, 1) == NB - 1,
              "pos max per sequence: %d %d", owl_kv_seq_pos_max(ctx, 0), owl_kv_seq_pos_max(ctx, 1));
        owl_context_free(c1);
    }
    free(alone);

    /* 4. bad batches: refused with the row named, the cache unchanged */
    {
        int32_t pmax0 = owl_kv_seq_pos_max(ctx, 0);
        owl_token bad_tok[2] = {1, V};
        int32_t bp[2] = {NA, NA + 1}, bs[2] = {0, 0};
        owl_batch bb = {2, bad_tok, bp, bs, NULL};
        CHECK(owl_decode(ctx, &bb) == OWL_ERR_ARG && strstr(owl_last_error(), "row 1") &&
                  strstr(owl_last_error(), "out of range"),
              "a token id >= n_vocab: %s", owl_last_error());
        bad_tok[1] = 1;
        bs[0] = 2;
        CHECK(owl_decode(ctx, &bb) == OWL_ERR_ARG && strstr(owl_last_error(), "sequence id 2"),
              "a sequence id >= n_seq_max: %s", owl_last_error());
        bs[0] = 0;
        bp[0] = -1;
        CHECK(owl_decode(ctx, &bb) == OWL_ERR_ARG && strstr(owl_last_error(), "negative"),
              "a negative position: %s", owl_last_error());
        bb.n = 0;
        CHECK(owl_decode(ctx, &bb) == OWL_ERR_ARG, "an empty batch");
        bb.n = 65;
        CHECK(owl_decode(ctx, &bb) == OWL_ERR_ARG && strstr(owl_last_error(), "n_batch"),
              "more rows than n_batch: %s", owl_last_error());
        CHECK(owl_kv_seq_pos_max(ctx, 0) == pmax0, "a refused batch changed the cache");
    }
    owl_context_free(ctx);

    /* 5. a full cache: 16 cells, 12 used, 5 more refused, 4 more fit and
     * give the logits of an unconstrained run */
    ctx = new_ctx(m, 16, 1);
    if (ctx) {
        owl_batch bf = {P, prompt, pos, seq, NULL};
        for (int i = 0; i < P; i++) seq[i] = 0;
        CHECK(owl_decode(ctx, &bf) == OWL_OK, "12 of 16: %s", owl_last_error());
        CHECK(owl_context_n_ctx(ctx) == 16, "n_ctx %u", owl_context_n_ctx(ctx));
        int32_t p5[5] = {12, 13, 14, 15, 16};
        owl_token t5[5] = {1, 2, 3, 4, 5};
        owl_batch b5 = {5, t5, p5, seq, NULL};
        CHECK(owl_decode(ctx, &b5) == OWL_ERR_FULL, "5 tokens into 4 free cells must give OWL_ERR_FULL");
        CHECK(owl_kv_seq_pos_max(ctx, 0) == P - 1, "OWL_ERR_FULL changed the cache");
        CHECK(owl_get_logits(ctx, P - 1) != NULL, "logits of the last good decode stay after a refused one");
        if (owl_get_logits(ctx, P - 1))
            compare_rows("after OWL_ERR_FULL, last good logits", owl_get_logits(ctx, P - 1), ref + (size_t)(P - 1) * V, 1);
        b5.n = 4;
        CHECK(owl_decode(ctx, &b5) == OWL_OK, "4 tokens into 4 free cells: %s", owl_last_error());
        owl_context_free(ctx);
    }
out:
    free(ref);
    free(got);
    owl_model_free(m);
}

/* Loads a tiny llama built in memory after `tweak`; returns the status. */
static owl_status load_tiny(const char *dir, gb_file *f, char *path, size_t cap) {
    gb_buf b = gb_serialize(f);
    snprintf(path, cap, "%s/engine_tiny.gguf", dir);
    int w = gb_write(path, b.p, b.n);
    free(b.p);
    free(f->kv.p);
    if (w != 0) return OWL_ERR_IO;
    owl_model *m = NULL;
    owl_status s = owl_model_load(path, NULL, &m);
    owl_model_free(m);
    return s;
}

static void test_tiny_errors(const char *dir) {
    gb_file f;
    char path[1024];
    gb_tiny_llama(&f, NULL);
    owl_status s = load_tiny(dir, &f, path, sizeof path);
    CHECK(s == OWL_OK, "the tiny llama must load: %s", owl_last_error());

    gb_tiny_llama(&f, "blk.0.attn_q.weight");
    s = load_tiny(dir, &f, path, sizeof path);
    CHECK(s == OWL_ERR_FORMAT && strstr(owl_last_error(), "tensor 'blk.0.attn_q.weight' is missing"),
          "missing tensor: %s", owl_last_error());

    gb_tiny_llama(&f, "blk.0.attn_k.weight");
    gb_tensor_add(&f, "blk.0.attn_k.weight", GB_N_EMBD, GB_N_EMBD, gb_weights); /* expects [8, 4] */
    s = load_tiny(dir, &f, path, sizeof path);
    CHECK(s == OWL_ERR_FORMAT && strstr(owl_last_error(), "'blk.0.attn_k.weight'") &&
              strstr(owl_last_error(), "[8, 8, 1, 1], expected [8, 4]"),
          "wrong shape: %s", owl_last_error());

    /* llama 3's rope_freqs.weight: n_rot/2 positive divisors (tiny llama: D 4) */
    static const float freqs_ok[2] = {1.0f, 8.0f}, freqs_bad[3] = {1.0f, 2.0f, 3.0f}, freqs_neg[2] = {1.0f, -1.0f};
    gb_tiny_llama(&f, NULL);
    gb_tensor_add(&f, "rope_freqs.weight", 2, 0, freqs_ok);
    s = load_tiny(dir, &f, path, sizeof path);
    CHECK(s == OWL_OK, "rope_freqs of 2: %s", owl_last_error());
    gb_tiny_llama(&f, NULL);
    gb_tensor_add(&f, "rope_freqs.weight", 3, 0, freqs_bad);
    s = load_tiny(dir, &f, path, sizeof path);
    CHECK(s == OWL_ERR_FORMAT && strstr(owl_last_error(), "'rope_freqs.weight'") && strstr(owl_last_error(), "expected [2]"),
          "rope_freqs of 3: %s", owl_last_error());
    gb_tiny_llama(&f, NULL);
    gb_tensor_add(&f, "rope_freqs.weight", 2, 0, freqs_neg);
    s = load_tiny(dir, &f, path, sizeof path);
    CHECK(s == OWL_ERR_FORMAT && strstr(owl_last_error(), "rope_freqs.weight[1]"), "negative rope_freqs: %s",
          owl_last_error());

    /* a mixture of experts is refused by name */
    gb_tiny_llama(&f, NULL);
    gb_kv_u32(&f, "llama.expert_count", 8);
    s = load_tiny(dir, &f, path, sizeof path);
    CHECK(s == OWL_ERR_UNSUPPORTED && strstr(owl_last_error(), "expert_count = 8"), "MoE: %s", owl_last_error());

    /* general.architecture = "mamba" (same length, patched in the metadata) */
    gb_tiny_llama(&f, NULL);
    for (size_t i = 0; i + 13 <= f.kv.n; i++)
        if (!memcmp(f.kv.p + i, "\x05\0\0\0\0\0\0\0llama", 13)) {
            memcpy(f.kv.p + i + 8, "mamba", 5);
            break;
        }
    s = load_tiny(dir, &f, path, sizeof path);
    CHECK(s == OWL_ERR_UNSUPPORTED && strstr(owl_last_error(), "'mamba'") && strstr(owl_last_error(), "llama"),
          "unknown architecture: %s", owl_last_error());

    /* vocab_only: no weights needed, no context possible */
    gb_tiny_llama(&f, "blk.0.ffn_down.weight");
    gb_buf b = gb_serialize(&f);
    free(f.kv.p);
    gb_write(path, b.p, b.n);
    free(b.p);
    owl_model_params mp = owl_model_default_params();
    mp.vocab_only = true;
    owl_model *m = NULL;
    s = owl_model_load(path, &mp, &m);
    CHECK(s == OWL_OK, "vocab_only ignores weights: %s", owl_last_error());
    owl_context *ctx = NULL;
    if (m) CHECK(owl_context_new(m, NULL, &ctx) == OWL_ERR_ARG && !ctx, "a vocab_only model cannot run");
    owl_model_free(m);
    remove(path);
}

/* Loads a tiny llama from f (consumed) and decodes 5 tokens on the exact
 * path; out(5, GB_N_VOCAB) gets the logits. */
static bool tiny_logits(const char *dir, gb_file *f, float *out) {
    char path[1024];
    gb_buf b = gb_serialize(f);
    snprintf(path, sizeof path, "%s/engine_tiny_bias.gguf", dir);
    int wr = gb_write(path, b.p, b.n);
    free(b.p);
    free(f->kv.p);
    owl_model *m = NULL;
    if (wr != 0 || owl_model_load(path, NULL, &m) != OWL_OK) {
        CHECK(0, "tiny llama with biases: %s", owl_last_error());
        return false;
    }
    owl_context_params cp = owl_context_default_params();
    cp.exact = true;
    cp.n_ctx = 16;
    owl_context *ctx = NULL;
    bool ok = owl_context_new(m, &cp, &ctx) == OWL_OK;
    const owl_token tok[5] = {72, 101, 108, 108, 111};
    const int32_t pos[5] = {0, 1, 2, 3, 4}, seq[5] = {0};
    const int8_t want[5] = {1, 1, 1, 1, 1};
    owl_batch bt = {5, tok, pos, seq, want};
    ok = ok && owl_decode(ctx, &bt) == OWL_OK;
    for (int i = 0; ok && i < 5; i++) memcpy(out + i * GB_N_VOCAB, owl_get_logits(ctx, i), sizeof(float) * GB_N_VOCAB);
    CHECK(ok, "tiny llama decode: %s", owl_last_error());
    owl_context_free(ctx);
    owl_model_free(m);
    remove(path);
    return ok;
}

/* A bias c on v shifts every head's attention output by c (the softmax
 * weights sum to 1), which is the same as a bias Wo·[c, c] on the output
 * projection: two files, one logits. And a bias that is ignored would make
 * either equal to the model without biases. */
static void test_tiny_biases(const char *dir) {
    enum { C = GB_N_EMBD, KD = GB_N_EMBD / 2 };
    static float bv[KD] = {0.5f, -0.25f, 0.75f, 0.125f}, bo[C];
    const float *wo = gb_weights; /* the builder gives every tensor these values: (C, C) */
    for (int i = 0; i < C; i++) {
        bo[i] = 0;
        for (int j = 0; j < C; j++) bo[i] += wo[i * C + j] * bv[j % KD];
    }
    static float a[5 * GB_N_VOCAB], b[5 * GB_N_VOCAB], none[5 * GB_N_VOCAB];
    gb_file f;
    gb_tiny_llama(&f, NULL);
    gb_tensor_add(&f, "blk.0.attn_v.bias", KD, 0, bv);
    if (!tiny_logits(dir, &f, a)) return;
    gb_tiny_llama(&f, NULL);
    gb_tensor_add(&f, "blk.0.attn_output.bias", C, 0, bo);
    if (!tiny_logits(dir, &f, b)) return;
    gb_tiny_llama(&f, NULL);
    if (!tiny_logits(dir, &f, none)) return;
    double d_ab = 0, d_none = 0, mx = 0;
    for (int i = 0; i < 5 * GB_N_VOCAB; i++) {
        d_ab = fmax(d_ab, fabs(a[i] - b[i]));
        d_none = fmax(d_none, fabs(a[i] - none[i]));
        mx = fmax(mx, fabs(a[i]));
    }
    CHECK(d_ab <= 1e-4 * mx, "a v bias and the equivalent output bias differ by %g (max |logit| %g)", d_ab, mx);
    CHECK(d_none > 1e-2 * mx, "the biases changed nothing (%g)", d_none);
    /* MLP biases are refused, not dropped */
    gb_tiny_llama(&f, NULL);
    gb_tensor_add(&f, "blk.0.ffn_up.bias", GB_N_FF, 0, gb_weights);
    char path[1024];
    owl_status s = load_tiny(dir, &f, path, sizeof path);
    CHECK(s == OWL_ERR_UNSUPPORTED && strstr(owl_last_error(), "ffn_up.bias"), "MLP bias: %s", owl_last_error());
}

int main(void) {
    test_tiny_errors(check_env("OWL_TMP"));
    test_tiny_biases(check_env("OWL_TMP"));
    const char *model = check_env("OWL_SMOLLM2");
    exact = true;
    test_smollm2(model);
    exact = false;
    test_smollm2(model);
    return check_done();
}
