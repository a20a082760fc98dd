/* dictionary.c: the groups of a string column (see dictionary.h), with an open-addressing table
 * of first occurrences keyed by a 64-bit hash of the bytes. */
#include "data/dictionary.h"

#include <string.h>

#include "common/alloc.h"

/* A word of up to 8 bytes, zero-padded (memcpy: no alignment or aliasing assumptions). */
static inline uint64_t load_word(const char *bytes, int32_t len) {
    uint64_t word = 0;
    memcpy(&word, bytes, (size_t)(len < 8 ? len : 8));
    return word;
}

/* 8 bytes a step with a multiply-xorshift mix: keys are short (category names), so a
 * byte-at-a-time hash would cost more than the table. */
static inline uint64_t hash_bytes(const char *bytes, int32_t len) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)len;
    for (int32_t i = 0; i < len; i += 8)
        h = (h ^ load_word(bytes + i, len - i)) * 0xff51afd7ed558ccdull;
    /* murmur3's finalizer: the table uses the low bits, which the multiplies alone leave
     * depending on the low bytes only */
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* The hash of a string of at most 16 bytes from its two (zero-padded) words. */
static inline uint64_t mix_words(uint64_t w0, uint64_t w1, int32_t len) {
    uint64_t h = (0x9e3779b97f4a7c15ull ^ (uint64_t)len ^ w0) * 0xff51afd7ed558ccdull;
    h = (h ^ w1) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

void ember_dictionary_clear(ember_dictionary *dictionary) {
    ember_free_aligned(dictionary->row_group);
    ember_free(dictionary->representative);
    memset(dictionary, 0, sizeof *dictionary);
}

/* A table entry: the string's hash, its first row + 1 (0: empty), its group, and for a string
 * of at most 16 bytes the bytes themselves, so a lookup compares in the table and never reads
 * the column at the first row again. */
typedef struct slot {
    uint64_t hash;
    int64_t row;
    uint64_t words[2];
    int32_t len;
    uint32_t group;
} slot;

/* Doubles the table (kept at most half full, so it stays small enough for the L1/L2 cache
 * while the groups are few). */
static bool grow(slot **table, size_t *capacity) {
    size_t bigger = *capacity * 2;
    slot *fresh = ember_calloc(bigger, sizeof *fresh);
    if (!fresh)
        return false;
    for (size_t i = 0; i < *capacity; i++) {
        if (!(*table)[i].row)
            continue;
        size_t j = (size_t)(*table)[i].hash & (bigger - 1);
        while (fresh[j].row)
            j = (j + 1) & (bigger - 1);
        fresh[j] = (*table)[i];
    }
    ember_free(*table);
    *table = fresh;
    *capacity = bigger;
    return true;
}

bool ember_dictionary_build(const ember_column *strings, int64_t max_groups,
                            ember_dictionary *dictionary) {
    memset(dictionary, 0, sizeof *dictionary);
    int64_t rows = strings->length;
    size_t capacity = 1024;
    slot *table = ember_calloc(capacity, sizeof *table);
    dictionary->row_group = ember_malloc_aligned((size_t)(rows > 0 ? rows : 1) * sizeof(uint32_t));
    dictionary->representative = ember_malloc((size_t)(max_groups + 1) * sizeof(int64_t));
    bool ok = table && dictionary->row_group && dictionary->representative;
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
        uint64_t words[2] = {0, 0};
        bool short_key = len <= 16;
        if (short_key) {
            words[0] = load_word(bytes, len);
            words[1] = len > 8 ? load_word(bytes + 8, len - 8) : 0;
        }
        uint64_t hash = short_key ? mix_words(words[0], words[1], len) : hash_bytes(bytes, len);
        size_t mask = capacity - 1, i = (size_t)hash & mask;
        for (;; i = (i + 1) & mask) {
            slot *entry = &table[i];
            if (!entry->row) {
                if (groups == max_groups) {
                    ok = false;
                    break;
                }
                *entry = (slot){hash, r + 1, {words[0], words[1]}, len, (uint32_t)groups};
                dictionary->representative[groups] = r;
                dictionary->row_group[r] = (uint32_t)groups++;
                if ((size_t)groups * 2 > capacity && !grow(&table, &capacity))
                    ok = false;
                break;
            }
            if (entry->hash != hash || entry->len != len)
                continue;
            bool same;
            if (short_key) {
                same = entry->words[0] == words[0] && entry->words[1] == words[1];
            } else {
                int32_t other_len;
                const char *other = ember_column_string(strings, entry->row - 1, &other_len);
                same = memcmp(other, bytes, (size_t)len) == 0;
            }
            if (same) {
                dictionary->row_group[r] = entry->group;
                break;
            }
        }
    }
    ember_free(table);
    if (!ok) {
        ember_dictionary_clear(dictionary);
        return false;
    }
    dictionary->groups = groups;
    return true;
}
