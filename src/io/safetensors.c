/* safetensors.c — parses and validates one .safetensors file (layout in
 * safetensors.h): the 8-byte header length, the JSON header (jansson), and
 * every tensor's dtype, shape and byte range against the mapped file. */
#include "safetensors.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[ST_DTYPE_COUNT] = {
    [ST_F32] = {"F32", 4},     [ST_F16] = {"F16", 2},         [ST_BF16] = {"BF16", 2},
    [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_F64] = {"F64", 8},     [ST_I64] = {"I64", 8},
    [ST_I32] = {"I32", 4},     [ST_I16] = {"I16", 2},         [ST_I8] = {"I8", 1},
    [ST_U8] = {"U8", 1},       [ST_BOOL] = {"BOOL", 1},       [ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *st_dtype_name(st_dtype t) { return (unsigned)t < ST_DTYPE_COUNT ? dtypes[t].name : "?"; }
size_t st_dtype_size(st_dtype t) { return (unsigned)t < ST_DTYPE_COUNT ? dtypes[t].size : 0; }

static int by_offset(const void *a, const void *b) {
    const st_tensor *x = a, *y = b;
    const uint8_t *px = x->data, *py = y->data;
    return px < py ? -1 : px > py;
}

/* One tensor entry; fills t (name already set). data_size: bytes after the header. */
static owl_status parse_entry(const char *path, const char *name, json_t *e, const uint8_t *data,
                              uint64_t data_size, st_tensor *t) {
    if (!json_is_object(e))
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': entry is not a JSON object", path, name);
    json_t *jd = json_object_get(e, "dtype"), *js = json_object_get(e, "shape"),
           *jo = json_object_get(e, "data_offsets");
    if (!json_is_string(jd))
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': \"dtype\" is missing or not a string", path, name);
    if (!json_is_array(js))
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': \"shape\" is missing or not an array", path, name);
    if (!json_is_array(jo) || json_array_size(jo) != 2)
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': \"data_offsets\" is not an array of 2 integers",
                       path, name);
    if (json_object_size(e) != 3)
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': unexpected keys besides dtype, shape, data_offsets",
                       path, name);
    const char *ds = json_string_value(jd);
    int dt = -1;
    for (int i = 0; i < ST_DTYPE_COUNT; i++)
        if (strcmp(ds, dtypes[i].name) == 0) dt = i;
    if (dt < 0)
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': unknown dtype \"%.32s\"", path, name, ds);
    t->dtype = (st_dtype)dt;
    size_t nd = json_array_size(js);
    if (nd > SAFETENSORS_MAX_DIMS)
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': %zu dimensions (at most %d)", path, name, nd,
                       SAFETENSORS_MAX_DIMS);
    t->n_dims = (uint32_t)nd;
    uint64_t n = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *v = json_array_get(js, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': shape[%zu] is not a non-negative integer",
                           path, name, i);
        t->shape[i] = (int64_t)json_integer_value(v);
        if (!u64_mul(n, (uint64_t)t->shape[i], &n))
            return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': shape overflows", path, name);
    }
    uint64_t want;
    if (!u64_mul(n, dtypes[dt].size, &want))
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': shape overflows", path, name);
    json_t *jb = json_array_get(jo, 0), *je = json_array_get(jo, 1);
    if (!json_is_integer(jb) || !json_is_integer(je) || json_integer_value(jb) < 0 ||
        json_integer_value(je) < 0)
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': data_offsets are not non-negative integers",
                       path, name);
    uint64_t b = (uint64_t)json_integer_value(jb), en = (uint64_t)json_integer_value(je);
    if (b > en)
        return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin",
                       path, name, (unsigned long long)b, (unsigned long long)en);
    if (en > data_size)
        return owl_err(OWL_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data (%llu bytes)",
                       path, name, (unsigned long long)b, (unsigned long long)en,
                       (unsigned long long)data_size);
    if (en - b != want)
        return owl_err(OWL_ERR_FORMAT,
                       "%s: tensor '%s': %s of %llu elements is %llu bytes, but data_offsets hold %llu",
                       path, name, dtypes[dt].name, (unsigned long long)n, (unsigned long long)want,
                       (unsigned long long)(en - b));
    t->data = data ? data + b : NULL;
    t->nbytes = (size_t)want;
    return OWL_OK;
}

