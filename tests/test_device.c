/* test_device.c: the device layer: enumeration, the device choice, OpenCL error names, program
 * builds and their memory and disk caches, buffers, embedded kernels, the public device list,
 * and allocation failures. Tests that need a device are skipped where OpenCL has none. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "common/alloc.h"
#include "device/buffer.h"
#include "device/device.h"
#include "device/kernels.h"
#include "device/program.h"

/* Enumerated once for the whole group; NULL when the machine has no OpenCL device. */
static ember_device_info *devices;
static int device_count;
/* "P:D" of the default device, the choice the device tests open. */
static char default_choice[32];

static const char bad_source[] = "__kernel void broken(__global int *out) {\n"
                                 "    out[0] = no_such_identifier;\n"
                                 "}\n";

static int group_setup(void **state) {
    ember_error err;
    ember_error_clear(&err);
    ember_status status = ember_device_enumerate(&devices, &device_count, &err);
    if (status != EMBER_OK && status != EMBER_ERROR_NO_DEVICE) {
        fprintf(stderr, "ember_device_enumerate: %s\n", err.message);
        return -1;
    }
    for (int i = 0; i < device_count; i++)
        if (devices[i].is_default)
            snprintf(default_choice, sizeof default_choice, "%d:%d", devices[i].platform_index,
                     devices[i].device_index);
    return 0;
}

static int group_teardown(void **state) {
    ember_free(devices);
    return 0;
}

static void require_device(void) {
    if (device_count == 0 || default_choice[0] == '\0')
        skip();
}

static const ember_device_info *device_of_type(cl_device_type type) {
    for (int i = 0; i < device_count; i++)
        if (devices[i].available && (devices[i].type & type))
            return &devices[i];
    return NULL;
}

static ember_worker *open_default(int *count) {
    ember_error err;
    ember_error_clear(&err);
    ember_worker *workers = NULL;
    ember_status status = ember_workers_open(default_choice, &workers, count, &err);
    if (status != EMBER_OK)
        fail_msg("ember_workers_open(%s): %s", default_choice, err.message);
    assert_int_equal(*count, 1);
    return workers;
}

static const char *selftest_source(size_t *len) {
    const char *source = ember_kernel_source("selftest", len);
    assert_non_null(source);
    return source;
}

/* Runs selftest_scale_add over n values through ember_buffer_from_host and checks every output
 * against the host reference. */
static void selftest_run(const ember_worker *worker, cl_program program, size_t n) {
    const int scale = 3, add = -7;
    size_t bytes = n * sizeof(int);
    int *host = ember_malloc_aligned(bytes);
    assert_non_null(host);
    for (size_t i = 0; i < n; i++)
        host[i] = (int)i * 5 - 1000;

    ember_error err;
    ember_error_clear(&err);
    cl_command_queue queue = worker->queues[0];
    cl_mem in = NULL, out = NULL;
    assert_int_equal(ember_buffer_from_host(worker, queue, host, bytes, &in, &err), EMBER_OK);
    assert_int_equal(ember_buffer_create(worker, bytes, &out, &err), EMBER_OK);
    cl_int rc;
    cl_kernel kernel = clCreateKernel(program, "selftest_scale_add", &rc);
    assert_int_equal(rc, CL_SUCCESS);
    cl_uint count = (cl_uint)n;
    assert_int_equal(clSetKernelArg(kernel, 0, sizeof in, &in), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(kernel, 1, sizeof out, &out), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(kernel, 2, sizeof scale, &scale), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(kernel, 3, sizeof add, &add), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(kernel, 4, sizeof count, &count), CL_SUCCESS);
    size_t global = n;
    assert_int_equal(clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &global, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    int *result = malloc(bytes);
    assert_non_null(result);
    assert_int_equal(clEnqueueReadBuffer(queue, out, CL_TRUE, 0, bytes, result, 0, NULL, NULL),
                     CL_SUCCESS);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(result[i], host[i] * scale + add);
    free(result);
    clReleaseKernel(kernel);
    clReleaseMemObject(out);
    clReleaseMemObject(in);
    ember_free_aligned(host);
}

/* Names of the *.bin files in dir, as a count; the first one's path goes to first. */
static int bin_files(const char *dir, char *first, size_t len) {
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(d))) {
        size_t name_len = strlen(entry->d_name);
        if (name_len > 4 && strcmp(entry->d_name + name_len - 4, ".bin") == 0) {
            if (count++ == 0 && first)
                snprintf(first, len, "%s/%s", dir, entry->d_name);
        }
    }
    closedir(d);
    return count;
}

