/* bench_limits.c: the machine's physical limits that bound any CSV query: reading the file from
 * the page cache, and memory bandwidth over a buffer far bigger than the last-level cache. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define CHUNK      (1u << 20)
#define BUFFER     (256u << 20) /* 8x the 32 MiB L3 of the machine measured; bigger than most */
#define REPEATS    3            /* best of three: the limit is the fastest the machine can go */
#define MAX_THREAD 64

/* One pass of read() over the file; returns seconds, or -1. */
static double read_once(const char *path, char *chunk, int64_t *bytes) {
    double started = bench_now();
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1.0;
    int64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return -1.0;
        }
        if (n == 0)
            break;
        total += n;
    }
    close(fd);
    *bytes = total;
    return bench_now() - started;
}

double bench_pagecache_read(const char *path, int64_t *bytes) {
    char *chunk = malloc(CHUNK);
    if (!chunk)
        return -1.0;
    double best = read_once(path, chunk, bytes); /* the first pass fills the page cache */
    for (int i = 0; best >= 0 && i < REPEATS; i++) {
        double seconds = read_once(path, chunk, bytes);
        if (seconds >= 0 && seconds < best)
            best = seconds;
    }
    free(chunk);
    return best;
}

typedef struct sum_slice {
    const uint64_t *words;
    size_t count;
    uint64_t sum;
} sum_slice;

static void *sum_words(void *arg) {
    sum_slice *slice = arg;
    /* Four accumulators so the loop is bound by loads, not by one add chain. */
    uint64_t a = 0, b = 0, c = 0, d = 0;
    size_t i = 0;
    for (; i + 4 <= slice->count; i += 4) {
        a += slice->words[i];
        b += slice->words[i + 1];
        c += slice->words[i + 2];
        d += slice->words[i + 3];
    }
    for (; i < slice->count; i++)
        a += slice->words[i];
    slice->sum = a + b + c + d;
    return NULL;
}

/* The sum is printed nowhere but stored here, so the compiler cannot drop the loads. */
volatile uint64_t bench_limits_sink;

double bench_memory_read_rate(int threads) {
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREAD)
        threads = MAX_THREAD;
    uint64_t *words = aligned_alloc(4096, BUFFER);
    if (!words)
        return -1.0;
    size_t count = BUFFER / sizeof *words;
    for (size_t i = 0; i < count; i++) /* touch every page before timing */
        words[i] = i;
    double best = -1.0;
    for (int r = 0; r < REPEATS; r++) {
        sum_slice slices[MAX_THREAD];
        pthread_t ids[MAX_THREAD];
        bool running[MAX_THREAD] = {false};
        double started = bench_now();
        for (int t = 0; t < threads; t++) {
            size_t begin = count / (size_t)threads * (size_t)t;
            size_t end = t == threads - 1 ? count : count / (size_t)threads * (size_t)(t + 1);
            slices[t] = (sum_slice){words + begin, end - begin, 0};
            /* Slice 0, and any whose thread failed to start, runs on this thread below. */
            running[t] = t > 0 && pthread_create(&ids[t], NULL, sum_words, &slices[t]) == 0;
        }
        for (int t = 0; t < threads; t++)
            if (!running[t])
                sum_words(&slices[t]);
        for (int t = 1; t < threads; t++)
            if (running[t])
                pthread_join(ids[t], NULL);
        double seconds = bench_now() - started;
        for (int t = 0; t < threads; t++)
            bench_limits_sink += slices[t].sum;
        if (best < 0 || seconds < best)
            best = seconds;
    }
    free(words);
    return best > 0 ? (double)BUFFER / best : -1.0;
}

double bench_memcpy_rate(void) {
    char *from = aligned_alloc(4096, BUFFER), *to = aligned_alloc(4096, BUFFER);
    if (!from || !to) {
        free(from);
        free(to);
        return -1.0;
    }
    memset(from, 1, BUFFER);
    memset(to, 2, BUFFER);
    double best = -1.0;
    for (int r = 0; r < REPEATS; r++) {
        double started = bench_now();
        memcpy(to, from, BUFFER);
        double seconds = bench_now() - started;
        bench_limits_sink += (uint64_t)to[r * 4096];
        if (best < 0 || seconds < best)
            best = seconds;
    }
    free(from);
    free(to);
    return best > 0 ? (double)BUFFER / best : -1.0;
}
