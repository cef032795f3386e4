/* chat.c — `owl chat`: a multi-turn conversation with the model's template.
 *
 * Each line read from stdin is one user message. Every turn renders the
 * whole conversation with owl_chat_apply, tokenizes it, and lets
 * gen_feed keep the part of the KV cache that matches (the earlier turns)
 * so only the new message is decoded. The reply streams to stdout and is
 * kept in the conversation as the assistant's message. When the
 * conversation outgrows the context, the oldest exchanges are dropped. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "generate.h"

static const arg_cmd chat_cmd = {
    .name = "chat",
    .synopsis = "-m MODEL [options]",
    .about =
        "Chats with the model, using the chat template stored in the model (ChatML for\n"
        "SmolLM2). Each line of input is one message; the reply follows it. Commands:\n"
        "  /exit    leave (end of input does the same)\n"
        "  /reset   forget the conversation (the system message stays)\n"
        "\n"
        "On a terminal (stdin is a tty): a \"> \" prompt on stdout before each message,\n"
        "a greeting on stderr, and Ctrl-C stops a reply (at the prompt, it leaves).\n"
        "From a pipe or a file: no prompt and no greeting; stdout receives the replies\n"
        "and nothing else, each followed by one newline. Messages and the timing line\n"
        "always go to stderr.",
    .footer = "example:\n"
              "  printf 'Hi!\\nWhat is 2+2?\\n/exit\\n' | owl chat -m SmolLM2-135M-Instruct.Q4_1.gguf",
};

typedef struct conversation {
    owl_chat_msg *msgs; /* role is a literal, content is owned (malloc) */
    size_t n, cap;
    size_t n_fixed;     /* leading messages kept by /reset (the system one) */
} conversation;

static int conv_push(conversation *c, const char *role, const char *content, size_t len) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        owl_chat_msg *m = realloc(c->msgs, cap * sizeof *m);
        if (!m) return cli_fail("chat", "out of memory");
        c->msgs = m;
        c->cap = cap;
    }
    char *s = malloc(len + 1);
    if (!s) return cli_fail("chat", "out of memory");
    memcpy(s, content, len);
    s[len] = 0;
    c->msgs[c->n++] = (owl_chat_msg){.role = role, .content = s};
    return 0;
}

/* Removes messages [i, i + k). */
static void conv_remove(conversation *c, size_t i, size_t k) {
    if (k == 0) return;
    for (size_t j = i; j < i + k; j++) free((char *)c->msgs[j].content);
    memmove(c->msgs + i, c->msgs + i + k, (c->n - i - k) * sizeof *c->msgs);
    c->n -= k;
}

static void conv_free(conversation *c) {
    conv_remove(c, 0, c->n);
    free(c->msgs);
}

/* Renders and tokenizes msgs with the generation prompt. */
static int conv_tokens(owl_model *model, const owl_chat_msg *msgs, size_t n_msgs, owl_token **ids, size_t *n) {
    char *text = NULL;
    *ids = NULL;
    if (owl_chat_apply(model, msgs, n_msgs, true, &text) != OWL_OK)
        return cli_fail("chat", "cannot apply the chat template: %s", owl_last_error());
    owl_status st = owl_tokenize(model, text, strlen(text), true, true, ids, n);
    owl_free(text);
    if (st != OWL_OK) return cli_fail("chat", "cannot tokenize the conversation: %s", owl_last_error());
    /* a template that writes the BOS itself, plus the tokenizer adding one */
    owl_token bos = owl_token_bos(model);
    if (*n >= 2 && bos >= 0 && (*ids)[0] == bos && (*ids)[1] == bos) {
        memmove(*ids, *ids + 1, (*n - 1) * sizeof **ids);
        (*n)--;
    }
    return 0;
}

static void on_sigint(int sig) {
    (void)sig;
    gen_interrupt = 1;
}

