#include "cbustd.h"
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/syscall.h>

static int saved_argc;
static char **saved_argv;

// glibc passes (argc, argv, envp) to ELF constructors.
__attribute__((constructor)) static void bustd_capture_args(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

int bustd_argc(void) { return saved_argc; }
const char *bustd_arg(int index) {
    return (index >= 0 && index < saved_argc) ? saved_argv[index] : NULL;
}

int bustd_errno(void) { return errno; }
void bustd_set_errno(int value) { errno = value; }
const char *bustd_strerror(int error) { return strerror(error); }

int bustd_open(const char *path, int flags, unsigned mode) { return open(path, flags | O_CLOEXEC, mode); }
int bustd_openat(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags | O_CLOEXEC); }

static void proc_path(char *out, size_t size, int pid, const char *name) {
    if (pid >= 0) snprintf(out, size, "%d/%s", pid, name);
    else snprintf(out, size, "%s", name);
}

ssize_t bustd_read_proc_file(int dirfd, int pid, const char *name, char *buf, size_t len) {
    char path[64 + 256];
    proc_path(path, sizeof path, pid, name);
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t used = 0;
    while (used < len) {
        ssize_t n = read(fd, buf + used, len - used);
        if (n < 0) {
            if (errno == EINTR) continue;
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0) break;
        used += (size_t)n;
    }
    close(fd);
    return (ssize_t)used;
}

ssize_t bustd_readlink_proc(int dirfd, int pid, const char *name, char *buf, size_t len) {
    char path[64 + 256];
    if (len == 0) { errno = EINVAL; return -1; }
    proc_path(path, sizeof path, pid, name);
    ssize_t n = readlinkat(dirfd, path, buf, len - 1);
    if (n < 0) return -1;
    buf[n] = 0;
    return n;
}

long long bustd_proc_owner(int dirfd, int pid) {
    char path[32];
    struct stat st;
    snprintf(path, sizeof path, "%d", pid);
    if (fstatat(dirfd, path, &st, 0) != 0) return -1;
    return (long long)st.st_uid;
}

int bustd_next_pid(DIR *dir) {
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *p = entry->d_name;
        if (*p < '1' || *p > '9') continue;
        long value = 0;
        for (; *p >= '0' && *p <= '9' && value < 100000000; p++) value = value * 10 + (*p - '0');
        if (*p == 0) return (int)value;
    }
    return -1;
}

const char *bustd_next_subdir(DIR *dir) {
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_type != DT_DIR) continue;
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        return entry->d_name;
    }
    return NULL;
}

int bustd_kill(int pid, int sig) { return kill(pid, sig); }
int bustd_pidfd_open(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
int bustd_pidfd_send_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }
#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif
int bustd_process_mrelease(int pidfd) { return (int)syscall(SYS_process_mrelease, pidfd, 0); }

static volatile sig_atomic_t stop_requested;
static void on_stop_signal(int sig) { (void)sig; stop_requested = 1; }

void bustd_install_signal_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
}
int bustd_stop_requested(void) { return stop_requested != 0; }

void bustd_syslog(int priority, const char *message) { syslog(priority, "%s", message); }

int bustd_sd_notify(const char *state) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == 0) return 0;
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    size_t length = strlen(path);
    if (length >= sizeof address.sun_path) { errno = ENAMETOOLONG; return -1; }
    memcpy(address.sun_path, path, length);
    if (address.sun_path[0] == '@') address.sun_path[0] = 0; // abstract namespace
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                          (struct sockaddr *)&address, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length));
    int saved = errno;
    close(fd);
    errno = saved;
    return sent < 0 ? -1 : 1;
}

void *bustd_regex_compile(const char *pattern, char *err, size_t errlen) {
    regex_t *regex = malloc(sizeof *regex);
    if (regex == NULL) { snprintf(err, errlen, "out of memory"); return NULL; }
    int rc = regcomp(regex, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, regex, err, errlen);
        free(regex);
        return NULL;
    }
    return regex;
}
int bustd_regex_matches(const void *regex, const char *text) { return regexec((const regex_t *)regex, text, 0, NULL, 0) == 0; }
void bustd_regex_free(void *regex) { if (regex) { regfree(regex); free(regex); } }

int64_t bustd_monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
int64_t bustd_realtime_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
