/* tensor_dir.c — the tensor directory (tensor_dir.h) from a GGUF or from a
 * Hugging Face folder of safetensors (single file or index.json shards),
 * with FP8 (e4m3fn + per-block weight_scale_inv) dequantized at load. */
#include "tensor_dir.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/f16.h"
#include "../base/mem.h"
#include "../base/status.h"

float f8_e4m3_to_f32(uint8_t x) {
    int sign = x >> 7, e = (x >> 3) & 0xf, m = x & 7;
    float v;
    if (e == 0xf && m == 7) return NAN;
    if (e == 0)
        v = (float)m * 0x1p-9f; /* subnormal: m/8 * 2^-6 */
    else
        v = ldexpf(1.0f + (float)m / 8.0f, e - 7);
    return sign ? -v : v;
}

const td_tensor *tensor_dir_find(const tensor_dir *d, const char *name) {
    if (!d->by_name.slots) { /* while building */
        for (size_t i = 0; i < d->n; i++)
            if (strcmp(d->t[i].name, name) == 0) return &d->t[i];
        return NULL;
    }
    int32_t i = strmap_get(&d->by_name, name, strlen(name));
    return i < 0 ? NULL : &d->t[i];
}

/* The name index of d->t, once it is filled. */
static owl_status index_names(tensor_dir *d) {
    if (d->n > INT32_MAX) return owl_err(OWL_ERR_FORMAT, "%s: too many tensors", d->path);
    owl_status s = strmap_init(&d->by_name, d->n ? d->n : 1);
    if (s != OWL_OK) return s;
    for (size_t i = 0; i < d->n; i++) {
        const char *nm = d->t[i].name;
        if (strmap_get(&d->by_name, nm, strlen(nm)) >= 0)
            return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s' appears twice", d->path, nm);
        strmap_put(&d->by_name, nm, strlen(nm), (int32_t)i);
    }
    return OWL_OK;
}

void tensor_dir_free(tensor_dir *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->t[i].name);
    free(d->t);
    for (size_t i = 0; i < d->n_files; i++) safetensors_close(d->files[i]);
    free(d->files);
    for (size_t i = 0; i < d->n_owned; i++) free(d->owned[i]);
    free(d->owned);
    strmap_free(&d->by_name);
    strmap_free(&d->src_by_name);
    free(d->src);
    free(d->src_file);
    free(d->path);
    free(d);
}

static tensor_dir *dir_new(tensor_dir_format f, const char *path) {
    tensor_dir *d = owl_xcalloc(1, sizeof *d);
    if (!d) return NULL;
    d->format = f;
    d->path = owl_xstrndup(path, strlen(path));
    if (!d->path) {
        free(d);
        return NULL;
    }
    return d;
}

owl_status tensor_dir_from_gguf(const gguf *g, tensor_dir **out) {
    *out = NULL;
    tensor_dir *d = dir_new(TD_GGUF, g->path);
    if (!d) return OWL_ERR_NOMEM;
    d->t = owl_xcalloc(g->n_tensors ? (size_t)g->n_tensors : 1, sizeof *d->t);
    if (!d->t) {
        tensor_dir_free(d);
        return OWL_ERR_NOMEM;
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *gt = &g->tensors[i];
        td_tensor *t = &d->t[d->n];
        t->name = owl_xstrndup(gt->name.ptr, (size_t)gt->name.len);
        if (!t->name) {
            tensor_dir_free(d);
            return OWL_ERR_NOMEM;
        }
        d->n++;
        t->type = gt->type;
        t->src_dtype = "gguf";
        t->n_dims = gt->n_dims;
        memcpy(t->ne, gt->ne, sizeof t->ne);
        t->data = gt->data;
        t->nbytes = gt->nbytes;
    }
    owl_status s = index_names(d);
    if (s != OWL_OK) {
        tensor_dir_free(d);
        return s;
    }
    *out = d;
    return OWL_OK;
}

