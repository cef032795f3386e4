/* llama.c — the llama family (Llama 1-3, SmolLM, Mistral-style GGUFs):
 * RMSNorm, RoPE on pairs (2i, 2i+1) — GGUF stores llama Q/K rows already
 * permuted for that style — grouped-query attention, SwiGLU MLP, and an
 * output projection that is tied to token_embd when output.weight is absent,
 * llama 3's optional rope_freqs.weight (per-frequency RoPE divisors), and
 * optional biases of the q, k, v and output projections.
 *
 * Reads the llama.* GGUF keys into hparams and binds tensors by name. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "../../base/status.h"

/* The value of an integer key in [lo, hi]; def when absent and !required. */
static owl_status get_int(const gguf *g, const char *key, bool required, uint32_t def,
                          uint32_t lo, uint32_t hi, int32_t *out) {
    uint32_t v = def;
    int r = gguf_get_u32(g, key, &v);
    if (r < 0) return OWL_ERR_FORMAT; /* the getter named the file and key */
    if (r == 0 && required)
        return owl_err(OWL_ERR_FORMAT, "%s: metadata key '%s' is missing", g->path, key);
    if (v < lo || v > hi)
        return owl_err(OWL_ERR_FORMAT, "%s: metadata '%s' = %u is out of range [%u, %u]",
                       g->path, key, v, lo, hi);
    *out = (int32_t)v;
    return OWL_OK;
}

static owl_status get_float(const gguf *g, const char *key, float def, float lo, float hi,
                            float *out) {
    float v = def;
    int r = gguf_get_f32(g, key, &v);
    if (r < 0) return OWL_ERR_FORMAT; /* the getter named the file and key */
    if (!(v >= lo && v <= hi)) /* also rejects NaN */
        return owl_err(OWL_ERR_FORMAT, "%s: metadata '%s' = %g is out of range [%g, %g]",
                       g->path, key, (double)v, (double)lo, (double)hi);
    *out = v;
    return OWL_OK;
}

#define LIM (1u << 20) /* a generous bound on every size, keeps products in range */

