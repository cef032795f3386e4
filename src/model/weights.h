/* weights.h — the weights of a decoder-only transformer as views into the
 * mapped GGUF file, and the binder that finds a tensor by name and checks
 * its type and shape before the model uses it.
 *
 * Matrices (mat) stay in their file type and are read a row at a time;
 * vectors (norm weights) are f32, pointing into the map when the file
 * stores f32 and otherwise converted once at load into owned memory.
 *
 * Shape letters: V vocab, C n_embd, H heads, Hkv kv heads, D head_dim,
 * F n_ff. "(rows, cols)" = GGUF (ne[1], ne[0]); a row is contiguous. */
#ifndef OWL_MODEL_WEIGHTS_H
#define OWL_MODEL_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "owl.h"
#include "../io/tensor_dir.h"
#include "../kernels/matmul.h"

/* mat: a 2-D weight matrix (rows, cols) in its file type, any dtype with
 * to_float and dot_f32 — defined in kernels/matmul.h, which reads it. */

/* A 1-D f32 vector (n). */
typedef struct vec {
    const float *data;   /* NULL when absent */
    int64_t n;
    float *owned;        /* non-NULL when converted at load (freed with it) */
} vec;

typedef struct layer_weights {
    vec attn_norm;  /* (C) */
    mat wq;         /* (H*D, C) */
    mat wk;         /* (Hkv*D, C) */
    mat wv;         /* (Hkv*D, C) */
    mat wo;         /* (C, H*D) */
    vec bq, bk, bv; /* (H*D), (Hkv*D), (Hkv*D) biases, or absent */
    vec bo;         /* (C) bias of wo, or absent */
    vec q_norm, k_norm; /* (D) RMSNorm weights on each q / k head, or absent */
    vec ffn_norm;   /* (C) */
    mat w_gate;     /* (F, C) */
    mat w_up;       /* (F, C) */
    mat w_down;     /* (C, F) */
} layer_weights;

typedef struct model_weights {
    mat tok_embd;          /* (V, C) */
    vec output_norm;       /* (C) */
    mat output;            /* (V, C); == tok_embd when tied */
    vec rope_freqs;        /* (n_rot/2) RoPE frequency divisors, or absent */
    layer_weights *layers; /* (L) owned */
    int32_t n_layer;
    void *packed;          /* the tiles of every packed mat (weights_pack), mapped */
    size_t packed_size;
} model_weights;

/* Finds tensor `name` (printf-style with one int, e.g. "blk.%d.attn_q.weight"
 * and layer il) and checks it is a 2-D matrix of (rows, cols) whose type can
 * be a matmul weight. required=false: a missing tensor leaves m->data NULL
 * and returns OWL_OK. Errors name the file, tensor, and expected vs actual. */
owl_status weights_bind_mat(const tensor_dir *g, const char *name, int il,
                            int64_t rows, int64_t cols, bool required, mat *m);
/* Same for a 1-D vector of n elements (converted to f32 when needed). */
owl_status weights_bind_vec(const tensor_dir *g, const char *name, int il, int64_t n,
                            bool required, vec *v);
/* Repacks every matmul weight whose type has a packed layout in kt
 * (kernels.h qpack) into owned tiles, for the default path; mat.data stays
 * valid. Pages of the originals inside one of the n_maps file maps are
 * released (madvise), to be read again from the file if the exact path
 * wants them. */
owl_status weights_pack(model_weights *w, const kernel_table *kt, const mapfile *maps,
                        size_t n_maps);
/* Frees what bind_vec converted and pack made, and the layer array. */
void weights_free(model_weights *w);

#endif
