/* consumer.c: a tiny program built against an installed ember, to prove the installed headers,
 * library, pkg-config file and CMake package work. It counts the rows of a CSV file, then
 * collects it and reads the Arrow export of the table through the installed ember_arrow_abi.h. */
#include <ember.h>
#include <ember_arrow_abi.h>
#include <stdio.h>
#include <string.h>

/* Prints the shape of the table's Arrow export (and releases it): 0, or -1 when the export
 * failed or does not look like a record batch. */
static int print_arrow(ember_table *table) {
    struct ArrowSchema schema;
    struct ArrowArray array;
    if (ember_table_export_arrow(table, &schema, &array) != EMBER_OK)
        return -1;
    int ok = strcmp(schema.format, "+s") == 0 && schema.n_children == array.n_children &&
             array.n_children > 0 && array.children[0]->n_buffers == 2;
    if (ok)
        printf("arrow: %lld columns, %lld rows, %s \"%s\"\n", (long long)schema.n_children,
               (long long)array.length, schema.children[0]->format, schema.children[0]->name);
    schema.release(&schema);
    array.release(&array);
    return ok && !schema.release && !array.release ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    ember_session *session = NULL;
    ember_frame *frame = NULL;
    ember_table *table = NULL;
    int64_t rows = -1;
    int code = 1;
    if (ember_session_open(&session, NULL) == EMBER_OK &&
        ember_read_csv(session, argv[1], NULL, &frame) == EMBER_OK &&
        ember_count(frame, &rows) == EMBER_OK && ember_collect(frame, &table) == EMBER_OK) {
        if (print_arrow(table) == 0) {
            printf("%s %lld\n", ember_version(), (long long)rows);
            code = 0;
        } else {
            fprintf(stderr, "consumer: Arrow export failed\n");
        }
    } else {
        fprintf(stderr, "consumer: %s\n", ember_session_error(session));
    }
    ember_table_free(table);
    ember_frame_free(frame);
    ember_session_close(session);
    return code;
}
