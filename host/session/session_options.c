/* session_options.c: the options a session is opened with. */
#include "session/session_internal.h"

#include "common/alloc.h"

ember_session_options *ember_session_options_create(void) {
    return ember_calloc(1, sizeof(ember_session_options));
}

void ember_session_options_free(ember_session_options *options) {
    if (!options)
        return;
    ember_free(options->device);
    ember_free(options->cache_dir);
    ember_free(options);
}

ember_status ember_session_options_set_device(ember_session_options *options, const char *choice) {
    if (!options)
        return EMBER_ERROR_INVALID_ARGUMENT;
    return ember_text_replace(&options->device, choice) == 0 ? EMBER_OK : EMBER_ERROR_OUT_OF_MEMORY;
}

ember_status ember_session_options_set_threads(ember_session_options *options, int threads) {
    if (!options || threads < 0 || threads > 1024)
        return EMBER_ERROR_INVALID_ARGUMENT;
    options->threads = threads;
    return EMBER_OK;
}

ember_status ember_session_options_set_cache_dir(ember_session_options *options, const char *dir) {
    if (!options || (dir && !*dir))
        return EMBER_ERROR_INVALID_ARGUMENT;
    return ember_text_replace(&options->cache_dir, dir) == 0 ? EMBER_OK : EMBER_ERROR_OUT_OF_MEMORY;
}
