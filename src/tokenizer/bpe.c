/* bpe.c — byte-level BPE (GPT-2 style, tokenizer.ggml.model "gpt2").
 *
 * Text -> valid UTF-8 (invalid bytes become U+FFFD, as llama.cpp does) ->
 * words by the regex pre-tokenizer -> each word as one symbol per byte,
 * the symbol being the token of the byte's mapped character -> merges,
 * always the pair of lowest rank first (leftmost on ties), from a binary
 * heap of candidate pairs that are checked again when they are popped ->
 * the ids of the symbols left.
 *
 * Merges are looked up by the ids of the two symbols in a hash map built
 * at load ((left << 32 | right) -> rank, merged id), so no string is
 * built or hashed while merging. */
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "vocab.h"

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
 * the 68 others (0x00-0x20, 0x7F-0xA0, 0xAD) for U+0100.. in byte order. */
uint32_t bpe_byte_to_cpt(uint8_t b) {
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) return b;
    if (b <= 0x20) return 256u + b;
    if (b >= 0x7F && b <= 0xA0) return 256u + 33u + (b - 0x7Fu);
    return 256u + 33u + 34u; /* 0xAD */
}

int bpe_cpt_to_byte(uint32_t cpt) {
    if ((cpt >= 0x21 && cpt <= 0x7E) || (cpt >= 0xA1 && cpt <= 0xAC) || (cpt >= 0xAE && cpt <= 0xFF)) return (int)cpt;
    if (cpt < 256 || cpt >= 256 + 68) return -1;
    uint32_t k = cpt - 256;
    if (k <= 0x20) return (int)k;
    if (k < 33 + 34) return (int)(0x7F + (k - 33));
    return 0xAD;
}

typedef struct bpe_sym {
    int32_t id; /* token of the symbol, -1 if the vocabulary lacks it */
    int32_t prev, next;
    bool alive;
} bpe_sym;

typedef struct bpe_pair {
    int32_t rank, left, right, lid, rid, merged;
} bpe_pair;

typedef struct bpe_work {
    bpe_sym *sym;
    size_t sym_cap;
    bpe_pair *heap;
    size_t heap_n, heap_cap;
    char *enc; /* the word as mapped characters, for ignore_merges */
    size_t enc_cap;
} bpe_work;

static inline bool pair_less(const bpe_pair *a, const bpe_pair *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static bool heap_push(bpe_work *w, bpe_pair p) {
    if (w->heap_n == w->heap_cap) {
        size_t cap = w->heap_cap ? w->heap_cap * 2 : 256;
        bpe_pair *h = owl_xreallocarray(w->heap, cap, sizeof *h);
        if (!h) return false;
        w->heap = h;
        w->heap_cap = cap;
    }
    size_t i = w->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pair_less(&p, &w->heap[parent])) break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = p;
    return true;
}

static bpe_pair heap_pop(bpe_work *w) {
    bpe_pair top = w->heap[0], last = w->heap[--w->heap_n];
    size_t i = 0, n = w->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && pair_less(&w->heap[c + 1], &w->heap[c])) c++;
        if (!pair_less(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

static bool try_pair(const tokenizer *t, bpe_work *w, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return true;
    int32_t lid = w->sym[left].id, rid = w->sym[right].id;
    if (lid < 0 || rid < 0) return true;
    const pairmap_slot *s = pairmap_get(&t->merges, (uint64_t)(uint32_t)lid << 32 | (uint32_t)rid);
    if (!s) return true;
    bpe_pair p = {s->a, left, right, lid, rid, s->b};
    return heap_push(w, p);
}

static owl_status bpe_word(const tokenizer *t, bpe_work *w, const unsigned char *s, size_t n, tok_ids *out) {
    if (t->ignore_merges) {
        size_t need;
        if (!size_mul(n, 2, &need)) return owl_err(OWL_ERR_NOMEM, "word too long");
        if (need > w->enc_cap) {
            char *e = owl_xrealloc(w->enc, need);
            if (!e) return OWL_ERR_NOMEM;
            w->enc = e;
            w->enc_cap = need;
        }
        size_t m = 0;
        for (size_t i = 0; i < n; i++) m += utf8_encode(bpe_byte_to_cpt(s[i]), w->enc + m);
        int32_t id = strmap_get(&t->text_to_id, w->enc, m);
        if (id >= 0) return tok_ids_push(out, id);
    }
    if (n > w->sym_cap) {
        bpe_sym *sym = owl_xreallocarray(w->sym, n, sizeof *sym);
        if (!sym) return OWL_ERR_NOMEM;
        w->sym = sym;
        w->sym_cap = n;
    }
    /* a byte the vocabulary has no token for: with tokenizer.json it is
     * dropped before merging (its neighbours meet, as in tokenizers'
     * BPE without unk_token); from GGUF it stays as a barrier */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_id[s[i]];
        if (id < 0 && t->hf) continue;
        w->sym[m].id = id;
        w->sym[m].prev = (int32_t)m - 1;
        w->sym[m].next = -1;
        if (m) w->sym[m - 1].next = (int32_t)m;
        w->sym[m].alive = true;
        m++;
    }
    n = m;
    w->heap_n = 0;
    for (size_t i = 1; i < n; i++)
        if (!try_pair(t, w, (int32_t)i - 1, (int32_t)i)) return OWL_ERR_NOMEM;
    while (w->heap_n) {
        bpe_pair p = heap_pop(w);
        bpe_sym *l = &w->sym[p.left], *r = &w->sym[p.right];
        if (!l->alive || !r->alive || l->next != p.right || l->id != p.lid || r->id != p.rid) continue;
        l->id = p.merged;
        r->alive = false;
        l->next = r->next;
        if (r->next >= 0) w->sym[r->next].prev = p.left;
        if (!try_pair(t, w, l->prev, p.left) || !try_pair(t, w, p.left, l->next)) return OWL_ERR_NOMEM;
    }
    for (int32_t i = 0; i >= 0 && (size_t)i < n; i = w->sym[i].next) {
        if (w->sym[i].id >= 0) {
            owl_status st = tok_ids_push(out, w->sym[i].id);
            if (st) return st;
        }
    }
    return OWL_OK;
}

owl_status bpe_encode(const tokenizer *t, const char *text, size_t len, tok_ids *out) {
    bool same;
    size_t n;
    char *clean = utf8_sanitize(text, len, &n, &same);
    if (!same && !clean) return OWL_ERR_NOMEM;
    const char *src = same ? text : clean;
    pretok_span *spans = NULL;
    size_t n_spans = 0;
    owl_status st = pretok_split(t->pretok, src, n, &spans, &n_spans);
    bpe_work w = {0};
    for (size_t i = 0; st == OWL_OK && i < n_spans; i++)
        st = bpe_word(t, &w, (const unsigned char *)src + spans[i].off, spans[i].len, out);
    free(w.sym);
    free(w.heap);
    free(w.enc);
    free(spans);
    free(clean);
    return st;
}
