/* test_jinja.c — the Jinja interpreter's language and its sandbox.
 *
 * Language: every small template of tests/fixtures/jinja/features.json
 * (whitespace control, trim/lstrip_blocks, operators, printing of Python
 * values, loops and loop variables, namespace, macros and caller, set and
 * filter blocks, break/continue, filters, tests, str/dict/list methods,
 * tojson variants, and templates Jinja2 refuses) renders as Python Jinja2
 * rendered it (scripts/reference/make_template_fixtures.py), or fails; so
 * does each of 2000 random expressions (jinja/expressions.json) over
 * literals, operators, filters, tests, slices and inline ifs, and of 1000
 * random nestings of text, if/for/set/macro/comment tags with every mix of
 * '-' / '+' signs and whitespace (jinja/statements.json), and of 1000
 * random nestings of if/elif/else, for (filtered, with else), break and
 * continue, set/filter/call blocks and macros (jinja/blocks.json).
 * Sandbox: runaway recursion, huge loops and ranges, huge output and
 * memory are stopped with an error naming the limit; raise_exception's
 * message reaches the caller; syntax errors give line and column; the
 * template can reach nothing but its context. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tokenizer/jinja.h"

static const struct tm fixed = {.tm_year = 2024 - 1900, .tm_mon = 6, .tm_mday = 26, .tm_hour = 9, .tm_min = 30,
                                .tm_wday = 5, .tm_yday = 207};

/* renders tmpl with an empty context; returns the status, *out or NULL */
static owl_status render(const char *tmpl, size_t max_output, char **out) {
    json_t *ctx = json_object();
    jinja_opts o = {.max_output = max_output, .now = &fixed};
    owl_status st = jinja_render_opts(tmpl, ctx, &o, out);
    json_decref(ctx);
    return st;
}

static void expect_error(const char *tmpl, owl_status want, const char *msg_part) {
    char *out = NULL;
    owl_status st = render(tmpl, 0, &out);
    CHECK(st == want && out == NULL && strstr(owl_last_error(), msg_part),
          "\"%s\": status %d (want %d), message \"%s\" (want \"%s\")", tmpl, st, want, st ? owl_last_error() : "",
          msg_part);
    free(out);
}

static void features(const char *fixtures, const char *name, size_t min_cases) {
    char path[4096];
    snprintf(path, sizeof path, "%s/jinja/%s.json", fixtures, name);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    CHECK(root != NULL, "%s: %s", path, jerr.text);
    if (!root) return;
    json_t *ctx = json_object_get(root, "context"), *cases = json_object_get(root, "cases");
    jinja_opts o = {.now = &fixed};
    size_t ok = 0, n = json_array_size(cases);
    CHECK(n >= min_cases, "only %zu cases in %s", n, path);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cases, i);
        const char *tmpl = json_string_value(json_object_get(c, "template"));
        const char *want = json_string_value(json_object_get(c, "text"));
        char *got = NULL;
        owl_status st = jinja_render_opts(tmpl, ctx, &o, &got);
        bool same = want ? st == OWL_OK && strcmp(got, want) == 0 : st != OWL_OK && got == NULL;
        CHECK(same, "%s %zu \"%s\":\n  got  \"%s\"\n  want \"%s\"", name, i, tmpl, got ? got : owl_last_error(),
              want ? want : json_string_value(json_object_get(c, "error")));
        ok += same;
        free(got);
    }
    printf("%s: %zu/%zu match jinja2\n", name, ok, n);
    json_decref(root);
}

