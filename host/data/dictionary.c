/* dictionary.c: the groups of a string column (see dictionary.h), with a hash index of buckets,
 * each 12 one-byte tags and 12 group ids in one cache line, over an array of the groups' 16-byte
 * keys: about 32 KiB for a thousand groups, small enough to stay in cache next to the parse. */
#include "data/dictionary.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/alloc.h"

/* A group's key. A string of at most 15 bytes is its own key: the bytes zero-padded, the length
 * in the last byte (which the bytes never reach). A longer string's last byte is 0xff, so it
 * never equals a short one; its other bytes are its first 8 and 7 of its hash, after which it
 * is compared with its group's first row in the column. */
struct ember_dictionary_key {
    uint64_t words[2];
};

#define SHORT_KEY 15

/* The first n bytes (n <= 0: none, n >= 8: all) of a word loaded from memory, as a mask. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define FIRST_BYTES(n) ((n) >= 8 ? ~0ull : (n) <= 0 ? 0ull : ~(~0ull >> (8 * ((n)&7))))
#else
#define FIRST_BYTES(n) ((n) >= 8 ? ~0ull : (n) <= 0 ? 0ull : (1ull << (8 * ((n)&7))) - 1)
#endif
/* The masks of the two words of a short key of each length: a lookup, not shifts and branches
 * on every row. */
#define KEY_MASKS(n)                                                                               \
    { FIRST_BYTES(n), FIRST_BYTES((n)-8) }
static const uint64_t key_masks[SHORT_KEY + 1][2] = {
    KEY_MASKS(0),  KEY_MASKS(1),  KEY_MASKS(2),  KEY_MASKS(3), KEY_MASKS(4),  KEY_MASKS(5),
    KEY_MASKS(6),  KEY_MASKS(7),  KEY_MASKS(8),  KEY_MASKS(9), KEY_MASKS(10), KEY_MASKS(11),
    KEY_MASKS(12), KEY_MASKS(13), KEY_MASKS(14), KEY_MASKS(15)};

/* value as the last byte of the second word (the byte at index 15 in memory order). */
static inline uint64_t last_byte(uint64_t value) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return value;
#else
    return value << 56;
#endif
}

/* A word of up to 8 bytes, zero-padded (memcpy: no alignment or aliasing assumptions). */
static inline uint64_t load_word(const char *bytes, int64_t len) {
    uint64_t word = 0;
    memcpy(&word, bytes, (size_t)(len < 8 ? len : 8));
    return word;
}

/* 8 bytes a step with a multiply-xorshift mix, and murmur3's finalizer. */
static uint64_t hash_long(const char *bytes, int64_t len) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)len;
    for (int64_t i = 0; i < len; i += 8)
        h = (h ^ load_word(bytes + i, len - i)) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* A multiply carries every bit of the key into the high half only, so the high half is folded
 * down and multiplied again: then the bucket's bits and the tag's (see hash_tag) depend on all
 * of the key. Shorter than hash_long's chain: the lookup waits on it. */
static inline uint64_t short_hash(uint64_t w0, uint64_t w1) {
    uint64_t h = (w0 ^ w1 * 0xc4ceb9fe1a85ec53ull) * 0x9e3779b97f4a7c15ull;
    return (h ^ h >> 32) * 0xff51afd7ed558ccdull;
}

/* The key and hash of a string at bytes, start bytes into a buffer of capacity bytes: a short
 * key from two fixed loads and masks where the buffer allows (almost always). */
static inline uint64_t make_key(const char *bytes, int64_t start, int64_t len, int64_t capacity,
                                uint64_t words[2]) {
    if (len > SHORT_KEY) {
        uint64_t hash = hash_long(bytes, len);
        words[0] = load_word(bytes, 8);
        words[1] = hash | last_byte(0xff);
        return hash;
    }
    if (start + 16 <= capacity) {
        memcpy(words, bytes, 16);
        words[0] &= key_masks[len][0];
        words[1] &= key_masks[len][1];
    } else {
        words[0] = len > 0 ? load_word(bytes, len) : 0;
        words[1] = len > 8 ? load_word(bytes + 8, len - 8) : 0;
    }
    words[1] |= last_byte((uint64_t)len);
    return short_hash(words[0], words[1]);
}

/* The index: buckets of 12 slots in a cache line, each a tag (0: empty; else 0x80 and 7 bits
 * of the hash) and a group id. A lookup compares its tag with a whole bucket at once, so it
 * almost always ends in its first bucket with one key compared: no probe sequence of varying
 * length for the branch predictor to miss. */
