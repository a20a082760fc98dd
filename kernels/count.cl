/* count.cl: counts the set bits of a partition's row mask (1 = the row is in the frame). The
 * host zeroes the bits past the last row, so the kernel needs no tail case and the bitmap's
 * byte order does not matter. Each work-group writes one partial sum. */
__kernel void count_rows(__global const uint *mask, const uint words, __global ulong *partials,
                         __local ulong *scratch) {
    const uint lid = get_local_id(0);
    const uint size = get_local_size(0);
    ulong sum = 0;
    for (uint w = get_global_id(0); w < words; w += get_global_size(0))
        sum += popcount(mask[w]);
    scratch[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint step = size / 2; step > 0; step /= 2) {
        if (lid < step)
            scratch[lid] += scratch[lid + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        partials[get_group_id(0)] = scratch[0];
}
