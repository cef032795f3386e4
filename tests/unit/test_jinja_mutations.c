/* test_jinja_mutations.c — broken templates never crash the interpreter.
 *
 * Each real template of tests/fixtures/templates is cut and spliced at
 * random places (a fixed seed, so runs repeat) with Jinja punctuation and
 * keywords, then rendered on one of its conversations. Every render must
 * either succeed or fail with a message and no output; under the ASan and
 * UBSan build this also checks memory safety and that nothing leaks. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "owl.h"
#include "tokenizer/jinja.h"

enum { PER_TEMPLATE = 150 };

static unsigned next_rand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) & 0xFFFFFF;
}

int main(void) {
    static const char *const pieces[] = {"{{", "}}", "{%", "%}", "{#", "#}", "-", "+", "(", ")", "[", "]", "{", "}",
                                         "'", "\"", "|", ".", ",", ":", "=", "~", "*", "**", "\\", " if ", " else ",
                                         " for x in ", "endfor", "endif", "loop.", "ns.", "macro", "caller()",
                                         "namespace(", "0", "-1", "::-1", "none", " is ", " not ", "raw", "set "};
    const char *fixtures = check_env("OWL_FIXTURES");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/templates", fixtures);
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot open %s", dir);
    if (!d) return check_done();
    unsigned seed = 20241123u;
    size_t n_ok = 0, n_err = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_t *root = json_load_file(path, 0, NULL);
        CHECK(root != NULL, "cannot read %s", path);
        if (!root) continue;
        const char *tmpl = json_string_value(json_object_get(root, "template"));
        json_t *cases = json_object_get(root, "cases");
        size_t n = strlen(tmpl);
        char *m = malloc(n + 256);
        for (int it = 0; it < PER_TEMPLATE && m; it++) {
            memcpy(m, tmpl, n + 1);
            size_t len = n;
            int edits = 1 + (int)(next_rand(&seed) % 4);
            for (int j = 0; j < edits; j++) {
                size_t pos = len ? next_rand(&seed) % len : 0;
                if (next_rand(&seed) % 3 == 0 && len > 16) {
                    size_t cut = 1 + next_rand(&seed) % 12;
                    if (pos + cut > len) cut = len - pos;
                    memmove(m + pos, m + pos + cut, len - pos - cut + 1);
                    len -= cut;
                } else {
                    const char *p = pieces[next_rand(&seed) % (sizeof pieces / sizeof pieces[0])];
                    size_t pl = strlen(p);
                    if (len + pl >= n + 255) continue;
                    memmove(m + pos + pl, m + pos, len - pos + 1);
                    memcpy(m + pos, p, pl);
                    len += pl;
                }
            }
            json_t *ctx = json_object_get(json_array_get(cases, (size_t)it % json_array_size(cases)), "context");
            char *out = NULL;
            owl_status st = jinja_render(m, ctx, 1 << 20, &out);
            if (st == OWL_OK) {
                CHECK(out != NULL, "%s mutation %d: OK without output", e->d_name, it);
                n_ok++;
            } else {
                CHECK(out == NULL && owl_last_error()[0], "%s mutation %d: error %d without a message", e->d_name, it,
                      st);
                n_err++;
            }
            free(out);
        }
        free(m);
        json_decref(root);
    }
    closedir(d);
    printf("mutated templates: %zu rendered, %zu refused, none crashed\n", n_ok, n_err);
    CHECK(n_ok + n_err >= 20 * PER_TEMPLATE, "only %zu mutated renders", n_ok + n_err);
    return check_done();
}
