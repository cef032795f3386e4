/* status.c — status names and the per-thread error message. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_msg[1024];

const char *owl_status_str(owl_status s) {
    switch (s) {
    case OWL_OK: return "ok";
    case OWL_ERR_IO: return "i/o error";
    case OWL_ERR_FORMAT: return "format error";
    case OWL_ERR_UNSUPPORTED: return "unsupported";
    case OWL_ERR_NOMEM: return "out of memory";
    case OWL_ERR_ARG: return "bad argument";
    case OWL_ERR_FULL: return "context full";
    case OWL_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *owl_last_error(void) { return err_msg; }

void owl_err_clear(void) { err_msg[0] = 0; }

owl_status owl_err(owl_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    return s;
}

owl_status owl_err_prefix(owl_status s, const char *fmt, ...) {
    char prefix[512], old[sizeof err_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err_msg, sizeof old);
    size_t n = strlen(prefix);
    memcpy(err_msg, prefix, n);
    if (n + 2 < sizeof err_msg) {
        memcpy(err_msg + n, ": ", 2);
        size_t room = sizeof err_msg - n - 3, m = strlen(old);
        if (m > room) m = room;
        memcpy(err_msg + n + 2, old, m);
        err_msg[n + 2 + m] = 0;
    } else {
        err_msg[n] = 0;
    }
    return s;
}
