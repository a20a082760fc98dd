/* testutil.h: helpers shared by the cmocka tests: scratch files, test data paths, a session
 * on the default device (the test is skipped when the machine has no OpenCL device). */
#ifndef EMBER_TESTUTIL_H
#define EMBER_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "device/device.h"
#include "device/program.h"
#include "ember.h"

/* A fresh path under $EMBER_TEST_TMP (or /tmp) unique to this process and name. Caller frees
 * with free(). */
char *tu_tmp_path(const char *name);
/* Writes len bytes to path (fails the test on error). */
void tu_write_file(const char *path, const void *data, size_t len);
void tu_write_text(const char *path, const char *text);
/* Reads a whole file; returns malloc'd bytes (NUL-terminated) and its length, or NULL. */
char *tu_read_file(const char *path, size_t *len);
/* $EMBER_TEST_DATA/rel, in a static buffer. */
const char *tu_data_path(const char *rel);
/* Opens a session on the default device; skips the test when no OpenCL device exists. */
ember_session *tu_session_open(void);

/* A session shared by a test group: cmocka group setup/teardown. tu_shared_session is NULL
 * when no OpenCL device exists (tests then skip). */
extern ember_session *tu_shared_session;
int tu_shared_session_open(void **state);
int tu_shared_session_close(void **state);

/* The default device's workers and a program cache on $EMBER_CACHE_DIR, for tests of the
 * device layer: cmocka group setup/teardown. tu_worker_count is 0 when no OpenCL device
 * exists (tests then skip). */
extern ember_worker *tu_workers;
extern int tu_worker_count;
extern ember_program_cache *tu_programs;
int tu_devices_open(void **state);
int tu_devices_close(void **state);

#endif
