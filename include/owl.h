/* owl.h — the public C API of libowl.
 *
 * One header, opaque handles, create/free pairs (every free accepts NULL),
 * params structs filled by owl_*_default_params(), and owl_status codes.
 * The library never prints and never exits: a failing call returns a
 * status and leaves a one-line message with context, read back with
 * owl_last_error() (per thread).
 *
 * Letters used in shape comments: B batch rows (tokens), V vocabulary.
 */
#ifndef OWL_H
#define OWL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ------------------------------------------------------------ */

typedef enum owl_status {
    OWL_OK = 0,
    OWL_ERR_IO = 1,          /* a file could not be opened, read or mapped */
    OWL_ERR_FORMAT = 2,      /* malformed input: file, JSON, request */
    OWL_ERR_UNSUPPORTED = 3, /* well formed, but not supported (arch, type) */
    OWL_ERR_NOMEM = 4,       /* an allocation failed or a size overflowed */
    OWL_ERR_ARG = 5,         /* a bad argument from the caller */
    OWL_ERR_FULL = 6,        /* no room left in the context (KV cache) */
    OWL_ERR_INTERNAL = 7,    /* a bug: please report it */
} owl_status;

/* A short fixed name for a status ("ok", "format error", ...). */
const char *owl_status_str(owl_status s);
/* The message left by the last failing call on this thread ("" if none).
 * Valid until the next failing call on the same thread. */
const char *owl_last_error(void);

/* Frees memory that an owl_* call returned to the caller. */
void owl_free(void *p);

/* ---- tensor types (values are GGUF's ggml_type) ------------------------ */

typedef enum owl_type {
    OWL_TYPE_F32 = 0,
    OWL_TYPE_F16 = 1,
    OWL_TYPE_Q4_0 = 2,
    OWL_TYPE_Q4_1 = 3,
    OWL_TYPE_Q5_0 = 6,
    OWL_TYPE_Q5_1 = 7,
    OWL_TYPE_Q8_0 = 8,
    OWL_TYPE_Q8_1 = 9,
    OWL_TYPE_Q2_K = 10,
    OWL_TYPE_Q3_K = 11,
    OWL_TYPE_Q4_K = 12,
    OWL_TYPE_Q5_K = 13,
    OWL_TYPE_Q6_K = 14,
    OWL_TYPE_Q8_K = 15,
    OWL_TYPE_BF16 = 30,
    OWL_TYPE_COUNT = 40, /* one past the largest value GGUF may use */
} owl_type;

/* Name of a type ("q4_k"), or NULL for a type owl does not know. */
const char *owl_type_name(int type);

typedef int32_t owl_token;

/* ---- model --------------------------------------------------------------- */

typedef struct owl_model owl_model;

typedef struct owl_model_params {
    bool vocab_only; /* load the tokenizer only, no weights (default false) */
    /* A Hugging Face folder's weight matrices quantized at load into this
     * owl_type (OWL_TYPE_Q8_0, OWL_TYPE_Q4_0, OWL_TYPE_Q4_K, ...), in owned
     * memory; a matrix whose rows are not whole blocks of it stays as it is.
     * 0 (or any unquantized type): as stored. Ignored for GGUF files. */
    int32_t quant_type;
    /* Keep the weights in their file layout only. By default (false) the
     * matrices whose type has a packed layout on this CPU (Q4_0, Q4_1,
     * Q8_0, ... with AVX512-VNNI) are repacked at load into tiles of 16
     * rows for the default path, as llama.cpp's CPU repack does; the
     * exact path reads the file layout either way. */
    bool no_repack;
} owl_model_params;

owl_model_params owl_model_default_params(void);

/* Loads a model from a GGUF file. The weights stay in a read-only memory
 * map of the file. On failure *out is NULL and owl_last_error() names the
 * file and the problem. */
owl_status owl_model_load(const char *path, const owl_model_params *params,
                          owl_model **out);
void owl_model_free(owl_model *model);

typedef struct owl_model_info {
    const char *arch;     /* "llama" */
    const char *name;     /* general.name, or "" */
    int32_t n_vocab;
    int32_t n_ctx_train;  /* context length the model was trained for */
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;
    int32_t n_ff;
    float rope_theta;
    float norm_eps;
    bool tied_output;     /* output projection shares token_embd */
    uint64_t n_params;    /* total elements of all weight tensors */
    uint64_t n_tensors;
    uint64_t file_size;   /* bytes */
    uint32_t gguf_version;
} owl_model_info;

void owl_model_get_info(const owl_model *model, owl_model_info *info);

/* Tensor listing: name, type and shape (ne[0] is the contiguous dimension,
 * unused dimensions are 1). Returns false when i is out of range. */
bool owl_model_tensor(const owl_model *model, uint64_t i, const char **name,
                      int *type, int64_t ne[4]);

/* A string metadata value (e.g. "tokenizer.chat_template"), or NULL. The
 * returned pointer lives as long as the model. */
const char *owl_model_meta_str(const owl_model *model, const char *key);

/* ---- vocabulary and tokenizer -------------------------------------------- */

int32_t owl_n_vocab(const owl_model *model);
owl_token owl_token_bos(const owl_model *model); /* -1 if none */
owl_token owl_token_eos(const owl_model *model); /* -1 if none */
/* True for tokens that end a generation (eos, eot, im_end, ...). */
bool owl_token_is_eog(const owl_model *model, owl_token t);
/* The token's text as stored in the vocabulary (NUL-terminated). */
const char *owl_token_text(const owl_model *model, owl_token t);

