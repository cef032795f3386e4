/* hf_config.h — a Hugging Face model folder's config.json (and
 * generation_config.json when present) -> hparams and load settings.
 *
 * Families: LlamaForCausalLM, MistralForCausalLM (sliding_window),
 * Qwen2ForCausalLM (q/k/v biases; sliding window only with
 * use_sliding_window), Qwen3ForCausalLM (q/k RMSNorm). Every field is type-
 * and range-checked; errors name the file and the JSON path ($.rope_scaling.
 * factor). rope_scaling (or transformers 5's rope_parameters): linear
 * (hparams), llama3 and yarn (per-frequency divisors in rope_freqs, as
 * GGUF's rope_freqs.weight; yarn also hparams.rope_attn_factor), dynamic
 * (NTK: the forward pass raises theta with the batch's longest position, as
 * transformers does for one forward; decoding with a cache then differs
 * from a full re-run, in transformers too). */
#ifndef OWL_IO_HF_CONFIG_H
#define OWL_IO_HF_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "owl.h"
#include "../model/hparams.h"

#define HF_MAX_EOS 8

typedef struct hf_config {
    char arch[64];        /* architectures[0] */
    hparams hp;           /* n_vocab = vocab_size */
    float *rope_freqs;    /* (hp.n_rot / 2) owned divisors, or NULL */
    int fp8_block[2];     /* quantization_config.weight_block_size, 0 when none */
    /* generation_config.json (do_sample absent or false: greedy, temperature 0) */
    int32_t eos[HF_MAX_EOS];
    int n_eos;
    bool has_temp, has_top_p, has_top_k;
    float temperature, top_p;
    int32_t top_k;
} hf_config;

/* "LlamaForCausalLM, ..." */
const char *hf_config_supported(void);
/* Reads dir/config.json and dir/generation_config.json (optional). */
owl_status hf_config_load(const char *dir, hf_config *c);
/* The same from JSON text (path only names it in messages); for tests. */
owl_status hf_config_parse(const char *path, const char *text, size_t len, hf_config *c);
owl_status hf_generation_parse(const char *path, const char *text, size_t len, hf_config *c);
void hf_config_free(hf_config *c);

#endif
