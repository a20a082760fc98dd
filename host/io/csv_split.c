/* csv_split.c: finds record starts in a CSV buffer by running libcsv's own state machine
 * (non-strict, no space trimming), and cuts the buffer there so each range parses on its own. */
#include "io/csv_split.h"

#include <limits.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "common/alloc.h"
#include "io/csv_rows.h"
#include "io/csv_scan.h"

size_t ember_csv_bom_length(const char *buf, size_t len) {
    return buf && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

size_t ember_csv_record_end(const char *buf, size_t len, size_t begin, ember_csv_dialect dialect,
                            int64_t *lines) {
    if (lines)
        *lines = 0;
    if (!buf || begin >= len)
        return len;
    ember_csv_row_scanner s;
    ember_csv_rows_init(&s, buf, begin, len, dialect);
    ember_csv_rows_scan_to(&s, 0);
    if (lines)
        *lines = s.lines;
    return s.pos;
}

/* Cut targets: an explicit ascending list, or parts evenly spaced ones. */
typedef struct cut_targets {
    const size_t *list;
    size_t count;
    size_t begin, span, parts;
} cut_targets;

static size_t target_at(const cut_targets *targets, size_t k) {
    if (targets->list)
        return targets->list[k];
    /* begin + floor(span * (k + 1) / parts) without overflowing span * (k + 1). */
    size_t n = k + 1, span = targets->span, parts = targets->parts;
    return targets->begin + span / parts * n + span % parts * n / parts;
}

typedef struct split_list {
    ember_split *items;
    int count, capacity;
} split_list;

static ember_status split_list_push(split_list *list, ember_split split, ember_error *err) {
    if (list->count == list->capacity) {
        if (list->capacity > INT_MAX / 2)
            return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                   "csv split: more than %d ranges", INT_MAX / 2);
        int capacity = list->capacity ? list->capacity * 2 : 16;
        ember_split *items = ember_realloc(list->items, (size_t)capacity * sizeof *items);
        if (!items)
            return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                                   "csv split: out of memory for %d ranges", capacity);
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count++] = split;
    return EMBER_OK;
}

/* A record start a scan stopped at, with the line breaks and records before it counted from
 * where that scan began. */
typedef struct stop {
    size_t pos;
    int64_t lines, records;
} stop;

typedef struct stop_list {
    stop *items;
    size_t count, capacity;
} stop_list;

static bool stop_list_push(stop_list *list, stop item) {
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 16;
        stop *items = ember_realloc(list->items, capacity * sizeof *items);
        if (!items)
            return false;
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count++] = item;
    return true;
}

static stop stop_here(const ember_csv_row_scanner *s) {
    return (stop){s->pos, s->lines, s->records};
}

/* What the scan of one chunk found. A chunk other than the first starts at a guess, the first
 * byte after a line break (start): its scan is right from its first stop on if the scan before
 * it stops there too, since at a record start libcsv's state is the position alone. */
typedef struct chunk_scan {
    size_t start, bound; /* bound: the next chunk's start (len for the last chunk) */
    bool has_first;
    stop first;      /* the first stop after start */
    stop_list cuts;  /* a stop for each target after first.pos up to last.pos */
    bool ended;      /* the buffer ended before a stop past bound */
    stop last;       /* the first stop past bound */
    bool out_of_mem; /* cuts is incomplete */
} chunk_scan;

