/* test_gguf_write.c — the GGUF writer, read back by the GGUF reader.
 *
 * Writes a file with one metadata value of every type (arrays of every
 * element type included) and tensors of several types (f32, f16, q8_0,
 * q4_k), fed in uneven pieces; opens it with gguf_open and compares every
 * key, value, shape, type, offset alignment and data byte. Then the
 * failures a user meets: a path in a missing folder, a full disk
 * (/dev/full), short and surplus tensor data, duplicate keys and tensors,
 * a row that is not a whole number of blocks — each a clear error, and no
 * partial file left behind. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "io/gguf.h"
#include "io/gguf_write.h"
#include "tensor/dtype.h"

static char path_buf[4096];

static bool file_exists(const char *p) { return access(p, F_OK) == 0; }

typedef struct tspec {
    const char *name;
    int type;
    uint32_t n_dims;
    int64_t ne[4];
    uint8_t *data;
    size_t nbytes;
} tspec;

static void fill(uint8_t *p, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
}

static void test_roundtrip(const char *tmp) {
    snprintf(path_buf, sizeof path_buf, "%s/gguf_write_roundtrip.gguf", tmp);
    gguf_writer *w = NULL;
    CHECK(gguf_writer_open(path_buf, &w) == OWL_OK, "open: %s", owl_last_error());
    if (!w) return;

    uint8_t u8 = 250;
    int8_t i8 = -100;
    uint16_t u16 = 65000;
    int16_t i16 = -30000;
    uint32_t u32 = 4000000000u;
    int32_t i32 = -2000000000;
    float f32 = 3.25f;
    bool bo = true;
    uint64_t u64 = 0xfedcba9876543210ull;
    int64_t i64 = -0x123456789abcdefll;
    double f64 = -1.0e300;
    CHECK(gguf_writer_kv(w, "t.u8", GGUF_U8, &u8) == OWL_OK, "u8");
    CHECK(gguf_writer_kv(w, "t.i8", GGUF_I8, &i8) == OWL_OK, "i8");
    CHECK(gguf_writer_kv(w, "t.u16", GGUF_U16, &u16) == OWL_OK, "u16");
    CHECK(gguf_writer_kv(w, "t.i16", GGUF_I16, &i16) == OWL_OK, "i16");
    CHECK(gguf_writer_kv(w, "t.u32", GGUF_U32, &u32) == OWL_OK, "u32");
    CHECK(gguf_writer_kv(w, "t.i32", GGUF_I32, &i32) == OWL_OK, "i32");
    CHECK(gguf_writer_kv(w, "t.f32", GGUF_F32, &f32) == OWL_OK, "f32");
    CHECK(gguf_writer_kv(w, "t.bool", GGUF_BOOL, &bo) == OWL_OK, "bool");
    CHECK(gguf_writer_kv(w, "t.u64", GGUF_U64, &u64) == OWL_OK, "u64");
    CHECK(gguf_writer_kv(w, "t.i64", GGUF_I64, &i64) == OWL_OK, "i64");
    CHECK(gguf_writer_kv(w, "t.f64", GGUF_F64, &f64) == OWL_OK, "f64");
    const char str[] = "h\xc3\xa9llo\0with nul";
    CHECK(gguf_writer_kv_str(w, "t.str", str, sizeof str - 1) == OWL_OK, "str");
    CHECK(gguf_writer_kv_str(w, "t.empty", "", 0) == OWL_OK, "empty str");
    /* general.alignment changes where the tensors go */
    CHECK(gguf_writer_kv_u32(w, "general.alignment", 64) == OWL_OK, "alignment");

    /* arrays of every fixed-size type: elements i*7-3 in that type */
    static const gguf_vtype elems[] = {GGUF_U8,  GGUF_I8,  GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32,
                                       GGUF_F32, GGUF_BOOL, GGUF_U64, GGUF_I64, GGUF_F64};
    enum { NE = 5 };
    for (size_t e = 0; e < sizeof elems / sizeof elems[0]; e++) {
        uint8_t buf[NE * 8];
        for (int i = 0; i < NE; i++) {
            int64_t v = i * 7 - 3;
            switch (elems[e]) {
            case GGUF_U8: buf[i] = (uint8_t)(v & 0x7f); break;
            case GGUF_I8: ((int8_t *)buf)[i] = (int8_t)v; break;
            case GGUF_U16: ((uint16_t *)buf)[i] = (uint16_t)(v & 0x7fff); break;
            case GGUF_I16: ((int16_t *)buf)[i] = (int16_t)v; break;
            case GGUF_U32: ((uint32_t *)buf)[i] = (uint32_t)(v & 0x7fffffff); break;
            case GGUF_I32: ((int32_t *)buf)[i] = (int32_t)v; break;
            case GGUF_F32: ((float *)buf)[i] = (float)v * 0.5f; break;
            case GGUF_BOOL: buf[i] = (uint8_t)(i & 1); break;
            case GGUF_U64: ((uint64_t *)buf)[i] = (uint64_t)(v & 0x7fffffff) << 20; break;
            case GGUF_I64: ((int64_t *)buf)[i] = v * 1000000000000ll; break;
            case GGUF_F64: ((double *)buf)[i] = (double)v * 0.25; break;
            default: break;
            }
        }
        char key[64];
        snprintf(key, sizeof key, "arr.%s", gguf_vtype_name(elems[e]));
        CHECK(gguf_writer_kv_arr(w, key, elems[e], buf, NE) == OWL_OK, "array %s: %s", key, owl_last_error());
    }
    gguf_str strs[3] = {{"alpha", 5}, {"", 0}, {"\xe2\x96\x81gamma", 8}};
    CHECK(gguf_writer_kv_arr_str(w, "arr.string", strs, 3) == OWL_OK, "string array");
    CHECK(gguf_writer_kv_arr(w, "arr.empty", GGUF_I32, NULL, 0) == OWL_OK, "empty array");

    /* refusals that leave the writer usable */
    CHECK(gguf_writer_kv(w, "t.u8", GGUF_U8, &u8) == OWL_ERR_ARG, "duplicate key refused");
    CHECK(strstr(owl_last_error(), "t.u8") != NULL, "duplicate key named: %s", owl_last_error());
    CHECK(gguf_writer_kv(w, "t.bad", GGUF_STRING, "x") == OWL_ERR_ARG, "string as scalar refused");
    CHECK(gguf_writer_kv_u32(w, "general.alignment", 48) == OWL_ERR_ARG, "alignment 48 refused");

    tspec ts[] = {
        {"tok.f32", OWL_TYPE_F32, 2, {7, 3, 1, 1}, NULL, 0},
        {"w.f16", OWL_TYPE_F16, 1, {5, 1, 1, 1}, NULL, 0},
        {"w.q8_0", OWL_TYPE_Q8_0, 3, {64, 2, 3, 1}, NULL, 0},
        {"w.q4_k", OWL_TYPE_Q4_K, 4, {256, 2, 1, 2}, NULL, 0},
        {"w.bf16", OWL_TYPE_BF16, 2, {3, 1, 1, 1}, NULL, 0},
    };
    enum { NT = sizeof ts / sizeof ts[0] };
    size_t total = 0;
    for (int i = 0; i < NT; i++) {
        int64_t rows = ts[i].ne[1] * ts[i].ne[2] * ts[i].ne[3];
        ts[i].nbytes = dtype_row_size(ts[i].type, ts[i].ne[0]) * (size_t)rows;
        ts[i].data = malloc(ts[i].nbytes);
        fill(ts[i].data, ts[i].nbytes, (uint32_t)i + 1);
        total += ts[i].nbytes;
        CHECK(gguf_writer_add_tensor(w, ts[i].name, ts[i].type, ts[i].n_dims, ts[i].ne) == OWL_OK, "add %s: %s",
              ts[i].name, owl_last_error());
    }
    int64_t bad_ne[2] = {100, 2};
    CHECK(gguf_writer_add_tensor(w, "w.bad", OWL_TYPE_Q4_0, 2, bad_ne) == OWL_ERR_ARG, "row of 100 as q4_0 refused");
    CHECK(gguf_writer_add_tensor(w, "w.f16", OWL_TYPE_F16, 1, ts[1].ne) == OWL_ERR_ARG, "duplicate tensor refused");
    CHECK(gguf_writer_add_tensor(w, "w.odd", 19, 1, ts[1].ne) == OWL_ERR_UNSUPPORTED, "unknown type refused");

    CHECK(gguf_writer_begin_data(w) == OWL_OK, "begin data: %s", owl_last_error());
    CHECK(gguf_writer_kv_u32(w, "late", 1) == OWL_ERR_ARG, "metadata after data refused");
    /* the data of all tensors as one stream, fed in uneven pieces that
       straddle tensor boundaries */
    uint8_t *all = malloc(total);
    size_t o = 0;
    for (int i = 0; i < NT; i++) {
        memcpy(all + o, ts[i].data, ts[i].nbytes);
        o += ts[i].nbytes;
    }
    size_t piece = 1;
    for (o = 0; o < total;) {
        size_t k = total - o < piece ? total - o : piece;
        if (gguf_writer_write(w, all + o, k) != OWL_OK) {
            CHECK(0, "write at %zu: %s", o, owl_last_error());
            break;
        }
        o += k;
        piece = piece * 3 + 1;
    }
    CHECK(gguf_writer_pending(w) == 0, "nothing pending");
    CHECK(gguf_writer_write(w, all, 1) == OWL_ERR_ARG, "a byte past the last tensor refused");
    free(all);
    CHECK(gguf_writer_finish(w) == OWL_OK, "finish: %s", owl_last_error());
    gguf_writer_free(w);

    gguf *g = NULL;
    CHECK(gguf_open(path_buf, &g) == OWL_OK, "read back: %s", owl_last_error());
    if (g) {
        CHECK(g->version == 3, "version %u", g->version);
        CHECK(g->alignment == 64, "alignment %llu", (unsigned long long)g->alignment);
        CHECK(g->n_kv == 14 + 13, "n_kv %llu", (unsigned long long)g->n_kv);
        const gguf_kv *kv;
#define SCALAR(key, vt, field, want)                                                          \
    kv = gguf_find(g, key);                                                                   \
    CHECK(kv && kv->type == vt && kv->v.field == (want), "%s read back", key)
        SCALAR("t.u8", GGUF_U8, u, 250);
        SCALAR("t.i8", GGUF_I8, i, -100);
        SCALAR("t.u16", GGUF_U16, u, 65000);
        SCALAR("t.i16", GGUF_I16, i, -30000);
        SCALAR("t.u32", GGUF_U32, u, 4000000000u);
        SCALAR("t.i32", GGUF_I32, i, -2000000000);
        SCALAR("t.f32", GGUF_F32, f, 3.25);
        SCALAR("t.bool", GGUF_BOOL, u, 1);
        SCALAR("t.u64", GGUF_U64, u, 0xfedcba9876543210ull);
        SCALAR("t.i64", GGUF_I64, i, -0x123456789abcdefll);
        SCALAR("t.f64", GGUF_F64, f, -1.0e300);
#undef SCALAR
        kv = gguf_find(g, "t.str");
        CHECK(kv && kv->type == GGUF_STRING && kv->v.s.len == sizeof str - 1 && !memcmp(kv->v.s.ptr, str, sizeof str - 1),
              "string with an inner NUL read back");
        kv = gguf_find(g, "t.empty");
        CHECK(kv && kv->type == GGUF_STRING && kv->v.s.len == 0, "empty string read back");
        for (size_t e = 0; e < sizeof elems / sizeof elems[0]; e++) {
            char key[64];
            snprintf(key, sizeof key, "arr.%s", gguf_vtype_name(elems[e]));
            kv = gguf_get_arr(g, key, elems[e]);
            CHECK(kv && kv->arr_n == NE, "%s: array of %d", key, NE);
            if (!kv) continue;
            for (int i = 0; i < NE; i++) {
                int64_t v = i * 7 - 3;
                double want;
                switch (elems[e]) {
                case GGUF_U8: want = (double)(v & 0x7f); break;
                case GGUF_U16: want = (double)(v & 0x7fff); break;
                case GGUF_U32: want = (double)(v & 0x7fffffff); break;
                case GGUF_F32: want = (double)v * 0.5; break;
                case GGUF_BOOL: want = i & 1; break;
                case GGUF_U64: want = (double)((uint64_t)(v & 0x7fffffff) << 20); break;
                case GGUF_I64: want = (double)(v * 1000000000000ll); break;
                case GGUF_F64: want = (double)v * 0.25; break;
                default: want = (double)v; break;
                }
                double got = -12345;
                CHECK(gguf_arr_f64(kv, i, &got) && got == want, "%s[%d] = %g, want %g", key, i, got, want);
            }
        }
        kv = gguf_get_arr(g, "arr.string", GGUF_STRING);
        CHECK(kv && kv->arr_n == 3, "string array of 3");
        for (int i = 0; kv && i < 3; i++)
            CHECK(kv->arr_str[i].len == strs[i].len && !memcmp(kv->arr_str[i].ptr, strs[i].ptr, strs[i].len),
                  "string array [%d]", i);
        kv = gguf_get_arr(g, "arr.empty", GGUF_I32);
        CHECK(kv && kv->arr_n == 0, "empty array read back");

        CHECK(g->n_tensors == NT, "n_tensors %llu", (unsigned long long)g->n_tensors);
        for (int i = 0; i < NT; i++) {
            const gguf_tensor *t = gguf_find_tensor(g, ts[i].name);
            CHECK(t != NULL, "tensor %s found", ts[i].name);
            if (!t) continue;
            CHECK(t->type == ts[i].type && t->n_dims == ts[i].n_dims, "%s: type %d dims %u", ts[i].name, t->type, t->n_dims);
            for (int d = 0; d < 4; d++) CHECK(t->ne[d] == ts[i].ne[d], "%s: ne[%d] %lld", ts[i].name, d, (long long)t->ne[d]);
            CHECK(t->offset % 64 == 0, "%s: offset %llu aligned to 64", ts[i].name, (unsigned long long)t->offset);
            CHECK((g->data_offset + t->offset) % 64 == 0, "%s: file position aligned", ts[i].name);
            CHECK(t->nbytes == ts[i].nbytes && !memcmp(t->data, ts[i].data, ts[i].nbytes), "%s: data bytes equal", ts[i].name);
        }
        gguf_close(g);
    }
    for (int i = 0; i < NT; i++) free(ts[i].data);
    unlink(path_buf);
}

