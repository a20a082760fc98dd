/* alloc.h: the one allocator every part of ember goes through, so tests can make the Nth
 * allocation fail and prove that each failure path cleans up and reports. */
#ifndef EMBER_COMMON_ALLOC_H
#define EMBER_COMMON_ALLOC_H

#include <stddef.h>

void *ember_malloc(size_t size);
void *ember_calloc(size_t count, size_t size);
void *ember_realloc(void *ptr, size_t size);
void ember_free(void *ptr);
char *ember_strdup(const char *text);
char *ember_strndup(const char *text, size_t len);
/* Replaces *slot (freeing it) with a copy of text, or NULL when text is NULL. Returns 0, or -1
 * when out of memory (then *slot is unchanged). */
int ember_text_replace(char **slot, const char *text);

/* Page-aligned memory whose size is rounded up to whole pages: what CL_MEM_USE_HOST_PTR wants
 * for zero-copy buffers on CPU devices. Free with ember_free_aligned. */
void *ember_malloc_aligned(size_t size);
void ember_free_aligned(void *ptr);
/* Frees the big aligned blocks kept for reuse (see alloc.c); a closing session calls it. */
void ember_alloc_release(void);
/* Bytes of the blocks kept for reuse now. */
size_t ember_alloc_cached_bytes(void);
/* The size ember_malloc_aligned really reserves for a request of size bytes. */
size_t ember_aligned_size(size_t size);

/* Test hook: the countdown-th allocation from now on fails (1 = the next one); 0 turns the
 * hook off. Counts across all threads. */
void ember_alloc_fail_after(long countdown);

#endif
