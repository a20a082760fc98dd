/* program.c: OpenCL program builds cached in memory (per context and device) and on disk (per
 * device identity, source and options), because pocl's compiler takes seconds per program.
 * The disk cache is an optimisation only: whatever goes wrong with it, the program is built
 * from source instead. */
#include "device/program.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/alloc.h"

/* Part of every key: changing how ember builds or stores programs bumps it, so old files are
 * simply never looked up again. */
#define CACHE_FORMAT "ember-program-cache-1"
/* Every build is OpenCL C 1.2, the language all ember kernels are written in. */
#define STANDARD_OPTION "-cl-std=CL1.2"
/* A cache file larger than this is not a program binary ember wrote. */
#define CACHE_FILE_MAX ((size_t)1 << 30)
#define BUCKET_COUNT   64

/* 128 bits from two unrelated 64-bit hashes, so that a collision (which would hand back the
 * wrong program) needs both to collide at once. */
typedef struct program_key {
    uint64_t fnv, mix;
} program_key;

/* A program in memory. While building is true, program is NULL and other threads that want
 * the same key wait on the cache's condition variable instead of building it again. */
typedef struct program_entry {
    cl_context context;
    cl_device_id device;
    program_key key;
    cl_program program;
    bool building;
    struct program_entry *next;
} program_entry;

/* Locking: lock guards buckets, every entry's fields and stats. Builds and disk I/O run
 * without it (they take seconds); built is broadcast whenever an entry stops building. */
struct ember_program_cache {
    pthread_mutex_t lock;
    pthread_cond_t built;
    char *disk_dir; /* NULL: memory only */
    program_entry *buckets[BUCKET_COUNT];
    ember_program_stats stats;
};

/* ---------------------------------------------------------------------------------------
 * Keys.
 * ------------------------------------------------------------------------------------- */

static void key_add_bytes(program_key *key, const void *data, size_t len) {
    const unsigned char *bytes = data;
    for (size_t i = 0; i < len; i++) {
        key->fnv = (key->fnv ^ bytes[i]) * 0x100000001b3ULL; /* FNV-1a 64 */
        /* A multiply-xorshift step: unlike FNV it folds high bits back down every byte. */
        key->mix = (key->mix ^ bytes[i]) * 0xff51afd7ed558ccdULL;
        key->mix ^= key->mix >> 29;
    }
}

/* Length first, so ("ab", "c") and ("a", "bc") give different keys. */
static void key_add_field(program_key *key, const void *data, size_t len) {
    unsigned char prefix[8];
    for (int i = 0; i < 8; i++)
        prefix[i] = (unsigned char)((uint64_t)len >> (8 * i));
    key_add_bytes(key, prefix, sizeof prefix);
    key_add_bytes(key, data, len);
}

static void key_add_string(program_key *key, const char *text) {
    key_add_field(key, text, strlen(text));
}

