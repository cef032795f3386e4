/* jinja_eval.c — the Jinja evaluator: runs the syntax tree against the
 * context, with Jinja2's scoping (a for loop body and a macro body are
 * scopes of their own, if is not; namespace() objects carry values out of
 * loops), its loop object (loop.index, first, last, previtem, cycle, ...),
 * macros with defaults, varargs, kwargs and caller, break and continue,
 * and the limits of jinja.h. jinja_render is here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "jinja_internal.h"

static jval eval(jctx *c, jframe *f, const jnode *n);
static void exec_body(jctx *c, jframe *f, jnode *const *body, size_t n);

/* ---- scopes ------------------------------------------------------------------------ */

static jframe *frame_new(jctx *c, jframe *parent) {
    jframe *f = ja_alloc(c, sizeof *f);
    f->parent = parent;
    return f;
}

static void frame_set(jctx *c, jframe *f, const char *name, jval v) {
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->vars[i].name, name) == 0) {
            f->vars[i].v = v;
            return;
        }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        jvar *nv = ja_alloc(c, cap * sizeof *nv);
        if (f->n) memcpy(nv, f->vars, f->n * sizeof *nv);
        f->vars = nv;
        f->cap = cap;
    }
    f->vars[f->n].name = name;
    f->vars[f->n++].v = v;
}

static const struct {
    const char *name;
    int fn;
} global_funcs[] = {
    {"range", FN_RANGE}, {"namespace", FN_NAMESPACE}, {"dict", FN_DICT},
    {"raise_exception", FN_RAISE}, {"strftime_now", FN_STRFTIME},
};

static jval lookup(jctx *c, jframe *f, const char *name, size_t len) {
    for (; f; f = f->parent)
        for (size_t i = 0; i < f->n; i++)
            if (f->vars[i].name[0] == name[0] && strncmp(f->vars[i].name, name, len) == 0 &&
                f->vars[i].name[len] == 0)
                return f->vars[i].v;
    jval *g = jd_get_str(c->globals, name, len);
    if (g) return *g;
    for (size_t i = 0; i < sizeof global_funcs / sizeof global_funcs[0]; i++)
        if (strlen(global_funcs[i].name) == len && memcmp(global_funcs[i].name, name, len) == 0) {
            jval v = {.kind = JV_FUNC};
            v.u.fn = global_funcs[i].fn;
            return v;
        }
    char *msg = ja_alloc(c, len + 32);
    snprintf(msg, len + 32, "'%.*s' is undefined", (int)len, name);
    return jv_undef(msg);
}

/* ---- output ------------------------------------------------------------------------ */

static void out_val(jctx *c, jval v) { jv_write_str(c, c->out, v); }

/* runs body into a buffer of its own; returns the text */
static jval capture(jctx *c, jframe *f, jnode *const *body, size_t n) {
    jbuf b = {0}, *saved = c->out;
    c->out = &b;
    exec_body(c, f, body, n);
    c->out = saved;
    return jb_val(&b);
}

/* ---- calls ------------------------------------------------------------------------- */

static void count_iteration(jctx *c, const jnode *at) {
    if (++c->iterations > JINJA_MAX_ITERATIONS)
        jfail(c, OWL_ERR_FORMAT, "template line %d: template exceeded %d iterations", at ? at->line : 0,
              JINJA_MAX_ITERATIONS);
}

