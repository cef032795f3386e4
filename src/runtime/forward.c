/* forward.c — owl_decode: the batch-first forward pass of a decoder-only
 * transformer (llama family and the flags of hparams).
 *
 *   x = embed(tokens)                                   (B, C)
 *   for each layer:
 *     xn = rmsnorm(x) * attn_norm
 *     q, k, v = xn · Wq^T, xn · Wk^T, xn · Wv^T       (B, H*D), (B, Hkv*D) x2
 *               (+ biases, when the model has them)
 *     rope(q, k); K/V cache[cell[b]] = k[b], v[b]
 *     att[b, h] = attention(q[b, h], cells of seq[b] with pos <= pos[b])
 *     x += att · Wo^T (+ bias)
 *     xn = rmsnorm(x) * ffn_norm
 *     x += (silu(xn · Wgate^T) * (xn · Wup^T)) · Wdown^T
 *   logits[j] = (rmsnorm(x[row_j]) * output_norm) · Wout^T   rows that asked
 *
 * Two numerics: exact (params.exact) keeps every activation and the KV
 * cache in fp32; the default path computes as llama.cpp does on x86 —
 * activations quantized to 8 bits before each matmul with a Q4/Q8 weight
 * (kernels/matmul.h), an f16 KV cache with f16-rounded queries and softmax
 * weights, RoPE angles in fp32 — so that both pick the same tokens.
 *
 * The tokens of all sequences of a batch go through each matmul together
 * (a GEMM for a prompt, a GEMV for one token). Row-wise steps (norms, rope,
 * SwiGLU) and attention are split over the thread pool; attention by
 * (row, head), or on the default path for batches of ATTN_TILED_MIN_ROWS
 * rows or more by tiles of 16 rows x the heads of one kv head (the blocked
 * kernel, kt->attn_tile, which gives the same bits). Letters as in
 * context.h. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "context.h"
#include "../base/f16.h"
#include "../base/mem.h"
#include "../base/status.h"
#include "../tensor/dtype.h"

/* ---- batch checks ---------------------------------------------------------- */

static owl_status validate(const owl_context *ctx, const owl_batch *b, int32_t *n_out) {
    if (!b) return owl_err(OWL_ERR_ARG, "owl_decode: batch is NULL");
    if (b->n <= 0) return owl_err(OWL_ERR_ARG, "owl_decode: batch is empty (n = %d)", b->n);
    if ((uint32_t)b->n > ctx->params.n_batch)
        return owl_err(OWL_ERR_ARG, "owl_decode: batch of %d tokens exceeds n_batch %u", b->n,
                       ctx->params.n_batch);
    if (!b->token || !b->pos || !b->seq)
        return owl_err(OWL_ERR_ARG, "owl_decode: batch token, pos and seq must not be NULL");
    const int32_t V = ctx->hp->n_vocab;
    int32_t n = 0;
    for (int32_t i = 0; i < b->n; i++) {
        if (b->token[i] < 0 || b->token[i] >= V)
            return owl_err(OWL_ERR_ARG, "owl_decode: batch row %d: token %d is out of range [0, %d)",
                           i, b->token[i], V);
        if (b->seq[i] < 0 || (uint32_t)b->seq[i] >= ctx->params.n_seq_max)
            return owl_err(OWL_ERR_ARG,
                           "owl_decode: batch row %d: sequence id %d is out of range [0, %u)", i,
                           b->seq[i], ctx->params.n_seq_max);
        if (b->pos[i] < 0)
            return owl_err(OWL_ERR_ARG, "owl_decode: batch row %d: position %d is negative", i,
                           b->pos[i]);
        if (b->logits ? b->logits[i] != 0 : i == b->n - 1) n++;
    }
    *n_out = n;
    return OWL_OK;
}

/* Batches of at least this many rows run the blocked attention: below, its
 * 16-row tiles are mostly empty lanes and the per-(row, head) kernel costs
 * less. */
#define ATTN_TILED_MIN_ROWS 4

/* ---- row-parallel steps --------------------------------------------------- */

