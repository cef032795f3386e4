/* tokenizer.h — text <-> token ids for a model's vocabulary.
 *
 * Built from GGUF metadata (tokenizer.ggml.*): "gpt2" byte-level BPE with
 * the pre-tokenizer named by tokenizer.ggml.pre, "llama" SentencePiece
 * BPE with byte fallback, and "bert" WordPiece; or from a Hugging Face
 * tokenizer.json (BPE, run as Hugging Face tokenizers runs it).
 * User-defined tokens written in the text are always kept whole, control
 * tokens only when parse_special is set.
 * Read-only after loading: one tokenizer may serve many threads. The
 * public wrappers (owl_tokenize, owl_token_piece, owl_detok_*,
 * owl_chat_apply) are in tokenizer/api.c; the inside is vocab.h. */
#ifndef OWL_TOKENIZER_TOKENIZER_H
#define OWL_TOKENIZER_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "owl.h"
#include "../io/gguf.h"

typedef struct tokenizer tokenizer;

owl_status tokenizer_from_gguf(const gguf *g, tokenizer **out);
/* From a Hugging Face folder: tokenizer.json (+ tokenizer_config.json,
 * chat_template.jinja), giving the ids Hugging Face tokenizers gives:
 * BPE models (byte-level, or SentencePiece-style with byte fallback) with
 * their normalizers, pre-tokenizers, decoder, post-processor and added
 * tokens (see hf_json.c for what is read). */
owl_status tokenizer_from_hf_dir(const char *dir, tokenizer **out);
void tokenizer_free(tokenizer *t);

int32_t tokenizer_n_vocab(const tokenizer *t);
owl_token tokenizer_bos(const tokenizer *t); /* -1 if none */
owl_token tokenizer_eos(const tokenizer *t); /* -1 if none */
bool tokenizer_is_eog(const tokenizer *t, owl_token id);
const char *tokenizer_text(const tokenizer *t, owl_token id); /* vocab text */

/* Encodes text[0..len); *ids is malloc'd (free()). */
owl_status tokenizer_encode(const tokenizer *t, const char *text, size_t len,
                            bool add_special, bool parse_special,
                            owl_token **ids, size_t *n_ids);
/* Decoded bytes of one token (byte-level mapping undone, ▁ -> space,
 * <0xXX> -> the byte; control tokens give their text); returns the full
 * length, writes <= cap. */
size_t tokenizer_piece(const tokenizer *t, owl_token id, char *buf, size_t cap);

/* Hugging Face's Tokenizer.decode(ids, skip_special_tokens): the text of
 * the ids (invalid UTF-8 replaced by U+FFFD, the space a SentencePiece-
 * style vocabulary put in front removed); *out is malloc'd, NUL-terminated
 * (free()). OWL_ERR_ARG for an id out of range. */
owl_status tokenizer_decode(const tokenizer *t, const owl_token *ids, size_t n, bool skip_special, char **out,
                            size_t *len);

/* The chat template text from tokenizer.chat_template, or NULL. */
const char *tokenizer_chat_template(const tokenizer *t);

#endif
