/* bench.c — `owl bench`: prompt processing (pp) and token generation (tg)
 * speed in tokens/s, measured the way llama.cpp's llama-bench measures it,
 * printed in its table shape (or its JSON field names with -o json), so
 * the two can be set side by side (bench/compare does).
 *
 * Method (as llama-bench): one warm-up run per test, then for each of -r
 * repetitions the KV cache is emptied and the clock runs around
 *   pp: one owl_decode of p tokens (BOS, then random valid ids; logits of
 *       the last row only), or
 *   tg: n single-token owl_decode calls from an empty cache (BOS, then
 *       random ids), each waiting for its logits.
 * t/s of a repetition is tokens / seconds; the table gives the mean and
 * the sample standard deviation over the repetitions. Peak RSS is the
 * process's high-water mark (VmHWM) after the test: model pages that were
 * touched, the KV cache and the scratch buffers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "args.h"
#include "base/threadpool.h"
#include "base/status.h"
#include "cli.h"
#include "io/gguf.h"
#include "tensor/dtype.h"

static const arg_cmd bench_cmd = {
    .name = "bench",
    .synopsis = "-m MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [-o md|json]",
    .about =
        "Measures prompt processing (ppP: one batch of P tokens) and token generation\n"
        "(tgN: N tokens decoded one at a time) in tokens/s, after a warm-up run, over\n"
        "REPS repetitions: mean ± sample standard deviation, as llama-bench does. The\n"
        "table has llama-bench's columns plus the peak resident memory; -o json gives\n"
        "one object per test with llama-bench's field names (n_prompt, n_gen,\n"
        "n_threads, avg_ts, stddev_ts, samples_ts, model_type, model_size, ...).\n"
        "-p 0 or -n 0 leaves that test out.",
    .footer = "example:\n  owl bench -m SmolLM2-135M-Instruct.Q4_1.gguf -t 2 -p 512 -n 128 -r 5",
};

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* peak resident set size in bytes: VmHWM, else getrusage */
static uint64_t peak_rss(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        unsigned long long kb = 0;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %llu kB", &kb) == 1) break;
        fclose(f);
        if (kb) return (uint64_t)kb * 1024;
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) return (uint64_t)ru.ru_maxrss * 1024;
    return 0;
}

/* llama.cpp's names for general.file_type, as its model description shows them */
static const char *ftype_name(uint32_t ft) {
    switch (ft) {
    case 0: return "all F32";
    case 1: return "F16";
    case 2: return "Q4_0";
    case 3: return "Q4_1";
    case 7: return "Q8_0";
    case 8: return "Q5_0";
    case 9: return "Q5_1";
    case 10: return "Q2_K - Medium";
    case 11: return "Q3_K - Small";
    case 12: return "Q3_K - Medium";
    case 13: return "Q3_K - Large";
    case 14: return "Q4_K - Small";
    case 15: return "Q4_K - Medium";
    case 16: return "Q5_K - Small";
    case 17: return "Q5_K - Medium";
    case 18: return "Q6_K";
    case 32: return "BF16";
    default: return "?";
    }
}

/* llama.cpp's size class for a llama-shaped model */
static const char *size_class(const owl_model_info *mi) {
    switch (mi->n_layer) {
    case 16: return "1B";
    case 22: return "1B";
    case 26: return "3B";
    case 28: return mi->n_vocab >= 100000 ? "3B" : "?B";
    case 32: return mi->n_vocab >= 100000 ? "8B" : "7B";
    case 40: return "13B";
    case 48: return "34B";
    case 60: return "30B";
    case 80: return "70B";
    default: return "?B";
    }
}

typedef struct bench_result {
    char test[32];
    int n_prompt, n_gen;
    int reps;
    double *samples_ns; /* (reps) */
    double avg_ns, stddev_ns, avg_ts, stddev_ts;
    double *samples_ts; /* (reps) */
    uint64_t peak_rss;
} bench_result;

static void stats(bench_result *r) {
    int n = r->reps;
    double s_ns = 0, s_ts = 0;
    for (int i = 0; i < n; i++) {
        s_ns += r->samples_ns[i];
        s_ts += r->samples_ts[i];
    }
    r->avg_ns = s_ns / n;
    r->avg_ts = s_ts / n;
    double v_ns = 0, v_ts = 0;
    for (int i = 0; i < n; i++) {
        v_ns += (r->samples_ns[i] - r->avg_ns) * (r->samples_ns[i] - r->avg_ns);
        v_ts += (r->samples_ts[i] - r->avg_ts) * (r->samples_ts[i] - r->avg_ts);
    }
    r->stddev_ns = n > 1 ? sqrt(v_ns / (n - 1)) : 0;
    r->stddev_ts = n > 1 ? sqrt(v_ts / (n - 1)) : 0;
}

