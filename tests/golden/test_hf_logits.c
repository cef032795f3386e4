/* test_hf_logits.c — owl's logits against transformers' on Hugging Face
 * model folders (config.json + safetensors + tokenizer.json), loaded by
 * owl_model_load(DIR).
 *
 * Models (tests/fixtures/hf/, made by scripts/reference/make_hf_models.py):
 * llama (sharded over 4 files with model.safetensors.index.json, untied,
 * llama3 rope scaling), mistral (sliding window 16 < 64 tokens, dynamic
 * NTK rope: one batch only, see skip_one_by_one), qwen2
 * (q/k/v biases, tied, linear rope scaling, BF16 weights), qwen3 (q/k
 * norm, head_dim 32 != hidden/heads, yarn rope scaling) and llama-fp8 (F8_E4M3 weights with
 * 32x32-block weight_scale_inv, dequantized at load).
 *
 * And SmolLM2-135M-Instruct (env OWL_SMOLLM2) as HF folders in F32 and
 * BF16, which this test writes under OWL_TMP from the GGUF with owl's own
 * code (no Python at test time): every tensor dequantized, attn_q/attn_k
 * rows permuted back from llama.cpp's rope order to HF's (GGUF row
 * h*D + 2i + j holds HF row h*D + j*D/2 + i), stored by safetensors_write
 * as F32 or rounded to BF16, with a config.json from the GGUF's llama.* keys
 * and the tokenizer files of tests/fixtures/tokenizer/smollm2-hf. The F32
 * folder is compared with smollm2-135m-instruct-q4_1.logits (transformers
 * on the same dequantized weights), the BF16 one with
 * hf-smollm2-135m-bf16.logits (the same, each weight rounded to bf16).
 *
 * Criteria as test_logits.c (whose fixture format and comparison this
 * reuses): five sequences of 64 tokens per model, owl's exact path as one
 * batch and the first sequence token by token; every row within
 * max |owl - ref| <= 1e-3 x max |ref| and with the same argmax. The
 * reference is transformers in float64 on the folder's weights. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "base/f16.h"
#include "io/gguf.h"
#include "io/safetensors_write.h"
#include "owl.h"
#include "tensor/dtype.h"

#include "logits_fixture.h"

/* Dynamic NTK RoPE (the mistral folder) raises theta with the longest
 * position of a forward, in transformers and in owl: keys cached by earlier
 * token-by-token steps were rotated with another theta than a full forward
 * uses, so only the one-batch path can match the reference there. */
static bool skip_one_by_one;

static void test_model(const char *label, const char *model_path, const char *fixture_path) {
    printf("%s: %s\n", label, model_path);
    fixture f;
    bool have = fixture_read(fixture_path, &f);
    CHECK(have, "%s: fixture %s", label, fixture_path);
    if (!have) return;
    owl_model_params mp = owl_model_default_params();
    owl_model *m = NULL;
    owl_status st = owl_model_load(model_path, &mp, &m);
    CHECK(st == OWL_OK, "%s: owl_model_load: %s", label, owl_last_error());
    if (st != OWL_OK) {
        fixture_free(&f);
        return;
    }
    owl_model_info info;
    owl_model_get_info(m, &info);
    CHECK(info.n_vocab == (int32_t)f.n_vocab, "%s: n_vocab %d, fixture %u", label, info.n_vocab,
          f.n_vocab);
    if (info.n_vocab != (int32_t)f.n_vocab) goto done;

    owl_context *exact = new_ctx(m, f.n_tok, true);
    owl_context *fast = new_ctx(m, f.n_tok, false);
    tally all = {0}, all_fast = {0};
    for (uint32_t s = 0; exact && s < f.n_seq; s++) {
        tally t = {0};
        run_batch(exact, &f, s, true, "exact, one batch", &t);
        print_tally("exact, one batch", s, &f, &t);
        tally_merge(&all, &t);
    }
    if (exact && !skip_one_by_one) {
        tally t = {0};
        run_one_by_one(exact, &f, 0, "exact, token by token", &t);
        print_tally("exact, token by token", 0, &f, &t);
        tally_merge(&all, &t);
    }
    for (uint32_t s = 0; fast && s < f.n_seq; s++) {
        tally t = {0};
        run_batch(fast, &f, s, false, "default (not checked)", &t);
        print_tally("default (not checked)", s, &f, &t);
        tally_merge(&all_fast, &t);
    }
    printf("%s: exact path max|diff|/max|logit| %.2e (top-1 %.1e), argmax equal %d/%d rows; "
           "default path %.2e (top-1 %.1e), %d/%d\n",
           label, all.worst_ratio, all.top1_ratio, all.argmax_same, all.rows,
           all_fast.worst_ratio, all_fast.top1_ratio, all_fast.argmax_same, all_fast.rows);
    owl_context_free(exact);
    owl_context_free(fast);
done:
    owl_model_free(m);
    fixture_free(&f);
}

