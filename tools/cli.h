/* cli.h — the subcommands of the owl CLI, one file each (tools/<name>.c). */
#ifndef OWL_TOOLS_CLI_H
#define OWL_TOOLS_CLI_H

#include "owl.h"

int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);

#endif
