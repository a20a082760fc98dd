/* pipeline.cl: the kernel template of a fused pipeline (host/ops/pipeline_device.c). The host
 * prepends generated code that defines, from the checked expressions:
 *   PIPELINE_PARAMS / PIPELINE_ARGS   the source columns the pipeline reads
 *   pipeline_keep(row ...)            1 when every filter condition is true (null: false)
 * and, for pipeline_project,
 *   PIPELINE_OUTPUTS, PIPELINE_OUT_PARAMS / PIPELINE_OUT_ARGS, pipeline_store(...),
 *   pipeline_store_validity(...)      the computed columns and where they go
 * and, for pipeline_reduce,
 *   PIPELINE_PARTIAL_WIDTH, pipeline_state, pipeline_init/update/write   the aggregates.
 * Nothing of the user's text is in the generated code (see host/plan/expr_codegen.c). */

#ifdef PIPELINE_PROJECT
/* One work-item per 8 rows, so each writes whole bytes of the keep and validity bitmaps and no
 * atomics are needed. A row that is filtered out is not computed. */
__kernel void pipeline_project(const ulong rows,
                               __global uchar *keep_bits PIPELINE_OUT_PARAMS PIPELINE_PARAMS) {
    const ulong g = get_global_id(0);
    const ulong first = g * 8;
    if (first >= rows)
        return;
    uchar keep = 0;
    uchar valid[PIPELINE_OUTPUTS + 1];
    for (int k = 0; k <= PIPELINE_OUTPUTS; k++)
        valid[k] = 0;
    for (uint b = 0; b < 8 && first + b < rows; b++) {
        const ulong row = first + b;
        if (pipeline_keep(row PIPELINE_ARGS)) {
            keep |= (uchar)(1u << b);
            pipeline_store(row, b, valid PIPELINE_OUT_ARGS PIPELINE_ARGS);
        }
    }
    keep_bits[g] = keep;
    pipeline_store_validity(g, valid PIPELINE_OUT_ARGS);
}
#endif

#ifdef PIPELINE_REDUCE
/* Each work-item folds rows g, g + items, g + 2 * items... (neighbouring work-items read
 * neighbouring rows) into its own partial; the host combines the partials in work-item order,
 * so a float sum is the same on every run and every device. */
__kernel void pipeline_reduce(const ulong rows, __global long *partials PIPELINE_PARAMS) {
    const ulong g = get_global_id(0);
    const ulong items = get_global_size(0);
    long count = 0;
    pipeline_state state;
    pipeline_init(&state);
    for (ulong row = g; row < rows; row += items) {
        if (!pipeline_keep(row PIPELINE_ARGS))
            continue;
        count++;
        pipeline_update(&state, row PIPELINE_ARGS);
    }
    __global long *out = partials + g * PIPELINE_PARTIAL_WIDTH;
    out[0] = count;
    pipeline_write(&state, out);
}
#endif
