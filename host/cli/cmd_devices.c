/* cmd_devices.c: `ember devices`, one row per OpenCL device, so a user can pick the P:D that
 * --device and $EMBER_DEVICE take. Needs no session: nothing is compiled or allocated on a
 * device. */
#include <inttypes.h>

#include "cli.h"
#include "options.h"
#include "output.h"

#define DEVICE_COLUMNS 9

static const char *const DEVICE_NAMES[DEVICE_COLUMNS] = {
    "device",        "platform",       "name",     "type",    "compute_units",
    "global_memory", "max_allocation", "opencl_c", "default",
};
static const bool DEVICE_NUMERIC[DEVICE_COLUMNS] = {false, false, false, false, true,
                                                    true,  true,  false, false};

/* Adds device i of the list as one row; false when out of memory. */
static bool add_device_row(cli_table *table, const ember_device_list *list, size_t i) {
    char index[32], units[16], memory[24], allocation[24];
    snprintf(index, sizeof index, "%d:%d", ember_device_list_platform_index(list, i),
             ember_device_list_device_index(list, i));
    snprintf(units, sizeof units, "%" PRIu32, ember_device_list_compute_units(list, i));
    snprintf(memory, sizeof memory, "%" PRIu64, ember_device_list_global_memory(list, i));
    snprintf(allocation, sizeof allocation, "%" PRIu64, ember_device_list_max_allocation(list, i));
    const char *cells[DEVICE_COLUMNS] = {
        index,
        ember_device_list_platform_name(list, i),
        ember_device_list_device_name(list, i),
        ember_device_list_type(list, i),
        units,
        memory,
        allocation,
        ember_device_list_opencl_c_version(list, i),
        ember_device_list_is_default(list, i) ? "yes" : "no",
    };
    return cli_table_add_row(table, cells);
}

int cmd_devices(int argc, char **argv) {
    cli_options options;
    if (!cli_options_parse(argc, argv, CLI_GROUP_BASIC, &options))
        return CLI_EXIT_USAGE;
    if (options.help) {
        usage_devices(stdout);
        return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
    }
    if (!cli_options_expect_positionals(&options, "devices", 0, NULL))
        return CLI_EXIT_USAGE;

    char message[1024] = "";
    ember_device_list *list = NULL;
    ember_status status = ember_device_list_create(&list, message, sizeof message);
    if (status != EMBER_OK) {
        cli_error("%s", message[0] ? message : ember_status_str(status));
        return CLI_EXIT_RUNTIME;
    }

    int code = CLI_EXIT_OK;
    cli_table table;
    cli_table_init(&table, DEVICE_COLUMNS, DEVICE_NAMES, DEVICE_NUMERIC);
    size_t count = ember_device_list_count(list);
    for (size_t i = 0; i < count && code == CLI_EXIT_OK; i++) {
        if (!add_device_row(&table, list, i)) {
            cli_error("out of memory");
            code = CLI_EXIT_RUNTIME;
        }
    }
    if (code == CLI_EXIT_OK) {
        cli_table_print(&table, options.format, stdout);
        if (!cli_flush_stdout())
            code = CLI_EXIT_RUNTIME;
    }
    cli_table_free(&table);
    ember_device_list_free(list);
    return code;
}
