/* normalize.h — the normalizers of tokenizer.json, run on each piece of
 * text between added tokens before pre-tokenization: Unicode forms
 * (NFC, NFD, NFKC, NFKD), Lowercase, Prepend, Replace (a string or a
 * regex), Strip (left/right white space), StripAccents, in the order of
 * their Sequence. Built once at load, read-only after. */
#ifndef OWL_TOKENIZER_NORMALIZE_H
#define OWL_TOKENIZER_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "owl.h"

typedef enum norm_kind {
    NORM_NFC,
    NORM_NFD,
    NORM_NFKC,
    NORM_NFKD,
    NORM_LOWERCASE,
    NORM_PREPEND,      /* a: the text put in front (of a non-empty piece) */
    NORM_REPLACE,      /* a -> b, every non-overlapping occurrence, left to right */
    NORM_REPLACE_RE,   /* regex a -> b */
    NORM_STRIP,        /* left, right: white space removed at either end */
    NORM_STRIP_ACCENTS /* combining marks (Mn) removed */
} norm_kind;

typedef struct normalizer normalizer;

owl_status normalizer_new(normalizer **out);
void normalizer_free(normalizer *nz);
/* Appends a step; a and b are copied (NULL when unused). */
owl_status normalizer_add(normalizer *nz, norm_kind kind, const char *a, size_t la, const char *b, size_t lb,
                          bool left, bool right);
int normalizer_steps(const normalizer *nz);
/* The normalized text of s[0..n) (valid UTF-8): *out is malloc'd (free()). */
owl_status normalizer_apply(const normalizer *nz, const char *s, size_t n, char **out, size_t *out_n);

#endif