static jval call_macro(jctx *c, const jnode *at, jmacro *m, jval *args, const char **kw, size_t n) {
    const jnode *d = m->def;
    count_iteration(c, at);
    if (++c->depth > JINJA_MAX_DEPTH)
        jfail(c, OWL_ERR_FORMAT, "template line %d: template exceeded %d nested calls", at->line, JINJA_MAX_DEPTH);
    jframe *f = frame_new(c, m->scope);
    size_t n_params = d->n_names, pos = 0;
    bool *set = ja_alloc(c, (n_params + 1) * sizeof(bool));
    jval varargs = jv_list_new(c, 0), kwargs = jv_dict_new(c, JV_DICT);
    varargs.u.l->tuple = true;
    for (size_t i = 0; i < n; i++) {
        if (!kw[i]) {
            while (pos < n_params && set[pos]) pos++;
            if (pos < n_params) {
                frame_set(c, f, d->names[pos], args[i]);
                set[pos++] = true;
            } else {
                jl_push(c, varargs.u.l, args[i]);
            }
            continue;
        }
        if (strcmp(kw[i], "caller") == 0 && args[i].kind == JV_MACRO) {
            frame_set(c, f, "caller", args[i]);
            continue;
        }
        size_t k = 0;
        while (k < n_params && strcmp(d->names[k], kw[i]) != 0) k++;
        if (k < n_params) {
            frame_set(c, f, d->names[k], args[i]);
            set[k] = true;
        } else {
            jd_set(c, kwargs.u.d, jv_cstr(c, kw[i]), args[i]);
        }
    }
    for (size_t k = 0; k < n_params; k++) {
        if (set[k]) continue;
        if (d->list2 && d->list2[k])
            frame_set(c, f, d->names[k], eval(c, f, d->list2[k]));
        else
            frame_set(c, f, d->names[k], jv_undef("a macro parameter is undefined"));
    }
    frame_set(c, f, "varargs", varargs);
    frame_set(c, f, "kwargs", kwargs);
    int saved_ctl = c->loop_ctl;
    c->loop_ctl = 0;
    jval r = capture(c, f, d->list, d->n);
    c->loop_ctl = saved_ctl;
    c->depth--;
    return r;
}

jval je_call(jctx *c, const jnode *at, jval f, jval *args, const char **kw, size_t n) {
    switch (f.kind) {
    case JV_MACRO: return call_macro(c, at, f.u.m, args, kw, n);
    case JV_FUNC: return jb_call_func(c, at, f.u.fn, args, kw, n);
    case JV_METHOD: return jb_call_method(c, at, f.u.meth, args, kw, n);
    case JV_UNDEF: jfail_at(c, at, "%s", f.u.undef ? f.u.undef : "call of an undefined value");
    default: jfail_at(c, at, "'%s' object is not callable", jv_type_name(f));
    }
}

/* evaluated arguments of a call, filter or test node */
static jval *eval_args(jctx *c, jframe *f, const jnode *n, size_t extra) {
    jval *v = ja_alloc(c, (n->n + extra + 1) * sizeof(jval));
    for (size_t i = 0; i < n->n; i++) v[i + extra] = eval(c, f, n->list[i]);
    return v;
}

static const char **kw_names(jctx *c, const jnode *n, size_t extra) {
    const char **kw = ja_alloc(c, (n->n + extra + 1) * sizeof(char *));
    for (size_t i = 0; i < n->n; i++) kw[i + extra] = n->names ? n->names[i] : NULL;
    return kw;
}

/* ---- expressions ------------------------------------------------------------------- */

static bool contains(jctx *c, const jnode *at, jval hay, jval needle) {
    switch (hay.kind) {
    case JV_STR:
        if (needle.kind != JV_STR)
            jfail_at(c, at, "'in <string>' requires string as left operand, not %s", jv_type_name(needle));
        if (needle.u.s.n == 0) return true;
        for (size_t i = 0; i + needle.u.s.n <= hay.u.s.n; i++)
            if (memcmp(hay.u.s.s + i, needle.u.s.s, needle.u.s.n) == 0) return true;
        return false;
    case JV_LIST:
        for (size_t i = 0; i < hay.u.l->n; i++)
            if (jv_equal(hay.u.l->v[i], needle)) return true;
        return false;
    case JV_DICT:
    case JV_NS:
        if ((needle.kind == JV_LIST && !needle.u.l->tuple) || needle.kind == JV_DICT || needle.kind == JV_NS)
            jfail_at(c, at, "unhashable type: '%s'", jv_type_name(needle));
        return jd_get(hay.u.d, needle) != NULL;
    case JV_UNDEF: return false;
    default: jfail_at(c, at, "argument of type '%s' is not iterable", jv_type_name(hay));
    }
}

