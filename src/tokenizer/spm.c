/* spm.c — SentencePiece BPE (tokenizer.ggml.model "llama").
 *
 * The fragment gets "▁" in front when asked (add_space_prefix), spaces
 * become "▁"; it is cut into UTF-8 characters (a byte that starts no
 * well-formed character is one symbol, so it cannot swallow the next
 * character: llama.cpp cuts by the lead byte alone); then the adjacent pair
 * whose concatenation is the piece of highest score is merged, again and
 * again (leftmost on ties), from a binary heap of candidates checked when
 * popped. A symbol left that is no piece becomes its bytes' <0xXX> tokens
 * (byte fallback), or <unk> when the vocabulary has no byte tokens.
 *
 * Merges may only form pieces SentencePiece itself would emit: normal and
 * user-defined tokens (not control, unknown or byte tokens, and not unused
 * ones: SentencePiece would merge through an unused piece and cut it again,
 * which no vocabulary owl knows needs). */
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "vocab.h"

typedef struct spm_sym {
    uint32_t off, n; /* bytes in the escaped text; n == 0: merged away */
    int32_t prev, next;
} spm_sym;

typedef struct spm_pair {
    float score;
    int32_t left, right;
    uint32_t size;
} spm_pair;

typedef struct spm_heap {
    spm_pair *v;
    size_t n, cap;
} spm_heap;

static inline bool spm_before(const spm_pair *a, const spm_pair *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static bool spm_push(spm_heap *h, spm_pair p) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        spm_pair *v = owl_xreallocarray(h->v, cap, sizeof *v);
        if (!v) return false;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!spm_before(&p, &h->v[parent])) break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = p;
    return true;
}

static spm_pair spm_pop(spm_heap *h) {
    spm_pair top = h->v[0], last = h->v[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && spm_before(&h->v[c + 1], &h->v[c])) c++;
        if (!spm_before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (n) h->v[i] = last;
    return top;
}

/* The id of a piece merges may produce (merge) or a symbol may end as, or -1. */
static int32_t spm_piece(const tokenizer *t, const char *s, size_t n, bool merge) {
    int32_t id = strmap_get(&t->text_to_id, s, n);
    if (id < 0 || !(t->tokens[id].attr & (TOK_NORMAL | TOK_USER_DEFINED))) return -1;
    if (merge && (t->tokens[id].attr & TOK_NOMERGE)) return -1;
    return id;
}

static bool spm_try(const tokenizer *t, const char *buf, const spm_sym *sym, spm_heap *h, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return true;
    /* Metaspace with split: every "▁" starts a word of its own */
    if (t->spm_split && sym[r].n >= 3 && memcmp(buf + sym[r].off, "\xE2\x96\x81", 3) == 0) return true;
    uint32_t size = sym[l].n + sym[r].n;
    int32_t id = spm_piece(t, buf + sym[l].off, size, true);
    if (id < 0) return true;
    spm_pair p = {t->tokens[id].score, l, r, size};
    return spm_push(h, p);
}

owl_status spm_encode(const tokenizer *t, const char *text, size_t len, bool space_prefix, tok_ids *out) {
    size_t cap;
    if (!size_mul(len + 1, 3, &cap) || cap > UINT32_MAX) return owl_err(OWL_ERR_NOMEM, "text too long to tokenize");
    char *buf = owl_xmalloc(cap);
    spm_sym *sym = NULL;
    spm_heap heap = {0};
    owl_status st = OWL_OK;
    if (!buf) return OWL_ERR_NOMEM;
    size_t m = 0;
    if (space_prefix) {
        memcpy(buf, "\xE2\x96\x81", 3);
        m = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(buf + m, "\xE2\x96\x81", 3);
            m += 3;
        } else {
            buf[m++] = text[i];
        }
    }
    sym = owl_xreallocarray(NULL, m ? m : 1, sizeof *sym);
    if (!sym) {
        free(buf);
        return OWL_ERR_NOMEM;
    }
    int32_t n_sym = 0;
    for (size_t off = 0; off < m;) {
        uint32_t cpt; /* a byte that starts no well-formed character is a symbol of its own */
        size_t k = utf8_decode((const unsigned char *)buf + off, m - off, &cpt);
        if (!k) k = 1;
        sym[n_sym].off = (uint32_t)off;
        sym[n_sym].n = (uint32_t)k;
        sym[n_sym].prev = n_sym - 1;
        off += k;
        sym[n_sym].next = off < m ? n_sym + 1 : -1;
        n_sym++;
    }
    for (int32_t i = 1; i < n_sym; i++)
        if (!spm_try(t, buf, sym, &heap, i - 1, i)) goto nomem;
    while (heap.n) {
        spm_pair p = spm_pop(&heap);
        spm_sym *l = &sym[p.left], *r = &sym[p.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != p.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = p.left;
        if (!spm_try(t, buf, sym, &heap, l->prev, p.left) || !spm_try(t, buf, sym, &heap, p.left, l->next))
            goto nomem;
    }
    for (int32_t i = n_sym ? 0 : -1; i >= 0; i = sym[i].next) {
        int32_t id = spm_piece(t, buf + sym[i].off, sym[i].n, false);
        if (id >= 0) {
            if ((st = tok_ids_push(out, id))) goto done;
            continue;
        }
        for (uint32_t j = 0; j < sym[i].n; j++) {
            int32_t b = t->byte_id[(unsigned char)buf[sym[i].off + j]];
            if (b < 0) b = t->unk;
            if (b >= 0 && (st = tok_ids_push(out, b))) goto done;
        }
    }
    goto done;
nomem:
    st = OWL_ERR_NOMEM;
done:
    free(heap.v);
    free(sym);
    free(buf);
    return st;
}
