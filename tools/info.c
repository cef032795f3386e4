/* info.c — `owl info`: what a model file holds.
 *
 * One "key: value" line each for the architecture, the hyperparameters,
 * the tensor count, the tensors per type, the parameter count and the
 * file size; --tensors adds one line per tensor (name, type, shape). */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"

static const arg_cmd info_cmd = {
    .name = "info",
    .synopsis = "MODEL [options]   (or -m MODEL)",
    .about = "Prints the architecture, hyperparameters, tensor count, tensors per type,\n"
             "parameter count and file size of a model, one \"key: value\" per line.",
    .footer = "example:\n  owl info SmolLM2-135M-Instruct.Q4_1.gguf",
};

/* "134.52 M" style, for counts and sizes */
static void human(char *buf, size_t cap, double x, const char *const *units, double step) {
    int u = 0;
    while (x >= step && units[u + 1]) {
        x /= step;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%.0f%s", x, units[0]);
    else
        snprintf(buf, cap, "%.2f %s", x, units[u]);
}

int cmd_info(int argc, char **argv) {
    const char *model_path = NULL;
    bool list = false;
    const arg_opt opts[] = {
        {"-m", "--model", ARG_STR, &model_path, 0, 0, "FILE", "the model (GGUF), instead of the MODEL argument"},
        {NULL, "--tensors", ARG_FLAG, &list, 0, 0, NULL, "also list every tensor: name, type, shape"},
    };
    const char *pos[1];
    int n_pos = 0;
    int r = args_parse(&info_cmd, opts, sizeof opts / sizeof opts[0], argc, argv, pos, 1, &n_pos);
    if (r != ARGS_OK) return r == ARGS_HELP ? 0 : 1;
    if (n_pos && model_path) return cli_fail("info", "give the model once: as MODEL or with -m");
    if (n_pos) model_path = pos[0];
    if (!model_path) return cli_fail("info", "no model given (owl info MODEL)");
    char cached[4096];
    if (!(model_path = cli_model_path("info", model_path, cached, sizeof cached))) return 1;

    owl_model *m = NULL;
    owl_model_params mp = owl_model_default_params();
    mp.no_repack = true; /* nothing runs */
    if (owl_model_load(model_path, &mp, &m) != OWL_OK) return cli_fail("info", "%s", owl_last_error());
    owl_model_info mi;
    owl_model_get_info(m, &mi);

    uint64_t per_type[OWL_TYPE_COUNT] = {0}, other = 0;
    for (uint64_t i = 0; i < mi.n_tensors; i++) {
        const char *name;
        int type;
        int64_t ne[4];
        if (!owl_model_tensor(m, i, &name, &type, ne)) break;
        if (type >= 0 && type < OWL_TYPE_COUNT)
            per_type[type]++;
        else
            other++;
    }

    static const char *const count_units[] = {"", "K", "M", "B", "T", NULL};
    static const char *const byte_units[] = {" bytes", "KiB", "MiB", "GiB", "TiB", NULL};
    char params[32], size[32];
    human(params, sizeof params, (double)mi.n_params, count_units, 1000);
    human(size, sizeof size, (double)mi.file_size, byte_units, 1024);

    printf("file:         %s\n", model_path);
    if (mi.gguf_version)
        printf("format:       GGUF v%u\n", mi.gguf_version);
    else
        printf("format:       Hugging Face folder (safetensors)\n");
    printf("name:         %s\n", mi.name ? mi.name : "");
    printf("arch:         %s\n", mi.arch ? mi.arch : "");
    printf("n_vocab:      %d\n", mi.n_vocab);
    printf("n_ctx_train:  %d\n", mi.n_ctx_train);
    printf("n_embd:       %d\n", mi.n_embd);
    printf("n_layer:      %d\n", mi.n_layer);
    printf("n_head:       %d\n", mi.n_head);
    printf("n_head_kv:    %d\n", mi.n_head_kv);
    printf("head_dim:     %d\n", mi.head_dim);
    printf("n_ff:         %d\n", mi.n_ff);
    printf("rope_theta:   %g\n", (double)mi.rope_theta);
    printf("norm_eps:     %g\n", (double)mi.norm_eps);
    printf("tied_output:  %s\n", mi.tied_output ? "yes" : "no");
    printf("n_tensors:    %llu\n", (unsigned long long)mi.n_tensors);
    printf("types:       ");
    for (int t = 0; t < OWL_TYPE_COUNT; t++)
        if (per_type[t]) {
            const char *tn = owl_type_name(t);
            if (tn)
                printf(" %s:%llu", tn, (unsigned long long)per_type[t]);
            else
                printf(" type%d:%llu", t, (unsigned long long)per_type[t]);
        }
    if (other) printf(" other:%llu", (unsigned long long)other);
    printf("\n");
    printf("n_params:     %llu (%s)\n", (unsigned long long)mi.n_params, params);
    printf("file_size:    %llu (%s)\n", (unsigned long long)mi.file_size, size);

    if (list) {
        printf("\ntensors:\n");
        for (uint64_t i = 0; i < mi.n_tensors; i++) {
            const char *name;
            int type;
            int64_t ne[4];
            if (!owl_model_tensor(m, i, &name, &type, ne)) break;
            const char *tn = owl_type_name(type);
            int nd = 4;
            while (nd > 1 && ne[nd - 1] == 1) nd--;
            printf("  %-32s %-6s [", name, tn ? tn : "?");
            for (int d = 0; d < nd; d++) printf("%s%lld", d ? ", " : "", (long long)ne[d]);
            printf("]\n");
        }
    }
    owl_model_free(m);
    return 0;
}
