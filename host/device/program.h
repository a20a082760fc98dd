/* program.h: OpenCL program builds, cached in memory and on disk per (device, driver, source,
 * options), because pocl's compiler takes seconds per program. */
#ifndef EMBER_DEVICE_PROGRAM_H
#define EMBER_DEVICE_PROGRAM_H

#include "device/device.h"

typedef struct ember_program_cache ember_program_cache;

/* disk_dir NULL: memory only. The directory is created on first use. */
ember_program_cache *ember_program_cache_create(const char *disk_dir);
void ember_program_cache_free(ember_program_cache *cache);

/* Returns a built program for worker; the cache owns it (do not release). Thread-safe. A build
 * failure gives EMBER_ERROR_BUILD with the compiler's build log in the message. */
ember_status ember_program_get(ember_program_cache *cache, const ember_worker *worker,
                               const char *source, size_t source_len, const char *options,
                               cl_program *out, ember_error *err);

typedef struct ember_program_stats {
    long memory_hits, disk_hits, builds;
} ember_program_stats;
ember_program_stats ember_program_cache_stats(ember_program_cache *cache);

/* The disk cache directory by the rules: $EMBER_CACHE_DIR ("off" gives NULL), else
 * $XDG_CACHE_HOME/ember, else $HOME/.cache/ember, else NULL. Writes into buf. */
const char *ember_program_cache_default_dir(char *buf, size_t len);

#endif
