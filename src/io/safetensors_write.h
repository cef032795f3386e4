/* safetensors_write.h — writes a .safetensors file (layout in
 * safetensors.h): the header JSON with each tensor's dtype, shape and byte
 * range in the order given, padded with spaces to a multiple of 8 bytes so
 * that every tensor's data starts 8-byte aligned, then the data. */
#ifndef OWL_IO_SAFETENSORS_WRITE_H
#define OWL_IO_SAFETENSORS_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "owl.h"
#include "safetensors.h"

typedef struct st_write_tensor {
    const char *name;
    st_dtype dtype;
    uint32_t n_dims;
    int64_t shape[SAFETENSORS_MAX_DIMS]; /* shape[0] outermost */
    const void *data;                    /* product(shape) * dtype size bytes */
} st_write_tensor;

/* Writes the n tensors to path (replacing it); metadata: NULL or pairs of
 * strings key, value, ..., NULL. */
owl_status safetensors_write(const char *path, const st_write_tensor *t, size_t n,
                             const char *const *metadata);

#endif