/* a copy of every metadata entry of a real file reads back identical */
static void test_copy(const char *tmp, const char *fixtures) {
    char src[4096];
    snprintf(src, sizeof src, "%s/models/tiny-llama-spm.gguf", fixtures);
    gguf *in = NULL;
    if (gguf_open(src, &in) != OWL_OK) {
        CHECK(0, "open fixture: %s", owl_last_error());
        return;
    }
    snprintf(path_buf, sizeof path_buf, "%s/gguf_write_copy.gguf", tmp);
    gguf_writer *w = NULL;
    CHECK(gguf_writer_open(path_buf, &w) == OWL_OK, "open copy");
    for (uint64_t i = 0; w && i < in->n_kv; i++)
        CHECK(gguf_writer_kv_copy(w, &in->kv[i]) == OWL_OK, "copy kv %llu: %s", (unsigned long long)i, owl_last_error());
    for (uint64_t i = 0; w && i < in->n_tensors; i++) {
        const gguf_tensor *t = &in->tensors[i];
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        CHECK(gguf_writer_add_tensor(w, name, t->type, t->n_dims, t->ne) == OWL_OK, "add %s", name);
    }
    CHECK(w && gguf_writer_begin_data(w) == OWL_OK, "begin");
    for (uint64_t i = 0; w && i < in->n_tensors; i++)
        CHECK(gguf_writer_write(w, in->tensors[i].data, in->tensors[i].nbytes) == OWL_OK, "data %llu", (unsigned long long)i);
    CHECK(w && gguf_writer_finish(w) == OWL_OK, "finish copy: %s", owl_last_error());
    gguf_writer_free(w);
    gguf *out = NULL;
    CHECK(gguf_open(path_buf, &out) == OWL_OK, "open the copy: %s", owl_last_error());
    if (out) {
        CHECK(out->n_kv == in->n_kv && out->n_tensors == in->n_tensors, "counts equal");
        for (uint64_t i = 0; i < in->n_kv && i < out->n_kv; i++) {
            const gguf_kv *a = &in->kv[i], *b = &out->kv[i];
            bool same = a->key.len == b->key.len && !memcmp(a->key.ptr, b->key.ptr, a->key.len) && a->type == b->type;
            if (same && a->type == GGUF_STRING)
                same = a->v.s.len == b->v.s.len && !memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len);
            else if (same && a->type == GGUF_ARRAY) {
                same = a->arr_type == b->arr_type && a->arr_n == b->arr_n;
                for (uint64_t j = 0; same && j < a->arr_n; j++) {
                    if (a->arr_type == GGUF_STRING)
                        same = a->arr_str[j].len == b->arr_str[j].len &&
                               !memcmp(a->arr_str[j].ptr, b->arr_str[j].ptr, a->arr_str[j].len);
                    else {
                        double x, y;
                        same = gguf_arr_f64(a, j, &x) && gguf_arr_f64(b, j, &y) && (x == y || (x != x && y != y));
                    }
                }
            } else if (same)
                same = a->v.u == b->v.u || a->v.f == b->v.f;
            CHECK(same, "kv %.*s copied", (int)a->key.len, a->key.ptr);
        }
        for (uint64_t i = 0; i < in->n_tensors && i < out->n_tensors; i++)
            CHECK(in->tensors[i].nbytes == out->tensors[i].nbytes &&
                      !memcmp(in->tensors[i].data, out->tensors[i].data, in->tensors[i].nbytes),
                  "tensor %llu copied", (unsigned long long)i);
        gguf_close(out);
    }
    gguf_close(in);
    unlink(path_buf);
}

