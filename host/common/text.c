/* text.c: the growable text of text.h. */
#include "common/text.h"

#include <stdio.h>

#include "common/alloc.h"

void ember_text_vprintf(ember_text *text, const char *format, va_list args) {
    while (!text->failed) {
        va_list copy;
        va_copy(copy, args);
        size_t room = text->buf ? text->capacity - text->length : 0;
        int n = vsnprintf(text->buf ? text->buf + text->length : NULL, room, format, copy);
        va_end(copy);
        if (n < 0) {
            text->failed = true;
            return;
        }
        if ((size_t)n < room) {
            text->length += (size_t)n;
            return;
        }
        size_t capacity = (text->capacity + (size_t)n + 1) * 2;
        char *grown = ember_realloc(text->buf, capacity);
        if (!grown) {
            text->failed = true;
            return;
        }
        text->buf = grown;
        text->capacity = capacity;
    }
}

void ember_text_printf(ember_text *text, const char *format, ...) {
    va_list args;
    va_start(args, format);
    ember_text_vprintf(text, format, args);
    va_end(args);
}
