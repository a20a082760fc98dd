/* csv_source.c: opening a CSV file: map it, read the header, settle the schema, cut splits.
 * Inference parses up to SAMPLE_RECORDS records at each of SAMPLE_WINDOWS places spread over
 * the whole file, so a column that changes type late in the file is seen early; anything the
 * sample misses still widens the column during the action. */
#include "io/csv_source.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"

#define SAMPLE_WINDOWS 64
#define SAMPLE_RECORDS 64

/* Collects the fields of one record (the header) as NUL-terminated strings. */
typedef struct record_fields {
    char **fields;
    int count, capacity;
    bool done, failed;
} record_fields;

static void header_field(void *data, size_t len, void *context) {
    record_fields *r = context;
    if (r->done || r->failed)
        return;
    if (r->count == r->capacity) {
        int capacity = r->capacity ? r->capacity * 2 : 16;
        char **grown = ember_realloc(r->fields, (size_t)capacity * sizeof *grown);
        if (!grown) {
            r->failed = true;
            return;
        }
        r->fields = grown;
        r->capacity = capacity;
    }
    char *copy = ember_strndup(data ? data : "", data ? len : 0);
    if (!copy) {
        r->failed = true;
        return;
    }
    r->fields[r->count++] = copy;
}

static void header_record(int terminator, void *context) {
    (void)terminator;
    ((record_fields *)context)->done = true;
}

static void record_fields_free(record_fields *r) {
    for (int i = 0; i < r->count; i++)
        ember_free(r->fields[i]);
    ember_free(r->fields);
}

/* Parses the record in [begin, end) into r. */
static bool parse_one_record(const char *data, size_t begin, size_t end, ember_csv_dialect d,
                             record_fields *r) {
    struct csv_parser parser;
    if (!ember_csv_parser_init(&parser, d))
        return false;
    bool ok = csv_parse(&parser, data + begin, end - begin, header_field, header_record, r) ==
              end - begin;
    if (ok)
        csv_fini(&parser, header_field, header_record, r);
    csv_free(&parser);
    return ok && !r->failed;
}

/* Column names from the header: empty names become _cN, repeated names get _N appended. */
static ember_status names_from_header(record_fields *header, ember_schema *schema,
                                      ember_error *err) {
    ember_status status = ember_schema_create(header->count, NULL, schema, err);
    if (status != EMBER_OK)
        return status;
    for (int i = 0; i < header->count; i++) {
        const char *name = header->fields[i];
        char buf[64];
        if (!*name) {
            snprintf(buf, sizeof buf, "_c%d", i);
            name = buf;
        }
        char *unique = NULL;
        if (ember_schema_find(schema, name) >= 0) {
            size_t len = strlen(name) + 16;
            unique = ember_malloc(len);
            if (unique)
                snprintf(unique, len, "%s_%d", name, i);
            name = unique;
        }
        if (!name || ember_text_replace(&schema->names[i], name) != 0) {
            ember_free(unique);
            ember_schema_clear(schema);
            return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        }
        ember_free(unique);
    }
    return EMBER_OK;
}

/* Infers int64 / float64 / string per column from records sampled across the file. A column
 * with no value in the sample is a string, as in Spark. */
/* windows: SAMPLE_WINDOWS record-aligned ranges over the data (ember_csv_split_pair cuts them in
 * the same pass as the partitions). */
