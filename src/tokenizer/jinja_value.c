/* jinja_value.c — the Jinja interpreter's arena and values with Python's
 * semantics: str() and repr() (floats as the shortest text that reads back,
 * strings quoted like Python), json.dumps as transformers' tojson calls it,
 * truthiness, equality and ordering. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "jinja_internal.h"

/* ---- arena ----------------------------------------------------------------- */

/* Standard chunks freed by one render are kept (up to JA_CACHE_BYTES) for
 * the next one: a render of a big template uses ~0.5 MiB, and giving it
 * back to the system each time costs more than the render itself. */
enum { JA_CHUNK = 65536, JA_CACHE_BYTES = 4 << 20 };
static pthread_mutex_t ja_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static jchunk *ja_cache;
static size_t ja_cache_bytes;

static jchunk *chunk_new(size_t cap) {
    if (cap == JA_CHUNK) {
        pthread_mutex_lock(&ja_cache_lock);
        jchunk *k = ja_cache;
        if (k) {
            ja_cache = k->next;
            ja_cache_bytes -= JA_CHUNK;
        }
        pthread_mutex_unlock(&ja_cache_lock);
        if (k) return k;
    }
    return malloc(sizeof(jchunk) + cap);
}

void ja_free_chunks(jctx *c) {
    for (jchunk *k = c->chunks, *nx; k; k = nx) {
        nx = k->next;
        bool kept = false;
        if (k->cap == JA_CHUNK) {
            pthread_mutex_lock(&ja_cache_lock);
            if (ja_cache_bytes < JA_CACHE_BYTES) {
                k->next = ja_cache;
                ja_cache = k;
                ja_cache_bytes += JA_CHUNK;
                kept = true;
            }
            pthread_mutex_unlock(&ja_cache_lock);
        }
        if (!kept) free(k);
    }
    c->chunks = NULL;
}

void *ja_alloc(jctx *c, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    jchunk *k = c->chunks;
    if (!k || k->cap - k->used < n) {
        size_t cap = n > JA_CHUNK ? n : JA_CHUNK;
        if (c->mem + cap > JINJA_MAX_MEMORY)
            jfail(c, OWL_ERR_FORMAT, "template exceeded %d MiB of memory", JINJA_MAX_MEMORY >> 20);
        jchunk *nk = chunk_new(cap);
        if (!nk) jfail(c, OWL_ERR_NOMEM, "out of memory rendering a template");
        c->mem += cap;
        nk->used = 0;
        nk->cap = cap;
        if (k && cap == n) { /* a big block: keep the current chunk in front */
            nk->next = k->next;
            k->next = nk;
        } else {
            nk->next = k;
            c->chunks = nk;
        }
        k = nk;
    }
    void *p = k->data + k->used;
    k->used += n;
    memset(p, 0, n);
    return p;
}

char *ja_strndup(jctx *c, const char *s, size_t n) {
    char *p = ja_alloc(c, n + 1);
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* ---- errors ------------------------------------------------------------------ */

void jfail(jctx *c, owl_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->status = s;
    longjmp(c->jmp, 1);
}

void jfail_at(jctx *c, const jnode *n, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n)
        snprintf(c->err, sizeof c->err, "template line %d: %s", n->line, msg);
    else
        snprintf(c->err, sizeof c->err, "template: %s", msg);
    c->status = OWL_ERR_ARG; /* the template refuses what it was given */
    longjmp(c->jmp, 1);
}

/* ---- text buffers ------------------------------------------------------------ */

