/* groupby.cl: hash aggregation (host/ops/groupby_device.c). Rows are hashed, claim slots of an
 * open-addressing table, get dense group ids, and then each aggregate is folded per group. */

/* The host adds -DEMBER_INT64_ATOMICS=1 and -DEMBER_FP64=1 only where the device reports the
 * extensions; without them the aggregate kernels are left out and the host aggregates. */
#ifdef EMBER_INT64_ATOMICS
#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable
#pragma OPENCL EXTENSION cl_khr_int64_extended_atomics : enable
#endif
#ifdef EMBER_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

/* Key descriptions: 4 bits per key in key_info (type in bits 0-1, bit 2 = has a validity
 * bitmap). The codes match ember_type. */
#define KEY_INT64        0u
#define KEY_FLOAT64      1u
#define KEY_STRING       2u
#define KEY_HAS_VALIDITY 4u

/* The table's state words (one small buffer shared with the host). */
#define STATE_FILL      0 /* slots claimed, counted in batches (a lower bound until the end) */
#define STATE_FULL      1 /* set when a row found no slot or the fill passed the limit */
#define STATE_ROWS_DONE 2 /* rows that found their slot (to extrapolate the groups on regrowth) */
#define STATE_GROUPS    3 /* group ids handed out by compaction */

/* The claim counter is pushed to the global word every FILL_BATCH claims of a work-group, so
 * that all-distinct inputs do not serialize on one global atomic. */
#define FILL_BATCH 32u

#define NULL_TAG  0x6a09e667f3bcc909UL
#define HASH_SEED 0x243f6a8885a308d3UL

/* One key column: values (int64, float64 bit patterns, or int32 string offsets), the validity
 * bitmap and the string bytes. Unused keys get a placeholder buffer. */
#define KEY_PARAMS                                                                                 \
    const uint key_count, const uint key_info, __global const ulong *values0,                      \
        __global const uchar *valid0, __global const uchar *bytes0, __global const ulong *values1, \
        __global const uchar *valid1, __global const uchar *bytes1, __global const ulong *values2, \
        __global const uchar *valid2, __global const uchar *bytes2, __global const ulong *values3, \
        __global const uchar *valid3, __global const uchar *bytes3
#define KEY_ARGS                                                                                   \
    key_count, key_info, values0, valid0, bytes0, values1, valid1, bytes1, values2, valid2,        \
        bytes2, values3, valid3, bytes3

/* murmur3's fmix64: every input bit reaches every output bit, so the low bits (the slot) are
 * as good as the high ones. */
ulong mix64(ulong x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdUL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53UL;
    x ^= x >> 33;
    return x;
}

/* Key equality on doubles by bits: -0.0 is 0.0 and every NaN is one NaN. Done on the bit
 * pattern, so float64 keys need no cl_khr_fp64. */
ulong canonical_double(ulong bits) {
    if ((bits & 0x7fffffffffffffffUL) == 0)
        return 0;
    if ((bits & 0x7ff0000000000000UL) == 0x7ff0000000000000UL && (bits & 0x000fffffffffffffUL))
        return 0x7ff8000000000000UL;
    return bits;
}

bool bit_valid(__global const uchar *validity, uint row) {
    return (validity[row >> 3] >> (row & 7)) & 1;
}

/* FNV-1a over the bytes with the length first, finished by mix64 (FNV alone mixes its low bits
 * poorly, and those pick the slot). */
ulong string_hash(__global const ulong *values, __global const uchar *bytes, uint row) {
    __global const int *offsets = (__global const int *)values;
    int start = offsets[row], end = offsets[row + 1];
    ulong h = 0xcbf29ce484222325UL ^ (ulong)(end - start);
    for (int i = start; i < end; i++)
        h = (h ^ bytes[i]) * 0x100000001b3UL;
    return mix64(h);
}

ulong key_part_hash(uint info, __global const ulong *values, __global const uchar *valid,
                    __global const uchar *bytes, uint row) {
    if ((info & KEY_HAS_VALIDITY) && !bit_valid(valid, row))
        return NULL_TAG;
    uint type = info & 3u;
    if (type == KEY_STRING)
        return string_hash(values, bytes, row);
    ulong v = values[row];
    return type == KEY_FLOAT64 ? canonical_double(v) : v;
}