static ember_status infer_types(ember_csv_source *source, const ember_split *windows,
                                int window_count, ember_error *err) {
    ember_schema *schema = &source->schema;
    ember_type *types = ember_calloc((size_t)schema->count + 1, sizeof *types);
    ember_type *needed = ember_calloc((size_t)schema->count + 1, sizeof *needed);
    bool *seen = ember_calloc((size_t)schema->count + 1, sizeof *seen);
    ember_status status = EMBER_OK;
    if (!types || !needed || !seen) {
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory inferring types");
        goto done;
    }
    for (int c = 0; c < schema->count; c++)
        types[c] = EMBER_TYPE_INT64;
    for (int w = 0; status == EMBER_OK && w < window_count; w++) {
        ember_split sample = windows[w];
        sample.end = sample.begin;
        for (int r = 0; r < SAMPLE_RECORDS && sample.end < windows[w].end; r++)
            sample.end = ember_csv_record_end(source->data, windows[w].end, sample.end,
                                              source->config.dialect, NULL);
        ember_schema strings = {0};
        status = ember_schema_copy(schema, &strings, err);
        if (status != EMBER_OK)
            break;
        for (int c = 0; c < strings.count; c++)
            strings.types[c] = EMBER_TYPE_STRING;
        ember_csv_config config = source->config;
        config.mode = EMBER_CSV_PERMISSIVE;
        config.schema_inferred = false;
        ember_partition part;
        status = ember_csv_parse_split(source->data, &sample, &strings, NULL, &config, &part,
                                       needed, err);
        ember_schema_clear(&strings);
        if (status != EMBER_OK)
            break;
        for (int c = 0; c < part.column_count; c++) {
            const ember_column *column = &part.columns[c];
            for (int64_t row = 0; row < column->length; row++) {
                if (!ember_column_is_valid(column, row))
                    continue;
                int32_t len;
                const char *text = ember_column_string(column, row, &len);
                seen[c] = true;
                types[c] = ember_type_widen_for(types[c], text, (size_t)len);
            }
        }
        ember_partition_clear(&part);
    }
    for (int c = 0; status == EMBER_OK && c < schema->count; c++)
        schema->types[c] = seen[c] ? types[c] : EMBER_TYPE_STRING;
done:
    ember_free(types);
    ember_free(needed);
    ember_free(seen);
    return status;
}

/* The split scans in chunks of at least this many bytes: below it, handing work to threads
 * costs more than the scan. */
#define PARALLEL_SPLIT_BYTES (4u << 20)

/* How many chunks to scan bytes in at once: one per thread, within PARALLEL_SPLIT_BYTES. */
static int chunk_count(const ember_csv_parallel *parallel, size_t bytes) {
    if (!parallel || !parallel->run || parallel->chunks <= 1)
        return 1;
    size_t most = bytes / PARALLEL_SPLIT_BYTES;
    return most < (size_t)parallel->chunks ? (most ? (int)most : 1) : parallel->chunks;
}

typedef struct populate_job {
    char *base;
    size_t size, slice;
} populate_job;

/* Fills the page tables of one slice of the mapping. A kernel without MADV_POPULATE_READ
 * (before Linux 5.14) refuses it, and the pages then fault in as the splitter reads them. */
static void populate_slice(void *context, int index, int worker) {
    (void)worker;
    populate_job *job = context;
    size_t begin = (size_t)index * job->slice;
    size_t end = begin + job->slice < job->size ? begin + job->slice : job->size;
#ifdef MADV_POPULATE_READ
    if (begin < end)
        madvise(job->base + begin, end - begin, MADV_POPULATE_READ);
#endif
}

/* Fills the mapping's page tables now, as the splitter reads every byte right away (the kernel
 * fills them faster than page faults would: 0.074 -> 0.069 s of opening a 375 MB file): a slice
 * per chunk of the split, each on its own thread when there are several. */
static void populate(ember_csv_source *source, const ember_csv_parallel *chunked) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t slice = (source->size / (size_t)chunked->chunks + page - 1) / page * page;
    populate_job job = {(char *)source->data, source->size, slice};
    if (chunked->chunks > 1)
        chunked->run(chunked->runner, chunked->chunks, populate_slice, &job);
    else
        populate_slice(&job, 0, 0);
}

