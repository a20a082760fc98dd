/* partition.c: freeing a partition's column buffers. */
#include "data/partition.h"

#include "common/alloc.h"

void ember_partition_clear(ember_partition *partition) {
    if (!partition)
        return;
    for (int i = 0; i < partition->column_count; i++) {
        ember_column *column = &partition->columns[i];
        ember_free_aligned(column->validity);
        ember_free_aligned(column->values);
        ember_free_aligned(column->bytes);
    }
    ember_free(partition->columns);
    partition->columns = NULL;
    partition->column_count = 0;
    partition->rows = 0;
}
