/* consumer.c: a tiny program built against an installed ember, to prove the installed header,
 * library, pkg-config file and CMake package work. It counts the rows of a CSV file. */
#include <ember.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    ember_session *session = NULL;
    ember_frame *frame = NULL;
    int64_t rows = -1;
    int code = 1;
    if (ember_session_open(&session, NULL) == EMBER_OK &&
        ember_read_csv(session, argv[1], NULL, &frame) == EMBER_OK &&
        ember_count(frame, &rows) == EMBER_OK) {
        printf("%s %lld\n", ember_version(), (long long)rows);
        code = 0;
    } else {
        fprintf(stderr, "consumer: %s\n", ember_session_error(session));
    }
    ember_frame_free(frame);
    ember_session_close(session);
    return code;
}