/* The splitmix64 finaliser: every input bit reaches every output bit. */
static uint64_t avalanche(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* The key names the device by what determines its compiled code (not by its cl_device_id,
 * which differs between processes), so the disk cache outlives the process. */
static program_key key_compute(const ember_device_info *info, const char *source, size_t source_len,
                               const char *options) {
    program_key key = {0xcbf29ce484222325ULL, 0x9e3779b97f4a7c15ULL};
    key_add_string(&key, CACHE_FORMAT);
    key_add_string(&key, info->platform_name);
    key_add_string(&key, info->name);
    key_add_string(&key, info->driver_version);
    key_add_string(&key, info->device_version);
    key_add_field(&key, source, source_len);
    key_add_string(&key, options);
    key.fnv = avalanche(key.fnv);
    key.mix = avalanche(key.mix ^ 0x5851f42d4c957f2dULL);
    return key;
}

static void key_hex(program_key key, char hex[33]) {
    snprintf(hex, 33, "%016llx%016llx", (unsigned long long)key.fnv, (unsigned long long)key.mix);
}

/* ---------------------------------------------------------------------------------------
 * The disk cache: <dir>/<32 hex>.bin holds one program's driver binary behind a header that
 * ember checks before the driver sees a byte, because drivers trust their binaries (pocl reads
 * past the end of a truncated one). The header: the magic, the key (16 bytes), the binary's
 * size (8) and its checksum (16); integers little-endian.
 * ------------------------------------------------------------------------------------- */

#define FILE_MAGIC       "EMBERPRG"
#define FILE_HEADER_SIZE 48

static void put_u64(unsigned char *p, uint64_t value) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(value >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = value << 8 | p[i];
    return value;
}

static program_key checksum(const unsigned char *bytes, size_t size) {
    program_key sum = {0xcbf29ce484222325ULL, 0x9e3779b97f4a7c15ULL};
    key_add_bytes(&sum, bytes, size);
    sum.fnv = avalanche(sum.fnv);
    sum.mix = avalanche(sum.mix);
    return sum;
}

/* True when file is a whole cache file that ember wrote for key. */
static bool cache_file_valid(const unsigned char *file, size_t size, program_key key) {
    if (size <= FILE_HEADER_SIZE || memcmp(file, FILE_MAGIC, 8) != 0 ||
        get_u64(file + 8) != key.fnv || get_u64(file + 16) != key.mix ||
        get_u64(file + 24) != size - FILE_HEADER_SIZE)
        return false;
    program_key sum = checksum(file + FILE_HEADER_SIZE, size - FILE_HEADER_SIZE);
    return get_u64(file + 32) == sum.fnv && get_u64(file + 40) == sum.mix;
}

/* mkdir -p with mode 0755. */
static bool directory_make(const char *dir) {
    char path[4096];
    int n = snprintf(path, sizeof path, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof path)
        return false;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return false;
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return false;
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool cache_path(const char *dir, const char *hex, char *path, size_t len) {
    int n = snprintf(path, len, "%s/%s.bin", dir, hex);
    return n > 0 && (size_t)n < len;
}

/* The whole cache file, or NULL when there is none (or it cannot be read). */
static unsigned char *cache_file_read(const char *dir, const char *hex, size_t *size) {
    char path[4096];
    if (!cache_path(dir, hex, path, sizeof path))
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    unsigned char *bytes = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= FILE_HEADER_SIZE ||
        (uint64_t)st.st_size > CACHE_FILE_MAX)
        goto fail;
    size_t total = (size_t)st.st_size, got = 0;
    bytes = ember_malloc(total);
    if (!bytes)
        goto fail;
    while (got < total) {
        ssize_t n = read(fd, bytes + got, total - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        got += (size_t)n;
    }
    close(fd);
    *size = total;
    return bytes;

fail:
    ember_free(bytes);
    close(fd);
    return NULL;
}

static bool write_all(int fd, const unsigned char *bytes, size_t size) {
    while (size > 0) {
        ssize_t n = write(fd, bytes, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        bytes += n;
        size -= (size_t)n;
    }
    return true;
}

/* Writes through a temporary file in the same directory and a rename, so a reader (another
 * process) sees the old file or the whole new one, never a half-written one. */
static void cache_file_write(const char *dir, const char *hex, const unsigned char *bytes,
                             size_t size) {
    char path[4096], temp[4096];
    if (!cache_path(dir, hex, path, sizeof path))
        return;
    int n = snprintf(temp, sizeof temp, "%s/.%s.XXXXXX", dir, hex);
    if (n <= 0 || (size_t)n >= sizeof temp || !directory_make(dir))
        return;
    int fd = mkstemp(temp);
    if (fd < 0)
        return;
    bool ok = fchmod(fd, 0644) == 0 && write_all(fd, bytes, size);
    ok = close(fd) == 0 && ok;
    if (!ok || rename(temp, path) != 0)
        unlink(temp);
}

/* Saves the program's binary; failures only mean the next process builds again. */
static void cache_save(const char *dir, const char *hex, program_key key, cl_program program) {
    cl_uint device_count = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_NUM_DEVICES, sizeof device_count, &device_count,
                         NULL) != CL_SUCCESS ||
        device_count != 1)
        return;
    size_t size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) !=
            CL_SUCCESS ||
        size == 0 || size > CACHE_FILE_MAX - FILE_HEADER_SIZE)
        return;
    unsigned char *file = ember_malloc(FILE_HEADER_SIZE + size);
    if (!file)
        return;
    unsigned char *binaries[1] = {file + FILE_HEADER_SIZE};
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binaries, binaries, NULL) ==
        CL_SUCCESS) {
        program_key sum = checksum(file + FILE_HEADER_SIZE, size);
        memcpy(file, FILE_MAGIC, 8);
        put_u64(file + 8, key.fnv);
        put_u64(file + 16, key.mix);
        put_u64(file + 24, size);
        put_u64(file + 32, sum.fnv);
        put_u64(file + 40, sum.mix);
        cache_file_write(dir, hex, file, FILE_HEADER_SIZE + size);
    }
    ember_free(file);
}

