/* test_thread_pool.c: every task index runs exactly once, on a worker id in range, across
 * repeated runs and pool sizes. */
#include "testutil.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "exec/thread_pool.h"

typedef struct run_state {
    atomic_int *hits;
    int size;
    atomic_int bad_worker;
} run_state;

static void task(void *context, int index, int worker) {
    run_state *run = context;
    atomic_fetch_add(&run->hits[index], 1);
    if (worker < 0 || worker >= run->size)
        atomic_store(&run->bad_worker, 1);
}

static void test_each_index_once(void **state) {
    (void)state;
    for (int size = 1; size <= 5; size++) {
        ember_thread_pool *pool = ember_thread_pool_create(size);
        assert_non_null(pool);
        assert_int_equal(ember_thread_pool_size(pool), size);
        for (int count = 0; count <= 300; count += 37) {
            run_state run = {.hits = calloc((size_t)count + 1, sizeof(atomic_int)), .size = size};
            ember_thread_pool_run(pool, count, task, &run);
            for (int i = 0; i < count; i++)
                assert_int_equal(atomic_load(&run.hits[i]), 1);
            assert_int_equal(atomic_load(&run.bad_worker), 0);
            free(run.hits);
        }
        ember_thread_pool_free(pool);
    }
    ember_thread_pool_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_index_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