int cmd_chat(int argc, char **argv) {
    const char *system_msg = NULL;
    int32_t n_predict = -1;
    bool no_prefix_cache = false, verbose = false;
    const arg_opt extra[] = {
        {NULL, "--system", ARG_STR, &system_msg, 0, 0, "TEXT", "a system message that opens the conversation"},
        {"-n", "--n-predict", ARG_INT, &n_predict, -1, INT32_MAX, "N",
         "most tokens per reply, -1 = until the end or a full context"},
        {NULL, "--no-prefix-cache", ARG_FLAG, &no_prefix_cache, 0, 0, NULL,
         "decode the whole conversation every turn instead of only the new part (slower)"},
        {"-v", "--verbose", ARG_FLAG, &verbose, 0, 0, NULL,
         "per turn, print on stderr how many tokens were decoded and how many reused"},
    };
    enum { N_EXTRA = sizeof extra / sizeof extra[0] };
    gen_opts o;
    arg_opt opts[GEN_N_OPTS + N_EXTRA];
    size_t n_opts = gen_opts_init(&o, opts, extra, N_EXTRA);
    int n_pos = 0;
    int r = gen_args_parse(&chat_cmd, &o, opts, n_opts, argc, argv, &n_pos);
    if (r != ARGS_OK) return r == ARGS_HELP ? 0 : 1;
    if (!o.model) return cli_fail("chat", "no model given (-m FILE)");

    bool tty = isatty(STDIN_FILENO);
    int rc = 1;
    owl_model *model = NULL;
    generator g;
    conversation conv = {0};
    char *line = NULL;
    size_t line_cap = 0;
    owl_token *ids = NULL;
    size_t n_ids = 0;

    if (gen_init(&g, "chat", &o, &model)) goto out;
    if (system_msg) {
        if (conv_push(&conv, "system", system_msg, strlen(system_msg))) goto out;
        conv.n_fixed = 1;
    }
    if (tty) {
        owl_model_info mi;
        owl_model_get_info(model, &mi);
        fprintf(stderr,
                "owl chat: %s, context %u tokens. /exit or Ctrl-D to leave, /reset to start over,\n"
                "          Ctrl-C stops a reply.\n",
                mi.name && *mi.name ? mi.name : o.model, g.n_ctx);
        /* Ctrl-C stops the reply under way; at the prompt it leaves */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
    }

    for (;;) {
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        gen_interrupt = 0;
        ssize_t len = getline(&line, &line_cap, stdin);
        if (len < 0) { /* end of input, or Ctrl-C at the prompt */
            if (tty) fputc('\n', stdout);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) break;
        if (!strcmp(line, "/reset")) {
            conv_remove(&conv, conv.n_fixed, conv.n - conv.n_fixed);
            if (tty) fprintf(stderr, "owl chat: conversation forgotten\n");
            continue;
        }
        if (conv_push(&conv, "user", line, (size_t)len)) goto out;

        /* A message that does not fit even alone (after the system message)
         * is refused, and the conversation stays as it was. Otherwise the
         * oldest exchanges go until the conversation leaves room for a
         * reply: n_predict tokens, at most a quarter of the context. */
        size_t reserve = n_predict >= 0 && (uint32_t)n_predict < g.n_ctx / 4 ? (size_t)n_predict : g.n_ctx / 4;
        owl_free(ids);
        if (conv_tokens(model, conv.msgs, conv.n, &ids, &n_ids)) goto out;
        if (n_ids + reserve > g.n_ctx && conv.n - conv.n_fixed > 1) {
            owl_chat_msg alone[2];
            memcpy(alone, conv.msgs, conv.n_fixed * sizeof *alone);
            alone[conv.n_fixed] = conv.msgs[conv.n - 1];
            owl_free(ids);
            if (conv_tokens(model, alone, conv.n_fixed + 1, &ids, &n_ids)) goto out;
            if (n_ids < g.n_ctx) {
                while (conv.n - conv.n_fixed > 1) {
                    conv_remove(&conv, conv.n_fixed, conv.n - conv.n_fixed >= 3 ? 2 : 1);
                    owl_free(ids);
                    if (conv_tokens(model, conv.msgs, conv.n, &ids, &n_ids)) goto out;
                    if (n_ids + reserve <= g.n_ctx) break;
                }
                fprintf(stderr, "owl chat: the conversation outgrew the context; dropped the oldest turns\n");
            }
        }
        if (n_ids >= g.n_ctx) {
            fprintf(stderr, "owl chat: this message is too long for the context (%zu tokens of %u); ignored\n",
                    n_ids, g.n_ctx);
            conv_remove(&conv, conv.n - 1, 1);
            continue;
        }
        if (no_prefix_cache) {
            owl_kv_seq_rm(g.ctx, 0, 0, -1);
            g.n_past = 0;
        }
        int64_t before = g.stats.n_prompt;
        if (gen_feed(&g, ids, n_ids)) goto out;
        if (verbose)
            fprintf(stderr, "owl chat: conversation %zu tokens, %lld decoded, %lld reused from the cache\n", n_ids,
                    (long long)(g.stats.n_prompt - before), (long long)(n_ids - (size_t)(g.stats.n_prompt - before)));
        gen_stop why;
        if (gen_reply(&g, n_predict, stdout, &why)) goto out;
        fputc('\n', stdout);
        fflush(stdout);
        if (why == GEN_STOP_FULL) fprintf(stderr, "owl chat: the reply filled the context and was cut\n");
        if (why == GEN_STOP_INTERRUPT) fprintf(stderr, "owl chat: reply stopped\n");
        if (conv_push(&conv, "assistant", g.text, g.text_len)) goto out;
    }
    gen_print_stats(&g);
    rc = 0;
out:
    owl_free(ids);
    free(line);
    conv_free(&conv);
    gen_free(&g);
    owl_model_free(model);
    return rc;
}
