/* load_dir.c — owl_model_load on a folder: a Hugging Face model repository
 * on disk. The tokenizer comes from its tokenizer.json and
 * tokenizer_config.json (tokenizer/hf_json.c); there is no GGUF behind such
 * a model (gg is NULL, no metadata, no tensors). Only vocab_only loads are
 * served here: weights from a folder are refused with a message saying so. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"
#include "../base/mem.h"
#include "../base/status.h"

bool model_path_is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

owl_status model_load_dir(const char *path, const owl_model_params *params, owl_model **out) {
    *out = NULL;
    if (!params->vocab_only)
        return owl_err(OWL_ERR_UNSUPPORTED,
                       "%s: a folder: only its tokenizer can be loaded (vocab_only), the weights need a GGUF file", path);
    owl_model *m = owl_xcalloc(1, sizeof *m);
    if (!m) return OWL_ERR_NOMEM;
    owl_status s = tokenizer_from_hf_dir(path, &m->tok);
    if (s == OWL_OK) {
        m->arch_name = owl_xstrndup("", 0);
        m->name = owl_xstrndup("", 0);
        if (!m->arch_name || !m->name) s = OWL_ERR_NOMEM;
    }
    if (s != OWL_OK) {
        owl_model_free(m);
        return s;
    }
    *out = m;
    return OWL_OK;
}
