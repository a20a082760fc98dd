/* pipeline_device.c: generating, compiling and running a pipeline's fused kernel (see
 * pipeline_device.h), and the host evaluator that stands in for devices without fp64. */
#include "ops/pipeline_device.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/text.h"
#include "data/column_build.h"
#include "device/buffer.h"
#include "device/kernels.h"

struct ember_pipeline_program {
    const ember_pipeline *pipeline;
    bool reduce;
    bool needs_fp64;
    bool force_host;
    char *source; /* generated code + template, NUL-terminated */
    size_t source_len;
    int output_count;
    int *outputs;                    /* [output_count]: the top columns the kernel computes */
    const ember_expr **output_exprs; /* [output_count] */
    ember_expr **owned_exprs;        /* column expressions made for range pass-throughs */
    bool *wanted;                    /* [column_count] (project) */
    int agg_count;
    ember_reduce_agg *aggs;
    bool *used; /* [source columns]: read by the kernel (of the group being generated) */
    /* The outputs split so each kernel's parameters fit the smallest budget OpenCL allows. */
    int group_count;
    struct kernel_group *groups;
    bool host_only; /* even one output's parameters do not fit: the host evaluator runs it */
};

/* One kernel of a pipeline: outputs [first, end) and the source columns they and the filters
 * read. */
typedef struct kernel_group {
    char *source;
    size_t source_len;
    bool *used;
    int first, end;
} kernel_group;

/* CL_DEVICE_MAX_PARAMETER_SIZE is at least this on every OpenCL 1.2 device; pointers are taken
 * as 8 bytes. A pipeline whose kernel would need more is split, never sent to fail. */
#define PARAMETER_BUDGET 1024

/* ---------------------------------------------------------------------------------------
 * Code generation.
 * ------------------------------------------------------------------------------------- */

static void put_bytes(ember_text *t, const char *bytes, size_t len) {
    ember_text_printf(t, "%.*s", (int)len, bytes);
}

static int generated_column(const ember_pipeline *pipeline) {
    return pipeline->source->kind == EMBER_FRAME_RANGE && !pipeline->source->cache ? 0 : -1;
}

/* One expression as function NAME, appended to t. */
static ember_status put_expression(ember_text *t, const ember_pipeline_program *program,
                                   const ember_expr *expr, const char *name, ember_error *err) {
    char *code = NULL;
    size_t len = 0;
    ember_status status =
        ember_expr_codegen_range(expr, name, generated_column(program->pipeline), &code, &len, err);
    if (status == EMBER_OK)
        put_bytes(t, code, len);
    ember_free(code);
    return status;
}

/* The kernel's source column parameters (or arguments): the union of what the expressions
 * read, with the names and types expr_codegen uses. */
static void put_columns(ember_text *t, const ember_pipeline_program *program, bool params) {
    const ember_schema *schema = program->pipeline->source_schema;
    int generated = generated_column(program->pipeline);
    for (int c = 0; c < schema->count; c++) {
        if (!program->used[c])
            continue;
        if (c == generated)
            ember_text_printf(t,
                              params ? " , const long ember_range_start" : " , ember_range_start");
        else if (schema->types[c] == EMBER_TYPE_STRING)
            ember_text_printf(
                t,
                params ? " , __global const int *col%d_offsets, __global const uchar *col%d_bytes, "
                         "__global const uchar *col%d_validity"
                       : " , col%d_offsets, col%d_bytes, col%d_validity",
                c, c, c);
        else if (params)
            ember_text_printf(
                t, " , __global const %s *col%d_values, __global const uchar *col%d_validity",
                schema->types[c] == EMBER_TYPE_FLOAT64 ? "double" : "long", c, c);
        else
            ember_text_printf(t, " , col%d_values, col%d_validity", c, c);
    }
}

static const char *c_type(ember_value_type type) {
    return type == EMBER_VALUE_FLOAT64 ? "double" : "long";
}

static void put_project(ember_text *t, const ember_pipeline_program *program) {
    ember_text_printf(t, "#define PIPELINE_OUTPUTS %d\n#define PIPELINE_OUT_PARAMS",
                      program->output_count);
    for (int k = 0; k < program->output_count; k++)
        ember_text_printf(t, " , __global %s *out%d_values, __global uchar *out%d_validity",
                          c_type(ember_expr_type(program->output_exprs[k])), k, k);
    ember_text_printf(t, "\n#define PIPELINE_OUT_ARGS");
    for (int k = 0; k < program->output_count; k++)
        ember_text_printf(t, " , out%d_values, out%d_validity", k, k);
    ember_text_printf(
        t, "\nstatic inline void pipeline_store(const ulong row, const uint bit, uchar *valid "
           "PIPELINE_OUT_PARAMS PIPELINE_PARAMS) {\n");
    for (int k = 0; k < program->output_count; k++)
        ember_text_printf(
            t,
            "    { out%d_VALUE v; int n; out%d(row, &v, &n out%d_ARGS); out%d_values[row] = v; "
            "valid[%d] |= (uchar)((n ? 0u : 1u) << bit); }\n",
            k, k, k, k, k);
    ember_text_printf(
        t, "}\nstatic inline void pipeline_store_validity(const ulong g, const uchar *valid "
           "PIPELINE_OUT_PARAMS) {\n");
    for (int k = 0; k < program->output_count; k++)
        ember_text_printf(t, "    out%d_validity[g] = valid[%d];\n", k, k);
    ember_text_printf(t, "}\n");
}

