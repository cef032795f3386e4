/* jinja_parse.c — the Jinja lexer and parser: template text to a syntax
 * tree (jinja_internal.h describes the nodes).
 *
 * Lexing follows Jinja2's lexer as transformers configures it:
 *  - newlines are normalised to \n and one trailing newline is dropped
 *    (keep_trailing_newline=False);
 *  - tags are {{ expr }}, {% stmt %}, {# comment #}; a '-' inside the
 *    delimiter strips all whitespace on that side, a '+' turns the
 *    trimming below off;
 *  - trim_blocks: the first \n after a block or comment tag is removed;
 *  - lstrip_blocks: spaces and tabs from the start of a line up to a block
 *    or comment tag are removed, when nothing else precedes the tag on its
 *    line;
 *  - string literals take Python's escapes (\n, \t, \xhh, \uhhhh, ...).
 * The parser is recursive descent with Jinja2's precedence, from lowest:
 * inline if, or, and, not, comparisons and in, + -, ~, * / // %, **,
 * unary - +, then primaries with .attr, [item], [a:b:c], (call), |filter
 * and "is test". Errors give the line and column. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja_internal.h"
#include "vocab.h"

typedef enum { T_TEXT, T_VAR_BEGIN, T_VAR_END, T_BLOCK_BEGIN, T_BLOCK_END, T_NAME, T_STR, T_INT, T_FLOAT, T_OP,
               T_EOF } ttype;

typedef struct tok {
    ttype type;
    int line, col;
    uint32_t n;    /* length of s */
    union {
        const char *s; /* text, name, string value or operator */
        int64_t i;
        double f;
    };
} tok;

typedef struct parser {
    jctx *c;
    const char *src; /* normalised */
    size_t len;
    tok *t;
    size_t n, cap, pos;
    int depth;
    int loops; /* for loops around the current statement, within its macro or call block */
    size_t w_off, w_ls; /* where(): the last offset asked, its line start and line */
    int w_line;
} parser;

_Noreturn static void perr(parser *p, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void perr(parser *p, int line, int col, const char *fmt, ...) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* col counts bytes: say it in characters */
    size_t ls = 0;
    for (int l = 1; l < line && ls < p->len; ls++)
        if (p->src[ls] == '\n') l++;
    if (ls + (size_t)(col - 1) <= p->len) col = (int)ju_len(p->src + ls, (size_t)(col - 1)) + 1;
    jfail(p->c, OWL_ERR_FORMAT, "template syntax error at line %d column %d: %s", line, col, msg);
}

/* ---- lexer ------------------------------------------------------------------------ */

static void where(parser *p, size_t off, int *line, int *col) {
    if (off < p->w_off) {
        p->w_off = p->w_ls = 0;
        p->w_line = 1;
    }
    int l = p->w_line;
    size_t ls = p->w_ls;
    for (size_t i = p->w_off; i < off && i < p->len; i++)
        if (p->src[i] == '\n') {
            l++;
            ls = i + 1;
        }
    p->w_off = off;
    p->w_ls = ls;
    p->w_line = l;
    *line = l;
    *col = (int)(off - ls) + 1; /* bytes from the line start */
}

static tok *emit(parser *p, ttype type, size_t off) {
    if (p->n == p->cap) { /* in ctx->scratch, not the arena: the array grows by copies */
        size_t cap = p->cap ? p->cap * 2 : 256;
        tok *nt = realloc(p->t, cap * sizeof(tok));
        if (!nt) jfail(p->c, OWL_ERR_NOMEM, "out of memory parsing a template");
        p->t = nt;
        p->c->scratch = nt;
        p->cap = cap;
    }
    tok *t = &p->t[p->n++];
    memset(t, 0, sizeof *t);
    t->type = type;
    where(p, off, &t->line, &t->col);
    return t;
}

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v'; }

/* Python's whitespace (str.isspace, regex \s) around tags: the length of
 * s[start..end) without its trailing whitespace, and the offset after the
 * whitespace that starts at k */
static size_t rstrip_len(const char *s, size_t start, size_t end) {
    while (end > start) {
        size_t q = end - 1, l;
        while (q > start && ((unsigned char)s[q] & 0xC0) == 0x80 && end - q < 4) q--;
        if (!ju_space(ju_decode(s + q, end - q, &l)) || q + l != end) break;
        end = q;
    }
    return end - start;
}