/* Opens and maps the file, with an error naming it. */
static ember_status map_file(ember_csv_source *source, ember_error *err) {
    int fd = open(source->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ember_error_set(err, EMBER_ERROR_IO, "cannot open '%s': %s", source->path,
                               strerror(errno));
    struct stat st;
    ember_status status = EMBER_OK;
    if (fstat(fd, &st) != 0) {
        status = ember_error_set(err, EMBER_ERROR_IO, "cannot stat '%s': %s", source->path,
                                 strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        status = ember_error_set(err, EMBER_ERROR_IO, "'%s' is a directory, not a CSV file",
                                 source->path);
    } else if (!S_ISREG(st.st_mode)) {
        status = ember_error_set(err, EMBER_ERROR_IO, "'%s' is not a regular file", source->path);
    } else if (st.st_size > 0) {
        source->size = (size_t)st.st_size;
        void *map = mmap(NULL, source->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            status = ember_error_set(err, EMBER_ERROR_IO, "cannot read '%s': %s", source->path,
                                     strerror(errno));
            source->size = 0;
        } else {
            madvise(map, source->size, MADV_SEQUENTIAL | MADV_WILLNEED);
            source->data = map;
        }
    }
    close(fd);
    return status;
}

/* Partitions: the requested count, or about one per 64 MiB and at least one per core. */
static int partition_count(const ember_csv_options *options, size_t bytes, int cores) {
    if (options->partitions > 0)
        return options->partitions;
    size_t by_size = bytes / EMBER_CSV_PARTITION_BYTES + 1;
    if (by_size > 100000)
        by_size = 100000;
    return (int)by_size > cores ? (int)by_size : cores;
}

ember_status ember_csv_source_open(const char *path, const ember_csv_options *options,
                                   int default_partitions, const ember_csv_parallel *parallel,
                                   ember_csv_source **out, ember_error *err) {
    *out = NULL;
    ember_csv_source *source = ember_calloc(1, sizeof *source);
    record_fields first = {0};
    if (!source || !(source->path = ember_strdup(path)) ||
        (options->null_value && !(source->null_value = ember_strdup(options->null_value)))) {
        ember_csv_source_free(source);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory opening '%s'", path);
    }
    source->config = (ember_csv_config){
        .dialect = {(unsigned char)options->delimiter, (unsigned char)options->quote},
        .null_value = source->null_value,
        .mode = options->mode,
        .schema_inferred = options->schema == NULL,
        .path = source->path,
    };
    ember_status status = map_file(source, err);
    if (status != EMBER_OK)
        goto fail;
    ember_csv_parallel chunked = {0};
    if (parallel)
        chunked = *parallel;
    chunked.chunks = chunk_count(parallel, source->size);
    if (source->data)
        populate(source, &chunked);

    /* The first record: the header, or (without one) the record that fixes the width. */
    size_t begin = ember_csv_bom_length(source->data, source->size);
    int64_t line = 1, lines = 0;
    size_t first_end =
        ember_csv_record_end(source->data, source->size, begin, source->config.dialect, &lines);
    if (first_end > begin &&
        !parse_one_record(source->data, begin, first_end, source->config.dialect, &first)) {
        status =
            ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory reading '%s'", path);
        goto fail;
    }
    if (options->header) {
        begin = first_end;
        line += lines;
    }
    if (options->schema) {
        status = ember_schema_parse(options->schema, &source->schema, err);
    } else if (options->header) {
        status = names_from_header(&first, &source->schema, err);
    } else {
        status = ember_schema_create(first.count, NULL, &source->schema, err);
    }
    if (status != EMBER_OK)
        goto fail;

    int parts = partition_count(options, source->size - begin, default_partitions);
    if (options->schema) {
        status =
            ember_csv_split(source->data, source->size, begin, line, parts, source->config.dialect,
                            &chunked, &source->splits, &source->split_count, err);
    } else {
        /* The partitions and the inference windows in one pass over the bytes. */
        ember_split *windows = NULL;
        int window_count = 0;
        status = ember_csv_split_pair(
            source->data, source->size, begin, line, parts, SAMPLE_WINDOWS, source->config.dialect,
            &chunked, &source->splits, &source->split_count, &windows, &window_count, err);
        if (status == EMBER_OK)
            status = infer_types(source, windows, window_count, err);
        ember_free(windows);
    }
    if (status != EMBER_OK)
        goto fail;
    record_fields_free(&first);
    *out = source;
    return EMBER_OK;
fail:
    record_fields_free(&first);
    ember_csv_source_free(source);
    return status;
}

void ember_csv_source_free(ember_csv_source *source) {
    if (!source)
        return;
    if (source->data)
        munmap((void *)source->data, source->size);
    ember_schema_clear(&source->schema);
    ember_free(source->splits);
    ember_free(source->null_value);
    ember_free(source->path);
    ember_free(source);
}