typedef struct bench_state {
    owl_context *ctx;
    owl_token *tok;
    int32_t *pos, *seq;
    int32_t n_vocab;
    owl_token bos;
    uint64_t rng;
} bench_state;

static owl_token rand_token(bench_state *b) {
    b->rng = b->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (owl_token)((b->rng >> 33) % (uint64_t)b->n_vocab);
}

static owl_status run_pp(bench_state *b, int n) {
    for (int i = 0; i < n; i++) {
        b->tok[i] = i == 0 && b->bos >= 0 ? b->bos : rand_token(b);
        b->pos[i] = i;
        b->seq[i] = 0;
    }
    owl_batch batch = {.n = n, .token = b->tok, .pos = b->pos, .seq = b->seq, .logits = NULL};
    owl_status s = owl_decode(b->ctx, &batch);
    if (s == OWL_OK && !owl_get_logits(b->ctx, n - 1)) return OWL_ERR_INTERNAL;
    return s;
}

static owl_status run_tg(bench_state *b, int n) {
    owl_token t = b->bos >= 0 ? b->bos : rand_token(b);
    for (int i = 0; i < n; i++) {
        int32_t pos = i, seq = 0;
        owl_batch batch = {.n = 1, .token = &t, .pos = &pos, .seq = &seq, .logits = NULL};
        owl_status s = owl_decode(b->ctx, &batch);
        if (s != OWL_OK) return s;
        if (!owl_get_logits(b->ctx, 0)) return OWL_ERR_INTERNAL;
        t = rand_token(b);
    }
    return OWL_OK;
}

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void human_size(char *buf, size_t cap, double bytes) {
    if (bytes >= 1024.0 * 1024 * 1024)
        snprintf(buf, cap, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
    else
        snprintf(buf, cap, "%.2f MiB", bytes / (1024.0 * 1024));
}

static void human_params(char *buf, size_t cap, double n) {
    if (n >= 1e9)
        snprintf(buf, cap, "%.2f B", n / 1e9);
    else
        snprintf(buf, cap, "%.2f M", n / 1e6);
}

int cmd_bench(int argc, char **argv) {
    const char *model_path = NULL, *output = "md";
    int32_t n_prompt = 512, n_gen = 128, n_threads = 0, reps = 5;
    bool no_warmup = false, no_repack = false;
    const arg_opt opts[] = {
        {"-m", "--model", ARG_STR, &model_path, 0, 0, "FILE", "the model (GGUF)"},
        {"-p", "--n-prompt", ARG_INT, &n_prompt, 0, 65536, "N", "prompt tokens of the pp test, 0 = no pp test"},
        {"-n", "--n-gen", ARG_INT, &n_gen, 0, 65536, "N", "generated tokens of the tg test, 0 = no tg test"},
        {"-t", "--threads", ARG_INT, &n_threads, 0, 1024, "N", "threads, 0 = every CPU this process may use"},
        {"-r", "--repetitions", ARG_INT, &reps, 1, 1000, "N", "timed repetitions of each test"},
        {"-o", "--output", ARG_STR, &output, 0, 0, "md|json", "a markdown table or llama-bench's JSON"},
        {NULL, "--no-warmup", ARG_FLAG, &no_warmup, 0, 0, NULL, "skip the warm-up run"},
        {NULL, "--no-repack", ARG_FLAG, &no_repack, 0, 0, NULL,
         "keep the weights in the file's layout (no 16-row tiles at load)"},
    };
    int n_pos = 0;
    int r = args_parse(&bench_cmd, opts, sizeof opts / sizeof opts[0], argc, argv, NULL, 0, &n_pos);
    if (r != ARGS_OK) return r == ARGS_HELP ? 0 : 1;
    if (!model_path) return cli_fail("bench", "no model given (-m FILE)");
    bool json = !strcmp(output, "json");
    if (!json && strcmp(output, "md")) return cli_fail("bench", "-o expects md or json, got '%s'", output);
    if (!n_prompt && !n_gen) return cli_fail("bench", "-p 0 and -n 0: nothing to measure");
    if (n_threads == 0) n_threads = owl_cpu_count();
    char cached[4096];
    if (!(model_path = cli_model_path("bench", model_path, cached, sizeof cached))) return 1;

    owl_model *m = NULL;
    owl_model_params mp = owl_model_default_params();
    mp.no_repack = no_repack;
    if (owl_model_load(model_path, &mp, &m) != OWL_OK) return cli_fail("bench", "%s", owl_last_error());
    owl_model_info mi;
    owl_model_get_info(m, &mi);
    uint64_t model_size = 0;
    for (uint64_t i = 0; i < mi.n_tensors; i++) {
        const char *name;
        int type;
        int64_t ne[4];
        if (!owl_model_tensor(m, i, &name, &type, ne)) break;
        model_size += (uint64_t)dtype_row_size(type, ne[0]) * (uint64_t)(ne[1] * ne[2] * ne[3]);
    }
    /* llama-bench's model description: arch, size class, general.file_type
       (a u32 the public API does not read: taken from the file itself, or
       named after the most common matrix type) */
    char model_type[96];
    {
        uint32_t ftype = UINT32_MAX;
        gguf *g = NULL;
        if (gguf_open(model_path, &g) == OWL_OK && gguf_get_u32(g, "general.file_type", &ftype) != 1)
            ftype = UINT32_MAX;
        gguf_close(g);
        if (ftype == UINT32_MAX) {
            int counts[OWL_TYPE_COUNT] = {0};
            for (uint64_t i = 0; i < mi.n_tensors; i++) {
                const char *name;
                int type;
                int64_t ne[4];
                if (owl_model_tensor(m, i, &name, &type, ne) && ne[1] > 1 && type >= 0 && type < OWL_TYPE_COUNT)
                    counts[type]++;
            }
            int best = 0;
            for (int t = 0; t < OWL_TYPE_COUNT; t++)
                if (counts[t] > counts[best]) best = t;
            static const uint32_t type_to_ftype[OWL_TYPE_COUNT] = {
                [OWL_TYPE_F32] = 0, [OWL_TYPE_F16] = 1, [OWL_TYPE_Q4_0] = 2, [OWL_TYPE_Q4_1] = 3,
                [OWL_TYPE_Q5_0] = 8, [OWL_TYPE_Q5_1] = 9, [OWL_TYPE_Q8_0] = 7, [OWL_TYPE_Q2_K] = 10,
                [OWL_TYPE_Q3_K] = 12, [OWL_TYPE_Q4_K] = 15, [OWL_TYPE_Q5_K] = 17, [OWL_TYPE_Q6_K] = 18,
                [OWL_TYPE_BF16] = 32,
            };
            ftype = type_to_ftype[best];
        }
        snprintf(model_type, sizeof model_type, "%s %s %s", mi.arch ? mi.arch : "?", size_class(&mi),
                 ftype_name(ftype));
    }
    owl_err_clear();

    owl_context_params cp = owl_context_default_params();
    cp.n_threads = n_threads;
    cp.n_batch = (uint32_t)(n_prompt > 0 ? n_prompt : 1);
    cp.n_ctx = (uint32_t)((n_prompt > n_gen ? n_prompt : n_gen) + 1);
    bench_state b = {.n_vocab = owl_n_vocab(m), .bos = owl_token_bos(m), .rng = 1234};
    if (owl_context_new(m, &cp, &b.ctx) != OWL_OK) {
        cli_fail("bench", "%s", owl_last_error());
        owl_model_free(m);
        return 1;
    }
    size_t nb = (size_t)(n_prompt > 0 ? n_prompt : 1);
    b.tok = calloc(nb, sizeof *b.tok);
    b.pos = calloc(nb, sizeof *b.pos);
    b.seq = calloc(nb, sizeof *b.seq);
    bench_result res[2];
    memset(res, 0, sizeof res);
    int n_res = 0, rc = 1;
    if (!b.tok || !b.pos || !b.seq) {
        cli_fail("bench", "out of memory");
        goto out;
    }

    char size_s[32], params_s[32];
    human_size(size_s, sizeof size_s, (double)model_size);
    human_params(params_s, sizeof params_s, (double)mi.n_params);
    if (!json) {
        printf("| %-30s | %10s | %10s | %-10s | %7s | %13s | %20s | %12s |\n", "model", "size", "params", "backend",
               "threads", "test", "t/s", "peak RSS");
        printf("| ------------------------------ | ---------: | ---------: | ---------- | ------: | ------------: | "
               "-------------------: | -----------: |\n");
        fflush(stdout);
    }
    for (int k = 0; k < 2; k++) {
        int np = k == 0 ? n_prompt : 0, ng = k == 1 ? n_gen : 0;
        if (!np && !ng) continue;
        bench_result *res_k = &res[n_res++];
        res_k->n_prompt = np;
        res_k->n_gen = ng;
        res_k->reps = reps;
        snprintf(res_k->test, sizeof res_k->test, np ? "pp%d" : "tg%d", np ? np : ng);
        res_k->samples_ns = calloc((size_t)reps, sizeof(double));
        res_k->samples_ts = calloc((size_t)reps, sizeof(double));
        if (!res_k->samples_ns || !res_k->samples_ts) {
            cli_fail("bench", "out of memory");
            goto out;
        }
        owl_status s = OWL_OK;
        if (!no_warmup) { /* as llama-bench: the prompt once, or one generated token */
            owl_kv_seq_rm(b.ctx, -1, 0, -1);
            s = np ? run_pp(&b, np) : run_tg(&b, 1);
        }
        for (int i = 0; i < reps && s == OWL_OK; i++) {
            owl_kv_seq_rm(b.ctx, -1, 0, -1);
            double t0 = now_ns();
            s = np ? run_pp(&b, np) : run_tg(&b, ng);
            double dt = now_ns() - t0;
            res_k->samples_ns[i] = dt;
            res_k->samples_ts[i] = (double)(np + ng) * 1e9 / dt;
        }
        if (s != OWL_OK) {
            cli_fail("bench", "%s: decode failed: %s", res_k->test, owl_last_error());
            goto out;
        }
        stats(res_k);
        res_k->peak_rss = peak_rss();
        if (!json) {
            char ts[48];
            snprintf(ts, sizeof ts, "%.2f ± %.2f", res_k->avg_ts, res_k->stddev_ts);
            printf("| %-30s | %10s | %10s | %-10s | %7d | %13s | %21s | %8.2f MiB |\n", model_type, size_s, params_s,
                   "CPU", n_threads, res_k->test, ts, (double)res_k->peak_rss / (1024.0 * 1024));
            fflush(stdout);
        }
    }
    if (json) {
        time_t now = time(NULL);
        char when[64];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        printf("[\n");
        for (int k = 0; k < n_res; k++) {
            const bench_result *x = &res[k];
            printf("  {\n    \"build_commit\": \"owl\",\n    \"cpu_info\": \"\",\n    \"backends\": \"CPU\",\n");
            printf("    \"model_filename\": ");
            json_str(model_path);
            printf(",\n    \"model_type\": ");
            json_str(model_type);
            printf(",\n    \"model_size\": %llu,\n    \"model_n_params\": %llu,\n", (unsigned long long)model_size,
                   (unsigned long long)mi.n_params);
            printf("    \"n_batch\": %u,\n    \"n_ubatch\": %u,\n    \"n_threads\": %d,\n", cp.n_batch, cp.n_batch,
                   n_threads);
            printf("    \"type_k\": \"f16\",\n    \"type_v\": \"f16\",\n    \"n_gpu_layers\": 0,\n    \"use_mmap\": true,\n");
            printf("    \"n_prompt\": %d,\n    \"n_gen\": %d,\n    \"test_time\": \"%s\",\n", x->n_prompt, x->n_gen, when);
            printf("    \"avg_ns\": %.0f,\n    \"stddev_ns\": %.0f,\n", x->avg_ns, x->stddev_ns);
            printf("    \"avg_ts\": %.6f,\n    \"stddev_ts\": %.6f,\n", x->avg_ts, x->stddev_ts);
            printf("    \"samples_ns\": [");
            for (int i = 0; i < x->reps; i++) printf("%s%.0f", i ? ", " : " ", x->samples_ns[i]);
            printf(" ],\n    \"samples_ts\": [");
            for (int i = 0; i < x->reps; i++) printf("%s%.6f", i ? ", " : " ", x->samples_ts[i]);
            printf(" ],\n    \"peak_rss\": %llu\n  }%s\n", (unsigned long long)x->peak_rss, k + 1 < n_res ? "," : "");
        }
        printf("]\n");
    }
    rc = 0;
out:
    for (int k = 0; k < 2; k++) {
        free(res[k].samples_ns);
        free(res[k].samples_ts);
    }
    free(b.tok);
    free(b.pos);
    free(b.seq);
    owl_context_free(b.ctx);
    owl_model_free(m);
    return rc;
}
