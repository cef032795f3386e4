/* convert.c — `owl convert DIR -o OUT.gguf [--quant TYPE]`: a Hugging Face
 * model folder (LlamaForCausalLM, MistralForCausalLM) written as a GGUF
 * file that llama.cpp and owl load, the way llama.cpp's
 * convert_hf_to_gguf.py does (read to learn, not copied):
 *
 *   - metadata: general.architecture "llama", llama.* hyperparameters from
 *     config.json (io/hf_config.c), the tokenizer of tokenizer.json as a
 *     "gpt2" vocabulary (tokens, token types, merges by rank, bos/eos,
 *     add_bos_token, pre-tokenizer "gpt-2") and its chat template;
 *   - tensors renamed (model.layers.N.self_attn.q_proj.weight ->
 *     blk.N.attn_q.weight, ...), in their folder's type (f32, f16, bf16);
 *     output.weight left out when the output is tied to the embeddings;
 *   - the rows of q_proj and k_proj permuted from Hugging Face's RoPE order
 *     (a head's channels i and i + D/2 rotate together) to GGUF llama's
 *     (channels 2i and 2i+1): GGUF row h*D + 2i + j = HF row h*D + j*D/2 + i;
 *   - llama3 / yarn-free RoPE scaling: the per-frequency divisors as the
 *     f32 tensor rope_freqs.weight; linear scaling as llama.rope.scaling.*.
 *
 * With --quant TYPE the file is then rewritten by `owl quantize`'s code
 * (tools/quantize.c, same mixes and rules) and the unquantized copy removed.
 * Data streams from the mapped safetensors to the writer a row at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "args.h"
#include "base/mem.h"
#include "base/status.h"
#include "cli.h"
#include "io/gguf_write.h"
#include "io/hf_config.h"
#include "io/tensor_dir.h"
#include "tensor/dtype.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

static const arg_cmd convert_cmd = {
    .name = "convert",
    .synopsis = "DIR -o OUT.gguf [--quant TYPE]",
    .about = "Writes the Hugging Face model folder DIR (LlamaForCausalLM, MistralForCausalLM with a\n"
             "byte-level BPE tokenizer.json) as a GGUF file that llama.cpp loads. Weights keep\n"
             "their type (f32, f16, bf16) unless --quant TYPE (any type of owl quantize: q8_0,\n"
             "q4_0, q4_k, ...) asks for another.",
    .footer = "example:\n  owl convert ~/models/SmolLM2-135M-Instruct -o smollm2.gguf --quant q8_0",
};

/* The HF name pattern of each per-layer GGUF tensor. */
static const struct {
    const char *hf, *gguf;
    int permute; /* 0 none, 1 by n_head (q), 2 by n_head_kv (k) */
} layer_names[] = {
    {"model.layers.%d.input_layernorm.weight", "blk.%d.attn_norm.weight", 0},
    {"model.layers.%d.self_attn.q_proj.weight", "blk.%d.attn_q.weight", 1},
    {"model.layers.%d.self_attn.k_proj.weight", "blk.%d.attn_k.weight", 2},
    {"model.layers.%d.self_attn.v_proj.weight", "blk.%d.attn_v.weight", 0},
    {"model.layers.%d.self_attn.o_proj.weight", "blk.%d.attn_output.weight", 0},
    {"model.layers.%d.post_attention_layernorm.weight", "blk.%d.ffn_norm.weight", 0},
    {"model.layers.%d.mlp.gate_proj.weight", "blk.%d.ffn_gate.weight", 0},
    {"model.layers.%d.mlp.up_proj.weight", "blk.%d.ffn_up.weight", 0},
    {"model.layers.%d.mlp.down_proj.weight", "blk.%d.ffn_down.weight", 0},
};
enum { N_LAYER_NAMES = sizeof layer_names / sizeof layer_names[0] };

typedef struct out_tensor {
    char name[96];
    const td_tensor *src; /* NULL: rope_freqs (from the config) */
    int permute_heads;    /* 0, or the head count of the row permutation */
} out_tensor;

typedef struct merge_ent {
    int32_t rank, left, right;
} merge_ent;

