/* matmul.c — the threaded matmul over weights of any dtype; see matmul.h.
 *
 * Work is counted in units of weight rows (MATMUL_TILE_ROWS), concatenated
 * over the ops, and cut into a few contiguous chunks per thread (so
 * neighbouring rows, and their bytes in the map, stay together), taken by
 * whichever thread is free (base/threadpool.h). On the default path a first pass
 * over the pool prepares x (quantized or f16-rounded rows, split by rows). */
#include "matmul.h"

#include <assert.h>
#include <stdint.h>

#include "../tensor/dtype.h"

size_t matmul_act_row_bytes(int t, int64_t max_cols) {
    const int64_t blck = dtype_get(t)->blck;
    return dtype_row_size(t, (max_cols + blck - 1) / blck * blck);
}

size_t matmul_scratch_per_thread(int64_t max_cols) {
    /* rounded up to whole cache lines so threads never share one */
    size_t n = (size_t)MATMUL_TILE_ROWS * (size_t)max_cols;
    return (n + 15) & ~(size_t)15;
}

/* the scratch of qgemm (qgemm_avx512.c, qgemm_k_avx512.c): per block of
 * 32 columns, the packed weights of 16 rows (at most 512 bytes) and their
 * scales, mins and integer scales (at most 256 bytes), and 8 bytes per
 * activation row */
size_t qgemm_scratch_bytes(int64_t n, int64_t B) {
    size_t nb = (size_t)(n / 32);
    return nb * (512 + 256) + (size_t)B * nb * 8 + 64;
}

/* how one op reads x */
typedef enum mm_mode {
    MM_F32,   /* x as given, fp32 dots */
    MM_F16X,  /* x rounded to f16 (F16 weights, default path), fp32 dots */
    MM_QDOT,  /* x quantized to the weight's activation type, integer dots */
} mm_mode;

typedef struct mm_job {
    const matmul_ctx *mc;
    int64_t B;
    const matmul_op *ops;
    int n_ops;
    mm_mode mode[MATMUL_MAX_OPS];
    const void *xin[MATMUL_MAX_OPS]; /* what each op reads as x */
    size_t xin_row[MATMUL_MAX_OPS];  /* bytes per row of xin (MM_QDOT) */
    bool need[OWL_TYPE_COUNT]; /* activation types the prep pass makes */
    int64_t units;             /* of all ops */
    bool need_f16;
} mm_job;

static int64_t op_units(const matmul_op *op) {
    return (op->w->rows + MATMUL_TILE_ROWS - 1) / MATMUL_TILE_ROWS;
}

/* activation rows per qgemm call (packed or not): as many as the
 * thread's scratch holds under qgemm_scratch_bytes, at most B */
static int64_t qgemm_batch_chunk(const matmul_ctx *mc, int64_t n, int64_t B) {
    const size_t avail = sizeof(float) * matmul_scratch_per_thread(mc->max_cols);
    const size_t fixed = qgemm_scratch_bytes(n, 0), per = qgemm_scratch_bytes(n, 1) - fixed;
    const int64_t bc = (int64_t)((avail - fixed) / per);
    return bc < B ? bc : B;
}

