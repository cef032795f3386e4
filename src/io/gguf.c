/* gguf.c — GGUF reader (versions 2 and 3), over a read-only memory map.
 *
 * Byte layout (all little-endian):
 *
 *   u32 magic "GGUF"   u32 version (2|3)   u64 n_tensors   u64 n_kv
 *   n_kv × { str key; u32 type; value }
 *       str   = u64 len, len bytes (no NUL)
 *       value = scalar of the type, or str, or
 *               ARRAY: u32 elem_type; u64 n; n × elem (no nested arrays)
 *   n_tensors × { str name; u32 n_dims; n_dims × u64 ne; u32 type; u64 offset }
 *   padding to general.alignment (default 32)
 *   tensor data; each tensor at data_offset + offset, offset aligned
 *
 * Nothing read from the file is trusted: every count is bounded by the bytes
 * that remain, every length and offset is checked against the file size,
 * and all arithmetic on them is overflow-checked. Version 1 (32-bit counts)
 * is refused. */
#include "gguf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "../tensor/dtype.h"

#define GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4

typedef struct cursor {
    const uint8_t *p, *end;
    const char *path;
} cursor;

static owl_status bad(const cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static owl_status bad(const cursor *c, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return owl_err(OWL_ERR_FORMAT, "%s: %s", c->path, msg);
}

static size_t left(const cursor *c) { return (size_t)(c->end - c->p); }

static bool rd(cursor *c, void *dst, size_t n) {
    if (left(c) < n) return false;
    memcpy(dst, c->p, n);
    c->p += n;
    return true;
}

static bool rd_u32(cursor *c, uint32_t *v) { return rd(c, v, 4); }
static bool rd_u64(cursor *c, uint64_t *v) { return rd(c, v, 8); }

static owl_status rd_str(cursor *c, gguf_str *s, const char *what) {
    uint64_t len;
    if (!rd_u64(c, &len)) return bad(c, "truncated file: %s length cut off", what);
    if (len > left(c))
        return bad(c, "%s length %llu runs past the end of the file (%zu bytes left)", what,
                   (unsigned long long)len, left(c));
    s->ptr = (const char *)c->p;
    s->len = len;
    c->p += len;
    return OWL_OK;
}

static const size_t vtype_size[GGUF_VTYPE_COUNT] = {
    [GGUF_U8] = 1, [GGUF_I8] = 1, [GGUF_U16] = 2, [GGUF_I16] = 2,
    [GGUF_U32] = 4, [GGUF_I32] = 4, [GGUF_F32] = 4, [GGUF_BOOL] = 1,
    [GGUF_U64] = 8, [GGUF_I64] = 8, [GGUF_F64] = 8,
};

const char *gguf_vtype_name(gguf_vtype t) {
    static const char *names[GGUF_VTYPE_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
    };
    return (unsigned)t < GGUF_VTYPE_COUNT ? names[t] : "unknown";
}

bool gguf_str_eq(gguf_str s, const char *z) {
    size_t n = strlen(z);
    return s.len == n && memcmp(s.ptr, z, n) == 0;
}

/* A scalar value of fixed size: stored widened in kv->v. */
static void load_scalar(gguf_kv *kv, gguf_vtype t, const uint8_t *p) {
    switch (t) {
    case GGUF_U8: kv->v.u = p[0]; break;
    case GGUF_BOOL: kv->v.u = p[0] != 0; break;
    case GGUF_I8: kv->v.i = (int8_t)p[0]; break;
    case GGUF_U16: { uint16_t x; memcpy(&x, p, 2); kv->v.u = x; break; }
    case GGUF_I16: { int16_t x; memcpy(&x, p, 2); kv->v.i = x; break; }
    case GGUF_U32: { uint32_t x; memcpy(&x, p, 4); kv->v.u = x; break; }
    case GGUF_I32: { int32_t x; memcpy(&x, p, 4); kv->v.i = x; break; }
    case GGUF_F32: { float x; memcpy(&x, p, 4); kv->v.f = x; break; }
    case GGUF_U64: { uint64_t x; memcpy(&x, p, 8); kv->v.u = x; break; }
    case GGUF_I64: { int64_t x; memcpy(&x, p, 8); kv->v.i = x; break; }
    case GGUF_F64: { double x; memcpy(&x, p, 8); kv->v.f = x; break; }
    default: break;
    }
}

static owl_status read_kv(cursor *c, gguf_kv *kv, uint64_t idx) {
    char what[320];
    snprintf(what, sizeof what, "key of metadata entry %llu", (unsigned long long)idx);
    owl_status st = rd_str(c, &kv->key, what);
    if (st) return st;
    int kl = kv->key.len > 200 ? 200 : (int)kv->key.len;
    uint32_t t;
    if (!rd_u32(c, &t)) return bad(c, "truncated file: type of metadata key '%.*s' cut off", kl, kv->key.ptr);
    if (t >= GGUF_VTYPE_COUNT)
        return bad(c, "metadata key '%.*s' has unknown value type %u", kl, kv->key.ptr, t);
    kv->type = (gguf_vtype)t;
    if (t == GGUF_STRING) {
        snprintf(what, sizeof what, "string value of metadata key '%.*s'", kl, kv->key.ptr);
        return rd_str(c, &kv->v.s, what);
    }
    if (t != GGUF_ARRAY) {
        size_t sz = vtype_size[t];
        if (left(c) < sz) return bad(c, "truncated file: value of metadata key '%.*s' cut off", kl, kv->key.ptr);
        load_scalar(kv, t, c->p);
        c->p += sz;
        return OWL_OK;
    }
    uint32_t et;
    uint64_t n;
    if (!rd_u32(c, &et) || !rd_u64(c, &n))
        return bad(c, "truncated file: array header of metadata key '%.*s' cut off", kl, kv->key.ptr);
    if (et >= GGUF_VTYPE_COUNT)
        return bad(c, "metadata array '%.*s' has unknown element type %u", kl, kv->key.ptr, et);
    if (et == GGUF_ARRAY)
        return bad(c, "metadata array '%.*s' holds arrays (nested arrays are not supported)", kl, kv->key.ptr);
    kv->arr_type = (gguf_vtype)et;
    kv->arr_n = n;
    if (et == GGUF_STRING) {
        /* each string takes at least its 8-byte length */
        if (n > left(c) / 8)
            return bad(c, "metadata array '%.*s' claims %llu strings, more than the file can hold", kl,
                       kv->key.ptr, (unsigned long long)n);
        kv->arr_str = owl_xcalloc((size_t)n, sizeof *kv->arr_str);
        if (!kv->arr_str) return OWL_ERR_NOMEM;
        for (uint64_t i = 0; i < n; i++) {
            snprintf(what, sizeof what, "string %llu of metadata array '%.*s'", (unsigned long long)i, kl,
                     kv->key.ptr);
            st = rd_str(c, &kv->arr_str[i], what);
            if (st) return st;
        }
        return OWL_OK;
    }
    uint64_t bytes;
    if (!u64_mul(n, vtype_size[et], &bytes) || bytes > left(c))
        return bad(c, "metadata array '%.*s' claims %llu elements of %s, more than the file holds", kl,
                   kv->key.ptr, (unsigned long long)n, gguf_vtype_name(kv->arr_type));
    kv->arr_data = c->p;
    c->p += bytes;
    return OWL_OK;
}

static int cmp_offset(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static owl_status read_tensor_info(cursor *c, gguf_tensor *t, uint64_t idx) {
    char what[64];
    snprintf(what, sizeof what, "name of tensor %llu", (unsigned long long)idx);
    owl_status st = rd_str(c, &t->name, what);
    if (st) return st;
    int nl = t->name.len > 200 ? 200 : (int)t->name.len;
    if (!rd_u32(c, &t->n_dims))
        return bad(c, "truncated file: dimensions of tensor '%.*s' cut off", nl, t->name.ptr);
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return bad(c, "tensor '%.*s' has %u dimensions (1 to %d allowed)", nl, t->name.ptr, t->n_dims,
                   GGUF_MAX_DIMS);
    for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        uint64_t ne;
        if (!rd_u64(c, &ne)) return bad(c, "truncated file: shape of tensor '%.*s' cut off", nl, t->name.ptr);
        if (ne > (uint64_t)INT64_MAX)
            return bad(c, "tensor '%.*s' has a negative or absurd dimension %d", nl, t->name.ptr, (int)d);
        t->ne[d] = (int64_t)ne;
    }
    uint32_t type;
    if (!rd_u32(c, &type) || !rd_u64(c, &t->offset))
        return bad(c, "truncated file: type and offset of tensor '%.*s' cut off", nl, t->name.ptr);
    const dtype_traits *tr = dtype_get((int)type);
    if (!tr)
        return bad(c, "tensor '%.*s' has unknown or unsupported type %u", nl, t->name.ptr, type);
    t->type = (int)type;
    uint64_t nel = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++)
        if (!u64_mul(nel, (uint64_t)t->ne[d], &nel))
            return bad(c, "tensor '%.*s' has too many elements (size overflows)", nl, t->name.ptr);
    if (t->ne[0] % tr->blck != 0)
        return bad(c, "tensor '%.*s' of type %s has a row of %lld elements, not a multiple of its block size %d",
                   nl, t->name.ptr, tr->name, (long long)t->ne[0], tr->blck);
    uint64_t bytes;
    if (!u64_mul(nel / (uint64_t)tr->blck, tr->size, &bytes) || bytes > SIZE_MAX)
        return bad(c, "tensor '%.*s' is too large (size overflows)", nl, t->name.ptr);
    t->nbytes = (size_t)bytes;
    return OWL_OK;
}

