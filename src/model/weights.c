/* weights.c — binds weight slots to tensors of a tensor directory (GGUF or safetensors) by name,
 * checking dimensions, shape and type, and frees what binding converted. */
#include "weights.h"

#include <stdio.h>
#include <stdlib.h>

#include "../base/mem.h"
#include "../base/status.h"
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

static void vec_free(vec *v) {
    free(v->owned);
    v->owned = NULL;
    v->data = NULL;
}

void weights_free(model_weights *w) {
    if (!w) return;
    vec_free(&w->output_norm);
    vec_free(&w->rope_freqs);
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
