/* device_list.c: the public device list of ember.h (what `ember devices` prints), a snapshot of
 * ember_device_enumerate that needs no session. */
#include <stdio.h>

#include "common/alloc.h"
#include "device/device.h"

struct ember_device_list {
    ember_device_info *devices;
    size_t count;
};

ember_status ember_device_list_create(ember_device_list **out, char *errbuf, size_t errlen) {
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!out) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "ember_device_list_create: out is NULL");
        return EMBER_ERROR_INVALID_ARGUMENT;
    }
    *out = NULL;
    /* The error record is large (8 KiB of message), so it lives on the heap only while needed
     * rather than on callers' stacks. */
    ember_error *err = ember_malloc(sizeof *err);
    if (!err) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "out of memory listing OpenCL devices");
        return EMBER_ERROR_OUT_OF_MEMORY;
    }
    ember_error_clear(err);

    ember_device_info *devices = NULL;
    int count = 0;
    ember_status status = ember_device_enumerate(&devices, &count, err);
    if (status == EMBER_OK) {
        ember_device_list *list = ember_malloc(sizeof *list);
        if (list) {
            list->devices = devices;
            list->count = (size_t)count;
            *out = list;
        } else {
            ember_free(devices);
            status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                                     "out of memory listing OpenCL devices");
        }
    }
    if (status != EMBER_OK && errbuf && errlen)
        snprintf(errbuf, errlen, "%s", err->message);
    ember_free(err);
    return status;
}

void ember_device_list_free(ember_device_list *list) {
    if (!list)
        return;
    ember_free(list->devices);
    ember_free(list);
}

size_t ember_device_list_count(const ember_device_list *list) {
    return list ? list->count : 0;
}

/* Device i, or NULL when out of range: accessors answer a neutral value rather than crash. */
static const ember_device_info *device_at(const ember_device_list *list, size_t i) {
    return list && i < list->count ? &list->devices[i] : NULL;
}

int ember_device_list_platform_index(const ember_device_list *list, size_t i) {
    const ember_device_info *d = device_at(list, i);
    return d ? d->platform_index : -1;
}

int ember_device_list_device_index(const ember_device_list *list, size_t i) {
    const ember_device_info *d = device_at(list, i);
    return d ? d->device_index : -1;
}

const char *ember_device_list_platform_name(const ember_device_list *list, size_t i) {
    const ember_device_info *d = device_at(list, i);
    return d ? d->platform_name : NULL;
}

const char *ember_device_list_device_name(const ember_device_list *list, size_t i) {
    const ember_device_info *d = device_at(list, i);
    return d ? d->name : NULL;
}

const char *ember_device_list_type(const ember_device_list *list, size_t i) {
    const ember_device_info *d = device_at(list, i);
    return d ? d->type_name : NULL;
}

uint32_t ember_device_list_compute_units(const ember_device_list *list, size_t i) {
    const ember_device_info *d = device_at(list, i);
    return d ? (uint32_t)d->compute_units : 0;
}

uint64_t ember_device_list_global_memory(const ember_device_list *list, size_t i) {
    const ember_device_info *d = device_at(list, i);
    return d ? (uint64_t)d->global_memory : 0;
}

uint64_t ember_device_list_max_allocation(const ember_device_list *list, size_t i) {
    const ember_device_info *d = device_at(list, i);
    return d ? (uint64_t)d->max_allocation : 0;
}

const char *ember_device_list_opencl_c_version(const ember_device_list *list, size_t i) {
    const ember_device_info *d = device_at(list, i);
    return d ? d->opencl_c_version : NULL;
}

bool ember_device_list_is_default(const ember_device_list *list, size_t i) {
    const ember_device_info *d = device_at(list, i);
    return d ? d->is_default : false;
}
