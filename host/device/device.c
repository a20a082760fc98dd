/* device.c: OpenCL platforms and devices as ember workers: enumeration (with the default device
 * marked), the device choice (cpu, gpu, all, PLATFORM:DEVICE) and a context plus in-order queues
 * per chosen device. Also the names of OpenCL error codes used in every device message. */
#include "device/device.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"

/* From cl_ext.h (cl_khr_icd): what the ICD loader returns when no vendor file exists. Spelled
 * out here so the 1.2 headers are all this file needs. */
#define EMBER_CL_PLATFORM_NOT_FOUND_KHR (-1001)

/* Every error code of OpenCL 1.2; the switch below is generated from it so a name can never be
 * attached to the wrong number. */
#define EMBER_CL_ERROR_LIST(X)                                                                     \
    X(CL_SUCCESS)                                                                                  \
    X(CL_DEVICE_NOT_FOUND)                                                                         \
    X(CL_DEVICE_NOT_AVAILABLE)                                                                     \
    X(CL_COMPILER_NOT_AVAILABLE)                                                                   \
    X(CL_MEM_OBJECT_ALLOCATION_FAILURE)                                                            \
    X(CL_OUT_OF_RESOURCES)                                                                         \
    X(CL_OUT_OF_HOST_MEMORY)                                                                       \
    X(CL_PROFILING_INFO_NOT_AVAILABLE)                                                             \
    X(CL_MEM_COPY_OVERLAP)                                                                         \
    X(CL_IMAGE_FORMAT_MISMATCH)                                                                    \
    X(CL_IMAGE_FORMAT_NOT_SUPPORTED)                                                               \
    X(CL_BUILD_PROGRAM_FAILURE)                                                                    \
    X(CL_MAP_FAILURE)                                                                              \
    X(CL_MISALIGNED_SUB_BUFFER_OFFSET)                                                             \
    X(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)                                                \
    X(CL_COMPILE_PROGRAM_FAILURE)                                                                  \
    X(CL_LINKER_NOT_AVAILABLE)                                                                     \
    X(CL_LINK_PROGRAM_FAILURE)                                                                     \
    X(CL_DEVICE_PARTITION_FAILED)                                                                  \
    X(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)                                                            \
    X(CL_INVALID_VALUE)                                                                            \
    X(CL_INVALID_DEVICE_TYPE)                                                                      \
    X(CL_INVALID_PLATFORM)                                                                         \
    X(CL_INVALID_DEVICE)                                                                           \
    X(CL_INVALID_CONTEXT)                                                                          \
    X(CL_INVALID_QUEUE_PROPERTIES)                                                                 \
    X(CL_INVALID_COMMAND_QUEUE)                                                                    \
    X(CL_INVALID_HOST_PTR)                                                                         \
    X(CL_INVALID_MEM_OBJECT)                                                                       \
    X(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)                                                          \
    X(CL_INVALID_IMAGE_SIZE)                                                                       \
    X(CL_INVALID_SAMPLER)                                                                          \
    X(CL_INVALID_BINARY)                                                                           \
    X(CL_INVALID_BUILD_OPTIONS)                                                                    \
    X(CL_INVALID_PROGRAM)                                                                          \
    X(CL_INVALID_PROGRAM_EXECUTABLE)                                                               \
    X(CL_INVALID_KERNEL_NAME)                                                                      \
    X(CL_INVALID_KERNEL_DEFINITION)                                                                \
    X(CL_INVALID_KERNEL)                                                                           \
    X(CL_INVALID_ARG_INDEX)                                                                        \
    X(CL_INVALID_ARG_VALUE)                                                                        \
    X(CL_INVALID_ARG_SIZE)                                                                         \
    X(CL_INVALID_KERNEL_ARGS)                                                                      \
    X(CL_INVALID_WORK_DIMENSION)                                                                   \
    X(CL_INVALID_WORK_GROUP_SIZE)                                                                  \
    X(CL_INVALID_WORK_ITEM_SIZE)                                                                   \
    X(CL_INVALID_GLOBAL_OFFSET)                                                                    \
    X(CL_INVALID_EVENT_WAIT_LIST)                                                                  \
    X(CL_INVALID_EVENT)                                                                            \
    X(CL_INVALID_OPERATION)                                                                        \
    X(CL_INVALID_GL_OBJECT)                                                                        \
    X(CL_INVALID_BUFFER_SIZE)                                                                      \
    X(CL_INVALID_MIP_LEVEL)                                                                        \
    X(CL_INVALID_GLOBAL_WORK_SIZE)                                                                 \
    X(CL_INVALID_PROPERTY)                                                                         \
    X(CL_INVALID_IMAGE_DESCRIPTOR)                                                                 \
    X(CL_INVALID_COMPILER_OPTIONS)                                                                 \
    X(CL_INVALID_LINKER_OPTIONS)                                                                   \
    X(CL_INVALID_DEVICE_PARTITION_COUNT)