static void test_errors(const char *tmp) {
    gguf_writer *w = NULL;
    /* a folder that does not exist */
    snprintf(path_buf, sizeof path_buf, "%s/no/such/dir/x.gguf", tmp);
    CHECK(gguf_writer_open(path_buf, &w) == OWL_ERR_IO && w == NULL, "missing folder refused");
    CHECK(strstr(owl_last_error(), path_buf) && strstr(owl_last_error(), "No such file"), "message names path and cause: %s",
          owl_last_error());

    /* a full disk: /dev/full takes the open, refuses the bytes */
    if (file_exists("/dev/full")) {
        CHECK(gguf_writer_open("/dev/full", &w) == OWL_OK, "open /dev/full");
        if (w) {
            int64_t ne[1] = {1 << 20}; /* 4 MiB: more than the stdio buffer */
            CHECK(gguf_writer_add_tensor(w, "big", OWL_TYPE_F32, 1, ne) == OWL_OK, "add big");
            owl_status s = gguf_writer_begin_data(w);
            float *zeros = calloc((size_t)ne[0], sizeof(float));
            if (s == OWL_OK) s = gguf_writer_write(w, zeros, (size_t)ne[0] * sizeof(float));
            if (s == OWL_OK) s = gguf_writer_finish(w);
            free(zeros);
            CHECK(s == OWL_ERR_IO, "a full disk is an I/O error (got %d)", (int)s);
            CHECK(strstr(owl_last_error(), "/dev/full") && strstr(owl_last_error(), "No space left"),
                  "message names the disk being full: %s", owl_last_error());
            CHECK(gguf_writer_write(w, "x", 1) == OWL_ERR_IO, "writes after a failure refused");
            gguf_writer_free(w);
            CHECK(file_exists("/dev/full"), "/dev/full is not removed");
        }
    }

    /* short data: finish refuses and the partial file is removed */
    snprintf(path_buf, sizeof path_buf, "%s/gguf_write_short.gguf", tmp);
    CHECK(gguf_writer_open(path_buf, &w) == OWL_OK, "open short");
    if (w) {
        int64_t ne[2] = {32, 4};
        CHECK(gguf_writer_add_tensor(w, "a", OWL_TYPE_Q8_0, 2, ne) == OWL_OK, "add a");
        CHECK(gguf_writer_begin_data(w) == OWL_OK, "begin");
        uint8_t half[68] = {0};
        CHECK(gguf_writer_write(w, half, sizeof half) == OWL_OK, "half written");
        CHECK(gguf_writer_pending(w) == 68, "68 bytes pending, got %llu", (unsigned long long)gguf_writer_pending(w));
        CHECK(gguf_writer_finish(w) == OWL_ERR_ARG, "short tensor refused");
        CHECK(strstr(owl_last_error(), "'a'") && strstr(owl_last_error(), "68 of its 136"), "message: %s", owl_last_error());
        gguf_writer_free(w);
        CHECK(!file_exists(path_buf), "partial file removed");
    }
}

int main(void) {
    const char *tmp = check_env("OWL_TMP");
    const char *fixtures = check_env("OWL_FIXTURES");
    test_roundtrip(tmp);
    test_copy(tmp, fixtures);
    test_errors(tmp);
    return check_done();
}