/* ---- Hugging Face folders ------------------------------------------------- */

static bool file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static const char *base_name(const char *p) {
    const char *slash = strrchr(p, '/');
    return slash ? slash + 1 : p;
}

static owl_status add_file(tensor_dir *d, const char *dir, const char *fname) {
    for (size_t i = 0; i < d->n_files; i++)
        if (strcmp(base_name(d->files[i]->path), fname) == 0) return OWL_OK;
    if (!*fname || strchr(fname, '/') || fname[0] == '.')
        return owl_err(OWL_ERR_FORMAT, "%s: model.safetensors.index.json names shard \"%.64s\", not a file name in the folder",
                       dir, fname);
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, fname) >= sizeof path)
        return owl_err(OWL_ERR_ARG, "%s: path too long", dir);
    safetensors **nf = owl_xreallocarray(d->files, d->n_files + 1, sizeof *nf);
    if (!nf) return OWL_ERR_NOMEM;
    d->files = nf;
    owl_status s = safetensors_open(path, &d->files[d->n_files]);
    if (s != OWL_OK) return s;
    d->n_files++;
    return OWL_OK;
}

/* src, src_file and src_by_name over every tensor of every file; a name in
 * two files is an error. */
static owl_status index_sources(tensor_dir *d) {
    size_t total = 0;
    for (size_t i = 0; i < d->n_files; i++) total += d->files[i]->n_tensors;
    if (total > INT32_MAX) return owl_err(OWL_ERR_FORMAT, "%s: too many tensors", d->path);
    d->src = owl_xcalloc(total ? total : 1, sizeof *d->src);
    d->src_file = owl_xcalloc(total ? total : 1, sizeof *d->src_file);
    if (!d->src || !d->src_file) return OWL_ERR_NOMEM;
    owl_status s = strmap_init(&d->src_by_name, total ? total : 1);
    if (s != OWL_OK) return s;
    for (size_t i = 0; i < d->n_files; i++)
        for (size_t j = 0; j < d->files[i]->n_tensors; j++) {
            const st_tensor *t = &d->files[i]->tensors[j];
            size_t len = strlen(t->name);
            int32_t prev = strmap_get(&d->src_by_name, t->name, len);
            if (prev >= 0)
                return owl_err(OWL_ERR_FORMAT, "%s: tensor '%s' is in both %s and %s", d->path, t->name,
                               base_name(d->files[d->src_file[prev]]->path), base_name(d->files[i]->path));
            d->src[d->n_src] = t;
            d->src_file[d->n_src] = (uint32_t)i;
            strmap_put(&d->src_by_name, t->name, len, (int32_t)d->n_src);
            d->n_src++;
        }
    return OWL_OK;
}