/* A program from a cached binary, or NULL when the file is missing, damaged, from another
 * driver, or refuses to build: the caller then builds from source. */
static cl_program cache_load(const char *dir, const char *hex, program_key key,
                             const ember_worker *worker, const char *options) {
    size_t size = 0;
    unsigned char *file = cache_file_read(dir, hex, &size);
    if (!file)
        return NULL;
    if (!cache_file_valid(file, size, key)) {
        ember_free(file);
        return NULL;
    }
    cl_int rc = CL_SUCCESS, binary_status = CL_SUCCESS;
    const unsigned char *binaries[1] = {file + FILE_HEADER_SIZE};
    size_t binary_size = size - FILE_HEADER_SIZE;
    cl_program program = clCreateProgramWithBinary(worker->context, 1, &worker->info.device,
                                                   &binary_size, binaries, &binary_status, &rc);
    ember_free(file);
    if (rc != CL_SUCCESS || binary_status != CL_SUCCESS || !program) {
        if (program)
            clReleaseProgram(program);
        return NULL;
    }
    if (clBuildProgram(program, 1, &worker->info.device, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(program);
        return NULL;
    }
    return program;
}

/* ---------------------------------------------------------------------------------------
 * Building from source.
 * ------------------------------------------------------------------------------------- */

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static ember_status build_failed(cl_program program, const ember_worker *worker, ember_error *err) {
    size_t size = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(program, worker->info.device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) ==
            CL_SUCCESS &&
        size > 0)
        log = ember_malloc(size + 1);
    if (!log || clGetProgramBuildInfo(program, worker->info.device, CL_PROGRAM_BUILD_LOG, size, log,
                                      NULL) != CL_SUCCESS) {
        ember_free(log);
        return ember_error_set(err, EMBER_ERROR_BUILD,
                               "kernel build failed on %s: (no build log available)",
                               worker->info.name);
    }
    log[size] = '\0';
    char *start = log;
    while (is_space(*start))
        start++;
    size_t len = strlen(start);
    while (len > 0 && is_space(start[len - 1]))
        start[--len] = '\0';
    /* ember_error_set cuts the message to the record's size. */
    ember_status status = ember_error_set(err, EMBER_ERROR_BUILD, "kernel build failed on %s: %s",
                                          worker->info.name, *start ? start : "(empty build log)");
    ember_free(log);
    return status;
}