const char *ember_cl_error_name(cl_int code) {
    switch (code) {
#define EMBER_CL_ERROR_CASE_(name)                                                                 \
    case name:                                                                                     \
        return #name;
        EMBER_CL_ERROR_LIST(EMBER_CL_ERROR_CASE_)
#undef EMBER_CL_ERROR_CASE_
    case EMBER_CL_PLATFORM_NOT_FOUND_KHR:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    }
    return "CL_UNKNOWN_ERROR";
}

ember_status ember_cl_fail(ember_error *err, cl_int code, const char *what) {
    ember_status status = EMBER_ERROR_DEVICE;
    /* These say the device (or the driver's host side) ran short, which the memory manager can
     * answer by evicting or splitting, unlike other device errors. */
    switch (code) {
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
    case CL_OUT_OF_RESOURCES:
    case CL_OUT_OF_HOST_MEMORY:
    case CL_INVALID_BUFFER_SIZE:
        status = EMBER_ERROR_DEVICE_MEMORY;
        break;
    }
    return ember_error_set(err, status, "%s: %s (%d)", what, ember_cl_error_name(code), (int)code);
}

/* ---------------------------------------------------------------------------------------
 * Enumeration.
 * ------------------------------------------------------------------------------------- */

static ember_status out_of_memory(ember_error *err, const char *what) {
    return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory %s", what);
}

static ember_status device_query_failed(ember_error *err, cl_int rc, const char *param_name,
                                        int platform_index, int device_index) {
    char what[160];
    snprintf(what, sizeof what, "clGetDeviceInfo(%s) on device %d:%d", param_name, platform_index,
             device_index);
    return ember_cl_fail(err, rc, what);
}

/* A string property of a device, whole, in memory the caller frees. */
static ember_status device_string_alloc(cl_device_id device, cl_device_info param,
                                        const char *param_name, int platform_index,
                                        int device_index, char **out, ember_error *err) {
    *out = NULL;
    size_t size = 0;
    cl_int rc = clGetDeviceInfo(device, param, 0, NULL, &size);
    if (rc != CL_SUCCESS)
        return device_query_failed(err, rc, param_name, platform_index, device_index);
    char *text = ember_malloc(size + 1);
    if (!text)
        return out_of_memory(err, "reading device information");
    rc = clGetDeviceInfo(device, param, size, text, NULL);
    if (rc != CL_SUCCESS) {
        ember_free(text);
        return device_query_failed(err, rc, param_name, platform_index, device_index);
    }
    text[size] = '\0';
    *out = text;
    return EMBER_OK;
}

/* A string property copied into a fixed field, cut to fit: drivers may report names longer
 * than ember keeps. */
static ember_status device_string(cl_device_id device, cl_device_info param, const char *param_name,
                                  int platform_index, int device_index, char *buf, size_t len,
                                  ember_error *err) {
    char *text = NULL;
    ember_status status =
        device_string_alloc(device, param, param_name, platform_index, device_index, &text, err);
    if (status != EMBER_OK)
        return status;
    snprintf(buf, len, "%s", text);
    ember_free(text);
    return EMBER_OK;
}

static ember_status device_value(cl_device_id device, cl_device_info param, const char *param_name,
                                 int platform_index, int device_index, void *value, size_t size,
                                 ember_error *err) {
    cl_int rc = clGetDeviceInfo(device, param, size, value, NULL);
    if (rc != CL_SUCCESS)
        return device_query_failed(err, rc, param_name, platform_index, device_index);
    return EMBER_OK;
}