static size_t skip_space(const char *s, size_t k, size_t len) {
    size_t l;
    while (k < len && ju_space(ju_decode(s + k, len - k, &l))) k += l;
    return k;
}
static bool is_alpha(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static void put_utf8(jctx *c, jbuf *b, uint32_t cp) {
    char u[4];
    jb_add(c, b, u, utf8_encode(cp, u));
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* a string literal at src[*i] (the quote); Python's unicode-escape rules */
static void lex_string(parser *p, size_t *i, size_t end) {
    size_t start = *i;
    char q = p->src[*i];
    jbuf b = {0};
    size_t k = *i + 1;
    for (;;) {
        if (k >= end) {
            int l, c;
            where(p, start, &l, &c);
            perr(p, l, c, "unterminated string");
        }
        char ch = p->src[k];
        if (ch == q) break;
        if (ch != '\\' || k + 1 >= end) {
            jb_char(p->c, &b, ch);
            k++;
            continue;
        }
        char e = p->src[k + 1];
        k += 2;
        switch (e) {
        case 'n': jb_char(p->c, &b, '\n'); break;
        case 't': jb_char(p->c, &b, '\t'); break;
        case 'r': jb_char(p->c, &b, '\r'); break;
        case '\\': jb_char(p->c, &b, '\\'); break;
        case '\'': jb_char(p->c, &b, '\''); break;
        case '"': jb_char(p->c, &b, '"'); break;
        case 'a': jb_char(p->c, &b, '\a'); break;
        case 'b': jb_char(p->c, &b, '\b'); break;
        case 'f': jb_char(p->c, &b, '\f'); break;
        case 'v': jb_char(p->c, &b, '\v'); break;
        case '\n': break;
        case 'x':
        case 'u':
        case 'U': {
            int nd = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int d = 0; d < nd; d++) {
                int h = k + (size_t)d < end ? hexval(p->src[k + (size_t)d]) : -1;
                if (h < 0) {
                    int l, c;
                    where(p, k, &l, &c);
                    perr(p, l, c, "truncated \\%c escape in a string", e);
                }
                cp = cp * 16 + (uint32_t)h;
            }
            k += (size_t)nd;
            if (cp > 0x10FFFF) {
                int l, c;
                where(p, k, &l, &c);
                perr(p, l, c, "illegal Unicode character in a string");
            }
            put_utf8(p->c, &b, cp);
            break;
        }
        default:
            if (e >= '0' && e <= '7') {
                uint32_t cp = (uint32_t)(e - '0');
                for (int d = 0; d < 2 && k < end && p->src[k] >= '0' && p->src[k] <= '7'; d++, k++)
                    cp = cp * 8 + (uint32_t)(p->src[k] - '0');
                put_utf8(p->c, &b, cp);
            } else {
                jb_char(p->c, &b, '\\');
                jb_char(p->c, &b, e);
            }
        }
    }
    tok *t = emit(p, T_STR, start);
    if (b.n > UINT32_MAX) perr(p, t->line, t->col, "string literal too long");
    t->s = b.p ? b.p : "";
    t->n = (uint32_t)b.n;
    *i = k + 1;
}

static const char *const ops2[] = {"//", "**", "==", "!=", "<=", ">="};
static const char ops1[] = "+-*/%~<>=()[]{},.:|";

/* Tokens of one tag, from src[*i] to its closing delimiter (which it
 * consumes); returns the sign before the delimiter ('-', '+' or 0). */
static char lex_tag(parser *p, size_t *i, bool block, size_t tag_start) {
    int depth = 0;
    size_t k = *i;
    const char *s = p->src;
    for (;;) {
        while (k < p->len && is_ws(s[k])) k++;
        if (k >= p->len) {
            int l, c;
            where(p, tag_start, &l, &c);
            perr(p, l, c, "unexpected end of template, the tag opened here is not closed");
        }
        char end0 = block ? '%' : '}';
        if (depth == 0) {
            /* '-' before the closing delimiter strips; '+' keeps, for blocks only ("+}}" is an operator) */
            if ((s[k] == '-' || (s[k] == '+' && block)) && k + 2 < p->len && s[k + 1] == end0 && s[k + 2] == '}') {
                emit(p, block ? T_BLOCK_END : T_VAR_END, k);
                *i = k + 3;
                return s[k];
            }
            if (s[k] == end0 && k + 1 < p->len && s[k + 1] == '}') {
                emit(p, block ? T_BLOCK_END : T_VAR_END, k);
                *i = k + 2;
                return 0;
            }
        }
        char ch = s[k];
        if (is_alpha(ch)) {
            size_t st = k;
            while (k < p->len && (is_alpha(s[k]) || is_digit(s[k]))) k++;
            tok *t = emit(p, T_NAME, st);
            t->s = s + st;
            t->n = (uint32_t)(k - st);
        } else if (is_digit(ch)) {
            size_t st = k;
            bool fl = false;
            while (k < p->len && (is_digit(s[k]) || s[k] == '_')) k++;
            bool after_dot = st > 0 && s[st - 1] == '.';
            if (!after_dot && k + 1 < p->len && s[k] == '.' && is_digit(s[k + 1])) {
                fl = true;
                k++;
                while (k < p->len && (is_digit(s[k]) || s[k] == '_')) k++;
            }
            if (!after_dot && k < p->len && (s[k] == 'e' || s[k] == 'E')) {
                size_t e = k + 1;
                if (e < p->len && (s[e] == '+' || s[e] == '-')) e++;
                if (e < p->len && is_digit(s[e])) {
                    fl = true;
                    k = e;
                    while (k < p->len && is_digit(s[k])) k++;
                }
            }
            char tmp[64];
            size_t m = 0;
            for (size_t q = st; q < k && m < sizeof tmp - 1; q++)
                if (s[q] != '_') tmp[m++] = s[q];
            tmp[m] = 0;
            tok *t = emit(p, fl ? T_FLOAT : T_INT, st);
            if (fl) {
                t->f = strtod(tmp, NULL);
            } else {
                errno = 0;
                t->i = strtoll(tmp, NULL, 10);
                if (errno) perr(p, t->line, t->col, "integer literal too large");
            }
        } else if (ch == '\'' || ch == '"') {
            lex_string(p, &k, p->len);
        } else {
            size_t n = 0;
            for (size_t q = 0; q < sizeof ops2 / sizeof ops2[0]; q++)
                if (k + 1 < p->len && s[k] == ops2[q][0] && s[k + 1] == ops2[q][1]) n = 2;
            if (!n && strchr(ops1, ch) && ch) n = 1;
            if (!n) {
                int l, c;
                where(p, k, &l, &c);
                perr(p, l, c, "unexpected character '%c'", ch);
            }
            if (ch == '(' || ch == '[' || ch == '{') depth++;
            if ((ch == ')' || ch == ']' || ch == '}') && depth > 0) depth--;
            tok *t = emit(p, T_OP, k);
            t->s = s + k;
            t->n = (uint32_t)n;
            k += n;
        }
    }
}

static void emit_text(parser *p, size_t off, size_t n) {
    if (!n) return;
    tok *t = emit(p, T_TEXT, off);
    t->s = p->src + off;
    t->n = (uint32_t)n;
}

/* {% raw %} at src[k] (after the opening '{%' and sign)? Sets *body_start */
static bool raw_open(parser *p, size_t k, size_t *after) {
    const char *s = p->src;
    while (k < p->len && is_ws(s[k])) k++;
    if (k + 3 > p->len || strncmp(s + k, "raw", 3) != 0) return false;
    k += 3;
    while (k < p->len && is_ws(s[k])) k++;
    if (k < p->len && (s[k] == '-' || s[k] == '+')) k++;
    if (k + 1 < p->len && s[k] == '%' && s[k + 1] == '}') {
        *after = k + 2;
        return true;
    }
    return false;
}

static void lex(parser *p) {
    const char *s = p->src;
    size_t pos = 0;
    bool line_starting = true;
    while (pos < p->len) {
        const char *t = s + pos;
        size_t tpos = p->len;
        while ((t = memchr(t, '{', p->len - (size_t)(t - s))) != NULL) {
            size_t q = (size_t)(t - s);
            if (q + 1 < p->len && (s[q + 1] == '{' || s[q + 1] == '%' || s[q + 1] == '#')) {
                tpos = q;
                break;
            }
            t++;
        }
        if (tpos == p->len) {
            emit_text(p, pos, p->len - pos);
            break;
        }
        char kind = s[tpos + 1];
        char sign = tpos + 2 < p->len && (s[tpos + 2] == '-' || s[tpos + 2] == '+') ? s[tpos + 2] : 0;
        size_t tlen = tpos - pos;
        if (sign == '-') {
            tlen = rstrip_len(s, pos, pos + tlen);
        } else if (sign != '+' && kind != '{') {
            size_t l_pos = tlen;
            while (l_pos > 0 && s[pos + l_pos - 1] != '\n') l_pos--;
            if (l_pos > 0 || line_starting) {
                if (l_pos < tlen && skip_space(s, pos + l_pos, pos + tlen) == pos + tlen) tlen = l_pos;
            }
        }
        emit_text(p, pos, tlen);
        size_t k = tpos + 2 + (sign ? 1 : 0);
        char end_sign = 0;
        size_t raw_body;
        if (kind == '#') {
            const char *e = NULL;
            for (size_t q = k; q + 1 < p->len; q++)
                if (s[q] == '#' && s[q + 1] == '}') {
                    e = s + q;
                    break;
                }
            if (!e) {
                int l, c;
                where(p, tpos, &l, &c);
                perr(p, l, c, "missing end of comment tag");
            }
            size_t q = (size_t)(e - s);
            if (q > k && (s[q - 1] == '-' || s[q - 1] == '+')) end_sign = s[q - 1];
            k = q + 2;
        } else if (kind == '%' && raw_open(p, k, &raw_body)) {
            /* raw: text up to {% endraw %} */
            size_t q = raw_body;
            for (;; q++) {
                if (q + 1 >= p->len) {
                    int l, c;
                    where(p, tpos, &l, &c);
                    perr(p, l, c, "missing {%% endraw %%}");
                }
                if (s[q] != '{' || s[q + 1] != '%') continue;
                size_t r = q + 2;
                char rs = r < p->len && (s[r] == '-' || s[r] == '+') ? s[r] : 0;
                if (rs) r++;
                while (r < p->len && is_ws(s[r])) r++;
                if (r + 6 <= p->len && strncmp(s + r, "endraw", 6) == 0) {
                    size_t bl = q - raw_body;
                    if (rs == '-') bl = rstrip_len(s, raw_body, raw_body + bl);
                    emit_text(p, raw_body, bl);
                    r += 6;
                    while (r < p->len && is_ws(s[r])) r++;
                    if (r < p->len && (s[r] == '-' || s[r] == '+')) end_sign = s[r++];
                    if (r + 1 >= p->len || s[r] != '%' || s[r + 1] != '}') {
                        int l, c;
                        where(p, r, &l, &c);
                        perr(p, l, c, "expected '%%}' after endraw");
                    }
                    k = r + 2;
                    break;
                }
            }
        } else {
            emit(p, kind == '%' ? T_BLOCK_BEGIN : T_VAR_BEGIN, tpos);
            end_sign = lex_tag(p, &k, kind == '%', tpos);
        }
        if (end_sign == '-') {
            k = skip_space(s, k, p->len);
        } else if (end_sign != '+' && kind != '{' && k < p->len && s[k] == '\n') {
            k++;
        }
        line_starting = k > 0 && s[k - 1] == '\n';
        pos = k;
    }
    emit(p, T_EOF, p->len);
}

/* ---- parser ---------------------------------------------------------------------- */

static tok *cur(parser *p) { return &p->t[p->pos]; }
static tok *peek_at(parser *p, size_t k) { return &p->t[p->pos + k < p->n ? p->pos + k : p->n - 1]; }
static tok *next(parser *p) {
    tok *t = cur(p);
    if (p->pos + 1 < p->n) p->pos++;
    return t;
}

static bool is_op(tok *t, const char *op) {
    return t->type == T_OP && t->n == strlen(op) && memcmp(t->s, op, t->n) == 0;
}
static bool is_name(tok *t, const char *name) {
    return t->type == T_NAME && t->n == strlen(name) && memcmp(t->s, name, t->n) == 0;
}

static const char *tok_desc(tok *t, char *buf, size_t cap) {
    switch (t->type) {
    case T_TEXT: return "template data";
    case T_VAR_BEGIN: return "'{{'";
    case T_VAR_END: return "end of print statement";
    case T_BLOCK_BEGIN: return "'{%'";
    case T_BLOCK_END: return "end of statement block";
    case T_EOF: return "end of template";
    case T_STR: return "string";
    case T_INT:
    case T_FLOAT: return "number";
    default: snprintf(buf, cap, "'%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s); return buf;
    }
}

_Noreturn static void unexpected(parser *p, const char *wanted) {
    char b[64];
    tok *t = cur(p);
    perr(p, t->line, t->col, "expected %s, got %s", wanted, tok_desc(t, b, sizeof b));
}

static void expect_op(parser *p, const char *op) {
    if (!is_op(cur(p), op)) {
        char w[16];
        snprintf(w, sizeof w, "'%s'", op);
        unexpected(p, w);
    }
    next(p);
}

static jnode *node(parser *p, jnkind kind, tok *at) {
    jnode *n = ja_alloc(p->c, sizeof *n);
    n->kind = kind;
    n->line = at->line;
    n->col = at->col;
    return n;
}

typedef struct nvec {
    jnode **v;
    const char **names;
    size_t n, cap;
} nvec;

static void nv_push(parser *p, nvec *v, jnode *x, const char *name) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        jnode **nn = ja_alloc(p->c, cap * sizeof *nn);
        const char **nm = ja_alloc(p->c, cap * sizeof *nm);
        if (v->n) {
            memcpy(nn, v->v, v->n * sizeof *nn);
            memcpy(nm, v->names, v->n * sizeof *nm);
        }
        v->v = nn;
        v->names = nm;
        v->cap = cap;
    }
    v->v[v->n] = x;
    v->names[v->n++] = name;
}

