/* output.c: result tables as CSV or aligned text, the one-line error, the job summary (see
 * output.h). */
#include "output.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cli_format_parse(const char *text, cli_format *out) {
    if (strcmp(text, "csv") == 0)
        *out = CLI_FORMAT_CSV;
    else if (strcmp(text, "table") == 0)
        *out = CLI_FORMAT_TABLE;
    else
        return false;
    return true;
}

cli_format cli_format_resolve(cli_format format) {
    if (format != CLI_FORMAT_AUTO)
        return format;
    return isatty(STDOUT_FILENO) ? CLI_FORMAT_TABLE : CLI_FORMAT_CSV;
}

void cli_table_init(cli_table *table, size_t columns, const char *const *names,
                    const bool *numeric) {
    table->columns = columns;
    table->names = names;
    table->numeric = numeric;
    table->rows = 0;
    table->capacity = 0;
    table->cells = NULL;
}

static char *copy_text(const char *text) {
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (copy)
        memcpy(copy, text, len + 1);
    return copy;
}

bool cli_table_add_row(cli_table *table, const char *const *cells) {
    if (table->rows == table->capacity) {
        size_t capacity = table->capacity ? table->capacity * 2 : 8;
        char **grown = realloc(table->cells, capacity * table->columns * sizeof *grown);
        if (!grown)
            return false;
        table->cells = grown;
        table->capacity = capacity;
    }
    char **row = table->cells + table->rows * table->columns;
    for (size_t c = 0; c < table->columns; c++) {
        row[c] = copy_text(cells[c] ? cells[c] : "");
        if (!row[c]) {
            while (c > 0)
                free(row[--c]);
            return false;
        }
    }
    table->rows++;
    return true;
}

void cli_table_free(cli_table *table) {
    for (size_t i = 0; i < table->rows * table->columns; i++)
        free(table->cells[i]);
    free(table->cells);
    table->cells = NULL;
    table->rows = table->capacity = 0;
}

/* RFC 4180: quote a field only when it holds a comma, a quote or a line break; double the
 * quotes inside. Device names are free text, so this matters. */
static void print_csv_field(const char *text, FILE *out) {
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

static void print_csv_row(const cli_table *table, const char *const *cells, FILE *out) {
    for (size_t c = 0; c < table->columns; c++) {
        if (c)
            fputc(',', out);
        print_csv_field(cells[c], out);
    }
    fputc('\n', out);
}

static void print_padded(const char *text, size_t width, bool right, FILE *out) {
    size_t len = strlen(text);
    if (right)
        fprintf(out, "%*s%s", (int)(width - len), "", text);
    else
        fprintf(out, "%s%*s", text, (int)(width - len), "");
}

/* Columns two spaces apart under a dashed rule; the last column is not padded on the right so
 * lines carry no trailing blanks. */
static void print_table_row(const cli_table *table, const char *const *cells, const size_t *widths,
                            FILE *out) {
    for (size_t c = 0; c < table->columns; c++) {
        bool last = c + 1 == table->columns;
        bool right = table->numeric && table->numeric[c];
        if (c)
            fputs("  ", out);
        if (last && !right)
            fputs(cells[c], out);
        else
            print_padded(cells[c], widths[c], right, out);
    }
    fputc('\n', out);
}

void cli_table_print(const cli_table *table, cli_format format, FILE *out) {
    if (format != CLI_FORMAT_TABLE) {
        print_csv_row(table, table->names, out);
        for (size_t r = 0; r < table->rows; r++)
            print_csv_row(table, (const char *const *)table->cells + r * table->columns, out);
        return;
    }
    size_t *widths = calloc(table->columns, sizeof *widths);
    if (!widths) {
        /* Out of memory for a few words: still give the result, unaligned. */
        cli_table_print(table, CLI_FORMAT_CSV, out);
        return;
    }
    for (size_t c = 0; c < table->columns; c++) {
        widths[c] = strlen(table->names[c]);
        for (size_t r = 0; r < table->rows; r++) {
            size_t len = strlen(table->cells[r * table->columns + c]);
            if (len > widths[c])
                widths[c] = len;
        }
    }
    print_table_row(table, table->names, widths, out);
    for (size_t c = 0; c < table->columns; c++) {
        if (c)
            fputs("  ", out);
        for (size_t i = 0; i < widths[c]; i++)
            fputc('-', out);
    }
    fputc('\n', out);
    for (size_t r = 0; r < table->rows; r++)
        print_table_row(table, (const char *const *)table->cells + r * table->columns, widths, out);
    free(widths);
}

/* Writes text with each run of line breaks turned into "; " and trailing blanks dropped, so
 * a multi-line library message (a build log) stays on the one error line. */
static void print_flattened(const char *text, FILE *out) {
    size_t len = strlen(text);
    while (len && strchr(" \t\r\n", text[len - 1]))
        len--;
    size_t i = 0;
    while (i < len) {
        if (text[i] != '\r' && text[i] != '\n') {
            fputc(text[i++], out);
            continue;
        }
        /* "devices:\n  0:0 ..." reads best as "devices: 0:0 ...". */
        bool after_colon = i > 0 && text[i - 1] == ':';
        while (i < len && strchr(" \t\r\n", text[i]))
            i++;
        fputs(after_colon ? " " : "; ", out);
    }
}

void cli_error(const char *format, ...) {
    va_list args;
    va_start(args, format);
    char small[1024];
    char *message = small;
    va_list again;
    va_copy(again, args);
    int needed = vsnprintf(small, sizeof small, format, args);
    if (needed >= (int)sizeof small) {
        /* Build logs can run to kilobytes; print them whole rather than cut them. */
        char *large = malloc((size_t)needed + 1);
        if (large) {
            vsnprintf(large, (size_t)needed + 1, format, again);
            message = large;
        }
    }
    va_end(again);
    va_end(args);
    fflush(stdout);
    fputs("ember: error: ", stderr);
    print_flattened(needed < 0 ? "(message could not be formatted)" : message, stderr);
    fputc('\n', stderr);
    if (message != small)
        free(message);
}

bool cli_flush_stdout(void) {
    if (fflush(stdout) == 0 && !ferror(stdout))
        return true;
    cli_error("writing to standard output failed");
    return false;
}

void cli_print_summary(const ember_session *session, bool verbose) {
    if (!verbose && !isatty(STDERR_FILENO))
        return;
    const ember_job *job = ember_session_last_job(session);
    if (!job)
        return;
    fprintf(stderr,
            "ember: %" PRId64 " rows, %" PRId64 " malformed, %" PRId64 " dropped, %" PRId64
            " partitions, device %s, %.3f s\n",
            ember_job_metric_get(job, EMBER_JOB_ROWS_READ),
            ember_job_metric_get(job, EMBER_JOB_ROWS_MALFORMED),
            ember_job_metric_get(job, EMBER_JOB_ROWS_DROPPED),
            ember_job_metric_get(job, EMBER_JOB_PARTITIONS), ember_job_device(job),
            ember_job_seconds(job));
}

bool cli_print_table(const ember_table *table, cli_format format) {
    ember_status status = format == CLI_FORMAT_TABLE ? ember_table_print(table, stdout, -1)
                                                     : ember_table_write_csv(table, stdout);
    if (status == EMBER_ERROR_IO) {
        cli_error("writing to standard output failed");
        return false;
    }
    if (status != EMBER_OK) {
        cli_error("writing the result: %s", ember_status_str(status));
        return false;
    }
    return cli_flush_stdout();
}