/* Names that appear twice (keys or tensor names), in O(n log n): sort
 * pointers to the names and compare neighbours. */
static int cmp_str(const void *a, const void *b) {
    const gguf_str *x = *(const gguf_str *const *)a, *y = *(const gguf_str *const *)b;
    uint64_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->ptr, y->ptr, (size_t)n) : 0;
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static owl_status find_duplicate(const cursor *c, const void *items, uint64_t n, size_t stride, size_t off,
                                 const char *what) {
    if (n < 2) return OWL_OK;
    const gguf_str **v = owl_xcalloc((size_t)n, sizeof *v);
    if (!v) return OWL_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) v[i] = (const gguf_str *)((const char *)items + i * stride + off);
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    owl_status st = OWL_OK;
    for (uint64_t i = 1; i < n && !st; i++)
        if (cmp_str(&v[i - 1], &v[i]) == 0)
            st = bad(c, "%s '%.*s' appears twice", what, (int)(v[i]->len > 200 ? 200 : v[i]->len), v[i]->ptr);
    free(v);
    return st;
}

void gguf_close(gguf *g) {
    if (!g) return;
    if (g->kv)
        for (uint64_t i = 0; i < g->n_kv; i++) free(g->kv[i].arr_str);
    free(g->kv);
    free(g->tensors);
    free(g->path);
    mapfile_close(&g->map);
    free(g);
}

