/* wpm.c — WordPiece (tokenizer.ggml.model "bert", BERT-style vocabularies).
 *
 * As BERT's BasicTokenizer + WordPiece, in the form llama.cpp runs it (the
 * GGUF vocabulary marks word starts with "▁" instead of marking word
 * continuations with "##"): every character is replaced by the first code
 * point of its NFD decomposition (this strips accents) and lower-cased;
 * control characters are dropped; whitespace ends a word; punctuation,
 * ASCII symbols and CJK ideographs are words of their own. Each word,
 * with "▁" in front, is cut greedily into the longest tokens from the
 * left; a word that cannot be cut completely becomes [UNK]. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "vocab.h"

static bool is_white_space(uint32_t c) {
    return (c >= 9 && c <= 13) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static bool is_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static uint32_t nfd_first(uint32_t c) {
    utf8proc_int32_t buf[8];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)c, buf, 8, UTF8PROC_DECOMPOSE, &last);
    return n >= 1 ? (uint32_t)buf[0] : c;
}

static owl_status wpm_word(const tokenizer *t, const char *w, size_t n, tok_ids *out) {
    size_t start = out->n;
    for (size_t i = 0; i < n;) {
        size_t j = i + t->max_token_len < n ? i + t->max_token_len : n;
        int32_t id = -1;
        for (; j > i; j--)
            if ((id = strmap_get(&t->text_to_id, w + i, j - i)) >= 0) break;
        if (id < 0) { /* the word cannot be cut: it is unknown */
            out->n = start;
            break;
        }
        owl_status st = tok_ids_push(out, id);
        if (st) return st;
        i = j;
    }
    if (out->n == start && t->unk >= 0) return tok_ids_push(out, t->unk);
    return OWL_OK;
}

owl_status wpm_encode(const tokenizer *t, const char *text, size_t len, tok_ids *out) {
    size_t cap;
    if (!size_mul(len + 2, 4, &cap)) return owl_err(OWL_ERR_NOMEM, "text too long to tokenize");
    char *w = owl_xmalloc(cap);
    if (!w) return OWL_ERR_NOMEM;
    const unsigned char *s = (const unsigned char *)text;
    owl_status st = OWL_OK;
    size_t m = 0; /* bytes of the current word after its "▁" */
#define WORD_END()                                                                                                     \
    do {                                                                                                               \
        if (m) st = wpm_word(t, w, m + 3, out);                                                                        \
        m = 0;                                                                                                         \
    } while (0)
    memcpy(w, "\xE2\x96\x81", 3);
    for (size_t i = 0; i < len && st == OWL_OK;) {
        uint32_t c;
        size_t k = utf8_decode(s + i, len - i, &c);
        if (!k) {
            c = 0xFFFD;
            k = 1;
        }
        i += k;
        c = nfd_first(c);
        if (is_white_space(c)) {
            WORD_END();
            continue;
        }
        utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
        if (c == 0 || c == 0xFFFD || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
            cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CS)
            continue;
        c = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
        bool punct = cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
        bool symbol = cat >= UTF8PROC_CATEGORY_SM && cat <= UTF8PROC_CATEGORY_SO;
        if (punct || (c < 0x7F && symbol) || is_cjk(c)) {
            WORD_END();
            if (st) break;
            m = utf8_encode(c, w + 3);
            WORD_END();
        } else {
            m += utf8_encode(c, w + 3 + m);
        }
    }
    if (st == OWL_OK) WORD_END();
#undef WORD_END
    free(w);
    return st;
}
