/* context.c — owl_context creation and teardown, and the small accessors
 * of the public API (logits, KV cache edits). The forward pass is in
 * forward.c. */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "../base/mem.h"
#include "../base/status.h"

owl_context_params owl_context_default_params(void) {
    owl_context_params p;
    memset(&p, 0, sizeof p);
    p.n_ctx = 0;
    p.n_batch = 512;
    p.n_seq_max = 1;
    p.n_threads = 0;
    p.exact = false;
    return p;
}

/* *p = aligned (a * b) floats */
static bool alloc_f32(float **p, size_t a, size_t b) {
    size_t n, bytes;
    if (!size_mul(a, b, &n) || !size_mul(n, sizeof(float), &bytes)) {
        owl_err(OWL_ERR_NOMEM, "context: buffer size overflows");
        return false;
    }
    *p = owl_xaligned(bytes);
    return *p != NULL;
}

owl_status owl_context_new(owl_model *model, const owl_context_params *params,
                           owl_context **out) {
    if (!out) return owl_err(OWL_ERR_ARG, "owl_context_new: out is NULL");
    *out = NULL;
    if (!model) return owl_err(OWL_ERR_ARG, "owl_context_new: model is NULL");
    if (!model->impl)
        return owl_err(OWL_ERR_ARG, "owl_context_new: the model was loaded vocab_only");
    owl_context_params p = params ? *params : owl_context_default_params();
    const hparams *hp = &model->impl->hp;
    if (p.n_ctx == 0) p.n_ctx = hp->n_ctx_train < 4096 ? (uint32_t)hp->n_ctx_train : 4096;
    if (p.n_ctx > (1u << 24))
        return owl_err(OWL_ERR_ARG, "owl_context_new: n_ctx %u is too large (max %u)", p.n_ctx,
                       1u << 24);
    if (p.n_batch == 0)
        return owl_err(OWL_ERR_ARG, "owl_context_new: n_batch must be >= 1");
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.n_seq_max == 0) p.n_seq_max = 1;
    if (p.n_threads <= 0) p.n_threads = owl_cpu_count();
    if (p.n_threads > 256) p.n_threads = 256;

    owl_context *ctx = owl_xcalloc(1, sizeof *ctx);
    if (!ctx) return OWL_ERR_NOMEM;
    ctx->model = model;
    ctx->hp = hp;
    ctx->w = &model->impl->w;
    ctx->params = p;
    ctx->n_threads = p.n_threads;
    ctx->kt = kernels_get();

    const size_t B = p.n_batch, C = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    const size_t QD = (size_t)hp->n_head * (size_t)hp->head_dim;
    const size_t KD = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    const size_t T = (size_t)p.n_threads, N = p.n_ctx;
    int64_t max_cols = hp->n_embd;
    if ((int64_t)QD > max_cols) max_cols = (int64_t)QD;
    if (hp->n_ff > max_cols) max_cols = hp->n_ff;

    owl_status s = threadpool_new(p.n_threads, &ctx->pool);
    if (s == OWL_OK)
        s = kv_cache_init(&ctx->kv, hp->n_layer, p.n_ctx, (int64_t)KD,
                          p.exact ? OWL_TYPE_F32 : OWL_TYPE_F16);
    if (s == OWL_OK) {
        bool ok = alloc_f32(&ctx->x, B, C) && alloc_f32(&ctx->xn, B, C) &&
                  alloc_f32(&ctx->q, B, QD) && alloc_f32(&ctx->k, B, KD) &&
                  alloc_f32(&ctx->v, B, KD) && alloc_f32(&ctx->att, B, QD) &&
                  alloc_f32(&ctx->ff_gate, B, F) && alloc_f32(&ctx->ff_up, B, F) &&
                  alloc_f32(&ctx->rope_cs, B, (size_t)(hp->n_rot > 0 ? hp->n_rot : 1)) &&
                  alloc_f32(&ctx->mm_scratch, T, matmul_scratch_per_thread(max_cols)) &&
                  alloc_f32(&ctx->att_scores, T, N);
        if (ok && !p.exact) {
            /* a row of every activation type the kernels quantize to */
            for (int t = 0; ok && t < OWL_TYPE_COUNT; t++)
                if (ctx->kt->act_quant[t])
                    ok = alloc_f32((float **)&ctx->x_act[t], B,
                                   (matmul_act_row_bytes(t, max_cols) + 3) / 4);
            ok = ok && alloc_f32(&ctx->x_f16, B, (size_t)max_cols);
            if (ok && ctx->kt->attn_tile && hp->head_dim % 16 == 0) { /* blocked attention */
                ctx->att_tile_floats = (attention_tile_scratch_floats(hp->n_head / hp->n_head_kv,
                                                                      hp->head_dim, (int32_t)N) +
                                        15) / 16 * 16;
                ctx->att_masks = owl_xreallocarray(NULL, T * N, sizeof *ctx->att_masks);
                ok = alloc_f32(&ctx->att_tile, T, ctx->att_tile_floats) && ctx->att_masks;
            }
        }
        if (ok) {
            ctx->cell = owl_xreallocarray(NULL, B, sizeof *ctx->cell);
            ctx->out_idx = owl_xreallocarray(NULL, B, sizeof *ctx->out_idx);
            ctx->out_rows = owl_xreallocarray(NULL, B, sizeof *ctx->out_rows);
            ctx->att_cells = owl_xreallocarray(NULL, T * N, sizeof *ctx->att_cells);
            ok = ctx->cell && ctx->out_idx && ctx->out_rows && ctx->att_cells;
        }
        if (!ok) s = OWL_ERR_NOMEM;
    }
    if (s != OWL_OK) {
        owl_context_free(ctx);
        return s;
    }
    ctx->mm.pool = ctx->pool;
    ctx->mm.kt = ctx->kt;
    ctx->mm.scratch = ctx->mm_scratch;
    ctx->mm.max_cols = max_cols;
    ctx->mm.exact = p.exact;
    ctx->mm.max_rows = (int64_t)B;
    memcpy(ctx->mm.x_act, ctx->x_act, sizeof ctx->x_act);
    ctx->mm.x_f16 = ctx->x_f16;
    *out = ctx;
    return OWL_OK;
}

