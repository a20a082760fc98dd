/* error.h: an error record (status + message) that any layer can fill and the session keeps,
 * so the failing call's message names what failed and where. */
#ifndef EMBER_COMMON_ERROR_H
#define EMBER_COMMON_ERROR_H

#include "ember.h"

#define EMBER_ERROR_MESSAGE_MAX 8192

typedef struct ember_error {
    ember_status status;
    char message[EMBER_ERROR_MESSAGE_MAX];
} ember_error;

void ember_error_clear(ember_error *error);
/* Records status and a printf-style message (truncated to fit) unless error is NULL or already
 * holds a failure (the first failure wins). Returns status, so callers can
 * `return ember_error_set(err, EMBER_ERROR_IO, "...")`. */
ember_status ember_error_set(ember_error *error, ember_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