static bool agg_is_float(const ember_reduce_agg *agg) {
    return agg->op != EMBER_AGG_OP_COUNT && ember_expr_type(agg->input) == EMBER_VALUE_FLOAT64;
}

static void put_reduce(ember_text *t, const ember_pipeline_program *program) {
    int aggs = program->agg_count;
    ember_text_printf(
        t, "#define PIPELINE_PARTIAL_WIDTH %d\ntypedef struct pipeline_state {\n    long unused;\n",
        1 + 3 * aggs);
    for (int a = 0; a < aggs; a++) {
        ember_text_printf(t, "    long c%d, a%d, b%d;\n", a, a, a);
        if (agg_is_float(&program->aggs[a]))
            ember_text_printf(t, "    double f%d;\n", a);
    }
    ember_text_printf(t,
                      "} pipeline_state;\nstatic inline void pipeline_init(pipeline_state *s) {\n"
                      "    s->unused = 0;\n");
    for (int a = 0; a < aggs; a++) {
        ember_text_printf(t, "    s->c%d = 0; s->a%d = 0; s->b%d = 0;\n", a, a, a);
        if (agg_is_float(&program->aggs[a]))
            ember_text_printf(t, "    s->f%d = 0.0;\n", a);
    }
    ember_text_printf(t, "}\nstatic inline void pipeline_update(pipeline_state *s, const ulong row "
                         "PIPELINE_PARAMS) {\n");
    for (int a = 0; a < aggs; a++) {
        const ember_reduce_agg *agg = &program->aggs[a];
        ember_text_printf(
            t,
            "    { agg%d_VALUE v; int n; agg%d(row, &v, &n agg%d_ARGS);\n      if (!n) {\n"
            "        s->c%d++;\n",
            a, a, a, a);
        bool is_float = agg_is_float(agg);
        switch (agg->op) {
        case EMBER_AGG_OP_SUM:
            if (is_float)
                ember_text_printf(t, "        s->f%d += v;\n", a);
            else /* 128 bits: lo in a, hi in b, so no sum of int64 can wrap */
                ember_text_printf(t,
                                  "        const ulong lo = (ulong)s->a%d, sum = lo + (ulong)v;\n"
                                  "        s->b%d += (v < 0 ? -1L : 0L) + (sum < lo ? 1L : 0L);\n"
                                  "        s->a%d = (long)sum;\n",
                                  a, a, a);
            break;
        case EMBER_AGG_OP_MIN:
        case EMBER_AGG_OP_MAX: {
            const char *cmp = agg->op == EMBER_AGG_OP_MIN ? "<" : ">";
            if (is_float)
                ember_text_printf(
                    t,
                    "        if (s->c%d == 1 || ember_expr_compare_f64(v, s->f%d) %s 0)\n"
                    "            s->f%d = v;\n",
                    a, a, cmp, a);
            else
                ember_text_printf(
                    t, "        if (s->c%d == 1 || v %s s->a%d)\n            s->a%d = v;\n", a, cmp,
                    a, a);
            break;
        }
        default:
            break;
        }
        ember_text_printf(t, "      }\n    }\n");
    }
    ember_text_printf(
        t, "}\nstatic inline void pipeline_write(const pipeline_state *s, __global long *out) {\n");
    for (int a = 0; a < aggs; a++) {
        ember_text_printf(t, "    out[%d] = s->c%d; out[%d] = s->b%d;\n", 1 + 3 * a, a, 3 + 3 * a,
                          a);
        if (agg_is_float(&program->aggs[a]))
            ember_text_printf(t, "    out[%d] = as_long(s->f%d);\n", 2 + 3 * a, a);
        else
            ember_text_printf(t, "    out[%d] = s->a%d;\n", 2 + 3 * a, a);
    }
    ember_text_printf(t, "}\n");
}

static ember_status generate(ember_pipeline_program *program, ember_error *err) {
    const ember_pipeline *pipeline = program->pipeline;
    ember_text t = {0};
    ember_status status = EMBER_OK;
    ember_text_printf(&t, "#define %s\n", program->reduce ? "PIPELINE_REDUCE" : "PIPELINE_PROJECT");
    char name[32];
    for (int i = 0; status == EMBER_OK && i < pipeline->predicate_count; i++) {
        snprintf(name, sizeof name, "pred%d", i);
        status = put_expression(&t, program, pipeline->predicates[i], name, err);
    }
    for (int k = 0; status == EMBER_OK && k < program->output_count; k++) {
        snprintf(name, sizeof name, "out%d", k);
        status = put_expression(&t, program, program->output_exprs[k], name, err);
    }
    for (int a = 0; status == EMBER_OK && a < program->agg_count; a++) {
        snprintf(name, sizeof name, "agg%d", a);
        status = put_expression(&t, program, program->aggs[a].input, name, err);
    }
    if (status != EMBER_OK) {
        ember_free(t.buf);
        return status;
    }
    ember_text_printf(&t, "#define PIPELINE_PARAMS");
    put_columns(&t, program, true);
    ember_text_printf(&t, "\n#define PIPELINE_ARGS");
    put_columns(&t, program, false);
    ember_text_printf(&t, "\nstatic inline int pipeline_keep(const ulong row PIPELINE_PARAMS) {\n");
    for (int i = 0; i < pipeline->predicate_count; i++)
        ember_text_printf(&t,
                          "    { pred%d_VALUE v; int n; pred%d(row, &v, &n pred%d_ARGS);\n"
                          "      if (n || !v)\n        return 0; }\n",
                          i, i, i);
    ember_text_printf(&t, "    return 1;\n}\n");
    if (program->reduce)
        put_reduce(&t, program);
    else
        put_project(&t, program);
    size_t template_len = 0;
    const char *template = ember_kernel_source("pipeline", &template_len);
    put_bytes(&t, template, template_len);
    if (t.failed) {
        ember_free(t.buf);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory generating a kernel");
    }
    program->source = t.buf;
    program->source_len = t.length;
    return EMBER_OK;
}