static owl_status parse(gguf *g) {
    if (g->map.size == 0) return owl_err(OWL_ERR_FORMAT, "%s: empty file (not a GGUF model)", g->path);
    cursor c = {g->map.data, g->map.data + g->map.size, g->path};
    uint32_t magic;
    if (!rd_u32(&c, &magic)) return bad(&c, "file too short to be GGUF (%zu bytes)", g->map.size);
    if (magic != GGUF_MAGIC) return bad(&c, "not a GGUF file (bad magic)");
    if (!rd_u32(&c, &g->version)) return bad(&c, "truncated header: version cut off");
    if (g->version == 1) return owl_err(OWL_ERR_UNSUPPORTED, "%s: GGUF version 1 is not supported (2 and 3 are)", g->path);
    if (g->version != 2 && g->version != 3)
        return owl_err(OWL_ERR_UNSUPPORTED, "%s: unknown GGUF version %u (2 and 3 are supported)", g->path, g->version);
    if (!rd_u64(&c, &g->n_tensors) || !rd_u64(&c, &g->n_kv))
        return bad(&c, "truncated header: tensor and metadata counts cut off");
    /* smallest possible entries: kv = 8 (key len) + 4 (type) + 1 (u8);
     * tensor = 8 (name len) + 4 + 8 + 4 + 8 */
    if (g->n_kv > left(&c) / 13)
        return bad(&c, "header claims %llu metadata entries, more than the file can hold", (unsigned long long)g->n_kv);
    if (g->n_tensors > left(&c) / 32)
        return bad(&c, "header claims %llu tensors, more than the file can hold", (unsigned long long)g->n_tensors);

    uint64_t n_kv = g->n_kv;
    g->n_kv = 0; /* counts what gguf_close must free */
    g->kv = owl_xcalloc((size_t)n_kv, sizeof *g->kv);
    if (!g->kv) return OWL_ERR_NOMEM;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < n_kv; i++) {
        g->n_kv = i + 1;
        owl_status st = read_kv(&c, &g->kv[i], i);
        if (st) return st;
    }
    owl_status dst = find_duplicate(&c, g->kv, g->n_kv, sizeof *g->kv, offsetof(gguf_kv, key), "metadata key");
    if (dst) return dst;
    const gguf_kv *al = gguf_find(g, "general.alignment");
    if (al) {
        if (al->type != GGUF_U32) return bad(&c, "general.alignment has type %s, expected u32", gguf_vtype_name(al->type));
        if (al->v.u == 0 || (al->v.u & (al->v.u - 1)))
            return bad(&c, "general.alignment is %llu, not a power of two", (unsigned long long)al->v.u);
        g->alignment = al->v.u;
    }

    g->tensors = owl_xcalloc((size_t)g->n_tensors, sizeof *g->tensors);
    if (!g->tensors) return OWL_ERR_NOMEM;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        owl_status st = read_tensor_info(&c, &g->tensors[i], i);
        if (st) return st;
    }

    /* the data section starts at the next multiple of the alignment */
    uint64_t pos = (uint64_t)(c.p - g->map.data), data;
    if (!u64_add(pos, g->alignment - 1, &data)) return bad(&c, "data offset overflows");
    data -= data % g->alignment;
    if (g->n_tensors > 0 && data > g->map.size)
        return bad(&c, "truncated file: the tensor data section starts at byte %llu, past the end (%zu bytes)",
                   (unsigned long long)data, g->map.size);
    g->data_offset = data;

    /* every tensor aligned, inside the file, none overlapping another */
    const gguf_tensor **order = owl_xcalloc((size_t)g->n_tensors, sizeof *order);
    if (!order) return OWL_ERR_NOMEM;
    owl_status st = OWL_OK;
    for (uint64_t i = 0; i < g->n_tensors && !st; i++) {
        gguf_tensor *t = &g->tensors[i];
        int nl = t->name.len > 200 ? 200 : (int)t->name.len;
        uint64_t start, end;
        if (t->offset % g->alignment)
            st = bad(&c, "tensor '%.*s' has offset %llu, not a multiple of the alignment %llu", nl, t->name.ptr,
                     (unsigned long long)t->offset, (unsigned long long)g->alignment);
        else if (!u64_add(data, t->offset, &start) || !u64_add(start, t->nbytes, &end) || end > g->map.size)
            st = bad(&c, "tensor '%.*s' data (%zu bytes at offset %llu) runs past the end of the file (%zu bytes): "
                         "truncated file?", nl, t->name.ptr, t->nbytes, (unsigned long long)t->offset, g->map.size);
        else {
            t->data = g->map.data + start;
            order[i] = t;
        }
    }
    if (!st) st = find_duplicate(&c, g->tensors, g->n_tensors, sizeof *g->tensors, offsetof(gguf_tensor, name), "tensor name");
    if (!st && g->n_tensors > 1) {
        qsort(order, (size_t)g->n_tensors, sizeof *order, cmp_offset);
        for (uint64_t i = 1; i < g->n_tensors && !st; i++)
            if (order[i - 1]->offset + order[i - 1]->nbytes > order[i]->offset)
                st = bad(&c, "tensors '%.*s' and '%.*s' overlap in the file", (int)(order[i - 1]->name.len > 200 ? 200 : order[i - 1]->name.len),
                         order[i - 1]->name.ptr, (int)(order[i]->name.len > 200 ? 200 : order[i]->name.len), order[i]->name.ptr);
    }
    free(order);
    return st;
}