bool key_part_equal(uint info, __global const ulong *values, __global const uchar *valid,
                    __global const uchar *bytes, uint a, uint b) {
    if (info & KEY_HAS_VALIDITY) {
        bool va = bit_valid(valid, a), vb = bit_valid(valid, b);
        if (va != vb)
            return false;
        if (!va)
            return true; /* null equals null */
    }
    uint type = info & 3u;
    if (type == KEY_INT64)
        return values[a] == values[b];
    if (type == KEY_FLOAT64)
        return canonical_double(values[a]) == canonical_double(values[b]);
    __global const int *offsets = (__global const int *)values;
    int sa = offsets[a], sb = offsets[b];
    int len = offsets[a + 1] - sa;
    if (offsets[b + 1] - sb != len)
        return false;
    for (int i = 0; i < len; i++)
        if (bytes[sa + i] != bytes[sb + i])
            return false;
    return true;
}

/* Each key's hash is folded into the running hash through mix64, so that swapped or shifted
 * key values do not collide the way a plain sum would. */
ulong row_hash(KEY_PARAMS, uint row) {
    ulong h = mix64(HASH_SEED ^ key_part_hash(key_info, values0, valid0, bytes0, row));
    if (key_count > 1)
        h = mix64(h ^ key_part_hash(key_info >> 4, values1, valid1, bytes1, row));
    if (key_count > 2)
        h = mix64(h ^ key_part_hash(key_info >> 8, values2, valid2, bytes2, row));
    if (key_count > 3)
        h = mix64(h ^ key_part_hash(key_info >> 12, values3, valid3, bytes3, row));
    return h;
}

bool rows_equal(KEY_PARAMS, uint a, uint b) {
    if (!key_part_equal(key_info, values0, valid0, bytes0, a, b))
        return false;
    if (key_count > 1 && !key_part_equal(key_info >> 4, values1, valid1, bytes1, a, b))
        return false;
    if (key_count > 2 && !key_part_equal(key_info >> 8, values2, valid2, bytes2, a, b))
        return false;
    if (key_count > 3 && !key_part_equal(key_info >> 12, values3, valid3, bytes3, a, b))
        return false;
    return true;
}

/* The rows of one work-item. On CPUs (chunk > 0) a contiguous run of chunk rows: a
 * work-group's items run one after another on one core, so each streams through its own run
 * (a grid stride would touch a new page per row). On GPUs (chunk 0) a grid stride, so that
 * neighbouring work-items read neighbouring rows (coalesced). */
void row_range(uint rows, uint chunk, uint *begin, uint *end, uint *step) {
    if (chunk) {
        *begin = min((uint)get_global_id(0) * chunk, rows);
        *end = min(*begin + chunk, rows);
        *step = 1;
    } else {
        *begin = get_global_id(0);
        *end = rows;
        *step = get_global_size(0);
    }
}

/* Sets count 64-bit words to value: clears the table and state words (some CPU drivers fill
 * buffers element by element on the host thread). */
__kernel void groupby_fill(__global ulong *words, const uint count, const uint chunk,
                           const ulong value) {
    uint begin, end, step;
    row_range(count, chunk, &begin, &end, &step);
    for (uint i = begin; i < end; i += step)
        words[i] = value;
}

/* A claim of a work-group counted towards STATE_FILL in batches (see FILL_BATCH); the table is
 * marked full when the fill passes fill_limit. */
void count_claim(volatile __local uint *claimed, volatile __global uint *state,
                 const uint fill_limit) {
    if (atomic_inc(claimed) % FILL_BATCH == FILL_BATCH - 1 &&
        atomic_add(&state[STATE_FILL], FILL_BATCH) + FILL_BATCH > fill_limit)
        atomic_xchg(&state[STATE_FULL], 1u);
}

/* The end of an insert pass: the claims not yet pushed, so that STATE_FILL ends exact. */
void finish_insert(volatile __local uint *claimed, volatile __local uint *done, uint my_done,
                   volatile __global uint *state) {
    atomic_add(done, my_done);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (get_local_id(0) == 0) {
        atomic_add(&state[STATE_FILL], *claimed % FILL_BATCH);
        atomic_add(&state[STATE_ROWS_DONE], *done);
    }
}

