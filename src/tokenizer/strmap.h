/* strmap.h — hash maps for the tokenizer: byte string -> int32 (token text
 * to id) and 64-bit key -> two int32 (BPE merge pair -> rank and result).
 *
 * Open addressing with linear probing, power-of-two tables, built once at
 * load and then only read (safe to share between threads). Keys of strmap
 * are not copied: the bytes must outlive the map. */
#ifndef OWL_TOKENIZER_STRMAP_H
#define OWL_TOKENIZER_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "owl.h"

typedef struct strmap_slot {
    const char *key; /* NULL: empty */
    uint32_t len;
    int32_t val;
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots;
    size_t mask; /* capacity - 1 */
    size_t count;
} strmap;

/* A map with room for n keys without growing (it never grows). */
owl_status strmap_init(strmap *m, size_t n);
void strmap_free(strmap *m);
/* Inserts or overwrites key -> val. The map must not be full. */
void strmap_put(strmap *m, const char *key, size_t len, int32_t val);
/* The value of key, or -1. */
int32_t strmap_get(const strmap *m, const char *key, size_t len);

typedef struct pairmap_slot {
    uint64_t key; /* UINT64_MAX: empty */
    int32_t a, b;
} pairmap_slot;

typedef struct pairmap {
    pairmap_slot *slots;
    size_t mask;
} pairmap;

owl_status pairmap_init(pairmap *m, size_t n);
void pairmap_free(pairmap *m);
/* Inserts key -> (a, b) unless key is present (the first insert wins). */
void pairmap_put_first(pairmap *m, uint64_t key, int32_t a, int32_t b);
/* The slot of key, or NULL. */
const pairmap_slot *pairmap_get(const pairmap *m, uint64_t key);

static inline uint64_t strmap_hash(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

#endif
