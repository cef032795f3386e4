/* model.c — owl_model_load and friends: open the GGUF, build the tokenizer,
 * then (unless vocab_only) find the architecture in the registry, read its
 * hyperparameters and bind its weights as views into the map. */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "arch/arch.h"
#include "../base/mem.h"
#include "../base/status.h"
#include "../tensor/dtype.h"

owl_model_params owl_model_default_params(void) {
    owl_model_params p;
    memset(&p, 0, sizeof p);
    p.vocab_only = false;
    return p;
}

/* A NUL-terminated copy of a string key's value, "" when absent. */
static char *dup_meta(const gguf *g, const char *key) {
    gguf_str s = {"", 0};
    if (gguf_get_str(g, key, &s) <= 0) s.ptr = "", s.len = 0;
    return owl_xstrndup(s.ptr, (size_t)s.len);
}

static owl_status load_weights(owl_model *m, bool no_repack) {
    const gguf *g = m->gg;
    gguf_str an;
    if (gguf_get_str(g, "general.architecture", &an) <= 0)
        return owl_err(OWL_ERR_FORMAT, "%s: metadata key 'general.architecture' is missing",
                       g->path);
    const arch_ops *arch = arch_find(an.ptr, (size_t)an.len);
    if (!arch)
        return owl_err(OWL_ERR_UNSUPPORTED,
                       "%s: architecture '%.*s' is not supported (supported: %s)", g->path,
                       (int)(an.len > 64 ? 64 : an.len), an.ptr, arch_supported());
    struct model_impl *impl = owl_xcalloc(1, sizeof *impl);
    if (!impl) return OWL_ERR_NOMEM;
    m->impl = impl;
    impl->arch = arch;
    hparams *hp = &impl->hp;
    hp->n_vocab = tokenizer_n_vocab(m->tok);
    if (hp->n_vocab <= 0)
        return owl_err(OWL_ERR_FORMAT, "%s: the vocabulary is empty", g->path);
    owl_status s = arch->load_hparams(g, hp);
    if (s != OWL_OK) return s;
    impl->w.layers = owl_xcalloc((size_t)hp->n_layer, sizeof *impl->w.layers);
    if (!impl->w.layers) return OWL_ERR_NOMEM;
    impl->w.n_layer = hp->n_layer;
    tensor_dir *td = NULL;
    if ((s = tensor_dir_from_gguf(g, &td)) != OWL_OK) return s;
    s = arch->bind_weights(td, hp, &impl->w);
    tensor_dir_free(td); /* views into g's map: the weights keep pointing there */
    if (s == OWL_OK && !no_repack)
        s = weights_pack(&impl->w, kernels_get(), &g->map, 1);
    return s;
}

owl_status owl_model_load(const char *path, const owl_model_params *params, owl_model **out) {
    if (!out) return owl_err(OWL_ERR_ARG, "owl_model_load: out is NULL");
    *out = NULL;
    if (!path) return owl_err(OWL_ERR_ARG, "owl_model_load: path is NULL");
    owl_model_params def = owl_model_default_params();
    if (!params) params = &def;
    if (model_path_is_dir(path)) return model_load_dir(path, params, out);
    owl_model *m = owl_xcalloc(1, sizeof *m);
    if (!m) return OWL_ERR_NOMEM;
    owl_status s = gguf_open(path, &m->gg);
    if (s == OWL_OK) s = tokenizer_from_gguf(m->gg, &m->tok);
    if (s == OWL_OK) {
        m->arch_name = dup_meta(m->gg, "general.architecture");
        m->name = dup_meta(m->gg, "general.name");
        m->kv_str = owl_xcalloc((size_t)m->gg->n_kv, sizeof *m->kv_str);
        if (!m->arch_name || !m->name || !m->kv_str) s = OWL_ERR_NOMEM;
        for (uint64_t i = 0; s == OWL_OK && i < m->gg->n_kv; i++) {
            const gguf_kv *kv = &m->gg->kv[i];
            if (kv->type != GGUF_STRING) continue;
            m->kv_str[i] = owl_xstrndup(kv->v.s.ptr, (size_t)kv->v.s.len);
            if (!m->kv_str[i]) s = OWL_ERR_NOMEM;
        }
        if (s == OWL_OK) {
            m->tensor_names = owl_xcalloc((size_t)m->gg->n_tensors, sizeof *m->tensor_names);
            if (!m->tensor_names) s = OWL_ERR_NOMEM;
        }
        for (uint64_t i = 0; s == OWL_OK && i < m->gg->n_tensors; i++) {
            gguf_str tn = m->gg->tensors[i].name;
            m->tensor_names[i] = owl_xstrndup(tn.ptr, (size_t)tn.len);
            if (!m->tensor_names[i]) s = OWL_ERR_NOMEM;
        }
    }
    if (s == OWL_OK && !params->vocab_only) s = load_weights(m, params->no_repack);
    if (s != OWL_OK) {
        owl_model_free(m);
        return s;
    }
    *out = m;
    return OWL_OK;
}