static owl_status llama_hparams(const gguf *g, hparams *hp) {
    owl_status s;
    int32_t n_kv = 0, key_len = 0, val_len = 0, n_rot = 0;
    if ((s = get_int(g, "llama.context_length", false, 2048, 1, 1u << 30, &hp->n_ctx_train)) ||
        (s = get_int(g, "llama.embedding_length", true, 0, 1, LIM, &hp->n_embd)) ||
        (s = get_int(g, "llama.block_count", true, 0, 1, 4096, &hp->n_layer)) ||
        (s = get_int(g, "llama.feed_forward_length", true, 0, 1, LIM, &hp->n_ff)) ||
        (s = get_int(g, "llama.attention.head_count", true, 0, 1, 4096, &hp->n_head)))
        return s;
    if ((s = get_int(g, "llama.attention.head_count_kv", false, (uint32_t)hp->n_head, 1,
                     (uint32_t)hp->n_head, &n_kv)))
        return s;
    hp->n_head_kv = n_kv;
    if (hp->n_head % hp->n_head_kv != 0)
        return owl_err(OWL_ERR_FORMAT, "%s: %d attention heads do not split into %d kv heads",
                       g->path, hp->n_head, hp->n_head_kv);
    uint32_t def_hd = (uint32_t)(hp->n_embd / hp->n_head);
    if ((s = get_int(g, "llama.attention.key_length", false, def_hd, 1, 4096, &key_len)) ||
        (s = get_int(g, "llama.attention.value_length", false, (uint32_t)key_len, 1, 4096,
                     &val_len)))
        return s;
    if (key_len != val_len)
        return owl_err(OWL_ERR_UNSUPPORTED, "%s: key length %d != value length %d",
                       g->path, key_len, val_len);
    hp->head_dim = key_len;
    if ((s = get_int(g, "llama.rope.dimension_count", false, (uint32_t)key_len, 2,
                     (uint32_t)key_len, &n_rot)))
        return s;
    if (n_rot % 2)
        return owl_err(OWL_ERR_FORMAT, "%s: rope dimension count %d is odd", g->path, n_rot);
    hp->n_rot = n_rot;
    hp->rope_style = ROPE_STYLE_NORM;
    if ((s = get_float(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f, 0.0f, 1.0f,
                       &hp->norm_eps)) ||
        (s = get_float(g, "llama.rope.freq_base", 10000.0f, 1e-3f, 1e12f, &hp->rope_theta)))
        return s;

    /* RoPE scaling: llama.rope.scaling.type (+ factor), or the older
     * llama.rope.scale_linear. */
    hp->rope_scaling = ROPE_SCALING_NONE;
    hp->rope_factor = 1.0f;
    hp->rope_orig_ctx = hp->n_ctx_train;
    gguf_str st;
    int r = gguf_get_str(g, "llama.rope.scaling.type", &st);
    if (r < 0) return OWL_ERR_FORMAT; /* the getter named the file and key */
    float factor = 1.0f;
    if ((s = get_float(g, "llama.rope.scaling.factor", 1.0f, 0.0f, 1e6f, &factor))) return s;
    if (r > 0) {
        if (gguf_str_eq(st, "none")) {
            factor = 1.0f;
        } else if (gguf_str_eq(st, "linear")) {
            hp->rope_scaling = ROPE_SCALING_LINEAR;
        } else {
            return owl_err(OWL_ERR_UNSUPPORTED,
                           "%s: rope scaling '%.*s' is not supported yet (supported: none, linear)",
                           g->path, (int)(st.len > 64 ? 64 : st.len), st.ptr);
        }
    } else {
        float lin = 1.0f;
        if ((s = get_float(g, "llama.rope.scale_linear", 1.0f, 0.0f, 1e6f, &lin))) return s;
        if (lin != 1.0f) factor = lin;
        if (factor != 1.0f && factor != 0.0f) hp->rope_scaling = ROPE_SCALING_LINEAR;
    }
    if (hp->rope_scaling == ROPE_SCALING_LINEAR) {
        if (!(factor > 0.0f))
            return owl_err(OWL_ERR_FORMAT, "%s: rope scaling factor %g must be > 0", g->path,
                           (double)factor);
        hp->rope_factor = factor;
    }
    int32_t orig = 0;
    if ((s = get_int(g, "llama.rope.scaling.original_context_length", false,
                     (uint32_t)hp->n_ctx_train, 1, 1u << 30, &orig)))
        return s;
    hp->rope_orig_ctx = orig;

    int32_t n_expert = 0;
    if ((s = get_int(g, "llama.expert_count", false, 0, 0, 1u << 16, &n_expert))) return s;
    if (n_expert > 0)
        return owl_err(OWL_ERR_UNSUPPORTED,
                       "%s: mixture of experts (llama.expert_count = %d) is not supported yet",
                       g->path, n_expert);
    hp->qkv_bias = false; /* set by the binder when the file has them */
    hp->qk_norm = false;
    return OWL_OK;
}

/* Tensor names of one file format: printf formats taking the layer index. */
typedef struct llama_names {
    const char *tok_embd, *output_norm, *output, *rope_freqs;
    const char *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *w_gate, *w_up, *w_down;
    const char *bq, *bk, *bv, *bo, *q_norm, *k_norm;
    const char *mlp_bias[3]; /* refused when present */
} llama_names;

static const llama_names names_gguf = {
    "token_embd.weight", "output_norm.weight", "output.weight", "rope_freqs.weight",
    "blk.%d.attn_norm.weight", "blk.%d.attn_q.weight", "blk.%d.attn_k.weight",
    "blk.%d.attn_v.weight", "blk.%d.attn_output.weight", "blk.%d.ffn_norm.weight",
    "blk.%d.ffn_gate.weight", "blk.%d.ffn_up.weight", "blk.%d.ffn_down.weight",
    "blk.%d.attn_q.bias", "blk.%d.attn_k.bias", "blk.%d.attn_v.bias", "blk.%d.attn_output.bias",
    "blk.%d.attn_q_norm.weight", "blk.%d.attn_k_norm.weight",
    {"blk.%d.ffn_gate.bias", "blk.%d.ffn_up.bias", "blk.%d.ffn_down.bias"},
};

static const llama_names names_hf = {
    "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", NULL,
    "model.layers.%d.input_layernorm.weight", "model.layers.%d.self_attn.q_proj.weight",
    "model.layers.%d.self_attn.k_proj.weight", "model.layers.%d.self_attn.v_proj.weight",
    "model.layers.%d.self_attn.o_proj.weight", "model.layers.%d.post_attention_layernorm.weight",
    "model.layers.%d.mlp.gate_proj.weight", "model.layers.%d.mlp.up_proj.weight",
    "model.layers.%d.mlp.down_proj.weight", "model.layers.%d.self_attn.q_proj.bias",
    "model.layers.%d.self_attn.k_proj.bias", "model.layers.%d.self_attn.v_proj.bias",
    "model.layers.%d.self_attn.o_proj.bias", "model.layers.%d.self_attn.q_norm.weight",
    "model.layers.%d.self_attn.k_norm.weight",
    {"model.layers.%d.mlp.gate_proj.bias", "model.layers.%d.mlp.up_proj.bias",
     "model.layers.%d.mlp.down_proj.bias"},
};

