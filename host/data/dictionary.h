/* dictionary.h: the groups of a string column with few distinct values, found once when a
 * partition is cached: each row's group id (equal strings, equal ids; nulls a group of their
 * own) and a row of each group. A group-by by that column then needs no hashing at all. */
#ifndef EMBER_DATA_DICTIONARY_H
#define EMBER_DATA_DICTIONARY_H

#include "data/partition.h"

typedef struct ember_dictionary {
    int64_t groups;          /* ids are 0 .. groups - 1, in order of first appearance */
    uint32_t *row_group;     /* [rows] (ember_malloc_aligned, so devices can wrap it) */
    int64_t *representative; /* [groups]: the first row of each group */
} ember_dictionary;

/* Fills dictionary and returns true; returns false, leaving it empty, when strings has more
 * than max_groups groups (ids would not pay) or memory runs out. */
bool ember_dictionary_build(const ember_column *strings, int64_t max_groups,
                            ember_dictionary *dictionary);
void ember_dictionary_clear(ember_dictionary *dictionary);

#endif
