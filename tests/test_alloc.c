/* test_alloc.c: the allocator's reuse of big page-aligned blocks: a freed block serves a later
 * request of at least half its size, the cache stays within its bounds, threads never share a
 * block, injected failures still fail, and release empties it. */
#include "testutil.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define REUSES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REUSES 0
#endif
#endif
#ifndef REUSES
#define REUSES 1
#endif

#define MIB ((size_t)1 << 20)

static bool page_aligned(const void *p) {
    return (uintptr_t)p % (uintptr_t)sysconf(_SC_PAGESIZE) == 0;
}

static void test_reuse_of_a_freed_block(void **state) {
    (void)state;
    ember_alloc_release();
    assert_int_equal(ember_alloc_cached_bytes(), 0);
    unsigned char *p = ember_malloc_aligned(3 * MIB);
    assert_non_null(p);
    assert_true(page_aligned(p));
    memset(p, 0xAB, 3 * MIB);
    ember_free_aligned(p);
    if (!REUSES) {
        assert_int_equal(ember_alloc_cached_bytes(), 0);
        return;
    }
    assert_true(ember_alloc_cached_bytes() >= 3 * MIB);
    /* Too small for it (under half its size): a new block, the cached one stays. */
    unsigned char *small = ember_malloc_aligned(MIB);
    assert_non_null(small);
    assert_ptr_not_equal(small, p);
    unsigned char *q = ember_malloc_aligned(2 * MIB);
    assert_ptr_equal(q, p);
    assert_int_equal(ember_alloc_cached_bytes(), 0);
    memset(q, 0x11, 2 * MIB);
    /* Below the reuse size: never kept. */
    void *tiny = ember_malloc_aligned(4096);
    assert_non_null(tiny);
    ember_free_aligned(tiny);
    assert_int_equal(ember_alloc_cached_bytes(), 0);
    /* An injected failure fails even with a block at hand. */
    ember_free_aligned(q);
    ember_alloc_fail_after(1);
    assert_null(ember_malloc_aligned(2 * MIB));
    ember_alloc_fail_after(0);
    ember_free_aligned(small);
    ember_alloc_release();
    assert_int_equal(ember_alloc_cached_bytes(), 0);
}

static void test_cache_bounds(void **state) {
    (void)state;
    ember_alloc_release();
    enum { BLOCKS = 40 };
    void *blocks[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = ember_malloc_aligned(8 * MIB);
        assert_non_null(blocks[i]);
    }
    for (int i = 0; i < BLOCKS; i++)
        ember_free_aligned(blocks[i]);
    size_t cached = ember_alloc_cached_bytes();
    assert_true(cached <= 256 * MIB);
    if (REUSES)
        assert_true(cached >= 8 * MIB);
    ember_alloc_release();
    assert_int_equal(ember_alloc_cached_bytes(), 0);
}

/* Each thread fills its blocks with its own byte and checks them before freeing: a block
 * handed to two threads at once would show the other's byte. */
static void *churn(void *arg) {
    unsigned char mark = (unsigned char)(uintptr_t)arg;
    uint64_t seed = mark * 7919u + 1;
    for (int round = 0; round < 60; round++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t size = MIB + (size_t)(seed >> 40) % (3 * MIB);
        unsigned char *block = ember_malloc_aligned(size);
        if (!block)
            return (void *)1;
        memset(block, mark, size);
        for (size_t i = 0; i < size; i += 4093)
            if (block[i] != mark)
                return (void *)1;
        if (block[size - 1] != mark)
            return (void *)1;
        ember_free_aligned(block);
    }
    return NULL;
}

static void test_threads_never_share_a_block(void **state) {
    (void)state;
    pthread_t threads[4];
    for (uintptr_t t = 0; t < 4; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, churn, (void *)(t + 1)), 0);
    for (int t = 0; t < 4; t++) {
        void *result = (void *)1;
        pthread_join(threads[t], &result);
        assert_null(result);
    }
    ember_alloc_release();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_of_a_freed_block),
        cmocka_unit_test(test_cache_bounds),
        cmocka_unit_test(test_threads_never_share_a_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