static jval eval_filter(jctx *c, jframe *f, const jnode *n, jval in) {
    jval *args = eval_args(c, f, n, 0);
    const char **kw = kw_names(c, n, 0);
    return jb_filter(c, n, n->s, in, args, kw, n->n);
}

static jval eval(jctx *c, jframe *f, const jnode *n) {
    switch (n->kind) {
    case E_LIT: return n->lit;
    case E_NAME: return lookup(c, f, n->s, n->sn);
    case E_LIST:
    case E_TUPLE: {
        jval l = jv_list_new(c, n->n);
        l.u.l->tuple = n->kind == E_TUPLE;
        for (size_t i = 0; i < n->n; i++) jl_push(c, l.u.l, eval(c, f, n->list[i]));
        return l;
    }
    case E_DICT: {
        jval d = jv_dict_new(c, JV_DICT);
        for (size_t i = 0; i + 1 < n->n; i += 2) {
            jval k = eval(c, f, n->list[i]);
            jd_set(c, d.u.d, k, eval(c, f, n->list[i + 1]));
        }
        return d;
    }
    case E_ATTR: return jb_getattr(c, n, eval(c, f, n->a), n->s, n->sn);
    case E_ITEM: {
        jval obj = eval(c, f, n->a);
        return jb_getitem(c, n, obj, eval(c, f, n->b));
    }
    case E_SLICE: {
        jval obj = eval(c, f, n->a), v[3];
        jval *p[3] = {NULL, NULL, NULL};
        const jnode *parts[3] = {n->b, n->c, n->d};
        for (int k = 0; k < 3; k++)
            if (parts[k]) {
                v[k] = eval(c, f, parts[k]);
                if (v[k].kind != JV_NONE) p[k] = &v[k];
            }
        return jb_slice(c, n, obj, p[0], p[1], p[2]);
    }
    case E_CALL: {
        jval fn = eval(c, f, n->a);
        jval *args = eval_args(c, f, n, 0);
        return je_call(c, n, fn, args, kw_names(c, n, 0), n->n);
    }
    case E_FILTER: return eval_filter(c, f, n, eval(c, f, n->a));
    case E_TEST: {
        jval in = eval(c, f, n->a);
        jval *args = eval_args(c, f, n, 0);
        bool r = jb_test(c, n, n->s, in, args, n->n);
        return jv_bool(n->op ? !r : r);
    }
    case E_NEG:
    case E_POS: {
        jval v = eval(c, f, n->a);
        if (v.kind == JV_BOOL) v = jv_int(v.u.b);
        if (v.kind == JV_INT) {
            if (n->kind == E_NEG && v.u.i == INT64_MIN) jfail_at(c, n, "integer overflow");
            return n->kind == E_NEG ? jv_int(-v.u.i) : v;
        }
        if (v.kind == JV_FLOAT) return n->kind == E_NEG ? jv_float(-v.u.f) : v;
        jfail_at(c, n, "bad operand type for unary %c: '%s'", n->kind == E_NEG ? '-' : '+', jv_type_name(v));
    }
    case E_NOT: return jv_bool(!jv_truthy(eval(c, f, n->a)));
    case E_AND: {
        jval a = eval(c, f, n->a);
        return jv_truthy(a) ? eval(c, f, n->b) : a;
    }
    case E_OR: {
        jval a = eval(c, f, n->a);
        return jv_truthy(a) ? a : eval(c, f, n->b);
    }
    case E_BIN: {
        jval a = eval(c, f, n->a);
        return jb_binop(c, n, n->op, a, eval(c, f, n->b));
    }
    case E_CMP: {
        jval a = eval(c, f, n->a), b = eval(c, f, n->b);
        switch (n->op) {
        case OP_EQ: return jv_bool(jv_equal(a, b));
        case OP_NE: return jv_bool(!jv_equal(a, b));
        case OP_IN: return jv_bool(contains(c, n, b, a));
        case OP_NOTIN: return jv_bool(!contains(c, n, b, a));
        default: break;
        }
        if (a.kind == JV_UNDEF || b.kind == JV_UNDEF)
            jfail_at(c, n, "%s", a.kind == JV_UNDEF && a.u.undef ? a.u.undef
                                 : b.kind == JV_UNDEF && b.u.undef ? b.u.undef : "comparison with an undefined value");
        int r = jv_compare(c, a, b);
        return jv_bool(n->op == OP_LT ? r < 0 : n->op == OP_LE ? r <= 0 : n->op == OP_GT ? r > 0 : r >= 0);
    }
    case E_CONCAT: {
        jval a = eval(c, f, n->a), b = eval(c, f, n->b);
        jbuf buf = {0};
        jv_write_str(c, &buf, a);
        jv_write_str(c, &buf, b);
        return jb_val(&buf);
    }
    case E_COND:
        if (jv_truthy(eval(c, f, n->a))) return eval(c, f, n->b);
        return n->c ? eval(c, f, n->c) : jv_undef("the inline if has no else");
    default: jfail_at(c, n, "not an expression");
    }
}

