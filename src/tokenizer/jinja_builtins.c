/* jinja_builtins.c — what Jinja templates call: the global functions
 * (range, namespace, dict, raise_exception, strftime_now), attribute and
 * item access with Jinja2's sandbox rules (a missing attribute is
 * Undefined, touching an Undefined's attribute is an error, methods that
 * change a list or dict are refused), Python's str/dict/list methods,
 * Jinja2's filters (with transformers' tojson) and tests, and the
 * arithmetic operators with Python's semantics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "jinja_internal.h"
#include "vocab.h"

#define NAMED(s, lit) (strcmp((s), (lit)) == 0)

static jval *arg_at(jval *args, const char **kw, size_t n, size_t pos, const char *name) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (kw && kw[i]) {
            if (name && strcmp(kw[i], name) == 0) return &args[i];
        } else if (k++ == pos) {
            return &args[i];
        }
    }
    return NULL;
}

static size_t n_positional(const char **kw, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += !(kw && kw[i]);
    return k;
}

static jval str_of(jctx *c, jval v) { return jv_to_str(c, v); }

static jval need_str(jctx *c, const jnode *at, jval v, const char *what) {
    if (v.kind != JV_STR) jfail_at(c, at, "%s expects a string, not %s", what, jv_type_name(v));
    return v;
}

static int64_t need_int(jctx *c, const jnode *at, jval v, const char *what) {
    if (v.kind == JV_INT) return v.u.i;
    if (v.kind == JV_BOOL) return v.u.b;
    jfail_at(c, at, "%s expects an integer, not %s", what, jv_type_name(v));
}

_Noreturn static void fail_undef(jctx *c, const jnode *at, jval v) {
    jfail_at(c, at, "%s", v.u.undef ? v.u.undef : "undefined value");
}

/* ---- global functions ----------------------------------------------------------------- */

jval jb_call_func(jctx *c, const jnode *at, int fn, jval *args, const char **kw, size_t n) {
    switch (fn) {
    case FN_RANGE: {
        size_t np = n_positional(kw, n);
        if (np < 1 || np > 3) jfail_at(c, at, "range expected 1 to 3 arguments, got %zu", np);
        int64_t start = 0, stop, step = 1;
        if (np == 1) {
            stop = need_int(c, at, args[0], "range");
        } else {
            start = need_int(c, at, args[0], "range");
            stop = need_int(c, at, args[1], "range");
            if (np == 3) step = need_int(c, at, args[2], "range");
        }
        if (step == 0) jfail_at(c, at, "range() arg 3 must not be zero");
        double count = step > 0 ? ceil(((double)stop - (double)start) / (double)step)
                                : ceil(((double)start - (double)stop) / (double)-step);
        if (count < 0) count = 0;
        if (count > JINJA_MAX_ITERATIONS)
            jfail(c, OWL_ERR_FORMAT, "template line %d: template exceeded %d iterations (range of %.0f)", at->line,
                  JINJA_MAX_ITERATIONS, count);
        jval l = jv_list_new(c, (size_t)count);
        for (int64_t i = 0; i < (int64_t)count; i++) jl_push(c, l.u.l, jv_int(start + i * step));
        return l;
    }
    case FN_NAMESPACE:
    case FN_DICT: {
        jval d = jv_dict_new(c, fn == FN_NAMESPACE ? JV_NS : JV_DICT);
        for (size_t i = 0; i < n; i++) {
            if (kw && kw[i]) {
                if (fn == FN_NAMESPACE && kw[i][0] == '_')
                    jfail_at(c, at, "chat templates cannot store underscore-prefixed attributes on a namespace");
                jd_set(c, d.u.d, jv_cstr(c, kw[i]), args[i]);
            } else if (args[i].kind == JV_DICT || args[i].kind == JV_NS) {
                for (size_t k = 0; k < args[i].u.d->n; k++) jd_set(c, d.u.d, args[i].u.d->k[k], args[i].u.d->v[k]);
            } else {
                jfail_at(c, at, "%s() takes a mapping or keyword arguments", fn == FN_NAMESPACE ? "namespace" : "dict");
            }
        }
        return d;
    }
    case FN_RAISE: {
        jval m = n ? str_of(c, args[0]) : jv_str("", 0);
        jfail(c, OWL_ERR_ARG, "template raised an exception: %.*s", (int)(m.u.s.n > 400 ? 400 : m.u.s.n), m.u.s.s);
    }
    case FN_STRFTIME: {
        if (n < 1) jfail_at(c, at, "strftime_now expects a format");
        jval f = need_str(c, at, args[0], "strftime_now");
        struct tm tmv;
        if (c->now) {
            tmv = *c->now;
        } else {
            time_t t = time(NULL);
            localtime_r(&t, &tmv);
        }
        char buf[512];
        char *fmt = ja_strndup(c, f.u.s.s, f.u.s.n);
        size_t len = strftime(buf, sizeof buf, fmt, &tmv);
        return jv_str(ja_strndup(c, buf, len), len);
    }
    default: jfail_at(c, at, "unknown function");
    }
}

/* ---- strings ------------------------------------------------------------------------- */

static bool in_chars(uint32_t cp, jval *chars) {
    if (!chars) return ju_space(cp);
    const char *s = chars->u.s.s;
    size_t n = chars->u.s.n, l;
    for (size_t i = 0; i < n; i += l)
        if (ju_decode(s + i, n - i, &l) == cp) return true;
    return false;
}

/* Python's str.strip / lstrip / rstrip */
static jval strip(jval s, jval *chars, bool left, bool right) {
    const char *p = s.u.s.s, *e = p + s.u.s.n;
    size_t l;
    if (left)
        while (p < e && in_chars(ju_decode(p, (size_t)(e - p), &l), chars)) p += l;
    if (right)
        while (e > p) {
            const char *q = e - 1;
            while (q > p && ((unsigned char)*q & 0xC0) == 0x80 && e - q < 4) q--;
            uint32_t cp = ju_decode(q, (size_t)(e - q), &l);
            if (q + l != e || !in_chars(cp, chars)) break;
            e = q;
        }
    return jv_str(p, (size_t)(e - p));
}

static bool alpha(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (unsigned char)ch >= 0x80; }

static bool cased(uint32_t cp) {
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)cp);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT;
}

static void put_cp(jctx *c, jbuf *b, uint32_t cp) {
    char u[4];
    jb_add(c, b, u, utf8_encode(cp, u));
}

/* one code point in upper (1), lower (0) or title (2) case, as Python
 * maps it (utf8proc's simple mappings, plus German sharp s to "SS") */
static void put_case(jctx *c, jbuf *b, uint32_t cp, int to) {
    if (cp == 0xDF && to != 0) {
        jb_add(c, b, to == 1 ? "SS" : "Ss", 2);
        return;
    }
    utf8proc_int32_t m = to == 1 ? utf8proc_toupper((utf8proc_int32_t)cp)
                       : to == 2 ? utf8proc_totitle((utf8proc_int32_t)cp)
                                 : utf8proc_tolower((utf8proc_int32_t)cp);
    put_cp(c, b, (uint32_t)m);
}

