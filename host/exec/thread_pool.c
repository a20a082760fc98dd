/* thread_pool.c: the host thread pool.
 *
 * Locking: `lock` guards every field below it in the struct. A run publishes (task, context,
 * count, next = 0, generation + 1) under the lock and broadcasts `work`; workers take indexes
 * with `next` under the lock (tasks are coarse, whole partitions, so the lock is not hot),
 * and the last one to finish an index broadcasts `done`. */
#include "exec/thread_pool.h"

#include <pthread.h>

#include "common/alloc.h"

typedef struct worker_arg {
    ember_thread_pool *pool;
    int id;
} worker_arg;

struct ember_thread_pool {
    int size, started;
    pthread_t *threads;
    worker_arg *args;
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    void (*task)(void *, int, int);
    void *context;
    int count, next, finished;
    unsigned long generation;
    int quit;
};

static void *worker_main(void *raw) {
    worker_arg *arg = raw;
    ember_thread_pool *pool = arg->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->quit && (pool->generation == seen || pool->next >= pool->count))
            pthread_cond_wait(&pool->work, &pool->lock);
        if (pool->quit)
            break;
        seen = pool->generation;
        while (pool->next < pool->count) {
            int index = pool->next++;
            pthread_mutex_unlock(&pool->lock);
            pool->task(pool->context, index, arg->id);
            pthread_mutex_lock(&pool->lock);
            if (++pool->finished == pool->count)
                pthread_cond_broadcast(&pool->done);
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

ember_thread_pool *ember_thread_pool_create(int threads) {
    if (threads < 1)
        threads = 1;
    ember_thread_pool *pool = ember_calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->size = threads;
    pool->threads = ember_calloc((size_t)threads, sizeof *pool->threads);
    pool->args = ember_calloc((size_t)threads, sizeof *pool->args);
    if (!pool->threads || !pool->args) {
        ember_free(pool->threads);
        ember_free(pool->args);
        ember_free(pool);
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->done, NULL);
    for (int i = 0; i < threads; i++) {
        pool->args[i] = (worker_arg){pool, i};
        if (pthread_create(&pool->threads[i], NULL, worker_main, &pool->args[i]) != 0) {
            ember_thread_pool_free(pool);
            return NULL;
        }
        pool->started++;
    }
    return pool;
}

void ember_thread_pool_free(ember_thread_pool *pool) {
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->quit = 1;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->started; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->work);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->lock);
    ember_free(pool->threads);
    ember_free(pool->args);
    ember_free(pool);
}

int ember_thread_pool_size(const ember_thread_pool *pool) {
    return pool->size;
}

void ember_thread_pool_run(ember_thread_pool *pool, int count,
                           void (*task)(void *context, int index, int worker), void *context) {
    if (count <= 0)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->task = task;
    pool->context = context;
    pool->count = count;
    pool->next = 0;
    pool->finished = 0;
    pool->generation++;
    pthread_cond_broadcast(&pool->work);
    while (pool->finished < pool->count)
        pthread_cond_wait(&pool->done, &pool->lock);
    pool->count = 0;
    pthread_mutex_unlock(&pool->lock);
}