/* ---- statements -------------------------------------------------------------------- */

static void assign(jctx *c, jframe *f, const jnode *n, jval v) {
    if (n->op == 1) { /* ns.attr = v */
        jval ns = lookup(c, f, n->s, strlen(n->s));
        if (ns.kind != JV_NS) jfail_at(c, n, "cannot assign attribute on non-namespace object");
        if (n->names[0][0] == '_')
            jfail_at(c, n, "chat templates cannot store underscore-prefixed attributes on a namespace");
        jd_set(c, ns.u.d, jv_cstr(c, n->names[0]), v);
        return;
    }
    if (n->n_names == 1) {
        frame_set(c, f, n->names[0], v);
        return;
    }
    jval l = jb_iterable(c, n, v);
    if (l.u.l->n != n->n_names)
        jfail_at(c, n, "cannot unpack %zu values into %zu names", l.u.l->n, n->n_names);
    for (size_t i = 0; i < n->n_names; i++) frame_set(c, f, n->names[i], l.u.l->v[i]);
}

static jval filter_chain(jctx *c, jframe *f, const jnode *chain, jval v) {
    if (!chain) return v;
    v = filter_chain(c, f, chain->a, v);
    return eval_filter(c, f, chain, v);
}

static void exec_for(jctx *c, jframe *f, const jnode *n) {
    jval items = jb_iterable(c, n->a, eval(c, f, n->a));
    jlist *l = items.u.l;
    if (n->b) { /* loop filter: the items the condition keeps */
        jval kept = jv_list_new(c, l->n);
        for (size_t i = 0; i < l->n; i++) {
            count_iteration(c, n);
            jframe *lf = frame_new(c, f);
            assign(c, lf, n, l->v[i]);
            if (jv_truthy(eval(c, lf, n->b))) jl_push(c, kept.u.l, l->v[i]);
        }
        l = kept.u.l;
    }
    size_t len = l->n;
    bool completed = false;
    /* one scope and one loop object, renewed each iteration (a set in the
     * body does not outlive its iteration, as in Jinja2) */
    jframe *lf = frame_new(c, f);
    jval loop = jv_dict_new(c, JV_DICT);
    jdict *d = loop.u.d;
    jval cyc = {.kind = JV_METHOD};
    cyc.u.meth = ja_alloc(c, sizeof *cyc.u.meth);
    cyc.u.meth->self = loop;
    cyc.u.meth->name = "cycle";
    static const char *const loop_keys[] = {"index", "index0", "revindex", "revindex0", "first", "last",
                                            "length", "depth", "depth0", "previtem", "nextitem", "cycle"};
    for (size_t k = 0; k < sizeof loop_keys / sizeof loop_keys[0]; k++)
        jd_set(c, d, jv_str(loop_keys[k], strlen(loop_keys[k])), jv_none());
    for (size_t i = 0; i < len; i++) {
        count_iteration(c, n);
        lf->n = 0;
        assign(c, lf, n, l->v[i]);
        jval *v = d->v; /* in the order of loop_keys */
        v[0] = jv_int((int64_t)i + 1);
        v[1] = jv_int((int64_t)i);
        v[2] = jv_int((int64_t)(len - i));
        v[3] = jv_int((int64_t)(len - i - 1));
        v[4] = jv_bool(i == 0);
        v[5] = jv_bool(i + 1 == len);
        v[6] = jv_int((int64_t)len);
        v[7] = jv_int(1);
        v[8] = jv_int(0);
        v[9] = i ? l->v[i - 1] : jv_undef("there is no previous item");
        v[10] = i + 1 < len ? l->v[i + 1] : jv_undef("there is no next item");
        v[11] = cyc;
        frame_set(c, lf, "loop", loop);
        exec_body(c, lf, n->list, n->n);
        if (c->loop_ctl == 0) completed = true;
        if (c->loop_ctl == 1) {
            c->loop_ctl = 0;
            break;
        }
        c->loop_ctl = 0;
    }
    /* Jinja2 runs the else block unless some iteration reached the end of
     * the body: a loop left by break, or whose every pass continued, runs it */
    if (!completed && n->n2) exec_body(c, frame_new(c, f), n->list2, n->n2); /* a scope of its own too */
}

