/* weights.c — binds weight slots to tensors of a tensor directory (GGUF or safetensors) by name,
 * checking dimensions, shape and type, and frees what binding converted. */
#define _DEFAULT_SOURCE /* madvise */
#include "weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "../base/threadpool.h"
#include "../tensor/dtype.h"

static const char *type_label(const td_tensor *t, char *buf, size_t cap) {
    const dtype_traits *tr = t->type >= 0 ? dtype_get(t->type) : NULL;
    if (tr) return tr->name;
    if (t->type < 0) return t->src_dtype;
    snprintf(buf, cap, "type %d", t->type);
    return buf;
}

/* Looks the tensor up; *t = NULL when missing (an error when required). */
static owl_status find(const tensor_dir *g, const char *fmt, int il, bool required,
                       char *name, size_t cap, const td_tensor **t) {
    snprintf(name, cap, fmt, il);
    *t = tensor_dir_find(g, name);
    if (!*t && required)
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s' is missing", g->path, name);
    return OWL_OK;
}

owl_status weights_bind_mat(const tensor_dir *g, const char *fmt, int il, int64_t rows,
                            int64_t cols, bool required, mat *m) {
    char name[128], tb[32];
    const td_tensor *t;
    m->data = NULL;
    m->tiles = NULL;
    m->pack = NULL;
    owl_status s = find(g, fmt, il, required, name, sizeof name, &t);
    if (s != OWL_OK || !t) return s;
    const dtype_traits *tr = t->type >= 0 ? dtype_get(t->type) : NULL;
    if (!tr)
        return owl_err(OWL_ERR_UNSUPPORTED, "%s: tensor '%s' has %s, which owl does not support",
                       g->path, name, type_label(t, tb, sizeof tb));
    if (!tr->to_float || !tr->dot_f32)
        return owl_err(OWL_ERR_UNSUPPORTED,
                       "%s: tensor '%s' has type %s, which cannot be a matmul weight yet",
                       g->path, name, tr->name);
    bool dims_ok = t->ne[2] == 1 && t->ne[3] == 1;
    if (!dims_ok || t->ne[0] != cols || t->ne[1] != rows)
        return owl_err(OWL_ERR_FORMAT,
                       "%s: tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
                       g->path, name, (long long)t->ne[0], (long long)t->ne[1],
                       (long long)t->ne[2], (long long)t->ne[3], (long long)cols,
                       (long long)rows);
    size_t rs = dtype_row_size(t->type, cols), total;
    if (rs == 0 || !size_mul(rs, (size_t)rows, &total) || total > t->nbytes)
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s' (%s, [%lld, %lld]) does not fit its data",
                       g->path, name, tr->name, (long long)cols, (long long)rows);
    m->data = t->data;
    m->tiles = NULL;
    m->pack = NULL;
    m->type = t->type;
    m->rows = rows;
    m->cols = cols;
    m->row_size = rs;
    return OWL_OK;
}

owl_status weights_bind_vec(const tensor_dir *g, const char *fmt, int il, int64_t n,
                            bool required, vec *v) {
    char name[128], tb[32];
    const td_tensor *t;
    v->data = NULL;
    v->owned = NULL;
    v->n = 0;
    owl_status s = find(g, fmt, il, required, name, sizeof name, &t);
    if (s != OWL_OK || !t) return s;
    const dtype_traits *tr = t->type >= 0 ? dtype_get(t->type) : NULL;
    if (!tr || !tr->to_float)
        return owl_err(OWL_ERR_UNSUPPORTED, "%s: tensor '%s' has %s, which owl does not support",
                       g->path, name, type_label(t, tb, sizeof tb));
    if (t->ne[0] != n || t->ne[1] != 1 || t->ne[2] != 1 || t->ne[3] != 1)
        return owl_err(OWL_ERR_FORMAT,
                       "%s: tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld]",
                       g->path, name, (long long)t->ne[0], (long long)t->ne[1],
                       (long long)t->ne[2], (long long)t->ne[3], (long long)n);
    size_t rs = dtype_row_size(t->type, n);
    if (rs == 0 || rs > t->nbytes)
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s' (%s, [%lld]) does not fit its data",
                       g->path, name, tr->name, (long long)n);
    v->n = n;
    if (t->type == OWL_TYPE_F32 && ((uintptr_t)t->data % sizeof(float)) == 0) {
        v->data = t->data;
        return OWL_OK;
    }
    v->owned = owl_xreallocarray(NULL, (size_t)n, sizeof(float));
    if (!v->owned) return OWL_ERR_NOMEM;
    tr->to_float(t->data, v->owned, n);
    v->data = v->owned;
    return OWL_OK;
}

/* the matrices the forward pass multiplies by (tok_embd is only read a
 * row at a time; a tied output is a copy of its view) */
static int matmul_mats(model_weights *w, mat **out) {
    int n = 0;
    out[n++] = &w->output;
    for (int32_t i = 0; i < w->n_layer; i++) {
        layer_weights *l = &w->layers[i];
        mat *ms[] = {&l->wq, &l->wk, &l->wv, &l->wo, &l->w_gate, &l->w_up, &l->w_down};
        for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++) out[n++] = ms[k];
    }
    return n;
}

