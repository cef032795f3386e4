/* tokenize.c — `owl tokenize`: the token ids and pieces of a text.
 *
 * Loads only the vocabulary. By default prints one token per line,
 * "ID -> 'PIECE'" with the piece's bytes escaped where they would not show
 * (\n, \t, \r, \\, \', other control bytes and broken UTF-8 as \xNN);
 * with --ids prints only the ids, space-separated, on one line. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"

static const arg_cmd tokenize_cmd = {
    .name = "tokenize",
    .synopsis = "-m MODEL [options] (TEXT | -f FILE)",
    .about = "Tokenizes TEXT the way owl run does (the BOS token if the model asks for one,\n"
             "special tokens written in the text such as <|im_start|> kept whole) and prints\n"
             "one token per line: ID -> 'PIECE'. With --ids prints only the ids, separated\n"
             "by spaces, on one line.",
    .footer = "example:\n  owl tokenize -m SmolLM2-135M-Instruct.Q4_1.gguf --ids \"Hello world\"",
};

/* length of the valid UTF-8 sequence at s[0..n), 0 if invalid */
static size_t utf8_len(const unsigned char *s, size_t n) {
    size_t k = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3 : (s[0] >> 3) == 30 ? 4 : 0;
    if (k == 0 || k > n) return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return k;
}

static void print_escaped(const char *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k;
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c == '\\' || c == '\'')
            printf("\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else if (c >= 0x80 && (k = utf8_len(s + i, n - i)) > 1) {
            fwrite(s + i, 1, k, stdout);
            i += k;
            continue;
        } else if (c >= 0x80)
            printf("\\x%02x", c);
        else
            fputc(c, stdout);
        i++;
    }
}

int cmd_tokenize(int argc, char **argv) {
    const char *model_path = NULL, *file = NULL;
    bool ids_only = false, no_add = false, no_parse = false;
    const arg_opt opts[] = {
        {"-m", "--model", ARG_STR, &model_path, 0, 0, "FILE", "the model (GGUF); only its vocabulary is read"},
        {"-f", "--file", ARG_STR, &file, 0, 0, "FILE", "tokenize the text of FILE (- for stdin)"},
        {NULL, "--ids", ARG_FLAG, &ids_only, 0, 0, NULL, "print only the ids, space-separated, on one line"},
        {NULL, "--no-add-special", ARG_FLAG, &no_add, 0, 0, NULL, "do not add BOS/EOS tokens"},
        {NULL, "--no-parse-special", ARG_FLAG, &no_parse, 0, 0, NULL,
         "treat special tokens written in the text as plain text"},
    };
    const char *pos[1];
    int n_pos = 0;
    int r = args_parse(&tokenize_cmd, opts, sizeof opts / sizeof opts[0], argc, argv, pos, 1, &n_pos);
    if (r != ARGS_OK) return r == ARGS_HELP ? 0 : 1;
    if (!model_path) return cli_fail("tokenize", "no model given (-m FILE)");
    char cached[4096];
    if (!(model_path = cli_model_path("tokenize", model_path, cached, sizeof cached))) return 1;
    if (n_pos && file) return cli_fail("tokenize", "give the text as an argument or with -f, not both");
    if (!n_pos && !file) return cli_fail("tokenize", "no text given (TEXT or -f FILE)");

    char *file_text = NULL;
    const char *text = n_pos ? pos[0] : NULL;
    size_t len = text ? strlen(text) : 0;
    if (file) {
        file_text = cli_read_file("tokenize", file, &len);
        if (!file_text) return 1;
        text = file_text;
    }

    int rc = 1;
    owl_model *m = NULL;
    owl_token *ids = NULL;
    size_t n = 0;
    owl_model_params mp = owl_model_default_params();
    mp.vocab_only = true;
    if (owl_model_load(model_path, &mp, &m) != OWL_OK) {
        cli_fail("tokenize", "%s", owl_last_error());
        goto out;
    }
    if (owl_tokenize(m, text, len, !no_add, !no_parse, &ids, &n) != OWL_OK) {
        cli_fail("tokenize", "%s", owl_last_error());
        goto out;
    }
    if (ids_only) {
        for (size_t i = 0; i < n; i++) printf("%s%d", i ? " " : "", ids[i]);
        printf("\n");
    } else {
        char buf[256];
        for (size_t i = 0; i < n; i++) {
            size_t k = owl_token_piece(m, ids[i], buf, sizeof buf);
            printf("%6d -> '", ids[i]);
            if (k <= sizeof buf) {
                print_escaped(buf, k);
            } else { /* a long piece: fetch it whole */
                char *big = malloc(k);
                if (!big) {
                    cli_fail("tokenize", "out of memory");
                    goto out;
                }
                owl_token_piece(m, ids[i], big, k);
                print_escaped(big, k);
                free(big);
            }
            printf("'\n");
        }
    }
    rc = 0;
out:
    owl_free(ids);
    owl_model_free(m);
    free(file_text);
    return rc;
}