/* Tokenizes text[0..len). add_special adds BOS/EOS as the model asks;
 * parse_special lets special tokens written in the text become their ids.
 * *ids is allocated (free with owl_free) and holds *n_ids tokens. */
owl_status owl_tokenize(const owl_model *model, const char *text, size_t len,
                        bool add_special, bool parse_special, owl_token **ids,
                        size_t *n_ids);

/* The bytes a token stands for in decoded text (a piece may be part of a
 * UTF-8 character). Writes at most cap bytes, returns the full length. */
size_t owl_token_piece(const owl_model *model, owl_token t, char *buf,
                       size_t cap);

/* Streaming detokenizer: feeds tokens, hands back only whole UTF-8
 * characters; bytes of an unfinished character wait for the next token. */
typedef struct owl_detok owl_detok;
owl_status owl_detok_new(const owl_model *model, owl_detok **out);
/* Sets text and len to the newly complete text (valid until the next call). */
void owl_detok_push(owl_detok *d, owl_token t, const char **text, size_t *len);
/* Ends the stream: what is left, invalid bytes replaced by U+FFFD. */
void owl_detok_flush(owl_detok *d, const char **text, size_t *len);
void owl_detok_free(owl_detok *d);

/* ---- chat templates ------------------------------------------------------ */

typedef struct owl_chat_msg {
    const char *role;    /* "system", "user", "assistant" */
    const char *content;
} owl_chat_msg;

/* Renders a conversation with the model's chat template. *out is allocated
 * (free with owl_free). */
owl_status owl_chat_apply(const owl_model *model, const owl_chat_msg *msgs,
                          size_t n_msgs, bool add_generation_prompt,
                          char **out);

/* ---- context and forward -------------------------------------------------- */

typedef struct owl_context owl_context;

typedef struct owl_context_params {
    uint32_t n_ctx;     /* KV cache cells, all sequences together;
                           0 = min(n_ctx_train, 4096) (default 0) */
    uint32_t n_batch;   /* most tokens one owl_decode call takes (512) */
    uint32_t n_seq_max; /* most distinct sequence ids (1) */
    int32_t n_threads;  /* 0 = the CPUs this process may use (default 0) */
    bool exact;         /* fp32 reference path: weights dequantized per row,
                           f32 activations and KV cache (default false) */
} owl_context_params;

owl_context_params owl_context_default_params(void);

owl_status owl_context_new(owl_model *model, const owl_context_params *params,
                           owl_context **out);
void owl_context_free(owl_context *ctx);

/* A batch: n tokens of possibly several sequences. logits[i] != 0 asks for
 * the logits of row i (logits may be NULL: only the last row). */
typedef struct owl_batch {
    int32_t n;
    const owl_token *token; /* (n) */
    const int32_t *pos;     /* (n) position inside its sequence */
    const int32_t *seq;     /* (n) sequence id, < n_seq_max */
    const int8_t *logits;   /* (n) or NULL */
} owl_batch;

/* Runs the model on a batch and appends its keys/values to the cache.
 * Returns OWL_ERR_FULL (cache unchanged) when there is no room. */
owl_status owl_decode(owl_context *ctx, const owl_batch *batch);

/* Logits (V) of batch row i of the last owl_decode, NULL if that row did
 * not ask for them. */
const float *owl_get_logits(owl_context *ctx, int32_t i);

/* Forgets positions [p0, p1) of sequence seq (p1 < 0: to the end;
 * seq < 0: every sequence). */
void owl_kv_seq_rm(owl_context *ctx, int32_t seq, int32_t p0, int32_t p1);
/* Largest position held for seq, or -1. */
int32_t owl_kv_seq_pos_max(const owl_context *ctx, int32_t seq);
uint32_t owl_context_n_ctx(const owl_context *ctx);

/* ---- sampling ----------------------------------------------------------- */

typedef struct owl_sampler owl_sampler;

typedef struct owl_sampler_params {
    float temp;              /* <= 0 greedy (default 0.8) */
    int32_t top_k;           /* <= 0 off (default 40) */
    float top_p;             /* >= 1 off (default 0.95) */
    float min_p;             /* <= 0 off (default 0.05) */
    float repeat_penalty;    /* 1 off (default 1.0) */
    int32_t penalty_last_n;  /* tokens the penalties look back at (64) */
    float presence_penalty;  /* 0 off (default 0) */
    float frequency_penalty; /* 0 off (default 0) */
    uint64_t seed;           /* same seed, same draws (default 0xdeadbeef) */
} owl_sampler_params;

owl_sampler_params owl_sampler_default_params(void);
owl_status owl_sampler_new(const owl_sampler_params *params, int32_t n_vocab,
                           owl_sampler **out);
/* Picks a token from logits (n_vocab). Does not record it. */
owl_token owl_sampler_sample(owl_sampler *s, const float *logits);
/* Records a token of the sequence (prompt or generated) for the penalties. */
void owl_sampler_accept(owl_sampler *s, owl_token t);
void owl_sampler_reset(owl_sampler *s);
void owl_sampler_free(owl_sampler *s);
/* Writes the sampling defaults the model ships over *params: a Hugging Face
 * folder's generation_config.json (temperature, top_p, top_k; do_sample
 * false means greedy, temp 0). Fields it does not give are left alone; a
 * GGUF changes nothing. Call it before applying the user's own options. */
void owl_model_sampler_defaults(const owl_model *model, owl_sampler_params *params);

#ifdef __cplusplus
}
#endif

#endif /* OWL_H */
