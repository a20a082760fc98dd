/* cli.h: what the pieces of the `ember` command share: exit codes, the command entry points
 * and their help texts. The command uses only the public API (ember.h). */
#ifndef EMBER_CLI_H
#define EMBER_CLI_H

#include <stdio.h>

/* Exit codes: scripts tell a bad command line (2) from a job that failed (1). */
#define CLI_EXIT_OK      0
#define CLI_EXIT_RUNTIME 1
#define CLI_EXIT_USAGE   2

/* Each command takes its own argv: argv[0] is the command's name. Returns the exit code. */
int cmd_devices(int argc, char **argv);
int cmd_count(int argc, char **argv);
int cmd_groupby(int argc, char **argv);
int cmd_range(int argc, char **argv);
int cmd_map(int argc, char **argv);

/* Help texts (usage.c). */
void usage_main(FILE *to);
void usage_devices(FILE *to);
void usage_count(FILE *to);
void usage_groupby(FILE *to);
void usage_range(FILE *to);
void usage_map(FILE *to);

#endif
