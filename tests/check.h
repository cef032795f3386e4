/* check.h — the tests' assertions: count, report, and a closing line.
 *
 * CHECK(cond, fmt, ...) records a failure with its message and goes on;
 * check_done() prints "N passed, N failed" and returns the exit code. */
#ifndef OWL_TESTS_CHECK_H
#define OWL_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_pass_, check_fail_;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            check_pass_++;                                                 \
        } else {                                                           \
            check_fail_++;                                                 \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

static inline int check_done(void) {
    printf("%d passed, %d failed\n", check_pass_, check_fail_);
    return check_fail_ ? 1 : 0;
}

/* An environment variable the test needs (set by CMake), or exit 1. */
static inline const char *check_env(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "FAIL: environment variable %s is not set\n", name);
        exit(1);
    }
    return v;
}

/* A whole file, NUL-terminated (free()), its length in *n; NULL when it
 * cannot be opened. */
static inline char *check_read_file(const char *path, size_t *n) {
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "FAIL: out of memory reading %s\n", path);
            exit(1);
        }
        if (len == cap) {
            buf = realloc(buf, cap *= 2);
            continue;
        }
        size_t k = fread(buf + len, 1, cap - len, f);
        if (!k) break;
        len += k;
    }
    fclose(f);
    char *out = realloc(buf, len + 1);
    if (!out) {
        fprintf(stderr, "FAIL: out of memory reading %s\n", path);
        exit(1);
    }
    buf = out;
    buf[len] = 0;
    *n = len;
    return buf;
}

#endif