/* Pass 1: each row finds its key's slot by linear probing. A slot is two words: the owner
 * (0 empty, else row + 1) and a 32-bit tag from the hash's high bits (0: not written yet).
 * An empty slot is claimed by compare-and-swap of the owner from 0 to row + 1; a claimed slot
 * belongs to its owner's key forever, so every row of one key stops at the same slot. The
 * owner word is first read plainly: it only ever changes once, from 0, so a stale read just
 * leads to the CAS, which returns the true owner. The claimer then publishes the tag; a row
 * that sees another tag probes on at once, one that sees its own (or none yet) compares the
 * keys with the owner row's, which is read-only input, so nothing races. A row that probes
 * every slot, or a claim past fill_limit, sets STATE_FULL: the host grows the table and runs
 * again, and the other rows stop early when they see it. hash_bits in 1..63 keeps only the
 * low bits of each hash (tests force collisions with it). */
__kernel void groupby_insert(KEY_PARAMS, const uint rows, const uint chunk, const uint hash_bits,
                             volatile __global uint *slots, const uint mask,
                             __global uint *row_slot, volatile __global uint *state,
                             const uint fill_limit) {
    __local uint claimed, done;
    if (get_local_id(0) == 0) {
        claimed = 0;
        done = 0;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const ulong keep = hash_bits > 0 && hash_bits < 64 ? (1UL << hash_bits) - 1 : ~0UL;
    uint begin, end, step, my_done = 0;
    row_range(rows, chunk, &begin, &end, &step);
    for (uint row = begin; row < end; row += step) {
        if (state[STATE_FULL])
            break;
        ulong h = row_hash(KEY_ARGS, row) & keep;
        uint tag = (uint)(h >> 32) | 1u;
        uint slot = (uint)h & mask;
        bool placed = false;
        for (uint probe = 0; probe <= mask; probe++) {
            uint o = slots[2 * slot];
            if (o == 0) {
                o = atomic_cmpxchg(&slots[2 * slot], 0u, row + 1);
                if (o == 0) {
                    atomic_xchg(&slots[2 * slot + 1], tag);
                    placed = true;
                    count_claim(&claimed, state, fill_limit);
                    break;
                }
            }
            uint other_tag = slots[2 * slot + 1];
            if ((other_tag == 0 || other_tag == tag) && rows_equal(KEY_ARGS, o - 1, row)) {
                placed = true;
                break;
            }
            slot = (slot + 1) & mask;
        }
        if (!placed) {
            atomic_xchg(&state[STATE_FULL], 1u);
            break;
        }
        row_slot[row] = slot;
        my_done++;
    }
    finish_insert(&claimed, &done, my_done, state);
}

/* The hash of a lone key, as groupby_insert_exact makes it. mix64 and the seed's xor are
 * bijections, so only the null and a value equal to NULL_TAG share one: mix64(HASH_SEED ^
 * NULL_TAG). */
ulong exact_hash(KEY_PARAMS, uint row) {
    return mix64(HASH_SEED ^ key_part_hash(key_info, values0, valid0, bytes0, row));
}

/* Radix partitioning instead of the exact insert, for tables too big for the cache (one cache
 * miss per row, and a locked atomic that keeps the next row's miss from overlapping it): the
 * rows are ordered by bucket, the top bits of their hash's low half, and each bucket then fills
 * its own slice of the table (groupby_insert_slices), small enough to stay in a core's cache.
 * One work-item per block of block_rows consecutive rows; counts[b * buckets + d] holds block
 * b's rows in bucket d (a block's counters are its own and contiguous, so the cores do not
 * share their lines). */
__kernel void groupby_radix_count(KEY_PARAMS, const uint rows, const uint block_rows,
                                  const uint blocks, const uint shift, __global uint *counts) {
    uint b = get_global_id(0);
    if (b >= blocks)
        return;
    uint buckets = 1u << (32 - shift);
    __global uint *count = counts + b * buckets;
    for (uint d = 0; d < buckets; d++)
        count[d] = 0;
    uint begin = min(b * block_rows, rows), end = min(begin + block_rows, rows);
    for (uint row = begin; row < end; row++)
        count[(uint)exact_hash(KEY_ARGS, row) >> shift]++;
}

/* Each block's rows go to its cursor in every bucket: buckets in ascending order, within a
 * bucket blocks in order, so the order is stable. Each work-item finds its cursors by summing
 * all the counts itself (buckets x blocks is a few thousand words), which saves a scan kernel
 * and a launch. The hash goes along so that the insert does not read the key again. */
__kernel void groupby_radix_scatter(KEY_PARAMS, const uint rows, const uint block_rows,
                                    const uint blocks, const uint shift,
                                    __global const uint *counts, __global uint *cursors,
                                    __global ulong *order_hash, __global uint *order_row,
                                    __global uint *bucket_start) {
    uint b = get_global_id(0);
    if (b >= blocks)
        return;
    uint buckets = 1u << (32 - shift);
    __global uint *cursor = cursors + b * buckets;
    uint start = 0;
    for (uint d = 0; d < buckets; d++) {
        uint mine = start;
        for (uint other = 0; other < blocks; other++) {
            uint c = counts[other * buckets + d];
            mine += other < b ? c : 0;
            start += c;
        }
        cursor[d] = mine;
        if (b == 0)
            bucket_start[d] = mine;
    }
    if (b == 0)
        bucket_start[buckets] = rows;
    uint begin = min(b * block_rows, rows), end = min(begin + block_rows, rows);
    for (uint row = begin; row < end; row++) {
        ulong h = exact_hash(KEY_ARGS, row);
        uint at = cursor[(uint)h >> shift]++;
        order_hash[at] = h;
        order_row[at] = row;
    }
}

/* Pass 1 after radix partitioning: each bucket owns a slice of the table and is inserted by
 * one work-item alone, so the slice needs no atomics, and the work-item clears it just before
 * inserting (the clearing brings it into the core's cache, where every probe then hits). Slots
 * are groupby_insert_exact's; a slot's hash halves are written with its owner, so equal halves
 * are the same key (but for the null / NULL_TAG pair, compared by rows). Slices are the
 * bucket's share of the hash range (by_rows 0: hashes are uniform, so the groups are too, even
 * when a few heavy keys make the rows skewed) or of the rows (by_rows 1: a slice then holds
 * 4/3 of its rows at the size that cannot fill up, which the host gives as the last resort). A
 * slice past 3/4 full, or full, marks the table full, and the host grows it. */
__kernel void groupby_insert_slices(KEY_PARAMS, const uint rows, const uint buckets,
                                    __global const uint *bucket_start,
                                    __global const ulong *order_hash,
                                    __global const uint *order_row, __global uint *slots,
                                    const uint capacity, const uint by_rows,
                                    __global uint *row_slot, const uint count_rows,
                                    volatile __global uint *state) {
    const ulong null_hash = mix64(HASH_SEED ^ NULL_TAG);
    const uint bits = 31 - clz(buckets);
    const bool has_validity = (key_info & KEY_HAS_VALIDITY) != 0;
    for (uint d = get_global_id(0); d < buckets; d += get_global_size(0)) {
        if (state[STATE_FULL])
            break;
        uint first = bucket_start[d], last = bucket_start[d + 1];
        uint start = by_rows ? (uint)((ulong)first * capacity / rows)
                             : (uint)(((ulong)d * capacity) >> bits);
        uint end = by_rows ? (uint)((ulong)last * capacity / rows)
                           : (uint)(((ulong)(d + 1) * capacity) >> bits);
        uint size = end - start, limit = size - size / 4, claims = 0, done = 0;
        for (uint w = 4 * start; w < 4 * end; w++)
            slots[w] = 0;
        bool full = false;
        for (uint i = first; i < last; i++) {
            uint row = order_row[i];
            ulong h = order_hash[i];
            uint lo = (uint)h, hi = (uint)(h >> 32);
            bool ambiguous = has_validity && h == null_hash;
            /* The hash bits below the bucket's, scaled to the slice by a 64-bit product (pocl
             * builds a 32-bit mul_hi from 16-bit pieces). */
            uint slot = start + (uint)(((ulong)(lo << bits) * size) >> 32);
            bool placed = false;
            for (uint probe = 0; probe < size; probe++) {
                __global uint *s = &slots[4 * slot];
                uint o = s[0];
                if (o == 0) {
                    full = claims == limit;
                    if (!full) {
                        s[0] = row + 1;
                        s[2] = lo;
                        s[3] = hi;
                        claims++;
                        placed = true;
                    }
                    break;
                }
                if (s[2] == lo && s[3] == hi && (!ambiguous || rows_equal(KEY_ARGS, o - 1, row))) {
                    placed = true;
                    break;
                }
                slot = slot + 1 < end ? slot + 1 : start;
            }
            if (!placed) {
                full = true;
                break;
            }
            if (count_rows)
                slots[4 * slot + 1]++;
            else
                row_slot[row] = slot;
            done++;
        }
        atomic_add(&state[STATE_FILL], claims);
        atomic_add(&state[STATE_ROWS_DONE], done);
        if (full) {
            atomic_xchg(&state[STATE_FULL], 1u);
            break;
        }
    }
}

/* Pass 1 for a single int64, float64 or bool key (no hash_bits): the row hash is then a
 * bijection of the key's canonical value (mix64 is one), so equal hashes mean equal keys and
 * a row of a known group never reads another row's key: that read, a cache miss into the key
 * column, was most of the insert's time. A slot is four words: the owner as above, the rows
 * counted into it (count_rows), and the hash's low and high halves. The claimer writes each
 * half once, from 0, after its claim, so a nonzero half is final whatever order the writes
 * become visible in: a prober seeing a final half unlike its own probes on; both final and
 * equal is its group. Only where a half is not yet written (or is 0), or where the key is
 * null or has the null's tag as its value (the one pair of keys with equal hashes), does it
 * compare rows as groupby_insert does. The home slot is the hash's low half scaled to the
 * capacity (no power of two needed, so the host sizes the table to the groups it expects, and
 * a smaller table stays in cache). count_rows: every row counts itself into its slot (all
 * aggregates are row counts), and row_slot is not written. */
__kernel void groupby_insert_exact(KEY_PARAMS, const uint rows, const uint chunk,
                                   volatile __global uint *slots, const uint capacity,
                                   __global uint *row_slot, volatile __global uint *state,
                                   const uint fill_limit, const uint count_rows) {
    __local uint claimed, done;
    if (get_local_id(0) == 0) {
        claimed = 0;
        done = 0;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    uint begin, end, step, my_done = 0;
    row_range(rows, chunk, &begin, &end, &step);
    for (uint row = begin; row < end; row += step) {
        if (state[STATE_FULL])
            break;
        ulong part = key_part_hash(key_info, values0, valid0, bytes0, row);
        bool ambiguous = (key_info & KEY_HAS_VALIDITY) && part == NULL_TAG;
        ulong h = mix64(HASH_SEED ^ part);
        uint lo = (uint)h, hi = (uint)(h >> 32);
        uint slot = mul_hi(lo, capacity);
        bool placed = false;
        for (uint probe = 0; probe < capacity; probe++) {
            volatile __global uint *s = &slots[4 * slot];
            uint o = s[0];
            if (o == 0) {
                o = atomic_cmpxchg(&s[0], 0u, row + 1);
                if (o == 0) {
                    if (lo)
                        atomic_xchg(&s[2], lo);
                    if (hi)
                        atomic_xchg(&s[3], hi);
                    placed = true;
                    count_claim(&claimed, state, fill_limit);
                    break;
                }
            }
            uint other_lo = s[2], other_hi = s[3];
            if ((other_lo == 0 || other_lo == lo) && (other_hi == 0 || other_hi == hi) &&
                ((other_lo != 0 && other_hi != 0 && !ambiguous) ||
                 rows_equal(KEY_ARGS, o - 1, row))) {
                placed = true;
                break;
            }
            slot = slot + 1 < capacity ? slot + 1 : 0;
        }
        if (!placed) {
            atomic_xchg(&state[STATE_FULL], 1u);
            break;
        }
        if (count_rows)
            atomic_inc(&slots[4 * slot + 1]);
        else
            row_slot[row] = slot;
        my_done++;
    }
    finish_insert(&claimed, &done, my_done, state);
}

/* Pass 2: dense group ids. Each work-item owns per_item consecutive slots of slot_words words
 * (2: groupby_insert's, 4: groupby_insert_exact's); a work-group reserves a range of ids with
 * one global atomic. The owner word of an occupied slot is replaced by its group id (each slot
 * is touched by one work-item only), and with count_rows the slot's row count goes to
 * group_rows. */
__kernel void groupby_compact(__global uint *slots, const uint capacity, const uint per_item,
                              volatile __global uint *state, __global ulong *representative,
                              const uint slot_words, const uint count_rows,
                              __global ulong *group_rows) {
    __local uint local_total, local_base;
    if (get_local_id(0) == 0)
        local_total = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    uint begin = min((uint)get_global_id(0) * per_item, capacity);
    uint end = min(begin + per_item, capacity);
    uint count = 0;
    for (uint s = begin; s < end; s++)
        count += slots[slot_words * s] != 0;
    uint offset = atomic_add(&local_total, count);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (get_local_id(0) == 0)
        local_base = atomic_add(&state[STATE_GROUPS], local_total);
    barrier(CLK_LOCAL_MEM_FENCE);
    uint group = local_base + offset;
    for (uint s = begin; s < end; s++) {
        uint o = slots[slot_words * s];
        if (o != 0) {
            representative[group] = o - 1;
            if (count_rows)
                group_rows[group] = slots[slot_words * s + 1];
            slots[slot_words * s] = group++;
        }
    }
}

/* Pass 3: row_slot becomes row_group, so aggregates index dense per-group arrays. */
__kernel void groupby_remap(__global uint *row_slot, __global const uint *slots, const uint rows,
                            const uint chunk, const uint slot_words) {
    uint begin, end, step;
    row_range(rows, chunk, &begin, &end, &step);
    for (uint row = begin; row < end; row += step)
        row_slot[row] = slots[slot_words * row_slot[row]];
}

#ifdef EMBER_INT64_ATOMICS

/* agg_info: op in bits 0-1 (ember_agg_op), then flags. */
#define AGG_OP_COUNT     0u
#define AGG_OP_SUM       1u
#define AGG_OP_MIN       2u
#define AGG_OP_MAX       3u
#define AGG_FLOAT64      4u
#define AGG_HAS_VALUES   8u
#define AGG_VALUES_VALID 16u
#define AGG_HAS_COUNTS   32u
#define AGG_COUNTS_VALID 64u

/* What a row adds to its group's count: 0 when it contributes nothing (a null value; in the
 * merge phase a zero or null count). */
long row_contribution(uint agg_info, __global const uchar *values_valid,
                      __global const long *counts, __global const uchar *counts_valid, uint row) {
    if ((agg_info & AGG_VALUES_VALID) && !bit_valid(values_valid, row))
        return 0;
    if (!(agg_info & AGG_HAS_COUNTS))
        return 1;
    if ((agg_info & AGG_COUNTS_VALID) && !bit_valid(counts_valid, row))
        return 0;
    return counts[row];
}

/* Float MIN/MAX run on an integer image of the double that orders like the number (negative
 * values have their magnitude bits flipped), so atom_min/atom_max do them in one step and no
 * cl_khr_fp64 is needed. NaN is made one positive NaN, which orders above +inf: NaN is the
 * greatest value, as in Spark; -0.0 orders below 0.0 (both kept). The host undoes the flip
 * (which is its own inverse). */
long float_order(long bits) {
    if ((bits & 0x7ff0000000000000L) == 0x7ff0000000000000L && (bits & 0x000fffffffffffffL))
        bits = 0x7ff8000000000000L;
    return bits ^ ((bits >> 63) & 0x7fffffffffffffffL);
}

/* The value a row folds in: float MIN/MAX as their ordered image, the rest as stored. */
long row_value(uint agg_info, __global const long *values, uint row) {
    long v = values[row];
    uint op = agg_info & 3u;
    if ((agg_info & AGG_FLOAT64) && (op == AGG_OP_MIN || op == AGG_OP_MAX))
        v = float_order(v);
    return v;
}

long agg_initial(uint agg_info) {
    uint op = agg_info & 3u;
    return op == AGG_OP_MIN ? LONG_MAX : op == AGG_OP_MAX ? LONG_MIN : 0;
}

/* 128-bit add of (add_hi:add_lo) to (hi:lo): the carry out of lo is the wraparound seen by
 * this very atomic add, so the total is exact whatever the order of the adds. */
void add128_global(volatile __global ulong *lo, volatile __global long *hi, ulong add_lo,
                   long add_hi) {
    ulong old = atom_add(lo, add_lo);
    long high = add_hi + (old + add_lo < old ? 1 : 0);
    if (high != 0)
        atom_add(hi, high);
}

void add128_local(volatile __local ulong *lo, volatile __local long *hi, ulong add_lo,
                  long add_hi) {
    ulong old = atom_add(lo, add_lo);
    long high = add_hi + (old + add_lo < old ? 1 : 0);
    if (high != 0)
        atom_add(hi, high);
}

#ifdef EMBER_FP64
/* Doubles have no atomic add: a compare-and-swap loop on the bit pattern. */
void add_double_global(volatile __global long *p, long add_bits) {
    double add = as_double(add_bits);
    long old = *p, seen;
    do {
        seen = old;
        old = atom_cmpxchg(p, seen, as_long(as_double(seen) + add));
    } while (old != seen);
}

void add_double_local(volatile __local long *p, long add_bits) {
    double add = as_double(add_bits);
    long old = *p, seen;
    do {
        seen = old;
        old = atom_cmpxchg(p, seen, as_long(as_double(seen) + add));
    } while (old != seen);
}
#endif

/* Folds one contribution (count n, value v; for an int64 sum the 128-bit v_hi:v) into group
 * g's global state: its count, value (a) and the high word of an int64 sum (b). The host never
 * launches a float SUM without EMBER_FP64. */
void fold_global(uint agg_info, uint g, long n, long v, long v_hi,
                 volatile __global ulong *group_count, volatile __global long *group_a,
                 volatile __global long *group_b) {
    atom_add(&group_count[g], (ulong)n);
    uint op = agg_info & 3u;
    if (op == AGG_OP_COUNT)
        return;
    if (op == AGG_OP_MIN) {
        atom_min(&group_a[g], v);
    } else if (op == AGG_OP_MAX) {
        atom_max(&group_a[g], v);
    } else if (!(agg_info & AGG_FLOAT64)) {
        add128_global((volatile __global ulong *)&group_a[g], &group_b[g], (ulong)v, v_hi);
    } else {
#ifdef EMBER_FP64
        add_double_global(&group_a[g], v);
#endif
    }
}

void fold_local(uint agg_info, volatile __local ulong *state, long n, long v) {
    atom_add(&state[0], (ulong)n);
    uint op = agg_info & 3u;
    if (op == AGG_OP_COUNT)
        return;
    volatile __local long *a = (volatile __local long *)&state[1];
    if (op == AGG_OP_MIN) {
        atom_min(a, v);
    } else if (op == AGG_OP_MAX) {
        atom_max(a, v);
    } else if (!(agg_info & AGG_FLOAT64)) {
        add128_local(&state[1], (volatile __local long *)&state[2], (ulong)v, v < 0 ? -1 : 0);
    } else {
#ifdef EMBER_FP64
        add_double_local(a, v);
#endif
    }
}

/* fold_local for a work-group of one work-item (what the host launches on CPU devices, where
 * a work-group's items run one after another anyway): nothing else touches the local table,
 * so plain arithmetic does what the atomics would, without their locked instructions. */
void fold_alone(uint agg_info, __local ulong *state, long n, long v) {
    state[0] += (ulong)n;
    uint op = agg_info & 3u;
    if (op == AGG_OP_COUNT)
        return;
    long a = (long)state[1];
    if (op == AGG_OP_MIN) {
        state[1] = (ulong)min(a, v);
    } else if (op == AGG_OP_MAX) {
        state[1] = (ulong)max(a, v);
    } else if (!(agg_info & AGG_FLOAT64)) {
        ulong lo = (ulong)a + (ulong)v;
        state[2] += (ulong)((v < 0 ? -1 : 0) + (lo < (ulong)a ? 1 : 0));
        state[1] = lo;
    } else {
#ifdef EMBER_FP64
        state[1] = (ulong)as_long(as_double(a) + as_double(v));
#endif
    }
}

/* Words of state per group: the count, the value, the high word of an int64 sum. */
uint state_stride(uint agg_info) {
    uint op = agg_info & 3u;
    if (op == AGG_OP_COUNT)
        return 1;
    return op == AGG_OP_SUM && !(agg_info & AGG_FLOAT64) ? 3 : 2;
}

/* Seeds the states of count groups: count 0, the value at its identity, high word 0. */
__kernel void groupby_seed(__global ulong *group_count, __global long *group_a,
                           __global long *group_b, const uint count, const uint chunk,
                           const uint agg_info) {
    const uint stride = state_stride(agg_info);
    const long initial = agg_initial(agg_info);
    uint begin, end, step;
    row_range(count, chunk, &begin, &end, &step);
    for (uint g = begin; g < end; g += step) {
        group_count[g] = 0;
        if (stride > 1)
            group_a[g] = initial;
        if (stride > 2)
            group_b[g] = 0;
    }
}

/* After an int64 SUM: the first group whose 128-bit total leaves the int64 range (its high
 * word is not the sign extension of the low one) into first[index], which the host set to
 * UINT_MAX. */
__kernel void groupby_overflow(__global const long *group_a, __global const long *group_b,
                               volatile __global uint *first, const uint index, const uint count,
                               const uint chunk) {
    uint begin, end, step;
    row_range(count, chunk, &begin, &end, &step);
    for (uint g = begin; g < end; g += step)
        if (group_b[g] != (group_a[g] < 0 ? -1 : 0)) {
            atomic_min(&first[index], g);
            break; /* this work-item's later groups cannot be first */
        }
}

/* Pass 4 (global): every contributing row updates its group with global atomics. */
__kernel void groupby_aggregate(__global const uint *row_group, const uint rows, const uint chunk,
                                const uint agg_info, __global const long *values,
                                __global const uchar *values_valid, __global const long *counts,
                                __global const uchar *counts_valid,
                                volatile __global ulong *group_count,
                                volatile __global long *group_a, volatile __global long *group_b) {
    uint begin, end, step;
    row_range(rows, chunk, &begin, &end, &step);
    for (uint row = begin; row < end; row += step) {
        long n = row_contribution(agg_info, values_valid, counts, counts_valid, row);
        if (n == 0)
            continue;
        long v = (agg_info & AGG_HAS_VALUES) ? row_value(agg_info, values, row) : 0;
        fold_global(agg_info, row_group[row], n, v, v < 0 ? -1 : 0, group_count, group_a, group_b);
    }
}

/* Pass 4 (work-group-local first): group ids are dense, so groups below local_slots have a
 * fixed slot in __local memory, indexed directly. Each work-group folds its chunk of rows
 * there with local atomics (a hot key never reaches a global atomic more than once per
 * work-group; a work-group of one needs no atomics at all), then flushes its touched slots;
 * rows of higher groups go global directly. */
__kernel void groupby_aggregate_local(
    __global const uint *row_group, const uint rows, const uint chunk, const uint agg_info,
    __global const long *values, __global const uchar *values_valid, __global const long *counts,
    __global const uchar *counts_valid, volatile __global ulong *group_count,
    volatile __global long *group_a, volatile __global long *group_b, const uint local_slots,
    const uint group_rows, volatile __local ulong *local_states) {
    const uint lid = get_local_id(0), size = get_local_size(0);
    const uint stride = state_stride(agg_info);
    const bool alone = size == 1;
    const ulong initial = (ulong)agg_initial(agg_info);
    for (uint i = lid; i < local_slots; i += size) {
        local_states[i * stride] = 0;
        if (stride > 1)
            local_states[i * stride + 1] = initial;
        if (stride > 2)
            local_states[i * stride + 2] = 0;
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    /* The work-group's rows; within them each item's rows as in row_range. */
    uint begin = min((uint)get_group_id(0) * group_rows, rows);
    uint end = min(begin + group_rows, rows), step = size;
    if (chunk) {
        begin = min(begin + lid * chunk, end);
        end = min(begin + chunk, end);
        step = 1;
    } else {
        begin += lid;
    }
    for (uint row = begin; row < end; row += step) {
        long n = row_contribution(agg_info, values_valid, counts, counts_valid, row);
        if (n == 0)
            continue;
        long v = (agg_info & AGG_HAS_VALUES) ? row_value(agg_info, values, row) : 0;
        uint group = row_group[row];
        if (group < local_slots && alone)
            fold_alone(agg_info, (__local ulong *)&local_states[group * stride], n, v);
        else if (group < local_slots)
            fold_local(agg_info, &local_states[group * stride], n, v);
        else
            fold_global(agg_info, group, n, v, v < 0 ? -1 : 0, group_count, group_a, group_b);
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    for (uint i = lid; i < local_slots; i += size) {
        volatile __local ulong *local_state = &local_states[i * stride];
        long n = (long)local_state[0];
        if (n != 0)
            fold_global(agg_info, i, n, stride > 1 ? (long)local_state[1] : 0,
                        stride > 2 ? (long)local_state[2] : 0, group_count, group_a, group_b);
    }
}

#endif