/* The index of the first target after pos. */
static size_t first_target_after(const cut_targets *targets, size_t pos) {
    size_t lo = 0, hi = targets->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (target_at(targets, mid) <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* From s at a record start: a cut for each target after it, as split_ranges places them, up to
 * the first stop past bound, which is last (and a cut too if a target lies before it). */
static void walk_chunk(ember_csv_row_scanner *s, const cut_targets *targets, chunk_scan *out) {
    const size_t len = s->len, bound = out->bound;
    size_t k = first_target_after(targets, s->pos);
    size_t target;
    while (k < targets->count && (target = target_at(targets, k)) <= bound && target < len) {
        if (!ember_csv_rows_scan_to(s, target) || s->pos >= len) {
            out->ended = true;
            return;
        }
        if (!stop_list_push(&out->cuts, stop_here(s))) {
            out->out_of_mem = true;
            return;
        }
        while (k < targets->count && target_at(targets, k) <= s->pos)
            k++;
    }
    /* A stop already past bound is the first one: scan_to stops at the first at or after its
     * target, and the targets before were at most bound. */
    if (bound >= len ||
        (s->pos <= bound && (!ember_csv_rows_scan_to(s, bound + 1) || s->pos >= len))) {
        out->ended = true;
        return;
    }
    out->last = stop_here(s);
    if (k < targets->count && target_at(targets, k) <= s->pos &&
        !stop_list_push(&out->cuts, out->last))
        out->out_of_mem = true;
}

typedef struct parallel_scan {
    const char *buf;
    size_t len, begin;
    ember_csv_dialect dialect;
    const cut_targets *targets;
    chunk_scan *chunks;
} parallel_scan;

static void scan_chunk_task(void *context, int index, int worker) {
    (void)worker;
    parallel_scan *p = context;
    chunk_scan *chunk = &p->chunks[index];
    ember_csv_row_scanner s;
    ember_csv_rows_init(&s, p->buf, chunk->start, p->len, p->dialect);
    if (index > 0) {
        if (!ember_csv_rows_scan_to(&s, chunk->start + 1) || s.pos >= p->len)
            return; /* no stop after the guess: the scan before this one reaches the end */
        chunk->has_first = true;
        chunk->first = stop_here(&s);
    }
    walk_chunk(&s, p->targets, chunk);
}

/* The first byte after a line break at or after at (len if none): a guessed record start. */
static size_t line_start_from(const char *buf, size_t len, size_t at) {
    if (buf[at - 1] == LF || (buf[at - 1] == CR && buf[at] != LF))
        return at;
    while (at < len && buf[at] != CR && buf[at] != LF)
        at++;
    return at < len ? at + scan_line_break_length((const unsigned char *)buf, at, len) : len;
}

/* Chains the chunks' scans: each is taken from its first stop on when the true scan (the one
 * before, already chained) stops there too; else its bytes are scanned again from the true
 * scan's stop. Appends the cuts, counted from begin, to cuts. */
static bool chain_chunks(const parallel_scan *p, int count, stop_list *cuts) {
    stop at = {p->begin, 0, 0};
    for (int k = 0; k < count; k++) {
        chunk_scan *chunk = &p->chunks[k];
        chunk_scan again = {.start = at.pos, .bound = chunk->bound};
        stop offset = {0, 0, 0};
        if (k > 0 && chunk->has_first && chunk->first.pos == at.pos) {
            offset.lines = at.lines - chunk->first.lines;
            offset.records = at.records - chunk->first.records;
        } else if (k > 0) {
            ember_csv_row_scanner s;
            ember_csv_rows_init(&s, p->buf, at.pos, p->len, p->dialect);
            s.lines = at.lines;
            s.records = at.records;
            walk_chunk(&s, p->targets, &again);
            chunk = &again;
        }
        bool ok = !chunk->out_of_mem;
        for (size_t i = 0; ok && i < chunk->cuts.count; i++) {
            stop cut = chunk->cuts.items[i];
            ok = stop_list_push(
                cuts, (stop){cut.pos, cut.lines + offset.lines, cut.records + offset.records});
        }
        bool ended = chunk->ended;
        at = (stop){chunk->last.pos, chunk->last.lines + offset.lines,
                    chunk->last.records + offset.records};
        ember_free(again.cuts.items);
        if (!ok)
            return false;
        if (ended)
            break;
    }
    return true;
}

/* split_ranges's cuts from chunks scanned at once (see chunk_scan), or false when out of
 * memory. */
static bool parallel_cuts(const char *buf, size_t len, size_t begin, const cut_targets *targets,
                          ember_csv_dialect dialect, const ember_csv_parallel *parallel,
                          stop_list *cuts) {
    size_t span = len - begin;
    int count = (size_t)parallel->chunks < span ? parallel->chunks : (int)span;
    chunk_scan *chunks = ember_calloc((size_t)count, sizeof *chunks);
    if (!chunks)
        return false;
    for (int k = 0; k < count; k++) {
        size_t at = begin + span / (size_t)count * (size_t)k +
                    span % (size_t)count * (size_t)k / (size_t)count;
        chunks[k].start = k == 0 ? begin : line_start_from(buf, len, at);
    }
    for (int k = 0; k < count; k++)
        chunks[k].bound = k + 1 < count ? chunks[k + 1].start : len;
    parallel_scan p = {buf, len, begin, dialect, targets, chunks};
    parallel->run(parallel->runner, count, scan_chunk_task, &p);
    bool ok = chain_chunks(&p, count, cuts);
    for (int k = 0; k < count; k++)
        ember_free(chunks[k].cuts.items);
    ember_free(chunks);
    return ok;
}

static ember_status split_ranges(const char *buf, size_t len, size_t begin, int64_t first_line,
                                 const cut_targets *targets, ember_csv_dialect dialect,
                                 const ember_csv_parallel *parallel, ember_split **out, int *count,
                                 ember_error *err) {
    stop_list cuts = {0};
    bool ok;
    if (parallel && parallel->run && parallel->chunks > 1 && len - begin > 1) {
        ok = parallel_cuts(buf, len, begin, targets, dialect, parallel, &cuts);
    } else {
        chunk_scan whole = {.start = begin, .bound = len};
        ember_csv_row_scanner s;
        ember_csv_rows_init(&s, buf, begin, len, dialect);
        walk_chunk(&s, targets, &whole);
        cuts = whole.cuts;
        ok = !whole.out_of_mem;
    }
    split_list list = {0};
    ember_status status = EMBER_OK;
    if (!ok) {
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                                 "csv split: out of memory for %zu cuts", cuts.count);
        goto done;
    }
    ember_split current = {begin, len, first_line, 0};
    for (size_t i = 0; i < cuts.count; i++) {
        current.end = cuts.items[i].pos;
        if ((status = split_list_push(&list, current, err)) != EMBER_OK)
            goto done;
        current = (ember_split){cuts.items[i].pos, len, first_line + cuts.items[i].lines,
                                cuts.items[i].records};
    }
    if (current.begin < len)
        status = split_list_push(&list, current, err);
done:
    ember_free(cuts.items);
    if (status != EMBER_OK) {
        ember_free(list.items);
        return status;
    }
    *out = list.items;
    *count = list.count;
    return EMBER_OK;
}

/* Checks what both entry points share and clears the outputs. */
static ember_status check_split_arguments(const char *buf, size_t len, size_t begin,
                                          ember_split **out, int *count, ember_error *err) {
    if (out)
        *out = NULL;
    if (count)
        *count = 0;
    if (!out || !count)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "csv split: no output given");
    if (!buf && len > 0)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "csv split: no buffer given");
    if (begin > len)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "csv split: begin %zu is past the buffer's end %zu", begin, len);
    return EMBER_OK;
}

