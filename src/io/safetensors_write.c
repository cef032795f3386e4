/* safetensors_write.c — safetensors_write (safetensors_write.h): the header
 * built with jansson, data ranges laid out back to back in the given order. */
#include "safetensors_write.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"

static owl_status header(const st_write_tensor *t, size_t n, const char *const *meta, char **out,
                         size_t *len) {
    json_t *root = json_object();
    if (!root) return owl_err(OWL_ERR_NOMEM, "safetensors_write: out of memory");
    owl_status s = OWL_OK;
    if (meta) {
        json_t *m = json_object();
        for (size_t i = 0; meta[i] && meta[i + 1]; i += 2) json_object_set_new(m, meta[i], json_string(meta[i + 1]));
        json_object_set_new(root, "__metadata__", m);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t nb = st_dtype_size(t[i].dtype);
        json_t *shape = json_array();
        for (uint32_t k = 0; k < t[i].n_dims; k++) {
            if (t[i].shape[k] < 0 || !u64_mul(nb, (uint64_t)t[i].shape[k], &nb)) {
                json_decref(shape);
                s = owl_err(OWL_ERR_ARG, "safetensors_write: tensor '%s': bad shape", t[i].name);
                goto done;
            }
            json_array_append_new(shape, json_integer((json_int_t)t[i].shape[k]));
        }
        json_t *e = json_object();
        json_object_set_new(e, "dtype", json_string(st_dtype_name(t[i].dtype)));
        json_object_set_new(e, "shape", shape);
        json_t *o = json_array();
        json_array_append_new(o, json_integer((json_int_t)off));
        json_array_append_new(o, json_integer((json_int_t)(off + nb)));
        json_object_set_new(e, "data_offsets", o);
        if (json_object_set_new(root, t[i].name, e) != 0) {
            s = owl_err(OWL_ERR_ARG, "safetensors_write: tensor name '%s' is not valid UTF-8", t[i].name);
            goto done;
        }
        off += nb;
    }
    char *txt = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!txt) {
        s = owl_err(OWL_ERR_NOMEM, "safetensors_write: out of memory");
        goto done;
    }
    size_t l = strlen(txt), padded = (l + 7) / 8 * 8;
    char *buf = owl_xmalloc(padded);
    if (!buf) {
        free(txt);
        s = OWL_ERR_NOMEM;
        goto done;
    }
    memcpy(buf, txt, l);
    memset(buf + l, ' ', padded - l);
    free(txt);
    *out = buf;
    *len = padded;
done:
    json_decref(root);
    return s;
}

owl_status safetensors_write(const char *path, const st_write_tensor *t, size_t n,
                             const char *const *metadata) {
    char *h = NULL;
    size_t hl = 0;
    owl_status s = header(t, n, metadata, &h, &hl);
    if (s != OWL_OK) return s;
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(h);
        return owl_err(OWL_ERR_IO, "%s: %s", path, strerror(errno));
    }
    unsigned char lb[8];
    for (int i = 0; i < 8; i++) lb[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    bool okw = fwrite(lb, 1, 8, f) == 8 && fwrite(h, 1, hl, f) == hl;
    free(h);
    for (size_t i = 0; okw && i < n; i++) {
        size_t nb = st_dtype_size(t[i].dtype);
        for (uint32_t k = 0; k < t[i].n_dims; k++) nb *= (size_t)t[i].shape[k]; /* checked above */
        okw = nb == 0 || fwrite(t[i].data, 1, nb, f) == nb;
    }
    if (fclose(f) != 0) okw = false;
    if (!okw) return owl_err(OWL_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return OWL_OK;
}
