/* dictionary.c: the groups of a string column (see dictionary.h), with an open-addressing table
 * of first occurrences keyed by a 64-bit FNV-1a hash of the bytes. */
#include "data/dictionary.h"

#include <string.h>

#include "common/alloc.h"

static uint64_t hash_bytes(const char *bytes, int32_t len) {
    uint64_t h = 1469598103934665603ull ^ (uint64_t)len;
    for (int32_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)bytes[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

void ember_dictionary_clear(ember_dictionary *dictionary) {
    ember_free_aligned(dictionary->row_group);
    ember_free(dictionary->representative);
    memset(dictionary, 0, sizeof *dictionary);
}

bool ember_dictionary_build(const ember_column *strings, int64_t max_groups,
                            ember_dictionary *dictionary) {
    memset(dictionary, 0, sizeof *dictionary);
    int64_t rows = strings->length;
    size_t capacity = 64;
    while ((int64_t)capacity < 2 * max_groups)
        capacity *= 2;
    /* slot: the first row of the string + 1 (0: empty); slot_group: its id */
    int64_t *slots = ember_calloc(capacity, sizeof *slots);
    uint32_t *slot_group = ember_malloc(capacity * sizeof *slot_group);
    dictionary->row_group = ember_malloc_aligned((size_t)(rows > 0 ? rows : 1) * sizeof(uint32_t));
    dictionary->representative = ember_malloc((size_t)(max_groups + 1) * sizeof(int64_t));
    bool ok = slots && slot_group && dictionary->row_group && dictionary->representative;
    int64_t groups = 0, null_group = -1;
    for (int64_t r = 0; ok && r < rows; r++) {
        if (!ember_column_is_valid(strings, r)) {
            if (null_group < 0) {
                if (groups == max_groups) {
                    ok = false;
                    break;
                }
                null_group = groups;
                dictionary->representative[groups++] = r;
            }
            dictionary->row_group[r] = (uint32_t)null_group;
            continue;
        }
        int32_t len;
        const char *bytes = ember_column_string(strings, r, &len);
        size_t mask = capacity - 1, i = (size_t)hash_bytes(bytes, len) & mask;
        for (;; i = (i + 1) & mask) {
            if (!slots[i]) {
                if (groups == max_groups) {
                    ok = false;
                    break;
                }
                slots[i] = r + 1;
                slot_group[i] = (uint32_t)groups;
                dictionary->representative[groups] = r;
                dictionary->row_group[r] = (uint32_t)groups++;
                break;
            }
            int32_t other_len;
            const char *other = ember_column_string(strings, slots[i] - 1, &other_len);
            if (other_len == len && memcmp(other, bytes, (size_t)len) == 0) {
                dictionary->row_group[r] = slot_group[i];
                break;
            }
        }
    }
    ember_free(slots);
    ember_free(slot_group);
    if (!ok) {
        ember_dictionary_clear(dictionary);
        return false;
    }
    dictionary->groups = groups;
    return true;
}
