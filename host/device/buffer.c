/* buffer.c: device buffers for host data. On devices that share host memory (pocl's CPU
 * device) a buffer wraps the page-aligned host allocation, so nothing is copied; elsewhere the
 * bytes are uploaded with a blocking write. */
#include "device/buffer.h"

#include <stdio.h>

#include "common/alloc.h"

static ember_status create_failed(const ember_worker *worker, cl_int rc, size_t bytes,
                                  ember_error *err) {
    char what[384];
    snprintf(what, sizeof what, "clCreateBuffer of %zu bytes on %s", bytes, worker->info.name);
    return ember_cl_fail(err, rc != CL_SUCCESS ? rc : CL_INVALID_MEM_OBJECT, what);
}

ember_status ember_buffer_from_host(const ember_worker *worker, cl_command_queue queue, void *host,
                                    size_t bytes, cl_mem *out, ember_error *err) {
    cl_int rc = CL_SUCCESS;
    cl_mem buffer;
    if (bytes == 0) {
        /* An empty partition still needs a valid kernel argument; OpenCL has no empty
         * buffers, and host may be NULL here. */
        size_t size = ember_aligned_size(0);
        buffer = clCreateBuffer(worker->context, CL_MEM_READ_ONLY, size, NULL, &rc);
        if (rc != CL_SUCCESS || !buffer)
            return create_failed(worker, rc, size, err);
        *out = buffer;
        return EMBER_OK;
    }
    if (worker->info.host_unified_memory) {
        /* The whole page-rounded allocation is wrapped: drivers that map buffers by pages
         * (pocl) then never touch memory outside it. */
        size_t size = ember_aligned_size(bytes);
        buffer = clCreateBuffer(worker->context, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, size, host,
                                &rc);
        if (rc != CL_SUCCESS || !buffer)
            return create_failed(worker, rc, size, err);
        *out = buffer;
        return EMBER_OK;
    }
    buffer = clCreateBuffer(worker->context, CL_MEM_READ_ONLY, bytes, NULL, &rc);
    if (rc != CL_SUCCESS || !buffer)
        return create_failed(worker, rc, bytes, err);
    rc = clEnqueueWriteBuffer(queue, buffer, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        clReleaseMemObject(buffer);
        char what[384];
        snprintf(what, sizeof what, "clEnqueueWriteBuffer of %zu bytes to %s", bytes,
                 worker->info.name);
        return ember_cl_fail(err, rc, what);
    }
    *out = buffer;
    return EMBER_OK;
}

ember_status ember_buffer_create(const ember_worker *worker, size_t bytes, cl_mem *out,
                                 ember_error *err) {
    /* OpenCL rejects zero-sized buffers; one byte keeps empty results on the common path. */
    if (bytes == 0)
        bytes = 1;
    cl_int rc = CL_SUCCESS;
    cl_mem buffer = clCreateBuffer(worker->context, CL_MEM_READ_WRITE, bytes, NULL, &rc);
    if (rc != CL_SUCCESS || !buffer)
        return create_failed(worker, rc, bytes, err);
    *out = buffer;
    return EMBER_OK;
}