int main(void) {
    features(check_env("OWL_FIXTURES"), "features", 70);
    features(check_env("OWL_FIXTURES"), "expressions", 2000);
    features(check_env("OWL_FIXTURES"), "statements", 1000);
    features(check_env("OWL_FIXTURES"), "blocks", 1000);

    /* raise_exception: the caller's error, with the template's message */
    expect_error("{% if true %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}", OWL_ERR_ARG,
                 "Conversation roles must alternate");

    /* runaway templates are stopped */
    expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", OWL_ERR_FORMAT, "nested calls");
    expect_error("{% for i in range(100000000) %}{% endfor %}", OWL_ERR_FORMAT, "iterations");
    expect_error("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(10) %}{% endfor %}"
                 "{% endfor %}{% endfor %}",
                 OWL_ERR_FORMAT, "iterations");
    expect_error("{% macro f(n) %}{% for i in range(3) %}{{ f(n) }}{% endfor %}{% endmacro %}{{ f(0) }}",
                 OWL_ERR_FORMAT, "template exceeded");
    /* output: a limit the caller sets, and the default one */
    char *out = NULL;
    owl_status st = render("{% for i in range(1000) %}0123456789{% endfor %}", 5000, &out);
    CHECK(st == OWL_ERR_FORMAT && !out && strstr(owl_last_error(), "5000 bytes of output"), "output limit: %d %s",
          st, owl_last_error());
    expect_error("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
                 "{{ ns.s | length }}",
                 OWL_ERR_FORMAT, "template exceeded");
    expect_error("{{ 'x' * 100000000000 }}", OWL_ERR_FORMAT, "exceeded");
    char deep[1024] = "{{ ";
    for (int i = 0; i < 300; i++) strcat(deep, "(");
    strcat(deep, "1");
    for (int i = 0; i < 300; i++) strcat(deep, ")");
    strcat(deep, " }}");
    expect_error(deep, OWL_ERR_FORMAT, "nested too deeply");

    /* syntax errors: line and column */
    expect_error("line one\n{% if true %}\n{{ 1 + }}\n{% endif %}", OWL_ERR_FORMAT, "line 3 column 8");
    expect_error("{% for x in y %}never closed", OWL_ERR_FORMAT, "expected 'endfor'");
    expect_error("\n{{ 'é日本' ~ ) }}", OWL_ERR_FORMAT, "line 2 column 12"); /* columns count characters */
    expect_error("{{ 'unterminated }}", OWL_ERR_FORMAT, "unterminated string");
    expect_error("{% if x %}{% endfor %}", OWL_ERR_FORMAT, "line 1");
    expect_error("{{ x", OWL_ERR_FORMAT, "not closed");
    expect_error("{# comment", OWL_ERR_FORMAT, "comment");

    /* the sandbox: no include/import/extends, no mutation, nothing outside the context */
    expect_error("{% include 'x.jinja' %}", OWL_ERR_FORMAT, "unsupported statement");
    expect_error("{% import 'os' as os %}", OWL_ERR_FORMAT, "unsupported statement");
    expect_error("{% set d = {} %}{{ d.update({'a': 1}) }}", OWL_ERR_ARG, "unsafe");
    expect_error("{{ ''.__class__ }}{{ x.__class__.__mro__ }}", OWL_ERR_ARG, "undefined");
    st = render("[{{ ''.__class__ }}][{{ cycler }}][{{ lipsum }}][{{ self }}]", 0, &out);
    CHECK(st == OWL_OK && out && strcmp(out, "[][][][]") == 0, "nothing outside the context: %d \"%s\"", st,
          out ? out : owl_last_error());
    free(out);

    /* strftime_now reads the clock the caller gives */
    st = render("{{ strftime_now('%d %b %Y') }}", 0, &out);
    CHECK(st == OWL_OK && out && strcmp(out, "26 Jul 2024") == 0, "strftime_now: \"%s\"", out ? out : "");
    free(out);

    /* parsed once, rendered many times */
    jinja_template *t = NULL;
    st = jinja_template_parse("{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}", &t);
    CHECK(st == OWL_OK && t, "parse: %d", st);
    for (int k = 0; k < 2 && t; k++) {
        json_t *ctx = json_pack("{s:[{s:s,s:s}]}", "messages", "role", k ? "user" : "system", "content", "hé");
        st = jinja_template_render(t, ctx, NULL, &out);
        CHECK(st == OWL_OK && out && strcmp(out, k ? "user:hé;" : "system:hé;") == 0, "render %d: \"%s\"", k,
              out ? out : owl_last_error());
        free(out);
        json_decref(ctx);
    }
    jinja_template_free(t);
    t = (jinja_template *)1;
    st = jinja_template_parse("{% if %}", &t);
    CHECK(st == OWL_ERR_FORMAT && t == NULL, "parse error: %d", st);
    jinja_template_free(NULL);

    /* context must be an object; NULL is an empty one */
    json_t *arr = json_array();
    st = jinja_render("x", arr, 0, &out);
    CHECK(st == OWL_ERR_ARG && out == NULL, "array context: %d", st);
    json_decref(arr);
    st = jinja_render("{{ nothing }}ok", NULL, 0, &out);
    CHECK(st == OWL_OK && out && strcmp(out, "ok") == 0, "NULL context");
    free(out);
    return check_done();
}
