/* usage.c: the help texts of the `ember` command; docs/cli.md says the same at length. */
#include "cli.h"

static const char FORMAT_HELP[] =
    "  --format FORMAT     csv or table; default: table when standard output is a\n"
    "                      terminal, csv otherwise\n"
    "  -h, --help          show this help\n";

void usage_main(FILE *to) {
    fputs("Usage: ember COMMAND [OPTIONS]\n"
          "\n"
          "Runs Spark-style jobs on OpenCL devices (GPUs, or the CPU through pocl).\n"
          "\n"
          "Commands:\n"
          "  devices             list the OpenCL devices and mark the default one\n"
          "  count FILE          count the data rows of a CSV file\n"
          "  groupby FILE        group the rows by key columns and aggregate each group\n"
          "  map FILE            add a column computed by an expression; print or write\n"
          "  range START END     the integers START..END-1, mapped, filtered or summed\n"
          "  help [COMMAND]      show this help, or a command's help\n"
          "\n"
          "Options:\n"
          "  -h, --help          show this help\n"
          "  --version           print the version\n"
          "\n"
          "Run 'ember COMMAND --help' for a command's options.\n"
          "\n"
          "Exit status: 0 success, 1 the job failed (bad input, device error), 2 bad usage.\n"
          "Environment: EMBER_DEVICE (default device choice), EMBER_CACHE_DIR (compiled\n"
          "program cache; default $XDG_CACHE_HOME/ember or ~/.cache/ember; \"off\" disables).\n",
          to);
}

void usage_devices(FILE *to) {
    fputs("Usage: ember devices [OPTIONS]\n"
          "\n"
          "Lists every OpenCL device of every platform, one row each: device (the P:D index\n"
          "that --device takes), platform, name, type, compute_units, global_memory (bytes),\n"
          "max_allocation (bytes), opencl_c (version), default (yes for the device a job\n"
          "uses when no --device is given).\n"
          "\n"
          "Options:\n",
          to);
    fputs(FORMAT_HELP, to);
}

/* The options of every command that reads a CSV file and runs a job. */
static const char JOB_HELP[] =
    "  --device CHOICE     cpu, gpu, all, or P:D as 'ember devices' lists it;\n"
    "                      default: $EMBER_DEVICE, else a GPU, else the CPU\n"
    "  --partitions N      split the input into N partitions (N >= 1); default:\n"
    "                      about one per 64 MiB, at least one per core\n"
    "  --mode MODE         what to do with a malformed row: permissive (keep it, bad\n"
    "                      values become null; the default), dropmalformed (drop it\n"
    "                      and count it), failfast (stop with an error naming the\n"
    "                      file, line and column)\n"
    "  --schema SPEC       column names and types, e.g. \"id:int64,name:string\";\n"
    "                      types int64, float64, string; default: inferred\n"
    "  --delimiter C       field delimiter, one character, or \"tab\"; default ','\n"
    "  --quote C           quote character; default '\"'\n"
    "  --no-header         the first line is data, not column names\n"
    "  --null-value TEXT   an unquoted field equal to TEXT reads as null (the empty\n"
    "                      field always does)\n"
    "  --verbose           print a one-line job summary on standard error (printed\n"
    "                      anyway when standard error is a terminal)\n";

static const char WHERE_HELP[] =
    "  --where EXPR        keep only the rows for which the expression is true (a\n"
    "                      null result drops the row), e.g. \"qty > 10 and region =\n"
    "                      'EU'\"; the language is in docs/expressions.md\n";

void usage_count(FILE *to) {
    fputs("Usage: ember count FILE [--where EXPR] [OPTIONS]\n"
          "\n"
          "Reads the CSV file FILE into partitions and counts its data rows on an OpenCL\n"
          "device. Prints a header line \"count\" and the number.\n"
          "\n",
          to);
    fputs(WHERE_HELP, to);
    fputs("\n"
          "Options (before or after FILE; \"--opt value\" or \"--opt=value\"):\n",
          to);
    fputs(JOB_HELP, to);
    fputs(FORMAT_HELP, to);
}

