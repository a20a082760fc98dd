/* frame.h: a frame is an immutable, reference-counted logical plan node. For now the only
 * source is a CSV file; the frame also holds its device-resident cache once one is built. */
#ifndef EMBER_PLAN_FRAME_H
#define EMBER_PLAN_FRAME_H

#include <stdatomic.h>

#include "data/partition.h"
#include "device/device.h"
#include "io/csv_source.h"

/* A partition kept resident on a device by ember_cache: its host columns (zero-copy on CPU
 * devices) and one device buffer per host buffer. */
typedef struct ember_cached_partition {
    ember_partition partition;
    int worker;
    cl_mem *buffers; /* 3 per column: values, validity, bytes (NULL where absent) */
} ember_cached_partition;

struct ember_frame {
    atomic_int references;
    ember_session *session;
    ember_csv_source *source;
    bool cache_requested;
    ember_cached_partition *cache; /* NULL until an action fills it */
    int cache_count;
};

/* Frees the cached partitions and their device buffers. */
void ember_frame_drop_cache(ember_frame *frame);

#endif