static size_t column_cost(const ember_pipeline_program *program, int c) {
    if (c == generated_column(program->pipeline))
        return 8;
    return program->pipeline->source_schema->types[c] == EMBER_TYPE_STRING ? 24 : 16;
}

static size_t used_cost(const ember_pipeline_program *program, const bool *used) {
    size_t cost = 16; /* rows, and the keep bitmap or the partials */
    for (int c = 0; c < program->pipeline->source_schema->count; c++)
        cost += used[c] ? column_cost(program, c) : 0;
    return cost;
}

/* Generates the kernel of outputs [first, end) (all aggregates for a reduce) into group. */
static ember_status generate_group(ember_pipeline_program *program, const bool *base, int first,
                                   int end, kernel_group *group, ember_error *err) {
    int columns = program->pipeline->source_schema->count;
    group->first = first;
    group->end = end;
    group->used = ember_calloc((size_t)columns + 1, sizeof(bool));
    if (!group->used)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    memcpy(group->used, base, (size_t)columns * sizeof(bool));
    for (int k = first; k < end; k++)
        for (int c = 0; c < columns; c++)
            group->used[c] |= ember_expr_uses_column(program->output_exprs[k], c);
    ember_pipeline_program view = *program;
    view.used = group->used;
    view.output_count = end - first;
    view.outputs = program->outputs + first;
    view.output_exprs = program->output_exprs + first;
    view.source = NULL;
    ember_status status = generate(&view, err);
    group->source = view.source;
    group->source_len = view.source_len;
    return status;
}

