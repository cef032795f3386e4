/* decode.c — ids -> text the way Hugging Face's Tokenizer.decode does it
 * (skip_special_tokens as asked): the tokens' pieces one after the other
 * (byte-level mapping undone, "▁" -> space), a run of SentencePiece byte
 * tokens <0xXX> becoming its bytes when they are UTF-8 and one U+FFFD per
 * byte when not (the ByteFallback decoder), bytes that are not UTF-8
 * replaced by U+FFFD per maximal invalid subpart (from_utf8_lossy), and,
 * for vocabularies that put a space in front of the text (SentencePiece
 * style: Metaspace, or Prepend "▁" undone by a Strip decoder), one leading
 * space removed. An added token matched in normalized text gives its
 * normalized text (tokenizers decodes it so). */
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "vocab.h"

/* Appends s[0..n) to o (room for 3 bytes per input byte), U+FFFD for each
 * maximal invalid subpart. */
static size_t lossy(char *o, const unsigned char *s, size_t n) {
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cpt;
        size_t k = utf8_decode(s + i, n - i, &cpt);
        if (k) {
            memcpy(o + m, s + i, k);
            m += k;
            i += k;
            continue;
        }
        /* the maximal subpart: a lead byte and the continuation bytes it allows */
        unsigned char c = s[i];
        size_t L = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 1;
        size_t j = 1;
        while (j < L && i + j < n) {
            unsigned char b = s[i + j], lo = 0x80, hi = 0xBF;
            if (j == 1) {
                if (c == 0xE0) lo = 0xA0;
                else if (c == 0xED) hi = 0x9F;
                else if (c == 0xF0) lo = 0x90;
                else if (c == 0xF4) hi = 0x8F;
            }
            if (b < lo || b > hi) break;
            j++;
        }
        memcpy(o + m, "\xEF\xBF\xBD", 3);
        m += 3;
        i += j;
    }
    return m;
}

static const struct nadd_entry *normalized_added(const tokenizer *t, owl_token id) {
    size_t lo = 0, hi = t->n_nadd;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->nadd[mid].id == id) return &t->nadd[mid];
        if (t->nadd[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

owl_status tokenizer_decode(const tokenizer *t, const owl_token *ids, size_t n, bool skip_special, char **out,
                            size_t *len) {
    *out = NULL;
    *len = 0;
    size_t raw_n = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab)
            return owl_err(OWL_ERR_ARG, "decode: token id %d out of range (vocabulary of %d)", ids[i], t->n_vocab);
        const struct nadd_entry *na = normalized_added(t, ids[i]);
        raw_n += na ? na->len : t->piece_off[ids[i] + 1] - t->piece_off[ids[i]];
    }
    size_t cap;
    if (!size_mul(raw_n, 3, &cap) || !size_add(cap, 1, &cap)) return owl_err(OWL_ERR_NOMEM, "decode: text too long");
    unsigned char *raw = owl_xmalloc(raw_n ? raw_n : 1);
    char *o = owl_xmalloc(cap);
    if (!raw || !o) {
        free(raw);
        free(o);
        return OWL_ERR_NOMEM;
    }
    size_t m = 0, r = 0;
    for (size_t i = 0; i < n;) {
        const tok_entry *e = &t->tokens[ids[i]];
        if (skip_special && (e->attr & (TOK_CONTROL | TOK_UNKNOWN))) {
            i++;
            continue;
        }
        if (t->kind != TOK_KIND_BPE && (e->attr & TOK_BYTE)) { /* a run of byte tokens */
            size_t j = i, b0 = r;
            for (; j < n && (t->tokens[ids[j]].attr & TOK_BYTE); j++) {
                size_t k = t->piece_off[ids[j] + 1] - t->piece_off[ids[j]];
                memcpy(raw + r, t->piece + t->piece_off[ids[j]], k);
                r += k;
            }
            bool valid = true;
            for (size_t q = b0; q < r;) {
                uint32_t cpt;
                size_t k = utf8_decode(raw + q, r - q, &cpt);
                if (!k) {
                    valid = false;
                    break;
                }
                q += k;
            }
            if (!valid) { /* one U+FFFD per byte, as already-decoded text */
                m += lossy(o + m, raw, b0);
                for (size_t q = b0; q < r; q++, m += 3) memcpy(o + m, "\xEF\xBF\xBD", 3);
                r = 0;
            }
            i = j;
            continue;
        }
        const struct nadd_entry *na = normalized_added(t, ids[i]);
        if (na) { /* a normalized added token: its normalized text, "▁" as a space in SentencePiece style */
            const char *s = t->nadd_text + na->off;
            for (uint32_t q = 0; q < na->len;) {
                if (t->kind == TOK_KIND_SPM && q + 3 <= na->len && memcmp(s + q, "\xE2\x96\x81", 3) == 0) {
                    raw[r++] = ' ';
                    q += 3;
                } else {
                    raw[r++] = (unsigned char)s[q++];
                }
            }
            i++;
            continue;
        }
        size_t k = t->piece_off[ids[i] + 1] - t->piece_off[ids[i]];
        memcpy(raw + r, t->piece + t->piece_off[ids[i]], k);
        r += k;
        i++;
    }
    m += lossy(o + m, raw, r);
    free(raw);
    size_t start = 0;
    if (t->strip_lead_space && m && o[0] == ' ') start = 1;
    memmove(o, o + start, m - start);
    m -= start;
    o[m] = 0;
    *out = o;
    *len = m;
    return OWL_OK;
}
