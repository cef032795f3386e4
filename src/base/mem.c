/* mem.c — the one allocation wrapper; see mem.h. */
#include "mem.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

void owl_free(void *p) { free(p); }

void *owl_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) owl_err(OWL_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *owl_xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) owl_err(OWL_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *owl_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) owl_err(OWL_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return q;
}

void *owl_xreallocarray(void *p, size_t count, size_t size) {
    size_t n;
    if (!size_mul(count, size, &n)) {
        owl_err(OWL_ERR_NOMEM, "size overflow: %zu x %zu bytes", count, size);
        return NULL;
    }
    return owl_xrealloc(p, n);
}

void *owl_xaligned(size_t n) {
    void *p = NULL;
    size_t r = (n + 63) & ~(size_t)63;
    if (r < n || posix_memalign(&p, 64, r ? r : 64) != 0) {
        owl_err(OWL_ERR_NOMEM, "out of memory allocating %zu aligned bytes", n);
        return NULL;
    }
    return p;
}

void owl_afree(void *p) { free(p); }

char *owl_xstrndup(const char *s, size_t n) {
    char *p = owl_xmalloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}
