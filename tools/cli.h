/* cli.h — the subcommands of the owl CLI, one file each (tools/<name>.c). */
#ifndef OWL_TOOLS_CLI_H
#define OWL_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "owl.h"

int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);

/* TYPE is one that `owl quantize` takes (q8_0, q4_k_m, f16, ...). */
bool quantize_type_known(const char *name);

/* The file or folder to load for -m ARG: ARG itself when it exists, ends
 * in .gguf or is not a hub name, else the cached copy of ORG/NAME[@REV]
 * (tools/pull.c).
 * NULL after printing "owl CMD: ..." when the repository is not cached. */
const char *cli_model_path(const char *cmd, const char *arg, char *buf, size_t cap);

#endif
