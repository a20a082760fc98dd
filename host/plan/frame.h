/* frame.h: a frame is an immutable, reference-counted logical plan node: a source (a CSV file,
 * range()) or a transformation of a parent frame. It also holds its device-resident cache once
 * one is built. */
#ifndef EMBER_PLAN_FRAME_H
#define EMBER_PLAN_FRAME_H

#include <stdatomic.h>

#include "data/dictionary.h"
#include "data/partition.h"
#include "device/device.h"
#include "io/csv_source.h"

/* A partition kept resident on a device by ember_cache: its host columns (zero-copy on CPU
 * devices) and one device buffer per host buffer. */
typedef struct ember_cached_partition {
    ember_partition partition;
    int worker;
    cl_mem *buffers; /* 3 per column: values, validity, bytes (NULL where absent) */
    /* Per column: the groups of a string column with few distinct values (groups 0 when
     * none), and a device buffer of its row group ids (NULL when none). */
    ember_dictionary *dictionaries;
    cl_mem *dictionary_buffers;
} ember_cached_partition;

typedef enum ember_frame_kind {
    EMBER_FRAME_CSV,         /* rows of a CSV file */
    EMBER_FRAME_GROUP_BY,    /* groupBy(keys).agg(...) of the parent frame */
    EMBER_FRAME_RANGE,       /* range(start, end, slices): one int64 column "value" */
    EMBER_FRAME_FILTER,      /* the parent's rows for which an expression is true */
    EMBER_FRAME_PROJECT,     /* select / with_column / map: columns of the parent or computed */
    EMBER_FRAME_REPARTITION, /* the parent's rows shuffled into n partitions */
    EMBER_FRAME_COALESCE,    /* the parent's partitions merged into n neighbour groups */
} ember_frame_kind;

struct ember_groupby_plan;

/* One output column of a PROJECT frame: a parent column, or an expression over the parent. */
typedef struct ember_project_column {
    char *name;
    int parent_column; /* >= 0: the parent's column; -1: expression */
    char *expression;  /* the user's text (re-checked when a source column widens) */
} ember_project_column;

struct ember_frame {
    atomic_int references;
    ember_session *session;
    ember_frame_kind kind;
    ember_csv_source *source;         /* CSV */
    struct ember_frame *parent;       /* every kind but CSV and RANGE (a reference held) */
    struct ember_groupby_plan *group; /* GROUP_BY */
    /* GROUP_BY, RANGE, FILTER, PROJECT, REPARTITION, COALESCE: the output columns (kept in step
     * with the parent's when a CSV column widens; see ember_frame_refresh). */
    ember_schema schema;
    int version;        /* bumped when the columns' types change (a CSV column widened) */
    int parent_version; /* the parent's version the schema was derived from */
    int64_t range_start, range_end; /* RANGE */
    int partitions;                 /* RANGE (slices), REPARTITION, COALESCE: n */
    char *predicate;                /* FILTER: the expression text */
    ember_project_column *columns;  /* PROJECT */
    int column_count;               /* PROJECT */
    int key_count;                  /* REPARTITION: 0 round robin, else hash of keys */
    char **keys;                    /* REPARTITION: the key column names */
    bool cache_requested;
    ember_cached_partition *cache; /* NULL until an action fills it */
    int cache_count;
    /* The cache holds partitions an action materialized for itself (a group-by's or a
     * shuffle's output), dropped when the action ends. */
    bool cache_transient;
    bool materializing; /* the cache is being filled: read through the parent meanwhile */
};

/* Re-derives the columns of frame and its ancestors after a CSV column widened, re-checking
 * their expressions against the new types. */
ember_status ember_frame_refresh(ember_frame *frame, ember_error *err);

/* The frame's columns: the CSV source's (widened in place by actions) or its own. */
const ember_schema *ember_frame_schema(const ember_frame *frame);

/* Frees the cached partitions and their device buffers. */
void ember_frame_drop_cache(ember_frame *frame);

#endif
