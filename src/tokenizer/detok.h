/* detok.h — streaming detokenizer: ids in, whole UTF-8 characters out.
 *
 * Each token's piece is appended to what is pending; complete, well-formed
 * characters are handed out at once, the bytes of an unfinished character
 * wait for the next token, and bytes that can never become a character
 * (a stray continuation byte, a lead byte followed by a non-continuation,
 * overlongs, surrogates) are replaced by U+FFFD, one per maximal invalid
 * subpart (as Unicode recommends and Python's decoder does). Control and
 * unknown tokens (BOS, <|im_end|>, <unk>) add no text. With a
 * SentencePiece vocabulary that has add_space_prefix, the first token that
 * adds text loses its leading space: the space the tokenizer put in front
 * of the text (as llama.cpp's and SentencePiece's decoders do; BOS before
 * it does not change that, as in Hugging Face's decode). So a stream is a
 * whole text: to stream what a model writes after a prompt, push the
 * prompt's tokens first and ignore their text, and the first generated
 * word keeps its space. No allocation after detok_new. */
#ifndef OWL_TOKENIZER_DETOK_H
#define OWL_TOKENIZER_DETOK_H

#include <stddef.h>

#include "tokenizer.h"

typedef struct owl_detok detok;

owl_status detok_new(const tokenizer *t, detok **out);
/* *text and *len: the newly complete text, valid until the next call. */
void detok_push(detok *d, owl_token id, const char **text, size_t *len);
/* Ends the stream (what is pending becomes U+FFFD) and starts a new one. */
void detok_flush(detok *d, const char **text, size_t *len);
void detok_free(detok *d);

#endif
