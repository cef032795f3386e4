/* generate.c — the generation loop of `owl run` and `owl chat` (see generate.h). */
#include "generate.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "tensor/dtype.h"
#include "cli.h"

volatile sig_atomic_t gen_interrupt;

double gen_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int lib_fail(const generator *g, const char *what) {
    return cli_fail(g->cmd, "%s: %s", what, owl_last_error());
}

size_t gen_opts_init(gen_opts *o, arg_opt *opts, const arg_opt *extra, size_t n_extra) {
    *o = (gen_opts){.n_batch = 512, .sp = owl_sampler_default_params()};
    o->sp.seed = GEN_SEED_RANDOM; /* like llama.cpp: a new seed each run unless given */
    const arg_opt shared[GEN_N_OPTS] = {
        {"-m", "--model", ARG_STR, &o->model, 0, 0, "FILE", "the model (GGUF)"},
        {"-c", "--ctx-size", ARG_INT, &o->n_ctx, 0, 1 << 24, "N",
         "context size in tokens, 0 = the model's training context, at most 4096"},
        {"-b", "--batch-size", ARG_INT, &o->n_batch, 1, 1 << 16, "N", "most prompt tokens decoded at once"},
        {"-t", "--threads", ARG_INT, &o->n_threads, 0, 1024, "N", "threads, 0 = every CPU this process may use"},
        {NULL, "--exact", ARG_FLAG, &o->exact, 0, 0, NULL,
         "fp32 reference path (slow): dequantized weights, f32 KV cache"},
        {NULL, "--no-repack", ARG_FLAG, &o->no_repack, 0, 0, NULL,
         "keep the weights in the file's layout (no 16-row tiles at load: less load time, slower)"},
        {NULL, "--quant", ARG_STR, &o->quant, 0, 0, "TYPE",
         "a model folder's weight matrices quantized at load (q8_0, q4_0, q4_k, ...)"},
        {NULL, "--temp", ARG_FLOAT, &o->sp.temp, 0, 100, "T",
         "temperature, 0 = greedy (a model folder's generation_config.json may set another default)"},
        {NULL, "--top-k", ARG_INT, &o->sp.top_k, 0, INT32_MAX, "K", "keep the K most likely tokens, 0 = off"},
        {NULL, "--top-p", ARG_FLOAT, &o->sp.top_p, 0, 1, "P", "keep the most likely tokens up to mass P, 1 = off"},
        {NULL, "--min-p", ARG_FLOAT, &o->sp.min_p, 0, 1, "P",
         "drop tokens less likely than P x the most likely, 0 = off"},
        {NULL, "--repeat-penalty", ARG_FLOAT, &o->sp.repeat_penalty, 0.01, 100, "X",
         "divide (multiply if negative) logits of recent tokens by X, 1 = off"},
        {NULL, "--repeat-last-n", ARG_INT, &o->sp.penalty_last_n, -1, 1 << 24, "N",
         "recent tokens the penalties look at, 0 = off, -1 = context size"},
        {NULL, "--presence-penalty", ARG_FLOAT, &o->sp.presence_penalty, -100, 100, "X",
         "subtract X from the logit of every recent token, 0 = off"},
        {NULL, "--frequency-penalty", ARG_FLOAT, &o->sp.frequency_penalty, -100, 100, "X",
         "subtract X per occurrence among recent tokens, 0 = off"},
        {"-s", "--seed", ARG_U64, &o->sp.seed, 0, 0, "S", "random seed: same seed and settings, same text (default: a new one each run)"},
    };
    opts[0] = shared[0];
    memcpy(opts + 1, extra, n_extra * sizeof *extra);
    memcpy(opts + 1 + n_extra, shared + 1, (GEN_N_OPTS - 1) * sizeof *shared);
    return GEN_N_OPTS + n_extra;
}

int gen_args_parse(const arg_cmd *cmd, gen_opts *o, const arg_opt *opts, size_t n_opts, int argc,
                   char **argv, int *n_pos) {
    bool given[GEN_N_OPTS + 64] = {0};
    if (n_opts > sizeof given / sizeof given[0]) return cli_fail(cmd->name, "too many options");
    int r = args_parse_given(cmd, opts, n_opts, argc, argv, NULL, 0, n_pos, given);
    for (size_t k = 0; k < n_opts; k++) {
        if (!given[k]) continue;
        if (opts[k].dst == &o->sp.temp) o->temp_given = true;
        if (opts[k].dst == &o->sp.top_k) o->top_k_given = true;
        if (opts[k].dst == &o->sp.top_p) o->top_p_given = true;
    }
    return r;
}