static const char *tok_str(parser *p, tok *t) { return ja_strndup(p->c, t->s, t->n); }

static jnode *parse_expr(parser *p);
static jnode *parse_or(parser *p);
static jnode *parse_unary(parser *p, bool with_filter);
static jnode *parse_primary(parser *p);
static jnode *parse_postfix(parser *p, jnode *n);

static void enter(parser *p) {
    if (++p->depth > JINJA_MAX_DEPTH) {
        tok *t = cur(p);
        perr(p, t->line, t->col, "expression nested too deeply");
    }
}

/* (args) of a call, filter or test; the '(' is current */
static void parse_args(parser *p, jnode *n) {
    expect_op(p, "(");
    nvec v = {0};
    while (!is_op(cur(p), ")")) {
        if (v.n) expect_op(p, ",");
        if (is_op(cur(p), ")")) break;
        const char *kw = NULL;
        if (cur(p)->type == T_NAME && is_op(peek_at(p, 1), "=")) {
            kw = tok_str(p, next(p));
            next(p);
        } else if (is_op(cur(p), "*") || is_op(cur(p), "**")) {
            perr(p, cur(p)->line, cur(p)->col, "*args and **kwargs in calls are not supported");
        }
        nv_push(p, &v, parse_expr(p), kw);
    }
    next(p);
    n->list = v.v;
    n->names = v.names;
    n->n = v.n;
    n->n_names = v.n;
}