/* True when the space-separated extension list holds name as a whole word (a plain substring
 * test would let a longer extension name match a shorter one). */
static bool has_extension(const char *extensions, const char *name) {
    size_t name_len = strlen(name);
    const char *p = extensions;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *word = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - word) == name_len && memcmp(word, name, name_len) == 0)
            return true;
    }
    return false;
}

static const char *type_name(cl_device_type type) {
    if (type & CL_DEVICE_TYPE_GPU)
        return "gpu";
    if (type & CL_DEVICE_TYPE_CPU)
        return "cpu";
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    return "other";
}

#define DEVICE_STRING(param, field)                                                                \
    device_string(device, param, #param, platform_index, device_index, info->field,                \
                  sizeof info->field, err)
#define DEVICE_VALUE(param, variable)                                                              \
    device_value(device, param, #param, platform_index, device_index, &(variable),                 \
                 sizeof(variable), err)

static ember_status device_info_fill(ember_device_info *info, cl_platform_id platform,
                                     int platform_index, const char *platform_name,
                                     cl_device_id device, int device_index, ember_error *err) {
    memset(info, 0, sizeof *info);
    info->platform_index = platform_index;
    info->device_index = device_index;
    info->platform = platform;
    info->device = device;
    snprintf(info->platform_name, sizeof info->platform_name, "%s", platform_name);

    cl_uint compute_units = 0;
    cl_ulong global_memory = 0, max_allocation = 0;
    size_t max_work_group_size = 0;
    cl_bool unified = CL_FALSE, available = CL_FALSE;
    cl_device_type type = 0;
    ember_status status;
    if ((status = DEVICE_STRING(CL_DEVICE_NAME, name)) != EMBER_OK ||
        (status = DEVICE_STRING(CL_DRIVER_VERSION, driver_version)) != EMBER_OK ||
        (status = DEVICE_STRING(CL_DEVICE_VERSION, device_version)) != EMBER_OK ||
        (status = DEVICE_STRING(CL_DEVICE_OPENCL_C_VERSION, opencl_c_version)) != EMBER_OK ||
        (status = DEVICE_VALUE(CL_DEVICE_TYPE, type)) != EMBER_OK ||
        (status = DEVICE_VALUE(CL_DEVICE_MAX_COMPUTE_UNITS, compute_units)) != EMBER_OK ||
        (status = DEVICE_VALUE(CL_DEVICE_GLOBAL_MEM_SIZE, global_memory)) != EMBER_OK ||
        (status = DEVICE_VALUE(CL_DEVICE_MAX_MEM_ALLOC_SIZE, max_allocation)) != EMBER_OK ||
        (status = DEVICE_VALUE(CL_DEVICE_MAX_WORK_GROUP_SIZE, max_work_group_size)) != EMBER_OK ||
        (status = DEVICE_VALUE(CL_DEVICE_HOST_UNIFIED_MEMORY, unified)) != EMBER_OK ||
        (status = DEVICE_VALUE(CL_DEVICE_AVAILABLE, available)) != EMBER_OK)
        return status;

    char *extensions = NULL;
    status = device_string_alloc(device, CL_DEVICE_EXTENSIONS, "CL_DEVICE_EXTENSIONS",
                                 platform_index, device_index, &extensions, err);
    if (status != EMBER_OK)
        return status;
    info->int64_atomics = has_extension(extensions, "cl_khr_int64_base_atomics") &&
                          has_extension(extensions, "cl_khr_int64_extended_atomics");
    info->fp64 = has_extension(extensions, "cl_khr_fp64");
    ember_free(extensions);

    info->type = type;
    info->type_name = type_name(type);
    info->compute_units = compute_units;
    info->global_memory = global_memory;
    info->max_allocation = max_allocation;
    info->max_work_group_size = max_work_group_size;
    /* A CPU device works in host memory even when the driver does not say so. */
    info->host_unified_memory = unified == CL_TRUE || (type & CL_DEVICE_TYPE_CPU) != 0;
    info->available = available == CL_TRUE;
    return EMBER_OK;
}

#undef DEVICE_STRING
#undef DEVICE_VALUE