static bool jinja_word_break(uint32_t cp) {
    return ju_space(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
}

/* 0 lower, 1 upper, 2 str.capitalize, 3 str.title, 4 Jinja's title filter */
static jval map_case(jctx *c, jval s, int mode) {
    bool ascii = true;
    for (size_t i = 0; i < s.u.s.n && ascii; i++) ascii = (unsigned char)s.u.s.s[i] < 0x80;
    jbuf b = {0};
    bool start = true, prev_cased = false, prev_break = true;
    size_t l;
    for (size_t i = 0; i < s.u.s.n; i += l) {
        uint32_t cp;
        if (ascii) {
            cp = (unsigned char)s.u.s.s[i];
            l = 1;
        } else {
            cp = ju_decode(s.u.s.s + i, s.u.s.n - i, &l);
        }
        switch (mode) {
        case 0: put_case(c, &b, cp, 0); break;
        case 1: put_case(c, &b, cp, 1); break;
        case 2: put_case(c, &b, cp, start ? 2 : 0); break;
        case 3:
            put_case(c, &b, cp, prev_cased ? 0 : 2);
            prev_cased = cased(cp);
            break;
        default: {
            bool brk = jinja_word_break(cp);
            put_case(c, &b, cp, brk ? 0 : prev_break ? 1 : 0);
            prev_break = brk;
        }
        }
        start = false;
    }
    return b.p ? jb_val(&b) : jv_str("", 0);
}

static jval replace(jctx *c, jval s, jval old, jval new, int64_t count) {
    jbuf b = {0};
    size_t i = 0;
    int64_t done = 0;
    if (old.u.s.n == 0) { /* Python inserts new between every character */
        size_t l;
        for (; i <= s.u.s.n; i += l) {
            if (count < 0 || done < count) {
                jb_add(c, &b, new.u.s.s, new.u.s.n);
                done++;
            }
            if (i == s.u.s.n) break;
            ju_decode(s.u.s.s + i, s.u.s.n - i, &l);
            jb_add(c, &b, s.u.s.s + i, l);
        }
        return jb_val(&b);
    }
    while (i < s.u.s.n) {
        if ((count < 0 || done < count) && i + old.u.s.n <= s.u.s.n &&
            memcmp(s.u.s.s + i, old.u.s.s, old.u.s.n) == 0) {
            jb_add(c, &b, new.u.s.s, new.u.s.n);
            i += old.u.s.n;
            done++;
        } else {
            jb_char(c, &b, s.u.s.s[i++]);
        }
    }
    return jb_val(&b);
}

static jval split(jctx *c, jval s, jval *sep, int64_t maxsplit) {
    jval l = jv_list_new(c, 0);
    const char *p = s.u.s.s, *e = p + s.u.s.n;
    if (!sep || sep->kind == JV_NONE) {
        size_t len;
        for (;;) {
            while (p < e && ju_space(ju_decode(p, (size_t)(e - p), &len))) p += len;
            if (p >= e) break;
            const char *w = p;
            if (maxsplit >= 0 && (int64_t)l.u.l->n >= maxsplit) {
                const char *t = e;
                while (t > w) { /* the rest, right-stripped */
                    const char *q = t - 1;
                    while (q > w && ((unsigned char)*q & 0xC0) == 0x80) q--;
                    if (!ju_space(ju_decode(q, (size_t)(t - q), &len))) break;
                    t = q;
                }
                jl_push(c, l.u.l, jv_str(w, (size_t)(t - w)));
                break;
            }
            while (p < e && !ju_space(ju_decode(p, (size_t)(e - p), &len))) p += len;
            jl_push(c, l.u.l, jv_str(w, (size_t)(p - w)));
        }
        return l;
    }
    size_t sn = sep->u.s.n;
    if (sn == 0) jfail(c, OWL_ERR_FORMAT, "template: split: empty separator");
    const char *w = p;
    while (p + sn <= e) {
        if ((maxsplit < 0 || (int64_t)l.u.l->n < maxsplit) && memcmp(p, sep->u.s.s, sn) == 0) {
            jl_push(c, l.u.l, jv_str(w, (size_t)(p - w)));
            p += sn;
            w = p;
        } else {
            p++;
        }
    }
    jl_push(c, l.u.l, jv_str(w, (size_t)(e - w)));
    return l;
}

static bool starts(jval s, jval pre, bool end) {
    if (pre.u.s.n > s.u.s.n) return false;
    return memcmp(s.u.s.s + (end ? s.u.s.n - pre.u.s.n : 0), pre.u.s.s, pre.u.s.n) == 0;
}

/* ---- access ---------------------------------------------------------------------------- */

static const char *const str_methods[] = {"format", "strip", "lstrip", "rstrip", "split", "startswith", "endswith", "upper",
                                          "lower", "title", "capitalize", "replace", "find", "count", "join",
                                          "splitlines", "isdigit", "isalpha", "isspace", "isupper", "islower",
                                          "rsplit", "index", NULL};
static const char *const dict_methods[] = {"get", "items", "keys", "values", "copy", "pop", "popitem", "update",
                                           "setdefault", "clear", "fromkeys", NULL};
static const char *const list_methods[] = {"index", "count", "copy", "append", "extend", "insert", "pop", "remove",
                                           "reverse", "sort", "clear", NULL};

static const char *find_name(const char *const *names, const char *s, size_t n) {
    for (; *names; names++)
        if (n && (*names)[0] == s[0] && strlen(*names) == n && memcmp(*names, s, n) == 0) return *names;
    return NULL;
}

static jval method(jctx *c, jval self, const char *name) {
    jval v = {.kind = JV_METHOD};
    v.u.meth = ja_alloc(c, sizeof *v.u.meth);
    v.u.meth->self = self;
    v.u.meth->name = name;
    return v;
}

static jval no_attr(jctx *c, jval obj, const char *name, size_t n) {
    size_t cap = n + 64;
    char *msg = ja_alloc(c, cap);
    snprintf(msg, cap, "'%s object' has no attribute '%.*s'", jv_type_name(obj), (int)n, name);
    return jv_undef(msg);
}

jval jb_getattr(jctx *c, const jnode *at, jval obj, const char *name, size_t n) {
    const char *m;
    switch (obj.kind) {
    case JV_UNDEF: fail_undef(c, at, obj);
    case JV_DICT: {
        if ((m = find_name(dict_methods, name, n))) return method(c, obj, m);
        jval *v = jd_get_str(obj.u.d, name, n);
        return v ? *v : no_attr(c, obj, name, n);
    }
    case JV_NS: {
        jval *v = jd_get_str(obj.u.d, name, n);
        return v ? *v : no_attr(c, obj, name, n);
    }
    case JV_STR:
        if ((m = find_name(str_methods, name, n))) return method(c, obj, m);
        return no_attr(c, obj, name, n);
    case JV_LIST:
        if ((m = find_name(list_methods, name, n))) return method(c, obj, m);
        return no_attr(c, obj, name, n);
    default: return no_attr(c, obj, name, n);
    }
}

static bool norm_index(int64_t i, size_t len, size_t *out) {
    if (i < 0) i += (int64_t)len;
    if (i < 0 || (uint64_t)i >= len) return false;
    *out = (size_t)i;
    return true;
}

jval jb_getitem(jctx *c, const jnode *at, jval obj, jval key) {
    size_t idx;
    switch (obj.kind) {
    case JV_UNDEF: fail_undef(c, at, obj);
    case JV_DICT:
    case JV_NS: {
        jval *v = jd_get(obj.u.d, key);
        if (v) return *v;
        if (key.kind == JV_STR && obj.kind == JV_DICT) {
            const char *m = find_name(dict_methods, key.u.s.s, key.u.s.n);
            if (m) return method(c, obj, m);
        }
        break;
    }
    case JV_LIST:
        if ((key.kind == JV_INT || key.kind == JV_BOOL) &&
            norm_index(key.kind == JV_INT ? key.u.i : key.u.b, obj.u.l->n, &idx))
            return obj.u.l->v[idx];
        if (key.kind == JV_STR) return jb_getattr(c, at, obj, key.u.s.s, key.u.s.n);
        break;
    case JV_STR:
        if (key.kind == JV_INT && norm_index(key.u.i, ju_len(obj.u.s.s, obj.u.s.n), &idx)) {
            size_t o = ju_offset(obj.u.s.s, obj.u.s.n, idx), l;
            ju_decode(obj.u.s.s + o, obj.u.s.n - o, &l);
            return jv_str(obj.u.s.s + o, l);
        }
        if (key.kind == JV_STR) return jb_getattr(c, at, obj, key.u.s.s, key.u.s.n);
        break;
    default: break;
    }
    jbuf b = {0};
    jb_str(c, &b, jv_type_name(obj));
    jb_str(c, &b, " object has no element ");
    jv_write_repr(c, &b, key);
    return jv_undef(b.p);
}

jval jb_slice(jctx *c, const jnode *at, jval obj, jval *start, jval *stop, jval *step) {
    if (obj.kind == JV_UNDEF) fail_undef(c, at, obj);
    if (obj.kind != JV_LIST && obj.kind != JV_STR) jfail_at(c, at, "'%s' object is not subscriptable", jv_type_name(obj));
    int64_t len = obj.kind == JV_LIST ? (int64_t)obj.u.l->n : (int64_t)ju_len(obj.u.s.s, obj.u.s.n);
    int64_t st = step ? need_int(c, at, *step, "slice") : 1;
    if (st == 0) jfail_at(c, at, "slice step cannot be zero");
    int64_t lo, hi;
    if (st > 0) {
        lo = start ? need_int(c, at, *start, "slice") : 0;
        hi = stop ? need_int(c, at, *stop, "slice") : len;
        if (lo < 0) lo = lo + len < 0 ? 0 : lo + len;
        if (hi < 0) hi = hi + len < 0 ? 0 : hi + len;
        if (lo > len) lo = len;
        if (hi > len) hi = len;
    } else {
        lo = start ? need_int(c, at, *start, "slice") : len - 1;
        hi = stop ? need_int(c, at, *stop, "slice") : -1 - len;
        if (lo < 0) lo = lo + len < 0 ? -1 : lo + len;
        if (hi < 0) hi = hi + len < 0 ? -1 : hi + len;
        if (lo >= len) lo = len - 1;
        if (hi >= len) hi = len - 1;
    }
    size_t *offs = NULL;
    if (obj.kind == JV_STR) { /* byte offset of each code point, and the end */
        offs = ja_alloc(c, ((size_t)len + 1) * sizeof(size_t));
        size_t k = 0;
        for (size_t i = 0; i < obj.u.s.n; i++)
            if (((unsigned char)obj.u.s.s[i] & 0xC0) != 0x80) offs[k++] = i;
        offs[k] = obj.u.s.n;
    }
    jval l = jv_list_new(c, 0);
    jbuf b = {0};
    for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) {
        if (obj.kind == JV_LIST)
            jl_push(c, l.u.l, obj.u.l->v[i]);
        else
            jb_add(c, &b, obj.u.s.s + offs[i], offs[i + 1] - offs[i]);
    }
    return obj.kind == JV_LIST ? l : jb_val(&b);
}

