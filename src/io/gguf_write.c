/* gguf_write.c — GGUF v3 writer: metadata and tensor infos buffered in
 * memory, tensor data streamed to the file through a stdio buffer.
 *
 * Byte layout written (little-endian, the layout gguf.c reads):
 *
 *   u32 magic "GGUF"   u32 version 3   u64 n_tensors   u64 n_kv
 *   n_kv × { str key; u32 type; value }        (str = u64 len, bytes)
 *   n_tensors × { str name; u32 n_dims; n_dims × u64 ne; u32 type; u64 offset }
 *   zero padding to the alignment
 *   tensor data, each tensor zero-padded to the alignment
 *
 * Offsets are relative to the data section and each is a multiple of the
 * alignment. Every fwrite/fflush/fsync/fclose result is checked, so ENOSPC
 * surfaces as OWL_ERR_IO even when stdio buffered the failing bytes. */
#define _DEFAULT_SOURCE /* fsync */
#include "gguf_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "../tensor/dtype.h"

#define GGUF_MAGIC 0x46554747u
#define GGUF_VERSION 3
#define GGUF_DEFAULT_ALIGNMENT 32
#define WRITE_BUF_SIZE (1u << 20)

typedef struct wtensor {
    char *name;
    uint32_t n_dims;
    int64_t ne[4];
    int type;
    uint64_t offset; /* from the start of the data section */
    uint64_t nbytes;
} wtensor;

struct gguf_writer {
    FILE *f;
    char *path;
    char *iobuf;
    bool regular;     /* a regular file: removed when not finished */
    bool failed;      /* a write failed: everything after is refused */
    bool data_begun, finished;
    /* metadata, serialized */
    uint8_t *kv;
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    char **keys;      /* (n_kv) for the duplicate check */
    /* tensors */
    wtensor *t;
    uint64_t n_t, cap_t;
    uint64_t alignment;
    uint64_t data_size; /* bytes of the data section, padding included */
    /* streaming position */
    uint64_t cur;        /* tensor being written */
    uint64_t cur_done;   /* bytes of it written */
};

static const size_t scalar_size[GGUF_VTYPE_COUNT] = {
    [GGUF_U8] = 1, [GGUF_I8] = 1, [GGUF_U16] = 2, [GGUF_I16] = 2,
    [GGUF_U32] = 4, [GGUF_I32] = 4, [GGUF_F32] = 4, [GGUF_BOOL] = 1,
    [GGUF_U64] = 8, [GGUF_I64] = 8, [GGUF_F64] = 8,
};

static owl_status io_fail(gguf_writer *w, const char *what, int e) {
    w->failed = true;
    return owl_err(OWL_ERR_IO, "%s: %s: %s", w->path, what, strerror(e ? e : EIO));
}

owl_status gguf_writer_open(const char *path, gguf_writer **out) {
    *out = NULL;
    if (!path || !*path) return owl_err(OWL_ERR_ARG, "gguf writer: no output path");
    gguf_writer *w = owl_xcalloc(1, sizeof *w);
    if (!w) return OWL_ERR_NOMEM;
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    w->path = owl_xstrndup(path, strlen(path));
    w->iobuf = owl_xmalloc(WRITE_BUF_SIZE);
    if (!w->path || !w->iobuf) {
        gguf_writer_free(w);
        return OWL_ERR_NOMEM;
    }
    w->f = fopen(path, "wb");
    if (!w->f) {
        owl_status s = owl_err(OWL_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        gguf_writer_free(w);
        return s;
    }
    setvbuf(w->f, w->iobuf, _IOFBF, WRITE_BUF_SIZE);
    struct stat st;
    w->regular = fstat(fileno(w->f), &st) == 0 && S_ISREG(st.st_mode);
    *out = w;
    return OWL_OK;
}

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    if (w->f) {
        fclose(w->f);
        if (!w->finished && w->regular) unlink(w->path);
    }
    for (uint64_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
    free(w->keys);
    for (uint64_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->t);
    free(w->kv);
    free(w->iobuf);
    free(w->path);
    free(w);
}

/* ---- metadata ---------------------------------------------------------- */

static owl_status kv_put(gguf_writer *w, const void *src, size_t n) {
    size_t need;
    if (!size_add(w->kv_len, n, &need)) return owl_err(OWL_ERR_NOMEM, "gguf writer: metadata too large");
    if (need > w->kv_cap) {
        size_t cap = w->kv_cap ? w->kv_cap : 4096;
        while (cap < need) {
            if (!size_mul(cap, 2, &cap)) return owl_err(OWL_ERR_NOMEM, "gguf writer: metadata too large");
        }
        uint8_t *p = owl_xrealloc(w->kv, cap);
        if (!p) return OWL_ERR_NOMEM;
        w->kv = p;
        w->kv_cap = cap;
    }
    if (n) memcpy(w->kv + w->kv_len, src, n);
    w->kv_len = need;
    return OWL_OK;
}

static owl_status kv_u32(gguf_writer *w, uint32_t v) { return kv_put(w, &v, 4); }
static owl_status kv_u64(gguf_writer *w, uint64_t v) { return kv_put(w, &v, 8); }
static owl_status kv_strn(gguf_writer *w, const char *s, uint64_t len) {
    owl_status st = kv_u64(w, len);
    if (st == OWL_OK && len > SIZE_MAX) return owl_err(OWL_ERR_NOMEM, "gguf writer: string too long");
    return st != OWL_OK ? st : kv_put(w, s, (size_t)len);
}

bool gguf_writer_has_kv(const gguf_writer *w, const char *key) {
    for (uint64_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->keys[i], key)) return true;
    return false;
}

