/* dictionary.h: the groups of a string column with few distinct values: each row's group id
 * (equal strings, equal ids; nulls a group of their own) and a row of each group. A group-by by
 * that column then needs no hashing at all. Found while a CSV split is parsed (the builder, fed
 * row by row), or in one pass over a column (ember_dictionary_build). */
#ifndef EMBER_DATA_DICTIONARY_H
#define EMBER_DATA_DICTIONARY_H

#include "data/partition.h"

typedef struct ember_dictionary {
    int64_t groups;          /* ids are 0 .. groups - 1, in order of first appearance */
    uint32_t *row_group;     /* [rows] (ember_malloc_aligned, so devices can wrap it) */
    int64_t *representative; /* [groups]: the first row of each group */
} ember_dictionary;

/* The most groups a dictionary of rows rows may have: past a quarter of the rows, or 65536 in
 * all, ids would not pay for themselves. */
#define EMBER_DICTIONARY_GROUPS_LIMIT 65536
static inline int64_t ember_dictionary_max_groups(int64_t rows) {
    return rows / 4 < EMBER_DICTIONARY_GROUPS_LIMIT ? rows / 4 : EMBER_DICTIONARY_GROUPS_LIMIT;
}

/* Fills dictionary and returns true; returns false, leaving it empty, when strings has more
 * than max_groups groups or memory runs out. */
bool ember_dictionary_build(const ember_column *strings, int64_t max_groups,
                            ember_dictionary *dictionary);
void ember_dictionary_clear(ember_dictionary *dictionary);

/* The groups of a column as its rows arrive: begin, add each row in order (0, 1, ...) once it
 * is in the column, finish. ember_dictionary_build is exactly that loop, so both give the same
 * ids. The fields are the builder's own. */
typedef struct ember_dictionary_key ember_dictionary_key;
typedef struct ember_dictionary_builder {
    const ember_column *strings; /* read at the added rows; long keys compared there */
    int64_t max_groups;
    bool failed; /* too many groups, or out of memory: add does nothing any more */
    int64_t rows, row_capacity;
    int64_t groups, group_capacity;
    int64_t null_group; /* -1 until a null is seen */
    uint32_t *row_group;
    int64_t *representative;
    ember_dictionary_key *keys;            /* [group_capacity] */
    struct ember_dictionary_bucket *index; /* 1 << index_bits buckets (dictionary.c) */
    int index_bits, index_shift;
} ember_dictionary_builder;

/* Starts a builder over strings (a string column, which may still be growing: it is read
 * through the pointer at each add) that gives up past max_groups groups; rows_hint sizes the
 * row ids (they grow past it). Returns false when out of memory: the builder has then given up
 * (add does nothing, finish returns false). */
bool ember_dictionary_builder_begin(ember_dictionary_builder *builder, const ember_column *strings,
                                    int64_t max_groups, int64_t rows_hint);
/* Adds row builder->rows of the column (the next one), once the column holds it. */
void ember_dictionary_builder_add(ember_dictionary_builder *builder);
/* The same for a row known to be a valid string: len bytes at bytes (in the column or not), of
 * which readable may be read. The parser's fast path, which has them at hand. */
void ember_dictionary_builder_add_string(ember_dictionary_builder *builder, const char *bytes,
                                         int64_t len, size_t readable);
/* Takes back the rows from rows on, and the groups first seen in them (a dropped row's). */
void ember_dictionary_builder_truncate(ember_dictionary_builder *builder, int64_t rows);
/* Ends the builder: fills dictionary and returns true when the groups were found and are at
 * most max_groups; otherwise returns false with dictionary empty. The builder is left empty
 * either way. */
bool ember_dictionary_builder_finish(ember_dictionary_builder *builder, int64_t max_groups,
                                     ember_dictionary *dictionary);
/* Frees what the builder holds (for a builder abandoned before finish; empty ones too). */
void ember_dictionary_builder_clear(ember_dictionary_builder *builder);

#endif