static void exec_stmt(jctx *c, jframe *f, const jnode *n) {
    switch (n->kind) {
    case S_TEXT: jb_add(c, c->out, n->s, n->sn); return;
    case S_OUT: out_val(c, eval(c, f, n->a)); return;
    case S_IF:
        if (jv_truthy(eval(c, f, n->a)))
            exec_body(c, f, n->list, n->n);
        else
            exec_body(c, f, n->list2, n->n2);
        return;
    case S_FOR: exec_for(c, f, n); return;
    case S_SET: assign(c, f, n, eval(c, f, n->a)); return;
    case S_SETBLOCK: { /* set and filter blocks are scopes: a set inside stays inside */
        jval v = capture(c, frame_new(c, f), n->list, n->n);
        if (!c->loop_ctl) assign(c, f, n, filter_chain(c, f, n->b, v)); /* a break inside leaves it unused */
        return;
    }
    case S_MACRO: {
        jval m = {.kind = JV_MACRO};
        m.u.m = ja_alloc(c, sizeof *m.u.m);
        m.u.m->def = n;
        m.u.m->scope = f;
        frame_set(c, f, n->s, m);
        return;
    }
    case S_CALLBLOCK: {
        jval caller = {.kind = JV_MACRO};
        caller.u.m = ja_alloc(c, sizeof *caller.u.m);
        caller.u.m->def = n;
        caller.u.m->scope = f;
        const jnode *call = n->a;
        jval fn = eval(c, f, call->a);
        jval *args = eval_args(c, f, call, 0);
        const char **kw = kw_names(c, call, 0);
        args[call->n] = caller;
        kw[call->n] = "caller";
        out_val(c, je_call(c, call, fn, args, kw, call->n + 1));
        return;
    }
    case S_FILTERBLOCK: {
        jval v = capture(c, frame_new(c, f), n->list, n->n);
        if (!c->loop_ctl) out_val(c, filter_chain(c, f, n->b, v));
        return;
    }
    case S_BREAK: c->loop_ctl = 1; return;
    case S_CONTINUE: c->loop_ctl = 2; return;
    case S_BODY: exec_body(c, f, n->list, n->n); return;
    case S_WITH: {
        jframe *wf = frame_new(c, f);
        for (size_t i = 0; i < n->n_names; i++) frame_set(c, wf, n->names[i], eval(c, f, n->list2[i]));
        exec_body(c, wf, n->list, n->n);
        return;
    }
    default: jfail_at(c, n, "not a statement");
    }
}

static void exec_body(jctx *c, jframe *f, jnode *const *body, size_t n) {
    for (size_t i = 0; i < n && !c->loop_ctl; i++) exec_stmt(c, f, body[i]);
}

