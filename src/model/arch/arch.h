/* arch.h — the registry of model families. Each family is one small file
 * (arch/llama.c) that reads its GGUF hyperparameter keys into hparams and
 * binds its tensors by name; registry.c maps general.architecture to it.
 * Adding a family = one file + one line in registry.c. */
#ifndef OWL_MODEL_ARCH_H
#define OWL_MODEL_ARCH_H

#include "owl.h"
#include "../../io/gguf.h"
#include "../../io/tensor_dir.h"
#include "../hparams.h"
#include "../weights.h"

typedef struct arch_ops {
    const char *name; /* general.architecture value, e.g. "llama" */
    /* Reads <arch>.* keys into hp (hp->n_vocab is already set from the
     * tokenizer). Validates every value. */
    owl_status (*load_hparams)(const gguf *g, hparams *hp);
    /* Binds every weight of td (by the GGUF or Hugging Face names, after
     * td->format), checking shapes against hp; for GGUF sets hp->tied_output
     * (HF: the config set it). w->layers is allocated by the caller. */
    owl_status (*bind_weights)(const tensor_dir *td, hparams *hp, model_weights *w);
} arch_ops;

/* The family named name[0..len), or NULL. */
const arch_ops *arch_find(const char *name, size_t len);
/* "llama, ..." — the supported families, for error messages. */
const char *arch_supported(void);

extern const arch_ops arch_llama;

#endif
