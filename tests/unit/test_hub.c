/* test_hub.c — the offline half of src/io/hub.c: which names read as hub
 * repositories, where the cache is ($OWL_CACHE, else ~/.cache/owl), and
 * what hub_resolve_cached opens in a handmade cache (the one .gguf, else
 * a folder with config.json; a revision through refs/ or as a commit; one
 * line saying to run owl pull when it is not there; the choices when
 * there are several .gguf). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "io/hub.h"

static char root[1024];

static void put(const char *rel, const char *text) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static bool one_line(const char *s) { return s && *s && !strchr(s, '\n'); }

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

int main(void) {
    static const struct {
        const char *s;
        bool ok;
    } names[] = {
        {"org/tiny", true},
        {"HuggingFaceTB/SmolLM2-135M-Instruct", true},
        {"bartowski/Qwen2.5-0.5B-Instruct-GGUF", true},
        {"org/tiny@main", true},
        {"org/tiny@refs/pr/1", true},
        {"org/tiny@" SHA_A, true},
        {"tiny", false},
        {"tiny.gguf", false},
        {"./org/tiny", false},
        {"/abs/org", false},
        {"org/tiny.gguf/x", false},
        {"../tiny", false},
        {"org/..", false},
        {"org/a..b", false},
        {"org/-x", false},
        {"org/", false},
        {"/tiny", false},
        {"org/ti ny", false},
        {"org/tiny@", false},
        {"org/tiny@../x", false},
        {"org/tiny@a//b", false},
        {"models/SmolLM2.gguf", true}, /* reads as a name: cli_model_path tries the file first */
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(hub_is_repo_name(names[i].s) == names[i].ok, "hub_is_repo_name(\"%s\") should be %d", names[i].s,
              names[i].ok);

    const char *tmp = check_env("OWL_TMP");
    snprintf(root, sizeof root, "%s/test_hub.%d", tmp, (int)getpid());
    mkdir(root, 0755);
    char buf[4096], want[4096];

    /* the cache folder */
    setenv("OWL_CACHE", root, 1);
    CHECK(hub_cache_dir(buf, sizeof buf) == OWL_OK && !strcmp(buf, root), "OWL_CACHE not used: %s", buf);
    unsetenv("OWL_CACHE");
    setenv("HOME", "/home/someone", 1);
    CHECK(hub_cache_dir(buf, sizeof buf) == OWL_OK && !strcmp(buf, "/home/someone/.cache/owl"),
          "default cache is %s", buf);
    unsetenv("HOME");
    CHECK(hub_cache_dir(buf, sizeof buf) != OWL_OK, "no OWL_CACHE and no HOME should fail");
    setenv("OWL_CACHE", root, 1);

    /* not cached: one line that says owl pull */
    owl_status st = hub_resolve_cached("org/tiny", buf, sizeof buf);
    CHECK(st != OWL_OK && one_line(owl_last_error()) && strstr(owl_last_error(), "owl pull org/tiny"),
          "not cached: %s", owl_last_error());
    st = hub_resolve_cached("org/tiny@v2", buf, sizeof buf);
    CHECK(st != OWL_OK && strstr(owl_last_error(), "owl pull org/tiny --revision v2"), "not cached @v2: %s",
          owl_last_error());

    /* main -> SHA_A holding one .gguf (and its unfinished sibling) */
    put("hub/org/tiny/refs/main", SHA_A "\n");
    put("hub/org/tiny/" SHA_A "/model.Q4_0.gguf", "GGUF");
    put("hub/org/tiny/" SHA_A "/other.gguf.part", "GG");
    put("hub/org/tiny/" SHA_A "/README.md", "hi");
    snprintf(want, sizeof want, "%s/hub/org/tiny/%s/model.Q4_0.gguf", root, SHA_A);
    st = hub_resolve_cached("org/tiny", buf, sizeof buf);
    CHECK(st == OWL_OK && !strcmp(buf, want), "org/tiny -> %s (%s)", buf, owl_last_error());
    st = hub_resolve_cached("org/tiny@main", buf, sizeof buf);
    CHECK(st == OWL_OK && !strcmp(buf, want), "org/tiny@main -> %s", buf);
    st = hub_resolve_cached("org/tiny@" SHA_A, buf, sizeof buf);
    CHECK(st == OWL_OK && !strcmp(buf, want), "org/tiny@<sha> -> %s", buf);
    char small[16];
    CHECK(hub_resolve_cached("org/tiny", small, sizeof small) != OWL_OK, "a path over the buffer should fail");

    /* a branch with a slash, pointing at a snapshot of safetensors */
    put("hub/org/tiny/refs/refs%2Fpr%2F1", SHA_B "\n");
    put("hub/org/tiny/" SHA_B "/config.json", "{}");
    put("hub/org/tiny/" SHA_B "/model.safetensors", "x");
    snprintf(want, sizeof want, "%s/hub/org/tiny/%s", root, SHA_B);
    st = hub_resolve_cached("org/tiny@refs/pr/1", buf, sizeof buf);
    CHECK(st == OWL_OK && !strcmp(buf, want), "org/tiny@refs/pr/1 -> %s (%s)", buf, owl_last_error());

    /* two .gguf: an error naming both */
    put("hub/org/tiny/" SHA_A "/model.Q8_0.gguf", "GGUF");
    st = hub_resolve_cached("org/tiny", buf, sizeof buf);
    CHECK(st != OWL_OK && one_line(owl_last_error()) && strstr(owl_last_error(), "model.Q4_0.gguf") &&
              strstr(owl_last_error(), "model.Q8_0.gguf"),
          "two .gguf: %s", owl_last_error());

    /* a damaged ref, a ref to a missing snapshot, nothing loadable */
    put("hub/org/bad/refs/main", "not a sha\n");
    st = hub_resolve_cached("org/bad", buf, sizeof buf);
    CHECK(st != OWL_OK && one_line(owl_last_error()), "damaged ref: %s", owl_last_error());
    put("hub/org/gone/refs/main", SHA_A "\n");
    st = hub_resolve_cached("org/gone", buf, sizeof buf);
    CHECK(st != OWL_OK && one_line(owl_last_error()) && strstr(owl_last_error(), "owl pull"), "missing snapshot: %s",
          owl_last_error());
    put("hub/org/text/refs/main", SHA_A "\n");
    put("hub/org/text/" SHA_A "/README.md", "hi");
    st = hub_resolve_cached("org/text", buf, sizeof buf);
    CHECK(st != OWL_OK && one_line(owl_last_error()) && strstr(owl_last_error(), "no .gguf"), "nothing to load: %s",
          owl_last_error());
    CHECK(hub_resolve_cached("not-a-repo", buf, sizeof buf) == OWL_ERR_ARG, "not a repo name should be OWL_ERR_ARG");

    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return check_done();
}
