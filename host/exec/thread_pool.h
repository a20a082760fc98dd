/* thread_pool.h: a fixed pool of host threads that runs the tasks of a stage: a parallel loop
 * over task indexes, handed out one at a time so slow tasks do not hold up the others. */
#ifndef EMBER_EXEC_THREAD_POOL_H
#define EMBER_EXEC_THREAD_POOL_H

typedef struct ember_thread_pool ember_thread_pool;

/* threads >= 1. NULL when out of memory or threads cannot start. */
ember_thread_pool *ember_thread_pool_create(int threads);
void ember_thread_pool_free(ember_thread_pool *pool);
int ember_thread_pool_size(const ember_thread_pool *pool);

/* Calls task(context, index, worker) for every index in [0, count) on the pool's threads and
 * returns when all have returned. worker in [0, size) identifies the calling thread, so a task
 * can use per-thread resources (a command queue). One run at a time per pool. */
void ember_thread_pool_run(ember_thread_pool *pool, int count,
                           void (*task)(void *context, int index, int worker), void *context);

#endif