static jnode *parse_filter(parser *p, jnode *in) {
    /* the '|' is consumed */
    tok *t = cur(p);
    if (t->type != T_NAME) unexpected(p, "a filter name");
    jnode *f = node(p, E_FILTER, t);
    next(p);
    size_t len = t->n;
    jbuf name = {0};
    jb_add(p->c, &name, t->s, len);
    while (is_op(cur(p), ".") && peek_at(p, 1)->type == T_NAME) {
        next(p);
        jb_char(p->c, &name, '.');
        jb_add(p->c, &name, cur(p)->s, cur(p)->n);
        next(p);
    }
    f->s = name.p;
    f->sn = name.n;
    f->a = in;
    if (is_op(cur(p), "(")) parse_args(p, f);
    return f;
}

static jnode *parse_test(parser *p, jnode *in) {
    /* the 'is' is consumed */
    jnode *t = node(p, E_TEST, cur(p));
    t->a = in;
    if (is_name(cur(p), "not")) {
        t->op = 1;
        next(p);
    }
    tok *nt = cur(p);
    if (nt->type != T_NAME) unexpected(p, "a test name");
    t->s = tok_str(p, nt);
    t->sn = nt->n;
    next(p);
    tok *a = cur(p);
    if (is_op(a, "(")) {
        parse_args(p, t);
    } else if ((a->type == T_NAME || a->type == T_STR || a->type == T_INT || a->type == T_FLOAT || is_op(a, "[") ||
                is_op(a, "{")) &&
               !is_name(a, "else") && !is_name(a, "or") && !is_name(a, "and") && !is_name(a, "if") &&
               !is_name(a, "in") && !is_name(a, "is") && !is_name(a, "not")) {
        jnode *arg = parse_postfix(p, parse_primary(p));
        t->list = ja_alloc(p->c, sizeof(jnode *));
        t->list[0] = arg;
        t->names = ja_alloc(p->c, sizeof(char *));
        t->n = t->n_names = 1;
    }
    return t;
}