/* The shard files of index.json, in the order they first appear. */
static owl_status read_index(tensor_dir *d, const char *dir, const char *ipath) {
    json_error_t jerr;
    json_t *root = json_load_file(ipath, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return owl_err(OWL_ERR_FORMAT, "%s: line %d column %d: %s", ipath, jerr.line, jerr.column, jerr.text);
    owl_status s = OWL_OK;
    json_t *wm = json_object_get(root, "weight_map");
    if (!json_is_object(wm)) {
        s = owl_err(OWL_ERR_FORMAT, "%s: \"weight_map\" is missing or not an object", ipath);
        goto done;
    }
    const char *k;
    json_t *v;
    json_object_foreach(wm, k, v) {
        if (!json_is_string(v)) {
            s = owl_err(OWL_ERR_FORMAT, "%s: weight_map.%.64s is not a string", ipath, k);
            goto done;
        }
        if ((s = add_file(d, dir, json_string_value(v))) != OWL_OK) goto done;
    }
    if ((s = index_sources(d)) != OWL_OK) goto done;
    /* every tensor the index lists is in the shard it names */
    json_object_foreach(wm, k, v) {
        const char *fname = json_string_value(v);
        int32_t g = strmap_get(&d->src_by_name, k, strlen(k));
        if (g < 0 || strcmp(base_name(d->files[d->src_file[g]]->path), fname) != 0) {
            s = owl_err(OWL_ERR_FORMAT, "%s: tensor '%.128s' is not in %s, where weight_map puts it", ipath, k,
                        fname);
            goto done;
        }
    }
done:
    json_decref(root);
    return s;
}

static int st_to_owl(st_dtype t) {
    switch (t) {
    case ST_F32: return OWL_TYPE_F32;
    case ST_F16: return OWL_TYPE_F16;
    case ST_BF16: return OWL_TYPE_BF16;
    default: return -1;
    }
}

static const st_tensor *find_st(const tensor_dir *d, const char *name) {
    int32_t g = strmap_get(&d->src_by_name, name, strlen(name));
    return g < 0 ? NULL : d->src[g];
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* t (F8_E4M3, 2-D) * its per-block scale_inv -> owned f32 in e. */
static owl_status dequant_fp8(tensor_dir *d, const st_tensor *t, int br, int bc, td_tensor *e) {
    char sname[512];
    if ((size_t)snprintf(sname, sizeof sname, "%s_scale_inv", t->name) >= sizeof sname)
        return owl_err(OWL_ERR_FORMAT, "%s: tensor name '%.64s...' too long", d->path, t->name);
    const st_tensor *sc = find_st(d, sname);
    if (!sc)
        return owl_err(OWL_ERR_UNSUPPORTED, "%s: F8_E4M3 tensor '%s' has no '%s' (only block-scaled FP8 is supported)",
                       d->path, t->name, sname);
    if (t->n_dims != 2)
        return owl_err(OWL_ERR_UNSUPPORTED, "%s: F8_E4M3 tensor '%s' has %u dimensions, expected 2", d->path,
                       t->name, t->n_dims);
    int64_t R = t->shape[0], Cc = t->shape[1];
    int64_t sr = (R + br - 1) / br, scn = (Cc + bc - 1) / bc;
    if (sc->n_dims != 2 || sc->shape[0] != sr || sc->shape[1] != scn ||
        (sc->dtype != ST_F32 && sc->dtype != ST_BF16))
        return owl_err(OWL_ERR_FORMAT,
                       "%s: '%s' must be F32 or BF16 of shape [%lld, %lld] (blocks of %dx%d of [%lld, %lld])",
                       d->path, sname, (long long)sr, (long long)scn, br, bc, (long long)R, (long long)Cc);
    size_t n, nb;
    if (!size_mul((size_t)R, (size_t)Cc, &n) || !size_mul(n, sizeof(float), &nb))
        return owl_err(OWL_ERR_NOMEM, "%s: tensor '%s' too large", d->path, t->name);
    float *dst = owl_xmalloc(nb ? nb : 1);
    if (!dst) return OWL_ERR_NOMEM;
    void **no = owl_xreallocarray(d->owned, d->n_owned + 1, sizeof *no);
    if (!no) {
        free(dst);
        return OWL_ERR_NOMEM;
    }
    d->owned = no;
    d->owned[d->n_owned++] = dst;
    float lut[256];
    for (int i = 0; i < 256; i++) lut[i] = f8_e4m3_to_f32((uint8_t)i);
    const uint8_t *src = t->data;
    for (int64_t r = 0; r < R; r++)
        for (int64_t c = 0; c < Cc; c++) {
            size_t si = (size_t)(r / br) * (size_t)scn + (size_t)(c / bc);
            float s; /* the scales may sit at any byte offset: memcpy */
            if (sc->dtype == ST_F32) {
                memcpy(&s, (const uint8_t *)sc->data + 4 * si, 4);
            } else {
                uint16_t h;
                memcpy(&h, (const uint8_t *)sc->data + 2 * si, 2);
                s = bf16_to_f32(h);
            }
            dst[(size_t)r * (size_t)Cc + (size_t)c] = lut[src[(size_t)r * (size_t)Cc + (size_t)c]] * s;
        }
    e->type = OWL_TYPE_F32;
    e->data = dst;
    e->nbytes = nb;
    return OWL_OK;
}

static owl_status build(tensor_dir *d, int br, int bc) {
    if (!d->src) {
        owl_status s = index_sources(d);
        if (s != OWL_OK) return s;
    }
    d->t = owl_xcalloc(d->n_src ? d->n_src : 1, sizeof *d->t);
    if (!d->t) return OWL_ERR_NOMEM;
    {
        for (size_t g = 0; g < d->n_src; g++) {
            const st_tensor *t = d->src[g];
            if (ends_with(t->name, "_scale_inv")) {
                /* consumed by its F8 weight; a stray one is an error */
                char base[512];
                size_t bl = strlen(t->name) - strlen("_scale_inv");
                if (bl >= sizeof base) bl = sizeof base - 1;
                memcpy(base, t->name, bl);
                base[bl] = 0;
                const st_tensor *w = find_st(d, base);
                if (w && w->dtype == ST_F8_E4M3) continue;
            }
            if (t->n_dims > 4)
                return owl_err(OWL_ERR_UNSUPPORTED, "%s: tensor '%s' has %u dimensions (at most 4)", d->path,
                               t->name, t->n_dims);
            td_tensor *e = &d->t[d->n];
            e->name = owl_xstrndup(t->name, strlen(t->name));
            if (!e->name) return OWL_ERR_NOMEM;
            d->n++;
            e->n_dims = t->n_dims;
            for (int k = 0; k < 4; k++) e->ne[k] = 1;
            for (uint32_t k = 0; k < t->n_dims; k++) e->ne[k] = t->shape[t->n_dims - 1 - k];
            e->src_dtype = st_dtype_name(t->dtype);
            e->type = st_to_owl(t->dtype);
            e->data = t->data;
            e->nbytes = t->nbytes;
            if (t->dtype == ST_F8_E4M3) {
                owl_status s = dequant_fp8(d, t, br, bc, e);
                if (s != OWL_OK) return s;
            } else if (e->type >= 0 && (uintptr_t)t->data % st_dtype_size(t->dtype) != 0) {
                /* a header length that is not a multiple of 8 leaves the data
                 * misaligned for the kernels: an aligned copy */
                void *cp = owl_xmalloc(t->nbytes ? t->nbytes : 1);
                void **no = cp ? owl_xreallocarray(d->owned, d->n_owned + 1, sizeof *no) : NULL;
                if (!no) {
                    free(cp);
                    return OWL_ERR_NOMEM;
                }
                d->owned = no;
                d->owned[d->n_owned++] = cp;
                memcpy(cp, t->data, t->nbytes);
                e->data = cp;
            }
        }
    }
    return index_names(d);
}

owl_status tensor_dir_from_hf(const char *dir, int block_r, int block_c, tensor_dir **out) {
    *out = NULL;
    if (block_r <= 0) block_r = 128;
    if (block_c <= 0) block_c = 128;
    tensor_dir *d = dir_new(TD_HF, dir);
    if (!d) return OWL_ERR_NOMEM;
    char p[4096];
    owl_status s;
    if ((size_t)snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir) >= sizeof p) {
        tensor_dir_free(d);
        return owl_err(OWL_ERR_ARG, "%s: path too long", dir);
    }
    if (file_exists(p)) {
        s = read_index(d, dir, p);
    } else {
        snprintf(p, sizeof p, "%s/model.safetensors", dir);
        if (!file_exists(p))
            s = owl_err(OWL_ERR_IO, "%s: neither model.safetensors nor model.safetensors.index.json is there", dir);
        else
            s = add_file(d, dir, "model.safetensors");
    }
    if (s == OWL_OK) s = build(d, block_r, block_c);
    if (s != OWL_OK) {
        tensor_dir_free(d);
        return s;
    }
    *out = d;
    return OWL_OK;
}