jval jb_iterable(jctx *c, const jnode *at, jval v) {
    switch (v.kind) {
    case JV_LIST: return v;
    case JV_UNDEF: return jv_list_new(c, 0);
    case JV_DICT: {
        jval l = jv_list_new(c, v.u.d->n);
        for (size_t i = 0; i < v.u.d->n; i++) jl_push(c, l.u.l, v.u.d->k[i]);
        return l;
    }
    case JV_STR: {
        jval l = jv_list_new(c, 0);
        size_t len;
        for (size_t i = 0; i < v.u.s.n; i += len) {
            ju_decode(v.u.s.s + i, v.u.s.n - i, &len);
            jl_push(c, l.u.l, jv_str(v.u.s.s + i, len));
        }
        return l;
    }
    default: jfail_at(c, at, "'%s' object is not iterable", jv_type_name(v));
    }
}

/* ---- methods --------------------------------------------------------------------------- */

static jval items_of(jctx *c, jdict *d) {
    jval l = jv_list_new(c, d->n);
    for (size_t i = 0; i < d->n; i++) {
        jval t = jv_list_new(c, 2);
        t.u.l->tuple = true;
        jl_push(c, t.u.l, d->k[i]);
        jl_push(c, t.u.l, d->v[i]);
        jl_push(c, l.u.l, t);
    }
    return l;
}

static jval join(jctx *c, jval sep, jval items) {
    jbuf b = {0};
    for (size_t i = 0; i < items.u.l->n; i++) {
        if (i) jb_add(c, &b, sep.u.s.s, sep.u.s.n);
        jv_write_str(c, &b, items.u.l->v[i]);
    }
    if (!b.p) return jv_str("", 0);
    return jb_val(&b);
}

jval jb_call_method(jctx *c, const jnode *at, jmethod *m, jval *args, const char **kw, size_t n) {
    jval self = m->self;
    const char *name = m->name;
    jval *a0 = arg_at(args, kw, n, 0, NULL), *a1 = arg_at(args, kw, n, 1, NULL), *a2 = arg_at(args, kw, n, 2, NULL);
    if (self.kind == JV_STR) {
        if (NAMED(name, "strip") || NAMED(name, "lstrip") || NAMED(name, "rstrip")) {
            jval *chars = a0 && a0->kind != JV_NONE ? a0 : NULL;
            if (chars) need_str(c, at, *chars, name);
            return strip(self, chars, name[0] != 'r', name[0] != 'l');
        }
        if (NAMED(name, "split") || NAMED(name, "rsplit")) {
            jval *sep = arg_at(args, kw, n, 0, "sep"), *mx = arg_at(args, kw, n, 1, "maxsplit");
            if (sep && sep->kind != JV_NONE) need_str(c, at, *sep, name);
            if (NAMED(name, "rsplit") && mx && need_int(c, at, *mx, "rsplit") >= 0)
                jfail_at(c, at, "rsplit with maxsplit is not supported");
            return split(c, self, sep, mx ? need_int(c, at, *mx, "split") : -1);
        }
        if (NAMED(name, "startswith") || NAMED(name, "endswith")) {
            if (!a0) jfail_at(c, at, "%s expects an argument", name);
            bool end = name[0] == 'e';
            if (a0->kind == JV_LIST) {
                for (size_t i = 0; i < a0->u.l->n; i++)
                    if (starts(self, need_str(c, at, a0->u.l->v[i], name), end)) return jv_bool(true);
                return jv_bool(false);
            }
            return jv_bool(starts(self, need_str(c, at, *a0, name), end));
        }
        if (NAMED(name, "format")) { /* str.format: {} {0} {name}, {{ }}; no format specs */
            jbuf b = {0};
            size_t auto_i = 0;
            const char *p = self.u.s.s, *e = p + self.u.s.n;
            while (p < e) {
                if ((*p == '{' || *p == '}') && p + 1 < e && p[1] == *p) {
                    jb_char(c, &b, *p);
                    p += 2;
                    continue;
                }
                if (*p == '}') jfail_at(c, at, "Single '}' encountered in format string");
                if (*p != '{') {
                    jb_char(c, &b, *p++);
                    continue;
                }
                const char *q = memchr(p, '}', (size_t)(e - p));
                if (!q) jfail_at(c, at, "Single '{' encountered in format string");
                const char *f = p + 1;
                size_t fl = (size_t)(q - f);
                if (memchr(f, ':', fl) || memchr(f, '!', fl) || memchr(f, '.', fl) || memchr(f, '[', fl))
                    jfail_at(c, at, "str.format: conversions, format specs and field access are not supported");
                jval *v;
                if (fl == 0) {
                    v = arg_at(args, kw, n, auto_i++, NULL);
                } else if (f[0] >= '0' && f[0] <= '9') {
                    v = arg_at(args, kw, n, (size_t)strtoul(f, NULL, 10), NULL);
                } else {
                    v = NULL;
                    for (size_t i = 0; i < n && !v; i++)
                        if (kw && kw[i] && strlen(kw[i]) == fl && memcmp(kw[i], f, fl) == 0) v = &args[i];
                }
                if (!v) jfail_at(c, at, "str.format: no argument for {%.*s}", (int)(fl > 40 ? 40 : fl), f);
                jv_write_str(c, &b, *v);
                p = q + 1;
            }
            return b.p ? jb_val(&b) : jv_str("", 0);
        }
        if (NAMED(name, "upper")) return map_case(c, self, 1);
        if (NAMED(name, "lower")) return map_case(c, self, 0);
        if (NAMED(name, "capitalize")) return map_case(c, self, 2);
        if (NAMED(name, "title")) return map_case(c, self, 3);
        if (NAMED(name, "replace")) {
            if (!a0 || !a1) jfail_at(c, at, "replace expects 2 arguments");
            return replace(c, self, need_str(c, at, *a0, "replace"), need_str(c, at, *a1, "replace"),
                           a2 ? need_int(c, at, *a2, "replace") : -1);
        }
        if (NAMED(name, "find") || NAMED(name, "count") || NAMED(name, "index")) {
            if (!a0) jfail_at(c, at, "%s expects an argument", name);
            jval sub = need_str(c, at, *a0, name);
            int64_t cnt = 0;
            for (size_t i = 0; i + sub.u.s.n <= self.u.s.n;) {
                if (memcmp(self.u.s.s + i, sub.u.s.s, sub.u.s.n) == 0) {
                    if (name[0] != 'c') return jv_int((int64_t)ju_len(self.u.s.s, i));
                    cnt++;
                    i += sub.u.s.n ? sub.u.s.n : 1;
                } else {
                    i++;
                }
            }
            if (NAMED(name, "index")) jfail_at(c, at, "substring not found");
            return jv_int(name[0] == 'c' ? cnt : -1);
        }
        if (NAMED(name, "join")) {
            if (!a0) jfail_at(c, at, "join expects an argument");
            return join(c, self, jb_iterable(c, at, *a0));
        }
        if (NAMED(name, "splitlines")) {
            jval l = jv_list_new(c, 0);
            const char *p = self.u.s.s, *e = p + self.u.s.n, *w = p;
            while (p < e) {
                if (*p == '\n' || *p == '\r') {
                    jl_push(c, l.u.l, jv_str(w, (size_t)(p - w)));
                    if (*p == '\r' && p + 1 < e && p[1] == '\n') p++;
                    w = ++p;
                } else {
                    p++;
                }
            }
            if (w < e) jl_push(c, l.u.l, jv_str(w, (size_t)(e - w)));
            return l;
        }
        if (name[0] == 'i' && name[1] == 's') { /* isdigit, isalpha, isspace, isupper, islower (ASCII) */
            bool ok = self.u.s.n > 0, cased = false;
            for (size_t i = 0; i < self.u.s.n; i++) {
                char ch = self.u.s.s[i];
                if (NAMED(name, "isdigit")) ok &= ch >= '0' && ch <= '9';
                else if (NAMED(name, "isalpha")) ok &= alpha(ch);
                else if (NAMED(name, "isspace")) ok &= ch == ' ' || (ch >= '\t' && ch <= '\r');
                else if (NAMED(name, "isupper")) { ok &= !(ch >= 'a' && ch <= 'z'); cased |= ch >= 'A' && ch <= 'Z'; }
                else { ok &= !(ch >= 'A' && ch <= 'Z'); cased |= ch >= 'a' && ch <= 'z'; }
            }
            if (NAMED(name, "isupper") || NAMED(name, "islower")) ok &= cased;
            return jv_bool(ok);
        }
    } else if (self.kind == JV_DICT && m->self.u.d && !NAMED(name, "cycle")) {
        jdict *d = self.u.d;
        if (NAMED(name, "get")) {
            if (!a0) jfail_at(c, at, "get expects an argument");
            jval *v = jd_get(d, *a0);
            return v ? *v : a1 ? *a1 : jv_none();
        }
        if (NAMED(name, "items")) return items_of(c, d);
        if (NAMED(name, "keys") || NAMED(name, "values")) {
            jval l = jv_list_new(c, d->n);
            for (size_t i = 0; i < d->n; i++) jl_push(c, l.u.l, name[0] == 'k' ? d->k[i] : d->v[i]);
            return l;
        }
        if (NAMED(name, "copy")) {
            jval o = jv_dict_new(c, JV_DICT);
            for (size_t i = 0; i < d->n; i++) jd_set(c, o.u.d, d->k[i], d->v[i]);
            return o;
        }
    } else if (self.kind == JV_DICT && NAMED(name, "cycle")) { /* loop.cycle(a, b, ...) */
        if (n == 0) jfail_at(c, at, "loop.cycle needs at least one item");
        jval *i0 = jd_get_str(self.u.d, "index0", 6);
        return args[(size_t)i0->u.i % n];
    } else if (self.kind == JV_LIST) {
        if (NAMED(name, "index") || NAMED(name, "count")) {
            if (!a0) jfail_at(c, at, "%s expects an argument", name);
            int64_t cnt = 0;
            for (size_t i = 0; i < self.u.l->n; i++)
                if (jv_equal(self.u.l->v[i], *a0)) {
                    if (name[0] == 'i') return jv_int((int64_t)i);
                    cnt++;
                }
            if (name[0] == 'i') jfail_at(c, at, "value is not in list");
            return jv_int(cnt);
        }
        if (NAMED(name, "copy")) {
            jval o = jv_list_new(c, self.u.l->n);
            for (size_t i = 0; i < self.u.l->n; i++) jl_push(c, o.u.l, self.u.l->v[i]);
            return o;
        }
    }
    jfail_at(c, at, "access to attribute '%s' of '%s' object is unsafe", name, jv_type_name(self));
}

