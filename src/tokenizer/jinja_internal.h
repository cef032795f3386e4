/* jinja_internal.h — what the Jinja interpreter's files share: the arena,
 * values, the syntax tree and the render state.
 *
 * Everything one render allocates (tree, values, text) lives in one arena
 * freed at the end, so values are shared by pointer without counting and an
 * error unwinds with longjmp to jinja_render without leaking. */
#ifndef OWL_TOKENIZER_JINJA_INTERNAL_H
#define OWL_TOKENIZER_JINJA_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jinja.h"

typedef struct jctx jctx;

/* ---- arena ---------------------------------------------------------------- */

typedef struct jchunk {
    struct jchunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} jchunk;

void *ja_alloc(jctx *c, size_t n); /* zeroed; fails the render when over the memory limit */
char *ja_strndup(jctx *c, const char *s, size_t n);
void ja_free_chunks(jctx *c); /* at the end of a render */

/* ---- values ---------------------------------------------------------------- */

typedef enum jkind {
    JV_UNDEF, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_LIST, JV_DICT,
    JV_NS,     /* namespace(): a dict whose attributes can be set */
    JV_FUNC,   /* a global function (range, namespace, raise_exception, ...) */
    JV_MACRO,  /* a macro or caller */
    JV_METHOD, /* a method bound to a value: "a".upper, d.items */
} jkind;

typedef struct jval jval;
typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct jnode jnode;
typedef struct jmethod jmethod;
typedef struct jmacro jmacro;

struct jval {
    jkind kind;
    bool safe; /* JV_STR: a Markup string (|safe, |escape): what is added to it gets escaped */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *s;
            size_t n;
        } s;
        jlist *l;
        jdict *d; /* JV_DICT, JV_NS */
        int fn;
        jmacro *m;
        jmethod *meth;
        const char *undef; /* JV_UNDEF: what was missing, for errors (may be NULL) */
    } u;
};

struct jlist {
    jval *v;
    size_t n, cap;
    bool tuple;
    bool gen; /* the result of map/select/reject: a generator in Jinja2 (no len(), not JSON) */
};

struct jdict {
    jval *k, *v;
    size_t n, cap;
};

struct jmethod {
    jval self;
    const char *name;
};

typedef struct jframe jframe;

struct jmacro {
    const jnode *def; /* S_MACRO, or the S_CALLBLOCK of a caller */
    jframe *scope;    /* where it was defined */
};

static inline jval jv_undef(const char *what) { jval v = {.kind = JV_UNDEF}; v.u.undef = what; return v; }
static inline jval jv_none(void) { jval v = {.kind = JV_NONE}; return v; }
static inline jval jv_bool(bool b) { jval v = {.kind = JV_BOOL}; v.u.b = b; return v; }
static inline jval jv_int(int64_t i) { jval v = {.kind = JV_INT}; v.u.i = i; return v; }
static inline jval jv_float(double f) { jval v = {.kind = JV_FLOAT}; v.u.f = f; return v; }
static inline jval jv_str(const char *s, size_t n) { jval v = {.kind = JV_STR}; v.u.s.s = s; v.u.s.n = n; return v; }

jval jv_cstr(jctx *c, const char *s);
jval jv_list_new(jctx *c, size_t cap);
void jl_push(jctx *c, jlist *l, jval v);
jval jv_dict_new(jctx *c, jkind kind);
void jd_set(jctx *c, jdict *d, jval k, jval v);
jval *jd_get(const jdict *d, jval k);
jval *jd_get_str(const jdict *d, const char *s, size_t n);
jval jv_from_json(jctx *c, json_t *j);

bool jv_truthy(jval v);
bool jv_equal(jval a, jval b);
int jv_compare(jctx *c, jval a, jval b); /* <0, 0, >0; fails on types Python cannot order */
const char *jv_type_name(jval v);

/* ---- text ---------------------------------------------------------------- */

typedef struct jbuf {
    char *p;
    size_t n, cap;
} jbuf;

void jb_add(jctx *c, jbuf *b, const char *s, size_t n);
void jb_str(jctx *c, jbuf *b, const char *s);
void jb_char(jctx *c, jbuf *b, char ch);
jval jb_val(jbuf *b);

void jv_write_str(jctx *c, jbuf *b, jval v);  /* Python str(v) */
void jv_write_repr(jctx *c, jbuf *b, jval v); /* Python repr(v) */
jval jv_to_str(jctx *c, jval v);
/* json.dumps(v, ensure_ascii=False, indent, separators, sort_keys) */
void jv_write_json(jctx *c, jbuf *b, jval v, const char *indent, const char *item_sep, const char *key_sep,
                   bool sort_keys, int depth);

/* UTF-8 code points: count, and byte offset of the i-th one */
size_t ju_len(const char *s, size_t n);
size_t ju_offset(const char *s, size_t n, size_t i);
uint32_t ju_decode(const char *s, size_t n, size_t *len);
bool ju_space(uint32_t c); /* Python str.isspace */