int gen_init(generator *g, const char *cmd, const gen_opts *o, owl_model **model) {
    memset(g, 0, sizeof *g);
    g->cmd = cmd;
    *model = NULL;
    if (!o->model) return cli_fail(cmd, "no model given (-m FILE)");
    char cached[4096];
    const char *path = cli_model_path(cmd, o->model, cached, sizeof cached);
    if (!path) return 1;
    owl_model_params mp = owl_model_default_params();
    mp.no_repack = o->no_repack || o->exact; /* the exact path never reads the tiles */
    if (o->quant) {
        for (int t = 0; t < OWL_TYPE_COUNT && !mp.quant_type; t++) {
            const char *tn = owl_type_name(t);
            const dtype_traits *tr = dtype_get(t);
            if (tn && tr && tr->quantized && tr->from_float && !strcasecmp(tn, o->quant)) mp.quant_type = t;
        }
        if (!mp.quant_type) return cli_fail(cmd, "--quant: '%s' is no quantized type (q8_0, q4_0, q4_k, ...)", o->quant);
    }
    if (owl_model_load(path, &mp, model) != OWL_OK) return cli_fail(cmd, "%s", owl_last_error());
    g->model = *model;
    owl_context_params cp = owl_context_default_params();
    cp.n_ctx = (uint32_t)o->n_ctx;
    cp.n_batch = (uint32_t)o->n_batch;
    cp.n_threads = o->n_threads;
    cp.exact = o->exact;
    if (owl_context_new(g->model, &cp, &g->ctx) != OWL_OK) return lib_fail(g, "cannot create the context");
    g->n_ctx = owl_context_n_ctx(g->ctx);
    owl_sampler_params sp = o->sp, model_sp = o->sp;
    owl_model_sampler_defaults(g->model, &model_sp); /* generation_config.json */
    if (!o->temp_given) sp.temp = model_sp.temp;
    if (!o->top_k_given) sp.top_k = model_sp.top_k;
    if (!o->top_p_given) sp.top_p = model_sp.top_p;
    if (sp.seed == GEN_SEED_RANDOM) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sp.seed = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    if (sp.penalty_last_n < 0) sp.penalty_last_n = (int32_t)g->n_ctx;
    if (owl_sampler_new(&sp, owl_n_vocab(g->model), &g->smpl) != OWL_OK)
        return lib_fail(g, "bad sampler settings");
    if (owl_detok_new(g->model, &g->detok) != OWL_OK) return lib_fail(g, "cannot create the detokenizer");
    g->n_batch = o->n_batch;
    if ((uint32_t)g->n_batch > g->n_ctx && g->n_ctx > 0) g->n_batch = (int32_t)g->n_ctx;
    size_t nb = (size_t)g->n_batch;
    g->b_token = calloc(nb, sizeof *g->b_token);
    g->b_pos = calloc(nb, sizeof *g->b_pos);
    g->b_seq = calloc(nb, sizeof *g->b_seq); /* all sequence 0 */
    g->b_logits = calloc(nb, sizeof *g->b_logits);
    g->cache = calloc(g->n_ctx ? g->n_ctx : 1, sizeof *g->cache);
    g->text_cap = 256;
    g->text = malloc(g->text_cap);
    if (!g->b_token || !g->b_pos || !g->b_seq || !g->b_logits || !g->cache || !g->text)
        return cli_fail(cmd, "out of memory");
    g->text[0] = 0;
    return 0;
}

void gen_free(generator *g) {
    owl_detok_free(g->detok);
    owl_sampler_free(g->smpl);
    owl_context_free(g->ctx);
    free(g->b_token);
    free(g->b_pos);
    free(g->b_seq);
    free(g->b_logits);
    free(g->cache);
    free(g->text);
    memset(g, 0, sizeof *g);
}

/* Decodes toks[0..n) (n <= n_batch) at positions n_past.. ; logits for the
 * last row only. */
static int decode_rows(generator *g, const owl_token *toks, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        g->b_token[i] = toks[i];
        g->b_pos[i] = g->n_past + i;
        g->b_logits[i] = i == n - 1;
    }
    owl_batch b = {.n = n, .token = g->b_token, .pos = g->b_pos, .seq = g->b_seq, .logits = g->b_logits};
    owl_status st = owl_decode(g->ctx, &b);
    if (st != OWL_OK) return lib_fail(g, "decode failed");
    memcpy(g->cache + g->n_past, toks, (size_t)n * sizeof *toks);
    g->n_past += n;
    g->logits_row = n - 1;
    return 0;
}

