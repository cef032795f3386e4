/* hf_unicode.h — character tables of Hugging Face tokenizers (generated
 * into hf_unicode.c by scripts/reference/make_hf_unicode_tables.py), for
 * the tokenizer.json normalizers and pre-tokenizers: where tokenizers'
 * Unicode data differs from utf8proc's and PCRE2's, these say what
 * tokenizers does. Code point lists are sorted. */
#ifndef OWL_TOKENIZER_HF_UNICODE_H
#define OWL_TOKENIZER_HF_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const uint32_t hf_lower_delta[][2];
extern const size_t hf_lower_delta_n;
extern const uint32_t hf_nfc_keep[], hf_nfd_keep[], hf_nfkc_keep[], hf_nfkd_keep[];
extern const size_t hf_nfc_keep_n, hf_nfd_keep_n, hf_nfkc_keep_n, hf_nfkd_keep_n;
extern const uint32_t hf_mark_ranges[][2];
extern const size_t hf_mark_ranges_n;
/* regex character-class contents (no brackets): */
extern const char hf_re_numeric[]; /* Digits: Rust's is_numeric */
extern const char hf_re_punct[];   /* Punctuation: ASCII and Unicode punctuation */
extern const char hf_re_word[];    /* Whitespace: the regex crate's \w */
extern const uint32_t hf_word_ranges[][2]; /* the same \w as ranges */
extern const size_t hf_word_ranges_n;

/* \p{name} in a tokenizer.json regex stands for \p{name} plus delta, or
 * (exact) for delta alone */
typedef struct hf_prop {
    const char *name;
    bool exact;
    const char *delta;
} hf_prop;
extern const hf_prop hf_prop_delta[];
extern const size_t hf_prop_delta_n;

#endif