static jnode *parse_filter_expr(parser *p, jnode *n) {
    for (;;) {
        if (is_op(cur(p), "|")) {
            next(p);
            n = parse_filter(p, n);
        } else if (is_name(cur(p), "is")) {
            next(p);
            n = parse_test(p, n);
        } else if (is_op(cur(p), "(")) {
            jnode *call = node(p, E_CALL, cur(p));
            call->a = n;
            parse_args(p, call);
            n = call;
        } else {
            return n;
        }
    }
}

static jnode *parse_postfix(parser *p, jnode *n) {
    for (;;) {
        tok *t = cur(p);
        if (is_op(t, ".")) {
            next(p);
            tok *a = cur(p);
            jnode *x;
            if (a->type == T_NAME) {
                x = node(p, E_ATTR, a);
                x->a = n;
                x->s = tok_str(p, a);
                x->sn = a->n;
            } else if (a->type == T_INT) {
                x = node(p, E_ITEM, a);
                x->a = n;
                x->b = node(p, E_LIT, a);
                x->b->lit = jv_int(a->i);
            } else {
                unexpected(p, "an attribute name");
            }
            next(p);
            n = x;
        } else if (is_op(t, "[")) {
            next(p);
            jnode *parts[3] = {NULL, NULL, NULL};
            int k = 0;
            bool slice = false;
            for (;;) {
                if (is_op(cur(p), ":")) {
                    slice = true;
                    if (++k > 2) unexpected(p, "']'");
                    next(p);
                    continue;
                }
                if (is_op(cur(p), "]")) break;
                if (parts[k]) unexpected(p, "':' or ']'");
                parts[k] = parse_expr(p);
            }
            next(p);
            jnode *x;
            if (slice) {
                x = node(p, E_SLICE, t);
                x->b = parts[0];
                x->c = parts[1];
                x->d = parts[2];
            } else {
                if (!parts[0]) perr(p, t->line, t->col, "expected an index");
                x = node(p, E_ITEM, t);
                x->b = parts[0];
            }
            x->a = n;
            n = x;
        } else if (is_op(t, "(")) {
            jnode *call = node(p, E_CALL, t);
            call->a = n;
            parse_args(p, call);
            n = call;
        } else {
            return n;
        }
    }
}

static jnode *parse_primary(parser *p) {
    tok *t = cur(p);
    enter(p);
    jnode *n;
    if (t->type == T_NAME) {
        next(p);
        n = node(p, E_LIT, t);
        if (is_name(t, "true") || is_name(t, "True")) n->lit = jv_bool(true);
        else if (is_name(t, "false") || is_name(t, "False")) n->lit = jv_bool(false);
        else if (is_name(t, "none") || is_name(t, "None")) n->lit = jv_none();
        else {
            n->kind = E_NAME;
            n->s = tok_str(p, t);
            n->sn = t->n;
        }
    } else if (t->type == T_STR) {
        n = node(p, E_LIT, t);
        jbuf b = {0};
        while (cur(p)->type == T_STR) { /* adjacent literals concatenate */
            jb_add(p->c, &b, cur(p)->s, cur(p)->n);
            next(p);
        }
        n->lit = jb_val(&b);
    } else if (t->type == T_INT || t->type == T_FLOAT) {
        next(p);
        n = node(p, E_LIT, t);
        n->lit = t->type == T_INT ? jv_int(t->i) : jv_float(t->f);
    } else if (is_op(t, "(")) {
        next(p);
        if (is_op(cur(p), ")")) {
            next(p);
            n = node(p, E_TUPLE, t);
        } else {
            jnode *first = parse_expr(p);
            if (is_op(cur(p), ",")) {
                nvec v = {0};
                nv_push(p, &v, first, NULL);
                while (is_op(cur(p), ",")) {
                    next(p);
                    if (is_op(cur(p), ")")) break;
                    nv_push(p, &v, parse_expr(p), NULL);
                }
                n = node(p, E_TUPLE, t);
                n->list = v.v;
                n->n = v.n;
            } else {
                n = first;
            }
            expect_op(p, ")");
        }
    } else if (is_op(t, "[")) {
        next(p);
        nvec v = {0};
        while (!is_op(cur(p), "]")) {
            if (v.n) expect_op(p, ",");
            if (is_op(cur(p), "]")) break;
            nv_push(p, &v, parse_expr(p), NULL);
        }
        next(p);
        n = node(p, E_LIST, t);
        n->list = v.v;
        n->n = v.n;
    } else if (is_op(t, "{")) {
        next(p);
        nvec v = {0};
        while (!is_op(cur(p), "}")) {
            if (v.n) expect_op(p, ",");
            if (is_op(cur(p), "}")) break;
            nv_push(p, &v, parse_expr(p), NULL);
            expect_op(p, ":");
            nv_push(p, &v, parse_expr(p), NULL);
        }
        next(p);
        n = node(p, E_DICT, t);
        n->list = v.v;
        n->n = v.n;
    } else {
        unexpected(p, "an expression");
    }
    p->depth--;
    return n;
}

