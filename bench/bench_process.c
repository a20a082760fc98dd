/* bench_process.c: whole-process timings for ember-bench: runs the `ember` command and the
 * Q1 baseline as child processes, timed from fork to exit, as a shell user would see them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

bool bench_sibling_path(const char *name, char *out, size_t capacity) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return false;
    *slash = '\0';
    int written = snprintf(out, capacity, "%s/%s", self, name);
    return written > 0 && (size_t)written < capacity && access(out, X_OK) == 0;
}

/* Reads the child's stdout until EOF; what does not fit is read and dropped so the child never
 * blocks on a full pipe. */
static void drain(int fd, char *capture, size_t capacity) {
    size_t used = 0;
    char scratch[4096];
    for (;;) {
        char *into = capture && used + 1 < capacity ? capture + used : scratch;
        size_t room = capture && used + 1 < capacity ? capacity - 1 - used : sizeof scratch;
        ssize_t n = read(fd, into, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (into != scratch)
            used += (size_t)n;
    }
    if (capture && capacity)
        capture[used] = '\0';
}

double bench_process_run(char *const argv[], char *capture, size_t capacity) {
    int pipe_fds[2] = {-1, -1};
    if (capture && pipe(pipe_fds) != 0)
        return -1.0;
    double started = bench_now();
    pid_t pid = fork();
    if (pid < 0) {
        if (capture) {
            close(pipe_fds[0]);
            close(pipe_fds[1]);
        }
        return -1.0;
    }
    if (pid == 0) {
        int out = capture ? pipe_fds[1] : open("/dev/null", O_WRONLY);
        if (out < 0 || dup2(out, STDOUT_FILENO) < 0)
            _exit(127);
        if (capture)
            close(pipe_fds[0]);
        execv(argv[0], argv);
        fprintf(stderr, "ember-bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (capture) {
        close(pipe_fds[1]);
        drain(pipe_fds[0], capture, capacity);
        close(pipe_fds[0]);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1.0;
    double seconds = bench_now() - started;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "ember-bench: %s exited with %s %d\n", argv[0],
                WIFEXITED(status) ? "status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return -1.0;
    }
    return seconds;
}