#define BUCKET 12
typedef struct ember_dictionary_bucket {
    _Alignas(64) uint8_t tags[16]; /* the last 4 always 0 */
    uint32_t groups[BUCKET];
} bucket;

/* The bucket a hash starts from (its top bits) and its tag (7 bits below those of any index
 * that fits in memory). */
static inline size_t hash_bucket(uint64_t hash, int bits) {
    return (size_t)(hash >> (64 - bits));
}

static inline uint8_t hash_tag(uint64_t hash) {
    return (uint8_t)(0x80 | (hash >> 36 & 0x7f));
}

/* Bit i set where the bucket's tag i equals tag (the padding never matches a tag, only 0). */
static inline unsigned bucket_match(const bucket *b, uint8_t tag) {
#if defined(__SSE2__)
    __m128i tags = _mm_load_si128((const __m128i *)b->tags);
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(tags, _mm_set1_epi8((char)tag)));
#else
    unsigned mask = 0;
    for (int i = 0; i < BUCKET; i++)
        mask |= (unsigned)(b->tags[i] == tag) << i;
    return mask;
#endif
}

/* Bit i set where slot i is empty. */
static inline unsigned bucket_empty(const bucket *b) {
    return bucket_match(b, 0) & ((1u << BUCKET) - 1);
}

/* Puts group g (of hash) into the first empty slot from its bucket on. */
static void place(bucket *index, int bits, uint64_t hash, uint32_t g) {
    size_t mask = ((size_t)1 << bits) - 1;
    for (size_t b = hash_bucket(hash, bits);; b = (b + 1) & mask) {
        unsigned empty = bucket_empty(&index[b]);
        if (empty) {
            int i = __builtin_ctz(empty);
            index[b].tags[i] = hash_tag(hash);
            index[b].groups[i] = g;
            return;
        }
    }
}

static bucket *index_alloc(int bits) {
    size_t bytes = sizeof(bucket) << bits;
    bucket *index = ember_malloc_aligned(bytes);
    if (index)
        memset(index, 0, bytes);
    return index;
}

void ember_dictionary_clear(ember_dictionary *dictionary) {
    ember_free_aligned(dictionary->row_group);
    ember_free(dictionary->representative);
    memset(dictionary, 0, sizeof *dictionary);
}

void ember_dictionary_builder_clear(ember_dictionary_builder *builder) {
    ember_free_aligned(builder->row_group);
    ember_free(builder->representative);
    ember_free(builder->keys);
    ember_free_aligned(builder->index);
    memset(builder, 0, sizeof *builder);
    builder->null_group = -1;
}

/* Too many groups or no memory: the memory goes now (a refused column's ids can be large), and
 * with it the room for ids, which keeps every later row off the short path. */
static void give_up(ember_dictionary_builder *builder) {
    ember_dictionary_builder_clear(builder);
    builder->failed = true;
}

bool ember_dictionary_builder_begin(ember_dictionary_builder *builder, const ember_column *strings,
                                    int64_t max_groups, int64_t rows_hint) {
    memset(builder, 0, sizeof *builder);
    builder->strings = strings;
    builder->max_groups = max_groups;
    builder->null_group = -1;
    builder->row_capacity = rows_hint > 64 ? rows_hint : 64;
    builder->group_capacity = 256;
    builder->index_bits = 6;
    builder->index_shift = 64 - 6;
    builder->row_group = ember_malloc_aligned((size_t)builder->row_capacity * sizeof(uint32_t));
    builder->representative = ember_malloc((size_t)builder->group_capacity * sizeof(int64_t));
    builder->keys = ember_malloc((size_t)builder->group_capacity * sizeof *builder->keys);
    builder->index = index_alloc(builder->index_bits);
    if (builder->row_group && builder->representative && builder->keys && builder->index)
        return true;
    give_up(builder);
    return false;
}

/* The hash of group g's key again (its string is at its first row). */
static uint64_t group_hash(const ember_dictionary_builder *builder, int64_t g) {
    const ember_column *strings = builder->strings;
    const int32_t *offsets = strings->values;
    int64_t row = builder->representative[g], start = offsets[row];
    uint64_t words[2];
    return make_key(strings->bytes + start, start, offsets[row + 1] - start,
                    strings->bytes_capacity, words);
}

/* Doubles the index (kept at most half full). */
static bool grow_index(ember_dictionary_builder *builder) {
    int bits = builder->index_bits + 1;
    bucket *index = index_alloc(bits);
    if (!index)
        return false;
    for (int64_t g = 0; g < builder->groups; g++)
        if (g != builder->null_group)
            place(index, bits, group_hash(builder, g), (uint32_t)g);
    ember_free_aligned(builder->index);
    builder->index = index;
    builder->index_bits = bits;
    builder->index_shift = 64 - bits;
    return true;
}

