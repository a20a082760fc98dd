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

typedef enum ember_frame_kind {
    EMBER_FRAME_CSV,      /* rows of a CSV file */
    EMBER_FRAME_GROUP_BY, /* groupBy(keys).agg(...) of the parent frame */
} ember_frame_kind;

struct ember_groupby_plan;

struct ember_frame {
    atomic_int references;
    ember_session *session;
    ember_frame_kind kind;
    ember_csv_source *source;         /* CSV */
    struct ember_frame *parent;       /* GROUP_BY: the frame it groups (a reference held) */
    struct ember_groupby_plan *group; /* GROUP_BY */
    ember_schema schema;              /* GROUP_BY: the output columns */
    bool cache_requested;
    ember_cached_partition *cache; /* NULL until an action fills it */
    int cache_count;
};

/* The frame's columns: the CSV source's (widened in place by actions) or its own. */
const ember_schema *ember_frame_schema(const ember_frame *frame);

/* Frees the cached partitions and their device buffers. */
void ember_frame_drop_cache(ember_frame *frame);

#endif
