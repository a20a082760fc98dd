/* alloc.c: ember's allocator. Everything allocates here so a test can fail the Nth allocation
 * (ember_alloc_fail_after) and check that the failure is reported and nothing leaks. */
#include "common/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* Blocks of at least two huge pages (a partition's columns) are aligned to them and offered to
 * the kernel as transparent huge pages: a fresh column then faults in 2 MiB at a time, not 4 KiB
 * (the faults of fresh column buffers were a visible share of a scan). */
#define HUGE_PAGE ((size_t)2 << 20)

void *ember_malloc_aligned(size_t size) {
    size_t rounded = ember_aligned_size(size);
    if (rounded == 0 || injected_failure())
        return NULL;
    size_t alignment = page_size();
    if (rounded >= 2 * HUGE_PAGE && rounded <= SIZE_MAX - HUGE_PAGE) {
        alignment = HUGE_PAGE;
        rounded = (rounded + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    }
    void *ptr = NULL;
    if (posix_memalign(&ptr, alignment, rounded) != 0)
        return NULL;
#if defined(MADV_HUGEPAGE)
    if (alignment == HUGE_PAGE)
        madvise(ptr, rounded, MADV_HUGEPAGE); /* advice only: no huge pages is no error */
#endif
    return ptr;
}

void ember_free_aligned(void *ptr) {
    free(ptr);
}