static ember_status build_from_source(const ember_worker *worker, const char *source,
                                      size_t source_len, const char *options, cl_program *out,
                                      ember_error *err) {
    cl_int rc = CL_SUCCESS;
    char what[384];
    cl_program program = clCreateProgramWithSource(worker->context, 1, &source, &source_len, &rc);
    if (rc != CL_SUCCESS || !program) {
        snprintf(what, sizeof what, "clCreateProgramWithSource on %s", worker->info.name);
        return ember_cl_fail(err, rc != CL_SUCCESS ? rc : CL_INVALID_PROGRAM, what);
    }
    rc = clBuildProgram(program, 1, &worker->info.device, options, NULL, NULL);
    if (rc != CL_SUCCESS) {
        ember_status status;
        if (rc == CL_BUILD_PROGRAM_FAILURE) {
            status = build_failed(program, worker, err);
        } else if (rc == CL_INVALID_BUILD_OPTIONS) {
            status = ember_error_set(err, EMBER_ERROR_BUILD,
                                     "kernel build failed on %s: invalid build options '%s'",
                                     worker->info.name, options);
        } else {
            snprintf(what, sizeof what, "clBuildProgram on %s", worker->info.name);
            status = ember_cl_fail(err, rc, what);
        }
        clReleaseProgram(program);
        return status;
    }
    *out = program;
    return EMBER_OK;
}

/* ---------------------------------------------------------------------------------------
 * The cache.
 * ------------------------------------------------------------------------------------- */

ember_program_cache *ember_program_cache_create(const char *disk_dir) {
    ember_program_cache *cache = ember_calloc(1, sizeof *cache);
    if (!cache)
        return NULL;
    /* "off" is accepted here too, so a setting can be passed through unchanged. */
    if (disk_dir && *disk_dir && strcasecmp(disk_dir, "off") != 0) {
        cache->disk_dir = ember_strdup(disk_dir);
        if (!cache->disk_dir)
            goto fail_dir;
    }
    if (pthread_mutex_init(&cache->lock, NULL) != 0)
        goto fail_dir;
    if (pthread_cond_init(&cache->built, NULL) != 0)
        goto fail_lock;
    return cache;

fail_lock:
    pthread_mutex_destroy(&cache->lock);
fail_dir:
    ember_free(cache->disk_dir);
    ember_free(cache);
    return NULL;
}

void ember_program_cache_free(ember_program_cache *cache) {
    if (!cache)
        return;
    for (int b = 0; b < BUCKET_COUNT; b++) {
        program_entry *entry = cache->buckets[b];
        while (entry) {
            program_entry *next = entry->next;
            if (entry->program)
                clReleaseProgram(entry->program);
            ember_free(entry);
            entry = next;
        }
    }
    pthread_cond_destroy(&cache->built);
    pthread_mutex_destroy(&cache->lock);
    ember_free(cache->disk_dir);
    ember_free(cache);
}

static program_entry **bucket_of(ember_program_cache *cache, program_key key) {
    return &cache->buckets[key.fnv % BUCKET_COUNT];
}

/* Programs belong to a context, so the memory key holds the context as well as the device: a
 * worker reopened later gets its own programs. Call with the lock held. */
static program_entry *entry_find(ember_program_cache *cache, const ember_worker *worker,
                                 program_key key) {
    for (program_entry *e = *bucket_of(cache, key); e; e = e->next)
        if (e->context == worker->context && e->device == worker->info.device &&
            e->key.fnv == key.fnv && e->key.mix == key.mix)
            return e;
    return NULL;
}

static void entry_remove(ember_program_cache *cache, program_entry *entry) {
    for (program_entry **link = bucket_of(cache, entry->key); *link; link = &(*link)->next) {
        if (*link == entry) {
            *link = entry->next;
            return;
        }
    }
}

/* Builds the program of entry (which this thread has marked as building): from the disk
 * cache when a good binary is there, else from source, saving the binary for next time. */
static ember_status entry_build(ember_program_cache *cache, const ember_worker *worker,
                                program_key key, const char *source, size_t source_len,
                                const char *options, cl_program *out, bool *from_disk,
                                ember_error *err) {
    char hex[33];
    key_hex(key, hex);
    *from_disk = false;
    if (cache->disk_dir) {
        cl_program program = cache_load(cache->disk_dir, hex, key, worker, options);
        if (program) {
            *from_disk = true;
            *out = program;
            return EMBER_OK;
        }
    }
    ember_status status = build_from_source(worker, source, source_len, options, out, err);
    if (status == EMBER_OK && cache->disk_dir)
        cache_save(cache->disk_dir, hex, key, *out);
    return status;
}