int gen_feed(generator *g, const owl_token *toks, size_t n) {
    if (n == 0) return cli_fail(g->cmd, "nothing to decode: the prompt has no tokens");
    if (n > g->n_ctx)
        return cli_fail(g->cmd, "the prompt is %zu tokens but the context holds %u (raise -c)", n, g->n_ctx);
    double t0 = gen_now();
    size_t keep = 0;
    while (keep < (size_t)g->n_past && keep < n && g->cache[keep] == toks[keep]) keep++;
    if (keep == n) keep = n - 1; /* the last token again: its logits are needed */
    if ((int32_t)keep < g->n_past) owl_kv_seq_rm(g->ctx, 0, (int32_t)keep, -1);
    g->n_past = (int32_t)keep;
    for (size_t i = keep; i < n;) {
        int32_t m = (int32_t)(n - i < (size_t)g->n_batch ? n - i : (size_t)g->n_batch);
        if (decode_rows(g, toks + i, m)) return 1;
        for (int32_t k = 0; k < m; k++) owl_sampler_accept(g->smpl, toks[i + (size_t)k]);
        i += (size_t)m;
    }
    g->stats.n_prompt += (int64_t)(n - keep);
    g->stats.t_prompt += gen_now() - t0;
    return 0;
}

/* Appends to g->text, growing it by doubling. */
static int text_append(generator *g, const char *s, size_t len) {
    if (g->text_len + len + 1 > g->text_cap) {
        size_t cap = g->text_cap;
        while (g->text_len + len + 1 > cap) cap *= 2;
        char *t = realloc(g->text, cap);
        if (!t) return cli_fail(g->cmd, "out of memory");
        g->text = t;
        g->text_cap = cap;
    }
    memcpy(g->text + g->text_len, s, len);
    g->text_len += len;
    g->text[g->text_len] = 0;
    return 0;
}

static int emit(generator *g, FILE *out, const char *s, size_t len) {
    if (!len) return 0;
    if (out) {
        fwrite(s, 1, len, out);
        fflush(out);
    }
    return text_append(g, s, len);
}

int gen_reply(generator *g, int32_t n_predict, FILE *out, gen_stop *why) {
    double t0 = gen_now();
    g->text_len = 0;
    g->text[0] = 0;
    const char *s;
    size_t len;
    owl_token pending = -1; /* sampled, shown, not yet decoded */
    int32_t n = 0;
    int rc = 0;
    for (;;) {
        if (n_predict >= 0 && n >= n_predict) {
            *why = GEN_STOP_LIMIT;
            break;
        }
        if (gen_interrupt) {
            gen_interrupt = 0;
            *why = GEN_STOP_INTERRUPT;
            break;
        }
        if (pending >= 0) {
            if ((uint32_t)g->n_past >= g->n_ctx) {
                *why = GEN_STOP_FULL;
                break;
            }
            if ((rc = decode_rows(g, &pending, 1))) break;
        }
        const float *logits = owl_get_logits(g->ctx, g->logits_row);
        if (!logits) {
            rc = cli_fail(g->cmd, "internal error: no logits after decode");
            break;
        }
        owl_token t = owl_sampler_sample(g->smpl, logits);
        owl_sampler_accept(g->smpl, t);
        if (owl_token_is_eog(g->model, t)) {
            *why = GEN_STOP_EOG;
            break;
        }
        owl_detok_push(g->detok, t, &s, &len);
        if ((rc = emit(g, out, s, len))) break;
        n++;
        pending = t;
    }
    owl_detok_flush(g->detok, &s, &len);
    if (!rc) rc = emit(g, out, s, len);
    g->stats.n_gen += n;
    g->stats.t_gen += gen_now() - t0;
    return rc;
}

void gen_print_stats(const generator *g) {
    const gen_stats *st = &g->stats;
    fprintf(stderr, "owl %s: prompt: %lld tokens, %.2f t/s; generation: %lld tokens, %.2f t/s\n", g->cmd,
            (long long)st->n_prompt, st->t_prompt > 0 ? (double)st->n_prompt / st->t_prompt : 0.0,
            (long long)st->n_gen, st->t_gen > 0 ? (double)st->n_gen / st->t_gen : 0.0);
}
