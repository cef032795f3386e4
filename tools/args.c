/* args.c — option parsing and help pages for the owl subcommands (see args.h). */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(const char *cmd, const char *fmt, ...) {
    fprintf(stderr, "owl %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* "[0, 1]", ">= 1", "<= 5" or "" for a range */
static void range_text(char *buf, size_t cap, const arg_opt *o) {
    bool lo = isfinite(o->min), hi = isfinite(o->max);
    if (o->kind == ARG_U64) lo = hi = false;
    if (o->kind == ARG_INT && o->max >= INT32_MAX) hi = false; /* "no limit" */
    if (lo && hi)
        snprintf(buf, cap, " in [%.15g, %.15g]", o->min, o->max);
    else if (lo)
        snprintf(buf, cap, " >= %.15g", o->min);
    else if (hi)
        snprintf(buf, cap, " <= %.15g", o->max);
    else
        buf[0] = 0;
}

static int bad_value(const arg_cmd *cmd, const arg_opt *o, const char *name, const char *v) {
    char range[96];
    range_text(range, sizeof range, o);
    const char *what = o->kind == ARG_FLOAT ? "a number" : o->kind == ARG_U64 ? "a non-negative integer"
                                                                             : "an integer";
    cli_fail(cmd->name, "%s expects %s%s, got '%s'", name, what, range, v);
    return ARGS_ERROR;
}

/* Stores the value v of option o (written as name on the command line). */
static int set_value(const arg_cmd *cmd, const arg_opt *o, const char *name, const char *v) {
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case ARG_FLAG: return ARGS_OK;
    case ARG_STR: *(const char **)o->dst = v; return ARGS_OK;
    case ARG_INT: {
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno || x < o->min || x > o->max || x < INT32_MIN || x > INT32_MAX)
            return bad_value(cmd, o, name, v);
        *(int32_t *)o->dst = (int32_t)x;
        return ARGS_OK;
    }
    case ARG_FLOAT: {
        double x = strtod(v, &end);
        if (!*v || *end || errno == ERANGE || !isfinite(x) || x < o->min || x > o->max)
            return bad_value(cmd, o, name, v);
        *(float *)o->dst = (float)x;
        return ARGS_OK;
    }
    case ARG_U64: {
        const char *s = v;
        while (*s == ' ') s++;
        if (*s == '-' || *s == '+') return bad_value(cmd, o, name, v);
        bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
        unsigned long long x = strtoull(v, &end, hex ? 16 : 10);
        if (!*v || *end || errno) return bad_value(cmd, o, name, v);
        *(uint64_t *)o->dst = (uint64_t)x;
        return ARGS_OK;
    }
    }
    return ARGS_ERROR;
}

int args_parse_given(const arg_cmd *cmd, const arg_opt *opts, size_t n_opts, int argc, char **argv,
               const char **pos, int max_pos, int *n_pos, bool *given) {
    *n_pos = 0;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) { /* "-" alone is a positional (stdin) */
            if (*n_pos >= max_pos) {
                if (max_pos == 0)
                    return cli_fail(cmd->name, "unexpected argument '%s' (owl %s --help shows the usage)", a,
                                    cmd->name);
                return cli_fail(cmd->name, "unexpected extra argument '%s' (owl %s --help shows the usage)",
                                a, cmd->name);
            }
            pos[(*n_pos)++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = true;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            args_usage(stdout, cmd, opts, n_opts);
            return ARGS_HELP;
        }
        /* --name=value */
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
        const arg_opt *o = NULL;
        for (size_t k = 0; k < n_opts && !o; k++) {
            const char *s = opts[k].short_name, *l = opts[k].long_name;
            if ((s && strlen(s) == name_len && !strncmp(a, s, name_len)) ||
                (l && strlen(l) == name_len && !strncmp(a, l, name_len)))
                o = &opts[k];
        }
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(name_len < 60 ? name_len : 60), a);
        if (!o)
            return cli_fail(cmd->name, "unknown option '%s' (owl %s --help lists the options)", name, cmd->name);
        if (given) given[o - opts] = true;
        if (o->kind == ARG_FLAG) {
            if (eq) return cli_fail(cmd->name, "%s takes no value, got '%s'", name, eq + 1);
            *(bool *)o->dst = true;
            continue;
        }
        const char *v;
        if (eq) {
            v = eq + 1;
        } else {
            if (i + 1 >= argc) return cli_fail(cmd->name, "%s needs a value", name);
            v = argv[++i];
        }
        if (set_value(cmd, o, name, v) != ARGS_OK) return ARGS_ERROR;
    }
    return ARGS_OK;
}

