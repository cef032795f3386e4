/* test_malformed_gguf.c — broken GGUF files give one clear error, never a crash.
 *
 * Starts from a complete tiny llama (tests/gguf_builder.h) that must load,
 * then breaks it: empty, wrong magic, bad version, truncated header,
 * truncated at every byte of the header, truncated data, absurd counts and
 * string lengths, tensor data past the end, unknown tensor type, too many
 * dimensions, misaligned and overlapping tensors, duplicate keys, a wrong
 * metadata type, a required tensor missing, and random byte flips.
 * Each must fail in the library with a message naming the problem, and in
 * the CLI (`owl info`, `owl run`) with exit code 1 and one line on stderr.
 * Under the sanitizer build this also proves there is no leak or overflow. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "gguf_builder.h"
#include "io/gguf.h"
#include "owl.h"

static const char *tmpdir;
static const char *owl_bin;

static char *path_of(const char *name) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/malformed-%s.gguf", tmpdir, name);
    return buf;
}

/* Loads the file with the library; expects failure whose message contains want. */
static void expect_load_fails(const char *name, const uint8_t *p, size_t n, const char *want) {
    const char *path = path_of(name);
    CHECK(gb_write(path, p, n) == 0, "%s: cannot write %s", name, path);
    owl_model *m = NULL;
    owl_status st = owl_model_load(path, NULL, &m);
    CHECK(st != OWL_OK && m == NULL, "%s: loaded although broken", name);
    const char *msg = owl_last_error();
    CHECK(strstr(msg, want) != NULL, "%s: message '%s' does not mention '%s'", name, msg, want);
    CHECK(strchr(msg, '\n') == NULL, "%s: message has more than one line: '%s'", name, msg);
    CHECK(strstr(msg, path) != NULL, "%s: message '%s' does not name the file", name, msg);
    owl_model_free(m);
}

/* Runs the CLI on the file; expects exit code 1 and exactly one stderr line. */
static void expect_cli_fails(const char *name, const char *sub) {
    char cmd[8192], errpath[4096];
    snprintf(errpath, sizeof errpath, "%s/malformed-%s.err", tmpdir, name);
    if (!strcmp(sub, "info"))
        snprintf(cmd, sizeof cmd, "'%s' info '%s' >/dev/null 2>'%s'", owl_bin, path_of(name), errpath);
    else
        snprintf(cmd, sizeof cmd, "'%s' run -m '%s' -p hi -n 4 >/dev/null 2>'%s' </dev/null", owl_bin,
                 path_of(name), errpath);
    int rc = system(cmd);
    int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + (WIFSIGNALED(rc) ? WTERMSIG(rc) : 0);
    CHECK(code == 1, "%s: owl %s exited with %d, expected 1", name, sub, code);
    FILE *f = fopen(errpath, "r");
    int lines = 0;
    char line[4096];
    if (f) {
        while (fgets(line, sizeof line, f)) lines++;
        fclose(f);
    }
    CHECK(lines == 1, "%s: owl %s printed %d lines on stderr, expected 1", name, sub, lines);
}

static void expect_fails(const char *name, const uint8_t *p, size_t n, const char *want) {
    expect_load_fails(name, p, n, want);
    expect_cli_fails(name, "info");
}

static gb_buf tiny(const char *skip) {
    gb_file f;
    gb_tiny_llama(&f, skip);
    gb_buf b = gb_serialize(&f);
    free(f.kv.p);
    return b;
}

/* offset of the first tensor-info record's name in a serialized tiny llama */
static size_t tensor_info_start(const gb_buf *b) {
    gb_file f;
    gb_tiny_llama(&f, NULL);
    size_t off = 24 + f.kv.n;
    free(f.kv.p);
    (void)b;
    return off;
}

