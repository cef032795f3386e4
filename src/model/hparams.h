/* hparams.h — an architecture-free description of a decoder-only
 * transformer: sizes, norm and RoPE settings, and the flags that vary
 * between families. An arch file (model/arch/<family>.c) fills it from its
 * own GGUF keys; the forward pass (runtime/forward.c) reads only this. */
#ifndef OWL_MODEL_HPARAMS_H
#define OWL_MODEL_HPARAMS_H

#include <stdbool.h>
#include <stdint.h>

/* Which pairs of a head's channels RoPE rotates together. */
typedef enum rope_style {
    ROPE_STYLE_NORM = 0, /* pairs (2i, 2i+1): llama.cpp's "normal" (GGUF llama) */
    ROPE_STYLE_NEOX = 1, /* pairs (i, i + n_rot/2): GPT-NeoX, HF rotate_half */
} rope_style;

/* How RoPE frequencies are stretched past the trained context. Only NONE
 * and LINEAR are implemented; the others are recognised so that a model
 * asking for them fails with a clear message rather than running wrong. */
typedef enum rope_scaling {
    ROPE_SCALING_NONE = 0,
    ROPE_SCALING_LINEAR = 1, /* positions divided by rope_factor */
    ROPE_SCALING_YARN = 2,   /* HF folders: per-frequency divisors + rope_attn_factor */
    ROPE_SCALING_LLAMA3 = 3, /* HF folders: per-frequency divisors (rope_freqs) */
    ROPE_SCALING_DYNAMIC = 4, /* dynamic NTK: theta grows with the batch's longest
                                 position past rope_orig_ctx (rope_factor) */
} rope_scaling;

typedef struct hparams {
    int32_t n_vocab;     /* V: rows of token_embd (== the tokenizer's vocab) */
    int32_t n_embd;      /* C: width of the residual stream */
    int32_t n_layer;     /* L */
    int32_t n_head;      /* H: query heads */
    int32_t n_head_kv;   /* Hkv: key/value heads (H % Hkv == 0; GQA when <) */
    int32_t head_dim;    /* D: channels of one head */
    int32_t n_ff;        /* F: hidden width of the MLP */
    int32_t n_ctx_train; /* context length the model was trained for */
    float norm_eps;      /* RMSNorm epsilon */

    /* RoPE */
    rope_style rope_style;
    int32_t n_rot;            /* channels of a head that rotate (<= D, even) */
    float rope_theta;         /* frequency base */
    rope_scaling rope_scaling;
    float rope_factor;        /* LINEAR: positions / factor (1 = none) */
    int32_t rope_orig_ctx;    /* trained context before scaling (yarn, later) */
    float rope_attn_factor;   /* YaRN: cos and sin scaled by it (0 or 1: none) */

    /* family flags: parameters of the shared blocks */
    bool tied_output;    /* logits use token_embd (no output.weight) */
    bool qkv_bias;       /* q, k, v projections have biases */
    bool qk_norm;        /* RMSNorm on q and k per head (Qwen3), before RoPE */
    int32_t sliding_window; /* > 0: a query at p sees keys at p - window < pos <= p (Mistral) */
} hparams;

#endif