static int merge_cmp(const void *a, const void *b) {
    const merge_ent *x = a, *y = b;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

static int token_type(uint16_t attr) {
    if (attr & TOK_UNKNOWN) return 2;
    if (attr & TOK_CONTROL) return 3;
    if (attr & TOK_USER_DEFINED) return 4;
    if (attr & TOK_UNUSED) return 5;
    if (attr & TOK_BYTE) return 6;
    return 1;
}

/* The tokenizer keys. */
/* GGUF's "gpt-2" pre-tokenizer is GPT-2's ByteLevel regex and nothing else.
 * Returns NULL when DIR/tokenizer.json splits text that way (no normalizer,
 * a plain ByteLevel pre-tokenizer), else what differs: writing "gpt-2" for
 * another pipeline (Llama 3's or Qwen's Split regex, a normalizer) would
 * make llama.cpp tokenize the converted file differently. */
static const char *pretok_not_gpt2(const char *dir, char *buf, size_t cap) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        (void)buf;
        (void)cap;
        return "no readable tokenizer.json";
    }
    const char *why = NULL;
    json_t *norm = json_object_get(root, "normalizer"), *pre = json_object_get(root, "pre_tokenizer");
    const char *type = json_string_value(json_object_get(pre, "type"));
    json_t *use_regex = json_object_get(pre, "use_regex"), *prefix = json_object_get(pre, "add_prefix_space");
    if (norm && !json_is_null(norm)) why = "a normalizer";
    else if (!type || strcmp(type, "ByteLevel") != 0) {
        snprintf(buf, cap, "a %s pre-tokenizer", type ? type : "missing");
        why = buf;
    } else if ((use_regex && !json_is_true(use_regex)) || (prefix && json_is_true(prefix)))
        why = "a ByteLevel pre-tokenizer without GPT-2's regex or with add_prefix_space";
    json_decref(root);
    return why;
}

static owl_status write_tokenizer(gguf_writer *w, const tokenizer *t, int32_t n_vocab) {
    owl_status s = OWL_ERR_NOMEM;
    gguf_str *strs = owl_xcalloc((size_t)n_vocab, sizeof *strs);
    int32_t *types = owl_xcalloc((size_t)n_vocab, sizeof *types);
    char *pad = owl_xmalloc((size_t)n_vocab * 24 + 1);
    merge_ent *ms = NULL;
    gguf_str *mstrs = NULL;
    char *mtext = NULL;
    if (!strs || !types || !pad) goto out;
    size_t pad_used = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        if (i < t->n_vocab) {
            strs[i].ptr = tok_text(t, i);
            strs[i].len = t->tokens[i].len;
            types[i] = token_type(t->tokens[i].attr);
        } else { /* config.json's vocab_size past the tokenizer's */
            int n = snprintf(pad + pad_used, 24, "[PAD%d]", (int)i);
            strs[i].ptr = pad + pad_used;
            strs[i].len = (uint64_t)n;
            pad_used += (size_t)n + 1;
            types[i] = 5;
        }
    }
    size_t n_merges = 0, text_bytes = 0;
    for (size_t k = 0; t->merges.slots && k <= t->merges.mask; k++)
        if (t->merges.slots[k].key != UINT64_MAX) n_merges++;
    ms = owl_xcalloc(n_merges ? n_merges : 1, sizeof *ms);
    mstrs = owl_xcalloc(n_merges ? n_merges : 1, sizeof *mstrs);
    if (!ms || !mstrs) goto out;
    size_t m = 0;
    for (size_t k = 0; t->merges.slots && k <= t->merges.mask; k++) {
        const pairmap_slot *sl = &t->merges.slots[k];
        if (sl->key == UINT64_MAX) continue;
        ms[m].rank = sl->a;
        ms[m].left = (int32_t)(sl->key >> 32);
        ms[m].right = (int32_t)(sl->key & 0xffffffffu);
        text_bytes += t->tokens[ms[m].left].len + t->tokens[ms[m].right].len + 2;
        m++;
    }
    qsort(ms, n_merges, sizeof *ms, merge_cmp);
    if (!(mtext = owl_xmalloc(text_bytes + 1))) goto out;
    size_t used = 0;
    for (size_t k = 0; k < n_merges; k++) {
        const tok_entry *a = &t->tokens[ms[k].left], *b = &t->tokens[ms[k].right];
        mstrs[k].ptr = mtext + used;
        memcpy(mtext + used, t->text + a->off, a->len);
        mtext[used + a->len] = ' ';
        memcpy(mtext + used + a->len + 1, t->text + b->off, b->len);
        mstrs[k].len = a->len + 1 + b->len;
        used += mstrs[k].len + 1;
    }
    if ((s = gguf_writer_kv_str(w, "tokenizer.ggml.model", "gpt2", 4)) ||
        (s = gguf_writer_kv_str(w, "tokenizer.ggml.pre", "gpt-2", 5)) ||
        (s = gguf_writer_kv_arr_str(w, "tokenizer.ggml.tokens", strs, (uint64_t)n_vocab)) ||
        (s = gguf_writer_kv_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, (uint64_t)n_vocab)) ||
        (s = gguf_writer_kv_arr_str(w, "tokenizer.ggml.merges", mstrs, (uint64_t)n_merges)))
        goto out;
    if (t->bos >= 0 && (s = gguf_writer_kv_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)t->bos))) goto out;
    if (t->eos >= 0 && (s = gguf_writer_kv_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)t->eos))) goto out;
    if (t->unk >= 0 && (s = gguf_writer_kv_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)t->unk))) goto out;
    if (t->pad >= 0 && (s = gguf_writer_kv_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)t->pad))) goto out;
    bool add_bos = t->add_bos;
    if (t->has_post) add_bos = t->n_post_before > 0;
    if ((s = gguf_writer_kv_bool(w, "tokenizer.ggml.add_bos_token", add_bos))) goto out;
    if (t->chat_template &&
        (s = gguf_writer_kv_str(w, "tokenizer.chat_template", t->chat_template, strlen(t->chat_template))))
        goto out;
    s = OWL_OK;