ember_status ember_csv_split(const char *buf, size_t len, size_t begin, int64_t first_line,
                             int parts, ember_csv_dialect dialect,
                             const ember_csv_parallel *parallel, ember_split **out, int *count,
                             ember_error *err) {
    ember_status status = check_split_arguments(buf, len, begin, out, count, err);
    if (status != EMBER_OK)
        return status;
    if (parts <= 0)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "csv split: parts must be positive, got %d", parts);
    size_t span = len - begin;
    /* More parts than bytes put a target on every byte, as parts == span does; capping keeps
     * the work proportional to the buffer. */
    size_t effective_parts = (size_t)parts < span ? (size_t)parts : span;
    if (effective_parts == 0)
        effective_parts = 1;
    cut_targets targets = {NULL, effective_parts - 1, begin, span, effective_parts};
    return split_ranges(buf, len, begin, first_line, &targets, dialect, parallel, out, count, err);
}

ember_status ember_csv_split_at(const char *buf, size_t len, size_t begin, int64_t first_line,
                                const size_t *targets, int target_count, ember_csv_dialect dialect,
                                ember_split **out, int *count, ember_error *err) {
    ember_status status = check_split_arguments(buf, len, begin, out, count, err);
    if (status != EMBER_OK)
        return status;
    if (target_count < 0 || (target_count > 0 && !targets))
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "csv split: bad target list (%d targets)", target_count);
    for (int k = 1; k < target_count; k++)
        if (targets[k] < targets[k - 1])
            return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                   "csv split: target %d (%zu) is below the one before (%zu)", k,
                                   targets[k], targets[k - 1]);
    cut_targets list = {targets, (size_t)target_count, begin, len - begin, 1};
    return split_ranges(buf, len, begin, first_line, &list, dialect, NULL, out, count, err);
}

/* The targets ember_csv_split uses for parts parts of [begin, len): appended to list. */
static size_t even_targets(size_t begin, size_t len, int parts, size_t *list) {
    size_t span = len - begin;
    size_t effective_parts = (size_t)parts < span ? (size_t)parts : span;
    if (effective_parts == 0)
        effective_parts = 1;
    cut_targets targets = {NULL, effective_parts - 1, begin, span, effective_parts};
    for (size_t k = 0; k < targets.count; k++)
        list[k] = target_at(&targets, k);
    return targets.count;
}

