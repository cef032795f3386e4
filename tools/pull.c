/* pull.c — `owl pull ORG/NAME`: a repository from the Hugging Face hub into
 * owl's cache (src/io/hub.c does the work), and cli_model_path, which lets
 * every subcommand take ORG/NAME[@REV] for -m once it is cached.
 *
 * Progress goes to stderr: a bar redrawn in place when stderr is a
 * terminal, else one line per file. stdout gets one line, the path that
 * `owl run -m ORG/NAME` opens (the snapshot folder when no single model
 * file stands out). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "io/hub.h"

static const arg_cmd pull_cmd = {
    .name = "pull",
    .synopsis = "ORG/NAME [options]",
    .about = "Downloads a repository from the Hugging Face hub into the cache,\n"
             "$OWL_CACHE/hub/ORG/NAME/<commit>/ ($OWL_CACHE defaults to ~/.cache/owl).\n"
             "An interrupted download continues where it stopped; every file is checked\n"
             "against the size and, for LFS files, the sha256 the hub lists. Afterwards\n"
             "-m ORG/NAME (or ORG/NAME@REVISION) works in every owl command, offline.\n"
             "\n"
             "HF_TOKEN, when set, is sent to the hub (gated and private repositories);\n"
             "HF_ENDPOINT replaces https://huggingface.co (a mirror).",
    .footer = "examples:\n"
              "  owl pull HuggingFaceTB/SmolLM2-135M-Instruct\n"
              "  owl pull bartowski/SmolLM2-135M-Instruct-GGUF --include '*Q4_K_M.gguf'\n"
              "  owl run -m bartowski/SmolLM2-135M-Instruct-GGUF -p \"Hello\"",
};

typedef struct bar {
    bool tty;
    double t0, last;
    int last_index;
} bar;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* "7 bytes", "12.5 KiB", "8.9 MiB", "4.07 GiB" */
static void mib(char *buf, size_t cap, uint64_t n) {
    if (n < 1024)
        snprintf(buf, cap, "%llu bytes", (unsigned long long)n);
    else if (n < (1u << 20))
        snprintf(buf, cap, "%.1f KiB", (double)n / 1024.0);
    else if (n < (1u << 30))
        snprintf(buf, cap, "%.1f MiB", (double)n / 1048576.0);
    else
        snprintf(buf, cap, "%.2f GiB", (double)n / 1073741824.0);
}

static void on_progress(const hub_progress *p, void *user) {
    bar *b = user;
    double t = now_s();
    if (!b->tty) {
        if (!p->file_finished) return;
        char sz[32];
        mib(sz, sizeof sz, p->file_done);
        fprintf(stderr, "[%d/%d] %s: %s%s\n", p->index, p->n_files, p->file, sz,
                p->skipped ? ", already cached" : "");
        return;
    }
    if (!p->file_finished && p->index == b->last_index && t - b->last < 0.1) return;
    b->last = t;
    b->last_index = p->index;
    char done[32], total[32];
    mib(done, sizeof done, p->total_done);
    enum { W = 30 };
    char cells[W + 1];
    double frac = p->total_size && p->total_size != HUB_SIZE_UNKNOWN ? (double)p->total_done / (double)p->total_size : 0;
    if (frac > 1) frac = 1;
    int fill = (int)(frac * W);
    for (int i = 0; i < W; i++) cells[i] = i < fill ? '#' : '.';
    cells[W] = 0;
    if (p->total_size != HUB_SIZE_UNKNOWN)
        mib(total, sizeof total, p->total_size);
    else
        snprintf(total, sizeof total, "?");
    double el = t - b->t0;
    fprintf(stderr, "\r\033[K[%s] %3d%% %s / %s  %.1f MiB/s  [%d/%d] %.40s", cells, (int)(frac * 100), done, total,
            el > 0 ? (double)p->fetched / 1048576.0 / el : 0.0, p->index, p->n_files, p->file);
    if (p->file_finished && p->index == p->n_files) fputc('\n', stderr);
    fflush(stderr);
}

int cmd_pull(int argc, char **argv) {
    hub_pull_params hp = hub_pull_default_params();
    int32_t retries = hp.retries;
    const arg_opt opts[] = {
        {"-r", "--revision", ARG_STR, &hp.revision, 0, 0, "REV", "branch, tag or commit to fetch (default main)"},
        {NULL, "--include", ARG_STR, &hp.include, 0, 0, "GLOB",
         "fetch only the files whose path matches GLOB, e.g. '*Q4_K_M.gguf'"},
        {NULL, "--retries", ARG_INT, &retries, 0, 100, "N", "attempts after a network error, each continuing the file"},
    };
    const char *pos[1];
    int n_pos = 0;
    int r = args_parse(&pull_cmd, opts, sizeof opts / sizeof opts[0], argc, argv, pos, 1, &n_pos);
    if (r != ARGS_OK) return r == ARGS_HELP ? 0 : 1;
    if (!n_pos) return cli_fail("pull", "no repository given (owl pull ORG/NAME)");
    hp.repo = pos[0];
    if (!hub_is_repo_name(hp.repo) || strchr(hp.repo, '@'))
        return cli_fail("pull", "'%s' is not a repository name: expected ORG/NAME, like HuggingFaceTB/SmolLM2-135M",
                        hp.repo);
    hp.retries = retries;
    bar b = {.tty = isatty(2) != 0, .t0 = now_s(), .last_index = 0};
    hp.progress = on_progress;
    hp.user = &b;
    hub_pull_result res;
    if (hub_pull(&hp, &res) != OWL_OK) {
        if (b.tty) fputs("\r\033[K", stderr);
        return cli_fail("pull", "%s", owl_last_error());
    }
    char model[4096], name[1024];
    snprintf(name, sizeof name, "%s@%s", hp.repo, res.sha);
    char got[32];
    mib(got, sizeof got, res.bytes_fetched);
    fprintf(stderr, "%s: %d file%s, %d fetched (%s), commit %.12s, in %s\n", hp.repo, res.n_files,
            res.n_files == 1 ? "" : "s", res.n_fetched, got, res.sha, res.dir);
    printf("%s\n", hub_resolve_cached(name, model, sizeof model) == OWL_OK ? model : res.dir);
    return 0;
}

const char *cli_model_path(const char *cmd, const char *arg, char *buf, size_t cap) {
    struct stat sb;
    size_t n = arg ? strlen(arg) : 0;
    /* a missing file.gguf is a path the loader should report, not a repository */
    if (!arg || stat(arg, &sb) == 0 || !hub_is_repo_name(arg) || (n > 5 && !strcmp(arg + n - 5, ".gguf")))
        return arg;
    if (hub_resolve_cached(arg, buf, cap) != OWL_OK) {
        cli_fail(cmd, "%s", owl_last_error());
        return NULL;
    }
    return buf;
}
