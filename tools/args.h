/* args.h — command-line options of the owl subcommands, from one table.
 *
 * Each subcommand describes its options in an array of arg_opt; args_parse
 * fills the destinations and collects positional arguments, and
 * args_usage prints the --help text from the same table, so the two never
 * disagree. Every error is one line on stderr naming the command, the
 * option and the bad value:
 *
 *   owl run: unknown option '--tmp' (owl run --help lists the options)
 *   owl run: --top-p needs a value
 *   owl run: --top-p expects a number in [0, 1], got 'abc'
 *
 * Options are written "-n 16", "--n-predict 16" or "--n-predict=16"; "--"
 * ends the options. */
#ifndef OWL_TOOLS_ARGS_H
#define OWL_TOOLS_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum arg_kind {
    ARG_FLAG,  /* bool: set to true, takes no value */
    ARG_STR,   /* const char *: the value as written */
    ARG_INT,   /* int32_t, in [min, max] */
    ARG_FLOAT, /* float, finite, in [min, max] */
    ARG_U64,   /* uint64_t, decimal or 0x hex */
} arg_kind;

typedef struct arg_opt {
    const char *short_name; /* "-m", or NULL */
    const char *long_name;  /* "--model" */
    arg_kind kind;
    void *dst;              /* bool *, const char **, int32_t *, float *, uint64_t * */
    double min, max;        /* range for ARG_INT / ARG_FLOAT (inclusive;
                               +-INFINITY for none) */
    const char *metavar;    /* "N", "FILE"; for the help text */
    const char *help;       /* one line; the default is added by args_usage */
} arg_opt;

/* What a subcommand's help page says around its options table. */
typedef struct arg_cmd {
    const char *name;     /* "run": messages say "owl run: ..." */
    const char *synopsis; /* "-m MODEL -p PROMPT [options]" */
    const char *about;    /* paragraph(s) printed after the synopsis */
    const char *footer;   /* printed after the options, or NULL */
} arg_cmd;

enum { ARGS_OK = 0, ARGS_ERROR = 1, ARGS_HELP = 2 };

/* Parses argv[1..argc) (argv[0] is the subcommand name). Positional
 * arguments go to pos[0..max_pos) and their count to *n_pos; one too many
 * is an error. Returns ARGS_OK; ARGS_ERROR after printing one line on
 * stderr; ARGS_HELP after printing the help page on stdout (-h, --help). */
int args_parse(const arg_cmd *cmd, const arg_opt *opts, size_t n_opts, int argc, char **argv,
               const char **pos, int max_pos, int *n_pos);

/* args_parse that also sets given[k] (n_opts entries) when opts[k] is on
 * the command line, so a default from the model can yield to the user. */
int args_parse_given(const arg_cmd *cmd, const arg_opt *opts, size_t n_opts, int argc, char **argv,
                     const char **pos, int max_pos, int *n_pos, bool *given);

/* Prints the help page: synopsis, about, the options with their current
 * values as defaults, footer. */
void args_usage(FILE *f, const arg_cmd *cmd, const arg_opt *opts, size_t n_opts);

/* Prints "owl CMD: " + the formatted message + newline on stderr; returns 1
 * (the exit code), so a subcommand can `return cli_fail(...)`. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads a whole file ("-": stdin) into a NUL-terminated buffer (free());
 * NULL after printing one error line. */
char *cli_read_file(const char *cmd, const char *path, size_t *len);

#endif