/* Empties and removes a flat scratch directory. */
static void dir_remove(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *entry;
    char path[4096];
    while ((entry = readdir(d))) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ---------------------------------------------------------------------------------------
 * OpenCL error names (no device needed).
 * ------------------------------------------------------------------------------------- */

static void test_cl_error_names(void **state) {
    assert_string_equal(ember_cl_error_name(-5), "CL_OUT_OF_RESOURCES");
    assert_string_equal(ember_cl_error_name(CL_SUCCESS), "CL_SUCCESS");
    assert_string_equal(ember_cl_error_name(-19), "CL_KERNEL_ARG_INFO_NOT_AVAILABLE");
    assert_string_equal(ember_cl_error_name(-30), "CL_INVALID_VALUE");
    assert_string_equal(ember_cl_error_name(-68), "CL_INVALID_DEVICE_PARTITION_COUNT");
    assert_string_equal(ember_cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    assert_string_equal(ember_cl_error_name(-20), "CL_UNKNOWN_ERROR");
    assert_string_equal(ember_cl_error_name(12345), "CL_UNKNOWN_ERROR");
    /* Every code of the 1.2 ranges has a real name. */
    for (cl_int code = -1; code >= -68; code--) {
        if (code < -19 && code > -30)
            continue;
        assert_string_not_equal(ember_cl_error_name(code), "CL_UNKNOWN_ERROR");
    }
}

static void test_cl_fail(void **state) {
    ember_error err;
    ember_error_clear(&err);
    assert_int_equal(ember_cl_fail(&err, CL_OUT_OF_RESOURCES, "clFoo"), EMBER_ERROR_DEVICE_MEMORY);
    assert_string_equal(err.message, "clFoo: CL_OUT_OF_RESOURCES (-5)");
    /* The first failure wins. */
    assert_int_equal(ember_cl_fail(&err, CL_INVALID_VALUE, "clBar"), EMBER_ERROR_DEVICE);
    assert_int_equal(err.status, EMBER_ERROR_DEVICE_MEMORY);
    assert_string_equal(err.message, "clFoo: CL_OUT_OF_RESOURCES (-5)");

    const cl_int memory_codes[] = {CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES,
                                   CL_OUT_OF_HOST_MEMORY, CL_INVALID_BUFFER_SIZE};
    for (size_t i = 0; i < sizeof memory_codes / sizeof memory_codes[0]; i++) {
        ember_error_clear(&err);
        assert_int_equal(ember_cl_fail(&err, memory_codes[i], "x"), EMBER_ERROR_DEVICE_MEMORY);
    }
    ember_error_clear(&err);
    assert_int_equal(ember_cl_fail(&err, CL_INVALID_KERNEL_ARGS, "clEnqueueNDRangeKernel"),
                     EMBER_ERROR_DEVICE);
    assert_string_equal(err.message, "clEnqueueNDRangeKernel: CL_INVALID_KERNEL_ARGS (-52)");
    assert_int_equal(ember_cl_fail(NULL, CL_INVALID_VALUE, "x"), EMBER_ERROR_DEVICE);
}

/* ---------------------------------------------------------------------------------------
 * Enumeration and the device choice.
 * ------------------------------------------------------------------------------------- */

static void test_enumerate(void **state) {
    require_device();
    assert_true(device_count >= 1);
    int defaults = 0;
    for (int i = 0; i < device_count; i++) {
        const ember_device_info *d = &devices[i];
        assert_true(d->platform_index >= 0 && d->device_index >= 0);
        assert_non_null(d->platform);
        assert_non_null(d->device);
        assert_true(strlen(d->platform_name) > 0);
        assert_true(strlen(d->name) > 0);
        assert_true(strncmp(d->device_version, "OpenCL ", 7) == 0);
        assert_true(strncmp(d->opencl_c_version, "OpenCL C ", 9) == 0);
        assert_non_null(d->type_name);
        assert_true(strcmp(d->type_name, "cpu") == 0 || strcmp(d->type_name, "gpu") == 0 ||
                    strcmp(d->type_name, "accelerator") == 0 || strcmp(d->type_name, "other") == 0);
        assert_true(d->compute_units >= 1);
        assert_true(d->global_memory > 0);
        assert_true(d->max_allocation > 0 && d->max_allocation <= d->global_memory);
        assert_true(d->max_work_group_size >= 1);
        if (d->type & CL_DEVICE_TYPE_CPU)
            assert_true(d->host_unified_memory);
        if (d->is_default) {
            defaults++;
            assert_true(d->available);
        }
        for (int j = 0; j < i; j++)
            assert_false(devices[j].platform_index == d->platform_index &&
                         devices[j].device_index == d->device_index);
    }
    assert_int_equal(defaults, 1);
    /* A GPU, when there is one, is the default. */
    const ember_device_info *gpu = device_of_type(CL_DEVICE_TYPE_GPU);
    if (gpu)
        assert_true(gpu->is_default);
}

static void workers_check(const char *choice, int expected_count) {
    ember_error err;
    ember_error_clear(&err);
    ember_worker *workers = NULL;
    int count = -1;
    ember_status status = ember_workers_open(choice, &workers, &count, &err);
    if (status != EMBER_OK)
        fail_msg("ember_workers_open('%s'): %s", choice ? choice : "(null)", err.message);
    assert_non_null(workers);
    if (expected_count > 0)
        assert_int_equal(count, expected_count);
    for (int i = 0; i < count; i++) {
        assert_non_null(workers[i].context);
        assert_int_equal(workers[i].queue_count, EMBER_QUEUES_PER_DEVICE);
        for (int q = 0; q < workers[i].queue_count; q++)
            assert_non_null(workers[i].queues[q]);
        assert_true(workers[i].info.available);
    }
    ember_workers_close(workers, count);
}

static void test_workers_open_choices(void **state) {
    require_device();
    int available = 0;
    for (int i = 0; i < device_count; i++)
        available += devices[i].available;
    if (device_of_type(CL_DEVICE_TYPE_CPU)) {
        workers_check("cpu", 1);
        workers_check(" CPU ", 1);
        workers_check("\tCpu\n", 1);
    }
    if (device_of_type(CL_DEVICE_TYPE_GPU))
        workers_check("gpu", 1);
    workers_check("all", available);
    workers_check("ALL", available);
    workers_check(default_choice, 1);
    if (devices[0].available && devices[0].platform_index == 0 && devices[0].device_index == 0)
        workers_check("0:0", 1);

    /* No choice: the default device, unless EMBER_DEVICE says otherwise. */
    char *saved = getenv("EMBER_DEVICE") ? strdup(getenv("EMBER_DEVICE")) : NULL;
    unsetenv("EMBER_DEVICE");
    workers_check(NULL, 1);
    workers_check("", 1);
    workers_check("   ", 1);
    if (saved) {
        setenv("EMBER_DEVICE", saved, 1);
        free(saved);
    }
}

static void choice_fails(const char *choice) {
    ember_error err;
    ember_error_clear(&err);
    ember_worker *workers = (ember_worker *)&err; /* must be reset to NULL */
    int count = -1;
    assert_int_equal(ember_workers_open(choice, &workers, &count, &err), EMBER_ERROR_NO_DEVICE);
    assert_null(workers);
    assert_int_equal(count, 0);
    assert_int_equal(err.status, EMBER_ERROR_NO_DEVICE);
    /* The message names the bad choice and lists what exists. */
    if (!strstr(err.message, choice) || !strstr(err.message, default_choice) ||
        !strstr(err.message, "choose cpu, gpu, all or PLATFORM:DEVICE"))
        fail_msg("choice '%s' gave the message: %s", choice, err.message);
}

static void test_workers_open_bad_choices(void **state) {
    require_device();
    if (!device_of_type(CL_DEVICE_TYPE_GPU))
        choice_fails("gpu");
    if (!device_of_type(CL_DEVICE_TYPE_CPU))
        choice_fails("cpu");
    const char *bad[] = {"banana", "9:9",           "0:",    ":0",  "-1:0", "0:x", "0:-1", "0:0:0",
                         "1 : 0",  "0:99999999999", "c p u", "allx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        choice_fails(bad[i]);
}

static void test_workers_open_env(void **state) {
    require_device();
    char *saved = getenv("EMBER_DEVICE") ? strdup(getenv("EMBER_DEVICE")) : NULL;

    ember_error err;
    ember_error_clear(&err);
    ember_worker *workers = NULL;
    int count = 0;
    setenv("EMBER_DEVICE", "banana", 1);
    assert_int_equal(ember_workers_open(NULL, &workers, &count, &err), EMBER_ERROR_NO_DEVICE);
    assert_non_null(strstr(err.message, "banana"));
    assert_non_null(strstr(err.message, "EMBER_DEVICE"));
    /* An explicit choice overrides the variable. */
    workers_check(default_choice, 1);
    setenv("EMBER_DEVICE", default_choice, 1);
    workers_check(NULL, 1);
    setenv("EMBER_DEVICE", "all", 1);
    workers_check("", 0);
    setenv("EMBER_DEVICE", "  ", 1); /* blank counts as unset */
    workers_check(NULL, 1);

    if (saved) {
        setenv("EMBER_DEVICE", saved, 1);
        free(saved);
    } else {
        unsetenv("EMBER_DEVICE");
    }
}

/* ---------------------------------------------------------------------------------------
 * The public device list.
 * ------------------------------------------------------------------------------------- */

static void test_device_list(void **state) {
    /* NULL is harmless everywhere. */
    ember_device_list_free(NULL);
    assert_int_equal(ember_device_list_count(NULL), 0);
    assert_null(ember_device_list_device_name(NULL, 0));

    ember_device_list *list = NULL;
    char errbuf[512];
    ember_status status = ember_device_list_create(&list, errbuf, sizeof errbuf);
    if (status == EMBER_ERROR_NO_DEVICE) {
        assert_null(list);
        assert_true(strlen(errbuf) > 0);
        skip();
    }
    assert_int_equal(status, EMBER_OK);
    assert_string_equal(errbuf, "");
    assert_int_equal(ember_device_list_count(list), (size_t)device_count);
    int defaults = 0;
    for (size_t i = 0; i < ember_device_list_count(list); i++) {
        const ember_device_info *d = &devices[i];
        assert_int_equal(ember_device_list_platform_index(list, i), d->platform_index);
        assert_int_equal(ember_device_list_device_index(list, i), d->device_index);
        assert_string_equal(ember_device_list_platform_name(list, i), d->platform_name);
        assert_string_equal(ember_device_list_device_name(list, i), d->name);
        assert_string_equal(ember_device_list_type(list, i), d->type_name);
        assert_int_equal(ember_device_list_compute_units(list, i), d->compute_units);
        assert_int_equal(ember_device_list_global_memory(list, i), d->global_memory);
        assert_int_equal(ember_device_list_max_allocation(list, i), d->max_allocation);
        assert_string_equal(ember_device_list_opencl_c_version(list, i), d->opencl_c_version);
        assert_int_equal(ember_device_list_is_default(list, i), d->is_default);
        defaults += ember_device_list_is_default(list, i);
    }
    assert_int_equal(defaults, 1);
    /* Out of range gives neutral answers, not a crash. */
    size_t past = ember_device_list_count(list);
    assert_null(ember_device_list_device_name(list, past));
    assert_int_equal(ember_device_list_platform_index(list, past), -1);
    assert_false(ember_device_list_is_default(list, past));
    ember_device_list_free(list);

    /* errbuf may be NULL. */
    assert_int_equal(ember_device_list_create(&list, NULL, 0), EMBER_OK);
    ember_device_list_free(list);
}

/* ---------------------------------------------------------------------------------------
 * Embedded kernels.
 * ------------------------------------------------------------------------------------- */

static void test_kernel_source(void **state) {
    size_t len = 0;
    const char *source = ember_kernel_source("selftest", &len);
    assert_non_null(source);
    assert_int_equal(strlen(source), len); /* terminated right after the last byte */
    assert_non_null(strstr(source, "__kernel void selftest_scale_add("));
    assert_null(ember_kernel_source("no_such_kernel", &len));
    assert_null(ember_kernel_source(NULL, &len));
    assert_non_null(ember_kernel_source("selftest", NULL));

    /* Byte for byte the file in kernels/, when the source tree is at hand. */
    size_t file_len = 0;
    char *file = tu_read_file(tu_data_path("../../kernels/selftest.cl"), &file_len);
    if (file) {
        assert_int_equal(file_len, len);
        assert_memory_equal(file, source, len);
        free(file);
    }
}

/* ---------------------------------------------------------------------------------------
 * Programs and the program cache.
 * ------------------------------------------------------------------------------------- */

static void test_program_build_error(void **state) {
    require_device();
    int count;
    ember_worker *workers = open_default(&count);
    ember_program_cache *cache = ember_program_cache_create(NULL);
    assert_non_null(cache);

    ember_error err;
    ember_error_clear(&err);
    cl_program program = NULL;
    assert_int_equal(
        ember_program_get(cache, &workers[0], bad_source, strlen(bad_source), NULL, &program, &err),
        EMBER_ERROR_BUILD);
    assert_null(program);
    assert_int_equal(err.status, EMBER_ERROR_BUILD);
    /* The message carries the device and the compiler's log. */
    if (!strstr(err.message, "kernel build failed on ") ||
        !strstr(err.message, workers[0].info.name) || !strstr(err.message, "error") ||
        !strstr(err.message, "no_such_identifier"))
        fail_msg("unexpected build error message: %s", err.message);
    ember_program_stats stats = ember_program_cache_stats(cache);
    assert_int_equal(stats.builds, 1);
    assert_int_equal(stats.memory_hits, 0);

    /* Bad options are a build error too, naming the options. */
    ember_error_clear(&err);
    size_t len;
    const char *source = selftest_source(&len);
    assert_int_equal(
        ember_program_get(cache, &workers[0], source, len, "-no-such-option", &program, &err),
        EMBER_ERROR_BUILD);
    assert_non_null(strstr(err.message, "-no-such-option"));

    ember_error_clear(&err);
    assert_int_equal(ember_program_get(NULL, &workers[0], source, len, NULL, &program, &err),
                     EMBER_ERROR_INVALID_ARGUMENT);

    ember_program_cache_free(cache);
    ember_program_cache_free(NULL);
    ember_workers_close(workers, count);
}

static ember_program_stats get_selftest(ember_program_cache *cache, const ember_worker *worker,
                                        cl_program *program) {
    size_t len;
    const char *source = selftest_source(&len);
    ember_error err;
    ember_error_clear(&err);
    ember_status status = ember_program_get(cache, worker, source, len, NULL, program, &err);
    if (status != EMBER_OK)
        fail_msg("ember_program_get: %s", err.message);
    assert_non_null(*program);
    return ember_program_cache_stats(cache);
}

static void test_program_disk_cache(void **state) {
    require_device();
    int count;
    ember_worker *workers = open_default(&count);
    char *dir = tu_tmp_path("device-program-cache/nested");
    char *parent = tu_tmp_path("device-program-cache");
    dir_remove(dir);
    dir_remove(parent);

    /* First get builds and writes one file (creating the directory and its parent). */
    ember_program_cache *cache = ember_program_cache_create(dir);
    assert_non_null(cache);
    cl_program first = NULL, again = NULL;
    ember_program_stats stats = get_selftest(cache, &workers[0], &first);
    assert_int_equal(stats.builds, 1);
    assert_int_equal(stats.disk_hits, 0);
    assert_int_equal(stats.memory_hits, 0);
    char bin[4096];
    assert_int_equal(bin_files(dir, bin, sizeof bin), 1);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    /* 32 hex characters name the file. */
    const char *base = strrchr(bin, '/') + 1;
    assert_int_equal(strlen(base), 32 + 4);
    assert_int_equal(strspn(base, "0123456789abcdef"), 32);

    /* Second get: the same program from memory. */
    stats = get_selftest(cache, &workers[0], &again);
    assert_ptr_equal(first, again);
    assert_int_equal(stats.memory_hits, 1);
    assert_int_equal(stats.builds, 1);
    selftest_run(&workers[0], first, 1000);
    ember_program_cache_free(cache);

    /* A new cache on the same directory loads the binary. */
    cache = ember_program_cache_create(dir);
    stats = get_selftest(cache, &workers[0], &first);
    assert_int_equal(stats.disk_hits, 1);
    assert_int_equal(stats.builds, 0);
    selftest_run(&workers[0], first, 257);
    ember_program_cache_free(cache);

    /* A corrupt file is ignored (the program is built from source) and replaced. */
    size_t good_len = 0;
    char *good = tu_read_file(bin, &good_len);
    assert_non_null(good);
    char garbage[3000];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (char)(i * 131 + 7);
    tu_write_file(bin, garbage, sizeof garbage);
    cache = ember_program_cache_create(dir);
    stats = get_selftest(cache, &workers[0], &first);
    assert_int_equal(stats.disk_hits, 0);
    assert_int_equal(stats.builds, 1);
    selftest_run(&workers[0], first, 100);
    ember_program_cache_free(cache);
    size_t rewritten_len = 0;
    char *rewritten = tu_read_file(bin, &rewritten_len);
    assert_non_null(rewritten);
    assert_int_not_equal(rewritten_len, sizeof garbage);
    free(rewritten);

    /* So are a truncated file (which pocl itself would read past the end of), one with a
     * flipped byte, and an empty one. */
    for (int damage = 0; damage < 3; damage++) {
        size_t damaged_len = damage == 0 ? good_len / 2 : damage == 1 ? good_len : 0;
        if (damage == 1)
            good[good_len / 2] ^= 0x20;
        tu_write_file(bin, good, damaged_len);
        cache = ember_program_cache_create(dir);
        stats = get_selftest(cache, &workers[0], &first);
        assert_int_equal(stats.disk_hits, 0);
        assert_int_equal(stats.builds, 1);
        selftest_run(&workers[0], first, 10);
        ember_program_cache_free(cache);
        if (damage == 1)
            good[good_len / 2] ^= 0x20;
    }
    free(good);
    /* After all that the file is good again (not byte for byte the first one: pocl's binaries
     * also carry what it compiled for the launches made since). */
    cache = ember_program_cache_create(dir);
    stats = get_selftest(cache, &workers[0], &first);
    assert_int_equal(stats.disk_hits, 1);
    selftest_run(&workers[0], first, 10);
    ember_program_cache_free(cache);
    assert_int_equal(bin_files(dir, NULL, 0), 1);

    /* No temporary files are left behind. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *entry;
    while ((entry = readdir(d)))
        assert_false(strncmp(entry->d_name, ".", 1) == 0 && strlen(entry->d_name) > 2);
    closedir(d);

    dir_remove(dir);
    dir_remove(parent);
    free(dir);
    free(parent);
    ember_workers_close(workers, count);
}

/* A directory that can never be created: a path under a regular file. */
static void test_program_cache_unwritable(void **state) {
    require_device();
    int count;
    ember_worker *workers = open_default(&count);
    char *file = tu_tmp_path("device-not-a-dir");
    tu_write_text(file, "x");
    size_t dir_len = strlen(file) + 16;
    char *dir = malloc(dir_len);
    snprintf(dir, dir_len, "%s/cache", file);

    ember_program_cache *cache = ember_program_cache_create(dir);
    cl_program program = NULL;
    ember_program_stats stats = get_selftest(cache, &workers[0], &program);
    assert_int_equal(stats.builds, 1);
    selftest_run(&workers[0], program, 33);
    ember_program_cache_free(cache);

    unlink(file);
    free(dir);
    free(file);
    ember_workers_close(workers, count);
}

typedef struct get_thread {
    ember_program_cache *cache;
    const ember_worker *worker;
    cl_program program;
    ember_status status;
} get_thread;

static void *get_thread_main(void *arg) {
    get_thread *t = arg;
    size_t len;
    const char *source = ember_kernel_source("selftest", &len);
    ember_error err;
    ember_error_clear(&err);
    t->status = ember_program_get(t->cache, t->worker, source, len, NULL, &t->program, &err);
    return NULL;
}

/* Memory-only caches ("off" or NULL) write no file anywhere, and threads asking for the same
 * program at once share one build. */
static void test_program_memory_only(void **state) {
    require_device();
    int count;
    ember_worker *workers = open_default(&count);
    char *saved = getenv("EMBER_CACHE_DIR") ? strdup(getenv("EMBER_CACHE_DIR")) : NULL;
    /* A memory-only cache must not fall back to the environment's directory either. */
    char *env_dir = tu_tmp_path("device-env-cache");
    setenv("EMBER_CACHE_DIR", env_dir, 1);

    enum { THREADS = 4 };
    ember_program_cache *cache = ember_program_cache_create("OFF");
    assert_non_null(cache);
    get_thread threads[THREADS];
    pthread_t ids[THREADS];
    for (int i = 0; i < THREADS; i++) {
        threads[i] = (get_thread){cache, &workers[0], NULL, EMBER_ERROR_INTERNAL};
        assert_int_equal(pthread_create(&ids[i], NULL, get_thread_main, &threads[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(ids[i], NULL);
        assert_int_equal(threads[i].status, EMBER_OK);
        assert_ptr_equal(threads[i].program, threads[0].program);
    }
    ember_program_stats stats = ember_program_cache_stats(cache);
    assert_int_equal(stats.builds, 1);
    assert_int_equal(stats.memory_hits, THREADS - 1);
    assert_int_equal(stats.disk_hits, 0);
    selftest_run(&workers[0], threads[0].program, 64);
    ember_program_cache_free(cache);
    struct stat st;
    assert_int_not_equal(stat("OFF", &st), 0);
    assert_int_not_equal(stat(env_dir, &st), 0);

    cache = ember_program_cache_create(NULL);
    cl_program program;
    stats = get_selftest(cache, &workers[0], &program);
    assert_int_equal(stats.builds, 1);
    ember_program_cache_free(cache);
    assert_int_not_equal(stat(env_dir, &st), 0);

    if (saved) {
        setenv("EMBER_CACHE_DIR", saved, 1);
        free(saved);
    } else {
        unsetenv("EMBER_CACHE_DIR");
    }
    free(env_dir);
    ember_workers_close(workers, count);
}

static void test_program_cache_default_dir(void **state) {
    const char *names[] = {"EMBER_CACHE_DIR", "XDG_CACHE_HOME", "HOME"};
    char *saved[3];
    for (int i = 0; i < 3; i++)
        saved[i] = getenv(names[i]) ? strdup(getenv(names[i])) : NULL;

    char buf[256];
    setenv("EMBER_CACHE_DIR", "/some/where", 1);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    setenv("HOME", "/home/someone", 1);
    assert_string_equal(ember_program_cache_default_dir(buf, sizeof buf), "/some/where");
    setenv("EMBER_CACHE_DIR", "Off", 1);
    assert_null(ember_program_cache_default_dir(buf, sizeof buf));
    setenv("EMBER_CACHE_DIR", "", 1);
    assert_string_equal(ember_program_cache_default_dir(buf, sizeof buf), "/xdg/ember");
    unsetenv("EMBER_CACHE_DIR");
    assert_string_equal(ember_program_cache_default_dir(buf, sizeof buf), "/xdg/ember");
    unsetenv("XDG_CACHE_HOME");
    assert_string_equal(ember_program_cache_default_dir(buf, sizeof buf),
                        "/home/someone/.cache/ember");
    /* Too small a buffer gives no directory rather than a cut one. */
    assert_null(ember_program_cache_default_dir(buf, 8));
    unsetenv("HOME");
    assert_null(ember_program_cache_default_dir(buf, sizeof buf));

    for (int i = 0; i < 3; i++) {
        if (saved[i]) {
            setenv(names[i], saved[i], 1);
            free(saved[i]);
        } else {
            unsetenv(names[i]);
        }
    }
}

/* ---------------------------------------------------------------------------------------
 * Buffers.
 * ------------------------------------------------------------------------------------- */

static void test_buffers(void **state) {
    require_device();
    int count;
    ember_worker *workers = open_default(&count);
    ember_program_cache *cache = ember_program_cache_create(getenv("EMBER_CACHE_DIR"));
    cl_program program;
    get_selftest(cache, &workers[0], &program);

    /* The device's own path, then the other one: a copy of the worker that claims no unified
     * memory takes the upload path on the same device. */
    selftest_run(&workers[0], program, 4099);
    ember_worker uploading = workers[0];
    uploading.info.host_unified_memory = !workers[0].info.host_unified_memory;
    selftest_run(&uploading, program, 4099);
    selftest_run(&uploading, program, 1);

    /* Empty data: a valid buffer, host never touched. */
    ember_error err;
    ember_error_clear(&err);
    cl_mem buffer = NULL;
    assert_int_equal(
        ember_buffer_from_host(&workers[0], workers[0].queues[0], NULL, 0, &buffer, &err),
        EMBER_OK);
    assert_non_null(buffer);
    clReleaseMemObject(buffer);
    buffer = NULL;
    assert_int_equal(ember_buffer_create(&workers[0], 0, &buffer, &err), EMBER_OK);
    assert_non_null(buffer);
    clReleaseMemObject(buffer);

    /* A buffer larger than the device allows fails as device memory, with a message. */
    buffer = NULL;
    ember_status status = ember_buffer_create(
        &workers[0], (size_t)workers[0].info.max_allocation + 4096, &buffer, &err);
    if (status != EMBER_OK) {
        assert_int_equal(status, EMBER_ERROR_DEVICE_MEMORY);
        assert_non_null(strstr(err.message, "clCreateBuffer"));
    } else {
        clReleaseMemObject(buffer);
    }

    ember_program_cache_free(cache);
    ember_workers_close(workers, count);
}

/* ---------------------------------------------------------------------------------------
 * Allocation failures: every one is reported and nothing leaks (the leak checker decides).
 * ------------------------------------------------------------------------------------- */

static void test_alloc_failures(void **state) {
    require_device();
    for (long n = 1; n <= 20; n++) {
        ember_device_list *list = NULL;
        char errbuf[256] = "untouched";
        ember_alloc_fail_after(n);
        ember_status status = ember_device_list_create(&list, errbuf, sizeof errbuf);
        ember_alloc_fail_after(0);
        if (status == EMBER_OK) {
            assert_non_null(list);
            ember_device_list_free(list);
        } else {
            assert_null(list);
            assert_int_equal(status, EMBER_ERROR_OUT_OF_MEMORY);
            assert_true(strlen(errbuf) > 0);
        }
    }
    for (long n = 1; n <= 20; n++) {
        const char *choices[] = {"all", "banana"};
        for (int c = 0; c < 2; c++) {
            ember_error err;
            ember_error_clear(&err);
            ember_worker *workers = NULL;
            int count = 0;
            ember_alloc_fail_after(n);
            ember_status status = ember_workers_open(choices[c], &workers, &count, &err);
            ember_alloc_fail_after(0);
            if (status == EMBER_OK) {
                assert_int_equal(c, 0);
                ember_workers_close(workers, count);
            } else {
                assert_null(workers);
                assert_int_equal(err.status, status);
                assert_true(strlen(err.message) > 0);
                assert_true(status == EMBER_ERROR_OUT_OF_MEMORY || status == EMBER_ERROR_NO_DEVICE);
            }
        }
    }

    /* Program gets: a memory hit, and a disk hit whose file read may fail (then it builds). */
    int count;
    ember_worker *workers = open_default(&count);
    char *dir = tu_tmp_path("device-alloc-cache");
    ember_program_cache *warm = ember_program_cache_create(dir);
    cl_program program;
    get_selftest(warm, &workers[0], &program);
    size_t len;
    const char *source = selftest_source(&len);
    for (long n = 1; n <= 4; n++) {
        ember_error err;
        ember_error_clear(&err);
        ember_alloc_fail_after(n);
        ember_status status =
            ember_program_get(warm, &workers[0], source, len, NULL, &program, &err);
        ember_alloc_fail_after(0);
        assert_true(status == EMBER_OK || status == EMBER_ERROR_OUT_OF_MEMORY);
        if (status != EMBER_OK)
            assert_true(strlen(err.message) > 0);
    }
    for (long n = 1; n <= 6; n++) {
        ember_program_cache *cache = ember_program_cache_create(dir);
        if (!cache)
            continue;
        ember_error err;
        ember_error_clear(&err);
        ember_alloc_fail_after(n);
        ember_status status =
            ember_program_get(cache, &workers[0], source, len, NULL, &program, &err);
        ember_alloc_fail_after(0);
        assert_true(status == EMBER_OK || status == EMBER_ERROR_OUT_OF_MEMORY);
        ember_program_cache_free(cache);
    }
    for (long n = 1; n <= 3; n++) {
        ember_alloc_fail_after(n);
        ember_program_cache *cache = ember_program_cache_create(dir);
        ember_alloc_fail_after(0);
        ember_program_cache_free(cache);
    }
    ember_program_cache_free(warm);
    dir_remove(dir);
    free(dir);
    ember_workers_close(workers, count);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cl_error_names),
        cmocka_unit_test(test_cl_fail),
        cmocka_unit_test(test_kernel_source),
        cmocka_unit_test(test_program_cache_default_dir),
        cmocka_unit_test(test_enumerate),
        cmocka_unit_test(test_device_list),
        cmocka_unit_test(test_workers_open_choices),
        cmocka_unit_test(test_workers_open_bad_choices),
        cmocka_unit_test(test_workers_open_env),
        cmocka_unit_test(test_program_build_error),
        cmocka_unit_test(test_program_disk_cache),
        cmocka_unit_test(test_program_cache_unwritable),
        cmocka_unit_test(test_program_memory_only),
        cmocka_unit_test(test_buffers),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