static jnode *parse_unary(parser *p, bool with_filter) {
    tok *t = cur(p);
    jnode *n;
    enter(p);
    if (is_op(t, "-") || is_op(t, "+")) {
        next(p);
        n = node(p, is_op(t, "-") ? E_NEG : E_POS, t);
        n->a = parse_unary(p, false);
    } else {
        n = parse_primary(p);
    }
    n = parse_postfix(p, n);
    if (with_filter) n = parse_filter_expr(p, n);
    p->depth--;
    return n;
}

static jnode *binary(parser *p, jnkind kind, int op, tok *at, jnode *a, jnode *b) {
    jnode *n = node(p, kind, at);
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}

static jnode *parse_pow(parser *p) {
    jnode *n = parse_unary(p, true);
    while (is_op(cur(p), "**")) {
        tok *t = next(p);
        n = binary(p, E_BIN, OP_POW, t, n, parse_unary(p, true));
    }
    return n;
}

static jnode *parse_math2(parser *p) {
    jnode *n = parse_pow(p);
    for (;;) {
        tok *t = cur(p);
        int op = is_op(t, "*") ? OP_MUL : is_op(t, "/") ? OP_DIV : is_op(t, "//") ? OP_FLOORDIV
                                                                 : is_op(t, "%") ? OP_MOD : -1;
        if (op < 0) return n;
        next(p);
        n = binary(p, E_BIN, op, t, n, parse_pow(p));
    }
}

static jnode *parse_concat(parser *p) {
    jnode *n = parse_math2(p);
    while (is_op(cur(p), "~")) {
        tok *t = next(p);
        n = binary(p, E_CONCAT, 0, t, n, parse_math2(p));
    }
    return n;
}

static jnode *parse_math1(parser *p) {
    jnode *n = parse_concat(p);
    for (;;) {
        tok *t = cur(p);
        int op = is_op(t, "+") ? OP_ADD : is_op(t, "-") ? OP_SUB : -1;
        if (op < 0) return n;
        next(p);
        n = binary(p, E_BIN, op, t, n, parse_concat(p));
    }
}

static jnode *parse_compare(parser *p) {
    jnode *n = parse_math1(p);
    for (;;) {
        tok *t = cur(p);
        int op = is_op(t, "==") ? OP_EQ : is_op(t, "!=") ? OP_NE : is_op(t, "<") ? OP_LT : is_op(t, "<=") ? OP_LE
               : is_op(t, ">") ? OP_GT : is_op(t, ">=") ? OP_GE : is_name(t, "in") ? OP_IN : -1;
        if (op < 0 && is_name(t, "not") && is_name(peek_at(p, 1), "in")) {
            next(p);
            op = OP_NOTIN;
        }
        if (op < 0) return n;
        next(p);
        n = binary(p, E_CMP, op, t, n, parse_math1(p));
    }
}

static jnode *parse_not(parser *p) {
    if (is_name(cur(p), "not")) {
        tok *t = next(p);
        enter(p);
        jnode *n = node(p, E_NOT, t);
        n->a = parse_not(p);
        p->depth--;
        return n;
    }
    return parse_compare(p);
}

static jnode *parse_and(parser *p) {
    jnode *n = parse_not(p);
    while (is_name(cur(p), "and")) {
        tok *t = next(p);
        n = binary(p, E_AND, 0, t, n, parse_not(p));
    }
    return n;
}

static jnode *parse_or(parser *p) {
    jnode *n = parse_and(p);
    while (is_name(cur(p), "or")) {
        tok *t = next(p);
        n = binary(p, E_OR, 0, t, n, parse_and(p));
    }
    return n;
}

static jnode *parse_expr(parser *p) {
    enter(p);
    jnode *n = parse_or(p);
    while (is_name(cur(p), "if")) {
        tok *t = next(p);
        jnode *c = node(p, E_COND, t);
        c->b = n;
        c->a = parse_or(p);
        if (is_name(cur(p), "else")) {
            next(p);
            c->c = parse_expr(p);
        }
        n = c;
    }
    p->depth--;
    return n;
}

/* expr or expr, expr, ... (a tuple) */
static jnode *parse_tuple(parser *p, bool condexpr) {
    tok *t = cur(p);
    jnode *first = condexpr ? parse_expr(p) : parse_or(p);
    if (!is_op(cur(p), ",")) return first;
    nvec v = {0};
    nv_push(p, &v, first, NULL);
    while (is_op(cur(p), ",")) {
        next(p);
        if (cur(p)->type == T_BLOCK_END || cur(p)->type == T_VAR_END || is_op(cur(p), "=")) break;
        nv_push(p, &v, condexpr ? parse_expr(p) : parse_or(p), NULL);
    }
    jnode *n = node(p, E_TUPLE, t);
    n->list = v.v;
    n->n = v.n;
    return n;
}