/* Starts an entry: checks the state and the key, writes key and type. On
 * failure of a later step the buffer is rolled back by the caller. */
static owl_status kv_begin(gguf_writer *w, const char *key, gguf_vtype t, size_t *mark) {
    *mark = w->kv_len;
    if (w->data_begun) return owl_err(OWL_ERR_ARG, "%s: metadata '%s' added after the tensor data began", w->path, key);
    if (!key || !*key) return owl_err(OWL_ERR_ARG, "%s: metadata key is empty", w->path);
    if (gguf_writer_has_kv(w, key)) return owl_err(OWL_ERR_ARG, "%s: metadata key '%s' given twice", w->path, key);
    char **keys = owl_xreallocarray(w->keys, (size_t)w->n_kv + 1, sizeof *keys);
    if (!keys) return OWL_ERR_NOMEM;
    w->keys = keys;
    owl_status s = kv_strn(w, key, strlen(key));
    if (s == OWL_OK) s = kv_u32(w, (uint32_t)t);
    return s;
}

static owl_status kv_end(gguf_writer *w, const char *key, size_t mark, owl_status s) {
    if (s != OWL_OK) {
        w->kv_len = mark;
        return s;
    }
    char *k = owl_xstrndup(key, strlen(key));
    if (!k) {
        w->kv_len = mark;
        return OWL_ERR_NOMEM;
    }
    w->keys[w->n_kv++] = k;
    return OWL_OK;
}

static bool is_scalar(gguf_vtype t) { return t < GGUF_VTYPE_COUNT && scalar_size[t] != 0; }

static owl_status set_alignment(gguf_writer *w, uint64_t a) {
    if (a == 0 || (a & (a - 1)) != 0 || a > (1u << 20))
        return owl_err(OWL_ERR_ARG, "%s: general.alignment %llu is not a power of two up to 1 MiB", w->path,
                       (unsigned long long)a);
    w->alignment = a;
    return OWL_OK;
}

owl_status gguf_writer_kv(gguf_writer *w, const char *key, gguf_vtype t, const void *val) {
    if (!is_scalar(t))
        return owl_err(OWL_ERR_ARG, "%s: metadata '%s': type %d is not a scalar", w->path, key ? key : "", (int)t);
    if (key && gguf_writer_has_kv(w, key))
        return owl_err(OWL_ERR_ARG, "%s: metadata key '%s' given twice", w->path, key);
    if (key && !strcmp(key, "general.alignment")) {
        if (t != GGUF_U32) return owl_err(OWL_ERR_ARG, "%s: general.alignment must be a u32", w->path);
        uint32_t a;
        memcpy(&a, val, 4);
        owl_status s = set_alignment(w, a);
        if (s != OWL_OK) return s;
    }
    size_t mark;
    owl_status s = kv_begin(w, key, t, &mark);
    if (s == OWL_OK) {
        if (t == GGUF_BOOL) {
            uint8_t b = *(const bool *)val ? 1 : 0;
            s = kv_put(w, &b, 1);
        } else {
            s = kv_put(w, val, scalar_size[t]);
        }
    }
    return kv_end(w, key, mark, s);
}

