/* pretokenize.h — the regex pre-tokenizers of byte-level BPE vocabularies.
 *
 * tokenizer.ggml.pre names a pre-tokenizer ("gpt-2", "llama-bpe", "smollm",
 * ...). Each is a list of regexes applied one after the other: the first
 * cuts the text into its matches and the gaps between them, each later
 * regex cuts every piece again the same way. The lists are those of the
 * models' own tokenizer.json files, in the form llama.cpp runs them (it is
 * the reference the ggml-vocab test files were made to pass); they run on
 * PCRE2 (UTF + UCP, JIT). \s and \S mean the Unicode White_Space set. */
#ifndef OWL_TOKENIZER_PRETOKENIZE_H
#define OWL_TOKENIZER_PRETOKENIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "owl.h"

typedef enum pretok_type {
    PRETOK_DEFAULT,
    PRETOK_LLAMA3,
    PRETOK_DEEPSEEK_LLM,
    PRETOK_DEEPSEEK3_LLM,
    PRETOK_DEEPSEEK_CODER,
    PRETOK_FALCON,
    PRETOK_STARCODER, /* also refact, command-r, smollm, codeshell, exaone, minerva */
    PRETOK_GPT2,      /* also mpt, olmo, jais, phi-2, roberta, jina, gigachat */
    PRETOK_QWEN2,     /* also stablelm2, deepseek-r1-qwen, megrez */
    PRETOK_BLOOM,     /* also poro-chat, gpt3-finnish */
    PRETOK_CHATGLM4,
    PRETOK_VIKING,
    PRETOK_TEKKEN,
    PRETOK_CHAMELEON,
    PRETOK_COUNT
} pretok_type;

/* Flags a pre-tokenizer name implies for the vocabulary (as in the
 * models' tokenizer configs). */
typedef struct pretok_info {
    pretok_type type;
    bool ignore_merges; /* a word that is a whole token skips BPE */
    bool add_bos;       /* default of add_bos_token */
    bool clean_spaces;  /* decoding removes spaces before punctuation */
} pretok_info;

/* The pre-tokenizer of a tokenizer.ggml.pre name; false if unknown.
 * An empty name means "default". */
bool pretok_lookup(const char *name, size_t len, pretok_info *info);

typedef struct pretok pretok;

owl_status pretok_new(pretok_type type, pretok **out);
/* A pre-tokenizer from n (<= 8) regexes, applied in order as above. */
owl_status pretok_new_regexes(const char *const *regexes, int n, pretok **out);
/* tokenizer.json's Split behaviours: what becomes of the matches
 * (the delimiters; with invert, of the text between them). */
typedef enum pretok_behavior {
    PRETOK_ISOLATED,    /* a piece of its own */
    PRETOK_REMOVED,     /* dropped */
    PRETOK_MERGED_PREV, /* joined to the piece before it */
    PRETOK_MERGED_NEXT, /* joined to the piece after it */
    PRETOK_CONTIGUOUS,  /* runs of delimiters are one piece */
} pretok_behavior;

typedef struct pretok_step {
    const char *regex;
    pretok_behavior behavior;
    bool invert;
    bool mapped; /* runs on the byte-level mapped text (each byte as its
                    GPT-2 character), as steps after a ByteLevel
                    pre-tokenizer do in tokenizers; the later steps too */
} pretok_step;

/* A pre-tokenizer from n (<= 8) steps, each cutting every piece in turn. */
owl_status pretok_new_steps(const pretok_step *steps, int n, pretok **out);
void pretok_free(pretok *p);

/* A piece of text: bytes [off, off + len). */
typedef struct pretok_span {
    size_t off, len;
} pretok_span;

/* Cuts text[0..len) (valid UTF-8) into words. *spans is malloc'd by the
 * call (free()); *n_spans words, in order, covering the text (but for what
 * a Removed step drops). */
owl_status pretok_split(const pretok *p, const char *text, size_t len, pretok_span **spans,
                        size_t *n_spans);

#endif