void jb_add(jctx *c, jbuf *b, const char *s, size_t n) {
    if (n == 0) return;
    if (b->n + n > c->max_output) jfail(c, OWL_ERR_FORMAT, "template exceeded %zu bytes of output", c->max_output);
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = ja_alloc(c, cap);
        if (b->n) memcpy(p, b->p, b->n);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void jb_str(jctx *c, jbuf *b, const char *s) { jb_add(c, b, s, strlen(s)); }
void jb_char(jctx *c, jbuf *b, char ch) { jb_add(c, b, &ch, 1); }
jval jb_val(jbuf *b) { return jv_str(b->p ? b->p : "", b->n); }

/* ---- UTF-8 -------------------------------------------------------------------- */

uint32_t ju_decode(const char *s, size_t n, size_t *len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t l = (p[0] < 0x80) ? 1 : (p[0] >= 0xF0) ? 4 : (p[0] >= 0xE0) ? 3 : (p[0] >= 0xC0) ? 2 : 1;
    if (l > n) l = 1;
    uint32_t cp = l == 1 ? p[0] : (uint32_t)(p[0] & (0x7F >> l));
    for (size_t i = 1; i < l; i++) cp = (cp << 6) | (p[i] & 0x3F);
    *len = l;
    return cp;
}

size_t ju_len(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

size_t ju_offset(const char *s, size_t n, size_t idx) {
    size_t k = 0, i = 0;
    for (; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (k == idx) return i;
            k++;
        }
    }
    return n;
}

bool ju_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* ---- constructors ------------------------------------------------------------ */

jval jv_cstr(jctx *c, const char *s) {
    size_t n = strlen(s);
    return jv_str(ja_strndup(c, s, n), n);
}

jval jv_list_new(jctx *c, size_t cap) {
    jval v = {.kind = JV_LIST};
    v.u.l = ja_alloc(c, sizeof *v.u.l);
    if (cap) {
        v.u.l->v = ja_alloc(c, cap * sizeof(jval));
        v.u.l->cap = cap;
    }
    return v;
}

void jl_push(jctx *c, jlist *l, jval v) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        jval *p = ja_alloc(c, cap * sizeof(jval));
        if (l->n) memcpy(p, l->v, l->n * sizeof(jval));
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = v;
}

jval jv_dict_new(jctx *c, jkind kind) {
    jval v = {.kind = kind};
    v.u.d = ja_alloc(c, sizeof *v.u.d);
    return v;
}

jval *jd_get(const jdict *d, jval k) {
    for (size_t i = 0; i < d->n; i++)
        if (jv_equal(d->k[i], k)) return &d->v[i];
    return NULL;
}

jval *jd_get_str(const jdict *d, const char *s, size_t n) {
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].kind == JV_STR && d->k[i].u.s.n == n && memcmp(d->k[i].u.s.s, s, n) == 0) return &d->v[i];
    return NULL;
}

void jd_set(jctx *c, jdict *d, jval k, jval v) {
    jval *p = jd_get(d, k);
    if (p) {
        *p = v;
        return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        jval *nk = ja_alloc(c, cap * sizeof(jval)), *nv = ja_alloc(c, cap * sizeof(jval));
        if (d->n) {
            memcpy(nk, d->k, d->n * sizeof(jval));
            memcpy(nv, d->v, d->n * sizeof(jval));
        }
        d->k = nk;
        d->v = nv;
        d->cap = cap;
    }
    d->k[d->n] = k;
    d->v[d->n++] = v;
}

jval jv_from_json(jctx *c, json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        jval d = jv_dict_new(c, JV_DICT);
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val) jd_set(c, d.u.d, jv_cstr(c, key), jv_from_json(c, val));
        return d;
    }
    case JSON_ARRAY: {
        jval l = jv_list_new(c, json_array_size(j));
        size_t i;
        json_t *val;
        json_array_foreach(j, i, val) jl_push(c, l.u.l, jv_from_json(c, val));
        return l;
    }
    case JSON_STRING: {
        size_t n = json_string_length(j);
        return jv_str(ja_strndup(c, json_string_value(j), n), n);
    }
    case JSON_INTEGER: return jv_int(json_integer_value(j));
    case JSON_REAL: return jv_float(json_real_value(j));
    case JSON_TRUE: return jv_bool(true);
    case JSON_FALSE: return jv_bool(false);
    default: return jv_none();
    }
}

/* ---- Python semantics ------------------------------------------------------------ */

bool jv_truthy(jval v) {
    switch (v.kind) {
    case JV_UNDEF:
    case JV_NONE: return false;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0;
    case JV_STR: return v.u.s.n != 0;
    case JV_LIST: return v.u.l->gen || v.u.l->n != 0;
    case JV_DICT: return v.u.d->n != 0;
    default: return true;
    }
}

static bool is_num(jval v) { return v.kind == JV_INT || v.kind == JV_FLOAT || v.kind == JV_BOOL; }
static double num(jval v) {
    return v.kind == JV_FLOAT ? v.u.f : v.kind == JV_INT ? (double)v.u.i : (double)v.u.b;
}