owl_status gguf_writer_kv_u32(gguf_writer *w, const char *key, uint32_t v) { return gguf_writer_kv(w, key, GGUF_U32, &v); }
owl_status gguf_writer_kv_f32(gguf_writer *w, const char *key, float v) { return gguf_writer_kv(w, key, GGUF_F32, &v); }
owl_status gguf_writer_kv_bool(gguf_writer *w, const char *key, bool v) { return gguf_writer_kv(w, key, GGUF_BOOL, &v); }

owl_status gguf_writer_kv_str(gguf_writer *w, const char *key, const char *str, uint64_t len) {
    size_t mark;
    owl_status s = kv_begin(w, key, GGUF_STRING, &mark);
    if (s == OWL_OK) s = kv_strn(w, str, len);
    return kv_end(w, key, mark, s);
}

owl_status gguf_writer_kv_arr(gguf_writer *w, const char *key, gguf_vtype elem, const void *data, uint64_t n) {
    if (!is_scalar(elem))
        return owl_err(OWL_ERR_ARG, "%s: metadata '%s': array element type %d is not fixed-size", w->path,
                       key ? key : "", (int)elem);
    size_t bytes;
    if (n > SIZE_MAX || !size_mul((size_t)n, scalar_size[elem], &bytes))
        return owl_err(OWL_ERR_NOMEM, "%s: metadata '%s': array too large", w->path, key ? key : "");
    size_t mark;
    owl_status s = kv_begin(w, key, GGUF_ARRAY, &mark);
    if (s == OWL_OK) s = kv_u32(w, (uint32_t)elem);
    if (s == OWL_OK) s = kv_u64(w, n);
    if (s == OWL_OK) {
        if (elem == GGUF_BOOL) { /* normalize to 0/1 */
            const uint8_t *b = data;
            for (uint64_t i = 0; i < n && s == OWL_OK; i++) {
                uint8_t v = b[i] ? 1 : 0;
                s = kv_put(w, &v, 1);
            }
        } else {
            s = kv_put(w, data, bytes);
        }
    }
    return kv_end(w, key, mark, s);
}

owl_status gguf_writer_kv_arr_str(gguf_writer *w, const char *key, const gguf_str *strs, uint64_t n) {
    size_t mark;
    owl_status s = kv_begin(w, key, GGUF_ARRAY, &mark);
    if (s == OWL_OK) s = kv_u32(w, GGUF_STRING);
    if (s == OWL_OK) s = kv_u64(w, n);
    for (uint64_t i = 0; i < n && s == OWL_OK; i++) s = kv_strn(w, strs[i].ptr, strs[i].len);
    return kv_end(w, key, mark, s);
}

owl_status gguf_writer_kv_copy(gguf_writer *w, const gguf_kv *kv) {
    char key[1024];
    if (kv->key.len >= sizeof key)
        return owl_err(OWL_ERR_ARG, "%s: metadata key of %llu bytes is too long to copy", w->path,
                       (unsigned long long)kv->key.len);
    memcpy(key, kv->key.ptr, (size_t)kv->key.len);
    key[kv->key.len] = 0;
    switch (kv->type) {
    case GGUF_STRING:
        return gguf_writer_kv_str(w, key, kv->v.s.ptr, kv->v.s.len);
    case GGUF_ARRAY:
        if (kv->arr_type == GGUF_STRING) return gguf_writer_kv_arr_str(w, key, kv->arr_str, kv->arr_n);
        return gguf_writer_kv_arr(w, key, kv->arr_type, kv->arr_data, kv->arr_n);
    case GGUF_BOOL: {
        bool b = kv->v.u != 0;
        return gguf_writer_kv(w, key, GGUF_BOOL, &b);
    }
    case GGUF_U8: { uint8_t v = (uint8_t)kv->v.u; return gguf_writer_kv(w, key, kv->type, &v); }
    case GGUF_U16: { uint16_t v = (uint16_t)kv->v.u; return gguf_writer_kv(w, key, kv->type, &v); }
    case GGUF_U32: { uint32_t v = (uint32_t)kv->v.u; return gguf_writer_kv(w, key, kv->type, &v); }
    case GGUF_U64: { uint64_t v = kv->v.u; return gguf_writer_kv(w, key, kv->type, &v); }
    case GGUF_I8: { int8_t v = (int8_t)kv->v.i; return gguf_writer_kv(w, key, kv->type, &v); }
    case GGUF_I16: { int16_t v = (int16_t)kv->v.i; return gguf_writer_kv(w, key, kv->type, &v); }
    case GGUF_I32: { int32_t v = (int32_t)kv->v.i; return gguf_writer_kv(w, key, kv->type, &v); }
    case GGUF_I64: { int64_t v = kv->v.i; return gguf_writer_kv(w, key, kv->type, &v); }
    case GGUF_F32: { float v = (float)kv->v.f; return gguf_writer_kv(w, key, kv->type, &v); }
    case GGUF_F64: { double v = kv->v.f; return gguf_writer_kv(w, key, kv->type, &v); }
    default:
        return owl_err(OWL_ERR_ARG, "%s: metadata '%s' has unknown type %d", w->path, key, (int)kv->type);
    }
}

