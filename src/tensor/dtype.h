/* dtype.h — the type-traits table: one row per tensor type.
 *
 * Type values are GGUF's (owl_type in owl.h). Block layouts are GGUF's,
 * bit for bit, pinned by static_assert in quants.h. A row of a matrix is
 * ne[0] elements, a whole number of blocks. */
#ifndef OWL_TENSOR_DTYPE_H
#define OWL_TENSOR_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "owl.h"

/* Dequantizes n elements (a multiple of blck) of src into dst. */
typedef void (*dtype_to_float_fn)(const void *restrict src, float *restrict dst, int64_t n);
/* Quantizes n floats (a multiple of blck) into dst, reference rounding. */
typedef void (*dtype_from_float_fn)(const float *restrict src, void *restrict dst, int64_t n);
/* Dot product of one row of n elements of this type with n floats,
 * accumulated in fp32 (the exact path). */
typedef float (*dtype_dot_f32_fn)(const void *restrict row, const float *restrict x, int64_t n);

typedef struct dtype_traits {
    const char *name;            /* "q4_k", GGUF's spelling */
    int32_t blck;                /* elements per block */
    size_t size;                 /* bytes per block */
    bool quantized;
    dtype_to_float_fn to_float;  /* NULL: cannot be read */
    dtype_from_float_fn from_float; /* NULL: owl cannot write it yet */
    dtype_dot_f32_fn dot_f32;    /* NULL: cannot be a matmul weight */
    int32_t vec_dot_type;        /* the type an integer dot kernel wants the
                                    activations in (Q8_0 for Q4_0/Q5_0/Q8_0,
                                    Q8_1 for Q4_1/Q5_1, Q8_K for K-quants);
                                    the type itself for F32/F16/BF16 */
} dtype_traits;

/* The row for type t, or NULL when t is unknown or unsupported. */
const dtype_traits *dtype_get(int t);

/* Bytes of n elements of type t; 0 if n is not a multiple of the block
 * size or the size overflows. */
size_t dtype_row_size(int t, int64_t n);

#endif
