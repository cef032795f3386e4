/* load_dir.c — owl_model_load on a folder: a Hugging Face model repository
 * on disk. The tokenizer comes from its tokenizer.json and
 * tokenizer_config.json (tokenizer/hf_json.c); the hyperparameters from
 * config.json (io/hf_config.c); the eos ids of generation_config.json are
 * added to the tokens that end a generation and its sampling defaults kept
 * for owl_model_sampler_defaults; the weights from its
 * safetensors through the tensor directory (io/tensor_dir.c), bound by their
 * Hugging Face names by the llama-family binder (model/arch/llama.c). With
 * params->quant_type, the weight matrices (2-D tensors named *weight, not
 * norms) are quantized at load into owned memory, row by row through the
 * type table's from_float: the bytes `owl quantize` writes for that type
 * (single-threaded: seconds for a 1B model). There
 * is no GGUF behind such a model (gg is NULL, no GGUF metadata). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"
#include "arch/arch.h"
#include "../base/mem.h"
#include "../base/status.h"
#include "../io/hf_config.h"
#include "../tensor/dtype.h"
#include "../tokenizer/vocab.h"

bool model_path_is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* The matrices of td in type qt (owned memory); rows that are not whole
 * blocks of qt stay as they are. */
static owl_status quantize_dir(tensor_dir *td, int qt) {
    const dtype_traits *to = dtype_get(qt);
    if (!to || !to->quantized || !to->from_float)
        return owl_err(OWL_ERR_ARG, "quantize at load: type %d is no quantized type", qt);
    float *row = NULL;
    size_t row_cap = 0;
    for (size_t i = 0; i < td->n; i++) {
        td_tensor *t = &td->t[i];
        const dtype_traits *from = t->type >= 0 ? dtype_get(t->type) : NULL;
        if (!from || from->quantized || !from->to_float || t->n_dims != 2 || !ends_with(t->name, "weight") ||
            strstr(t->name, "norm") || t->ne[0] % to->blck != 0)
            continue;
        size_t src_row = dtype_row_size(t->type, t->ne[0]), dst_row = dtype_row_size(qt, t->ne[0]);
        size_t bytes;
        if (!src_row || !dst_row || !size_mul(dst_row, (size_t)t->ne[1], &bytes)) {
            free(row);
            return owl_err(OWL_ERR_FORMAT, "%s: tensor %s is too large to quantize", td->path, t->name);
        }
        void **owned = owl_xreallocarray(td->owned, td->n_owned + 1, sizeof *owned);
        if (!owned) {
            free(row);
            return OWL_ERR_NOMEM;
        }
        td->owned = owned;
        uint8_t *dst = owl_xmalloc(bytes ? bytes : 1);
        if ((size_t)t->ne[0] > row_cap) {
            free(row);
            row_cap = (size_t)t->ne[0];
            row = owl_xmalloc(row_cap * sizeof *row);
        }
        if (!dst || !row) {
            free(dst);
            free(row);
            return OWL_ERR_NOMEM;
        }
        td->owned[td->n_owned++] = dst;
        const uint8_t *src = t->data;
        for (int64_t r = 0; r < t->ne[1]; r++) {
            from->to_float(src + (size_t)r * src_row, row, t->ne[0]);
            to->from_float(row, dst + (size_t)r * dst_row, t->ne[0]);
        }
        t->type = qt;
        t->data = dst;
        t->nbytes = bytes;
    }
    free(row);
    return OWL_OK;
}

static owl_status load_weights(owl_model *m, const char *path, hf_config *cfg, int quant_type,
                               bool no_repack) {
    struct model_impl *impl = owl_xcalloc(1, sizeof *impl);
    if (!impl) return OWL_ERR_NOMEM;
    m->impl = impl;
    impl->arch = &arch_llama;
    impl->hp = cfg->hp;
    hparams *hp = &impl->hp;
    int32_t nt = tokenizer_n_vocab(m->tok);
    if (nt > hp->n_vocab)
        return owl_err(OWL_ERR_FORMAT, "%s: the tokenizer has %d tokens, more than config.json's vocab_size %d",
                       path, nt, hp->n_vocab);
    owl_status s = tensor_dir_from_hf(path, cfg->fp8_block[0], cfg->fp8_block[1], &m->td);
    if (s != OWL_OK) return s;
    const dtype_traits *qtr = quant_type > 0 ? dtype_get(quant_type) : NULL;
    if (qtr && qtr->quantized && (s = quantize_dir(m->td, quant_type)) != OWL_OK) return s;
    impl->w.layers = owl_xcalloc((size_t)hp->n_layer, sizeof *impl->w.layers);
    if (!impl->w.layers) return OWL_ERR_NOMEM;
    impl->w.n_layer = hp->n_layer;
    if ((s = arch_llama.bind_weights(m->td, hp, &impl->w)) != OWL_OK) return s;
    if (!no_repack) { /* the safetensors' maps: their packed pages are given back */
        mapfile *maps = owl_xreallocarray(NULL, m->td->n_files + 1, sizeof *maps);
        if (!maps) return OWL_ERR_NOMEM;
        for (size_t i = 0; i < m->td->n_files; i++) maps[i] = m->td->files[i]->map;
        s = weights_pack(&impl->w, kernels_get(), maps, m->td->n_files);
        free(maps);
        if (s != OWL_OK) return s;
    }
    if (cfg->rope_freqs) { /* llama3 scaling: the divisors the binder would take from a GGUF */
        impl->w.rope_freqs.owned = cfg->rope_freqs;
        impl->w.rope_freqs.data = cfg->rope_freqs;
        impl->w.rope_freqs.n = hp->n_rot / 2;
        cfg->rope_freqs = NULL;
    }
    return OWL_OK;
}

owl_status model_load_dir(const char *path, const owl_model_params *params, owl_model **out) {
    *out = NULL;
    owl_model *m = owl_xcalloc(1, sizeof *m);
    if (!m) return OWL_ERR_NOMEM;
    hf_config cfg;
    memset(&cfg, 0, sizeof cfg);
    owl_status s = tokenizer_from_hf_dir(path, &m->tok);
    if (s == OWL_OK && !params->vocab_only) s = hf_config_load(path, &cfg);
    if (s == OWL_OK) {
        m->arch_name = owl_xstrndup(cfg.arch, strlen(cfg.arch));
        m->name = owl_xstrndup("", 0);
        if (!m->arch_name || !m->name) s = OWL_ERR_NOMEM;
    }
    if (s == OWL_OK && !params->vocab_only) {
        for (int i = 0; i < cfg.n_eos; i++) vocab_add_eog(m->tok, cfg.eos[i]);
        m->gen.has_temp = cfg.has_temp, m->gen.temp = cfg.temperature;
        m->gen.has_top_p = cfg.has_top_p, m->gen.top_p = cfg.top_p;
        m->gen.has_top_k = cfg.has_top_k, m->gen.top_k = cfg.top_k;
        s = load_weights(m, path, &cfg, params->quant_type, params->no_repack);
    }
    hf_config_free(&cfg);
    if (s != OWL_OK) {
        owl_model_free(m);
        return s;
    }
    *out = m;
    return OWL_OK;
}

void owl_model_sampler_defaults(const owl_model *m, owl_sampler_params *p) {
    if (!m || !p) return;
    if (m->gen.has_temp) p->temp = m->gen.temp;
    if (m->gen.has_top_p) p->top_p = m->gen.top_p;
    if (m->gen.has_top_k) p->top_k = m->gen.top_k;
}