bool jv_equal(jval a, jval b) {
    if (is_num(a) && is_num(b)) {
        if (a.kind != JV_FLOAT && b.kind != JV_FLOAT)
            return (a.kind == JV_INT ? a.u.i : a.u.b) == (b.kind == JV_INT ? b.u.i : b.u.b);
        return num(a) == num(b);
    }
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case JV_UNDEF:
    case JV_NONE: return true;
    case JV_STR: return a.u.s.n == b.u.s.n && memcmp(a.u.s.s, b.u.s.s, a.u.s.n) == 0;
    case JV_LIST:
        if (a.u.l->gen || b.u.l->gen) return a.u.l == b.u.l; /* an iterator is only equal to itself */
        if (a.u.l->n != b.u.l->n) return false;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!jv_equal(a.u.l->v[i], b.u.l->v[i])) return false;
        return true;
    case JV_DICT:
        if (a.u.d->n != b.u.d->n) return false;
        for (size_t i = 0; i < a.u.d->n; i++) {
            jval *o = jd_get(b.u.d, a.u.d->k[i]);
            if (!o || !jv_equal(a.u.d->v[i], *o)) return false;
        }
        return true;
    case JV_NS: return a.u.d == b.u.d;
    case JV_FUNC: return a.u.fn == b.u.fn;
    case JV_MACRO: return a.u.m == b.u.m;
    default: return false;
    }
}

const char *jv_type_name(jval v) {
    static const char *const names[] = {"Undefined", "NoneType", "bool", "int", "float", "str",
                                        "list", "dict", "Namespace", "function", "Macro", "method"};
    if (v.kind == JV_LIST && v.u.l->tuple) return "tuple";
    if (v.kind == JV_LIST && v.u.l->gen) return "generator";
    return names[v.kind];
}

int jv_compare(jctx *c, jval a, jval b) {
    if (is_num(a) && is_num(b)) {
        if (a.kind != JV_FLOAT && b.kind != JV_FLOAT) {
            int64_t x = a.kind == JV_INT ? a.u.i : a.u.b, y = b.kind == JV_INT ? b.u.i : b.u.b;
            return (x > y) - (x < y);
        }
        double x = num(a), y = num(b);
        return (x > y) - (x < y);
    }
    if (a.kind == JV_STR && b.kind == JV_STR) {
        size_t n = a.u.s.n < b.u.s.n ? a.u.s.n : b.u.s.n;
        int r = memcmp(a.u.s.s, b.u.s.s, n); /* UTF-8 byte order is code point order */
        if (r) return r;
        return (a.u.s.n > b.u.s.n) - (a.u.s.n < b.u.s.n);
    }
    if (a.kind == JV_LIST && b.kind == JV_LIST && a.u.l->tuple == b.u.l->tuple && !a.u.l->gen && !b.u.l->gen) {
        for (size_t i = 0; i < a.u.l->n && i < b.u.l->n; i++) {
            if (!jv_equal(a.u.l->v[i], b.u.l->v[i])) return jv_compare(c, a.u.l->v[i], b.u.l->v[i]);
        }
        return (a.u.l->n > b.u.l->n) - (a.u.l->n < b.u.l->n);
    }
    jfail(c, OWL_ERR_FORMAT, "template: '<' not supported between instances of '%s' and '%s'", jv_type_name(a),
          jv_type_name(b));
}

/* ---- str / repr -------------------------------------------------------------------- */

/* Python's repr of a float: the shortest digits that read back, in fixed
 * notation for exponents -4..15 and with at least one decimal. */
static void write_float(jctx *c, jbuf *b, double f) {
    if (isnan(f)) {
        jb_str(c, b, "nan");
        return;
    }
    if (isinf(f)) {
        jb_str(c, b, f < 0 ? "-inf" : "inf");
        return;
    }
    char tmp[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f) break;
    }
    /* tmp: [-]d.ddde[+-]xx */
    char digits[24];
    size_t nd = 0;
    const char *p = tmp;
    bool neg = *p == '-';
    if (neg) p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    char out[64];
    size_t o = 0;
    if (neg) out[o++] = '-';
    if (exp < -4 || exp >= 16) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (size_t i = 1; i < nd; i++) out[o++] = digits[i];
        }
        o += (size_t)snprintf(out + o, sizeof out - o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = -1; i > exp; i--) out[o++] = '0';
        for (size_t i = 0; i < nd; i++) out[o++] = digits[i];
    } else {
        for (int i = 0; i <= exp; i++) out[o++] = (size_t)i < nd ? digits[i] : '0';
        out[o++] = '.';
        if ((size_t)exp + 1 < nd)
            for (size_t i = (size_t)exp + 1; i < nd; i++) out[o++] = digits[i];
        else
            out[o++] = '0';
    }
    jb_add(c, b, out, o);
}