/* ---- arithmetic ------------------------------------------------------------------------ */

static bool is_num(jval v) { return v.kind == JV_INT || v.kind == JV_FLOAT || v.kind == JV_BOOL; }
static double numf(jval v) { return v.kind == JV_FLOAT ? v.u.f : v.kind == JV_INT ? (double)v.u.i : (double)v.u.b; }
static int64_t numi(jval v) { return v.kind == JV_INT ? v.u.i : v.kind == JV_BOOL ? (int64_t)v.u.b : 0; }

static jval repeat(jctx *c, const jnode *at, jval seq, int64_t times) {
    if (times < 0) times = 0;
    size_t unit = seq.kind == JV_STR ? seq.u.s.n : seq.u.l->n;
    if (unit && (uint64_t)times > c->max_output / unit)
        jfail(c, OWL_ERR_FORMAT, "template line %d: template exceeded %zu bytes in a repetition", at->line,
              c->max_output);
    if (seq.kind == JV_STR) {
        jbuf b = {0};
        for (int64_t i = 0; i < times; i++) jb_add(c, &b, seq.u.s.s, seq.u.s.n);
        return b.p ? jb_val(&b) : jv_str("", 0);
    }
    jval l = jv_list_new(c, 0);
    l.u.l->tuple = seq.u.l->tuple;
    for (int64_t i = 0; i < times; i++)
        for (size_t k = 0; k < unit; k++) jl_push(c, l.u.l, seq.u.l->v[k]);
    return l;
}

static const char *const op_names[] = {"+", "-", "*", "/", "//", "%", "**"};

/* Python's printf-style 'fmt % args': %s %r %d %i %f %e %g %x %o %c %% with
 * flags, width and precision (no %(name)s) */
static jval percent_format(jctx *c, const jnode *at, jval fmt, jval *args, size_t n) {
    jbuf b = {0};
    size_t k = 0;
    const char *p = fmt.u.s.s, *e = p + fmt.u.s.n;
    while (p < e) {
        const char *q = memchr(p, '%', (size_t)(e - p));
        if (!q) q = e;
        jb_add(c, &b, p, (size_t)(q - p));
        if (q == e) break;
        p = q + 1;
        if (p < e && *p == '%') {
            jb_char(c, &b, '%');
            p++;
            continue;
        }
        char spec[32] = "%";
        size_t sl = 1;
        while (p < e && strchr("-+ #0123456789.", *p) && sl < 20) spec[sl++] = *p++;
        if (p >= e) jfail_at(c, at, "incomplete format");
        char conv = *p++;
        if (k >= n) jfail_at(c, at, "not enough arguments for format string");
        jval a = args[k++];
        char tmp[512];
        int len;
        if (conv == 's' || conv == 'r') {
            jbuf t = {0};
            if (conv == 's') jv_write_str(c, &t, a);
            else jv_write_repr(c, &t, a);
            spec[sl++] = '.';
            spec[sl++] = '*';
            spec[sl++] = 's';
            spec[sl] = 0;
            if (sl == 4) { /* plain %s: no width to apply */
                jb_add(c, &b, t.p ? t.p : "", t.n);
                continue;
            }
            len = snprintf(tmp, sizeof tmp, spec, (int)t.n, t.p ? t.p : "");
        } else if (strchr("dixXoc", conv)) {
            if (!(a.kind == JV_INT || a.kind == JV_BOOL || a.kind == JV_FLOAT))
                jfail_at(c, at, "%%%c format: a number is required, not %s", conv, jv_type_name(a));
            long long v = a.kind == JV_FLOAT ? (long long)a.u.f : (long long)numi(a);
            spec[sl++] = 'l';
            spec[sl++] = 'l';
            spec[sl++] = conv == 'i' ? 'd' : conv;
            spec[sl] = 0;
            if (conv == 'c') {
                spec[sl - 3] = 'c';
                spec[sl - 2] = 0;
                len = snprintf(tmp, sizeof tmp, spec, (int)v);
            } else {
                len = snprintf(tmp, sizeof tmp, spec, v);
            }
        } else if (strchr("feEgG", conv)) {
            if (!is_num(a)) jfail_at(c, at, "%%%c format: a number is required, not %s", conv, jv_type_name(a));
            spec[sl++] = conv;
            spec[sl] = 0;
            len = snprintf(tmp, sizeof tmp, spec, numf(a));
        } else {
            jfail_at(c, at, "unsupported format character '%c'", conv);
        }
        if (len < 0 || (size_t)len >= sizeof tmp) jfail_at(c, at, "formatted value too long");
        jb_add(c, &b, tmp, (size_t)len);
    }
    /* Python lets a mapping-like argument (a list or dict) go unused */
    if (k < n && !(n == 1 && k == 0 &&
                   ((args[0].kind == JV_LIST && !args[0].u.l->tuple) || args[0].kind == JV_DICT ||
                    args[0].kind == JV_UNDEF)))
        jfail_at(c, at, "not all arguments converted during string formatting");
    return b.p ? jb_val(&b) : jv_str("", 0);
}

