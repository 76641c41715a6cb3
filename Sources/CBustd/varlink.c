// One varlink call (systemd's userdb) with a hard deadline: bustd asks for
// user names while it composes an event, and a service that hangs must
// never hold the daemon longer than the caller's timeout.
#include "cbustd_libc.h"
#include "cbustd.h"

// Time left until deadline_ms, as poll(2) wants it; 0 when passed.
static int remaining_ms(int64_t deadline_ms) {
    int64_t left = deadline_ms - bustd_monotonic_ms();
    return left > 0 ? (int)left : 0;
}

// Waits for events on fd until the deadline; 0 when ready, -1 with errno
// (ETIMEDOUT when the deadline passed).
static int wait_for(int fd, short events, int64_t deadline_ms) {
    for (;;) {
        int left = remaining_ms(deadline_ms);
        if (left == 0) { errno = ETIMEDOUT; return -1; }
        struct pollfd descriptor = {.fd = fd, .events = events, .revents = 0};
        int ready = poll(&descriptor, 1, left);
        if (ready > 0) return 0;
        if (ready < 0 && errno != EINTR) return -1;
    }
}

static long call(int fd, const char *path, const char *request, size_t request_length, char *reply, size_t capacity,
                 int64_t deadline_ms) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    size_t path_length = strlen(path);
    if (path_length == 0 || path_length >= sizeof address.sun_path) { errno = ENAMETOOLONG; return -1; }
    memcpy(address.sun_path, path, path_length);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        // A unix socket connects at once or says EAGAIN (its backlog is
        // full: the service is too busy to answer in time anyway).
        if (errno != EINPROGRESS) return -1;
        if (wait_for(fd, POLLOUT, deadline_ms) != 0) return -1;
        int error = 0;
        socklen_t length = sizeof error;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return -1;
        if (error != 0) { errno = error; return -1; }
    }
    size_t sent = 0;
    while (sent < request_length) {
        ssize_t n = send(fd, request + sent, request_length - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) { sent += (size_t)n; continue; }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return -1;
        if (wait_for(fd, POLLOUT, deadline_ms) != 0) return -1;
    }
    size_t received = 0;
    for (;;) {
        if (received == capacity) { errno = EMSGSIZE; return -1; }
        ssize_t n = recv(fd, reply + received, capacity - received, MSG_DONTWAIT);
        if (n > 0) {
            char *end = memchr(reply + received, 0, (size_t)n);
            if (end != NULL) return (long)(end - reply);
            received += (size_t)n;
            continue;
        }
        if (n == 0) { errno = EPROTO; return -1; }  // closed before the reply ended
        if (errno != EAGAIN && errno != EINTR) return -1;
        if (wait_for(fd, POLLIN, deadline_ms) != 0) return -1;
    }
}

long bustd_varlink_call(const char *path, const char *request, size_t request_length, char *reply, size_t capacity,
                        int timeout_ms) {
    int64_t deadline_ms = bustd_monotonic_ms() + timeout_ms;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    long length = call(fd, path, request, request_length, reply, capacity, deadline_ms);
    int saved = errno;
    close(fd);
    errno = saved;
    return length;
}
