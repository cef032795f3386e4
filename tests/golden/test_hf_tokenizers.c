/* test_hf_tokenizers.c — owl's tokenizer.json support against Hugging Face
 * `tokenizers` on thousands of strings per tokenizer.
 *
 * For the four folders of $OWL_SHARED_DIR/data/tokenizers and the SmolLM2
 * tokenizer.json that transformers writes from the GGUF
 * (tests/fixtures/tokenizer/smollm2-hf), the fixture
 * tests/fixtures/tokenizer/parity-NAME.txt (made by
 * scripts/reference/make_tokenizer_parity.py) holds the strings, the ids
 * Tokenizer.encode gives with add_special_tokens False and True, and
 * whether decode(encode(s)) gives s back. Owl must give the same ids in
 * both modes (added tokens in the text are always parsed, as in HF), and
 * decode back to the very string wherever HF does. Prints
 * "NAME: N/N ids identical, round trip M/M" per tokenizer.
 *
 * Then the variants (1000 strings each): one of those tokenizer.json files
 * with parts replaced by the patch the fixture holds (Metaspace with each
 * prepend_scheme and split, normalizer chains, Split behaviours, Bert and
 * Whitespace pre-tokenizers, added tokens with lstrip/rstrip/single_word/
 * normalized, other post-processors), written to OWL_TMP and checked the
 * same way. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "tokenizer/tokenizer.h"

/* Parses space-separated ids from p up to a '\n' or '|'; returns the end. */
static char *parse_ids(char *p, owl_token *v, size_t cap, size_t *n) {
    *n = 0;
    for (;;) {
        while (*p == ' ') p++;
        if (*p == '\n' || *p == '|' || !*p) return p;
        char *q;
        long x = strtol(p, &q, 10);
        if (q == p) return p;
        if (*n < cap) v[(*n)++] = (owl_token)x;
        p = q;
    }
}