static ember_status platform_name_get(cl_platform_id platform, int platform_index, char *buf,
                                      size_t len, ember_error *err) {
    size_t size = 0;
    char what[96];
    snprintf(what, sizeof what, "clGetPlatformInfo(CL_PLATFORM_NAME) on platform %d",
             platform_index);
    cl_int rc = clGetPlatformInfo(platform, CL_PLATFORM_NAME, 0, NULL, &size);
    if (rc != CL_SUCCESS)
        return ember_cl_fail(err, rc, what);
    char *text = ember_malloc(size + 1);
    if (!text)
        return out_of_memory(err, "reading platform information");
    rc = clGetPlatformInfo(platform, CL_PLATFORM_NAME, size, text, NULL);
    if (rc != CL_SUCCESS) {
        ember_free(text);
        return ember_cl_fail(err, rc, what);
    }
    text[size] = '\0';
    snprintf(buf, len, "%s", text);
    ember_free(text);
    return EMBER_OK;
}

/* Adds the devices of one platform to *devices (grown as needed). */
static ember_status platform_devices_add(cl_platform_id platform, int platform_index,
                                         ember_device_info **devices, int *count,
                                         ember_error *err) {
    cl_uint device_count = 0;
    cl_int rc = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, &device_count);
    /* A platform whose driver cannot list its devices must not hide the other platforms' ones,
     * so it counts as a platform without devices. */
    if (rc != CL_SUCCESS || device_count == 0)
        return EMBER_OK;

    char platform_name[256];
    ember_status status =
        platform_name_get(platform, platform_index, platform_name, sizeof platform_name, err);
    if (status != EMBER_OK)
        return status;

    cl_device_id *ids = ember_calloc(device_count, sizeof *ids);
    if (!ids)
        return out_of_memory(err, "listing OpenCL devices");
    rc = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, device_count, ids, NULL);
    if (rc != CL_SUCCESS) {
        ember_free(ids);
        return EMBER_OK; /* as above: a broken platform lists nothing */
    }
    ember_device_info *grown =
        ember_realloc(*devices, ((size_t)*count + device_count) * sizeof *grown);
    if (!grown) {
        ember_free(ids);
        return out_of_memory(err, "listing OpenCL devices");
    }
    *devices = grown;
    for (cl_uint d = 0; d < device_count; d++) {
        status = device_info_fill(&grown[*count], platform, platform_index, platform_name, ids[d],
                                  (int)d, err);
        if (status != EMBER_OK)
            break;
        (*count)++;
    }
    ember_free(ids);
    return status;
}

/* The first available GPU, else the first available CPU, else the first available device. */
static void default_mark(ember_device_info *devices, int count) {
    int chosen = -1;
    for (int i = 0; i < count && chosen < 0; i++)
        if (devices[i].available && (devices[i].type & CL_DEVICE_TYPE_GPU))
            chosen = i;
    for (int i = 0; i < count && chosen < 0; i++)
        if (devices[i].available && (devices[i].type & CL_DEVICE_TYPE_CPU))
            chosen = i;
    for (int i = 0; i < count && chosen < 0; i++)
        if (devices[i].available)
            chosen = i;
    if (chosen >= 0)
        devices[chosen].is_default = true;
}

ember_status ember_device_enumerate(ember_device_info **out, int *count, ember_error *err) {
    *out = NULL;
    *count = 0;
    cl_uint platform_count = 0;
    cl_int rc = clGetPlatformIDs(0, NULL, &platform_count);
    if (rc == EMBER_CL_PLATFORM_NOT_FOUND_KHR || (rc == CL_SUCCESS && platform_count == 0))
        return ember_error_set(err, EMBER_ERROR_NO_DEVICE,
                               "no OpenCL platform found: install an OpenCL driver (pocl for "
                               "the CPU, or a GPU vendor's) and its ICD file in "
                               "/etc/OpenCL/vendors");
    if (rc != CL_SUCCESS)
        return ember_cl_fail(err, rc, "clGetPlatformIDs");

    ember_status status = EMBER_OK;
    ember_device_info *devices = NULL;
    int device_count = 0;
    cl_platform_id *platforms = ember_calloc(platform_count, sizeof *platforms);
    if (!platforms)
        return out_of_memory(err, "listing OpenCL platforms");
    rc = clGetPlatformIDs(platform_count, platforms, NULL);
    if (rc != CL_SUCCESS) {
        status = ember_cl_fail(err, rc, "clGetPlatformIDs");
        goto fail;
    }
    for (cl_uint p = 0; p < platform_count; p++) {
        status = platform_devices_add(platforms[p], (int)p, &devices, &device_count, err);
        if (status != EMBER_OK)
            goto fail;
    }
    if (device_count == 0) {
        status = ember_error_set(err, EMBER_ERROR_NO_DEVICE,
                                 "%u OpenCL platform(s) found but none has a device",
                                 (unsigned)platform_count);
        goto fail;
    }
    ember_free(platforms);
    default_mark(devices, device_count);
    *out = devices;
    *count = device_count;
    return EMBER_OK;

fail:
    ember_free(devices);
    ember_free(platforms);
    return status;
}

