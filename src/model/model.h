/* model.h — struct owl_model: the loaded file, its tokenizer, its
 * architecture-free hyperparameters and its weights (views into the map).
 *
 * Shared by model/ (loading, binding) and the modules above it; the
 * tokenizer only needs model->tok. */
#ifndef OWL_MODEL_MODEL_H
#define OWL_MODEL_MODEL_H

#include "owl.h"
#include "../io/gguf.h"
#include "../tokenizer/tokenizer.h"

struct owl_model {
    gguf *gg;        /* the open file (owns the map) */
    tokenizer *tok;  /* always present */
    /* hyperparameters and weights: see model/hparams.h, model/weights.h */
    struct model_impl *impl; /* NULL when vocab_only */
};

#endif