/* ---- tensors ------------------------------------------------------------ */

static uint64_t pad_to(uint64_t x, uint64_t a) { return (a - x % a) % a; }

owl_status gguf_writer_add_tensor(gguf_writer *w, const char *name, int type, uint32_t n_dims, const int64_t *ne) {
    if (w->data_begun) return owl_err(OWL_ERR_ARG, "%s: tensor '%s' added after the tensor data began", w->path, name);
    if (!name || !*name) return owl_err(OWL_ERR_ARG, "%s: tensor name is empty", w->path);
    if (n_dims < 1 || n_dims > 4) return owl_err(OWL_ERR_ARG, "%s: tensor '%s' has %u dimensions (1..4)", w->path, name, n_dims);
    const dtype_traits *tr = dtype_get(type);
    if (!tr) return owl_err(OWL_ERR_UNSUPPORTED, "%s: tensor '%s' has unknown type %d", w->path, name, type);
    for (uint64_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name)) return owl_err(OWL_ERR_ARG, "%s: tensor '%s' added twice", w->path, name);
    wtensor t = {.n_dims = n_dims, .type = type, .ne = {1, 1, 1, 1}};
    uint64_t rows = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] <= 0) return owl_err(OWL_ERR_ARG, "%s: tensor '%s' dimension %u is %lld", w->path, name, d, (long long)ne[d]);
        t.ne[d] = ne[d];
        if (d > 0 && !u64_mul(rows, (uint64_t)ne[d], &rows))
            return owl_err(OWL_ERR_ARG, "%s: tensor '%s' is too large", w->path, name);
    }
    if (ne[0] % tr->blck != 0)
        return owl_err(OWL_ERR_ARG, "%s: tensor '%s': row of %lld is not a whole number of %s blocks (%d)", w->path, name,
                       (long long)ne[0], tr->name, tr->blck);
    size_t row = dtype_row_size(type, ne[0]);
    uint64_t end;
    if (!row || !u64_mul(row, rows, &t.nbytes) || !u64_add(w->data_size, t.nbytes, &end) ||
        !u64_add(end, pad_to(end, w->alignment), &end))
        return owl_err(OWL_ERR_ARG, "%s: tensor '%s' is too large", w->path, name);
    if (w->n_t == w->cap_t) {
        uint64_t cap = w->cap_t ? w->cap_t * 2 : 64;
        wtensor *p = owl_xreallocarray(w->t, (size_t)cap, sizeof *p);
        if (!p) return OWL_ERR_NOMEM;
        w->t = p;
        w->cap_t = cap;
    }
    t.name = owl_xstrndup(name, strlen(name));
    if (!t.name) return OWL_ERR_NOMEM;
    /* offsets are assigned in begin_data, when the alignment is final */
    w->t[w->n_t++] = t;
    return OWL_OK;
}

static owl_status put(gguf_writer *w, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, w->f) != n) return io_fail(w, "write failed", errno);
    return OWL_OK;
}

static owl_status put_zeros(gguf_writer *w, uint64_t n) {
    static const uint8_t zeros[256];
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        owl_status s = put(w, zeros, k);
        if (s != OWL_OK) return s;
        n -= k;
    }
    return OWL_OK;
}