/* Room for one more group's key and representative. */
static bool reserve_group(ember_dictionary_builder *builder) {
    if (builder->groups < builder->group_capacity)
        return true;
    int64_t bigger = builder->group_capacity * 2;
    int64_t *representative =
        ember_realloc(builder->representative, (size_t)bigger * sizeof *representative);
    if (!representative)
        return false;
    builder->representative = representative;
    ember_dictionary_key *keys = ember_realloc(builder->keys, (size_t)bigger * sizeof *keys);
    if (!keys)
        return false;
    builder->keys = keys;
    builder->group_capacity = bigger;
    return true;
}

/* The next group, first seen at row; false when there may be no more (or no memory). */
static bool new_group(ember_dictionary_builder *builder, int64_t row) {
    if (builder->groups == builder->max_groups || !reserve_group(builder))
        return false;
    builder->representative[builder->groups++] = row;
    return true;
}

/* A string seen for the first time at row: a new group, in the index. */
static bool add_group(ember_dictionary_builder *builder, int64_t row, const uint64_t words[2],
                      uint64_t hash) {
    if (!new_group(builder, row))
        return false;
    uint32_t g = (uint32_t)(builder->groups - 1);
    builder->keys[g] = (ember_dictionary_key){{words[0], words[1]}};
    place(builder->index, builder->index_bits, hash, g);
    builder->row_group[row] = g;
    return (builder->groups * 2 <= (int64_t)BUCKET << builder->index_bits) || grow_index(builder);
}

/* A null row: the nulls' group, new at the first. */
static bool add_null(ember_dictionary_builder *builder, int64_t row) {
    if (builder->null_group < 0) {
        if (!new_group(builder, row))
            return false;
        builder->null_group = builder->groups - 1;
    }
    builder->row_group[row] = (uint32_t)builder->null_group;
    return true;
}

static bool reserve_row(ember_dictionary_builder *builder) {
    if (builder->rows < builder->row_capacity)
        return true;
    int64_t bigger = builder->row_capacity * 2;
    uint32_t *grown = ember_malloc_aligned((size_t)bigger * sizeof *grown);
    if (!grown)
        return false;
    memcpy(grown, builder->row_group, (size_t)builder->rows * sizeof *grown);
    ember_free_aligned(builder->row_group);
    builder->row_group = grown;
    builder->row_capacity = bigger;
    return true;
}

/* Whether a long string equals group g's (at its first row). */
static bool same_long(const ember_dictionary_builder *builder, int64_t g, const char *bytes,
                      int64_t len) {
    int32_t other_len;
    const char *other =
        ember_column_string(builder->strings, builder->representative[g], &other_len);
    return other_len == len && memcmp(other, bytes, (size_t)len) == 0;
}

/* The group of key words (hash) in the index, or -1. */
static int64_t lookup(const ember_dictionary_builder *builder, const uint64_t words[2],
                      uint64_t hash, const char *bytes, int64_t len) {
    int bits = builder->index_bits;
    uint8_t tag = hash_tag(hash);
    size_t mask = ((size_t)1 << bits) - 1;
    for (size_t b = hash_bucket(hash, bits);; b = (b + 1) & mask) {
        const bucket *probe = &builder->index[b];
        for (unsigned match = bucket_match(probe, tag); match; match &= match - 1) {
            uint32_t g = probe->groups[__builtin_ctz(match)];
            const ember_dictionary_key *key = &builder->keys[g];
            if (key->words[0] == words[0] && key->words[1] == words[1] &&
                (len <= SHORT_KEY || same_long(builder, g, bytes, len)))
                return g;
        }
        if (bucket_empty(probe))
            return -1;
    }
}

/* Any row: room for its id, nulls, long keys, a new group, a key past its first bucket. */
static __attribute__((noinline)) void add_general(ember_dictionary_builder *builder) {
    if (builder->failed)
        return;
    int64_t row = builder->rows;
    const ember_column *strings = builder->strings;
    bool ok = reserve_row(builder);
    if (ok && !ember_column_is_valid(strings, row)) {
        ok = add_null(builder, row);
    } else if (ok) {
        const int32_t *offsets = strings->values;
        int64_t start = offsets[row], len = offsets[row + 1] - start;
        const char *bytes = strings->bytes + start;
        uint64_t words[2];
        uint64_t hash = make_key(bytes, start, len, strings->bytes_capacity, words);
        int64_t g = lookup(builder, words, hash, bytes, len);
        if (g >= 0)
            builder->row_group[row] = (uint32_t)g;
        else
            ok = add_group(builder, row, words, hash);
    }
    if (!ok) {
        give_up(builder);
        return;
    }
    builder->rows = row + 1;
}

