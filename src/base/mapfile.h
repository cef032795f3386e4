/* mapfile.h — a whole file mapped read-only into memory. */
#ifndef OWL_BASE_MAPFILE_H
#define OWL_BASE_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "owl.h"

typedef struct mapfile {
    const uint8_t *data; /* NULL for an empty file */
    size_t size;
} mapfile;

/* Maps path; the message names the path and errno on failure. */
owl_status mapfile_open(const char *path, mapfile *m);
void mapfile_close(mapfile *m);

#endif
