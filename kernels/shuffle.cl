/* shuffle.cl: the device side of repartition (host/ops/shuffle_device.c): each row's
 * destination partition, then a stable counting sort of the rows by destination. */

/* Nothing here needs an extension: no 64-bit atomics (each counter has one writer), no fp64
 * (float64 keys are hashed by their bits). */

/* Key descriptions: 4 bits per key in key_info (type in bits 0-1, bit 2 = has a validity
 * bitmap). The codes match ember_type; BOOL (3) is stored like INT64 and hashed like it. */
#define KEY_FLOAT64      1u
#define KEY_STRING       2u
#define KEY_HAS_VALIDITY 4u

/* Not groupby.cl's seed: a partition's rows all share the high bits of this hash, and a
 * group-by after the shuffle must not see that in its own hash. */
#define SHUFFLE_SEED 0x9e3779b97f4a7c15UL
#define NULL_TAG     0xb7e151628aed2a6bUL
#define CANON_NAN    0x7ff8000000000000UL

#define KEY_PARAMS                                                                                 \
    const uint key_count, const uint key_info, __global const ulong *values0,                      \
        __global const uchar *valid0, __global const uchar *bytes0, __global const ulong *values1, \
        __global const uchar *valid1, __global const uchar *bytes1, __global const ulong *values2, \
        __global const uchar *valid2, __global const uchar *bytes2, __global const ulong *values3, \
        __global const uchar *valid3, __global const uchar *bytes3
#define KEY_ARGS                                                                                   \
    key_count, key_info, values0, valid0, bytes0, values1, valid1, bytes1, values2, valid2,        \
        bytes2, values3, valid3, bytes3

/* murmur3's fmix64: every input bit reaches the high output bits, which pick the
 * destination. */
ulong mix64(ulong x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdUL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53UL;
    x ^= x >> 33;
    return x;
}

/* Equal doubles must hash equal: -0.0 becomes 0.0 and every NaN one NaN, by integer tests so
 * that no fp64 support is needed. */
ulong canonical_double(ulong bits) {
    if ((bits & 0x7fffffffffffffffUL) == 0)
        return 0;
    if ((bits & 0x7ff0000000000000UL) == 0x7ff0000000000000UL && (bits & 0x000fffffffffffffUL))
        return CANON_NAN;
    return bits;
}

/* FNV-1a over the bytes, started from the length, then mixed (FNV alone leaves the high bits
 * weak for short strings). */
ulong string_hash(__global const ulong *values, __global const uchar *bytes, uint row) {
    __global const int *offsets = (__global const int *)values;
    int start = offsets[row], end = offsets[row + 1];
    ulong h = 0xcbf29ce484222325UL ^ (ulong)(uint)(end - start);
    for (int i = start; i < end; i++)
        h = (h ^ bytes[i]) * 0x100000001b3UL;
    return mix64(h);
}

ulong key_part(uint info, __global const ulong *values, __global const uchar *valid,
               __global const uchar *bytes, uint row) {
    if ((info & KEY_HAS_VALIDITY) && !((valid[row >> 3] >> (row & 7)) & 1))
        return NULL_TAG;
    uint type = info & 3u;
    if (type == KEY_STRING)
        return string_hash(values, bytes, row);
    ulong v = values[row];
    return type == KEY_FLOAT64 ? canonical_double(v) : v;
}

/* Each part goes through mix64 before the next is folded in, so (a, b) and (b, a) differ. */
ulong row_hash(KEY_PARAMS, uint row) {
    ulong h = mix64(SHUFFLE_SEED ^ key_part(key_info, values0, valid0, bytes0, row));
    if (key_count > 1)
        h = mix64(h ^ key_part(key_info >> 4, values1, valid1, bytes1, row));
    if (key_count > 2)
        h = mix64(h ^ key_part(key_info >> 8, values2, valid2, bytes2, row));
    if (key_count > 3)
        h = mix64(h ^ key_part(key_info >> 12, values3, valid3, bytes3, row));
    return h;
}

/* Phase 1, one work-item per block of block_rows consecutive rows: each row's destination
 * into dest, and the block's count per destination into counts[d * blocks + b], a column no
 * other work-item touches. key_count 0 is round robin from rr_start = row_offset % n. Indexes
 * stay 32-bit: rows < 2^31 and n * blocks <= max(n, rows, 2^20) (the host sees to both). */
__kernel void shuffle_histogram(KEY_PARAMS, const uint rows, const uint block_rows,
                                const uint blocks, const uint n, const uint rr_start,
                                __global uint *counts, __global uint *dest) {
    uint b = get_global_id(0);
    if (b >= blocks)
        return;
    for (uint d = 0; d < n; d++)
        counts[d * blocks + b] = 0;
    uint begin = b * block_rows, end = min(begin + block_rows, rows);
    if (key_count == 0) {
        /* rr_start < n < 2^31 and begin < 2^31: the sum fits in a uint. */
        uint d = (rr_start + begin) % n;
        for (uint row = begin; row < end; row++) {
            dest[row] = d;
            counts[d * blocks + b]++;
            if (++d == n)
                d = 0;
        }
        return;
    }
    for (uint row = begin; row < end; row++) {
        ulong h = row_hash(KEY_ARGS, row);
        /* The high word of h * n: unbiased for any n, and no 64-bit division. */
        uint d = (uint)mul_hi(h, (ulong)n);
        dest[row] = d;
        counts[d * blocks + b]++;
    }
}

/* Phase 2, one work-group of any size: an exclusive scan of the total counts in place. Each
 * work-item scans a contiguous chunk serially, the chunk sums are scanned in local memory
 * (Hillis-Steele: any work-group size works), and the chunk offsets are added. The start of
 * each destination (entry d * blocks) is copied out for the host. */
__kernel void shuffle_prefix_sum(__global uint *counts, const uint total, const uint blocks,
                                 __global uint *dest_starts, __local uint *partial) {
    uint items = get_local_size(0), i = get_local_id(0);
    uint chunk = (total + items - 1) / items;
    uint begin = min(i * chunk, total), end = min(begin + chunk, total);
    uint sum = 0;
    for (uint j = begin; j < end; j++) {
        uint c = counts[j];
        counts[j] = sum;
        sum += c;
    }
    partial[i] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint offset = 1; offset < items; offset <<= 1) {
        uint add = i >= offset ? partial[i - offset] : 0;
        barrier(CLK_LOCAL_MEM_FENCE);
        partial[i] += add;
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    uint base = i > 0 ? partial[i - 1] : 0;
    for (uint j = begin; j < end; j++)
        counts[j] += base;
    for (uint j = (begin + blocks - 1) / blocks * blocks; j < end; j += blocks)
        dest_starts[j / blocks] = counts[j];
}

/* Phase 3, one work-item per block again: the block's rows in order, each written at its
 * (destination, block) cursor, so every destination keeps the input order (stable). */
__kernel void shuffle_scatter(const uint rows, const uint block_rows, const uint blocks,
                              __global const uint *dest, __global uint *cursor,
                              __global uint *order) {
    uint b = get_global_id(0);
    if (b >= blocks)
        return;
    uint begin = b * block_rows, end = min(begin + block_rows, rows);
    for (uint row = begin; row < end; row++)
        order[cursor[dest[row] * blocks + b]++] = row;
}
