/* partition.c: freeing a partition's column buffers. */
#include "data/partition.h"

#include <string.h>

#include "common/alloc.h"

void ember_column_clear(ember_column *column) {
    ember_free_aligned(column->validity);
    ember_free_aligned(column->values);
    ember_free_aligned(column->bytes);
    ember_type type = column->type;
    memset(column, 0, sizeof *column);
    column->type = type;
}

void ember_partition_clear(ember_partition *partition) {
    if (!partition)
        return;
    for (int i = 0; i < partition->column_count; i++)
        ember_column_clear(&partition->columns[i]);
    ember_free(partition->columns);
    partition->columns = NULL;
    partition->column_count = 0;
    partition->rows = 0;
}