typedef enum step {
    STEP_EMBED,     /* x[b] = token_embd[token[b]], rope table of pos[b] */
    STEP_NORM_ATTN, /* xn[b] = rmsnorm(x[b]) * attn_norm */
    STEP_ROPE_KV,   /* rope q[b], k[b]; copy k[b], v[b] into the cache */
    STEP_ATTN,      /* att[b, h] for every (b, h) */
    STEP_NORM_FFN,  /* xn[b] = rmsnorm(x[b]) * ffn_norm */
    STEP_SWIGLU,    /* ff_gate[b] = silu(ff_gate[b]) * ff_up[b] */
    STEP_NORM_OUT,  /* xn[j] = rmsnorm(x[row_j]) * output_norm, j < n_out */
} step;

typedef struct fwd {
    owl_context *ctx;
    const owl_batch *b;
    int il;           /* layer */
    step st;
    int64_t n_items;  /* rows, or (row, head) pairs for STEP_ATTN */
    const int32_t *out_rows; /* (n_out) batch rows that want logits */
    float rope_theta; /* hp->rope_theta, or dynamic NTK's for this batch */
    bool attn_tiled;  /* STEP_ATTN items are tiles of rows (attn_tiles) */
    atomic_llong *next_item; /* STEP_ATTN tiles: the next one to take */
} fwd;

/* Attention for items [i0, i1) of (row, head) pairs, on thread ith. */
static void attn_items(const fwd *f, int64_t i0, int64_t i1, int ith) {
    owl_context *ctx = f->ctx;
    const hparams *hp = ctx->hp;
    const kv_cache *kv = &ctx->kv;
    const int32_t H = hp->n_head, D = hp->head_dim, group = hp->n_head / hp->n_head_kv;
    const float scale = 1.0f / sqrtf((float)D);
    float *scores = ctx->att_scores + (size_t)ith * kv->n_ctx;
    int32_t *cells = ctx->att_cells + (size_t)ith * kv->n_ctx;
    const bool f16 = kv->type == OWL_TYPE_F16;
    const void *kbase = kv_cache_k(kv, f->il, 0), *vbase = kv_cache_v(kv, f->il, 0);
    int32_t row = -1, n_cells = 0;
    for (int64_t it = i0; it < i1; it++) {
        int32_t b = (int32_t)(it / H), h = (int32_t)(it % H);
        if (b != row) { /* the cells row b may see, once for all its heads */
            row = b;
            n_cells = 0;
            const int32_t s = f->b->seq[b], p = f->b->pos[b];
            for (uint32_t c = 0; c < kv->end; c++)
                if (kv->cells[c].seq == s && kv->cells[c].pos <= p &&
                    (hp->sliding_window <= 0 || p - kv->cells[c].pos < hp->sliding_window))
                    cells[n_cells++] = (int32_t)c;
        }
        const int32_t g = h / group; /* kv head serving query head h */
        float *out = ctx->att + (size_t)b * H * D + (size_t)h * D;
        const float *q = ctx->q + (size_t)b * H * D + (size_t)h * D;
        if (f16)
            ctx->kt->attn_f16(out, q, (const uint16_t *)kbase + (size_t)g * D,
                               (const uint16_t *)vbase + (size_t)g * D, (size_t)kv->row_elems,
                               cells, n_cells, D, scale, scores, ctx->kt);
        else
            attention_head(out, q, (const float *)kbase + (size_t)g * D,
                           (const float *)vbase + (size_t)g * D, (size_t)kv->row_elems, cells,
                           n_cells, D, scale, scores, ctx->kt);
    }
}

/* Blocked attention (kt->attn_tile): items are (tile of ATTN_TILE_ROWS
 * consecutive batch rows, kv head), or whole tiles when there are enough
 * of them to keep every thread busy. Threads take items from a shared
 * counter, the latest rows first: a causal tile's cost grows with its
 * position, and the expensive ones last would leave a thread idle. An
 * item's result does not depend on which thread computes it. */