static owl_status llama_bind(const tensor_dir *g, hparams *hp, model_weights *w) {
    const bool hf = g->format == TD_HF;
    const llama_names *nm = hf ? &names_hf : &names_gguf;
    const int64_t V = hp->n_vocab, C = hp->n_embd, F = hp->n_ff, D = hp->head_dim;
    const int64_t QD = (int64_t)hp->n_head * hp->head_dim;
    const int64_t KD = (int64_t)hp->n_head_kv * hp->head_dim;
    owl_status s;
    if ((s = weights_bind_mat(g, nm->tok_embd, 0, V, C, true, &w->tok_embd)) ||
        (s = weights_bind_vec(g, nm->output_norm, 0, C, true, &w->output_norm)))
        return s;
    if (!hf || !hp->tied_output)
        if ((s = weights_bind_mat(g, nm->output, 0, V, C, hf, &w->output))) return s;
    if (nm->rope_freqs &&
        (s = weights_bind_vec(g, nm->rope_freqs, 0, hp->n_rot / 2, false, &w->rope_freqs)))
        return s;
    for (int64_t i = 0; w->rope_freqs.data && i < w->rope_freqs.n; i++)
        if (!(w->rope_freqs.data[i] > 0.0f)) /* also NaN */
            return owl_err(OWL_ERR_FORMAT, "%s: rope_freqs.weight[%lld] = %g is not > 0", g->path,
                           (long long)i, (double)w->rope_freqs.data[i]);
    hp->tied_output = w->output.data == NULL;
    if (hp->tied_output) w->output = w->tok_embd;
    for (int il = 0; il < hp->n_layer; il++) {
        layer_weights *l = &w->layers[il];
        if ((s = weights_bind_vec(g, nm->attn_norm, il, C, true, &l->attn_norm)) ||
            (s = weights_bind_mat(g, nm->wq, il, QD, C, true, &l->wq)) ||
            (s = weights_bind_mat(g, nm->wk, il, KD, C, true, &l->wk)) ||
            (s = weights_bind_mat(g, nm->wv, il, KD, C, true, &l->wv)) ||
            (s = weights_bind_mat(g, nm->wo, il, C, QD, true, &l->wo)) ||
            (s = weights_bind_vec(g, nm->ffn_norm, il, C, true, &l->ffn_norm)) ||
            (s = weights_bind_mat(g, nm->w_gate, il, F, C, true, &l->w_gate)) ||
            (s = weights_bind_mat(g, nm->w_up, il, F, C, true, &l->w_up)) ||
            (s = weights_bind_mat(g, nm->w_down, il, C, F, true, &l->w_down)) ||
            (s = weights_bind_vec(g, nm->bq, il, QD, false, &l->bq)) ||
            (s = weights_bind_vec(g, nm->bk, il, KD, false, &l->bk)) ||
            (s = weights_bind_vec(g, nm->bv, il, KD, false, &l->bv)) ||
            (s = weights_bind_vec(g, nm->bo, il, C, false, &l->bo)) ||
            (s = weights_bind_vec(g, nm->q_norm, il, D, hp->qk_norm, &l->q_norm)) ||
            (s = weights_bind_vec(g, nm->k_norm, il, D, hp->qk_norm, &l->k_norm)))
            return s;
        if (l->bq.data || l->bk.data || l->bv.data) hp->qkv_bias = true;
        if (!l->q_norm.data != !l->k_norm.data)
            return owl_err(OWL_ERR_FORMAT, "%s: layer %d has a q norm or a k norm but not both", g->path, il);
        if (l->q_norm.data) hp->qk_norm = true;
        /* MLP biases would be silently dropped: refuse them */
        for (size_t i = 0; i < 3; i++) {
            char name[128];
            snprintf(name, sizeof name, nm->mlp_bias[i], il);
            if (tensor_dir_find(g, name))
                return owl_err(OWL_ERR_UNSUPPORTED, "%s: tensor '%s': MLP biases are not supported yet",
                               g->path, name);
        }
    }
    return OWL_OK;
}

const arch_ops arch_llama = {
    .name = "llama",
    .load_hparams = llama_hparams,
    .bind_weights = llama_bind,
};
