/* safetensors.h — reader for one .safetensors file, memory-mapped.
 *
 * Byte layout (all little-endian):
 *
 *     u64  N                      length of the header
 *     u8   header[N]              UTF-8 JSON object:
 *            { "__metadata__": { "k": "v", ... },          optional
 *              "<name>": { "dtype": "BF16", "shape": [r, c],
 *                          "data_offsets": [begin, end] }, ... }
 *     u8   data[...]              tensor bytes; offsets count from here
 *
 * Checked before anything is used: N is at most SAFETENSORS_MAX_HEADER and
 * inside the file; the header is a JSON object of objects with exactly
 * these keys and types; dtype is known; shape entries are non-negative and
 * their product times the element size equals end - begin (overflow
 * checked); begin <= end <= the data size; no two ranges overlap. A
 * malformed file gives OWL_ERR_FORMAT with one line naming the file,
 * the tensor and the problem. */
#ifndef OWL_IO_SAFETENSORS_H
#define OWL_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "owl.h"
#include "../base/mapfile.h"

#define SAFETENSORS_MAX_HEADER (100u << 20) /* 100 MiB, as the Rust crate */
#define SAFETENSORS_MAX_DIMS 8

typedef enum st_dtype {
    ST_F32, ST_F16, ST_BF16, ST_F8_E4M3, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8,
    ST_BOOL, ST_F8_E5M2, ST_DTYPE_COUNT
} st_dtype;

typedef struct st_tensor {
    char *name;           /* owned, NUL-terminated */
    st_dtype dtype;
    uint32_t n_dims;      /* 0..SAFETENSORS_MAX_DIMS; shape[0] outermost (rows) */
    int64_t shape[SAFETENSORS_MAX_DIMS];
    const void *data;     /* into the map */
    size_t nbytes;
} st_tensor;

typedef struct safetensors {
    mapfile map;
    char *path;
    size_t n_tensors;
    st_tensor *tensors;   /* (n_tensors), in header order */
} safetensors;

owl_status safetensors_open(const char *path, safetensors **out);
void safetensors_close(safetensors *st);

/* "BF16" etc. (safetensors' spelling); element size in bytes. */
const char *st_dtype_name(st_dtype t);
size_t st_dtype_size(st_dtype t);

#endif