void usage_groupby(FILE *to) {
    fputs("Usage: ember groupby FILE --by KEYS [--agg AGG]... [--sort] [OPTIONS]\n"
          "\n"
          "Groups the rows of the CSV file FILE by the key columns and aggregates each\n"
          "group on an OpenCL device, like Spark's groupBy(KEYS).agg(AGG, ...). Prints one\n"
          "row per group: the key columns, then one column per aggregate. A null key is a\n"
          "group of its own; aggregates skip null values.\n"
          "\n"
          "  --by KEYS           the key columns, 1 to 4 names separated by commas\n"
          "                      (required), e.g. --by region,category\n"
          "  --agg AGG           an aggregate; repeat for more; default: count. AGG is\n"
          "                        count       rows in the group        -> count\n"
          "                        count:COL   non-null values of COL   -> count_COL\n"
          "                        sum:COL     sum of COL               -> sum_COL\n"
          "                        min:COL     smallest value of COL    -> min_COL\n"
          "                        max:COL     largest value of COL     -> max_COL\n"
          "                        mean:COL    mean of COL (float64)    -> mean_COL\n"
          "                      COL is an int64 or float64 column; \" as NAME\" after AGG\n"
          "                      names its column (--agg 'sum:qty as total')\n"
          "  --sort              sort the groups by the keys in order, ascending, nulls\n"
          "                      last; default: the order is unspecified\n",
          to);
    fputs(WHERE_HELP, to);
    fputs("\n"
          "Options (before or after FILE; \"--opt value\" or \"--opt=value\"):\n",
          to);
    fputs(JOB_HELP, to);
    fputs(FORMAT_HELP, to);
}

void usage_map(FILE *to) {
    fputs("Usage: ember map FILE --expr EXPR [--as NAME] [--select COLS] [--where EXPR]\n"
          "                 [--output PATH] [OPTIONS]\n"
          "\n"
          "Computes a column from an expression for every row of the CSV file FILE on an\n"
          "OpenCL device, like Spark's df.withColumn(NAME, EXPR). Prints (or writes) CSV:\n"
          "the --select columns (all input columns by default), then NAME; rows in file\n"
          "order.\n"
          "\n"
          "  --expr EXPR         the expression (required), e.g. \"price * qty\"; the\n"
          "                      language is in docs/expressions.md\n"
          "  --as NAME           the new column's name; default: value\n"
          "  --select COLS       the input columns to keep, comma-separated, in order\n"
          "  --output PATH       write the CSV to PATH (through a temporary file renamed\n"
          "                      at the end, so a failed job leaves no partial file)\n"
          "                      instead of standard output\n",
          to);
    fputs(WHERE_HELP, to);
    fputs("\nOptions (before or after FILE; \"--opt value\" or \"--opt=value\"):\n", to);
    fputs(JOB_HELP, to);
    fputs(FORMAT_HELP, to);
}

void usage_range(FILE *to) {
    fputs("Usage: ember range START END [--slices N] [--map EXPR] [--where EXPR] [--sum]\n"
          "                   [OPTIONS]\n"
          "\n"
          "The int64 column \"value\" holding START, START+1, ..., END-1, generated on an\n"
          "OpenCL device in N partitions, like Spark's sc.parallelize(range(START, END), N).\n"
          "Prints the values (CSV with a header \"value\"), in order; with --sum, a header\n"
          "\"sum\" and their sum. A negative START needs \"--\" before it, after the\n"
          "options: ember range --sum -- -5 5.\n"
          "\n"
          "  --slices N          partitions (N >= 1); default: one per core\n"
          "  --map EXPR          replace each value by EXPR of it, e.g. \"value * 2\"\n"
          "  --sum               print only the sum of the values (computed on the device;\n"
          "                      an int64 sum that overflows is an error)\n",
          to);
    fputs(WHERE_HELP, to);
    fputs("\nOptions:\n"
          "  --device CHOICE     cpu, gpu, all, or P:D as 'ember devices' lists it;\n"
          "                      default: $EMBER_DEVICE, else a GPU, else the CPU\n"
          "  --verbose           print a one-line job summary on standard error\n",
          to);
    fputs(FORMAT_HELP, to);
}