static void write_str_repr(jctx *c, jbuf *b, const char *s, size_t n) {
    bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    jb_char(c, b, q);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch == (unsigned char)q || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            jb_add(c, b, esc, 2);
        } else if (ch == '\n') {
            jb_add(c, b, "\\n", 2);
        } else if (ch == '\r') {
            jb_add(c, b, "\\r", 2);
        } else if (ch == '\t') {
            jb_add(c, b, "\\t", 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", ch);
            jb_add(c, b, esc, 4);
        } else {
            jb_char(c, b, (char)ch);
        }
    }
    jb_char(c, b, q);
}

static void write_int(jctx *c, jbuf *b, int64_t i) {
    char tmp[24];
    int k = snprintf(tmp, sizeof tmp, "%lld", (long long)i);
    jb_add(c, b, tmp, (size_t)k);
}

void jv_write_repr(jctx *c, jbuf *b, jval v) {
    if (v.kind == JV_STR) {
        write_str_repr(c, b, v.u.s.s, v.u.s.n);
    } else if (v.kind == JV_LIST) {
        bool t = v.u.l->tuple;
        jb_char(c, b, t ? '(' : '[');
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i) jb_add(c, b, ", ", 2);
            jv_write_repr(c, b, v.u.l->v[i]);
        }
        if (t && v.u.l->n == 1) jb_char(c, b, ',');
        jb_char(c, b, t ? ')' : ']');
    } else if (v.kind == JV_DICT) {
        jb_char(c, b, '{');
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i) jb_add(c, b, ", ", 2);
            jv_write_repr(c, b, v.u.d->k[i]);
            jb_add(c, b, ": ", 2);
            jv_write_repr(c, b, v.u.d->v[i]);
        }
        jb_char(c, b, '}');
    } else {
        jv_write_str(c, b, v);
    }
}

void jv_write_str(jctx *c, jbuf *b, jval v) {
    switch (v.kind) {
    case JV_UNDEF: return;
    case JV_NONE: jb_str(c, b, "None"); return;
    case JV_BOOL: jb_str(c, b, v.u.b ? "True" : "False"); return;
    case JV_INT: write_int(c, b, v.u.i); return;
    case JV_FLOAT: write_float(c, b, v.u.f); return;
    case JV_STR: jb_add(c, b, v.u.s.s, v.u.s.n); return;
    case JV_LIST:
        if (v.u.l->gen) {
            jb_str(c, b, "<generator object>");
            return;
        }
        jv_write_repr(c, b, v);
        return;
    case JV_DICT: jv_write_repr(c, b, v); return;
    case JV_NS: {
        jval d = v;
        d.kind = JV_DICT;
        jb_str(c, b, "<Namespace ");
        jv_write_repr(c, b, d);
        jb_char(c, b, '>');
        return;
    }
    case JV_FUNC: jb_str(c, b, "<built-in function>"); return;
    case JV_MACRO: jb_str(c, b, "<Macro>"); return;
    case JV_METHOD: jb_str(c, b, "<built-in method>"); return;
    }
}

jval jv_to_str(jctx *c, jval v) {
    if (v.kind == JV_STR) return v;
    jbuf b = {0};
    jv_write_str(c, &b, v);
    return jb_val(&b);
}

/* ---- json.dumps -------------------------------------------------------------------- */

static void write_json_str(jctx *c, jbuf *b, const char *s, size_t n) {
    jb_char(c, b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *e = NULL;
        char tmp[16];
        switch (ch) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        default:
            if (ch < 0x20 || (ch == 0x7f && c->json_ascii)) {
                snprintf(tmp, sizeof tmp, "\\u%04x", ch);
                e = tmp;
            } else if (ch >= 0x80 && c->json_ascii) { /* \\uXXXX, surrogate pairs above the BMP */
                size_t l;
                uint32_t cp = ju_decode(s + i, n - i, &l);
                jb_add(c, b, s + i - run, run);
                run = 0;
                if (cp >= 0x10000) {
                    cp -= 0x10000;
                    snprintf(tmp, sizeof tmp, "\\u%04x", 0xD800 + (cp >> 10));
                    jb_str(c, b, tmp);
                    cp = 0xDC00 + (cp & 0x3FF);
                }
                snprintf(tmp, sizeof tmp, "\\u%04x", cp);
                jb_str(c, b, tmp);
                i += l - 1;
                continue;
            }
        }
        if (e) {
            jb_add(c, b, s + i - run, run);
            run = 0;
            jb_str(c, b, e);
        } else {
            run++;
        }
    }
    jb_add(c, b, s + n - run, run);
    jb_char(c, b, '"');
}