static int compare_offsets(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The ranges split_ranges gives for targets, from the finer ranges it gave for a superset of
 * them: each cut is the first record start at or after a target, and the finer ranges begin at
 * every such start of the superset's targets, so the cut of target t is the first finer begin
 * at or after t. Targets at or before the last cut are skipped, as split_ranges skips them. */
static ember_status coarsen(const ember_split *fine, int fine_count, size_t len,
                            const size_t *targets, size_t target_count, ember_split **out,
                            int *count, ember_error *err) {
    split_list list = {0};
    ember_status status = EMBER_OK;
    *out = NULL;
    *count = 0;
    if (fine_count == 0)
        return EMBER_OK;
    ember_split current = fine[0];
    current.end = len;
    int i = 0;
    for (size_t k = 0; k < target_count; k++) {
        if (targets[k] <= current.begin)
            continue;
        while (i < fine_count && fine[i].begin < targets[k])
            i++;
        if (i == fine_count)
            break;
        current.end = fine[i].begin;
        if ((status = split_list_push(&list, current, err)) != EMBER_OK)
            goto fail;
        current = fine[i];
        current.end = len;
    }
    if ((status = split_list_push(&list, current, err)) != EMBER_OK)
        goto fail;
    *out = list.items;
    *count = list.count;
    return EMBER_OK;
fail:
    ember_free(list.items);
    return status;
}

ember_status ember_csv_split_pair(const char *buf, size_t len, size_t begin, int64_t first_line,
                                  int parts_a, int parts_b, ember_csv_dialect dialect,
                                  const ember_csv_parallel *parallel, ember_split **out_a,
                                  int *count_a, ember_split **out_b, int *count_b,
                                  ember_error *err) {
    if (out_b)
        *out_b = NULL;
    if (count_b)
        *count_b = 0;
    ember_status status = check_split_arguments(buf, len, begin, out_a, count_a, err);
    if (status != EMBER_OK)
        return status;
    if (!out_b || !count_b)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "csv split: no output given");
    if (parts_a <= 0 || parts_b <= 0)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "csv split: parts must be positive, got %d and %d", parts_a,
                               parts_b);
    size_t span = len - begin;
    size_t na = (size_t)parts_a < span ? (size_t)parts_a : span;
    size_t nb = (size_t)parts_b < span ? (size_t)parts_b : span;
    size_t *targets = ember_malloc((na + nb + 2) * sizeof *targets);
    ember_split *fine = NULL;
    int fine_count = 0;
    if (!targets)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                               "csv split: out of memory for %zu targets", na + nb);
    size_t *a = targets, *b = targets + na + 1;
    size_t ca = even_targets(begin, len, parts_a, a), cb = even_targets(begin, len, parts_b, b);
    /* Both lists are ascending; their union, sorted, drives one pass. */
    size_t *merged = ember_malloc((ca + cb + 1) * sizeof *merged);
    if (!merged) {
        ember_free(targets);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                               "csv split: out of memory for %zu targets", ca + cb);
    }
    memcpy(merged, a, ca * sizeof *merged);
    memcpy(merged + ca, b, cb * sizeof *merged);
    qsort(merged, ca + cb, sizeof *merged, compare_offsets);
    cut_targets list = {merged, ca + cb, begin, span, 1};
    status = split_ranges(buf, len, begin, first_line, &list, dialect, parallel, &fine, &fine_count,
                          err);
    if (status == EMBER_OK)
        status = coarsen(fine, fine_count, len, a, ca, out_a, count_a, err);
    if (status == EMBER_OK)
        status = coarsen(fine, fine_count, len, b, cb, out_b, count_b, err);
    if (status != EMBER_OK) {
        ember_free(*out_a);
        *out_a = NULL;
        *count_a = 0;
    }
    ember_free(fine);
    ember_free(merged);
    ember_free(targets);
    return status;
}

int ember_csv_locate_record(const char *buf, const ember_split *split, int64_t record,
                            ember_csv_dialect dialect, size_t *offset, int64_t *line) {
    if (!buf || !split || record < 0 || split->begin > split->end)
        return -1;
    ember_csv_row_scanner s;
    ember_csv_rows_init(&s, buf, split->begin, split->end, dialect);
    for (int64_t index = 0;; index++) {
        int64_t records = s.records;
        bool ended = ember_csv_rows_scan_to(&s, 0);
        if (s.records == records)
            return -1;
        if (index == record) {
            if (offset)
                *offset = s.row_begin;
            if (line)
                *line = split->first_line + s.row_lines;
            return 0;
        }
        if (!ended)
            return -1;
    }
}