ember_status ember_program_get(ember_program_cache *cache, const ember_worker *worker,
                               const char *source, size_t source_len, const char *options,
                               cl_program *out, ember_error *err) {
    if (!cache || !worker || !source || !out)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "ember_program_get: cache, worker, source and out are required");
    /* A zero length means a NUL-terminated source, as clCreateProgramWithSource has it. */
    if (source_len == 0)
        source_len = strlen(source);
    size_t options_len = options ? strlen(options) : 0;
    char *full_options = ember_malloc(sizeof STANDARD_OPTION + 1 + options_len);
    if (!full_options)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                               "out of memory building a program for %s", worker->info.name);
    if (options_len)
        sprintf(full_options, "%s %s", STANDARD_OPTION, options);
    else
        sprintf(full_options, "%s", STANDARD_OPTION);
    program_key key = key_compute(&worker->info, source, source_len, full_options);

    ember_status status = EMBER_OK;
    pthread_mutex_lock(&cache->lock);
    program_entry *entry;
    while ((entry = entry_find(cache, worker, key)) && entry->building)
        pthread_cond_wait(&cache->built, &cache->lock);
    if (entry) {
        cache->stats.memory_hits++;
        *out = entry->program;
        pthread_mutex_unlock(&cache->lock);
        goto done;
    }
    entry = ember_calloc(1, sizeof *entry);
    if (!entry) {
        pthread_mutex_unlock(&cache->lock);
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                                 "out of memory building a program for %s", worker->info.name);
        goto done;
    }
    entry->context = worker->context;
    entry->device = worker->info.device;
    entry->key = key;
    entry->building = true;
    program_entry **bucket = bucket_of(cache, key);
    entry->next = *bucket;
    *bucket = entry;
    pthread_mutex_unlock(&cache->lock);

    cl_program program = NULL;
    bool from_disk = false;
    status = entry_build(cache, worker, key, source, source_len, full_options, &program, &from_disk,
                         err);

    pthread_mutex_lock(&cache->lock);
    if (from_disk)
        cache->stats.disk_hits++;
    else
        cache->stats.builds++; /* failed builds count too: they cost the same time */
    if (status == EMBER_OK) {
        entry->program = program;
        entry->building = false;
        *out = program;
    } else {
        /* Waiters then find no entry and build for themselves, getting their own message. */
        entry_remove(cache, entry);
        ember_free(entry);
    }
    pthread_cond_broadcast(&cache->built);
    pthread_mutex_unlock(&cache->lock);

done:
    ember_free(full_options);
    return status;
}

ember_program_stats ember_program_cache_stats(ember_program_cache *cache) {
    ember_program_stats stats = {0, 0, 0};
    if (!cache)
        return stats;
    pthread_mutex_lock(&cache->lock);
    stats = cache->stats;
    pthread_mutex_unlock(&cache->lock);
    return stats;
}

const char *ember_program_cache_default_dir(char *buf, size_t len) {
    if (!buf || len == 0)
        return NULL;
    const char *dir = getenv("EMBER_CACHE_DIR");
    const char *base = NULL, *suffix = "";
    int n;
    if (dir && *dir) {
        if (strcasecmp(dir, "off") == 0)
            return NULL;
        base = dir;
    } else if ((dir = getenv("XDG_CACHE_HOME")) && *dir) {
        base = dir;
        suffix = "/ember";
    } else if ((dir = getenv("HOME")) && *dir) {
        base = dir;
        suffix = "/.cache/ember";
    } else {
        return NULL;
    }
    n = snprintf(buf, len, "%s%s", base, suffix);
    if (n < 0 || (size_t)n >= len)
        return NULL;
    return buf;
}