/* "  NAMES  text", the text wrapped at spaces to 80 columns, continuation
 * lines indented under its first line; '\1' is a space that never breaks */
static void print_wrapped(FILE *f, const char *names, const char *text) {
    enum { COL = 31, WIDTH = 80 };
    fprintf(f, "  %-28s ", names);
    if (strlen(names) > 28) fprintf(f, "\n%*s", COL, ""); /* long names: text on the next line */
    int col = COL;
    for (const char *p = text; *p;) {
        while (*p == ' ') p++;
        size_t word = strcspn(p, " ");
        if (!word) break;
        if (col > COL) {
            if (col + 1 + (int)word > WIDTH) {
                fprintf(f, "\n%*s", COL, "");
                col = COL;
            } else {
                fputc(' ', f);
                col++;
            }
        }
        for (size_t i = 0; i < word; i++) fputc(p[i] == '\1' ? ' ' : p[i], f);
        col += (int)word;
        p += word;
    }
    fputc('\n', f);
}

void args_usage(FILE *f, const arg_cmd *cmd, const arg_opt *opts, size_t n_opts) {
    fprintf(f, "usage: owl %s %s\n\n", cmd->name, cmd->synopsis);
    if (cmd->about) fprintf(f, "%s\n\n", cmd->about);
    fprintf(f, "options:\n");
    for (size_t k = 0; k < n_opts; k++) {
        const arg_opt *o = &opts[k];
        char names[64];
        snprintf(names, sizeof names, "%s%s%s%s%s", o->short_name ? o->short_name : "",
                 o->short_name ? ", " : "    ", o->long_name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        char def[80] = "";
        switch (o->kind) {
        case ARG_FLAG: break;
        case ARG_STR:
            if (*(const char **)o->dst) snprintf(def, sizeof def, " (default\1%s)", *(const char **)o->dst);
            break;
        case ARG_INT: snprintf(def, sizeof def, " (default\1%d)", (int)*(int32_t *)o->dst); break;
        case ARG_FLOAT: snprintf(def, sizeof def, " (default\1%g)", (double)*(float *)o->dst); break;
        case ARG_U64:
            snprintf(def, sizeof def, " (default\1%llu)", (unsigned long long)*(uint64_t *)o->dst);
            break;
        }
        char text[512];
        snprintf(text, sizeof text, "%s%s", o->help, def);
        print_wrapped(f, names, text);
    }
    fprintf(f, "  %-28s %s\n", "-h, --help", "show this help and exit");
    if (cmd->footer) fprintf(f, "\n%s\n", cmd->footer);
}

char *cli_read_file(const char *cmd, const char *path, size_t *len) {
    bool is_stdin = !strcmp(path, "-");
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        cli_fail(cmd, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0) break;
    }
    bool err = ferror(f);
    if (!is_stdin) fclose(f);
    if (!buf) {
        cli_fail(cmd, "out of memory reading '%s'", path);
        return NULL;
    }
    if (err) {
        free(buf);
        cli_fail(cmd, "cannot read '%s'", path);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int args_parse(const arg_cmd *cmd, const arg_opt *opts, size_t n_opts, int argc, char **argv,
               const char **pos, int max_pos, int *n_pos) {
    return args_parse_given(cmd, opts, n_opts, argc, argv, pos, max_pos, n_pos, NULL);
}
