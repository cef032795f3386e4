/* run.c — `owl run`: generate text from a prompt.
 *
 * Tokenizes the prompt (BOS as the model asks, special tokens written in
 * the text kept whole), decodes it in batches, then samples and decodes
 * one token at a time, streaming only the generated text to stdout. The
 * timing line and any message go to stderr. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "generate.h"

static const arg_cmd run_cmd = {
    .name = "run",
    .synopsis = "-m MODEL (-p PROMPT | -f FILE) [options]",
    .about =
        "Generates text that continues PROMPT. stdout receives the generated text and\n"
        "nothing else (not the prompt, no final newline); the timing line and messages\n"
        "go to stderr. Generation stops after -n tokens, at an end-of-generation token,\n"
        "or when the context is full.\n"
        "\n"
        "--temp 0 is greedy decoding. Otherwise the sampler applies penalties, top-k,\n"
        "top-p, min-p (these three on the untempered probabilities, as llama.cpp does),\n"
        "then the temperature, and draws with --seed: the same seed and settings give\n"
        "the same text.",
    .footer = "example:\n"
              "  owl run -m SmolLM2-135M-Instruct.Q4_1.gguf -p \"The capital of France is\" -n 32 --temp 0",
};

int cmd_run(int argc, char **argv) {
    const char *prompt = NULL, *prompt_file = NULL;
    int32_t n_predict = 256;
    const arg_opt extra[] = {
        {"-p", "--prompt", ARG_STR, &prompt, 0, 0, "TEXT", "the prompt"},
        {"-f", "--file", ARG_STR, &prompt_file, 0, 0, "FILE", "read the prompt from FILE (- for stdin)"},
        {"-n", "--n-predict", ARG_INT, &n_predict, -1, INT32_MAX, "N",
         "most tokens to generate, -1 = until the end or a full context"},
    };
    enum { N_EXTRA = sizeof extra / sizeof extra[0] };
    gen_opts o;
    arg_opt opts[GEN_N_OPTS + N_EXTRA];
    size_t n_opts = gen_opts_init(&o, opts, extra, N_EXTRA);
    int n_pos = 0;
    int r = gen_args_parse(&run_cmd, &o, opts, n_opts, argc, argv, &n_pos);
    if (r != ARGS_OK) return r == ARGS_HELP ? 0 : 1;
    if (!o.model) return cli_fail("run", "no model given (-m FILE)");
    if (!prompt && !prompt_file) return cli_fail("run", "no prompt given (-p TEXT or -f FILE)");
    if (prompt && prompt_file) return cli_fail("run", "give the prompt with -p or with -f, not both");

    char *file_text = NULL;
    size_t prompt_len = prompt ? strlen(prompt) : 0;
    if (prompt_file) {
        file_text = cli_read_file("run", prompt_file, &prompt_len);
        if (!file_text) return 1;
        prompt = file_text;
    }

    int rc = 1;
    owl_model *model = NULL;
    owl_token *ids = NULL;
    size_t n_ids = 0;
    generator g;
    if (gen_init(&g, "run", &o, &model)) goto out;
    if (owl_tokenize(model, prompt, prompt_len, true, true, &ids, &n_ids) != OWL_OK) {
        cli_fail("run", "cannot tokenize the prompt: %s", owl_last_error());
        goto out;
    }
    if (gen_feed(&g, ids, n_ids)) goto out;
    gen_stop why;
    if (gen_reply(&g, n_predict, stdout, &why)) goto out;
    /* stdout holds only the text; on a terminal, end its line on stderr so
     * the timing line starts on its own */
    if (isatty(STDOUT_FILENO) && isatty(STDERR_FILENO) && g.text_len && g.text[g.text_len - 1] != '\n')
        fputc('\n', stderr);
    if (why == GEN_STOP_FULL)
        fprintf(stderr, "owl run: stopped: the context is full (%u tokens; raise -c)\n", g.n_ctx);
    gen_print_stats(&g);
    rc = 0;
out:
    gen_free(&g);
    owl_free(ids);
    owl_model_free(model);
    free(file_text);
    return rc;
}
