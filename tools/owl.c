/* owl.c — the owl command: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"run", cmd_run, "generate text from a prompt"},
    {"chat", cmd_chat, "interactive chat with the model's template"},
    {"info", cmd_info, "architecture, hyperparameters and tensors of a model"},
    {"tokenize", cmd_tokenize, "token ids and pieces of a text"},
    {"pull", cmd_pull, "download a model repository from the Hugging Face hub"},
    {"quantize", cmd_quantize, "rewrite a model's weights in another type (q4_0, q4_k_m, ...)"},
    {"convert", cmd_convert, "write a Hugging Face model folder as a GGUF file (--quant q8_0, ...)"},
    {"bench", cmd_bench, "prompt and generation speed in tokens/s, llama-bench style"},
    {"perplexity", cmd_perplexity, "perplexity of a text and KL-divergence from a base run, llama-perplexity style"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: owl COMMAND [options]   (owl COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "owl: no command given (owl --help lists them)\n");
        return 1;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "owl: unknown command '%s' (owl --help lists them)\n", argv[1]);
    return 1;
}