jval jb_binop(jctx *c, const jnode *at, int op, jval a, jval b) {
    if (op == OP_MOD && a.kind == JV_STR) {
        if (b.kind == JV_LIST && b.u.l->tuple) return percent_format(c, at, a, b.u.l->v, b.u.l->n);
        return percent_format(c, at, a, &b, 1);
    }
    if (a.kind == JV_UNDEF) fail_undef(c, at, a);
    if (b.kind == JV_UNDEF) fail_undef(c, at, b);
    if (is_num(a) && is_num(b)) {
        bool ints = a.kind != JV_FLOAT && b.kind != JV_FLOAT;
        int64_t x = numi(a), y = numi(b), r;
        double fx = numf(a), fy = numf(b);
        switch (op) {
        case OP_ADD:
            if (!ints) return jv_float(fx + fy);
            if (__builtin_add_overflow(x, y, &r)) jfail_at(c, at, "integer overflow");
            return jv_int(r);
        case OP_SUB:
            if (!ints) return jv_float(fx - fy);
            if (__builtin_sub_overflow(x, y, &r)) jfail_at(c, at, "integer overflow");
            return jv_int(r);
        case OP_MUL:
            if (!ints) return jv_float(fx * fy);
            if (__builtin_mul_overflow(x, y, &r)) jfail_at(c, at, "integer overflow");
            return jv_int(r);
        case OP_DIV:
            if (fy == 0) jfail_at(c, at, "division by zero");
            return jv_float(fx / fy);
        case OP_FLOORDIV:
        case OP_MOD:
            if (fy == 0) jfail_at(c, at, "integer division or modulo by zero");
            if (ints) {
                if (x == INT64_MIN && y == -1) jfail_at(c, at, "integer overflow");
                int64_t q = x / y, m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) {
                    q--;
                    m += y;
                }
                return jv_int(op == OP_MOD ? m : q);
            } else { /* CPython's float_divmod */
                double m = fmod(fx, fy), div = (fx - m) / fy, q;
                if (m != 0) {
                    if ((fy < 0) != (m < 0)) {
                        m += fy;
                        div -= 1.0;
                    }
                } else {
                    m = copysign(0.0, fy);
                }
                if (div != 0) {
                    q = floor(div);
                    if (div - q > 0.5) q += 1.0;
                } else {
                    q = copysign(0.0, fx / fy);
                }
                return jv_float(op == OP_MOD ? m : q);
            }
        case OP_POW:
            if (ints && y >= 0) {
                int64_t acc = 1;
                for (int64_t i = 0; i < y; i++)
                    if (__builtin_mul_overflow(acc, x, &acc)) jfail_at(c, at, "integer overflow");
                return jv_int(acc);
            }
            return jv_float(pow(fx, fy));
        default: break;
        }
    }
    if (op == OP_ADD && a.kind == JV_STR && b.kind == JV_STR) {
        if (a.safe != b.safe) { /* Markup + str escapes the str */
            jval e = jb_filter(c, at, "escape", a.safe ? b : a, NULL, NULL, 0);
            if (a.safe) b = e;
            else a = e;
        }
        jbuf buf = {0};
        jb_add(c, &buf, a.u.s.s, a.u.s.n);
        jb_add(c, &buf, b.u.s.s, b.u.s.n);
        jval r = buf.p ? jb_val(&buf) : jv_str("", 0);
        r.safe = a.safe;
        return r;
    }
    if (op == OP_ADD && a.kind == JV_LIST && b.kind == JV_LIST) {
        jval l = jv_list_new(c, a.u.l->n + b.u.l->n);
        for (size_t i = 0; i < a.u.l->n; i++) jl_push(c, l.u.l, a.u.l->v[i]);
        for (size_t i = 0; i < b.u.l->n; i++) jl_push(c, l.u.l, b.u.l->v[i]);
        return l;
    }
    if (op == OP_MUL && (a.kind == JV_STR || a.kind == JV_LIST) && (b.kind == JV_INT || b.kind == JV_BOOL))
        return repeat(c, at, a, numi(b));
    if (op == OP_MUL && (b.kind == JV_STR || b.kind == JV_LIST) && (a.kind == JV_INT || a.kind == JV_BOOL))
        return repeat(c, at, b, numi(a));
    jfail_at(c, at, "unsupported operand type(s) for %s: '%s' and '%s'", op_names[op], jv_type_name(a),
             jv_type_name(b));
}

/* ---- tests ----------------------------------------------------------------------------- */