/* The common row, kept short (it runs once a row inside the parse): the next row is a valid
 * string of at most 15 bytes at bytes (16 of them readable) whose group is the first of its
 * tag in its bucket, and there is room for its id (none once the builder has failed). Adds it
 * and returns true; otherwise does nothing and returns false, and add_general does the rest. */
static inline bool add_seen(ember_dictionary_builder *builder, const char *bytes, int64_t len) {
    int64_t row = builder->rows;
    if (row >= builder->row_capacity || len > SHORT_KEY)
        return false;
    uint64_t w[2];
    memcpy(w, bytes, 16);
    uint64_t w0 = w[0] & key_masks[len][0];
    uint64_t w1 = (w[1] & key_masks[len][1]) | last_byte((uint64_t)len);
    uint64_t hash = short_hash(w0, w1);
    const bucket *probe = &builder->index[hash >> builder->index_shift];
    unsigned match = bucket_match(probe, hash_tag(hash));
    if (!match)
        return false;
    uint32_t g = probe->groups[__builtin_ctz(match)];
    const ember_dictionary_key *key = &builder->keys[g];
    if (key->words[0] != w0 || key->words[1] != w1)
        return false;
    builder->row_group[row] = g;
    builder->rows = row + 1;
    return true;
}

void ember_dictionary_builder_add(ember_dictionary_builder *builder) {
    int64_t row = builder->rows;
    const ember_column *strings = builder->strings;
    if (!builder->failed && ember_column_is_valid(strings, row)) {
        const int32_t *offsets = strings->values;
        int64_t start = offsets[row];
        if (start + 16 <= strings->bytes_capacity &&
            add_seen(builder, strings->bytes + start, offsets[row + 1] - start))
            return;
    }
    add_general(builder);
}

void ember_dictionary_builder_add_string(ember_dictionary_builder *builder, const char *bytes,
                                         int64_t len, size_t readable) {
    if (readable < 16 || !add_seen(builder, bytes, len))
        add_general(builder);
}

/* Finds group g's slot, from its bucket (or for a long key, whose hash is not all in its key,
 * from the first), and empties it. g is the last group placed, so no later key went past its
 * slot: the index is as if it had never been there. */
static void unplace(ember_dictionary_builder *builder, uint32_t g) {
    const ember_dictionary_key *key = &builder->keys[g];
    size_t buckets = (size_t)1 << builder->index_bits, b = 0;
    if ((key->words[1] & last_byte(0xff)) != last_byte(0xff)) /* a short key */
        b = hash_bucket(short_hash(key->words[0], key->words[1]), builder->index_bits);
    for (size_t n = 0; n < buckets; n++, b = (b + 1) & (buckets - 1))
        for (int i = 0; i < BUCKET; i++)
            if (builder->index[b].tags[i] && builder->index[b].groups[i] == g) {
                builder->index[b].tags[i] = 0;
                return;
            }
}

void ember_dictionary_builder_truncate(ember_dictionary_builder *builder, int64_t rows) {
    if (builder->failed || rows >= builder->rows)
        return;
    while (builder->groups > 0 && builder->representative[builder->groups - 1] >= rows) {
        uint32_t g = (uint32_t)--builder->groups;
        if ((int64_t)g == builder->null_group)
            builder->null_group = -1;
        else
            unplace(builder, g);
    }
    builder->rows = rows;
}

bool ember_dictionary_builder_finish(ember_dictionary_builder *builder, int64_t max_groups,
                                     ember_dictionary *dictionary) {
    memset(dictionary, 0, sizeof *dictionary);
    bool ok = !builder->failed && builder->groups <= max_groups;
    if (ok) {
        dictionary->groups = builder->groups;
        dictionary->row_group = builder->row_group;
        dictionary->representative = builder->representative;
        builder->row_group = NULL;
        builder->representative = NULL;
    }
    ember_dictionary_builder_clear(builder);
    return ok;
}

bool ember_dictionary_build(const ember_column *strings, int64_t max_groups,
                            ember_dictionary *dictionary) {
    memset(dictionary, 0, sizeof *dictionary);
    ember_dictionary_builder builder;
    if (!ember_dictionary_builder_begin(&builder, strings, max_groups, strings->length))
        return false;
    for (int64_t r = 0; r < strings->length && !builder.failed; r++)
        ember_dictionary_builder_add(&builder);
    return ember_dictionary_builder_finish(&builder, max_groups, dictionary);
}
