/* strmap.c — the tokenizer's hash maps; see strmap.h. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"

static bool table_size(size_t n, size_t *cap) {
    size_t c = 16;
    while (c < n * 2) { /* load factor <= 1/2 */
        if (c > SIZE_MAX / 4) return false;
        c *= 2;
    }
    *cap = c;
    return true;
}

owl_status strmap_init(strmap *m, size_t n) {
    size_t cap;
    memset(m, 0, sizeof *m);
    if (!table_size(n, &cap)) return owl_err(OWL_ERR_NOMEM, "string map of %zu keys is too large", n);
    m->slots = owl_xcalloc(cap, sizeof *m->slots);
    if (!m->slots) return OWL_ERR_NOMEM;
    m->mask = cap - 1;
    return OWL_OK;
}

void strmap_free(strmap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

void strmap_put(strmap *m, const char *key, size_t len, int32_t val) {
    size_t i = (size_t)strmap_hash(key, len) & m->mask;
    for (;;) {
        strmap_slot *s = &m->slots[i];
        if (!s->key) {
            s->key = key;
            s->len = (uint32_t)len;
            s->val = val;
            m->count++;
            return;
        }
        if (s->len == len && memcmp(s->key, key, len) == 0) {
            s->val = val;
            return;
        }
        i = (i + 1) & m->mask;
    }
}

int32_t strmap_get(const strmap *m, const char *key, size_t len) {
    if (!m->slots) return -1;
    size_t i = (size_t)strmap_hash(key, len) & m->mask;
    for (;;) {
        const strmap_slot *s = &m->slots[i];
        if (!s->key) return -1;
        if (s->len == len && memcmp(s->key, key, len) == 0) return s->val;
        i = (i + 1) & m->mask;
    }
}

static inline size_t pair_hash(uint64_t k) {
    k ^= k >> 31;
    k *= 0x9e3779b97f4a7c15ull;
    k ^= k >> 29;
    return (size_t)k;
}

owl_status pairmap_init(pairmap *m, size_t n) {
    size_t cap;
    memset(m, 0, sizeof *m);
    if (!table_size(n, &cap)) return owl_err(OWL_ERR_NOMEM, "pair map of %zu keys is too large", n);
    m->slots = owl_xreallocarray(NULL, cap, sizeof *m->slots);
    if (!m->slots) return OWL_ERR_NOMEM;
    for (size_t i = 0; i < cap; i++) m->slots[i].key = UINT64_MAX;
    m->mask = cap - 1;
    return OWL_OK;
}

void pairmap_free(pairmap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

void pairmap_put_first(pairmap *m, uint64_t key, int32_t a, int32_t b) {
    size_t i = pair_hash(key) & m->mask;
    for (;;) {
        pairmap_slot *s = &m->slots[i];
        if (s->key == UINT64_MAX) {
            s->key = key;
            s->a = a;
            s->b = b;
            return;
        }
        if (s->key == key) return;
        i = (i + 1) & m->mask;
    }
}

const pairmap_slot *pairmap_get(const pairmap *m, uint64_t key) {
    if (!m->slots) return NULL;
    size_t i = pair_hash(key) & m->mask;
    for (;;) {
        const pairmap_slot *s = &m->slots[i];
        if (s->key == key) return s;
        if (s->key == UINT64_MAX) return NULL;
        i = (i + 1) & m->mask;
    }
}