/* ---- syntax tree ---------------------------------------------------------- */

typedef enum jnkind {
    /* expressions */
    E_LIT, E_NAME, E_LIST, E_TUPLE, E_DICT, E_ATTR, E_ITEM, E_SLICE, E_CALL, E_FILTER, E_TEST,
    E_NEG, E_POS, E_NOT, E_AND, E_OR, E_BIN, E_CMP, E_CONCAT, E_COND,
    /* statements */
    S_TEXT, S_OUT, S_IF, S_FOR, S_SET, S_SETBLOCK, S_MACRO, S_CALLBLOCK, S_FILTERBLOCK, S_BREAK, S_CONTINUE,
    S_BODY, S_WITH,
} jnkind;

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
       OP_IN, OP_NOTIN };

/* Fields by kind:
 *  E_LIT lit; E_NAME s; E_LIST/E_TUPLE list; E_DICT list = k0,v0,k1,v1...
 *  E_ATTR a.s; E_ITEM a[b]; E_SLICE a[b:c:d] (each may be NULL)
 *  E_CALL a(list) with names[i] the keyword of list[i] or NULL
 *  E_FILTER a|s(list, names) (a NULL inside a filter block); E_TEST a is [not: op] s(list)
 *  E_NEG/E_POS/E_NOT a; E_AND/E_OR/E_BIN/E_CMP/E_CONCAT a op b; E_COND b if a else c (c may be NULL)
 *  S_TEXT s; S_OUT a; S_IF a: list else list2 (an elif is an S_IF alone in list2)
 *  S_FOR names (targets) in a [if b]: list else list2
 *  S_SET names (targets; "ns.attr" as s=ns, names[0]=attr with op=1) = a
 *  S_SETBLOCK target like S_SET, body list, filter chain b (E_FILTER with a NULL, innermost first)
 *  S_MACRO s(names with defaults list2[i] or NULL): list
 *  S_CALLBLOCK call a, caller params names/list2: body list
 *  S_FILTERBLOCK filter chain b: list; S_BODY list
 *  S_WITH names[i] = list2[i] (evaluated outside), body list in a scope of its own */
struct jnode {
    jnkind kind;
    int op;
    int line, col;
    jnode *a, *b, *c, *d;
    jnode **list;
    size_t n;
    jnode **list2;
    size_t n2;
    const char **names;
    size_t n_names;
    const char *s;
    size_t sn;
    jval lit;
};

/* ---- render state ----------------------------------------------------------- */

typedef struct jvar {
    const char *name;
    jval v;
} jvar;

struct jframe {
    jframe *parent;
    jvar *vars;
    size_t n, cap;
};

struct jctx {
    jmp_buf jmp;
    owl_status status;
    char err[512];
    /* arena */
    jchunk *chunks;
    size_t mem;
    void *scratch; /* malloc'd working memory of the lexer (its tokens), freed with the arena */
    /* limits */
    size_t max_output;
    long iterations;
    int depth;
    /* input */
    const char *src;
    jdict *globals;
    const struct tm *now;
    /* output stack: macros and set blocks render into their own buffer */
    jbuf *out;
    int loop_ctl; /* 1 break, 2 continue, pending */
    bool json_ascii; /* tojson(ensure_ascii=True) in progress */
};

_Noreturn void jfail(jctx *c, owl_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
_Noreturn void jfail_at(jctx *c, const jnode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* parser: the statement list of the whole template, in c's arena */
void jparse(jctx *c, const char *src, size_t *n_out, jnode ***body);

/* builtins (jinja_builtins.c) */
enum { FN_RANGE = 1, FN_NAMESPACE, FN_DICT, FN_RAISE, FN_STRFTIME };
jval jb_call_func(jctx *c, const jnode *at, int fn, jval *args, const char **kw, size_t n);
jval jb_call_method(jctx *c, const jnode *at, jmethod *m, jval *args, const char **kw, size_t n);
jval jb_filter(jctx *c, const jnode *at, const char *name, jval in, jval *args, const char **kw, size_t n);
bool jb_test(jctx *c, const jnode *at, const char *name, jval in, jval *args, size_t n);
jval jb_getattr(jctx *c, const jnode *at, jval obj, const char *name, size_t n); /* obj.name */
jval jb_getitem(jctx *c, const jnode *at, jval obj, jval key);                 /* obj[key] */
jval jb_slice(jctx *c, const jnode *at, jval obj, jval *start, jval *stop, jval *step);
jval jb_binop(jctx *c, const jnode *at, int op, jval a, jval b);
jval jb_iterable(jctx *c, const jnode *at, jval v); /* a list of the items a for loop visits */

/* evaluator (jinja_eval.c), for filters that take a test or a filter name, and callables */
jval je_call(jctx *c, const jnode *at, jval f, jval *args, const char **kw, size_t n);

#endif
