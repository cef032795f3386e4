/* status.h — error messages on the thread that failed.
 *
 * A failing function calls owl_err(status, "fmt", ...) and returns what it
 * returns; callers that add context wrap it with owl_err_prefix(). The text
 * is read back by owl_last_error(). */
#ifndef OWL_BASE_STATUS_H
#define OWL_BASE_STATUS_H

#include "owl.h"

/* Sets the thread's message and returns s. */
owl_status owl_err(owl_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Puts "prefix: " in front of the current message; returns s. */
owl_status owl_err_prefix(owl_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void owl_err_clear(void);

#endif
