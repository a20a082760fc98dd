/* testutil.c: shared test helpers (see testutil.h). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *tu_tmp_path(const char *name) {
    const char *dir = getenv("EMBER_TEST_TMP");
    if (!dir || !*dir)
        dir = "/tmp";
    size_t len = strlen(dir) + strlen(name) + 64;
    char *path = malloc(len);
    assert_non_null(path);
    snprintf(path, len, "%s/%ld-%s", dir, (long)getpid(), name);
    return path;
}

void tu_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void tu_write_text(const char *path, const char *text) {
    tu_write_file(path, text, strlen(text));
}

char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + used, 1, cap - used, f)) > 0) {
        used += got;
        if (used == cap) {
            cap *= 2;
            char *grown = realloc(buf, cap + 1);
            if (!grown) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[used] = '\0';
    if (len)
        *len = used;
    return buf;
}

const char *tu_data_path(const char *rel) {
    static char path[4096];
    const char *dir = getenv("EMBER_TEST_DATA");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", rel);
    return path;
}

ember_session *tu_session_open(void) {
    ember_session *session = NULL;
    ember_status status = ember_session_open(&session, NULL);
    if (status == EMBER_ERROR_NO_DEVICE) {
        ember_session_close(session);
        skip();
    }
    if (status != EMBER_OK)
        fail_msg("ember_session_open: %s", ember_session_error(session));
    return session;
}

ember_session *tu_shared_session;

int tu_shared_session_open(void **state) {
    (void)state;
    if (ember_session_open(&tu_shared_session, NULL) != EMBER_OK) {
        ember_session_close(tu_shared_session);
        tu_shared_session = NULL;
    }
    return 0;
}

int tu_shared_session_close(void **state) {
    (void)state;
    ember_session_close(tu_shared_session);
    tu_shared_session = NULL;
    return 0;
}

ember_worker *tu_workers;
int tu_worker_count;
ember_program_cache *tu_programs;

int tu_devices_open(void **state) {
    (void)state;
    ember_error err;
    ember_error_clear(&err);
    ember_status status = ember_workers_open(NULL, &tu_workers, &tu_worker_count, &err);
    if (status == EMBER_ERROR_NO_DEVICE) {
        tu_workers = NULL;
        tu_worker_count = 0;
        return 0;
    }
    if (status != EMBER_OK) {
        fprintf(stderr, "ember_workers_open: %s\n", err.message);
        return -1;
    }
    tu_programs = ember_program_cache_create(getenv("EMBER_CACHE_DIR"));
    return tu_programs ? 0 : -1;
}

int tu_devices_close(void **state) {
    (void)state;
    ember_program_cache_free(tu_programs);
    ember_workers_close(tu_workers, tu_worker_count);
    tu_programs = NULL;
    tu_workers = NULL;
    tu_worker_count = 0;
    return 0;
}