static void attn_tiles(const fwd *f, int ith, int nth) {
    owl_context *ctx = f->ctx;
    const hparams *hp = ctx->hp;
    const kv_cache *kv = &ctx->kv;
    const int32_t B = f->b->n, H = hp->n_head, Hkv = hp->n_head_kv, D = hp->head_dim,
                  G = H / Hkv, sw = hp->sliding_window;
    const int64_t QD = (int64_t)H * D;
    const int32_t n_tiles = (B + ATTN_TILE_ROWS - 1) / ATTN_TILE_ROWS;
    const bool whole = n_tiles >= 4 * nth; /* item = a tile and all its kv heads */
    const int64_t n_items = whole ? n_tiles : (int64_t)n_tiles * Hkv;
    const float scale = 1.0f / sqrtf((float)D);
    int32_t *cells = ctx->att_cells + (size_t)ith * kv->n_ctx;
    uint16_t *masks = ctx->att_masks + (size_t)ith * kv->n_ctx;
    float *scratch = ctx->att_tile + (size_t)ith * ctx->att_tile_floats;
    const uint16_t *kbase = kv_cache_k(kv, f->il, 0), *vbase = kv_cache_v(kv, f->il, 0);
    int32_t built = -1, n_cells = 0; /* the tile whose cells are listed */
    for (;;) {
        const int64_t it = atomic_fetch_add(f->next_item, 1);
        if (it >= n_items) break;
        const int32_t t = n_tiles - 1 - (int32_t)(whole ? it : it / Hkv);
        const int32_t b0 = t * ATTN_TILE_ROWS,
                      rows = B - b0 < ATTN_TILE_ROWS ? B - b0 : ATTN_TILE_ROWS;
        if (t != built) { /* the cells any row of the tile sees, bit i: row b0 + i sees it */
            built = t;
            n_cells = 0;
            const int32_t *seq = f->b->seq + b0, *pos = f->b->pos + b0;
            for (uint32_t c = 0; c < kv->end; c++) {
                const kv_cell cl = kv->cells[c];
                if (cl.seq < 0) continue;
                unsigned m = 0;
                for (int32_t i = 0; i < rows; i++)
                    m |= (unsigned)(cl.seq == seq[i] && cl.pos <= pos[i] &&
                                    (sw <= 0 || pos[i] - cl.pos < sw))
                         << i;
                if (m) {
                    cells[n_cells] = (int32_t)c;
                    masks[n_cells++] = (uint16_t)m;
                }
            }
        }
        const int32_t g0 = whole ? 0 : (int32_t)(it % Hkv), g1 = whole ? Hkv : g0 + 1;
        for (int32_t g = g0; g < g1; g++)
            ctx->kt->attn_tile(ctx->att + b0 * QD + (int64_t)g * G * D, QD,
                               ctx->q + b0 * QD + (int64_t)g * G * D, QD, rows, G, D,
                               kbase + (size_t)g * D, vbase + (size_t)g * D,
                               (size_t)kv->row_elems, cells, masks, n_cells, scale, scratch);
    }
}

/* y(n) += bias, when the model has one */
static inline void add_bias(float *y, const vec *bias) {
    if (!bias->data) return;
    for (int64_t i = 0; i < bias->n; i++) y[i] += bias->data[i];
}