void owl_context_free(owl_context *ctx) {
    if (!ctx) return;
    threadpool_free(ctx->pool);
    kv_cache_free(&ctx->kv);
    owl_afree(ctx->x);
    owl_afree(ctx->xn);
    owl_afree(ctx->q);
    owl_afree(ctx->k);
    owl_afree(ctx->v);
    owl_afree(ctx->att);
    owl_afree(ctx->ff_gate);
    owl_afree(ctx->ff_up);
    owl_afree(ctx->rope_cs);
    owl_afree(ctx->mm_scratch);
    owl_afree(ctx->att_scores);
    for (int t = 0; t < OWL_TYPE_COUNT; t++) owl_afree(ctx->x_act[t]);
    owl_afree(ctx->att_tile);
    free(ctx->att_masks);
    owl_afree(ctx->x_f16);
    free(ctx->att_cells);
    free(ctx->cell);
    free(ctx->out_idx);
    free(ctx->out_rows);
    free(ctx->logits);
    free(ctx);
}

const float *owl_get_logits(owl_context *ctx, int32_t i) {
    if (!ctx || i < 0 || i >= ctx->n_last) return NULL;
    int32_t j = ctx->out_idx[i];
    if (j < 0) return NULL;
    return ctx->logits + (size_t)j * (size_t)ctx->hp->n_vocab;
}

void owl_kv_seq_rm(owl_context *ctx, int32_t seq, int32_t p0, int32_t p1) {
    if (ctx) kv_cache_seq_rm(&ctx->kv, seq, p0, p1);
}

int32_t owl_kv_seq_pos_max(const owl_context *ctx, int32_t seq) {
    return ctx && seq >= 0 ? kv_cache_seq_pos_max(&ctx->kv, seq) : -1;
}

uint32_t owl_context_n_ctx(const owl_context *ctx) { return ctx ? ctx->params.n_ctx : 0; }
