/* gguf_write.h — writer for GGUF version 3 files, streaming tensor data.
 *
 * The file is written in three steps, in this order:
 *
 *   1. metadata (gguf_writer_kv_*) and tensor infos (gguf_writer_add_tensor),
 *      kept in memory: they are small, and the header needs their counts;
 *   2. gguf_writer_begin_data writes the header, the metadata, the tensor
 *      infos and the padding up to the data section;
 *   3. gguf_writer_write streams the tensor data, tensors in the order they
 *      were added, in pieces of any size; the writer pads each tensor to the
 *      alignment when its last byte arrives. A 7B model is never held in
 *      memory: the caller hands over a few rows at a time.
 *
 * gguf_writer_finish checks that every tensor got all of its bytes, flushes
 * and closes the file. Every write is checked: a full disk or an I/O error
 * gives OWL_ERR_IO naming the file and errno's text. gguf_writer_free on a
 * writer that did not finish removes the partial file (only when it is a
 * regular file: writing to /dev/full never removes /dev/full).
 *
 * Byte layout written: see src/io/gguf.c. Alignment is 32 unless the
 * metadata sets general.alignment (u32, a power of two). */
#ifndef OWL_IO_GGUF_WRITE_H
#define OWL_IO_GGUF_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf.h"

typedef struct gguf_writer gguf_writer;

/* Creates (or truncates) path for writing. */
owl_status gguf_writer_open(const char *path, gguf_writer **out);
/* Closes the file; removes it when gguf_writer_finish did not succeed. */
void gguf_writer_free(gguf_writer *w);

/* ---- metadata (before gguf_writer_begin_data) ---------------------------
 * A key may be given once: a second value for the same key is OWL_ERR_ARG. */

/* A scalar of type t (U8..F64, BOOL; not STRING or ARRAY); val points to
 * the C value of that width (uint8_t, int16_t, float, double, bool ...). */
owl_status gguf_writer_kv(gguf_writer *w, const char *key, gguf_vtype t, const void *val);
owl_status gguf_writer_kv_u32(gguf_writer *w, const char *key, uint32_t v);
owl_status gguf_writer_kv_f32(gguf_writer *w, const char *key, float v);
owl_status gguf_writer_kv_bool(gguf_writer *w, const char *key, bool v);
/* A string of len bytes (need not be NUL-terminated). */
owl_status gguf_writer_kv_str(gguf_writer *w, const char *key, const char *s, uint64_t len);
/* An array of n fixed-size elements of type elem (U8..F64, BOOL), packed
 * little-endian as in memory. */
owl_status gguf_writer_kv_arr(gguf_writer *w, const char *key, gguf_vtype elem, const void *data,
                              uint64_t n);
/* An array of n strings. */
owl_status gguf_writer_kv_arr_str(gguf_writer *w, const char *key, const gguf_str *strs, uint64_t n);
/* A copy of a value read by gguf_open (any type), under its own key. */
owl_status gguf_writer_kv_copy(gguf_writer *w, const gguf_kv *kv);
/* True when key was already given. */
bool gguf_writer_has_kv(const gguf_writer *w, const char *key);

/* ---- tensors --------------------------------------------------------------
 * n_dims in 1..4, ne[0] contiguous and a whole number of blocks of type. */
owl_status gguf_writer_add_tensor(gguf_writer *w, const char *name, int type, uint32_t n_dims,
                                  const int64_t *ne);

/* Writes everything before the tensor data. */
owl_status gguf_writer_begin_data(gguf_writer *w);
/* Appends n bytes of tensor data (may span tensors). More bytes than the
 * tensors hold is OWL_ERR_ARG. */
owl_status gguf_writer_write(gguf_writer *w, const void *data, size_t n);
/* Bytes the current tensor still expects (0 when all are complete). */
uint64_t gguf_writer_pending(const gguf_writer *w);
/* All data written: flushes, syncs and closes. OWL_ERR_ARG when a tensor is
 * short; OWL_ERR_IO when the disk refused a byte. */
owl_status gguf_writer_finish(gguf_writer *w);

#endif