out:
    free(strs);
    free(types);
    free(pad);
    free(ms);
    free(mstrs);
    free(mtext);
    return s;
}

static owl_status write_hparams(gguf_writer *w, const hparams *hp, const char *name) {
    owl_status s;
    if ((s = gguf_writer_kv_str(w, "general.architecture", "llama", 5)) ||
        (s = gguf_writer_kv_str(w, "general.name", name, strlen(name))) ||
        (s = gguf_writer_kv_u32(w, "llama.vocab_size", (uint32_t)hp->n_vocab)) ||
        (s = gguf_writer_kv_u32(w, "llama.context_length", (uint32_t)hp->n_ctx_train)) ||
        (s = gguf_writer_kv_u32(w, "llama.embedding_length", (uint32_t)hp->n_embd)) ||
        (s = gguf_writer_kv_u32(w, "llama.block_count", (uint32_t)hp->n_layer)) ||
        (s = gguf_writer_kv_u32(w, "llama.feed_forward_length", (uint32_t)hp->n_ff)) ||
        (s = gguf_writer_kv_u32(w, "llama.attention.head_count", (uint32_t)hp->n_head)) ||
        (s = gguf_writer_kv_u32(w, "llama.attention.head_count_kv", (uint32_t)hp->n_head_kv)) ||
        (s = gguf_writer_kv_u32(w, "llama.rope.dimension_count", (uint32_t)hp->n_rot)) ||
        (s = gguf_writer_kv_f32(w, "llama.rope.freq_base", hp->rope_theta)) ||
        (s = gguf_writer_kv_f32(w, "llama.attention.layer_norm_rms_epsilon", hp->norm_eps)))
        return s;
    if (hp->head_dim != hp->n_embd / hp->n_head &&
        ((s = gguf_writer_kv_u32(w, "llama.attention.key_length", (uint32_t)hp->head_dim)) ||
         (s = gguf_writer_kv_u32(w, "llama.attention.value_length", (uint32_t)hp->head_dim))))
        return s;
    if (hp->rope_scaling == ROPE_SCALING_LINEAR &&
        ((s = gguf_writer_kv_str(w, "llama.rope.scaling.type", "linear", 6)) ||
         (s = gguf_writer_kv_f32(w, "llama.rope.scaling.factor", hp->rope_factor))))
        return s;
    return OWL_OK;
}

