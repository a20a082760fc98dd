/* main.c: the `ember` command's entry point: picks the command from argv[1] and hands it the
 * rest; handles --help, --version and `help` itself. */
#include <string.h>

#include "cli.h"
#include "ember.h"
#include "output.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *to);
} command;

static const command COMMANDS[] = {
    {"devices", cmd_devices, usage_devices}, {"count", cmd_count, usage_count},
    {"groupby", cmd_groupby, usage_groupby}, {"map", cmd_map, usage_map},
    {"range", cmd_range, usage_range},
};
#define COMMAND_COUNT (sizeof COMMANDS / sizeof COMMANDS[0])

static const command *find_command(const char *name) {
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    }
    return NULL;
}

static int help(int argc, char **argv) {
    if (argc < 2) {
        usage_main(stdout);
        return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
    }
    if (argc > 2) {
        cli_error("too many arguments (see 'ember --help')");
        return CLI_EXIT_USAGE;
    }
    const command *cmd = find_command(argv[1]);
    if (!cmd) {
        cli_error("unknown command '%s' (see 'ember --help')", argv[1]);
        return CLI_EXIT_USAGE;
    }
    cmd->usage(stdout);
    return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage_main(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0)
        return help(argc - 1, argv + 1);
    if (strcmp(name, "--version") == 0) {
        if (argc > 2) {
            cli_error("too many arguments (see 'ember --help')");
            return CLI_EXIT_USAGE;
        }
        printf("ember %s\n", ember_version());
        return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
    }
    const command *cmd = find_command(name);
    if (cmd)
        return cmd->run(argc - 1, argv + 1);
    if (name[0] == '-')
        cli_error("unknown option '%s' (see 'ember --help')", name);
    else
        cli_error("unknown command '%s' (see 'ember --help')", name);
    return CLI_EXIT_USAGE;
}
