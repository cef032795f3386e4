/* test_vocab.c — owl's tokenizer against the ggml-vocab test files.
 *
 * For every ggml-vocab-NAME.gguf in $OWL_SHARED_DIR/data/vocab that has
 * NAME.gguf.inp and .out beside it: the .inp strings (separated by a line
 * "__ggml_vocab_test__", read exactly as llama.cpp's test-tokenizer-0 reads
 * them) are tokenized without BOS/EOS and without parsing control tokens,
 * and the ids must equal the .out line of the model's own Hugging Face
 * tokenizer. Prints "NAME: N/N strings match" per vocabulary. A .gguf
 * without test files must still load.
 *
 * Then the tokenizer.json folders of data/tokenizers: against the .out of
 * the vocabulary they share (llama3 = llama-bpe, qwen3 = qwen2 and
 * deepseek-r1-qwen), and against Hugging Face tokenizers' ids. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Runs the .inp strings through t and compares with .out; false when
 * the files are missing. */
static bool run_strings(tokenizer *t, const char *name, const char *inp, const char *outp) {
    owl_status st;
    size_t n_inp, n_out;
    char *sin = check_read_file(inp, &n_inp), *sout = check_read_file(outp, &n_out);
    if (!sin || !sout) {
        free(sin);
        free(sout);
        return false;
    }
    /* .inp: strings separated by "\n__ggml_vocab_test__\n"; a string runs
     * to the end of the file when no separator follows */
    const char *sep = "\n__ggml_vocab_test__\n";
    size_t seplen = strlen(sep), pos = 0, n_str = 0, n_ok = 0;
    char *line = sout;
    while (pos < n_inp) {
        char *next = strstr(sin + pos, sep);
        size_t end = next ? (size_t)(next - sin) : n_inp;
        /* the expected ids: one line of .out */
        char *eol = line ? strchr(line, '\n') : NULL;
        if (!line || !*line) {
            CHECK(0, "%s: .out has fewer lines than .inp has strings", name);
            break;
        }
        if (eol) *eol = 0;
        owl_token want[4096];
        size_t n_want = 0;
        for (char *p = line; *p;) {
            char *q;
            long v = strtol(p, &q, 10);
            if (q == p) break;
            if (n_want < 4096) want[n_want++] = (owl_token)v;
            p = q;
        }
        line = eol ? eol + 1 : NULL;

        owl_token *got = NULL;
        size_t n_got = 0;
        st = tokenizer_encode(t, sin + pos, end - pos, false, false, &got, &n_got);
        bool ok = st == OWL_OK && n_got == n_want && (n_got == 0 || memcmp(got, want, n_got * sizeof *got) == 0);
        if (!ok) {
            fprintf(stderr, "%s: string %zu \"%.*s\"\n  want:", name, n_str, (int)(end - pos > 200 ? 200 : end - pos),
                    sin + pos);
            for (size_t i = 0; i < n_want; i++) fprintf(stderr, " %d", want[i]);
            fprintf(stderr, "\n  got: ");
            if (st) fprintf(stderr, " error %s", owl_last_error());
            for (size_t i = 0; i < n_got; i++) fprintf(stderr, " %d", got[i]);
            fprintf(stderr, "\n");
        }
        n_ok += ok;
        n_str++;
        free(got);
        if (!next) break;
        pos = end + seplen;
    }
    printf("%s: %zu/%zu strings match\n", name, n_ok, n_str);
    CHECK(n_str > 0 && n_ok == n_str, "%s: %zu of %zu strings differ", name, n_str - n_ok, n_str);
    free(sin);
    free(sout);
    return true;
}

