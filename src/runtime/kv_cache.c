/* kv_cache.c — cell bookkeeping and storage of the KV cache; see kv_cache.h. */
#include "kv_cache.h"

#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"

owl_status kv_cache_init(kv_cache *kv, int32_t n_layer, uint32_t n_ctx, int64_t row_elems,
                         int type) {
    memset(kv, 0, sizeof *kv);
    size_t per_layer, total, bytes;
    if (type != OWL_TYPE_F32 && type != OWL_TYPE_F16)
        return owl_err(OWL_ERR_ARG, "kv cache: type %d is not f32 or f16", type);
    size_t elem = type == OWL_TYPE_F32 ? 4 : 2;
    if (n_layer <= 0 || n_ctx == 0 || row_elems <= 0)
        return owl_err(OWL_ERR_ARG, "kv cache: bad size (%d layers, %u cells, %lld per row)",
                       n_layer, n_ctx, (long long)row_elems);
    if (!size_mul((size_t)n_ctx, (size_t)row_elems, &per_layer) ||
        !size_mul(per_layer, (size_t)n_layer, &total) || !size_mul(total, elem, &bytes))
        return owl_err(OWL_ERR_NOMEM, "kv cache: size overflows (%d layers x %u cells)", n_layer,
                       n_ctx);
    kv->n_ctx = n_ctx;
    kv->n_layer = n_layer;
    kv->row_elems = row_elems;
    kv->type = type;
    kv->elem = elem;
    kv->cells = owl_xcalloc(n_ctx, sizeof *kv->cells);
    kv->k = owl_xaligned(bytes);
    kv->v = owl_xaligned(bytes);
    if (!kv->cells || !kv->k || !kv->v) {
        kv_cache_free(kv);
        return OWL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n_ctx; i++) kv->cells[i].seq = -1;
    return OWL_OK;
}

void kv_cache_free(kv_cache *kv) {
    if (!kv) return;
    free(kv->cells);
    owl_afree(kv->k);
    owl_afree(kv->v);
    memset(kv, 0, sizeof *kv);
}

owl_status kv_cache_find(const kv_cache *kv, int32_t n, int32_t *cells_out) {
    if (n < 0 || (uint32_t)n > kv->n_ctx - kv->n_used)
        return owl_err(OWL_ERR_FULL, "kv cache full: %d tokens asked, %u of %u cells free", n,
                       kv->n_ctx - kv->n_used, kv->n_ctx);
    int32_t got = 0;
    for (uint32_t c = 0; c < kv->n_ctx && got < n; c++)
        if (kv->cells[c].seq < 0) cells_out[got++] = (int32_t)c;
    return OWL_OK;
}

void kv_cache_take(kv_cache *kv, int32_t c, int32_t pos, int32_t seq) {
    kv->cells[c].pos = pos;
    kv->cells[c].seq = seq;
    kv->n_used++;
    if ((uint32_t)c + 1 > kv->end) kv->end = (uint32_t)c + 1;
}

void kv_cache_seq_rm(kv_cache *kv, int32_t seq, int32_t p0, int32_t p1) {
    if (p0 < 0) p0 = 0;
    for (uint32_t c = 0; c < kv->end; c++) {
        kv_cell *cell = &kv->cells[c];
        if (cell->seq < 0 || (seq >= 0 && cell->seq != seq)) continue;
        if (cell->pos < p0 || (p1 >= 0 && cell->pos >= p1)) continue;
        cell->seq = -1;
        kv->n_used--;
    }
    while (kv->end > 0 && kv->cells[kv->end - 1].seq < 0) kv->end--;
}

int32_t kv_cache_seq_pos_max(const kv_cache *kv, int32_t seq) {
    int32_t mx = -1;
    for (uint32_t c = 0; c < kv->end; c++)
        if (kv->cells[c].seq == seq && kv->cells[c].seq >= 0 && kv->cells[c].pos > mx)
            mx = kv->cells[c].pos;
    return mx;
}
