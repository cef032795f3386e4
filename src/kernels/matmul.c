/* matmul.c — the threaded matmul over weights of any dtype; see matmul.h.
 *
 * Work is counted in units of weight rows (MATMUL_TILE_ROWS), concatenated
 * over the ops, and thread ith takes the contiguous range
 * [ith*U/nth, (ith+1)*U/nth) of units, so neighbouring rows (and their
 * bytes in the map) stay on one thread. */
#include "matmul.h"

#include <stdint.h>

#include "../tensor/dtype.h"

size_t matmul_scratch_per_thread(int64_t max_cols) {
    /* rounded up to whole cache lines so threads never share one */
    size_t n = (size_t)MATMUL_TILE_ROWS * (size_t)max_cols;
    return (n + 15) & ~(size_t)15;
}

typedef struct mm_job {
    const matmul_ctx *mc;
    int64_t B;
    const matmul_op *ops;
    int n_ops;
} mm_job;

static int64_t op_units(const matmul_op *op) {
    return (op->w->rows + MATMUL_TILE_ROWS - 1) / MATMUL_TILE_ROWS;
}

/* rows [r0, r1) of one op */
static void mm_rows(const matmul_ctx *mc, int64_t B, const matmul_op *op, int64_t r0, int64_t r1,
                    float *scratch) {
    const mat *w = op->w;
    const dtype_traits *tr = dtype_get(w->type);
    const uint8_t *base = (const uint8_t *)w->data;
    const int64_t n = w->cols;
    if (B == 1) {
        dtype_dot_f32_fn dot = mc->kt->rowdot[w->type] ? mc->kt->rowdot[w->type] : tr->dot_f32;
        for (int64_t r = r0; r < r1; r++) {
            float d = dot(base + (size_t)r * w->row_size, op->x, n);
            op->y[r] = op->add ? op->y[r] + d : d;
        }
        return;
    }
    bool direct = w->type == OWL_TYPE_F32 && ((uintptr_t)base % sizeof(float)) == 0 &&
                  w->row_size % sizeof(float) == 0;
    for (int64_t t0 = r0; t0 < r1; t0 += MATMUL_TILE_ROWS) {
        int64_t R = r1 - t0 < MATMUL_TILE_ROWS ? r1 - t0 : MATMUL_TILE_ROWS;
        const float *wt;
        ptrdiff_t ldw;
        if (direct) {
            wt = (const float *)(base + (size_t)t0 * w->row_size);
            ldw = (ptrdiff_t)(w->row_size / sizeof(float));
        } else {
            for (int64_t r = 0; r < R; r++)
                tr->to_float(base + (size_t)(t0 + r) * w->row_size, scratch + r * n, n);
            wt = scratch;
            ldw = (ptrdiff_t)n;
        }
        mc->kt->gemm_tile(op->y + t0, op->ldy, op->x, op->ldx, B, wt, ldw, R, n, op->add);
    }
}

static void mm_worker(void *arg, int ith, int nth) {
    const mm_job *job = arg;
    const matmul_ctx *mc = job->mc;
    float *scratch = mc->scratch + (size_t)ith * matmul_scratch_per_thread(mc->max_cols);
    int64_t U = 0;
    for (int i = 0; i < job->n_ops; i++) U += op_units(&job->ops[i]);
    int64_t u0 = U * ith / nth, u1 = U * (ith + 1) / nth;
    int64_t start = 0; /* first unit of op i */
    for (int i = 0; i < job->n_ops && start < u1; i++) {
        const matmul_op *op = &job->ops[i];
        int64_t nu = op_units(op);
        int64_t a = u0 > start ? u0 - start : 0, b = u1 - start < nu ? u1 - start : nu;
        if (a < b) {
            int64_t r0 = a * MATMUL_TILE_ROWS, r1 = b * MATMUL_TILE_ROWS;
            if (r1 > op->w->rows) r1 = op->w->rows;
            mm_rows(mc, job->B, op, r0, r1, scratch);
        }
        start += nu;
    }
}

void matmul(const matmul_ctx *mc, int64_t B, const matmul_op *ops, int n_ops) {
    if (B <= 0 || n_ops <= 0) return;
    mm_job job = {mc, B, ops, n_ops};
    threadpool_run(mc->pool, mm_worker, &job);
}
