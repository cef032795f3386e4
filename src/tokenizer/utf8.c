/* utf8.c — encoding and strict decoding of UTF-8 for the tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "vocab.h"

size_t utf8_encode(uint32_t cpt, char out[4]) {
    if (cpt < 0x80) {
        out[0] = (char)cpt;
        return 1;
    }
    if (cpt < 0x800) {
        out[0] = (char)(0xC0 | (cpt >> 6));
        out[1] = (char)(0x80 | (cpt & 0x3F));
        return 2;
    }
    if (cpt < 0x10000) {
        out[0] = (char)(0xE0 | (cpt >> 12));
        out[1] = (char)(0x80 | ((cpt >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cpt & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cpt >> 18));
    out[1] = (char)(0x80 | ((cpt >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cpt >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cpt & 0x3F));
    return 4;
}

/* Well-formed sequences (Unicode table 3-7): no overlongs, no surrogates,
 * nothing above U+10FFFF. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cpt) {
    if (n == 0) return 0;
    unsigned char c = s[0];
    if (c < 0x80) {
        *cpt = c;
        return 1;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    v = (v << 6) | (s[1] & 0x3F);
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cpt = v;
    return len;
}

/* A copy of text with every byte that does not start a well-formed
 * character replaced by U+FFFD; NULL with *same set when text is valid. */
char *utf8_sanitize(const char *text, size_t len, size_t *out_len, bool *same) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    uint32_t cpt;
    *same = false;
    while (i < len) {
        size_t k = utf8_decode(s + i, len - i, &cpt);
        if (!k) break;
        i += k;
    }
    if (i == len) {
        *same = true;
        *out_len = len;
        return NULL;
    }
    size_t cap;
    if (!size_mul(len, 3, &cap)) {
        owl_err(OWL_ERR_NOMEM, "text too long");
        return NULL;
    }
    char *o = owl_xmalloc(cap);
    if (!o) return NULL;
    memcpy(o, text, i);
    size_t m = i;
    while (i < len) {
        size_t k = utf8_decode(s + i, len - i, &cpt);
        if (k) {
            memcpy(o + m, s + i, k);
            m += k;
            i += k;
        } else {
            memcpy(o + m, "\xEF\xBF\xBD", 3);
            m += 3;
            i += 1;
        }
    }
    *out_len = m;
    return o;
}