/* ---- statements ------------------------------------------------------------------ */

static void parse_body(parser *p, nvec *out, const char *const *ends);

static void expect_block_end(parser *p) {
    if (cur(p)->type != T_BLOCK_END) unexpected(p, "end of statement block");
    next(p);
}

/* after parse_body stopped at {% NAME: the NAME is current */
static bool at_end(parser *p, const char *name) { return is_name(cur(p), name); }

/* assignment targets: name, name.attr, or names separated by commas */
static void parse_targets(parser *p, jnode *n, bool allow_attr) {
    nvec v = {0};
    bool paren = is_op(cur(p), "(");
    if (paren) next(p);
    for (;;) {
        tok *t = cur(p);
        if (t->type != T_NAME) unexpected(p, "a variable name");
        next(p);
        if (allow_attr && v.n == 0 && is_op(cur(p), ".")) {
            next(p);
            tok *a = cur(p);
            if (a->type != T_NAME) unexpected(p, "an attribute name");
            next(p);
            n->s = tok_str(p, t);
            n->op = 1;
            nv_push(p, &v, NULL, tok_str(p, a));
            break;
        }
        nv_push(p, &v, NULL, tok_str(p, t));
        if (!is_op(cur(p), ",")) break;
        next(p);
    }
    if (paren) expect_op(p, ")");
    n->names = v.names;
    n->n_names = v.n;
}

static jnode *parse_filter_chain(parser *p) {
    jnode *f = NULL;
    do {
        f = parse_filter(p, f);
    } while (is_op(cur(p), "|") && next(p));
    return f;
}

static void set_body(jnode *n, nvec *v, bool second) {
    if (second) {
        n->list2 = v->v;
        n->n2 = v->n;
    } else {
        n->list = v->v;
        n->n = v->n;
    }
}

static void parse_macro_params(parser *p, jnode *n) {
    expect_op(p, "(");
    nvec v = {0};
    while (!is_op(cur(p), ")")) {
        if (v.n) expect_op(p, ",");
        if (is_op(cur(p), ")")) break;
        tok *t = cur(p);
        if (t->type != T_NAME) unexpected(p, "a parameter name");
        next(p);
        jnode *def = NULL;
        if (is_op(cur(p), "=")) {
            next(p);
            def = parse_expr(p);
        }
        nv_push(p, &v, def, tok_str(p, t));
    }
    next(p);
    n->list2 = v.v;
    n->n2 = v.n;
    n->names = v.names;
    n->n_names = v.n;
}

