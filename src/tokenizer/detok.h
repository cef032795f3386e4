/* detok.h — streaming detokenizer: ids in, whole UTF-8 characters out.
 *
 * Each token's piece is appended to what is pending; complete, well-formed
 * characters are handed out at once, the bytes of an unfinished character
 * wait for the next token, and bytes that can never become a character
 * (a stray continuation byte, a lead byte followed by a non-continuation,
 * overlongs, surrogates) are replaced by U+FFFD, one per maximal invalid
 * subpart (as Unicode recommends and Python's decoder does). Control and
 * unknown tokens (BOS, <|im_end|>, <unk>) add no text. As llama.cpp's
 * detokenizer does, a SentencePiece vocabulary with add_space_prefix loses
 * the leading space of the first token of the stream (the space the
 * tokenizer put in front of the text). No allocation after detok_new. */
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
