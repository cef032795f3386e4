/* load_dir.c — owl_model_load on a folder: a Hugging Face model repository
 * on disk. The tokenizer comes from its tokenizer.json and
 * tokenizer_config.json (tokenizer/hf_json.c); the hyperparameters from
 * config.json (io/hf_config.c); the eos ids of generation_config.json are
 * added to the tokens that end a generation and its sampling defaults kept
 * for owl_model_sampler_defaults; the weights from its
 * safetensors through the tensor directory (io/tensor_dir.c), bound by their
 * Hugging Face names by the llama-family binder (model/arch/llama.c). There
 * is no GGUF behind such a model (gg is NULL, no GGUF metadata). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"
#include "arch/arch.h"
#include "../base/mem.h"
#include "../base/status.h"
#include "../io/hf_config.h"
#include "../tokenizer/vocab.h"

bool model_path_is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static owl_status load_weights(owl_model *m, const char *path, hf_config *cfg) {
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
    impl->w.layers = owl_xcalloc((size_t)hp->n_layer, sizeof *impl->w.layers);
    if (!impl->w.layers) return OWL_ERR_NOMEM;
    impl->w.n_layer = hp->n_layer;
    if ((s = arch_llama.bind_weights(m->td, hp, &impl->w)) != OWL_OK) return s;
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
        s = load_weights(m, path, &cfg);
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
