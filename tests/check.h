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

#endif
