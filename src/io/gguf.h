/* gguf.h — reader for GGUF files, versions 2 and 3, memory-mapped.
 *
 * Every count, length, offset and size read from the file is checked
 * against the file before it is used; a malformed file gives
 * OWL_ERR_FORMAT with one line naming the file and the problem. Strings
 * point into the map (not NUL-terminated: use len). Byte layout in gguf.c. */
#ifndef OWL_IO_GGUF_H
#define OWL_IO_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/mapfile.h"

typedef enum gguf_vtype {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4,
    GGUF_I32 = 5, GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8,
    GGUF_ARRAY = 9, GGUF_U64 = 10, GGUF_I64 = 11, GGUF_F64 = 12,
    GGUF_VTYPE_COUNT
} gguf_vtype;

typedef struct gguf_str {
    const char *ptr; /* into the map */
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    gguf_str key;
    gguf_vtype type;
    union {
        uint64_t u;   /* U8..U64, BOOL */
        int64_t i;    /* I8..I64 */
        double f;     /* F32, F64 */
        gguf_str s;   /* STRING */
    } v;
    /* ARRAY: element type, count, and where the elements are */
    gguf_vtype arr_type;
    uint64_t arr_n;
    const uint8_t *arr_data;  /* fixed-size elements, little-endian */
    gguf_str *arr_str;        /* STRING arrays: arr_n strings (owned) */
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;     /* 1..4 */
    int64_t ne[4];       /* ne[0] contiguous; unused dims are 1 */
    int type;            /* owl_type, known to dtype_get() */
    uint64_t offset;     /* from the start of the data section */
    const void *data;    /* into the map */
    size_t nbytes;
} gguf_tensor;

typedef struct gguf {
    mapfile map;
    char *path;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;          /* (n_kv) */
    gguf_tensor *tensors; /* (n_tensors) */
    uint64_t alignment;   /* general.alignment, default 32 */
    uint64_t data_offset; /* start of the tensor data section */
} gguf;

owl_status gguf_open(const char *path, gguf **out);
void gguf_close(gguf *g);

const gguf_kv *gguf_find(const gguf *g, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf *g, const char *name);

/* Typed getters: 1 found, 0 missing, -1 present but of a type that does
 * not convert or out of range (an OWL_ERR_FORMAT message naming the key
 * is set). Integer getters accept any integer type whose value fits. */
int gguf_get_u32(const gguf *g, const char *key, uint32_t *out);
int gguf_get_i64(const gguf *g, const char *key, int64_t *out);
int gguf_get_f32(const gguf *g, const char *key, float *out);
int gguf_get_bool(const gguf *g, const char *key, bool *out);
int gguf_get_str(const gguf *g, const char *key, gguf_str *out);
/* An array value of the given element type (GGUF_STRING: use arr_str);
 * NULL when missing or of another type. */
const gguf_kv *gguf_get_arr(const gguf *g, const char *key, gguf_vtype elem);
/* Element i of a numeric array as double / int64 (false when out of range). */
bool gguf_arr_f64(const gguf_kv *kv, uint64_t i, double *out);
bool gguf_arr_i64(const gguf_kv *kv, uint64_t i, int64_t *out);

const char *gguf_vtype_name(gguf_vtype t);
/* true when key s equals the NUL-terminated string z */
bool gguf_str_eq(gguf_str s, const char *z);

#endif