owl_status gguf_writer_begin_data(gguf_writer *w) {
    if (w->failed) return owl_err(OWL_ERR_IO, "%s: an earlier write failed", w->path);
    if (w->data_begun) return owl_err(OWL_ERR_ARG, "%s: tensor data already began", w->path);
    /* offsets with the final alignment */
    w->data_size = 0;
    for (uint64_t i = 0; i < w->n_t; i++) {
        w->t[i].offset = w->data_size;
        uint64_t end, padded;
        if (!u64_add(w->data_size, w->t[i].nbytes, &end) || !u64_add(end, pad_to(end, w->alignment), &padded))
            return owl_err(OWL_ERR_ARG, "%s: tensor data too large", w->path);
        w->data_size = padded;
    }
    uint32_t head[2] = {GGUF_MAGIC, GGUF_VERSION};
    uint64_t counts[2] = {w->n_t, w->n_kv};
    owl_status s = put(w, head, sizeof head);
    if (s == OWL_OK) s = put(w, counts, sizeof counts);
    if (s == OWL_OK) s = put(w, w->kv, w->kv_len);
    uint64_t pos = sizeof head + sizeof counts + w->kv_len;
    for (uint64_t i = 0; i < w->n_t && s == OWL_OK; i++) {
        const wtensor *t = &w->t[i];
        uint64_t len = strlen(t->name);
        uint32_t nd = t->n_dims, type = (uint32_t)t->type;
        s = put(w, &len, 8);
        if (s == OWL_OK) s = put(w, t->name, (size_t)len);
        if (s == OWL_OK) s = put(w, &nd, 4);
        for (uint32_t d = 0; d < nd && s == OWL_OK; d++) {
            uint64_t v = (uint64_t)t->ne[d];
            s = put(w, &v, 8);
        }
        if (s == OWL_OK) s = put(w, &type, 4);
        if (s == OWL_OK) s = put(w, &t->offset, 8);
        pos += 8 + len + 4 + 8ull * nd + 4 + 8;
    }
    if (s == OWL_OK) s = put_zeros(w, pad_to(pos, w->alignment));
    if (s != OWL_OK) return s;
    w->data_begun = true;
    w->cur = 0;
    w->cur_done = 0;
    return OWL_OK;
}

uint64_t gguf_writer_pending(const gguf_writer *w) {
    if (!w->data_begun || w->cur >= w->n_t) return 0;
    return w->t[w->cur].nbytes - w->cur_done;
}

owl_status gguf_writer_write(gguf_writer *w, const void *data, size_t n) {
    if (w->failed) return owl_err(OWL_ERR_IO, "%s: an earlier write failed", w->path);
    if (!w->data_begun) return owl_err(OWL_ERR_ARG, "%s: tensor data written before gguf_writer_begin_data", w->path);
    const uint8_t *p = data;
    while (n) {
        if (w->cur >= w->n_t)
            return owl_err(OWL_ERR_ARG, "%s: %zu bytes of tensor data past the last tensor", w->path, n);
        const wtensor *t = &w->t[w->cur];
        uint64_t want = t->nbytes - w->cur_done;
        size_t k = n < want ? n : (size_t)want;
        owl_status s = put(w, p, k);
        if (s != OWL_OK) return s;
        p += k;
        n -= k;
        w->cur_done += k;
        if (w->cur_done == t->nbytes) {
            s = put_zeros(w, pad_to(t->nbytes, w->alignment));
            if (s != OWL_OK) return s;
            w->cur++;
            w->cur_done = 0;
        }
    }
    return OWL_OK;
}

owl_status gguf_writer_finish(gguf_writer *w) {
    if (w->failed) return owl_err(OWL_ERR_IO, "%s: an earlier write failed", w->path);
    if (!w->data_begun) {
        owl_status s = gguf_writer_begin_data(w);
        if (s != OWL_OK) return s;
    }
    if (w->cur < w->n_t)
        return owl_err(OWL_ERR_ARG, "%s: tensor '%s' got %llu of its %llu bytes", w->path, w->t[w->cur].name,
                       (unsigned long long)w->cur_done, (unsigned long long)w->t[w->cur].nbytes);
    if (fflush(w->f) != 0) return io_fail(w, "write failed", errno);
    if (w->regular && fsync(fileno(w->f)) != 0) return io_fail(w, "sync failed", errno);
    FILE *f = w->f;
    w->f = NULL;
    if (fclose(f) != 0) {
        w->f = NULL;
        owl_status s = io_fail(w, "close failed", errno);
        if (w->regular) unlink(w->path);
        return s;
    }
    w->finished = true;
    return OWL_OK;
}
