/* buffer.h: device buffers for host data: zero-copy (CL_MEM_USE_HOST_PTR) on devices that
 * share host memory, an upload otherwise. */
#ifndef EMBER_DEVICE_BUFFER_H
#define EMBER_DEVICE_BUFFER_H

#include "device/device.h"

/* Makes a read-only device buffer holding bytes bytes of host. host must come from
 * ember_malloc_aligned when the worker has host unified memory (it is wrapped, not copied,
 * and must outlive the buffer); otherwise it is copied with a blocking write on queue.
 * bytes == 0 is allowed (a one-page buffer is made). */
ember_status ember_buffer_from_host(const ember_worker *worker, cl_command_queue queue, void *host,
                                    size_t bytes, cl_mem *out, ember_error *err);

/* A device-only read-write buffer of bytes bytes (at least 1). */
ember_status ember_buffer_create(const ember_worker *worker, size_t bytes, cl_mem *out,
                                 ember_error *err);

#endif