/* ---- SmolLM2 GGUF -> HF folder ------------------------------------------- */

/* The HF name of GGUF tensor g; *perm: 0, or the head count whose rows to
 * permute back (attn_q: n_head, attn_k: n_head_kv). */
static bool hf_name(const char *g, char *out, size_t cap, int n_head, int n_head_kv, int *perm) {
    static const char *const blk[][2] = {
        {"attn_norm.weight", "input_layernorm.weight"},   {"attn_q.weight", "self_attn.q_proj.weight"},
        {"attn_k.weight", "self_attn.k_proj.weight"},     {"attn_v.weight", "self_attn.v_proj.weight"},
        {"attn_output.weight", "self_attn.o_proj.weight"}, {"ffn_norm.weight", "post_attention_layernorm.weight"},
        {"ffn_gate.weight", "mlp.gate_proj.weight"},      {"ffn_up.weight", "mlp.up_proj.weight"},
        {"ffn_down.weight", "mlp.down_proj.weight"},
    };
    *perm = 0;
    if (strcmp(g, "token_embd.weight") == 0) return snprintf(out, cap, "model.embed_tokens.weight") > 0;
    if (strcmp(g, "output_norm.weight") == 0) return snprintf(out, cap, "model.norm.weight") > 0;
    if (strcmp(g, "output.weight") == 0) return snprintf(out, cap, "lm_head.weight") > 0;
    int il, n = 0;
    if (sscanf(g, "blk.%d.%n", &il, &n) != 1 || n == 0) return false;
    for (size_t i = 0; i < sizeof blk / sizeof blk[0]; i++)
        if (strcmp(g + n, blk[i][0]) == 0) {
            if (i == 1) *perm = n_head;
            if (i == 2) *perm = n_head_kv;
            return snprintf(out, cap, "model.layers.%d.%s", il, blk[i][1]) > 0;
        }
    return false;
}

static bool copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;
    bool ok = a && b;
    char buf[65536];
    size_t r;
    while (ok && (r = fread(buf, 1, sizeof buf, a)) > 0) ok = fwrite(buf, 1, r, b) == r;
    if (a) fclose(a);
    if (b && fclose(b) != 0) ok = false;
    return ok;
}

static uint32_t key_u32(const gguf *g, const char *k) {
    uint32_t v = 0;
    CHECK(gguf_get_u32(g, k, &v) == 1, "SmolLM2 GGUF key %s", k);
    return v;
}