static void test_one(const char *dir, const char *file) {
    char path[8192], inp[8300], outp[8300];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(inp, sizeof inp, "%s.inp", path);
    snprintf(outp, sizeof outp, "%s.out", path);
    char name[256];
    snprintf(name, sizeof name, "%s", file + strlen("ggml-vocab-"));
    name[strlen(name) - strlen(".gguf")] = 0;

    gguf *g = NULL;
    tokenizer *t = NULL;
    owl_status st = gguf_open(path, &g);
    CHECK(st == OWL_OK, "%s: gguf_open: %s", name, owl_last_error());
    if (st) return;
    st = tokenizer_from_gguf(g, &t);
    CHECK(st == OWL_OK, "%s: tokenizer_from_gguf: %s", name, owl_last_error());
    if (st) {
        gguf_close(g);
        return;
    }
    if (!run_strings(t, name, inp, outp))
        printf("%s: loads (%d tokens); no .inp/.out test strings\n", name, tokenizer_n_vocab(t));
    tokenizer_free(t);
    gguf_close(g);
}

/* tokenizer.json folders of $OWL_SHARED_DIR/data/tokenizers against the
 * test strings of the vocabulary they share (these vocab .gguf files are
 * too large to be in data/vocab, their .inp/.out are there) */
static void test_hf(const char *shared) {
    static const struct {
        const char *dir, *vocab;
    } pairs[] = {
        {"llama3", "llama-bpe"},
        {"qwen3", "qwen2"},
        {"qwen3", "deepseek-r1-qwen"}, /* DeepSeek-R1-Distill-Qwen: the Qwen2 vocabulary */
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char dir[4096], inp[4300], outp[4300], name[256];
        snprintf(dir, sizeof dir, "%s/data/tokenizers/%s", shared, pairs[i].dir);
        snprintf(inp, sizeof inp, "%s/data/vocab/ggml-vocab-%s.gguf.inp", shared, pairs[i].vocab);
        snprintf(outp, sizeof outp, "%s/data/vocab/ggml-vocab-%s.gguf.out", shared, pairs[i].vocab);
        snprintf(name, sizeof name, "%s (%s/tokenizer.json)", pairs[i].vocab, pairs[i].dir);
        tokenizer *t = NULL;
        owl_status st = tokenizer_from_hf_dir(dir, &t);
        CHECK(st == OWL_OK, "%s: %s", name, owl_last_error());
        if (st) continue;
        CHECK(run_strings(t, name, inp, outp), "%s: no test strings", name);
        tokenizer_free(t);
    }
    /* every folder against Hugging Face tokenizers' own ids for the same
     * strings (tests/fixtures/tokenizer/hf-NAME.out, made by
     * scripts/reference/tokenizer_json_ids.py) */
    static const char *const folders[] = {"deepseek_v3", "llama2", "llama3", "qwen3"};
    const char *fixtures = check_env("OWL_FIXTURES");
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
        char dir[4096], inp[4300], outp[4300], name[256];
        snprintf(dir, sizeof dir, "%s/data/tokenizers/%s", shared, folders[i]);
        snprintf(inp, sizeof inp, "%s/data/vocab/ggml-vocab-gpt-2.gguf.inp", shared);
        snprintf(outp, sizeof outp, "%s/tokenizer/hf-%s.out", fixtures, folders[i]);
        snprintf(name, sizeof name, "%s/tokenizer.json vs HF tokenizers", folders[i]);
        tokenizer *t = NULL;
        owl_status st = tokenizer_from_hf_dir(dir, &t);
        CHECK(st == OWL_OK, "%s: %s", name, owl_last_error());
        if (st) continue;
        CHECK(run_strings(t, name, inp, outp), "%s: no test strings", name);
        tokenizer_free(t);
    }
}

int main(void) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/vocab", check_env("OWL_SHARED_DIR"));
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot open %s", dir);
    if (!d) return check_done();
    char *files[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256) {
        size_t l = strlen(de->d_name);
        if (strncmp(de->d_name, "ggml-vocab-", 11) == 0 && l > 16 && strcmp(de->d_name + l - 5, ".gguf") == 0)
            files[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(files, n, sizeof *files, cmp_str);
    CHECK(n >= 10, "only %zu vocab files in %s", n, dir);
    for (size_t i = 0; i < n; i++) {
        test_one(dir, files[i]);
        free(files[i]);
    }
    test_hf(check_env("OWL_SHARED_DIR"));
    return check_done();
}