static void step_worker(void *arg, int ith, int nth) {
    const fwd *f = arg;
    owl_context *ctx = f->ctx;
    const hparams *hp = ctx->hp;
    const model_weights *w = ctx->w;
    const int64_t C = hp->n_embd, QD = (int64_t)hp->n_head * hp->head_dim,
                  KD = (int64_t)hp->n_head_kv * hp->head_dim, F = hp->n_ff;
    const int64_t i0 = f->n_items * ith / nth, i1 = f->n_items * (ith + 1) / nth;
    /* the exact path keeps the reference rmsnorm, the default one the
     * table's (vector) variant */
    void (*norm)(float *, const float *, const float *restrict, int64_t, float) =
        ctx->params.exact ? rmsnorm : ctx->kt->rmsnorm;
    if (f->st == STEP_ATTN) {
        if (f->attn_tiled)
            attn_tiles(f, ith, nth);
        else
            attn_items(f, i0, i1, ith);
        return;
    }
    const layer_weights *l = f->st == STEP_EMBED || f->st == STEP_NORM_OUT ? NULL : &w->layers[f->il];
    for (int64_t b = i0; b < i1; b++) {
        switch (f->st) {
        case STEP_EMBED: {
            const mat *e = &w->tok_embd;
            dtype_get(e->type)->to_float((const uint8_t *)e->data +
                                             (size_t)f->b->token[b] * e->row_size,
                                         ctx->x + b * C, C);
            float scale = hp->rope_scaling == ROPE_SCALING_LINEAR ? 1.0f / hp->rope_factor : 1.0f;
            if (ctx->params.exact)
                rope_table(ctx->rope_cs + b * hp->n_rot, f->b->pos[b], hp->n_rot, f->rope_theta, scale,
                           w->rope_freqs.data);
            else
                rope_table_f32(ctx->rope_cs + b * hp->n_rot, f->b->pos[b], hp->n_rot,
                               f->rope_theta, scale, w->rope_freqs.data);
            if (hp->rope_attn_factor > 0.0f && hp->rope_attn_factor != 1.0f) /* YaRN */
                for (int32_t i = 0; i < hp->n_rot; i++)
                    ctx->rope_cs[b * hp->n_rot + i] *= hp->rope_attn_factor;
            break;
        }
        case STEP_NORM_ATTN:
            norm(ctx->xn + b * C, ctx->x + b * C, l->attn_norm.data, C, hp->norm_eps);
            break;
        case STEP_ROPE_KV: {
            const float *cs = ctx->rope_cs + b * hp->n_rot;
            add_bias(ctx->q + b * QD, &l->bq);
            add_bias(ctx->k + b * KD, &l->bk);
            add_bias(ctx->v + b * KD, &l->bv);
            if (l->q_norm.data) /* Qwen3: RMSNorm on each head, before RoPE */
                for (int32_t h = 0; h < hp->n_head; h++)
                    rmsnorm(ctx->q + b * QD + h * hp->head_dim, ctx->q + b * QD + h * hp->head_dim,
                            l->q_norm.data, hp->head_dim, hp->norm_eps);
            if (l->k_norm.data)
                for (int32_t h = 0; h < hp->n_head_kv; h++)
                    rmsnorm(ctx->k + b * KD + h * hp->head_dim, ctx->k + b * KD + h * hp->head_dim,
                            l->k_norm.data, hp->head_dim, hp->norm_eps);
            bool neox = hp->rope_style == ROPE_STYLE_NEOX;
            rope_apply(ctx->q + b * QD, hp->n_head, hp->head_dim, hp->n_rot, cs, neox);
            rope_apply(ctx->k + b * KD, hp->n_head_kv, hp->head_dim, hp->n_rot, cs, neox);
            void *kc = kv_cache_k(&ctx->kv, f->il, ctx->cell[b]);
            void *vc = kv_cache_v(&ctx->kv, f->il, ctx->cell[b]);
            if (ctx->kv.type == OWL_TYPE_F32) {
                memcpy(kc, ctx->k + b * KD, sizeof(float) * (size_t)KD);
                memcpy(vc, ctx->v + b * KD, sizeof(float) * (size_t)KD);
            } else {
                ctx->kt->to_f16(kc, ctx->k + b * KD, KD);
                ctx->kt->to_f16(vc, ctx->v + b * KD, KD);
            }
            break;
        }
        case STEP_NORM_FFN:
            add_bias(ctx->x + b * C, &l->bo); /* x += att · Wo^T was added before */
            norm(ctx->xn + b * C, ctx->x + b * C, l->ffn_norm.data, C, hp->norm_eps);
            break;
        case STEP_SWIGLU:
            if (ctx->params.exact)
                swiglu(ctx->ff_gate + b * F, ctx->ff_gate + b * F, ctx->ff_up + b * F, F);
            else /* a polynomial exp, vectorized, as llama.cpp's silu */
                ctx->kt->swiglu(ctx->ff_gate + b * F, ctx->ff_gate + b * F, ctx->ff_up + b * F, F);
            break;
        case STEP_NORM_OUT:
            norm(ctx->xn + b * C, ctx->x + (int64_t)f->out_rows[b] * C, w->output_norm.data, C,
                 hp->norm_eps);
            break;
        case STEP_ATTN:
            break;
        }
    }
}

/* Runs one step over n items: on the pool, or inline when one item. */
static void run_step(fwd *f, step st, int64_t n_items) {
    f->st = st;
    f->n_items = n_items;
    if (n_items <= 1)
        step_worker(f, 0, 1);
    else
        threadpool_run(f->ctx->pool, step_worker, f);
}

/* ---- the layer stack ------------------------------------------------------ */

