/* mem.h — allocation with overflow-checked sizes.
 *
 * Every size computed from untrusted numbers goes through size_mul /
 * size_add before it is used. owl_xmalloc and friends return NULL on
 * failure (after setting an OWL_ERR_NOMEM message) and never abort. */
#ifndef OWL_BASE_MEM_H
#define OWL_BASE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* *out = a * b; false when it overflows. */
static inline bool size_mul(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
/* *out = a + b; false when it overflows. */
static inline bool size_add(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline bool u64_mul(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool u64_add(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

void *owl_xmalloc(size_t n);
void *owl_xcalloc(size_t count, size_t size);
void *owl_xrealloc(void *p, size_t n);
/* realloc for an array of count elements of size bytes, overflow-checked */
void *owl_xreallocarray(void *p, size_t count, size_t size);
/* 64-byte aligned, for kernels; free with owl_afree */
void *owl_xaligned(size_t n);
void owl_afree(void *p);
char *owl_xstrndup(const char *s, size_t n);

#endif