static void json_newline(jctx *c, jbuf *b, const char *indent, int depth) {
    jb_char(c, b, '\n');
    for (int i = 0; i < depth; i++) jb_str(c, b, indent);
}

void jv_write_json(jctx *c, jbuf *b, jval v, const char *indent, const char *item_sep, const char *key_sep,
                   bool sort_keys, int depth) {
    if (depth > JINJA_MAX_DEPTH) jfail(c, OWL_ERR_FORMAT, "template: tojson: value nested too deeply");
    switch (v.kind) {
    case JV_NONE: jb_str(c, b, "null"); return;
    case JV_BOOL: jb_str(c, b, v.u.b ? "true" : "false"); return;
    case JV_INT: write_int(c, b, v.u.i); return;
    case JV_FLOAT:
        if (isnan(v.u.f)) jb_str(c, b, "NaN");
        else if (isinf(v.u.f)) jb_str(c, b, v.u.f < 0 ? "-Infinity" : "Infinity");
        else write_float(c, b, v.u.f);
        return;
    case JV_STR: write_json_str(c, b, v.u.s.s, v.u.s.n); return;
    case JV_LIST:
        if (v.u.l->gen)
            jfail(c, OWL_ERR_FORMAT, "template: tojson: Object of type generator is not JSON serializable");
        if (v.u.l->n == 0) {
            jb_str(c, b, "[]");
            return;
        }
        jb_char(c, b, '[');
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i) jb_str(c, b, item_sep);
            if (indent) json_newline(c, b, indent, depth + 1);
            jv_write_json(c, b, v.u.l->v[i], indent, item_sep, key_sep, sort_keys, depth + 1);
        }
        if (indent) json_newline(c, b, indent, depth);
        jb_char(c, b, ']');
        return;
    case JV_DICT:
    case JV_NS: {
        jdict *d = v.u.d;
        if (d->n == 0) {
            jb_str(c, b, "{}");
            return;
        }
        size_t *order = ja_alloc(c, d->n * sizeof(size_t));
        for (size_t i = 0; i < d->n; i++) order[i] = i;
        if (sort_keys) /* insertion sort: dicts in templates are small */
            for (size_t i = 1; i < d->n; i++)
                for (size_t j = i; j > 0 && jv_compare(c, d->k[order[j - 1]], d->k[order[j]]) > 0; j--) {
                    size_t t = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = t;
                }
        jb_char(c, b, '{');
        for (size_t i = 0; i < d->n; i++) {
            jval k = d->k[order[i]];
            if (i) jb_str(c, b, item_sep);
            if (indent) json_newline(c, b, indent, depth + 1);
            if (k.kind == JV_STR) {
                write_json_str(c, b, k.u.s.s, k.u.s.n);
            } else if (k.kind == JV_NONE) {
                jb_str(c, b, "\"null\"");
            } else if (k.kind == JV_BOOL) {
                jb_str(c, b, k.u.b ? "\"true\"" : "\"false\"");
            } else if (k.kind == JV_INT || k.kind == JV_FLOAT) {
                jb_char(c, b, '"');
                jv_write_json(c, b, k, NULL, "", "", false, depth + 1);
                jb_char(c, b, '"');
            } else {
                jfail(c, OWL_ERR_FORMAT, "template: tojson: keys must be str, int, float, bool or None, not %s",
                      jv_type_name(k));
            }
            jb_str(c, b, key_sep);
            jv_write_json(c, b, d->v[order[i]], indent, item_sep, key_sep, sort_keys, depth + 1);
        }
        if (indent) json_newline(c, b, indent, depth);
        jb_char(c, b, '}');
        return;
    }
    default:
        jfail(c, OWL_ERR_FORMAT, "template: tojson: Object of type %s is not JSON serializable", jv_type_name(v));
    }
}