static void forward(owl_context *ctx, const owl_batch *b, int32_t n_out, const int32_t *out_rows) {
    const hparams *hp = ctx->hp;
    const model_weights *w = ctx->w;
    const int64_t B = b->n, C = hp->n_embd, QD = (int64_t)hp->n_head * hp->head_dim,
                  KD = (int64_t)hp->n_head_kv * hp->head_dim, F = hp->n_ff;
    atomic_llong next_item;
    /* blocked attention for prompts (the same bits as per (row, head));
     * one or a few rows go by (row, head) */
    const bool tiled = ctx->att_tile && b->n >= ATTN_TILED_MIN_ROWS;
    fwd f = {.ctx = ctx, .b = b, .out_rows = out_rows, .rope_theta = hp->rope_theta,
             .attn_tiled = tiled, .next_item = &next_item};
    if (hp->rope_scaling == ROPE_SCALING_DYNAMIC) { /* as transformers: from the batch's longest position */
        int32_t len = 0;
        for (int32_t i = 0; i < b->n; i++) len = b->pos[i] + 1 > len ? b->pos[i] + 1 : len;
        if (len > hp->rope_orig_ctx)
            f.rope_theta = (float)(hp->rope_theta *
                                   pow((double)hp->rope_factor * len / hp->rope_orig_ctx - (hp->rope_factor - 1),
                                       (double)hp->n_rot / (hp->n_rot - 2)));
    }
    run_step(&f, STEP_EMBED, B);
    for (int il = 0; il < hp->n_layer; il++) {
        const layer_weights *l = &w->layers[il];
        f.il = il;
        run_step(&f, STEP_NORM_ATTN, B);
        const matmul_op qkv[3] = {
            {ctx->q, QD, ctx->xn, C, &l->wq, false},
            {ctx->k, KD, ctx->xn, C, &l->wk, false},
            {ctx->v, KD, ctx->xn, C, &l->wv, false},
        };
        matmul(&ctx->mm, B, qkv, 3);
        run_step(&f, STEP_ROPE_KV, B);
        atomic_store(&next_item, 0);
        run_step(&f, STEP_ATTN, f.attn_tiled ? 2 : B * hp->n_head);
        const matmul_op o = {ctx->x, C, ctx->att, QD, &l->wo, true};
        matmul(&ctx->mm, B, &o, 1);
        run_step(&f, STEP_NORM_FFN, B);
        const matmul_op gu[2] = {
            {ctx->ff_gate, F, ctx->xn, C, &l->w_gate, false},
            {ctx->ff_up, F, ctx->xn, C, &l->w_up, false},
        };
        matmul(&ctx->mm, B, gu, 2);
        run_step(&f, STEP_SWIGLU, B);
        const matmul_op down = {ctx->x, C, ctx->ff_gate, F, &l->w_down, true};
        matmul(&ctx->mm, B, &down, 1);
    }
    if (n_out == 0) return;
    run_step(&f, STEP_NORM_OUT, n_out);
    const matmul_op out = {ctx->logits, hp->n_vocab, ctx->xn, C, &w->output, false};
    matmul(&ctx->mm, n_out, &out, 1);
}

owl_status owl_decode(owl_context *ctx, const owl_batch *batch) {
    if (!ctx) return owl_err(OWL_ERR_ARG, "owl_decode: context is NULL");
    int32_t n_out = 0;
    owl_status s = validate(ctx, batch, &n_out);
    if (s != OWL_OK) return s;
    const int32_t n = batch->n;

    /* room for the logits: grows only when a batch asks for more rows than before */
    if (n_out > ctx->out_cap) {
        float *lg = owl_xreallocarray(ctx->logits, (size_t)n_out * (size_t)ctx->hp->n_vocab,
                                      sizeof(float));
        if (!lg) return OWL_ERR_NOMEM;
        ctx->logits = lg;
        ctx->out_cap = n_out;
    }
    /* cells for every row, or OWL_ERR_FULL with the cache untouched */
    s = kv_cache_find(&ctx->kv, n, ctx->cell);
    if (s != OWL_OK) return s;
    ctx->n_last = 0;
    for (int32_t i = 0; i < n; i++) kv_cache_take(&ctx->kv, ctx->cell[i], batch->pos[i], batch->seq[i]);

    /* rows that want logits: out_idx maps batch row -> logits row (-1: none),
     * out_rows lists those batch rows in order */
    int32_t j = 0;
    for (int32_t i = 0; i < n; i++) {
        bool want = batch->logits ? batch->logits[i] != 0 : i == n - 1;
        ctx->out_idx[i] = want ? j : -1;
        if (want) ctx->out_rows[j++] = i;
    }
    forward(ctx, batch, n_out, ctx->out_rows);
    ctx->n_last = n;
    return OWL_OK;
}
