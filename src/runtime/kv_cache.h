/* kv_cache.h — the key/value cache of a context.
 *
 * n_ctx cells shared by all sequences; a cell holds one token's keys and
 * values for every layer, and remembers (pos, seq) — seq < 0 when free.
 * A row of sequence s at position p attends to the cells of s whose
 * pos <= p (causal, per sequence). Cells are handed out lowest index
 * first, so a sequence's cells are usually in position order, but after
 * kv_cache_seq_rm holes are reused in any order: attention never assumes
 * contiguity.
 *
 * Layout: K and V are (L, N, Hkv*D) arrays, one row of row_elems per cell
 * and layer (L layers, N = n_ctx cells, Hkv kv heads of D channels), of
 * f32 (the exact path) or f16 (the default path, as llama.cpp keeps it). */
#ifndef OWL_RUNTIME_KV_CACHE_H
#define OWL_RUNTIME_KV_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "owl.h"

typedef struct kv_cell {
    int32_t pos; /* position inside its sequence */
    int32_t seq; /* sequence id, -1 = free */
} kv_cell;

typedef struct kv_cache {
    uint32_t n_ctx;     /* N cells */
    int32_t n_layer;    /* L */
    int64_t row_elems;  /* Hkv*D elements of one cell in one layer */
    int type;           /* OWL_TYPE_F32 or OWL_TYPE_F16 */
    size_t elem;        /* bytes per element: 4 or 2 */
    kv_cell *cells;     /* (N) */
    uint32_t n_used;    /* occupied cells */
    uint32_t end;       /* one past the highest occupied cell */
    void *k;            /* (L, N, Hkv*D) */
    void *v;            /* (L, N, Hkv*D) */
} kv_cache;

/* type: OWL_TYPE_F32 or OWL_TYPE_F16 */
owl_status kv_cache_init(kv_cache *kv, int32_t n_layer, uint32_t n_ctx, int64_t row_elems,
                         int type);
void kv_cache_free(kv_cache *kv);

/* Finds n free cells (lowest first) into cells_out(n) without taking them;
 * OWL_ERR_FULL, cache untouched, when fewer than n are free. */
owl_status kv_cache_find(const kv_cache *kv, int32_t n, int32_t *cells_out);
/* Takes cell c for (pos, seq). */
void kv_cache_take(kv_cache *kv, int32_t c, int32_t pos, int32_t seq);

/* Frees the cells of seq (seq < 0: any) with pos in [p0, p1) (p1 < 0: no
 * upper bound). */
void kv_cache_seq_rm(kv_cache *kv, int32_t seq, int32_t p0, int32_t p1);
int32_t kv_cache_seq_pos_max(const kv_cache *kv, int32_t seq);

/* The K / V row of cell c in layer il: (Hkv*D) elements of kv->type. */
static inline void *kv_cache_k(const kv_cache *kv, int32_t il, int32_t c) {
    return (char *)kv->k + ((size_t)il * kv->n_ctx + (size_t)c) * (size_t)kv->row_elems * kv->elem;
}
static inline void *kv_cache_v(const kv_cache *kv, int32_t il, int32_t c) {
    return (char *)kv->v + ((size_t)il * kv->n_ctx + (size_t)c) * (size_t)kv->row_elems * kv->elem;
}

#endif
