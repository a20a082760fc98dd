/* error.c: filling an ember_error; the first failure recorded wins, since later ones are
 * usually consequences of it. */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>

void ember_error_clear(ember_error *error) {
    if (error) {
        error->status = EMBER_OK;
        error->message[0] = '\0';
    }
}

ember_status ember_error_set(ember_error *error, ember_status status, const char *format, ...) {
    if (!error || error->status != EMBER_OK)
        return status;
    error->status = status;
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof error->message, format, args);
    va_end(args);
    return status;
}