static jnode *parse_statement(parser *p) {
    tok *t = cur(p);
    if (t->type != T_NAME) unexpected(p, "a statement name");
    enter(p);
    jnode *n;
    nvec body = {0};
    if (is_name(t, "if") || is_name(t, "elif")) {
        next(p);
        n = node(p, S_IF, t);
        n->a = parse_tuple(p, true);
        expect_block_end(p);
        static const char *const ends[] = {"elif", "else", "endif", NULL};
        parse_body(p, &body, ends);
        set_body(n, &body, false);
        if (at_end(p, "elif")) {
            nvec e = {0};
            nv_push(p, &e, parse_statement(p), NULL);
            set_body(n, &e, true);
            p->depth--;
            return n;
        }
        if (at_end(p, "else")) {
            next(p);
            expect_block_end(p);
            static const char *const ends2[] = {"endif", NULL};
            nvec e = {0};
            parse_body(p, &e, ends2);
            set_body(n, &e, true);
        }
        next(p);
        expect_block_end(p);
    } else if (is_name(t, "for")) {
        next(p);
        n = node(p, S_FOR, t);
        parse_targets(p, n, false);
        if (!is_name(cur(p), "in")) unexpected(p, "'in'");
        next(p);
        n->a = parse_tuple(p, false);
        if (is_name(cur(p), "if")) {
            next(p);
            n->b = parse_expr(p);
        }
        if (is_name(cur(p), "recursive")) perr(p, cur(p)->line, cur(p)->col, "recursive loops are not supported");
        expect_block_end(p);
        static const char *const ends[] = {"endfor", "else", NULL};
        p->loops++;
        parse_body(p, &body, ends);
        p->loops--;
        set_body(n, &body, false);
        if (at_end(p, "else")) {
            next(p);
            expect_block_end(p);
            static const char *const ends2[] = {"endfor", NULL};
            nvec e = {0};
            parse_body(p, &e, ends2);
            set_body(n, &e, true);
        }
        next(p);
        expect_block_end(p);
    } else if (is_name(t, "set")) {
        next(p);
        n = node(p, S_SET, t);
        parse_targets(p, n, true);
        if (is_op(cur(p), "=")) {
            next(p);
            n->a = parse_tuple(p, true);
            expect_block_end(p);
        } else {
            n->kind = S_SETBLOCK;
            if (is_op(cur(p), "|")) {
                next(p);
                n->b = parse_filter_chain(p);
            }
            expect_block_end(p);
            static const char *const ends[] = {"endset", NULL};
            parse_body(p, &body, ends);
            set_body(n, &body, false);
            next(p);
            expect_block_end(p);
        }
    } else if (is_name(t, "macro")) {
        next(p);
        n = node(p, S_MACRO, t);
        tok *nm = cur(p);
        if (nm->type != T_NAME) unexpected(p, "a macro name");
        n->s = tok_str(p, nm);
        n->sn = nm->n;
        next(p);
        parse_macro_params(p, n);
        expect_block_end(p);
        static const char *const ends[] = {"endmacro", NULL};
        int loops = p->loops;
        p->loops = 0; /* a macro body is a function of its own */
        parse_body(p, &body, ends);
        p->loops = loops;
        set_body(n, &body, false);
        next(p);
        if (cur(p)->type == T_NAME) next(p);
        expect_block_end(p);
    } else if (is_name(t, "call")) {
        next(p);
        n = node(p, S_CALLBLOCK, t);
        if (is_op(cur(p), "("))
            parse_macro_params(p, n);
        n->a = parse_expr(p);
        if (n->a->kind != E_CALL) perr(p, t->line, t->col, "expected a call after 'call'");
        expect_block_end(p);
        static const char *const ends[] = {"endcall", NULL};
        int loops = p->loops;
        p->loops = 0;
        parse_body(p, &body, ends);
        p->loops = loops;
        set_body(n, &body, false);
        next(p);
        expect_block_end(p);
    } else if (is_name(t, "filter")) {
        next(p);
        n = node(p, S_FILTERBLOCK, t);
        n->b = parse_filter_chain(p);
        expect_block_end(p);
        static const char *const ends[] = {"endfilter", NULL};
        parse_body(p, &body, ends);
        set_body(n, &body, false);
        next(p);
        expect_block_end(p);
    } else if (is_name(t, "generation")) { /* transformers' assistant-mask block: renders its body */
        next(p);
        n = node(p, S_BODY, t);
        expect_block_end(p);
        static const char *const ends[] = {"endgeneration", NULL};
        parse_body(p, &body, ends);
        set_body(n, &body, false);
        next(p);
        expect_block_end(p);
    } else if (is_name(t, "with")) {
        next(p);
        n = node(p, S_WITH, t);
        nvec v = {0};
        while (cur(p)->type != T_BLOCK_END) {
            if (v.n) expect_op(p, ",");
            tok *nm = cur(p);
            if (nm->type != T_NAME) unexpected(p, "a variable name");
            next(p);
            expect_op(p, "=");
            nv_push(p, &v, parse_expr(p), tok_str(p, nm));
        }
        n->list2 = v.v;
        n->n2 = v.n;
        n->names = v.names;
        n->n_names = v.n;
        expect_block_end(p);
        static const char *const ends[] = {"endwith", NULL};
        parse_body(p, &body, ends);
        set_body(n, &body, false);
        next(p);
        expect_block_end(p);
    } else if (is_name(t, "break") || is_name(t, "continue")) {
        next(p);
        if (!p->loops) perr(p, t->line, t->col, "'%.*s' outside a loop", (int)t->n, t->s);
        n = node(p, is_name(t, "break") ? S_BREAK : S_CONTINUE, t);
        expect_block_end(p);
    } else {
        char b[64];
        perr(p, t->line, t->col, "unknown or unsupported statement %s", tok_desc(t, b, sizeof b));
    }
    p->depth--;
    return n;
}

/* statements until {% one of ends %} (the end name is left current) or the end */
static void parse_body(parser *p, nvec *out, const char *const *ends) {
    for (;;) {
        tok *t = cur(p);
        if (t->type == T_EOF) {
            if (ends) {
                perr(p, t->line, t->col, "unexpected end of template, expected '%s'", ends[0]);
            }
            return;
        }
        if (t->type == T_TEXT) {
            jnode *n = node(p, S_TEXT, t);
            n->s = t->s;
            n->sn = t->n;
            nv_push(p, out, n, NULL);
            next(p);
        } else if (t->type == T_VAR_BEGIN) {
            next(p);
            jnode *n = node(p, S_OUT, t);
            n->a = parse_tuple(p, true);
            if (cur(p)->type != T_VAR_END) unexpected(p, "end of print statement");
            next(p);
            nv_push(p, out, n, NULL);
        } else if (t->type == T_BLOCK_BEGIN) {
            next(p);
            if (ends)
                for (const char *const *e = ends; *e; e++)
                    if (is_name(cur(p), *e)) return;
            nv_push(p, out, parse_statement(p), NULL);
        } else {
            unexpected(p, "template data or a tag");
        }
    }
}

void jparse(jctx *c, const char *src, size_t *n_out, jnode ***body) {
    parser p = {.c = c, .w_line = 1};
    /* newlines to \n, one trailing newline dropped */
    size_t n = strlen(src);
    if (n > UINT32_MAX / 2) jfail(c, OWL_ERR_FORMAT, "template too long (%zu bytes)", n);
    char *s = ja_alloc(c, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '\r') {
            s[k++] = '\n';
            if (i + 1 < n && src[i + 1] == '\n') i++;
        } else {
            s[k++] = src[i];
        }
    }
    if (k && s[k - 1] == '\n') k--;
    s[k] = 0;
    p.src = s;
    p.len = k;
    lex(&p);
    nvec v = {0};
    parse_body(&p, &v, NULL);
    *n_out = v.n;
    *body = v.v;
    free(p.t);
    c->scratch = NULL;
}
