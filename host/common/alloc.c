/* alloc.c: ember's allocator. Everything allocates here so a test can fail the Nth allocation
 * (ember_alloc_fail_after) and check that the failure is reported and nothing leaks. */
#include "common/alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static atomic_long fail_countdown;

void ember_alloc_fail_after(long countdown) {
    atomic_store(&fail_countdown, countdown);
}

/* True when the test hook says this allocation must fail. */
static int injected_failure(void) {
    long left = atomic_load(&fail_countdown);
    while (left > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &left, left - 1))
            return left == 1;
    }
    return 0;
}

void *ember_malloc(size_t size) {
    if (injected_failure())
        return NULL;
    return malloc(size ? size : 1);
}

void *ember_calloc(size_t count, size_t size) {
    if (injected_failure())
        return NULL;
    if (count == 0 || size == 0)
        count = size = 1;
    return calloc(count, size);
}

void *ember_realloc(void *ptr, size_t size) {
    if (injected_failure())
        return NULL;
    return realloc(ptr, size ? size : 1);
}

void ember_free(void *ptr) {
    free(ptr);
}

char *ember_strndup(const char *text, size_t len) {
    char *copy = ember_malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    return copy;
}

char *ember_strdup(const char *text) {
    return ember_strndup(text, strlen(text));
}

int ember_text_replace(char **slot, const char *text) {
    char *copy = NULL;
    if (text && !(copy = ember_strdup(text)))
        return -1;
    ember_free(*slot);
    *slot = copy;
    return 0;
}

static size_t page_size(void) {
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096;
}

size_t ember_aligned_size(size_t size) {
    size_t page = page_size();
    if (size == 0)
        size = 1;
    if (size > SIZE_MAX - page)
        return 0;
    return (size + page - 1) / page * page;
}

/* Big page-aligned blocks (column buffers, a partition's worth of values) are kept when freed
 * and handed out again: a fresh block from the system costs a page fault and a page clearing
 * per 4 KiB written, which was a tenth of a CSV query's time. The cache is small (REUSE_BLOCKS
 * blocks, REUSE_BYTES in all), a block is reused only for a request of at least half its size,
 * and ember_alloc_release (at session close) empties it. Under AddressSanitizer blocks are
 * never reused, so a use after free is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define REUSE_BLOCKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REUSE_BLOCKS 0
#endif
#endif
#ifndef REUSE_BLOCKS
#define REUSE_BLOCKS 16
#endif
#define REUSE_MIN_BYTES ((size_t)1 << 20)
#define REUSE_BYTES     ((size_t)256 << 20)

typedef struct reuse_cache {
    pthread_mutex_t lock;
    void *blocks[REUSE_BLOCKS + 1];
    size_t sizes[REUSE_BLOCKS + 1];
    int count;
    size_t bytes;
} reuse_cache;

static reuse_cache reuse = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The smallest cached block of at least rounded bytes and at most twice that, or NULL. */
static void *reuse_take(size_t rounded) {
    void *block = NULL;
    pthread_mutex_lock(&reuse.lock);
    int best = -1;
    for (int i = 0; i < reuse.count; i++)
        if (reuse.sizes[i] >= rounded && reuse.sizes[i] / 2 <= rounded &&
            (best < 0 || reuse.sizes[i] < reuse.sizes[best]))
            best = i;
    if (best >= 0) {
        block = reuse.blocks[best];
        reuse.bytes -= reuse.sizes[best];
        reuse.count--;
        reuse.blocks[best] = reuse.blocks[reuse.count];
        reuse.sizes[best] = reuse.sizes[reuse.count];
    }
    pthread_mutex_unlock(&reuse.lock);
    return block;
}

/* Keeps block (size bytes) if there is room; false when the caller must free it. */
static bool reuse_keep(void *block, size_t size) {
    bool kept = false;
    pthread_mutex_lock(&reuse.lock);
    if (reuse.count < REUSE_BLOCKS && reuse.bytes + size <= REUSE_BYTES) {
        reuse.blocks[reuse.count] = block;
        reuse.sizes[reuse.count++] = size;
        reuse.bytes += size;
        kept = true;
    }
    pthread_mutex_unlock(&reuse.lock);
    return kept;
}

void ember_alloc_release(void) {
    pthread_mutex_lock(&reuse.lock);
    for (int i = 0; i < reuse.count; i++)
        free(reuse.blocks[i]);
    reuse.count = 0;
    reuse.bytes = 0;
    pthread_mutex_unlock(&reuse.lock);
}

size_t ember_alloc_cached_bytes(void) {
    pthread_mutex_lock(&reuse.lock);
    size_t bytes = reuse.bytes;
    pthread_mutex_unlock(&reuse.lock);
    return bytes;
}

/* A header before each big block would break its page alignment, so the size the block was
 * made with is asked of the allocator (glibc); elsewhere nothing is reused. */
static size_t block_size(void *ptr) {
#if defined(__GLIBC__)
    return malloc_usable_size(ptr);
#else
    (void)ptr;
    return 0;
#endif
}

void *ember_malloc_aligned(size_t size) {
    size_t rounded = ember_aligned_size(size);
    if (rounded == 0 || injected_failure())
        return NULL;
    void *ptr = NULL;
    if (REUSE_BLOCKS > 0 && rounded >= REUSE_MIN_BYTES && (ptr = reuse_take(rounded)))
        return ptr;
    if (posix_memalign(&ptr, page_size(), rounded) != 0)
        return NULL;
    return ptr;
}

void ember_free_aligned(void *ptr) {
    if (!ptr)
        return;
    if (REUSE_BLOCKS > 0) {
        size_t size = block_size(ptr);
        if (size >= REUSE_MIN_BYTES && reuse_keep(ptr, size))
            return;
    }
    free(ptr);
}