/* ---- entry ------------------------------------------------------------------------- */

struct jinja_template {
    jctx *c; /* its arena holds the tree */
    jnode **body;
    size_t n;
};

static void free_ctx(jctx *c) {
    if (!c) return;
    ja_free_chunks(c);
    free(c->scratch);
    free(c);
}

static owl_status parse(jctx *c, const char *src, jinja_template *t) {
    if (setjmp(c->jmp)) return c->status;
    jparse(c, src, &t->n, &t->body);
    return OWL_OK;
}

owl_status jinja_template_parse(const char *src, jinja_template **out) {
    if (!out) return owl_err(OWL_ERR_ARG, "jinja_template_parse: out is NULL");
    *out = NULL;
    if (!src) return owl_err(OWL_ERR_ARG, "jinja_template_parse: template is NULL");
    jinja_template *t = calloc(1, sizeof *t);
    jctx *c = calloc(1, sizeof *c);
    if (!t || !c) {
        free(t);
        free(c);
        return owl_err(OWL_ERR_NOMEM, "out of memory parsing a template");
    }
    c->max_output = JINJA_MAX_OUTPUT;
    t->c = c;
    owl_status st = parse(c, src, t);
    if (st != OWL_OK) {
        st = owl_err(st, "%s", c->err);
        jinja_template_free(t);
        return st;
    }
    *out = t;
    return OWL_OK;
}

void jinja_template_free(jinja_template *t) {
    if (!t) return;
    free_ctx(t->c);
    free(t);
}

static owl_status render(jctx *c, const jinja_template *t, json_t *context, char **out) {
    if (setjmp(c->jmp)) return c->status;
    jval g = jv_dict_new(c, JV_DICT);
    c->globals = g.u.d;
    if (context) {
        if (!json_is_object(context)) jfail(c, OWL_ERR_ARG, "template context must be a JSON object");
        g = jv_from_json(c, context);
        c->globals = g.u.d;
    }
    jbuf b = {0};
    c->out = &b;
    jframe *top = frame_new(c, NULL);
    exec_body(c, top, t->body, t->n);
    c->loop_ctl = 0;
    char *s = owl_xmalloc(b.n + 1);
    if (!s) jfail(c, OWL_ERR_NOMEM, "out of memory rendering a template");
    if (b.n) memcpy(s, b.p, b.n);
    s[b.n] = 0;
    *out = s;
    return OWL_OK;
}

owl_status jinja_template_render(const jinja_template *t, json_t *context, const jinja_opts *opts, char **out) {
    if (!out) return owl_err(OWL_ERR_ARG, "jinja_render: out is NULL");
    *out = NULL;
    if (!t) return owl_err(OWL_ERR_ARG, "jinja_render: template is NULL");
    jctx *c = calloc(1, sizeof *c);
    if (!c) return owl_err(OWL_ERR_NOMEM, "out of memory rendering a template");
    c->max_output = opts && opts->max_output ? opts->max_output : JINJA_MAX_OUTPUT;
    c->now = opts ? opts->now : NULL;
    owl_status st = render(c, t, context, out);
    if (st != OWL_OK) st = owl_err(st, "%s", c->err);
    free_ctx(c);
    return st;
}

owl_status jinja_render_opts(const char *tmpl, json_t *context, const jinja_opts *opts, char **out) {
    if (!out) return owl_err(OWL_ERR_ARG, "jinja_render: out is NULL");
    *out = NULL;
    if (context && !json_is_object(context))
        return owl_err(OWL_ERR_ARG, "template context must be a JSON object");
    jinja_template *t;
    owl_status st = jinja_template_parse(tmpl, &t);
    if (st != OWL_OK) return st;
    st = jinja_template_render(t, context, opts, out);
    jinja_template_free(t);
    return st;
}

owl_status jinja_render(const char *tmpl, json_t *context, size_t max_output, char **out) {
    jinja_opts o = {.max_output = max_output};
    return jinja_render_opts(tmpl, context, &o, out);
}