/* Streams one tensor: rows copied, q/k rows permuted per head. */
static owl_status write_tensor(gguf_writer *w, const out_tensor *o, const hf_config *cfg) {
    if (!o->src) return gguf_writer_write(w, cfg->rope_freqs, (size_t)cfg->hp.n_rot / 2 * sizeof(float));
    const td_tensor *t = o->src;
    if (!o->permute_heads) return gguf_writer_write(w, t->data, t->nbytes);
    size_t row = dtype_row_size(t->type, t->ne[0]);
    int64_t rows = t->ne[1], per_head = rows / o->permute_heads, half = per_head / 2;
    const uint8_t *src = t->data;
    for (int64_t h = 0; h < o->permute_heads; h++)
        for (int64_t i = 0; i < half; i++)
            for (int64_t j = 0; j < 2; j++) {
                owl_status s = gguf_writer_write(w, src + (size_t)(h * per_head + j * half + i) * row, row);
                if (s != OWL_OK) return s;
            }
    return OWL_OK;
}

int cmd_convert(int argc, char **argv) {
    const char *out_path = NULL, *quant = NULL;
    int32_t n_threads = 0;
    const arg_opt opts[] = {
        {"-o", "--output", ARG_STR, &out_path, 0, 0, "OUT.gguf", "the GGUF file to write"},
        {"-q", "--quant", ARG_STR, &quant, 0, 0, "TYPE", "weights in TYPE (q8_0, q4_0, q4_k, ... as owl quantize)"},
        {"-t", "--threads", ARG_INT, &n_threads, 0, 1024, "N", "threads for --quant, 0 = every CPU"},
    };
    const char *pos[1];
    int n_pos = 0;
    int r = args_parse(&convert_cmd, opts, sizeof opts / sizeof opts[0], argc, argv, pos, 1, &n_pos);
    if (r != ARGS_OK) return r == ARGS_HELP ? 0 : 1;
    if (n_pos != 1 || !out_path) return cli_fail("convert", "expected DIR -o OUT.gguf (owl convert --help)");
    const char *dir = pos[0];
    if (quant && !quantize_type_known(quant))
        return cli_fail("convert", "unknown --quant TYPE '%s' (owl quantize --help lists them)", quant);
    if (quant && !strcasecmp(quant, "f32")) quant = NULL;

    hf_config cfg;
    memset(&cfg, 0, sizeof cfg);
    tokenizer *tok = NULL;
    tensor_dir *td = NULL;
    gguf_writer *w = NULL;
    out_tensor *ts = NULL;
    char *tmp = NULL;
    int rc = 1;
    if (hf_config_load(dir, &cfg) != OWL_OK || tokenizer_from_hf_dir(dir, &tok) != OWL_OK ||
        tensor_dir_from_hf(dir, cfg.fp8_block[0], cfg.fp8_block[1], &td) != OWL_OK) {
        cli_fail("convert", "%s", owl_last_error());
        goto out;
    }
    const hparams *hp = &cfg.hp;
    if (strcmp(cfg.arch, "LlamaForCausalLM") && strcmp(cfg.arch, "MistralForCausalLM")) {
        cli_fail("convert", "%s: %s is not supported yet (LlamaForCausalLM, MistralForCausalLM)", dir, cfg.arch);
        goto out;
    }
    if (tok->kind != TOK_KIND_BPE) {
        cli_fail("convert", "%s: only byte-level BPE tokenizers are supported yet", dir);
        goto out;
    }
    char pbuf[256];
    const char *pwhy = pretok_not_gpt2(dir, pbuf, sizeof pbuf);
    if (pwhy) {
        cli_fail("convert", "%s: tokenizer.json has %s; owl writes only GPT-2's pre-tokenizer yet, and "
                 "llama.cpp would split this model's text differently", dir, pwhy);
        goto out;
    }
    const char *why = hp->qkv_bias ? "q/k/v biases"
                      : hp->qk_norm ? "q/k norms"
                      : hp->rope_scaling == ROPE_SCALING_YARN ? "yarn RoPE scaling"
                      : hp->rope_scaling == ROPE_SCALING_DYNAMIC ? "dynamic NTK RoPE scaling (GGUF llama has none)"
                      : hp->n_rot != hp->head_dim ? "partial rotary" : NULL;
    if (why) {
        cli_fail("convert", "%s: %s: not supported yet", dir, why);
        goto out;
    }

    size_t n_out = 3 + (size_t)hp->n_layer * N_LAYER_NAMES + 1;
    if (!(ts = owl_xcalloc(n_out, sizeof *ts))) goto nomem;
    size_t n = 0;
    const char *top[3][2] = {{"model.embed_tokens.weight", "token_embd.weight"},
                             {"model.norm.weight", "output_norm.weight"},
                             {"lm_head.weight", "output.weight"}};
    for (int k = 0; k < 3; k++) {
        if (k == 2 && hp->tied_output) continue;
        const td_tensor *t = tensor_dir_find(td, top[k][0]);
        if (!t) {
            cli_fail("convert", "%s: no tensor %s", dir, top[k][0]);
            goto out;
        }
        snprintf(ts[n].name, sizeof ts[n].name, "%s", top[k][1]);
        ts[n++].src = t;
    }
    if (cfg.rope_freqs) snprintf(ts[n++].name, sizeof ts[0].name, "rope_freqs.weight");
    for (int l = 0; l < hp->n_layer; l++)
        for (int k = 0; k < N_LAYER_NAMES; k++) {
            char hf[128];
            snprintf(hf, sizeof hf, layer_names[k].hf, l);
            const td_tensor *t = tensor_dir_find(td, hf);
            if (!t) {
                cli_fail("convert", "%s: no tensor %s", dir, hf);
                goto out;
            }
            snprintf(ts[n].name, sizeof ts[n].name, layer_names[k].gguf, l);
            ts[n].src = t;
            ts[n].permute_heads = layer_names[k].permute == 1 ? hp->n_head
                                  : layer_names[k].permute == 2 ? hp->n_head_kv : 0;
            n++;
        }
    for (size_t i = 0; i < n; i++) {
        const td_tensor *t = ts[i].src;
        if (t && (t->type != OWL_TYPE_F32 && t->type != OWL_TYPE_F16 && t->type != OWL_TYPE_BF16)) {
            cli_fail("convert", "%s: tensor %s is %s; only f32, f16, bf16 (and fp8, as f32) are written", dir,
                     t->name, t->src_dtype ? t->src_dtype : "?");
            goto out;
        }
        if (t && ts[i].permute_heads && (t->n_dims != 2 || t->ne[1] % (2 * ts[i].permute_heads) != 0)) {
            cli_fail("convert", "%s: %s of %lld rows does not split into %d heads", dir, t->name,
                     (long long)t->ne[1], ts[i].permute_heads);
            goto out;
        }
    }

    const char *dest = out_path;
    if (quant) {
        size_t len = strlen(out_path) + 16;
        if (!(tmp = owl_xmalloc(len))) goto nomem;
        snprintf(tmp, len, "%s.unquantized", out_path);
        dest = tmp;
    }
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    int et = ts[0].src->type;
    uint32_t ftype = et == OWL_TYPE_F16 ? 1 : et == OWL_TYPE_BF16 ? 32 : 0;
    if (gguf_writer_open(dest, &w) != OWL_OK || write_hparams(w, hp, base) != OWL_OK ||
        gguf_writer_kv_u32(w, "general.file_type", ftype) != OWL_OK ||
        write_tokenizer(w, tok, hp->n_vocab) != OWL_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const td_tensor *t = ts[i].src;
        int64_t ne_rf[1] = {hp->n_rot / 2};
        owl_status s = t ? gguf_writer_add_tensor(w, ts[i].name, t->type, t->n_dims, t->ne)
                         : gguf_writer_add_tensor(w, ts[i].name, OWL_TYPE_F32, 1, ne_rf);
        if (s != OWL_OK) goto fail;
    }
    if (gguf_writer_begin_data(w) != OWL_OK) goto fail;
    for (size_t i = 0; i < n; i++)
        if (write_tensor(w, &ts[i], &cfg) != OWL_OK) goto fail;
    if (gguf_writer_finish(w) != OWL_OK) goto fail;
    fprintf(stderr, "owl convert: %s -> %s: %zu tensors\n", dir, dest, n);
    if (quant) {
        char th[16];
        snprintf(th, sizeof th, "%d", (int)n_threads);
        char *qargv[] = {"quantize", tmp, (char *)out_path, (char *)quant, "-t", th, NULL};
        rc = cmd_quantize(6, qargv);
        unlink(tmp);
        goto out;
    }
    rc = 0;
    goto out;
nomem:
fail:
    cli_fail("convert", "%s", owl_last_error());
out:
    gguf_writer_free(w);
    free(ts);
    free(tmp);
    tensor_dir_free(td);
    tokenizer_free(tok);
    hf_config_free(&cfg);
    return rc;
}
