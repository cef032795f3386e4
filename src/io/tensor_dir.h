/* tensor_dir.h — the tensor directory: name -> type, shape, bytes, one
 * table whichever file format the weights came from, so that the model
 * binder (model/weights.c) does not care.
 *
 * Filled from an open GGUF (views into its map) or from a Hugging Face
 * folder's safetensors: model.safetensors, or the shards listed by
 * model.safetensors.index.json. F32, F16 and BF16 tensors stay views into
 * the mapped files (copied when the header leaves them misaligned). F8_E4M3 tensors with a companion "<name>_scale_inv"
 * (one f32/bf16 scale per block of block_r x block_c elements, as the
 * DeepSeek-V3 and GLM FP8 releases ship) are dequantized at load into owned
 * F32 memory: w = e4m3(x) * scale_inv[r / block_r][c / block_c]; the
 * scale tensors themselves are not listed. Other safetensors dtypes are
 * listed with type -1 (the binder refuses them by name). */
#ifndef OWL_IO_TENSOR_DIR_H
#define OWL_IO_TENSOR_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "owl.h"
#include "gguf.h"
#include "safetensors.h"
#include "../tokenizer/strmap.h" /* a generic string -> int32 hash map */

typedef enum tensor_dir_format { TD_GGUF = 0, TD_HF = 1 } tensor_dir_format;

typedef struct td_tensor {
    char *name;          /* owned, NUL-terminated */
    int type;            /* owl_type; -1: a dtype owl cannot use (src_dtype says which) */
    const char *src_dtype; /* the file's spelling, for messages */
    uint32_t n_dims;
    int64_t ne[4];       /* ne[0] contiguous (GGUF order); unused dims are 1 */
    const void *data;    /* into a map, or owned (FP8 converted) */
    size_t nbytes;
} td_tensor;

typedef struct tensor_dir {
    tensor_dir_format format;
    char *path;          /* the file or folder, for messages */
    size_t n;
    td_tensor *t;        /* (n) */
    safetensors **files; /* (n_files) owned, HF only */
    size_t n_files;
    void **owned;        /* (n_owned) converted data */
    size_t n_owned;
    strmap by_name;      /* name -> index in t */
    /* HF: every tensor of every file, before conversion */
    strmap src_by_name;  /* name -> index in src */
    const st_tensor **src; /* (n_src) */
    uint32_t *src_file;  /* (n_src) index in files */
    size_t n_src;
} tensor_dir;

/* A directory of g's tensors (views; g must outlive it). */
owl_status tensor_dir_from_gguf(const gguf *g, tensor_dir **out);
/* A directory of the safetensors of folder dir. FP8 block sizes: block_r x
 * block_c (128 x 128 when the config does not say). */
owl_status tensor_dir_from_hf(const char *dir, int block_r, int block_c, tensor_dir **out);
const td_tensor *tensor_dir_find(const tensor_dir *d, const char *name);
void tensor_dir_free(tensor_dir *d);

/* float8 e4m3fn (bias 7, no infinities, S.1111.111 is NaN) to f32, exact. */
float f8_e4m3_to_f32(uint8_t x);

#endif