static bool same_ids(const owl_token *a, size_t na, const owl_token *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static void show(const char *name, const char *what, const char *s, size_t len, const owl_token *want, size_t n_want,
                 const owl_token *got, size_t n_got) {
    fprintf(stderr, "%s: %s differ for \"", name, what);
    for (size_t i = 0; i < len && i < 160; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\') fprintf(stderr, "\\x%02x", c);
        else fputc(c, stderr);
    }
    fprintf(stderr, "\"\n  want:");
    for (size_t i = 0; i < n_want; i++) fprintf(stderr, " %d", want[i]);
    fprintf(stderr, "\n  got: ");
    for (size_t i = 0; i < n_got; i++) fprintf(stderr, " %d", got[i]);
    fprintf(stderr, "\n");
}

#define MAXIDS 8192

/* Time to tokenize 100 KB of text: the fixture's own bytes (all its
 * strings, many scripts), then 100 KB of one letter, of spaces, of digits
 * (the long words and runs that make regexes and merges slow). */
static void time_100k(const char *name, tokenizer *t, const char *fix, size_t n_fix) {
    enum { N = 100 * 1024 };
    static char text[N];
    const char *fills[] = {NULL, "a", " ", "7"};
    double worst = 0;
    for (int k = 0; k < 4; k++) {
        if (fills[k]) {
            memset(text, fills[k][0], N);
        } else {
            size_t m = n_fix < N ? n_fix : N;
            memcpy(text, fix, m);
            for (size_t i = m; i < N; i++) text[i] = fix[i % m];
        }
        owl_token *ids = NULL;
        size_t n = 0;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        owl_status st = tokenizer_encode(t, text, N, true, true, &ids, &n);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        CHECK(st == OWL_OK && n > 0, "%s: 100 KB text %d: %s", name, k, owl_last_error());
        if (getenv("OWL_VERBOSE")) printf("  %s fill %d: %.1f ms, %zu ids\n", name, k, ms, n);
        if (ms > worst) worst = ms;
        free(ids);
    }
    printf("%s: 100 KB of text in %.1f ms at worst (mixed text, one letter, spaces, digits)\n", name, worst);
    CHECK(worst < 2000, "%s: 100 KB of text took %.0f ms", name, worst);
}

/* A variant: base_dir's tokenizer.json with the fixture's patch applied
 * (top-level keys replaced; "added_tokens_update": entries set by id),
 * written into OWL_TMP/hfvariant_NAME; false if that fails. */
static bool make_variant(const char *name, const char *base_dir, const char *patch_text, char *dir, size_t cap) {
    char path[4300];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/tokenizer.json", base_dir);
    json_t *j = json_load_file(path, 0, &jerr), *patch = json_loads(patch_text, 0, &jerr);
    bool ok = j && patch;
    const char *key;
    json_t *v;
    if (ok) {
        json_object_foreach(patch, key, v) {
            if (strcmp(key, "added_tokens_update") != 0) {
                json_object_set(j, key, v);
                continue;
            }
            json_t *added = json_object_get(j, "added_tokens"), *u, *a;
            size_t i, k;
            json_array_foreach(v, i, u) {
                bool found = false;
                json_array_foreach(added, k, a) {
                    if (json_integer_value(json_object_get(a, "id")) == json_integer_value(json_object_get(u, "id"))) {
                        json_array_set(added, k, u);
                        found = true;
                    }
                }
                if (!found) json_array_append(added, u);
            }
        }
        snprintf(dir, cap, "%s/hfvariant_%s", check_env("OWL_TMP"), name);
        mkdir(dir, 0755);
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        ok = json_dump_file(j, path, JSON_COMPACT) == 0;
    }
    json_decref(j);
    json_decref(patch);
    CHECK(ok, "%s: cannot make the variant of %s", name, base_dir);
    return ok;
}

static void run(const char *name, const char *base_dir, const char *fixture) {
    size_t n;
    char *buf = check_read_file(fixture, &n);
    CHECK(buf != NULL, "%s: cannot read %s", name, fixture);
    if (!buf) return;
    char vdir[4096];
    const char *dir = base_dir;
    char *p = strchr(buf, '\n');
    p = p ? p + 1 : buf + n;
    if (strncmp(p, "P ", 2) == 0) { /* a variant: its patch */
        char *eol = strchr(p, '\n');
        if (eol) *eol = 0;
        bool ok = make_variant(name, base_dir, p + 2, vdir, sizeof vdir);
        p = eol ? eol + 1 : buf + n;
        dir = vdir;
        if (!ok) {
            free(buf);
            return;
        }
    }
    tokenizer *t = NULL;
    owl_status st = tokenizer_from_hf_dir(dir, &t);
    CHECK(st == OWL_OK, "%s: tokenizer_from_hf_dir(%s): %s", name, dir, owl_last_error());
    if (st) {
        free(buf);
        return;
    }
    static owl_token want[MAXIDS], before[64], after[64], full[MAXIDS + 128];
    size_t n_str = 0, n_ids_ok = 0, n_rt = 0, n_rt_ok = 0, shown = 0, bytes = 0;
    double secs = 0;
    while (p < buf + n && *p == 'S') {
        char *q;
        size_t len = strtoul(p + 2, &q, 10);
        if (*q != '\n' || (size_t)(buf + n - (q + 1)) < len + 1) break;
        char *s = q + 1;
        p = s + len + 1;
        size_t n_want, n_before, n_after;
        if (strncmp(p, "F ", 2) != 0) break;
        p = parse_ids(p + 2, want, MAXIDS, &n_want) + 1;
        if (strncmp(p, "T ", 2) != 0) break;
        p = parse_ids(p + 2, before, 64, &n_before);
        if (*p != '|') break;
        p = parse_ids(p + 1, after, 64, &n_after) + 1;
        if (strncmp(p, "R ", 2) != 0) break;
        bool rt = p[2] == '1';
        p += 4;
        n_str++;
        bytes += len;

        owl_token *got = NULL, *got2 = NULL;
        size_t n_got = 0, n_got2 = 0;
        clock_t c0 = clock();
        owl_status s1 = tokenizer_encode(t, s, len, false, true, &got, &n_got);
        secs += (double)(clock() - c0) / CLOCKS_PER_SEC;
        owl_status s2 = tokenizer_encode(t, s, len, true, true, &got2, &n_got2);
        memcpy(full, before, n_before * sizeof *full);
        memcpy(full + n_before, want, n_want * sizeof *full);
        memcpy(full + n_before + n_want, after, n_after * sizeof *full);
        bool ok1 = s1 == OWL_OK && same_ids(got, n_got, want, n_want);
        bool ok2 = s2 == OWL_OK && same_ids(got2, n_got2, full, n_before + n_want + n_after);
        if (!ok1 && shown++ < 8) show(name, "ids", s, len, want, n_want, got, n_got);
        else if (!ok2 && shown++ < 8) show(name, "ids (add_special)", s, len, full, n_before + n_want + n_after, got2, n_got2);
        n_ids_ok += ok1 && ok2;
        if (rt) {
            n_rt++;
            char *text = NULL;
            size_t n_text = 0;
            owl_status s3 = ok1 ? tokenizer_decode(t, got, n_got, false, &text, &n_text) : OWL_ERR_INTERNAL;
            bool ok3 = s3 == OWL_OK && n_text == len && memcmp(text, s, len) == 0;
            if (!ok3 && ok1 && shown++ < 8)
                fprintf(stderr, "%s: decode gives \"%.*s\" for \"%.*s\"\n", name, (int)n_text, text ? text : "",
                        (int)len, s);
            n_rt_ok += ok3;
            free(text);
        }
        free(got);
        free(got2);
    }
    CHECK(p == buf + n, "%s: %s is cut short or malformed after %zu strings", name, fixture, n_str);
    if (dir == base_dir) time_100k(name, t, buf, n);
    printf("%s: %zu/%zu ids identical, round trip %zu/%zu (%.1f MB/s)\n", name, n_ids_ok, n_str, n_rt_ok, n_rt,
           secs > 0 ? (double)bytes / secs / 1e6 : 0.0);
    CHECK(n_str >= (dir == base_dir ? 5000u : 1000u), "%s: only %zu strings", name, n_str);
    CHECK(n_ids_ok == n_str, "%s: %zu of %zu strings give other ids", name, n_str - n_ids_ok, n_str);
    CHECK(n_rt_ok == n_rt, "%s: %zu of %zu strings do not decode back", name, n_rt - n_rt_ok, n_rt);
    free(buf);
    tokenizer_free(t);
}

int main(int argc, char **argv) {
    const char *shared = check_env("OWL_SHARED_DIR"), *fixtures = check_env("OWL_FIXTURES");
    static const char *const names[] = {
        "deepseek_v3",           "llama2",           "llama3",          "qwen3",
        "smollm2",               "llama2-metaspace-first", "llama2-metaspace-always-split",
        "llama2-metaspace-never", "llama2-added-normalized", "smollm2-normalizers", "smollm2-bert", "smollm2-splits",
        "smollm2-whitespace",    "smollm2-added", "smollm2-falcon-like", "smollm2-after-bytelevel"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (argc > 1 && strcmp(argv[1], names[i]) != 0) continue;
        char dir[4096], fix[4096], base[64];
        snprintf(base, sizeof base, "%.*s", (int)strcspn(names[i], "-"), names[i]);
        if (strcmp(base, "smollm2") == 0)
            snprintf(dir, sizeof dir, "%s/tokenizer/smollm2-hf", fixtures);
        else
            snprintf(dir, sizeof dir, "%s/data/tokenizers/%s", shared, base);
        snprintf(fix, sizeof fix, "%s/tokenizer/parity-%s.txt", fixtures, names[i]);
        run(names[i], dir, fix);
    }
    return check_done();
}
