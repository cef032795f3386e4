/* matmul.h — y(B, rows) = x(B, cols) · W(rows, cols)^T for a weight W of
 * any dtype, split by rows over the context's thread pool.
 *
 * Exact fp32 path: for B == 1 each weight row is dotted with x by the
 * kernel table's fused row dot for its type (kernels.h), or else by the
 * type's scalar dot_f32 (tensor/dtype.h); for B > 1 a tile of weight rows is
 * dequantized once into a per-thread scratch and dotted with all B rows
 * (row reuse: no whole-matrix dequantization, no allocation).
 *
 * Default path (exact = false), as llama.cpp computes on x86: for a weight
 * whose type has a dot in the kernel table (kt->qdot) and whose activation
 * type (dtype vec_dot_type) has a quantizer (kt->act_quant), x is first
 * converted per row to that type (Q8_0, Q8_1, Q8_K, BF16) and every dot
 * runs on the two formats; for an F16 weight x is rounded to f16 first.
 * Other types take the exact path.
 *
 * Several matmuls sharing the same x (q, k, v; gate, up) run in one pass
 * over the pool, so their rows are shared out together, and x is prepared
 * once for all of them. */
#ifndef OWL_KERNELS_MATMUL_H
#define OWL_KERNELS_MATMUL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"
#include "../base/threadpool.h"

/* A 2-D weight matrix W (rows, cols) in its file type: a view, not owned. */
typedef struct mat {
    const void *data;    /* NULL when absent */
    int type;            /* owl_type */
    int64_t rows, cols;  /* GGUF ne[1], ne[0] */
    size_t row_size;     /* bytes of one row */
    /* the first rows / 16 tiles of 16 rows repacked at load for the
     * default path (kernels.h qpack_ops), by `pack`; NULL when not packed.
     * Owned by the model (weights_free). */
    const void *tiles;
    const struct qpack_ops *pack;
} mat;

typedef struct matmul_op {
    float *y;         /* (B, w->rows), row stride ldy floats */
    ptrdiff_t ldy;
    const float *x;   /* (B, w->cols), row stride ldx floats */
    ptrdiff_t ldx;
    const mat *w;
    bool add;         /* y += x·W^T instead of y = */
} matmul_op;

/* Weight rows one thread dequantizes at a time (B > 1). */
#define MATMUL_TILE_ROWS 32

typedef struct matmul_ctx {
    threadpool *pool;
    const kernel_table *kt;
    float *scratch;       /* (threads, MATMUL_TILE_ROWS * max_cols), aligned */
    int64_t max_cols;     /* widest W this scratch serves */
    bool exact;           /* fp32 activations everywhere */
    /* default path: x prepared for the weights, max_rows rows of max_cols */
    int64_t max_rows;
    /* x_act[t]: (max_rows, matmul_act_row_bytes(t, max_cols)) for each
     * activation type t the kernel table quantizes to (kt->act_quant) */
    void *x_act[OWL_TYPE_COUNT];
    float *x_f16;         /* (max_rows, max_cols) x rounded to f16 */
} matmul_ctx;

/* Bytes of one activation row of type t (a vec_dot_type) for weights up
 * to max_cols wide: whole blocks, rounded up. */
size_t matmul_act_row_bytes(int t, int64_t max_cols);

/* Floats of scratch one thread needs for weights up to max_cols wide. */
size_t matmul_scratch_per_thread(int64_t max_cols);

/* At most this many ops per call. */
#define MATMUL_MAX_OPS 4

/* Runs ops[0..n_ops), each y = x·W^T for B rows; all cols <= max_cols,
 * B <= max_rows. Ops of one call share x (same pointer, stride, cols) when
 * the default path prepares it. */
void matmul(const matmul_ctx *mc, int64_t B, const matmul_op *ops, int n_ops);

#endif