/* rows [r0, r1) of op i */
static void mm_rows(const mm_job *job, int i, int64_t r0, int64_t r1, float *scratch) {
    const matmul_ctx *mc = job->mc;
    const matmul_op *op = &job->ops[i];
    const int64_t B = job->B;
    const mat *w = op->w;
    const dtype_traits *tr = dtype_get(w->type);
    const uint8_t *base = (const uint8_t *)w->data;
    const int64_t n = w->cols;

    if (job->mode[i] == MM_QDOT) {
        qdot_fn qdot = mc->kt->qdot[w->type];
        qdot4_fn qdot4 = mc->kt->qdot4[w->type];
        const uint8_t *xq = job->xin[i];
        const size_t xr = job->xin_row[i];
        qgemm_fn qgemm = mc->kt->qgemm[w->type];
        const qpack_ops *qp = mc->kt->qpack[w->type];
        if (w->tiles && w->pack == qp && r0 / 16 < w->rows / 16) {
            /* the weight repacked at load: its tiles run every batch, one
             * token included (so a row's bits never depend on its batch),
             * activation rows in chunks whose side data fit the scratch */
            const int64_t bc = qgemm_batch_chunk(mc, n, B);
            const int64_t t0 = r0 / 16, t1 = (r1 / 16 < w->rows / 16 ? r1 / 16 : w->rows / 16);
            const uint8_t *tiles = (const uint8_t *)w->tiles + (size_t)t0 * qp->tile_bytes(n);
            for (int64_t b0 = 0; b0 < B; b0 += bc) {
                int64_t nbr = B - b0 < bc ? B - b0 : bc;
                qp->gemm(op->y + b0 * op->ldy + r0, op->ldy, tiles, t1 - t0, xq + (size_t)b0 * xr,
                         xr, nbr, n, op->add, scratch);
            }
            r0 = t1 * 16;
        } else if (qgemm && r1 - r0 >= 16 && B >= mc->kt->qgemm_min_b[w->type]) {
            /* the GEMM over whole tiles of 16 rows, activation rows in
             * chunks whose side data fit the thread's scratch. Used down
             * to one token where the table's qgemm_min_b is 0 (Q4_0,
             * Q4_1, Q5_0): a row's result then does not depend on the
             * batch it came in (8-bit activations turn the smallest
             * difference into a different rounding downstream) */
            const int64_t bc = qgemm_batch_chunk(mc, n, B);
            const int64_t R16 = (r1 - r0) / 16 * 16;
            for (int64_t b0 = 0; b0 < B; b0 += bc) {
                int64_t nbr = B - b0 < bc ? B - b0 : bc;
                qgemm(op->y + b0 * op->ldy + r0, op->ldy, base + (size_t)r0 * w->row_size,
                      w->row_size, R16, xq + (size_t)b0 * xr, xr, nbr, n, op->add, scratch);
            }
            r0 += R16;
        }
        for (int64_t t0 = r0; t0 < r1; t0 += MATMUL_TILE_ROWS) {
            int64_t t1 = r1 - t0 < MATMUL_TILE_ROWS ? r1 : t0 + MATMUL_TILE_ROWS;
            int64_t b = 0;
            for (; b + 4 <= B; b += 4) { /* four activation rows per weight block */
                float *y = op->y + b * op->ldy;
                for (int64_t r = t0; r < t1; r++) {
                    float d[4];
                    qdot4(base + (size_t)r * w->row_size, xq + (size_t)b * xr, xr, d, n);
                    for (int k = 0; k < 4; k++) {
                        float *o = y + k * op->ldy + r;
                        *o = op->add ? *o + d[k] : d[k];
                    }
                }
            }
            for (; b < B; b++) {
                float *y = op->y + b * op->ldy;
                for (int64_t r = t0; r < t1; r++) {
                    float d = qdot(base + (size_t)r * w->row_size, xq + (size_t)b * xr, n);
                    y[r] = op->add ? y[r] + d : d;
                }
            }
        }
        return;
    }

    const float *x = job->xin[i];
    const ptrdiff_t ldx = job->mode[i] == MM_F16X ? (ptrdiff_t)n : op->ldx;
    if (B == 1) {
        dtype_dot_f32_fn dot = mc->kt->rowdot[w->type] ? mc->kt->rowdot[w->type] : tr->dot_f32;
        for (int64_t r = r0; r < r1; r++) {
            float d = dot(base + (size_t)r * w->row_size, x, n);
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
        mc->kt->gemm_tile(op->y + t0, op->ldy, x, ldx, B, wt, ldw, R, n, op->add);
    }
}

/* chunk c of n: units [c*U/n, (c+1)*U/n), on thread ith */
static void mm_worker(void *arg, int c, int n, int ith) {
    const mm_job *job = arg;
    const matmul_ctx *mc = job->mc;
    float *scratch = mc->scratch + (size_t)ith * matmul_scratch_per_thread(mc->max_cols);
    const int64_t U = job->units;
    int64_t u0 = U * c / n, u1 = U * (c + 1) / n;
    int64_t start = 0; /* first unit of op i */
    for (int i = 0; i < job->n_ops && start < u1; i++) {
        const matmul_op *op = &job->ops[i];
        int64_t nu = op_units(op);
        int64_t a = u0 > start ? u0 - start : 0, b = u1 - start < nu ? u1 - start : nu;
        if (a < b) {
            int64_t r0 = a * MATMUL_TILE_ROWS, r1 = b * MATMUL_TILE_ROWS;
            if (r1 > op->w->rows) r1 = op->w->rows;
            mm_rows(job, i, r0, r1, scratch);
        }
        start += nu;
    }
}

/* the prep pass: rows [b0, b1) of x in every form some op needs */
static void prep_worker(void *arg, int ith, int nth) {
    const mm_job *job = arg;
    const matmul_ctx *mc = job->mc;
    const matmul_op *op = &job->ops[0]; /* all ops share x */
    const int64_t n = op->w->cols;
    int64_t b0 = job->B * ith / nth, b1 = job->B * (ith + 1) / nth;
    for (int t = 0; t < OWL_TYPE_COUNT; t++) {
        if (!job->need[t]) continue;
        const size_t rb = dtype_row_size(t, n);
        for (int64_t b = b0; b < b1; b++)
            mc->kt->act_quant[t](op->x + b * op->ldx, (uint8_t *)mc->x_act[t] + (size_t)b * rb, n);
    }
    if (job->need_f16)
        for (int64_t b = b0; b < b1; b++) act_round_f16(mc->x_f16 + b * n, op->x + b * op->ldx, n);
}

/* Where the table has no qgemm for K-quant and Q5_0 weights (AVX2 and
 * plain AVX-512 CPUs; the VNNI tables have qgemm_k_avx512.c and
 * qgemm_q5_0_vnni), their row dots lose to the dequantized fp32 tile GEMM
 * for a batch of 16 rows or more (pp512 of 135M Q4_K_M, side by side:
 * 39-46 t/s against 29-32 through qdot4), so prefill takes the F32 path
 * there; decode keeps the integer dots. */
static bool rowdot_only_prefill(const kernel_table *kt, int type, int64_t B) {
    const bool k = dtype_get(type)->vec_dot_type == OWL_TYPE_Q8_K || type == OWL_TYPE_Q5_0;
    return k && B >= 16 && !kt->qgemm[type];
}

void matmul(const matmul_ctx *mc, int64_t B, const matmul_op *ops, int n_ops) {
    if (B <= 0 || n_ops <= 0) return;
    assert(n_ops <= MATMUL_MAX_OPS && B <= mc->max_rows);
    mm_job job = {.mc = mc, .B = B, .ops = ops, .n_ops = n_ops};
    for (int i = 0; i < n_ops; i++) {
        const mat *w = ops[i].w;
        job.mode[i] = MM_F32;
        job.xin[i] = ops[i].x;
        if (mc->exact) continue;
        int act = dtype_get(w->type)->vec_dot_type;
        if (mc->kt->qdot[w->type] && mc->kt->act_quant[act] && mc->x_act[act] &&
            w->cols % dtype_get(act)->blck == 0 && !rowdot_only_prefill(mc->kt, w->type, B)) {
            job.mode[i] = MM_QDOT;
            job.xin[i] = mc->x_act[act];
            job.xin_row[i] = dtype_row_size(act, w->cols);
            job.need[act] = true;
        } else if (w->type == OWL_TYPE_F16) {
            job.mode[i] = MM_F16X;
            job.xin[i] = mc->x_f16;
            job.need_f16 = true;
        }
        assert(i == 0 || (ops[i].x == ops[0].x && ops[i].ldx == ops[0].ldx &&
                          w->cols == ops[0].w->cols) || job.mode[i] == MM_F32);
    }
    bool prep = job.need_f16;
    for (int t = 0; t < OWL_TYPE_COUNT; t++) prep = prep || job.need[t];
    if (prep) {
        if (B == 1)
            prep_worker(&job, 0, 1);
        else
            threadpool_run(mc->pool, prep_worker, &job);
    }
    /* a few chunks per thread: whichever thread is running takes the next,
     * so one the OS has descheduled delays only the chunk it holds */
    for (int i = 0; i < n_ops; i++) job.units += op_units(&ops[i]);
    int64_t nc = (int64_t)threadpool_size(mc->pool) * 4;
    if (nc > job.units) nc = job.units;
    threadpool_run_chunks(mc->pool, mm_worker, &job, (int)nc);
}