/* ---------------------------------------------------------------------------------------
 * The device choice.
 * ------------------------------------------------------------------------------------- */

/* "0:0 Portable Computing Language / pthread-skylake (cpu, default), 1:0 ..." for messages
 * that must tell the user what can be chosen. */
static void devices_describe(const ember_device_info *devices, int count, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < count && used < len; i++) {
        const ember_device_info *d = &devices[i];
        int n =
            snprintf(buf + used, len - used, "%s%d:%d %s / %s (%s%s%s)", i ? ", " : "",
                     d->platform_index, d->device_index, d->platform_name, d->name, d->type_name,
                     d->is_default ? ", default" : "", d->available ? "" : ", unavailable");
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static ember_status choice_fail(const ember_device_info *devices, int count, const char *choice,
                                const char *origin, const char *reason, ember_error *err) {
    char list[4096];
    devices_describe(devices, count, list, sizeof list);
    return ember_error_set(err, EMBER_ERROR_NO_DEVICE,
                           "device choice '%.200s'%s %s; devices: %s; choose cpu, gpu, all or "
                           "PLATFORM:DEVICE",
                           choice, origin, reason, list);
}

/* A decimal index of at most six digits (no sign, no spaces). */
static bool index_parse(const char *text, size_t len, int *value) {
    if (len == 0 || len > 6)
        return false;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)text[i]))
            return false;
        v = v * 10 + (text[i] - '0');
    }
    *value = v;
    return true;
}

static bool word_is(const char *text, size_t len, const char *word) {
    return len == strlen(word) && strncasecmp(text, word, len) == 0;
}

/* Fills selected with the indexes (into devices) of the devices choice names; on success
 * *selected_count >= 1. Words are case-insensitive and surrounding spaces do not count; a blank
 * choice means the default device. */
static ember_status choice_resolve(const ember_device_info *devices, int count, const char *choice,
                                   const char *origin, int *selected, int *selected_count,
                                   ember_error *err) {
    const char *text = choice;
    while (isspace((unsigned char)*text))
        text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;

    int n = 0;
    if (len == 0) {
        for (int i = 0; i < count; i++)
            if (devices[i].is_default)
                selected[n++] = i;
        if (n == 0) {
            char list[4096];
            devices_describe(devices, count, list, sizeof list);
            return ember_error_set(err, EMBER_ERROR_NO_DEVICE,
                                   "no OpenCL device is available; devices: %s", list);
        }
    } else if (word_is(text, len, "cpu") || word_is(text, len, "gpu")) {
        cl_device_type type = word_is(text, len, "cpu") ? CL_DEVICE_TYPE_CPU : CL_DEVICE_TYPE_GPU;
        for (int i = 0; i < count && n == 0; i++)
            if (devices[i].available && (devices[i].type & type))
                selected[n++] = i;
    } else if (word_is(text, len, "all")) {
        for (int i = 0; i < count; i++)
            if (devices[i].available)
                selected[n++] = i;
    } else {
        const char *colon = memchr(text, ':', len);
        int platform_index = 0, device_index = 0;
        if (!colon || !index_parse(text, (size_t)(colon - text), &platform_index) ||
            !index_parse(colon + 1, len - (size_t)(colon + 1 - text), &device_index))
            return choice_fail(devices, count, choice, origin, "is not understood", err);
        for (int i = 0; i < count; i++) {
            if (devices[i].platform_index == platform_index &&
                devices[i].device_index == device_index) {
                if (!devices[i].available)
                    return choice_fail(devices, count, choice, origin,
                                       "names a device that is not available", err);
                selected[n++] = i;
            }
        }
    }
    if (n == 0)
        return choice_fail(devices, count, choice, origin, "matches no device", err);
    *selected_count = n;
    return EMBER_OK;
}