bool jb_test(jctx *c, const jnode *at, const char *name, jval in, jval *args, size_t n) {
    jval *a0 = n ? &args[0] : NULL;
    if (NAMED(name, "defined")) return in.kind != JV_UNDEF;
    if (NAMED(name, "undefined")) return in.kind == JV_UNDEF;
    if (NAMED(name, "none")) return in.kind == JV_NONE;
    if (NAMED(name, "boolean")) return in.kind == JV_BOOL;
    if (NAMED(name, "true")) return in.kind == JV_BOOL && in.u.b;
    if (NAMED(name, "false")) return in.kind == JV_BOOL && !in.u.b;
    if (NAMED(name, "integer")) return in.kind == JV_INT;
    if (NAMED(name, "float")) return in.kind == JV_FLOAT;
    if (NAMED(name, "number")) return is_num(in);
    if (NAMED(name, "string")) return in.kind == JV_STR;
    if (NAMED(name, "mapping")) return in.kind == JV_DICT;
    if (NAMED(name, "iterable"))
        return in.kind == JV_LIST || in.kind == JV_DICT || in.kind == JV_STR || in.kind == JV_UNDEF;
    if (NAMED(name, "sequence"))
        return in.kind == JV_LIST || in.kind == JV_DICT || in.kind == JV_STR || in.kind == JV_UNDEF;
    if (NAMED(name, "callable")) return in.kind == JV_FUNC || in.kind == JV_MACRO || in.kind == JV_METHOD;
    if (NAMED(name, "escaped")) return false;
    if (NAMED(name, "lower") || NAMED(name, "upper")) {
        jval s = str_of(c, in);
        bool cased = false;
        for (size_t i = 0; i < s.u.s.n; i++) {
            char ch = s.u.s.s[i];
            if (name[0] == 'l' ? (ch >= 'A' && ch <= 'Z') : (ch >= 'a' && ch <= 'z')) return false;
            cased |= (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
        }
        return cased;
    }
    if (NAMED(name, "odd") || NAMED(name, "even")) {
        if (in.kind == JV_FLOAT) return jb_binop(c, at, OP_MOD, in, jv_int(2)).u.f == (name[0] == 'o' ? 1.0 : 0.0);
        int64_t v = need_int(c, at, in, name);
        return (v % 2 != 0) == (name[0] == 'o');
    }
    if (!a0) jfail_at(c, at, "test '%s' is unknown or needs an argument", name);
    if (NAMED(name, "divisibleby")) {
        if (in.kind == JV_FLOAT || a0->kind == JV_FLOAT) {
            jval m = jb_binop(c, at, OP_MOD, in, *a0);
            return m.kind == JV_FLOAT ? m.u.f == 0 : m.u.i == 0;
        }
        int64_t d = need_int(c, at, *a0, name);
        if (d == 0) jfail_at(c, at, "integer division or modulo by zero");
        return need_int(c, at, in, name) % d == 0;
    }
    if (NAMED(name, "in")) {
        if (a0->kind == JV_STR) {
            if (in.kind != JV_STR) jfail_at(c, at, "'in <string>' requires string as left operand");
            for (size_t i = 0; i + in.u.s.n <= a0->u.s.n; i++)
                if (memcmp(a0->u.s.s + i, in.u.s.s, in.u.s.n) == 0) return true;
            return false;
        }
        if (a0->kind == JV_LIST) {
            for (size_t i = 0; i < a0->u.l->n; i++)
                if (jv_equal(a0->u.l->v[i], in)) return true;
            return false;
        }
        if (a0->kind == JV_DICT || a0->kind == JV_NS) return jd_get(a0->u.d, in) != NULL;
        jfail_at(c, at, "argument of type '%s' is not iterable", jv_type_name(*a0));
    }
    if (NAMED(name, "sameas")) {
        if (in.kind != a0->kind) return false;
        if (in.kind == JV_NONE || in.kind == JV_UNDEF) return true;
        if (in.kind == JV_BOOL) return in.u.b == a0->u.b;
        return jv_equal(in, *a0) && (in.kind == JV_INT || in.kind == JV_LIST ? in.u.l == a0->u.l : true);
    }
    if (NAMED(name, "eq") || NAMED(name, "equalto") || NAMED(name, "==")) return jv_equal(in, *a0);
    if (NAMED(name, "ne") || NAMED(name, "!=")) return !jv_equal(in, *a0);
    int cmp = 0;
    bool is_cmp = NAMED(name, "lt") || NAMED(name, "lessthan") || NAMED(name, "<") || NAMED(name, "le") ||
                  NAMED(name, "<=") || NAMED(name, "gt") || NAMED(name, "greaterthan") || NAMED(name, ">") ||
                  NAMED(name, "ge") || NAMED(name, ">=");
    if (is_cmp) {
        cmp = jv_compare(c, in, *a0);
        if (name[0] == 'l' || name[0] == '<') return name[1] == 'e' || name[1] == '=' ? cmp <= 0 : cmp < 0;
        return name[1] == 'e' || name[1] == '=' ? cmp >= 0 : cmp > 0;
    }
    jfail_at(c, at, "no test named '%s'", name);
}

/* ---- filters --------------------------------------------------------------------------- */

/* value.attr.sub for the attribute= arguments of filters (dots and integer parts) */
static jval attr_path(jctx *c, const jnode *at, jval v, jval path) {
    if (path.kind == JV_INT) return jb_getitem(c, at, v, path);
    jval p = need_str(c, at, path, "attribute");
    const char *s = p.u.s.s, *e = s + p.u.s.n;
    while (s <= e) {
        const char *d = memchr(s, '.', (size_t)(e - s));
        if (!d) d = e;
        bool digits = d > s;
        for (const char *q = s; q < d; q++) digits &= *q >= '0' && *q <= '9';
        if (v.kind == JV_UNDEF) return v;
        if (digits)
            v = jb_getitem(c, at, v, jv_int(strtoll(s, NULL, 10)));
        else
            v = jb_getitem(c, at, v, jv_str(s, (size_t)(d - s)));
        s = d + 1;
    }
    return v;
}

static jval sorted(jctx *c, const jnode *at, jval l, jval *attr, bool rev, bool case_sensitive) {
    size_t n = l.u.l->n;
    jval out = jv_list_new(c, n), *keys = ja_alloc(c, (n + 1) * sizeof(jval));
    for (size_t i = 0; i < n; i++) {
        jl_push(c, out.u.l, l.u.l->v[i]);
        jval k = attr ? attr_path(c, at, l.u.l->v[i], *attr) : l.u.l->v[i];
        if (!case_sensitive && k.kind == JV_STR) k = map_case(c, k, 0);
        keys[i] = k;
    }
    for (size_t i = 1; i < n; i++) /* stable insertion sort */
        for (size_t j = i; j > 0; j--) {
            int r = jv_compare(c, keys[j - 1], keys[j]);
            if (rev ? r >= 0 : r <= 0) break;
            jval t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
            t = out.u.l->v[j];
            out.u.l->v[j] = out.u.l->v[j - 1];
            out.u.l->v[j - 1] = t;
        }
    return out;
}

static bool kw_true(jval *v) { return v && jv_truthy(*v); }

jval jb_filter(jctx *c, const jnode *at, const char *name, jval in, jval *args, const char **kw, size_t n) {
    jval *a0 = arg_at(args, kw, n, 0, NULL);
    if (NAMED(name, "default") || NAMED(name, "d")) {
        jval *def = arg_at(args, kw, n, 0, "default_value"), *boolean = arg_at(args, kw, n, 1, "boolean");
        bool use = in.kind == JV_UNDEF || (kw_true(boolean) && !jv_truthy(in));
        return use ? (def ? *def : jv_str("", 0)) : in;
    }
    if (NAMED(name, "safe") || NAMED(name, "escape") || NAMED(name, "e") || NAMED(name, "forceescape")) {
        if (in.kind == JV_STR && in.safe && name[0] != 'f') return in;
        if (name[0] == 's') {
            jval s = str_of(c, in);
            s.safe = true;
            return s;
        }
        jval s = str_of(c, in);
        jbuf b = {0};
        for (size_t i = 0; i < s.u.s.n; i++) {
            char ch = s.u.s.s[i];
            if (ch == '&') jb_str(c, &b, "&amp;");
            else if (ch == '<') jb_str(c, &b, "&lt;");
            else if (ch == '>') jb_str(c, &b, "&gt;");
            else if (ch == '"') jb_str(c, &b, "&#34;");
            else if (ch == '\'') jb_str(c, &b, "&#39;");
            else jb_char(c, &b, ch);
        }
        jval r = b.p ? jb_val(&b) : jv_str("", 0);
        r.safe = true;
        return r;
    }
    if (NAMED(name, "tojson")) {
        jval *ind = arg_at(args, kw, n, 1, "indent"), *seps = arg_at(args, kw, n, 2, "separators"),
             *sk = arg_at(args, kw, n, 3, "sort_keys"), *ea = arg_at(args, kw, n, 0, "ensure_ascii");
        const char *indent = NULL, *item_sep, *key_sep = ": ";
        if (ind && ind->kind != JV_NONE) {
            if (ind->kind == JV_STR) {
                indent = ja_strndup(c, ind->u.s.s, ind->u.s.n);
            } else {
                int64_t w = need_int(c, at, *ind, "tojson indent");
                if (w < 0) w = 0;
                if (w > 64) jfail_at(c, at, "tojson: indent too large");
                char *sp = ja_alloc(c, (size_t)w + 1);
                memset(sp, ' ', (size_t)w);
                indent = sp;
            }
        }
        item_sep = indent ? "," : ", ";
        if (seps && seps->kind == JV_LIST && seps->u.l->n == 2) {
            jval i0 = need_str(c, at, seps->u.l->v[0], "separators"), i1 = need_str(c, at, seps->u.l->v[1], "separators");
            item_sep = ja_strndup(c, i0.u.s.s, i0.u.s.n);
            key_sep = ja_strndup(c, i1.u.s.s, i1.u.s.n);
        }
        jbuf b = {0};
        c->json_ascii = kw_true(ea);
        jv_write_json(c, &b, in, indent, item_sep, key_sep, kw_true(sk), 0);
        c->json_ascii = false;
        return jb_val(&b);
    }
    if (in.kind == JV_UNDEF && !(NAMED(name, "length") || NAMED(name, "count") || NAMED(name, "list") ||
                                 NAMED(name, "items") || NAMED(name, "string") || NAMED(name, "join") ||
                                 NAMED(name, "trim") || NAMED(name, "lower") || NAMED(name, "upper") ||
                                 NAMED(name, "first") || NAMED(name, "last") || NAMED(name, "unique") ||
                                 NAMED(name, "select") ||
                                 NAMED(name, "reject") || NAMED(name, "selectattr") || NAMED(name, "rejectattr") ||
                                 NAMED(name, "map") || NAMED(name, "indent") || NAMED(name, "capitalize") ||
                                 NAMED(name, "title") || NAMED(name, "replace") || NAMED(name, "wordcount") ||
                                 NAMED(name, "reverse") ||
                                 NAMED(name, "sort") || NAMED(name, "sum") || NAMED(name, "min") || NAMED(name, "max") ||
                                 NAMED(name, "batch")))
        fail_undef(c, at, in);
    if (NAMED(name, "length") || NAMED(name, "count")) {
        switch (in.kind) {
        case JV_UNDEF: return jv_int(0);
        case JV_STR: return jv_int((int64_t)ju_len(in.u.s.s, in.u.s.n));
        case JV_LIST:
            if (in.u.l->gen) jfail_at(c, at, "object of type 'generator' has no len()");
            return jv_int((int64_t)in.u.l->n);
        case JV_DICT: return jv_int((int64_t)in.u.d->n);
        default: jfail_at(c, at, "object of type '%s' has no len()", jv_type_name(in));
        }
    }
    if (NAMED(name, "string")) return str_of(c, in);
    if (NAMED(name, "trim")) {
        jval *chars = arg_at(args, kw, n, 0, "chars");
        if (chars && chars->kind == JV_NONE) chars = NULL;
        if (chars) need_str(c, at, *chars, "trim");
        return strip(str_of(c, in), chars, true, true);
    }
    if (NAMED(name, "upper")) return map_case(c, str_of(c, in), 1);
    if (NAMED(name, "lower")) return map_case(c, str_of(c, in), 0);
    if (NAMED(name, "capitalize")) return map_case(c, str_of(c, in), 2);
    if (NAMED(name, "title")) return map_case(c, str_of(c, in), 4);
    if (NAMED(name, "replace")) {
        jval *old = arg_at(args, kw, n, 0, "old"), *new = arg_at(args, kw, n, 1, "new"),
             *cnt = arg_at(args, kw, n, 2, "count");
        if (!old || !new) jfail_at(c, at, "replace expects 2 arguments");
        return replace(c, str_of(c, in), str_of(c, *old), str_of(c, *new),
                       cnt && cnt->kind != JV_NONE ? need_int(c, at, *cnt, "replace") : -1);
    }
    if (NAMED(name, "format")) {
        if (in.kind != JV_STR) in = str_of(c, in);
        return percent_format(c, at, in, args, n);
    }
    if (NAMED(name, "wordcount")) { /* len(re.findall(r"\w+", s)) */
        jval t = str_of(c, in);
        int64_t words = 0;
        bool inword = false;
        size_t len;
        for (size_t i = 0; i < t.u.s.n; i += len) {
            uint32_t cp = ju_decode(t.u.s.s + i, t.u.s.n - i, &len);
            utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)cp);
            bool w = cp == '_' || (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
                     (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
            words += w && !inword;
            inword = w;
        }
        return jv_int(words);
    }
    if (NAMED(name, "indent")) {
        jval *wv = arg_at(args, kw, n, 0, "width"), *fv = arg_at(args, kw, n, 1, "first"),
             *bv = arg_at(args, kw, n, 2, "blank");
        jval ind;
        if (wv && wv->kind == JV_STR) {
            ind = *wv;
        } else {
            int64_t w = wv ? need_int(c, at, *wv, "indent") : 4;
            if (w < 0) w = 0;
            if (w > 1024) jfail_at(c, at, "indent: width too large");
            char *sp = ja_alloc(c, (size_t)w + 1);
            memset(sp, ' ', (size_t)w);
            ind = jv_str(sp, (size_t)w);
        }
        if (in.kind != JV_STR) jfail_at(c, at, "indent: unsupported operand type(s) for +=: '%s' and 'str'", jv_type_name(in));
        jval s = in;
        jbuf t = {0};
        jb_add(c, &t, s.u.s.s, s.u.s.n);
        jb_char(c, &t, '\n');
        jval lines = jb_call_method(c, at, &(jmethod){jb_val(&t), "splitlines"}, NULL, NULL, 0);
        jbuf b = {0};
        if (kw_true(fv)) jb_add(c, &b, ind.u.s.s, ind.u.s.n);
        for (size_t i = 0; i < lines.u.l->n; i++) {
            jval ln = lines.u.l->v[i];
            if (i) {
                jb_char(c, &b, '\n');
                if (ln.u.s.n || kw_true(bv)) jb_add(c, &b, ind.u.s.s, ind.u.s.n);
            }
            jb_add(c, &b, ln.u.s.s, ln.u.s.n);
        }
        return b.p ? jb_val(&b) : jv_str("", 0);
    }
    if (NAMED(name, "int") || NAMED(name, "float")) {
        bool fl = name[0] == 'f';
        jval *def = arg_at(args, kw, n, 0, "default");
        jval d = def ? *def : fl ? jv_float(0) : jv_int(0);
        if (in.kind == JV_INT || in.kind == JV_BOOL) return fl ? jv_float(numf(in)) : jv_int(numi(in));
        if (in.kind == JV_FLOAT) {
            if (fl) return in;
            if (!isfinite(in.u.f) || fabs(in.u.f) > 9.2e18) return d;
            return jv_int((int64_t)in.u.f);
        }
        if (in.kind == JV_STR) {
            char *s = ja_strndup(c, in.u.s.s, in.u.s.n), *e;
            while (*s == ' ' || *s == '\t' || *s == '\n') s++;
            if (fl) {
                double v = strtod(s, &e);
                if (e == s) return d;
                while (*e == ' ' || *e == '\t' || *e == '\n') e++;
                return *e ? d : jv_float(v);
            }
            long long v = strtoll(s, &e, 10);
            if (e == s) return d;
            if (*e == '.') { /* Jinja falls back to int(float(s)) */
                double f = strtod(s, &e);
                while (*e == ' ' || *e == '\t' || *e == '\n') e++;
                return *e ? d : jv_int((int64_t)f);
            }
            while (*e == ' ' || *e == '\t' || *e == '\n') e++;
            return *e ? d : jv_int(v);
        }
        return d;
    }
    if (NAMED(name, "abs")) {
        if (in.kind == JV_INT) return jv_int(in.u.i < 0 ? -in.u.i : in.u.i);
        if (in.kind == JV_FLOAT) return jv_float(fabs(in.u.f));
        if (in.kind == JV_BOOL) return jv_int(in.u.b);
        jfail_at(c, at, "bad operand type for abs(): '%s'", jv_type_name(in));
    }
    if (NAMED(name, "round")) {
        jval *pv = arg_at(args, kw, n, 0, "precision"), *mv = arg_at(args, kw, n, 1, "method");
        int64_t prec = pv ? need_int(c, at, *pv, "round") : 0;
        if (!is_num(in)) jfail_at(c, at, "round expects a number");
        bool common = !(mv && mv->kind == JV_STR && (mv->u.s.n == 4 || mv->u.s.n == 5));
        if (common && in.kind != JV_FLOAT && prec >= 0) return jv_int(numi(in)); /* Python's round(int) is an int */
        double x = numf(in), sc = pow(10.0, (double)prec), y = x * sc, r;
        if (mv && mv->kind == JV_STR && mv->u.s.n == 4 && memcmp(mv->u.s.s, "ceil", 4) == 0) r = ceil(y);
        else if (mv && mv->kind == JV_STR && mv->u.s.n == 5 && memcmp(mv->u.s.s, "floor", 5) == 0) r = floor(y);
        else r = nearbyint(y); /* Python's round: half to even */
        return jv_float(r / sc);
    }
    if (NAMED(name, "items")) {
        if (in.kind == JV_UNDEF) return jv_list_new(c, 0);
        if (in.kind != JV_DICT && in.kind != JV_NS) jfail_at(c, at, "items: can only get item pairs from a mapping");
        return items_of(c, in.u.d);
    }
    if (NAMED(name, "dictsort")) {
        if (in.kind != JV_DICT) jfail_at(c, at, "dictsort: a mapping is needed");
        jval cs = arg_at(args, kw, n, 0, "case_sensitive") ? *arg_at(args, kw, n, 0, "case_sensitive") : jv_bool(false);
        jval *by = arg_at(args, kw, n, 1, "by"), *rev = arg_at(args, kw, n, 2, "reverse");
        jval idx = jv_int(by && by->kind == JV_STR && by->u.s.n == 5 && memcmp(by->u.s.s, "value", 5) == 0);
        return sorted(c, at, items_of(c, in.u.d), &idx, kw_true(rev), jv_truthy(cs));
    }
    /* the rest work on sequences; map and select/reject give nothing for a falsy value (Jinja2: "if value:") */
    if (!jv_truthy(in) && (NAMED(name, "map") || NAMED(name, "select") || NAMED(name, "reject") ||
                           NAMED(name, "selectattr") || NAMED(name, "rejectattr"))) {
        jval o = jv_list_new(c, 0);
        o.u.l->gen = true;
        return o;
    }
    jval seq = (NAMED(name, "first") || NAMED(name, "last") || NAMED(name, "join") || NAMED(name, "list") ||
                NAMED(name, "reverse") || NAMED(name, "unique") || NAMED(name, "sort") || NAMED(name, "map") ||
                NAMED(name, "select") || NAMED(name, "reject") || NAMED(name, "selectattr") ||
                NAMED(name, "rejectattr") || NAMED(name, "sum") || NAMED(name, "min") || NAMED(name, "max") ||
                NAMED(name, "batch"))
                   ? jb_iterable(c, at, in)
                   : jv_none();
    if (seq.kind == JV_NONE) jfail_at(c, at, "no filter named '%s'", name);
    jlist *l = seq.u.l;
    if (NAMED(name, "first")) return l->n ? l->v[0] : jv_undef("No first item, sequence was empty.");
    if (NAMED(name, "last")) return l->n ? l->v[l->n - 1] : jv_undef("No last item, sequence was empty.");
    if (NAMED(name, "list")) {
        jval o = jv_list_new(c, l->n);
        for (size_t i = 0; i < l->n; i++) jl_push(c, o.u.l, l->v[i]);
        return o;
    }
    if (NAMED(name, "reverse")) {
        if (in.kind == JV_STR) {
            jval st = jv_int(-1);
            return jb_slice(c, at, in, NULL, NULL, &st);
        }
        jval o = jv_list_new(c, l->n);
        for (size_t i = l->n; i-- > 0;) jl_push(c, o.u.l, l->v[i]);
        o.u.l->gen = true; /* an iterator in Jinja2 */
        return o;
    }
    if (NAMED(name, "join")) {
        jval *sep = arg_at(args, kw, n, 0, "d"), *attr = arg_at(args, kw, n, 1, "attribute");
        jval items = seq;
        if (attr) {
            items = jv_list_new(c, l->n);
            for (size_t i = 0; i < l->n; i++) jl_push(c, items.u.l, attr_path(c, at, l->v[i], *attr));
        }
        return join(c, sep ? str_of(c, *sep) : jv_str("", 0), items);
    }
    if (NAMED(name, "unique")) {
        jval *cs = arg_at(args, kw, n, 0, "case_sensitive"), *attr = arg_at(args, kw, n, 1, "attribute");
        jval o = jv_list_new(c, 0), seen = jv_list_new(c, 0);
        for (size_t i = 0; i < l->n; i++) {
            jval k = attr ? attr_path(c, at, l->v[i], *attr) : l->v[i];
            if (!kw_true(cs) && k.kind == JV_STR) k = map_case(c, k, 0);
            bool dup = false;
            for (size_t j = 0; j < seen.u.l->n && !dup; j++) dup = jv_equal(seen.u.l->v[j], k);
            if (dup) continue;
            jl_push(c, seen.u.l, k);
            jl_push(c, o.u.l, l->v[i]);
        }
        o.u.l->gen = true;
        return o;
    }
    if (NAMED(name, "sort")) {
        jval *rev = arg_at(args, kw, n, 0, "reverse"), *cs = arg_at(args, kw, n, 1, "case_sensitive"),
             *attr = arg_at(args, kw, n, 2, "attribute");
        return sorted(c, at, seq, attr, kw_true(rev), kw_true(cs));
    }
    if (NAMED(name, "sum")) {
        jval *attr = arg_at(args, kw, n, 0, "attribute"), *start = arg_at(args, kw, n, 1, "start");
        jval acc = start ? *start : jv_int(0);
        for (size_t i = 0; i < l->n; i++) acc = jb_binop(c, at, OP_ADD, acc, attr ? attr_path(c, at, l->v[i], *attr) : l->v[i]);
        return acc;
    }
    if (NAMED(name, "min") || NAMED(name, "max")) {
        jval *cs = arg_at(args, kw, n, 0, "case_sensitive"), *attr = arg_at(args, kw, n, 1, "attribute");
        if (!l->n) return jv_undef("No aggregated item, sequence was empty.");
        jval s = sorted(c, at, seq, attr, name[1] == 'a', kw_true(cs));
        return s.u.l->v[0];
    }
    if (NAMED(name, "batch")) {
        jval *sz = arg_at(args, kw, n, 0, "linecount"), *fill = arg_at(args, kw, n, 1, "fill_with");
        int64_t k = sz ? need_int(c, at, *sz, "batch") : 1;
        if (k <= 0) jfail_at(c, at, "batch: size must be positive");
        jval o = jv_list_new(c, 0), cur = jv_list_new(c, 0);
        for (size_t i = 0; i < l->n; i++) {
            jl_push(c, cur.u.l, l->v[i]);
            if ((int64_t)cur.u.l->n == k) {
                jl_push(c, o.u.l, cur);
                cur = jv_list_new(c, 0);
            }
        }
        if (cur.u.l->n) {
            if (fill && fill->kind != JV_NONE)
                while ((int64_t)cur.u.l->n < k) jl_push(c, cur.u.l, *fill);
            jl_push(c, o.u.l, cur);
        }
        return o;
    }
    if (NAMED(name, "map")) {
        jval o = jv_list_new(c, l->n);
        jval *attr = arg_at(args, kw, n, 999, "attribute");
        if (attr) {
            jval *def = arg_at(args, kw, n, 999, "default");
            for (size_t i = 0; i < l->n; i++) {
                jval v = attr_path(c, at, l->v[i], *attr);
                jl_push(c, o.u.l, v.kind == JV_UNDEF && def ? *def : v);
            }
            o.u.l->gen = true;
            return o;
        }
        if (!a0) jfail_at(c, at, "map needs a filter name or attribute=");
        jval fname = need_str(c, at, *a0, "map");
        const char *fn = ja_strndup(c, fname.u.s.s, fname.u.s.n);
        size_t first = (size_t)(a0 - args) + 1;
        for (size_t i = 0; i < l->n; i++)
            jl_push(c, o.u.l, jb_filter(c, at, fn, l->v[i], args + first, kw ? kw + first : NULL, n - first));
        o.u.l->gen = true;
        return o;
    }
    /* select, reject, selectattr, rejectattr */
    bool attr_form = strstr(name, "attr") != NULL, keep_if = name[0] == 's';
    size_t k = 0;
    jval *attr = NULL;
    if (attr_form) {
        if (!a0) jfail_at(c, at, "%s needs an attribute", name);
        attr = a0;
        k = (size_t)(a0 - args) + 1;
    }
    const char *test = NULL;
    if (k < n) {
        jval t = need_str(c, at, args[k], name);
        test = ja_strndup(c, t.u.s.s, t.u.s.n);
        k++;
    }
    jval o = jv_list_new(c, 0);
    for (size_t i = 0; i < l->n; i++) {
        jval v = attr ? attr_path(c, at, l->v[i], *attr) : l->v[i];
        bool r = test ? jb_test(c, at, test, v, args + k, n - k) : jv_truthy(v);
        if (r == keep_if) jl_push(c, o.u.l, l->v[i]);
    }
    o.u.l->gen = true;
    return o;
}