int main(void) {
    tmpdir = check_env("OWL_TMP");
    owl_bin = check_env("OWL_BIN");

    /* the unbroken file loads, and the CLI reads it */
    gb_buf good = tiny(NULL);
    char gp[4096];
    snprintf(gp, sizeof gp, "%s", path_of("good"));
    CHECK(gb_write(gp, good.p, good.n) == 0, "cannot write %s", gp);
    owl_model *m = NULL;
    owl_status st = owl_model_load(gp, NULL, &m);
    CHECK(st == OWL_OK, "the intact tiny llama does not load: %s", owl_last_error());
    if (m) {
        owl_model_info info;
        owl_model_get_info(m, &info);
        CHECK(info.n_layer == 1 && info.n_embd == GB_N_EMBD && info.n_vocab == GB_N_VOCAB,
              "tiny llama read back wrong: layers %d embd %d vocab %d", info.n_layer, info.n_embd, info.n_vocab);
        owl_model_free(m);
    }
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' info '%s' >/dev/null 2>&1", owl_bin, gp);
    CHECK(system(cmd) == 0, "owl info fails on the intact tiny llama");

    /* empty file, wrong magic, versions */
    expect_fails("empty", good.p, 0, "empty");
    uint8_t *p = malloc(good.n);
    memcpy(p, good.p, good.n);
    memcpy(p, "GGML", 4);
    expect_fails("magic", p, good.n, "magic");
    memcpy(p, good.p, good.n);
    uint32_t v = 1;
    memcpy(p + 4, &v, 4);
    expect_fails("version1", p, good.n, "version 1");
    v = 99;
    memcpy(p + 4, &v, 4);
    expect_fails("version99", p, good.n, "version 99");
    memcpy(p, good.p, good.n);

    /* truncated header, then every cut inside header and tensor infos:
     * all must fail, none may crash (the library only; the CLI once) */
    expect_fails("short", good.p, 10, "truncated");
    size_t ti = tensor_info_start(&good);
    size_t data_start = 0;
    {
        gguf *g = NULL;
        if (gguf_open(gp, &g) == OWL_OK) { data_start = (size_t)g->data_offset; gguf_close(g); }
    }
    if (data_start <= ti) {
        CHECK(0, "could not find the data section of the intact file");
        return check_done();
    }
    int cut_ok = 0, cut_total = 0;
    for (size_t cut = 4; cut < data_start && cut < good.n; cut += (cut < ti ? 1 : 3)) {
        const char *path = path_of("cut");
        gb_write(path, good.p, cut);
        owl_model *mm = NULL;
        owl_status s2 = owl_model_load(path, NULL, &mm);
        cut_total++;
        if (s2 != OWL_OK && mm == NULL && strstr(owl_last_error(), path)) cut_ok++;
        owl_model_free(mm);
    }
    CHECK(cut_ok == cut_total, "%d of %d truncations inside the header failed cleanly", cut_ok, cut_total);
    printf("truncations inside the header: %d/%d rejected cleanly\n", cut_ok, cut_total);
    expect_fails("truncated_data", good.p, good.n - 100, "past the end");
    expect_cli_fails("truncated_data", "run");

    /* absurd counts */
    memcpy(p, good.p, good.n);
    uint64_t huge = (uint64_t)1 << 60;
    memcpy(p + 16, &huge, 8);
    expect_fails("n_kv", p, good.n, "metadata entries");
    memcpy(p, good.p, good.n);
    memcpy(p + 8, &huge, 8);
    expect_fails("n_tensors", p, good.n, "tensors");
    memcpy(p, good.p, good.n);

    /* absurd string length: the first key's length */
    uint64_t big = UINT64_MAX - 3;
    memcpy(p + 24, &big, 8);
    expect_fails("key_length", p, good.n, "length");
    memcpy(p, good.p, good.n);

    /* absurd array count: the tokens array header (after its key and type) */
    {
        const char *key = "tokenizer.ggml.tokens";
        uint8_t *k = memmem(p, ti, key, strlen(key));
        CHECK(k != NULL, "tokens key not found in the file");
        if (k) {
            uint8_t *cnt = k + strlen(key) + 4 + 4;
            memcpy(cnt, &huge, 8);
            expect_fails("array_count", p, good.n, "strings");
            memcpy(p, good.p, good.n);
        }
    }

    /* tensor records: first tensor's name, dims, ne, type, offset */
    {
        uint8_t *rec = p + ti;
        uint64_t nl;
        memcpy(&nl, rec, 8);
        uint8_t *dims = rec + 8 + nl;
        uint8_t *type = dims + 4 + 2 * 8;
        uint8_t *off = type + 4;

        uint32_t bad_type = 99;
        memcpy(type, &bad_type, 4);
        expect_fails("tensor_type", p, good.n, "type 99");
        memcpy(p, good.p, good.n);

        uint32_t five = 5;
        memcpy(dims, &five, 4);
        expect_fails("n_dims", p, good.n, "dimensions");
        memcpy(p, good.p, good.n);

        uint64_t far = (uint64_t)1 << 40;
        memcpy(off, &far, 8);
        expect_fails("past_end", p, good.n, "past the end");
        memcpy(p, good.p, good.n);

        uint64_t odd = 4;
        memcpy(off, &odd, 8);
        expect_fails("misaligned", p, good.n, "alignment");
        memcpy(p, good.p, good.n);

        uint64_t ne_huge = (uint64_t)1 << 62;
        memcpy(dims + 4 + 8, &ne_huge, 8);
        expect_fails("huge_shape", p, good.n, "tensor");
        memcpy(p, good.p, good.n);

        /* second tensor placed on the first one's bytes */
        uint8_t *rec2 = off + 8;
        uint64_t nl2;
        memcpy(&nl2, rec2, 8);
        uint32_t nd2;
        memcpy(&nd2, rec2 + 8 + nl2, 4);
        uint8_t *off2 = rec2 + 8 + nl2 + 4 + 8 * nd2 + 4;
        uint64_t zero = 0;
        memcpy(off2, &zero, 8);
        expect_fails("overlap", p, good.n, "overlap");
        memcpy(p, good.p, good.n);
    }

    /* duplicate key, wrong metadata type */
    {
        gb_file f;
        gb_tiny_llama(&f, NULL);
        gb_kv_u32(&f, "llama.block_count", 1);
        gb_buf b = gb_serialize(&f);
        expect_fails("duplicate_key", b.p, b.n, "twice");
        free(b.p);
        free(f.kv.p);

        gb_tiny_llama(&f, NULL);
        /* rename the real key out of the way, then add a string one */
        uint8_t *k = memmem(f.kv.p, f.kv.n, "llama.block_count", 17);
        if (k) memcpy(k, "llama.block_cnt_x", 17);
        gb_kv_str(&f, "llama.block_count", "thirty");
        b = gb_serialize(&f);
        expect_fails("metadata_type", b.p, b.n, "llama.block_count");
        free(b.p);
        free(f.kv.p);
    }

    /* a required tensor missing */
    {
        gb_buf b = tiny("blk.0.attn_q.weight");
        expect_fails("missing_tensor", b.p, b.n, "blk.0.attn_q.weight");
        expect_cli_fails("missing_tensor", "run");
        free(b.p);
    }

    /* random byte flips in the header: any outcome but a crash or a leak */
    {
        uint64_t s = 0x9e3779b97f4a7c15ull;
        int loaded = 0, rejected = 0;
        for (int it = 0; it < 300; it++) {
            memcpy(p, good.p, good.n);
            for (int k = 0; k < 4; k++) {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                size_t at = (size_t)(s % data_start);
                p[at] = (uint8_t)(s >> 32);
            }
            const char *path = path_of("flip");
            gb_write(path, p, good.n);
            owl_model *mm = NULL;
            if (owl_model_load(path, NULL, &mm) == OWL_OK) loaded++;
            else rejected++;
            owl_model_free(mm);
        }
        printf("random header corruptions: %d rejected, %d still loadable, 0 crashes\n", rejected, loaded);
        CHECK(rejected > 0, "no random corruption was rejected");
    }

    /* a file that does not exist, and a directory */
    {
        owl_model *mm = NULL;
        CHECK(owl_model_load("/nonexistent/model.gguf", NULL, &mm) == OWL_ERR_IO, "missing file not OWL_ERR_IO");
        CHECK(owl_model_load(tmpdir, NULL, &mm) != OWL_OK, "a directory loaded as a GGUF file");
    }

    free(p);
    free(good.p);
    return check_done();
}
