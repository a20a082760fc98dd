/* device.h: OpenCL platforms and devices as ember workers: enumeration, the device choice
 * (cpu, gpu, all, PLATFORM:DEVICE), and one context plus several in-order queues per device. */
#ifndef EMBER_DEVICE_DEVICE_H
#define EMBER_DEVICE_DEVICE_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdbool.h>

#include "common/error.h"

#define EMBER_QUEUES_PER_DEVICE 4

/* What ember knows of one OpenCL device, filled from clGetDeviceInfo. */
typedef struct ember_device_info {
    int platform_index, device_index; /* positions in clGetPlatformIDs / clGetDeviceIDs(ALL) */
    cl_platform_id platform;
    cl_device_id device;
    char platform_name[256];
    char name[256];
    char driver_version[128];
    char device_version[128];
    char opencl_c_version[128];
    cl_device_type type;
    const char *type_name; /* "cpu", "gpu", "accelerator", "other" */
    cl_uint compute_units;
    cl_ulong global_memory, max_allocation;
    size_t max_work_group_size;
    bool host_unified_memory; /* CPU device: buffers can wrap host memory (zero-copy) */
    bool int64_atomics;       /* cl_khr_int64_base_atomics and extended_atomics */
    bool fp64;                /* cl_khr_fp64 */
    bool available;
    bool is_default;
} ember_device_info;

/* A device in use by a session. */
typedef struct ember_worker {
    ember_device_info info;
    cl_context context;
    cl_command_queue queues[EMBER_QUEUES_PER_DEVICE];
    int queue_count;
} ember_worker;

/* Lists every device of every platform, marking the default one (the first available GPU,
 * else the first available CPU, else the first available device). *out is an array owned by
 * the caller (ember_free); *count may be 0 only with EMBER_ERROR_NO_DEVICE. */
ember_status ember_device_enumerate(ember_device_info **out, int *count, ember_error *err);

/* Opens workers for a choice: NULL or "" means $EMBER_DEVICE if set, else the default. "cpu",
 * "gpu", "all" or "P:D". An unknown or unmatched choice fails with EMBER_ERROR_NO_DEVICE and a
 * message that lists the devices that exist. */
ember_status ember_workers_open(const char *choice, ember_worker **out, int *count,
                                ember_error *err);
void ember_workers_close(ember_worker *workers, int count);

/* "CL_OUT_OF_RESOURCES" for a cl_int. */
const char *ember_cl_error_name(cl_int code);

/* Maps an OpenCL error to an ember status (memory errors to EMBER_ERROR_DEVICE_MEMORY) and
 * records "what: CL_NAME (code)" on err. */
ember_status ember_cl_fail(ember_error *err, cl_int code, const char *what);

#endif