/* ---------------------------------------------------------------------------------------
 * Workers.
 * ------------------------------------------------------------------------------------- */

/* Releases what worker_open acquired, in reverse order; safe on a half-opened worker. */
static void worker_close(ember_worker *worker) {
    for (int q = worker->queue_count - 1; q >= 0; q--)
        clReleaseCommandQueue(worker->queues[q]);
    worker->queue_count = 0;
    if (worker->context)
        clReleaseContext(worker->context);
    worker->context = NULL;
}

static ember_status worker_open(ember_worker *worker, const ember_device_info *info,
                                ember_error *err) {
    memset(worker, 0, sizeof *worker);
    worker->info = *info;
    char what[384];
    cl_int rc = CL_SUCCESS;
    cl_context_properties properties[] = {CL_CONTEXT_PLATFORM,
                                          (cl_context_properties)info->platform, 0};
    worker->context = clCreateContext(properties, 1, &info->device, NULL, NULL, &rc);
    if (rc != CL_SUCCESS || !worker->context) {
        worker->context = NULL;
        snprintf(what, sizeof what, "clCreateContext on %s", info->name);
        return ember_cl_fail(err, rc != CL_SUCCESS ? rc : CL_INVALID_CONTEXT, what);
    }
    /* Several in-order queues rather than one out-of-order queue: drivers (pocl among them)
     * overlap independent queues more reliably than they reorder one. */
    for (int q = 0; q < EMBER_QUEUES_PER_DEVICE; q++) {
        cl_command_queue queue = clCreateCommandQueue(worker->context, info->device, 0, &rc);
        if (rc != CL_SUCCESS || !queue) {
            worker_close(worker);
            snprintf(what, sizeof what, "clCreateCommandQueue on %s", info->name);
            return ember_cl_fail(err, rc != CL_SUCCESS ? rc : CL_INVALID_COMMAND_QUEUE, what);
        }
        worker->queues[worker->queue_count++] = queue;
    }
    return EMBER_OK;
}

static bool is_blank(const char *text) {
    while (isspace((unsigned char)*text))
        text++;
    return *text == '\0';
}

ember_status ember_workers_open(const char *choice, ember_worker **out, int *count,
                                ember_error *err) {
    *out = NULL;
    *count = 0;
    const char *origin = "";
    if (!choice || is_blank(choice)) {
        const char *env = getenv("EMBER_DEVICE");
        if (env && !is_blank(env)) {
            choice = env;
            origin = " (from EMBER_DEVICE)";
        } else {
            choice = "";
        }
    }

    ember_device_info *devices = NULL;
    int device_count = 0;
    int *selected = NULL, selected_count = 0, opened = 0;
    ember_worker *workers = NULL;
    ember_status status = ember_device_enumerate(&devices, &device_count, err);
    if (status != EMBER_OK)
        return status;
    selected = ember_calloc((size_t)device_count, sizeof *selected);
    if (!selected) {
        status = out_of_memory(err, "choosing OpenCL devices");
        goto done;
    }
    status = choice_resolve(devices, device_count, choice, origin, selected, &selected_count, err);
    if (status != EMBER_OK)
        goto done;
    workers = ember_calloc((size_t)selected_count, sizeof *workers);
    if (!workers) {
        status = out_of_memory(err, "opening OpenCL devices");
        goto done;
    }
    for (; opened < selected_count; opened++) {
        status = worker_open(&workers[opened], &devices[selected[opened]], err);
        if (status != EMBER_OK) {
            ember_workers_close(workers, opened);
            workers = NULL;
            goto done;
        }
    }
    *out = workers;
    *count = selected_count;

done:
    ember_free(selected);
    ember_free(devices);
    return status;
}

void ember_workers_close(ember_worker *workers, int count) {
    if (!workers)
        return;
    for (int i = count - 1; i >= 0; i--)
        worker_close(&workers[i]);
    ember_free(workers);
}
