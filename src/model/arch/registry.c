/* registry.c — general.architecture -> the family's functions. A new
 * family adds its arch_ops here (and declares it in arch.h). */
#include <string.h>

#include "arch.h"

static const arch_ops *const families[] = {
    &arch_llama,
};

const arch_ops *arch_find(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strlen(families[i]->name) == len && memcmp(families[i]->name, name, len) == 0)
            return families[i];
    return NULL;
}

const char *arch_supported(void) { return "llama"; }
