/* model.h — struct owl_model: the loaded file, its tokenizer, its
 * architecture-free hyperparameters and its weights (views into the map).
 *
 * Shared by model/ (loading, binding) and the modules above it; the
 * tokenizer only needs model->tok. */
#ifndef OWL_MODEL_MODEL_H
#define OWL_MODEL_MODEL_H

#include "owl.h"
#include "../io/gguf.h"
#include "../io/tensor_dir.h"
#include "../tokenizer/tokenizer.h"
#include "hparams.h"
#include "weights.h"

struct arch_ops;

/* What only a model with weights has. */
struct model_impl {
    const struct arch_ops *arch;
    hparams hp;
    model_weights w;
};

struct owl_model {
    gguf *gg;        /* the open file (owns the map); NULL for a folder */
    tokenizer *tok;  /* always present */
    /* hyperparameters and weights: see model/hparams.h, model/weights.h */
    struct model_impl *impl; /* NULL when vocab_only */
    tensor_dir *td;  /* a folder's safetensors (owns their maps), else NULL */
    struct {         /* generation_config.json's sampling defaults */
        bool has_temp, has_top_p, has_top_k;
        float temp, top_p;
        int32_t top_k;
    } gen;
    char *arch_name; /* general.architecture ("" when absent), owned */
    char *name;      /* general.name ("" when absent), owned */
    char **kv_str;   /* (gg->n_kv) NUL-terminated copies of string values,
                        NULL for other types; for owl_model_meta_str */
    char **tensor_names; /* (gg->n_tensors) NUL-terminated, owned */
};

/* A folder (a Hugging Face repository on disk): its tokenizer, config.json
 * and safetensors (model/load_dir.c); owl_model_load sends directories
 * there. gg is NULL. */
bool model_path_is_dir(const char *path);
owl_status model_load_dir(const char *path, const owl_model_params *params, owl_model **out);

#endif
