/* baseline_q1.c: ember-baseline-q1, the plain C baseline for Q1 (groupBy(category).count()): one
 * thread, read() + libcsv + an open-addressing hash table on the category string. No OpenCL, no
 * ember. Usage: ember-baseline-q1 FILE [--key NAME] [--trials N] [--print] */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <csv.h>

#define CHUNK          (1u << 20) /* as the page-cache limit reads it */
#define INITIAL_SLOTS  1024u      /* a power of two */
#define ARENA_MIN_SIZE (1u << 16)

/* One group: the key's bytes live in the arena; an empty slot has key == NULL. */
typedef struct slot {
    const char *key;
    size_t length;
    uint64_t hash;
    int64_t count;
} slot;

/* Keys are copied into large blocks, freed all at once: one malloc per group would cost more
 * than the hashing for a million groups. */
typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    char data[];
} arena_block;

typedef struct q1_state {
    slot *slots;
    size_t capacity, groups;
    arena_block *arena;
    const char *key_name;
    long key_column; /* -1 until the header names it */
    long field;      /* index of the next field in the current record */
    int64_t rows;    /* data records */
    bool header_done, failed;
} q1_state;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* FNV-1a: simple, good enough for short keys like "cat_0123", and the same on every machine. */
static uint64_t hash_bytes(const char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

static const char *arena_copy(q1_state *s, const char *p, size_t n) {
    arena_block *block = s->arena;
    if (!block || block->size - block->used < n) {
        size_t size = n > ARENA_MIN_SIZE ? n : ARENA_MIN_SIZE;
        arena_block *fresh = malloc(sizeof *fresh + size);
        if (!fresh)
            return NULL;
        *fresh = (arena_block){block, 0, size};
        s->arena = block = fresh;
    }
    char *copy = block->data + block->used;
    memcpy(copy, p, n);
    block->used += n;
    return copy;
}

static bool grow(q1_state *s) {
    size_t capacity = s->capacity * 2;
    slot *slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < s->capacity; i++) {
        if (!s->slots[i].key)
            continue;
        size_t at = s->slots[i].hash & (capacity - 1);
        while (slots[at].key)
            at = (at + 1) & (capacity - 1);
        slots[at] = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->capacity = capacity;
    return true;
}

/* Linear probing; the table doubles at half full so probes stay short. */
static void count_key(q1_state *s, const char *p, size_t n) {
    uint64_t h = hash_bytes(p, n);
    size_t at = h & (s->capacity - 1);
    for (;;) {
        slot *e = &s->slots[at];
        if (!e->key)
            break;
        if (e->hash == h && e->length == n && memcmp(e->key, p, n) == 0) {
            e->count++;
            return;
        }
        at = (at + 1) & (s->capacity - 1);
    }
    /* An empty key still needs a non-NULL pointer to mark the slot used. */
    const char *key = n ? arena_copy(s, p, n) : "";
    if (!key) {
        s->failed = true;
        return;
    }
    s->slots[at] = (slot){key, n, h, 1};
    if (++s->groups * 2 > s->capacity && !grow(s))
        s->failed = true;
}

static void on_field(void *data, size_t n, void *context) {
    q1_state *s = context;
    if (!s->header_done) {
        if (s->key_column < 0 && n == strlen(s->key_name) && memcmp(data, s->key_name, n) == 0)
            s->key_column = s->field;
    } else if (s->field == s->key_column) {
        count_key(s, data, n);
    }
    s->field++;
}

static void on_record(int terminator, void *context) {
    q1_state *s = context;
    if (s->header_done)
        s->rows++;
    s->header_done = true;
    s->field = 0;
}

/* Spaces are data, as in ember (libcsv trims them by default). */
static int no_space(unsigned char c) {
    return 0;
}

static void state_free(q1_state *s) {
    while (s->arena) {
        arena_block *next = s->arena->next;
        free(s->arena);
        s->arena = next;
    }
    free(s->slots);
    s->slots = NULL;
}

/* One Q1 over path; returns seconds from open to the finished table, or -1. */
static double run_q1(const char *path, const char *key, char *chunk, q1_state *s) {
    double started = now();
    *s = (q1_state){.capacity = INITIAL_SLOTS, .key_name = key, .key_column = -1};
    s->slots = calloc(s->capacity, sizeof *s->slots);
    struct csv_parser parser;
    int fd = open(path, O_RDONLY);
    if (!s->slots || fd < 0 || csv_init(&parser, 0) != 0) {
        fprintf(stderr, "ember-baseline-q1: %s: %s\n", path, strerror(fd < 0 ? errno : ENOMEM));
        if (fd >= 0)
            close(fd);
        return -1.0;
    }
    csv_set_space_func(&parser, no_space);
    bool ok = true;
    for (;;) {
        ssize_t n = read(fd, chunk, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        if (csv_parse(&parser, chunk, (size_t)n, on_field, on_record, s) != (size_t)n) {
            fprintf(stderr, "ember-baseline-q1: %s: %s\n", path, csv_strerror(csv_error(&parser)));
            ok = false;
            break;
        }
    }
    csv_fini(&parser, on_field, on_record, s);
    csv_free(&parser);
    close(fd);
    double seconds = now() - started;
    if (s->key_column < 0) {
        fprintf(stderr, "ember-baseline-q1: %s: no column named '%s'\n", path, key);
        ok = false;
    }
    if (s->failed)
        fprintf(stderr, "ember-baseline-q1: out of memory\n");
    return ok && !s->failed ? seconds : -1.0;
}

int main(int argc, char **argv) {
    const char *path = NULL, *key = "category";
    int trials = 1;
    bool print = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
            key = argv[++i];
        else if (strcmp(argv[i], "--trials") == 0 && i + 1 < argc)
            trials = atoi(argv[++i]);
        else if (strcmp(argv[i], "--print") == 0)
            print = true;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "usage: ember-baseline-q1 FILE [--key NAME] [--trials N] [--print]\n");
            return 2;
        }
    }
    if (!path || trials < 1) {
        fprintf(stderr, "usage: ember-baseline-q1 FILE [--key NAME] [--trials N] [--print]\n");
        return 2;
    }
    char *chunk = malloc(CHUNK);
    if (!chunk)
        return 1;
    int code = 0;
    for (int t = 1; t <= trials && !code; t++) {
        q1_state s;
        double seconds = run_q1(path, key, chunk, &s);
        if (seconds < 0) {
            code = 1;
        } else {
            printf("{\"query\":\"Q1\",\"mode\":\"baseline\",\"engine\":\"libcsv + open-addressing "
                   "hash, 1 thread\",\"trial\":%d,\"rows\":%lld,\"groups\":%zu,\"seconds\":%.6f}\n",
                   t, (long long)s.rows, s.groups, seconds);
            for (size_t i = 0; print && t == trials && i < s.capacity; i++)
                if (s.slots[i].key)
                    printf("%.*s,%lld\n", (int)s.slots[i].length, s.slots[i].key,
                           (long long)s.slots[i].count);
        }
        state_free(&s);
    }
    free(chunk);
    return code;
}
