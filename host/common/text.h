/* text.h: a growable NUL-terminated text built by printf-style appends, for generated source
 * code. An allocation failure is remembered (failed) and later appends do nothing, so a
 * generator checks once at the end. */
#ifndef EMBER_COMMON_TEXT_H
#define EMBER_COMMON_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct ember_text {
    char *buf; /* ember_malloc'd; NULL until the first append */
    size_t length, capacity;
    bool failed;
} ember_text;

void ember_text_printf(ember_text *text, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void ember_text_vprintf(ember_text *text, const char *format, va_list args)
    __attribute__((format(printf, 2, 0)));

#endif
