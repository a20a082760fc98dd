/* selftest.cl: the smallest useful kernel, so the device tests can prove that a build, an
 * upload, a launch and a download all work; also the sample the embedding is checked with. */
__kernel void selftest_scale_add(__global const int *in, __global int *out, int scale, int add,
                                 uint n) {
    size_t i = get_global_id(0);
    if (i < n)
        out[i] = in[i] * scale + add;
}