typedef struct pack_job {
    const mat *m;
    uint8_t *dst;
    size_t tb;
    int64_t T;
} pack_job;

static void pack_worker(void *arg, int ith, int nth) {
    const pack_job *j = arg;
    const uint8_t *src = j->m->data;
    for (int64_t t = j->T * ith / nth; t < j->T * (ith + 1) / nth; t++)
        j->m->pack->pack(j->dst + (size_t)t * j->tb, src + (size_t)t * 16 * j->m->row_size,
                         j->m->row_size, j->m->cols);
}

/* tiles of m: whole tiles of 16 rows */
static size_t mat_tile_bytes(const mat *m, const kernel_table *kt) {
    const qpack_ops *qp = m->data && !m->tiles ? kt->qpack[m->type] : NULL;
    if (!qp || m->rows / 16 == 0 || m->cols < qp->min_cols) return 0;
    size_t total;
    if (!size_mul(qp->tile_bytes(m->cols), (size_t)(m->rows / 16), &total)) return SIZE_MAX;
    return (total + 63) & ~(size_t)63;
}

/* the map holding [p, p + n), or NULL */
static const mapfile *map_of(const mapfile *maps, size_t n_maps, const void *p, size_t n) {
    for (size_t i = 0; i < n_maps; i++) {
        const uint8_t *b = maps[i].data;
        if (b && (const uint8_t *)p >= b && (size_t)((const uint8_t *)p - b) <= maps[i].size &&
            n <= maps[i].size - (size_t)((const uint8_t *)p - b))
            return &maps[i];
    }
    return NULL;
}

owl_status weights_pack(model_weights *w, const kernel_table *kt, const mapfile *maps,
                        size_t n_maps) {
    mat **ms = owl_xreallocarray(NULL, (size_t)w->n_layer * 7 + 1, sizeof *ms);
    if (!ms) return OWL_ERR_NOMEM;
    const int n = matmul_mats(w, ms);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t b = mat_tile_bytes(ms[i], kt);
        if (b == SIZE_MAX || total + b < total) {
            free(ms);
            return owl_err(OWL_ERR_NOMEM, "the packed weights do not fit in memory");
        }
        total += b;
    }
    if (total == 0) {
        free(ms);
        return OWL_OK;
    }
    /* one anonymous region in 2 MiB pages where the kernel allows them:
     * fewer page faults at load (most of the load time is the kernel
     * zeroing pages) and fewer TLB misses streaming the weights */
    const size_t huge = (size_t)2 << 20;
    const size_t region = (total + huge - 1) / huge * huge;
    uint8_t *raw = mmap(NULL, region + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (raw == MAP_FAILED) {
        free(ms);
        return owl_err(OWL_ERR_NOMEM, "out of memory: %zu bytes for the packed weights", total);
    }
    /* aligned to a huge page, the slack either side given back */
    uint8_t *base = (uint8_t *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    if (base > raw) munmap(raw, (size_t)(base - raw));
    if (base + region < raw + region + huge)
        munmap(base + region, (size_t)(raw + region + huge - (base + region)));
    madvise(base, region, MADV_HUGEPAGE);
    w->packed = base;
    w->packed_size = region;
    threadpool *pool = NULL;
    int nth = owl_cpu_count();
    if (threadpool_new(nth < 1 ? 1 : nth > 16 ? 16 : nth, &pool) != OWL_OK) pool = NULL;
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        mat *m = ms[i];
        const size_t b = mat_tile_bytes(m, kt);
        if (!b) continue;
        m->pack = kt->qpack[m->type];
        pack_job j = {m, base + off, m->pack->tile_bytes(m->cols), m->rows / 16};
        if (pool) threadpool_run(pool, pack_worker, &j);
        else pack_worker(&j, 0, 1);
        m->tiles = base + off;
        off += b;
        /* the mapped original's whole pages inside the packed rows are
         * released: clean file pages, read again from the file should the
         * exact path want them, so resident memory holds the weights once */
        const uint8_t *src = m->data;
        const size_t len = (size_t)j.T * 16 * m->row_size;
        const uintptr_t lo = ((uintptr_t)src + pg - 1) & ~(uintptr_t)(pg - 1);
        const uintptr_t hi = ((uintptr_t)src + len) & ~(uintptr_t)(pg - 1);
        if (lo < hi && map_of(maps, n_maps, src, len))
            madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
    if (pool) threadpool_free(pool);
    free(ms);
    return OWL_OK;
}

static void vec_free(vec *v) {
    free(v->owned);
    v->owned = NULL;
    v->data = NULL;
}

void weights_free(model_weights *w) {
    if (!w) return;
    vec_free(&w->output_norm);
    vec_free(&w->rope_freqs);
    if (w->packed) munmap(w->packed, w->packed_size); /* every mat's tiles */
    w->packed = NULL;
    if (w->layers) {
        for (int32_t i = 0; i < w->n_layer; i++) {
            layer_weights *l = &w->layers[i];
            vec_free(&l->attn_norm);
            vec_free(&l->ffn_norm);
            vec_free(&l->bq);
            vec_free(&l->bk);
            vec_free(&l->bv);
            vec_free(&l->bo);
            vec_free(&l->q_norm);
            vec_free(&l->k_norm);
        }
        free(w->layers);
    }
    w->layers = NULL;
}