/* Cuts the outputs into kernels that fit PARAMETER_BUDGET and generates each. */
static ember_status generate_groups(ember_pipeline_program *program, ember_error *err) {
    int columns = program->pipeline->source_schema->count;
    int outputs = program->output_count;
    program->groups = ember_calloc((size_t)outputs + 1, sizeof *program->groups);
    bool *base = ember_calloc((size_t)columns + 1, sizeof(bool));
    bool *trial = ember_calloc((size_t)columns + 1, sizeof(bool));
    ember_status status = EMBER_OK;
    if (!program->groups || !base || !trial) {
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    /* base: what every kernel of the pipeline reads (the filters; a reduce's aggregates) */
    const ember_pipeline *pipeline = program->pipeline;
    for (int i = 0; i < pipeline->predicate_count; i++)
        for (int c = 0; c < columns; c++)
            base[c] |= ember_expr_uses_column(pipeline->predicates[i], c);
    for (int a = 0; a < program->agg_count; a++)
        for (int c = 0; c < columns; c++)
            base[c] |= ember_expr_uses_column(program->aggs[a].input, c);
    int first = 0;
    memcpy(trial, base, (size_t)columns * sizeof(bool));
    for (int k = 0; k < outputs; k++) {
        bool *with = ember_calloc((size_t)columns + 1, sizeof(bool));
        if (!with) {
            status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        for (int c = 0; c < columns; c++)
            with[c] = trial[c] || ember_expr_uses_column(program->output_exprs[k], c);
        bool fits = used_cost(program, with) + 16 * (size_t)(k - first + 1) <= PARAMETER_BUDGET;
        if (!fits && k > first) {
            status = generate_group(program, base, first, k, &program->groups[program->group_count],
                                    err);
            program->group_count++;
            if (status != EMBER_OK) {
                ember_free(with);
                goto done;
            }
            first = k;
            for (int c = 0; c < columns; c++)
                with[c] = base[c] || ember_expr_uses_column(program->output_exprs[k], c);
            fits = used_cost(program, with) + 16 <= PARAMETER_BUDGET;
        }
        memcpy(trial, with, (size_t)columns * sizeof(bool));
        ember_free(with);
        if (!fits) {
            program->host_only = true;
            goto done;
        }
    }
    if (used_cost(program, trial) + 16 * (size_t)(outputs - first) > PARAMETER_BUDGET) {
        program->host_only = true;
        goto done;
    }
    status =
        generate_group(program, base, first, outputs, &program->groups[program->group_count], err);
    program->group_count++;
done:
    ember_free(base);
    ember_free(trial);
    return status;
}

void ember_pipeline_program_free(ember_pipeline_program *program) {
    if (!program)
        return;
    for (int g = 0; g < program->group_count; g++) {
        ember_free(program->groups[g].source);
        ember_free(program->groups[g].used);
    }
    ember_free(program->groups);
    for (int k = 0; program->owned_exprs && k < program->output_count; k++)
        ember_expr_free(program->owned_exprs[k]);
    ember_free(program->owned_exprs);
    ember_free(program->outputs);
    ember_free(program->output_exprs);
    ember_free(program->wanted);
    ember_free(program->aggs);
    ember_free(program->used);
    ember_free(program);
}

static void mark_used(ember_pipeline_program *program, const ember_expr *expr) {
    const ember_schema *schema = program->pipeline->source_schema;
    for (int c = 0; c < schema->count; c++)
        program->used[c] |= ember_expr_uses_column(expr, c);
    program->needs_fp64 |= ember_expr_needs_fp64(expr);
}

ember_status ember_pipeline_program_create(const ember_pipeline *pipeline, const bool *wanted,
                                           const ember_reduce_agg *aggs, int agg_count,
                                           bool force_host, ember_pipeline_program **out,
                                           ember_error *err) {
    *out = NULL;
    ember_pipeline_program *program = ember_calloc(1, sizeof *program);
    int columns = pipeline->column_count;
    if (!program)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    program->pipeline = pipeline;
    program->reduce = !wanted;
    program->force_host = force_host;
    program->agg_count = agg_count;
    program->used = ember_calloc((size_t)pipeline->source_schema->count + 1, sizeof(bool));
    program->wanted = ember_calloc((size_t)columns + 1, sizeof(bool));
    program->outputs = ember_calloc((size_t)columns + 1, sizeof(int));
    program->output_exprs = ember_calloc((size_t)columns + 1, sizeof(ember_expr *));
    program->owned_exprs = ember_calloc((size_t)columns + 1, sizeof(ember_expr *));
    program->aggs = ember_calloc((size_t)agg_count + 1, sizeof *program->aggs);
    ember_status status = EMBER_OK;
    if (!program->used || !program->wanted || !program->outputs || !program->output_exprs ||
        !program->owned_exprs || !program->aggs) {
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int i = 0; i < pipeline->predicate_count; i++)
        mark_used(program, pipeline->predicates[i]);
    for (int a = 0; a < agg_count; a++) {
        program->aggs[a] = aggs[a];
        mark_used(program, aggs[a].input);
        program->needs_fp64 |= agg_is_float(&aggs[a]);
    }
    bool range = generated_column(pipeline) >= 0;
    for (int c = 0; wanted && c < columns; c++) {
        program->wanted[c] = wanted[c];
        if (!wanted[c])
            continue;
        const ember_expr *expr = pipeline->computed[c];
        if (!expr && range) { /* range values exist only where a kernel computes them */
            status = ember_expr_column(pipeline->source_schema, pipeline->source_column[c],
                                       &program->owned_exprs[program->output_count], err);
            if (status != EMBER_OK)
                goto done;
            expr = program->owned_exprs[program->output_count];
        }
        if (!expr)
            continue;
        program->outputs[program->output_count] = c;
        program->output_exprs[program->output_count++] = expr;
        mark_used(program, expr);
    }
    status = generate_groups(program, err);
done:
    if (status != EMBER_OK)
        ember_pipeline_program_free(program);
    else
        *out = program;
    return status;
}

/* ---------------------------------------------------------------------------------------
 * Running the kernel.
 * ------------------------------------------------------------------------------------- */

static bool on_host(const ember_pipeline_program *program, const ember_worker *worker) {
    return program->force_host || program->host_only || (program->needs_fp64 && !worker->info.fp64);
}

/* A buffer for host data of a source column (zero-copy on CPU devices). */
static ember_status column_buffer(const ember_task *task, void *host, size_t bytes, int column,
                                  int which, cl_mem *out, bool *owned, ember_error *err) {
    *owned = false;
    *out = NULL;
    if (task->buffers && task->buffers[3 * column + which]) {
        *out = task->buffers[3 * column + which];
        return EMBER_OK;
    }
    if (!host)
        return EMBER_OK; /* no validity bitmap: a NULL argument (every row valid) */
    *owned = true;
    return ember_buffer_from_host(task->worker, task->queue, host, bytes, out, err);
}

typedef struct kernel_run {
    cl_kernel kernel;
    cl_mem buffers[64 * 3 + 8];
    bool owned[64 * 3 + 8];
    int buffer_count;
    cl_uint arg;
} kernel_run;

static void run_release(kernel_run *run) {
    for (int i = 0; i < run->buffer_count; i++)
        if (run->owned[i] && run->buffers[i])
            clReleaseMemObject(run->buffers[i]);
    if (run->kernel)
        clReleaseKernel(run->kernel);
}

static ember_status set_buffer(kernel_run *run, cl_mem buffer, bool owned, ember_error *err) {
    if (run->buffer_count >= (int)(sizeof run->buffers / sizeof run->buffers[0])) {
        if (owned)
            clReleaseMemObject(buffer);
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "pipeline: too many columns for one kernel");
    }
    run->buffers[run->buffer_count] = buffer;
    run->owned[run->buffer_count++] = owned;
    cl_int rc = clSetKernelArg(run->kernel, run->arg++, sizeof(cl_mem), buffer ? &buffer : NULL);
    return rc == CL_SUCCESS ? EMBER_OK : ember_cl_fail(err, rc, "clSetKernelArg(pipeline)");
}

static ember_status set_source_columns(kernel_run *run, const ember_pipeline_program *program,
                                       const kernel_group *group, const ember_task *task,
                                       ember_error *err) {
    const ember_schema *schema = program->pipeline->source_schema;
    int generated = generated_column(program->pipeline);
    const ember_partition *part = task->partition;
    ember_status status = EMBER_OK;
    for (int c = 0; status == EMBER_OK && c < schema->count; c++) {
        if (!group->used[c])
            continue;
        if (c == generated) {
            cl_long start = task->range_start;
            cl_int rc = clSetKernelArg(run->kernel, run->arg++, sizeof start, &start);
            if (rc != CL_SUCCESS)
                return ember_cl_fail(err, rc, "clSetKernelArg(pipeline)");
            continue;
        }
        ember_column *column = &part->columns[c];
        bool string = column->type == EMBER_TYPE_STRING;
        size_t values = (size_t)(column->length + string) * (string ? 4 : 8);
        cl_mem buffer;
        bool owned;
        status = column_buffer(task, column->values, values, c, 0, &buffer, &owned, err);
        if (status == EMBER_OK)
            status = set_buffer(run, buffer, owned, err);
        if (status == EMBER_OK && string) {
            status = column_buffer(task, column->bytes, (size_t)column->bytes_len, c, 2, &buffer,
                                   &owned, err);
            if (status == EMBER_OK && !buffer) /* no bytes at all: still a valid buffer */
                status = ember_buffer_create(task->worker, 1, &buffer, err), owned = true;
            if (status == EMBER_OK)
                status = set_buffer(run, buffer, owned, err);
        }
        if (status == EMBER_OK)
            status = column_buffer(task, column->validity, (size_t)(column->length + 7) / 8, c, 1,
                                   &buffer, &owned, err);
        if (status == EMBER_OK)
            status = set_buffer(run, buffer, owned, err);
    }
    return status;
}

static ember_status kernel_start(kernel_run *run, const kernel_group *group,
                                 ember_program_cache *cache, const ember_task *task,
                                 const char *name, ember_error *err) {
    cl_program built;
    ember_status status =
        /* -w: generated code may hold constant conditions (a literal `true`) that compilers
         * warn about; the warnings would only reach the user's terminal. */
        ember_program_get(cache, task->worker, group->source, group->source_len, "-w", &built, err);
    if (status != EMBER_OK)
        return status;
    cl_int rc = CL_SUCCESS;
    run->kernel = clCreateKernel(built, name, &rc);
    if (rc != CL_SUCCESS)
        return ember_cl_fail(err, rc, "clCreateKernel(pipeline)");
    return EMBER_OK;
}

static ember_status kernel_go(kernel_run *run, const ember_task *task, size_t global,
                              ember_error *err) {
    if (global == 0)
        return EMBER_OK;
    cl_int rc =
        clEnqueueNDRangeKernel(task->queue, run->kernel, 1, NULL, &global, NULL, 0, NULL, NULL);
    return rc == CL_SUCCESS ? EMBER_OK : ember_cl_fail(err, rc, "clEnqueueNDRangeKernel(pipeline)");
}

static ember_status read_back(const ember_task *task, cl_mem buffer, void *host, size_t bytes,
                              ember_error *err) {
    if (bytes == 0)
        return EMBER_OK;
    cl_int rc = clEnqueueReadBuffer(task->queue, buffer, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    return rc == CL_SUCCESS ? EMBER_OK : ember_cl_fail(err, rc, "clEnqueueReadBuffer(pipeline)");
}

/* ---------------------------------------------------------------------------------------
 * Reduce.
 * ------------------------------------------------------------------------------------- */

/* Work-items of a reduce: from the rows only, so float sums add in the same order anywhere. */
static size_t reduce_items(int64_t rows) {
    int64_t items = rows / 512;
    return (size_t)(items < 1 ? 1 : items > 4096 ? 4096 : items);
}

static void fold(const ember_reduce_agg *agg, ember_reduce_value *value, const long long *slot) {
    int64_t count = slot[0];
    if (count == 0)
        return;
    bool is_float = agg_is_float(agg);
    double f;
    memcpy(&f, &slot[1], sizeof f);
    int64_t first = value->count;
    value->count += count;
    switch (agg->op) {
    case EMBER_AGG_OP_SUM:
        if (is_float)
            value->float_value += f;
        else
            value->int_sum +=
                (__int128)(((unsigned __int128)(uint64_t)slot[2] << 64) | (uint64_t)slot[1]);
        break;
    case EMBER_AGG_OP_MIN:
    case EMBER_AGG_OP_MAX: {
        int sign = agg->op == EMBER_AGG_OP_MIN ? -1 : 1;
        if (is_float) {
            if (first == 0 || ember_expr_compare_float64(f, value->float_value) == sign)
                value->float_value = f;
        } else if (first == 0 ||
                   (sign < 0 ? slot[1] < value->int_value : slot[1] > value->int_value)) {
            value->int_value = slot[1];
        }
        break;
    }
    default:
        break;
    }
}

/* The host evaluator's reduce: the same rules as the kernel, one row at a time. */
static void host_reduce(const ember_pipeline_program *program, const ember_column *columns,
                        int64_t rows, int64_t *kept, ember_reduce_value *values) {
    const ember_pipeline *pipeline = program->pipeline;
    for (int64_t row = 0; row < rows; row++) {
        bool keep = true;
        ember_expr_value v;
        for (int i = 0; keep && i < pipeline->predicate_count; i++) {
            ember_expr_eval(pipeline->predicates[i], columns, row, &v);
            keep = !v.is_null && v.int_value;
        }
        if (!keep)
            continue;
        (*kept)++;
        for (int a = 0; a < program->agg_count; a++) {
            ember_expr_eval(program->aggs[a].input, columns, row, &v);
            if (v.is_null)
                continue;
            long long slot[3] = {1, 0, 0};
            if (v.type == EMBER_VALUE_FLOAT64)
                memcpy(&slot[1], &v.float_value, sizeof v.float_value);
            else
                slot[1] = v.int_value, slot[2] = v.int_value < 0 ? -1 : 0;
            fold(&program->aggs[a], &values[a], slot);
        }
    }
}

/* range() values of a slice as a host column, for the host evaluator. */
static ember_status range_column(const ember_task *task, ember_column *out, ember_error *err) {
    int64_t rows = task->partition->rows;
    if (!ember_column_init(out, EMBER_TYPE_INT64, rows))
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int64_t r = 0; r < rows; r++)
        ((int64_t *)out->values)[r] = (int64_t)((uint64_t)task->range_start + (uint64_t)r);
    out->length = rows;
    return EMBER_OK;
}

/* The source columns as the host evaluator reads them (range values made up). */
static ember_status host_columns(const ember_pipeline_program *program, const ember_task *task,
                                 ember_column *range, const ember_column **columns,
                                 ember_error *err) {
    *columns = task->partition->columns;
    if (generated_column(program->pipeline) < 0)
        return EMBER_OK;
    ember_status status = range_column(task, range, err);
    *columns = range;
    return status;
}

ember_status ember_pipeline_reduce(ember_pipeline_program *program, ember_program_cache *cache,
                                   const ember_task *task, int64_t *rows,
                                   ember_reduce_value *values, ember_error *err) {
    int64_t n = task->partition->rows;
    *rows = 0;
    if (program->agg_count)
        memset(values, 0, sizeof *values * (size_t)program->agg_count);
    if (n == 0)
        return EMBER_OK;
    if (on_host(program, task->worker)) {
        ember_column range = {0};
        const ember_column *columns;
        ember_status status = host_columns(program, task, &range, &columns, err);
        if (status == EMBER_OK)
            host_reduce(program, columns, n, rows, values);
        ember_column_clear(&range);
        return status;
    }
    kernel_run run = {0};
    size_t items = reduce_items(n);
    size_t width = 1 + 3 * (size_t)program->agg_count;
    long long *partials = ember_malloc(items * width * sizeof *partials);
    cl_mem out = NULL;
    ember_status status =
        partials ? EMBER_OK : ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    if (status == EMBER_OK)
        status = kernel_start(&run, &program->groups[0], cache, task, "pipeline_reduce", err);
    cl_ulong row_count = (cl_ulong)n;
    if (status == EMBER_OK) {
        cl_int rc = clSetKernelArg(run.kernel, run.arg++, sizeof row_count, &row_count);
        if (rc != CL_SUCCESS)
            status = ember_cl_fail(err, rc, "clSetKernelArg(pipeline)");
    }
    if (status == EMBER_OK)
        status = ember_buffer_create(task->worker, items * width * sizeof *partials, &out, err);
    if (status == EMBER_OK)
        status = set_buffer(&run, out, true, err);
    if (status == EMBER_OK)
        status = set_source_columns(&run, program, &program->groups[0], task, err);
    if (status == EMBER_OK)
        status = kernel_go(&run, task, items, err);
    if (status == EMBER_OK)
        status = read_back(task, out, partials, items * width * sizeof *partials, err);
    for (size_t g = 0; status == EMBER_OK && g < items; g++) {
        const long long *slot = partials + g * width;
        *rows += slot[0];
        for (int a = 0; a < program->agg_count; a++)
            fold(&program->aggs[a], &values[a], slot + 1 + 3 * a);
    }
    if (!run.kernel && out)
        clReleaseMemObject(out);
    run_release(&run);
    ember_free(partials);
    return status;
}

/* ---------------------------------------------------------------------------------------
 * Project.
 * ------------------------------------------------------------------------------------- */

/* Copies src into a fresh column (the source stays with its owner). */
static bool column_copy(ember_column *column, const ember_column *src) {
    if (!ember_column_init(column, src->type, src->length))
        return false;
    bool too_big = false;
    for (int64_t r = 0; r < src->length; r++)
        if (!ember_column_append_from(column, src, r, &too_big))
            return false;
    return true;
}

/* A computed column from the kernel's values (int64/float64/bool, or string references) and
 * validity bitmap; rows the filters dropped are left as they are (compacted later). */
static bool computed_column(ember_column *column, const ember_expr *expr, const ember_column *src,
                            int64_t *values, uint8_t *validity, int64_t rows, bool *too_big) {
    ember_value_type type = ember_expr_type(expr);
    if (type != EMBER_VALUE_STRING) {
        memset(column, 0, sizeof *column);
        column->type = (ember_type)type;
        column->loaded = true;
        column->length = column->capacity = rows;
        column->values = values;
        column->validity = validity;
        for (int64_t r = 0; r < rows; r++)
            column->null_count += !ember_column_is_valid(column, r);
        if (column->null_count == 0) {
            column->validity = NULL;
            ember_free_aligned(validity);
        }
        return true;
    }
    bool ok = ember_column_init(column, EMBER_TYPE_STRING, rows);
    for (int64_t r = 0; ok && r < rows; r++) {
        if (!((validity[r >> 3] >> (r & 7)) & 1)) {
            ok = ember_column_append_null(column);
            continue;
        }
        int64_t ref = values[r];
        int32_t len;
        const char *bytes = ref >= 0 ? ember_column_string(&src[ref], r, &len)
                                     : ember_expr_string_literal(expr, (int)(-ref - 1), &len);
        ok = ember_column_append_string(column, bytes, (size_t)len, too_big);
    }
    ember_free_aligned(values);
    ember_free_aligned(validity);
    return ok;
}

/* Keeps the rows whose keep bit is set, in every loaded column of part. */
static bool compact(ember_partition *part, const uint8_t *keep, int64_t rows, bool *too_big) {
    int64_t kept = 0;
    int64_t *index = ember_malloc(sizeof *index * (size_t)(rows + 1));
    if (!index)
        return false;
    for (int64_t r = 0; r < rows; r++)
        if ((keep[r >> 3] >> (r & 7)) & 1)
            index[kept++] = r;
    bool ok = true;
    for (int c = 0; ok && kept < rows && c < part->column_count; c++) {
        ember_column *column = &part->columns[c];
        if (!column->loaded)
            continue;
        ember_column fresh;
        ok = ember_column_init(&fresh, column->type, kept) &&
             ember_column_gather(&fresh, column, index, kept, too_big);
        ember_column_clear(column);
        *column = fresh; /* even half built: the partition frees it */
    }
    part->rows = kept;
    ember_free(index);
    return ok;
}

/* The host evaluator's project: keep bits, then each output column for every row (null where
 * a row is dropped; compact removes those). */
static bool host_project(const ember_pipeline_program *program, const ember_column *src,
                         int64_t rows, uint8_t *keep, ember_partition *out, bool *too_big) {
    const ember_pipeline *pipeline = program->pipeline;
    ember_expr_value v;
    for (int64_t row = 0; row < rows; row++) {
        bool k = true;
        for (int i = 0; k && i < pipeline->predicate_count; i++) {
            ember_expr_eval(pipeline->predicates[i], src, row, &v);
            k = !v.is_null && v.int_value;
        }
        if (k)
            keep[row >> 3] |= (uint8_t)(1u << (row & 7));
    }
    for (int o = 0; o < program->output_count; o++) {
        const ember_expr *expr = program->output_exprs[o];
        ember_column *column = &out->columns[program->outputs[o]];
        if (!ember_column_init(column, (ember_type)ember_expr_type(expr), rows))
            return false;
        for (int64_t row = 0; row < rows; row++) {
            bool ok;
            if (!((keep[row >> 3] >> (row & 7)) & 1)) {
                ok = ember_column_append_null(column);
            } else {
                ember_expr_eval(expr, src, row, &v);
                if (v.is_null)
                    ok = ember_column_append_null(column);
                else if (v.type == EMBER_VALUE_FLOAT64)
                    ok = ember_column_append_float64(column, v.float_value);
                else if (v.type == EMBER_VALUE_STRING)
                    ok = ember_column_append_string(column, v.string, (size_t)v.string_length,
                                                    too_big);
                else
                    ok = ember_column_append_int64(column, v.int_value);
            }
            if (!ok)
                return false;
        }
    }
    return true;
}

/* One kernel of the project: keep bits (read by the first group only) and the group's outputs
 * into values / validity. */
static ember_status run_group(const kernel_group *group, ember_program_cache *cache,
                              const ember_pipeline_program *program, const ember_task *task,
                              uint8_t *keep, int64_t **values, uint8_t **validity,
                              ember_error *err) {
    int64_t rows = task->partition->rows;
    size_t bytes = (size_t)(rows + 7) / 8;
    kernel_run run = {0};
    cl_ulong row_count = (cl_ulong)rows;
    cl_mem keep_buffer = NULL;
    cl_mem outputs[2 * (PARAMETER_BUDGET / 16)];
    int count = group->end - group->first;
    ember_status status = kernel_start(&run, group, cache, task, "pipeline_project", err);
    if (status == EMBER_OK) {
        cl_int rc = clSetKernelArg(run.kernel, run.arg++, sizeof row_count, &row_count);
        if (rc != CL_SUCCESS)
            status = ember_cl_fail(err, rc, "clSetKernelArg(pipeline)");
    }
    if (status == EMBER_OK &&
        (status = ember_buffer_create(task->worker, bytes, &keep_buffer, err)) == EMBER_OK)
        status = set_buffer(&run, keep_buffer, true, err);
    for (int o = 0; status == EMBER_OK && o < 2 * count; o++) {
        status =
            ember_buffer_create(task->worker, o % 2 ? bytes : (size_t)rows * 8, &outputs[o], err);
        if (status == EMBER_OK)
            status = set_buffer(&run, outputs[o], true, err);
    }
    if (status == EMBER_OK)
        status = set_source_columns(&run, program, group, task, err);
    if (status == EMBER_OK)
        status = kernel_go(&run, task, bytes, err);
    if (status == EMBER_OK && group->first == 0)
        status = read_back(task, keep_buffer, keep, bytes, err);
    for (int o = 0; status == EMBER_OK && o < count; o++) {
        status = read_back(task, outputs[2 * o], values[group->first + o], (size_t)rows * 8, err);
        if (status == EMBER_OK)
            status = read_back(task, outputs[2 * o + 1], validity[group->first + o], bytes, err);
    }
    run_release(&run); /* the buffers were handed to it */
    return status;
}

/* Runs the project kernels: keep bits and the computed columns into out. */
static ember_status device_project(ember_pipeline_program *program, ember_program_cache *cache,
                                   const ember_task *task, uint8_t *keep, ember_partition *out,
                                   bool *too_big, ember_error *err) {
    int64_t rows = task->partition->rows;
    size_t bytes = (size_t)(rows + 7) / 8;
    int outputs = program->output_count;
    int64_t **values = ember_calloc((size_t)outputs + 1, sizeof *values);
    uint8_t **validity = ember_calloc((size_t)outputs + 1, sizeof *validity);
    ember_status status = EMBER_OK;
    if (!values || !validity) {
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int o = 0; o < outputs; o++) {
        values[o] = ember_malloc_aligned((size_t)rows * 8);
        validity[o] = ember_malloc_aligned(bytes);
        if (!values[o] || !validity[o]) {
            status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
    }
    for (int g = 0; status == EMBER_OK && g < program->group_count; g++)
        status = run_group(&program->groups[g], cache, program, task, keep, values, validity, err);
    for (int o = 0; status == EMBER_OK && o < outputs; o++) {
        if (!computed_column(&out->columns[program->outputs[o]], program->output_exprs[o],
                             task->partition->columns, values[o], validity[o], rows, too_big))
            status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        values[o] = NULL; /* taken (or freed) by the column */
        validity[o] = NULL;
    }
done:
    for (int o = 0; values && validity && o < outputs; o++) {
        ember_free_aligned(values[o]);
        ember_free_aligned(validity[o]);
    }
    ember_free(values);
    ember_free(validity);
    return status;
}

ember_status ember_pipeline_project(ember_pipeline_program *program, ember_program_cache *cache,
                                    const ember_task *task, ember_partition *out,
                                    ember_error *err) {
    const ember_pipeline *pipeline = program->pipeline;
    const ember_partition *src = task->partition;
    int64_t rows = src->rows;
    memset(out, 0, sizeof *out);
    out->index = src->index;
    out->rows = rows;
    out->column_count = pipeline->column_count;
    out->columns = ember_calloc((size_t)pipeline->column_count + 1, sizeof *out->columns);
    uint8_t *keep = ember_calloc((size_t)(rows + 7) / 8 + 1, 1);
    bool too_big = false;
    ember_status status = EMBER_OK;
    if (!out->columns || !keep) {
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int c = 0; c < pipeline->column_count; c++)
        out->columns[c].type = pipeline->computed[c]
                                   ? (ember_type)ember_expr_type(pipeline->computed[c])
                                   : pipeline->source_schema->types[pipeline->source_column[c]];
    if (program->output_count > 0 || pipeline->predicate_count > 0) {
        if (on_host(program, task->worker)) {
            ember_column range = {0};
            const ember_column *columns;
            status = host_columns(program, task, &range, &columns, err);
            if (status == EMBER_OK && !host_project(program, columns, rows, keep, out, &too_big))
                status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
            ember_column_clear(&range);
        } else {
            status = device_project(program, cache, task, keep, out, &too_big, err);
        }
    } else {
        memset(keep, 0xff, (size_t)(rows + 7) / 8);
    }
    /* Source columns passed through: taken when the task owns them, else copied. */
    for (int c = 0; status == EMBER_OK && c < pipeline->column_count; c++) {
        int s = pipeline->source_column[c];
        if (!program->wanted[c] || out->columns[c].loaded || s < 0)
            continue;
        if (task->owned && task->owned->columns[s].loaded) {
            out->columns[c] = task->owned->columns[s];
            memset(&task->owned->columns[s], 0, sizeof task->owned->columns[s]);
            /* The same source column twice (select a, a as b is not possible, but keep safe) */
        } else if (!column_copy(&out->columns[c], &src->columns[s])) {
            status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        }
    }
    if (status == EMBER_OK && pipeline->predicate_count > 0 && !compact(out, keep, rows, &too_big))
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                                 too_big ? "a string column holds more than 2 GiB in one partition"
                                         : "out of memory");
done:
    if (status == EMBER_OK && too_big)
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                                 "a string column holds more than 2 GiB in one partition");
    if (status != EMBER_OK)
        ember_partition_clear(out);
    ember_free(keep);
    return status;
}