owl_status gguf_open(const char *path, gguf **out) {
    *out = NULL;
    gguf *g = owl_xcalloc(1, sizeof *g);
    if (!g) return OWL_ERR_NOMEM;
    g->path = owl_xstrndup(path, strlen(path));
    if (!g->path) { free(g); return OWL_ERR_NOMEM; }
    owl_status st = mapfile_open(path, &g->map);
    if (!st) st = parse(g);
    if (st) { gguf_close(g); return st; }
    *out = g;
    return OWL_OK;
}

const gguf_kv *gguf_find(const gguf *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (gguf_str_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (gguf_str_eq(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

static bool is_uint(gguf_vtype t) { return t == GGUF_U8 || t == GGUF_U16 || t == GGUF_U32 || t == GGUF_U64; }
static bool is_sint(gguf_vtype t) { return t == GGUF_I8 || t == GGUF_I16 || t == GGUF_I32 || t == GGUF_I64; }

static int wrong(const gguf *g, const gguf_kv *kv, const char *want) {
    owl_err(OWL_ERR_FORMAT, "%s: metadata '%.*s' has type %s, expected %s", g->path,
            (int)(kv->key.len > 200 ? 200 : kv->key.len), kv->key.ptr, gguf_vtype_name(kv->type), want);
    return -1;
}

int gguf_get_i64(const gguf *g, const char *key, int64_t *out) {
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv) return 0;
    if (is_sint(kv->type)) { *out = kv->v.i; return 1; }
    if (is_uint(kv->type)) {
        if (kv->v.u > (uint64_t)INT64_MAX) return wrong(g, kv, "an integer in range");
        *out = (int64_t)kv->v.u;
        return 1;
    }
    return wrong(g, kv, "an integer");
}

int gguf_get_u32(const gguf *g, const char *key, uint32_t *out) {
    int64_t v;
    int r = gguf_get_i64(g, key, &v);
    if (r <= 0) return r;
    if (v < 0 || v > (int64_t)UINT32_MAX) {
        owl_err(OWL_ERR_FORMAT, "%s: metadata '%s' is %lld, out of range", g->path, key, (long long)v);
        return -1;
    }
    *out = (uint32_t)v;
    return 1;
}

int gguf_get_f32(const gguf *g, const char *key, float *out) {
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv) return 0;
    if (kv->type == GGUF_F32 || kv->type == GGUF_F64) { *out = (float)kv->v.f; return 1; }
    if (is_sint(kv->type)) { *out = (float)kv->v.i; return 1; }
    if (is_uint(kv->type)) { *out = (float)kv->v.u; return 1; }
    return wrong(g, kv, "a number");
}

int gguf_get_bool(const gguf *g, const char *key, bool *out) {
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv) return 0;
    if (kv->type == GGUF_BOOL || is_uint(kv->type)) { *out = kv->v.u != 0; return 1; }
    if (is_sint(kv->type)) { *out = kv->v.i != 0; return 1; }
    return wrong(g, kv, "bool");
}

int gguf_get_str(const gguf *g, const char *key, gguf_str *out) {
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv) return 0;
    if (kv->type != GGUF_STRING) return wrong(g, kv, "string");
    *out = kv->v.s;
    return 1;
}

