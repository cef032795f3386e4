/* context.h — struct owl_context: what running a model needs besides its
 * weights — the KV cache, the thread pool, and activation scratch sized
 * once for n_batch rows at creation (nothing is allocated per token; only
 * the logits buffer grows, when a batch asks for more rows than ever).
 *
 * Letters: B batch rows (<= n_batch), C n_embd, H heads, Hkv kv heads,
 * D head_dim, F n_ff, V vocab, N n_ctx cells, T threads. */
#ifndef OWL_RUNTIME_CONTEXT_H
#define OWL_RUNTIME_CONTEXT_H

#include "owl.h"
#include "kv_cache.h"
#include "../base/threadpool.h"
#include "../kernels/kernels.h"
#include "../kernels/matmul.h"
#include "../model/model.h"

struct owl_context {
    owl_model *model;
    const hparams *hp;
    const model_weights *w;
    owl_context_params params; /* with defaults resolved */
    int n_threads;             /* T */
    threadpool *pool;
    const kernel_table *kt;
    matmul_ctx mm;
    kv_cache kv;

    /* activations of one decode call */
    float *x;        /* (B, C) residual stream */
    float *xn;       /* (B, C) normed input of a block; final norm of output rows */
    float *q;        /* (B, H*D) */
    float *k;        /* (B, Hkv*D) */
    float *v;        /* (B, Hkv*D) */
    float *att;      /* (B, H*D) attention output, heads side by side */
    float *ff_gate;  /* (B, F) gate, then silu(gate) * up */
    float *ff_up;    /* (B, F) */
    float *rope_cs;  /* (B, n_rot) (cos, sin) pairs of each row's position */
    int32_t *cell;   /* (B) KV cell each row writes */
    float *mm_scratch;    /* (T, MATMUL_TILE_ROWS * max cols) */
    float *att_scores;    /* (T, N) */
    int32_t *att_cells;   /* (T, N) cells a row attends to */
    void *x_act[OWL_TYPE_COUNT]; /* (B, activation row of max cols) default path */
    float *att_tile;      /* (T, att_tile_floats) blocked attention scratch, or NULL */
    size_t att_tile_floats;
    uint16_t *att_masks;  /* (T, N) which rows of a tile see each listed cell */
    float *x_f16;         /* (B, max cols) default path */

    /* outputs of the last decode */
    float *logits;     /* (out_cap, V) */
    int32_t out_cap;
    int32_t *out_idx;  /* (n_batch) batch row -> logits row, -1 when not asked */
    int32_t *out_rows; /* (n_batch) logits row -> batch row */
    int32_t n_last;    /* rows of the last successful decode (0 = none) */
};

#endif