/* Writes dir/{model.safetensors, config.json, tokenizer files}; bf16 or f32. */
static bool smollm2_to_hf(const char *gguf_path, const char *fx, const char *dir, bool bf16) {
    if (strlen(dir) > 4000 || strlen(fx) > 4000) return false;
    gguf *g = NULL;
    if (gguf_open(gguf_path, &g) != OWL_OK) {
        CHECK(false, "gguf_open %s: %s", gguf_path, owl_last_error());
        return false;
    }
    mkdir(dir, 0755);
    int n_head = (int)key_u32(g, "llama.attention.head_count");
    int n_head_kv = (int)key_u32(g, "llama.attention.head_count_kv");
    st_write_tensor *ts = calloc((size_t)g->n_tensors, sizeof *ts);
    char **names = calloc((size_t)g->n_tensors, sizeof *names);
    void **bufs = calloc((size_t)g->n_tensors, sizeof *bufs);
    bool ok = ts && names && bufs, tied = true;
    int64_t n_vocab = 0;
    size_t n = 0;
    for (uint64_t i = 0; ok && i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        char gname[256], hname[256];
        snprintf(gname, sizeof gname, "%.*s", (int)t->name.len, t->name.ptr);
        int perm = 0;
        if (!hf_name(gname, hname, sizeof hname, n_head, n_head_kv, &perm)) {
            CHECK(false, "SmolLM2: no HF name for tensor %s", gname);
            ok = false;
            break;
        }
        if (strcmp(gname, "output.weight") == 0) tied = false;
        const int64_t cols = t->ne[0], rows = t->n_dims >= 2 ? t->ne[1] : 1;
        if (strcmp(gname, "token_embd.weight") == 0) n_vocab = rows;
        const dtype_traits *tr = dtype_get(t->type);
        float *f = malloc((size_t)(rows * cols) * sizeof *f), *row = malloc((size_t)cols * sizeof *row);
        size_t rs = dtype_row_size(t->type, cols);
        ok = f && row && tr && tr->to_float && rs;
        const int64_t D = perm ? rows / perm : 0;
        for (int64_t r = 0; ok && r < rows; r++) {
            tr->to_float((const uint8_t *)t->data + (size_t)r * rs, row, cols);
            int64_t dst = r;
            if (perm) { /* GGUF row h*D + 2i + j -> HF row h*D + j*D/2 + i */
                int64_t h = r / D, w = r % D, i2 = w / 2, j = w % 2;
                dst = h * D + j * (D / 2) + i2;
            }
            memcpy(f + dst * cols, row, (size_t)cols * sizeof *f);
        }
        free(row);
        if (ok && bf16) {
            uint16_t *b = malloc((size_t)(rows * cols) * sizeof *b);
            ok = b != NULL;
            for (int64_t k = 0; ok && k < rows * cols; k++) b[k] = f32_to_bf16(f[k]);
            free(f);
            f = (float *)b;
        }
        bufs[n] = f;
        names[n] = strdup(hname);
        ts[n] = (st_write_tensor){.name = names[n], .dtype = bf16 ? ST_BF16 : ST_F32,
                                  .n_dims = t->n_dims >= 2 ? 2 : 1, .data = f};
        if (t->n_dims >= 2) {
            ts[n].shape[0] = rows;
            ts[n].shape[1] = cols;
        } else {
            ts[n].shape[0] = cols;
        }
        n++;
        ok = ok && names[n - 1];
    }
    char p[4400], q[4400];
    if (ok) {
        snprintf(p, sizeof p, "%s/model.safetensors", dir);
        static const char *const meta[] = {"format", "pt", NULL};
        owl_status s = safetensors_write(p, ts, n, meta);
        CHECK(s == OWL_OK, "safetensors_write %s: %s", p, owl_last_error());
        ok = s == OWL_OK;
    }
    if (ok) {
        float eps = 0, theta = 0;
        gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &eps);
        gguf_get_f32(g, "llama.rope.freq_base", &theta);
        snprintf(p, sizeof p, "%s/config.json", dir);
        FILE *f = fopen(p, "w");
        ok = f != NULL;
        if (f) {
            fprintf(f,
                    "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_act\": \"silu\",\n"
                    " \"vocab_size\": %lld, \"hidden_size\": %u, \"intermediate_size\": %u,\n"
                    " \"num_hidden_layers\": %u, \"num_attention_heads\": %d, \"num_key_value_heads\": %d,\n"
                    " \"max_position_embeddings\": %u, \"rms_norm_eps\": %.9g, \"rope_theta\": %.9g,\n"
                    " \"tie_word_embeddings\": %s, \"torch_dtype\": \"%s\"}\n",
                    (long long)n_vocab, key_u32(g, "llama.embedding_length"), key_u32(g, "llama.feed_forward_length"),
                    key_u32(g, "llama.block_count"), n_head, n_head_kv, key_u32(g, "llama.context_length"),
                    (double)eps, (double)theta, tied ? "true" : "false", bf16 ? "bfloat16" : "float32");
            fclose(f);
        }
    }
    static const char *const tok_files[] = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja"};
    for (size_t i = 0; ok && i < 3; i++) {
        snprintf(p, sizeof p, "%s/tokenizer/smollm2-hf/%s", fx, tok_files[i]);
        snprintf(q, sizeof q, "%s/%s", dir, tok_files[i]);
        ok = copy_file(p, q);
        CHECK(ok, "copy %s", p);
    }
    for (size_t i = 0; i < n; i++) {
        free(bufs[i]);
        free(names[i]);
    }
    free(bufs);
    free(names);
    free(ts);
    gguf_close(g);
    return ok;
}

int main(void) {
    const char *fx = check_env("OWL_FIXTURES");
    static const char *const names[] = {"llama", "mistral", "qwen2", "qwen3", "llama-fp8"};
    char model[4096], logits[4096], label[64];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(model, sizeof model, "%s/hf/%s", fx, names[i]);
        snprintf(logits, sizeof logits, "%s/logits/hf-%s.logits", fx, names[i]);
        snprintf(label, sizeof label, "HF %s", names[i]);
        skip_one_by_one = strcmp(names[i], "mistral") == 0;
        test_model(label, model, logits);
        skip_one_by_one = false;
    }
    const char *smol = check_env("OWL_SMOLLM2"), *tmp = check_env("OWL_TMP");
    mkdir(tmp, 0755);
    for (int bf = 0; bf < 2; bf++) {
        snprintf(model, sizeof model, "%s/smollm2-hf-%s.%d", tmp, bf ? "bf16" : "f32", (int)getpid());
        if (smollm2_to_hf(smol, fx, model, bf)) {
            snprintf(logits, sizeof logits, "%s/logits/%s", fx,
                     bf ? "hf-smollm2-135m-bf16.logits" : "smollm2-135m-instruct-q4_1.logits");
            test_model(bf ? "SmolLM2-135M HF BF16" : "SmolLM2-135M HF F32", model, logits);
        }
        static const char *const files[] = {"model.safetensors", "config.json", "tokenizer.json",
                                            "tokenizer_config.json", "chat_template.jinja"};
        char p[4400];
        for (size_t i = 0; i < 5; i++) {
            snprintf(p, sizeof p, "%s/%s", model, files[i]);
            remove(p);
        }
        rmdir(model);
    }
    return check_done();
}