const gguf_kv *gguf_get_arr(const gguf *g, const char *key, gguf_vtype elem) {
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv || kv->type != GGUF_ARRAY || kv->arr_type != elem) return NULL;
    return kv;
}

static bool arr_elem(const gguf_kv *kv, uint64_t i, gguf_kv *tmp) {
    if (kv->type != GGUF_ARRAY || i >= kv->arr_n || kv->arr_type == GGUF_STRING) return false;
    size_t sz = vtype_size[kv->arr_type];
    load_scalar(tmp, kv->arr_type, kv->arr_data + i * sz);
    return true;
}

bool gguf_arr_f64(const gguf_kv *kv, uint64_t i, double *out) {
    gguf_kv t;
    if (!arr_elem(kv, i, &t)) return false;
    if (kv->arr_type == GGUF_F32 || kv->arr_type == GGUF_F64) *out = t.v.f;
    else if (is_sint(kv->arr_type)) *out = (double)t.v.i;
    else *out = (double)t.v.u;
    return true;
}

bool gguf_arr_i64(const gguf_kv *kv, uint64_t i, int64_t *out) {
    gguf_kv t;
    if (!arr_elem(kv, i, &t)) return false;
    if (is_sint(kv->arr_type)) *out = t.v.i;
    else if (is_uint(kv->arr_type) || kv->arr_type == GGUF_BOOL) {
        if (t.v.u > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)t.v.u;
    } else return false;
    return true;
}