void owl_model_free(owl_model *m) {
    if (!m) return;
    if (m->impl) {
        weights_free(&m->impl->w);
        free(m->impl);
    }
    if (m->kv_str && m->gg)
        for (uint64_t i = 0; i < m->gg->n_kv; i++) free(m->kv_str[i]);
    free(m->kv_str);
    if (m->tensor_names && m->gg)
        for (uint64_t i = 0; i < m->gg->n_tensors; i++) free(m->tensor_names[i]);
    free(m->tensor_names);
    free(m->arch_name);
    free(m->name);
    tokenizer_free(m->tok);
    tensor_dir_free(m->td);
    gguf_close(m->gg);
    free(m);
}

void owl_model_get_info(const owl_model *m, owl_model_info *info) {
    memset(info, 0, sizeof *info);
    if (!m) return;
    info->arch = m->arch_name;
    info->name = m->name;
    info->n_vocab = tokenizer_n_vocab(m->tok);
    if (m->impl) {
        const hparams *hp = &m->impl->hp;
        info->n_ctx_train = hp->n_ctx_train;
        info->n_embd = hp->n_embd;
        info->n_layer = hp->n_layer;
        info->n_head = hp->n_head;
        info->n_head_kv = hp->n_head_kv;
        info->head_dim = hp->head_dim;
        info->n_ff = hp->n_ff;
        info->rope_theta = hp->rope_theta;
        info->norm_eps = hp->norm_eps;
        info->tied_output = hp->tied_output;
    }
    if (m->td) { /* a folder: its safetensors */
        uint64_t np = 0;
        for (size_t i = 0; i < m->td->n; i++) {
            const int64_t *ne = m->td->t[i].ne;
            np += (uint64_t)ne[0] * (uint64_t)ne[1] * (uint64_t)ne[2] * (uint64_t)ne[3];
        }
        info->n_params = np;
        info->n_tensors = m->td->n;
        for (size_t i = 0; i < m->td->n_files; i++) info->file_size += m->td->files[i]->map.size;
    }
    if (!m->gg) return; /* a folder: no GGUF behind it */
    uint64_t np = 0;
    for (uint64_t i = 0; i < m->gg->n_tensors; i++) {
        const int64_t *ne = m->gg->tensors[i].ne;
        np += (uint64_t)ne[0] * (uint64_t)ne[1] * (uint64_t)ne[2] * (uint64_t)ne[3];
    }
    info->n_params = np;
    info->n_tensors = m->gg->n_tensors;
    info->file_size = m->gg->map.size;
    info->gguf_version = m->gg->version;
}

bool owl_model_tensor(const owl_model *m, uint64_t i, const char **name, int *type,
                      int64_t ne[4]) {
    if (m && m->td && !m->gg) { /* a folder */
        if (i >= m->td->n) return false;
        const td_tensor *t = &m->td->t[i];
        if (name) *name = t->name;
        if (type) *type = t->type;
        if (ne) memcpy(ne, t->ne, sizeof t->ne);
        return true;
    }
    if (!m || !m->gg || i >= m->gg->n_tensors) return false;
    const gguf_tensor *t = &m->gg->tensors[i];
    if (name) *name = m->tensor_names[i];
    if (type) *type = t->type;
    if (ne) memcpy(ne, t->ne, sizeof t->ne);
    return true;
}

const char *owl_model_meta_str(const owl_model *m, const char *key) {
    if (!m || !key || !m->gg) return NULL;
    for (uint64_t i = 0; i < m->gg->n_kv; i++)
        if (m->kv_str[i] && gguf_str_eq(m->gg->kv[i].key, key)) return m->kv_str[i];
    return NULL;
}
