/* detok.c — the streaming detokenizer; see detok.h. */
#include "detok.h"

#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "vocab.h"

struct owl_detok {
    const tokenizer *t;
    unsigned char pend[4]; /* the start of an unfinished character */
    size_t n_pend;
    bool first; /* no token pushed yet */
    char *out;  /* room for 3 bytes per input byte */
    size_t cap;
};

owl_status detok_new(const tokenizer *t, detok **out) {
    *out = NULL;
    detok *d = owl_xcalloc(1, sizeof *d);
    if (!d) return OWL_ERR_NOMEM;
    d->t = t;
    d->first = true;
    d->cap = 3 * (t->max_piece_len + sizeof d->pend) + 16;
    d->out = owl_xmalloc(d->cap);
    if (!d->out) {
        free(d);
        return OWL_ERR_NOMEM;
    }
    *out = d;
    return OWL_OK;
}

void detok_free(detok *d) {
    if (!d) return;
    free(d->out);
    free(d);
}

/* Bytes allowed after lead byte c at position k (1..3) of its sequence. */
static bool cont_ok(unsigned char c, size_t k, unsigned char b) {
    unsigned char lo = 0x80, hi = 0xBF;
    if (k == 1) {
        if (c == 0xE0) lo = 0xA0;
        else if (c == 0xED) hi = 0x9F;
        else if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F;
    }
    return b >= lo && b <= hi;
}

static size_t seq_len(unsigned char c) {
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0; /* never a lead byte */
}

static size_t put_fffd(char *o) {
    memcpy(o, "\xEF\xBF\xBD", 3);
    return 3;
}

/* Decodes pend + s[0..n) into d->out; an unfinished tail goes to pend. */
static size_t feed(detok *d, const unsigned char *s, size_t n) {
    unsigned char buf[4]; /* the pending bytes, read before the piece */
    size_t m = 0, i = 0, np = d->n_pend;
    memcpy(buf, d->pend, np);
    d->n_pend = 0;
    size_t total = np + n;
#define AT(k) ((k) < np ? buf[k] : s[(k) - np])
    while (i < total) {
        unsigned char c = AT(i);
        size_t L = seq_len(c);
        if (L == 1) {
            d->out[m++] = (char)c;
            i++;
            continue;
        }
        if (L == 0) {
            m += put_fffd(d->out + m);
            i++;
            continue;
        }
        size_t k = 1;
        while (k < L && i + k < total && cont_ok(c, k, AT(i + k))) k++;
        if (k == L) {
            for (size_t j = 0; j < L; j++) d->out[m++] = (char)AT(i + j);
            i += L;
        } else if (i + k == total) { /* unfinished: wait for more */
            for (size_t j = 0; j < k; j++) d->pend[j] = AT(i + j);
            d->n_pend = k;
            i = total;
        } else { /* a byte that cannot continue it: the subpart is invalid */
            m += put_fffd(d->out + m);
            i += k;
        }
    }
#undef AT
    return m;
}

void detok_push(detok *d, owl_token id, const char **text, size_t *len) {
    const tokenizer *t = d->t;
    *text = d->out;
    *len = 0;
    if (id < 0 || id >= t->n_vocab || (t->tokens[id].attr & (TOK_CONTROL | TOK_UNKNOWN))) return;
    bool first = d->first;
    d->first = false;
    const unsigned char *p = (const unsigned char *)t->piece + t->piece_off[id];
    size_t n = t->piece_off[id + 1] - t->piece_off[id];
    if (first && t->add_space_prefix && n && p[0] == ' ') p++, n--;
    *len = feed(d, p, n);
}

void detok_flush(detok *d, const char **text, size_t *len) {
    size_t m = 0;
    if (d->n_pend) m = put_fffd(d->out);
    d->n_pend = 0;
    d->first = true;
    *text = d->out;
    *len = m;
}