static owl_status parse(safetensors *st) {
    const char *path = st->path;
    const uint8_t *p = st->map.data;
    size_t size = st->map.size;
    if (size < 8)
        return owl_err(OWL_ERR_FORMAT, "%s: %zu bytes: too short for a safetensors header length", path, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | p[i];
    if (n > SAFETENSORS_MAX_HEADER)
        return owl_err(OWL_ERR_FORMAT, "%s: header length %llu exceeds the limit of %u bytes", path,
                       (unsigned long long)n, SAFETENSORS_MAX_HEADER);
    if (n > size - 8)
        return owl_err(OWL_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)",
                       path, (unsigned long long)n, size);
    if (n < 2 || p[8] != '{')
        return owl_err(OWL_ERR_FORMAT, "%s: the header is not a JSON object", path);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)p + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return owl_err(OWL_ERR_FORMAT, "%s: header JSON, line %d column %d: %s", path, jerr.line,
                       jerr.column, jerr.text);
    owl_status s = OWL_OK;
    if (!json_is_object(root)) {
        s = owl_err(OWL_ERR_FORMAT, "%s: the header is not a JSON object", path);
        goto done;
    }
    const uint8_t *data = p + 8 + n;
    uint64_t data_size = size - 8 - n;
    size_t cap = json_object_size(root);
    st->tensors = owl_xcalloc(cap ? cap : 1, sizeof *st->tensors);
    if (!st->tensors) {
        s = OWL_ERR_NOMEM;
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            const char *mk;
            json_t *mv;
            if (!json_is_object(val)) {
                s = owl_err(OWL_ERR_FORMAT, "%s: \"__metadata__\" is not a JSON object", path);
                goto done;
            }
            json_object_foreach(val, mk, mv) if (!json_is_string(mv)) {
                s = owl_err(OWL_ERR_FORMAT, "%s: __metadata__.%.64s is not a string", path, mk);
                goto done;
            }
            continue;
        }
        st_tensor *t = &st->tensors[st->n_tensors];
        if ((s = parse_entry(path, key, val, data, data_size, t)) != OWL_OK) goto done;
        t->name = owl_xstrndup(key, strlen(key));
        if (!t->name) {
            s = OWL_ERR_NOMEM;
            goto done;
        }
        st->n_tensors++;
    }
    /* no two byte ranges overlap (empty tensors take no room) */
    st_tensor *sorted = owl_xreallocarray(NULL, st->n_tensors ? st->n_tensors : 1, sizeof *sorted);
    if (!sorted) {
        s = OWL_ERR_NOMEM;
        goto done;
    }
    size_t m = 0;
    for (size_t i = 0; i < st->n_tensors; i++)
        if (st->tensors[i].nbytes) sorted[m++] = st->tensors[i];
    qsort(sorted, m, sizeof *sorted, by_offset);
    for (size_t i = 1; i < m; i++) {
        const uint8_t *prev_end = (const uint8_t *)sorted[i - 1].data + sorted[i - 1].nbytes;
        if ((const uint8_t *)sorted[i].data < prev_end) {
            s = owl_err(OWL_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", path, sorted[i - 1].name,
                        sorted[i].name);
            break;
        }
    }
    free(sorted);
done:
    json_decref(root);
    return s;
}

owl_status safetensors_open(const char *path, safetensors **out) {
    *out = NULL;
    safetensors *st = owl_xcalloc(1, sizeof *st);
    if (!st) return OWL_ERR_NOMEM;
    st->path = owl_xstrndup(path, strlen(path));
    if (!st->path) {
        free(st);
        return OWL_ERR_NOMEM;
    }
    owl_status s = mapfile_open(path, &st->map);
    if (s == OWL_OK) s = parse(st);
    if (s != OWL_OK) {
        safetensors_close(st);
        return s;
    }
    *out = st;
    return OWL_OK;
}

void safetensors_close(safetensors *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    free(st->tensors);
    mapfile_close(&st->map);
    free(st->path);
    free(st);
}
