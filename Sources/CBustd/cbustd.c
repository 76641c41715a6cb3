#define _GNU_SOURCE 1
#include "cbustd_libc.h"
#include "cbustd.h"
#include <stdio.h>  // renameat
#include <sys/syscall.h>
#include <malloc.h>
#include <sys/auxv.h>
#include <sys/wait.h>

static int saved_argc;
static char **saved_argv;

// glibc passes (argc, argv, envp) to ELF constructors.
__attribute__((constructor)) static void bustd_capture_args(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

// glibc's per-thread cache (tcache) keeps up to seven freed chunks of each
// small size out of the heap's free lists, where malloc_trim cannot give
// their pages back: after start-up the heap stays scattered over twice the
// pages it needs. Tunables are read only at start, from the environment,
// so bustd starts itself again once with the cache off, unless the caller
// set GLIBC_TUNABLES (theirs is kept). The variable is removed again at
// once (bustd_forget_tunables), so that nothing bustd starts inherits it.
static const char tunables[] = "GLIBC_TUNABLES=glibc.malloc.tcache_count=0";

void bustd_restart_without_tcache(void) {
    extern char **environ;
    if (getenv("GLIBC_TUNABLES") != NULL || getauxval(AT_SECURE) || saved_argv == NULL) return;
    size_t count = 0;
    while (environ[count] != NULL) count++;
    char **environment = calloc(count + 2, sizeof *environment);
    if (environment == NULL) return;
    memcpy(environment, environ, count * sizeof *environment);
    environment[count] = (char *)tunables;
    execve("/proc/self/exe", saved_argv, environment);
    free(environment);  // /proc not mounted, or exec refused: run as we are
}

void bustd_forget_tunables(void) {
    const char *value = getenv("GLIBC_TUNABLES");
    if (value != NULL && strcmp(value, tunables + sizeof "GLIBC_TUNABLES=" - 1) == 0) unsetenv("GLIBC_TUNABLES");
}

int bustd_argc(void) { return saved_argc; }
const char *bustd_arg(int index) {
    return (index >= 0 && index < saved_argc) ? saved_argv[index] : NULL;
}

int bustd_errno(void) { return errno; }
void bustd_set_errno(int value) { errno = value; }
// strerrordesc_np: the English text without gettext, which strerror would
// link in (with iconv tables) for translations a daemon's log does not need.
const char *bustd_strerror(int error) {
    const char *text = strerrordesc_np(error);
    return text != NULL ? text : "Unknown error";
}

int bustd_open(const char *path, int flags, unsigned mode) { return open(path, flags | O_CLOEXEC, mode); }
int bustd_openat(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags | O_CLOEXEC); }
int bustd_openat_mode(int dirfd, const char *path, int flags, unsigned mode) {
    return openat(dirfd, path, flags | O_CLOEXEC, mode);
}
int bustd_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat(olddirfd, oldpath, newdirfd, newpath);
}

// Formats decimal numbers by hand: snprintf would link glibc's whole printf
// machinery (float formatting, locales) into the static daemon, and its
// resident size is the footprint goal.
static size_t format_unsigned(char *out, size_t size, unsigned long value) {
    char digits[24];
    size_t count = 0;
    do { digits[count++] = (char)('0' + value % 10); value /= 10; } while (value > 0 && count < sizeof digits);
    size_t used = 0;
    while (count > 0 && used + 1 < size) out[used++] = digits[--count];
    out[used] = 0;
    return used;
}

static void proc_path(char *out, size_t size, int pid, const char *name) {
    size_t used = 0;
    if (pid >= 0) {
        used = format_unsigned(out, size, (unsigned long)pid);
        if (used + 1 < size) out[used++] = '/';
    }
    size_t length = strlen(name);
    if (used + length + 1 > size) length = size - used - 1;
    memcpy(out + used, name, length);
    out[used + length] = 0;
}

long bustd_read_proc_file(int dirfd, int pid, const char *name, char *buf, size_t len) {
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
        // /proc files come whole in one read: a short read is the end, and
        // skipping the read that would return 0 saves a syscall per file
        // (a quarter of a scan's syscalls).
        if (used < len) break;
    }
    close(fd);
    return (long)used;
}

long bustd_readlink_proc(int dirfd, int pid, const char *name, char *buf, size_t len) {
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
    format_unsigned(path, sizeof path, (unsigned long)pid);
    if (fstatat(dirfd, path, &st, 0) != 0) return -1;
    return (long long)st.st_uid;
}

int bustd_stat_owner_mode(int dirfd, int pid, const char *name, int follow, uint32_t *uid, uint32_t *mode) {
    char path[64 + 256];
    struct stat st;
    proc_path(path, sizeof path, pid, name);
    if (fstatat(dirfd, path, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0) return -1;
    *uid = st.st_uid;
    *mode = st.st_mode;
    return 0;
}

int bustd_lstat_owner_mode(const char *path, uint32_t *uid, uint32_t *mode) {
    struct stat st;
    if (lstat(path, &st) != 0) return -1;
    *uid = st.st_uid;
    *mode = st.st_mode;
    return 0;
}

int bustd_xattr_flag(const char *path, const char *name) {
    char value[8];
    ssize_t n = lgetxattr(path, name, value, sizeof value - 1);
    if (n < 0) return (errno == ENODATA || errno == ENOTSUP || errno == ENOENT) ? 0 : -1;
    value[n] = 0;
    return (strcmp(value, "1") == 0 || strcmp(value, "true") == 0) ? 1 : 0;
}

static void fill_identity(const struct stat *st, FileIdentity *out) {
    out->device = (uint64_t)st->st_dev;
    out->inode = (uint64_t)st->st_ino;
    out->links = (uint64_t)st->st_nlink;
    out->uid = st->st_uid;
    out->mode = st->st_mode;
}

int bustd_fstat_identity(int fd, FileIdentity *out) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    fill_identity(&st, out);
    return 0;
}

int bustd_lstat_identity(const char *path, FileIdentity *out) {
    struct stat st;
    if (lstat(path, &st) != 0) return -1;
    fill_identity(&st, out);
    return 0;
}

int bustd_lstat_identity_at(int dirfd, const char *name, FileIdentity *out) {
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return -1;
    fill_identity(&st, out);
    return 0;
}

BustdDirectory *bustd_directory_open(int dirfd, const char *path) {
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return NULL;
    BustdDirectory *directory = malloc(sizeof *directory);
    if (directory == NULL) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    directory->fd = fd;
    directory->position = directory->length = 0;
    return directory;
}

void bustd_directory_rewind(BustdDirectory *directory) {
    lseek(directory->fd, 0, SEEK_SET);
    directory->position = directory->length = 0;
}

void bustd_directory_close(BustdDirectory *directory) {
    if (directory == NULL) return;
    close(directory->fd);
    free(directory);
}

struct linux_dirent64_header {
    uint64_t inode;
    int64_t offset;
    unsigned short length;
    unsigned char type;
    char name[];
};

// The next raw entry, or NULL at the end (or on an error: a directory that
// vanished, /proc/PID of a process that exited, reads as empty).
static struct linux_dirent64_header *next_entry(BustdDirectory *directory) {
    if (directory->position >= directory->length) {
        long count = syscall(SYS_getdents64, directory->fd, directory->buffer, sizeof directory->buffer);
        if (count <= 0) return NULL;
        directory->length = (int)count;
        directory->position = 0;
    }
    struct linux_dirent64_header *entry = (struct linux_dirent64_header *)(directory->buffer + directory->position);
    directory->position += entry->length;
    return entry;
}

int bustd_next_pid(BustdDirectory *directory) {
    struct linux_dirent64_header *entry;
    while ((entry = next_entry(directory)) != NULL) {
        const char *p = entry->name;
        if (*p < '1' || *p > '9') continue;
        long value = 0;
        for (; *p >= '0' && *p <= '9' && value < 100000000; p++) value = value * 10 + (*p - '0');
        if (*p == 0) return (int)value;
    }
    return -1;
}

const char *bustd_next_subdir(BustdDirectory *directory) {
    struct linux_dirent64_header *entry;
    while ((entry = next_entry(directory)) != NULL) {
        if (entry->type != DT_DIR) continue;
        if (strcmp(entry->name, ".") == 0 || strcmp(entry->name, "..") == 0) continue;
        return entry->name;
    }
    return NULL;
}

void bustd_close_inherited_fds(void) {
    if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
    // Before Linux 5.9: close what /proc/self/fd lists.
    BustdDirectory *directory = bustd_directory_open(AT_FDCWD, "/proc/self/fd");
    if (directory == NULL) return;
    int fd;
    while ((fd = bustd_next_pid(directory)) >= 0) {
        if (fd > 2 && fd != directory->fd) close(fd);
    }
    bustd_directory_close(directory);
}

// The linker's own symbols: where the program (text and read-only data,
// one segment) begins and where its text ends.
extern char __executable_start[];
extern char etext[];

static void drop_scratch(void);

// The stack below the running frame holds nothing live: its pages (the
// deepest calls ever made, and the reserve the kill path's rehearsal
// touched) are given back too, a page of margin kept. madvise skips the
// unmapped part of the range below the stack.
static void drop_unused_stack(long page) {
    char here;
    uintptr_t below = ((uintptr_t)&here & ~(uintptr_t)(page - 1)) - 2 * (uintptr_t)page;
    uintptr_t floor = below - 256 * (uintptr_t)page;  // 1 MiB: deeper than bustd ever goes
    madvise((void *)floor, below - floor, MADV_DONTNEED);
}

long bustd_drop_resident(void) {
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)__executable_start & ~(uintptr_t)(page - 1);
    uintptr_t end = ((uintptr_t)etext + page - 1) & ~(uintptr_t)(page - 1);
    long dropped = -1;
    // madvise refuses locked pages: unlock, drop, lock again, all here, so
    // that no code runs between the drop and the return but this function
    // and the libc calls it makes (whose pages then stay resident).
    if (munlockall() == 0) {
        malloc_trim(0);
        drop_scratch();
        drop_unused_stack(page);
        // The kernel maps up to 64 KiB of a file around each page fault
        // ("fault-around"), but never across a mapping's bounds: marking
        // every other page DONTDUMP (which only keeps it out of core dumps)
        // splits the text into one mapping per page, so a page of code that
        // runs makes that page resident, not its fifteen neighbours. Split
        // first: a fault taken before the split would map a whole window.
        for (uintptr_t p = start; p < end; p += 2 * (uintptr_t)page) {
            madvise((void *)p, (size_t)page, MADV_DONTDUMP);
        }
        if (madvise((void *)start, end - start, MADV_DONTNEED) == 0) dropped = (long)(end - start);
    }
    if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) mlockall(MCL_CURRENT | MCL_FUTURE);
    return dropped;
}

#define SCRATCH_MAX 16
static struct { void *address; size_t size; } scratch[SCRATCH_MAX];

static size_t whole_pages(size_t size) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (size + page - 1) & ~(page - 1);
}

void *bustd_scratch_allocate(size_t size) {
    size = whole_pages(size);
    void *address = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (address == MAP_FAILED) return NULL;
    // A buffer past the table's end works; it is only never dropped.
    for (int i = 0; i < SCRATCH_MAX; i++) {
        if (scratch[i].address == NULL) {
            scratch[i].address = address;
            scratch[i].size = size;
            break;
        }
    }
    return address;
}

void bustd_scratch_release(void *address, size_t size) {
    if (address == NULL) return;
    for (int i = 0; i < SCRATCH_MAX; i++) {
        if (scratch[i].address == address) scratch[i].address = NULL;
    }
    munmap(address, whole_pages(size));
}

static void drop_scratch(void) {
    for (int i = 0; i < SCRATCH_MAX; i++) {
        if (scratch[i].address != NULL) madvise(scratch[i].address, scratch[i].size, MADV_DONTNEED);
    }
}

int bustd_set_nice(int nice) { return setpriority(PRIO_PROCESS, 0, nice); }
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
    // A launcher may leave signals blocked (threads of a test runner or a
    // service manager's helper do); a blocked SIGTERM would never stop us.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}
int bustd_stop_requested(void) { return stop_requested != 0; }

// syslog(3) links vsnprintf, strftime and the time-zone parser (with scanf)
// into the static binary, about a third of its size. bustd writes the
// datagram itself: "<facility|priority>bustd[pid]: message" to /dev/log,
// which journald and rsyslog timestamp on arrival.
static int syslog_fd = -1;

int bustd_syslog_open(void) {
    syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (syslog_fd < 0) return -1;
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    strcpy(address.sun_path, "/dev/log");
    if (connect(syslog_fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int saved = errno;
        close(syslog_fd);
        syslog_fd = -1;
        errno = saved;
        return -1;
    }
    return 0;
}

void bustd_syslog(int priority, const char *message) {
    if (syslog_fd < 0 && bustd_syslog_open() != 0) return;
    char line[2048];
    size_t used = 0;
    line[used++] = '<';
    used += format_unsigned(line + used, sizeof line - used, (unsigned long)(LOG_DAEMON | priority));
    const char *tag = ">bustd[";
    memcpy(line + used, tag, strlen(tag));
    used += strlen(tag);
    used += format_unsigned(line + used, sizeof line - used, (unsigned long)getpid());
    memcpy(line + used, "]: ", 3);
    used += 3;
    size_t length = strlen(message);
    if (length > sizeof line - used) length = sizeof line - used;
    memcpy(line + used, message, length);
    used += length;
    if (send(syslog_fd, line, used, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) {
        // The logger restarted: reconnect once and retry.
        close(syslog_fd);
        syslog_fd = -1;
        if (bustd_syslog_open() == 0) send(syslog_fd, line, used, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
}

static int unix_address(const char *path, struct sockaddr_un *address);

int bustd_sd_notify(const char *state) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == 0) return 0;
    struct sockaddr_un address;
    if (unix_address(path, &address) != 0) return -1;
    size_t length = strlen(path);
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

int bustd_datagram_socket(void) {
    return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

long bustd_send_datagram(int fd, const char *path, const void *bytes, size_t length) {
    struct sockaddr_un address;
    if (unix_address(path, &address) != 0) return -1;
    size_t pathLength = strlen(path);
    return (long)sendto(fd, bytes, length, MSG_NOSIGNAL, (struct sockaddr *)&address,
                        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pathLength));
}

int64_t bustd_monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
int64_t bustd_monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
void bustd_page_faults(long *minor, long *major) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) { *minor = *major = -1; return; }
    *minor = usage.ru_minflt;
    *major = usage.ru_majflt;
}
int64_t bustd_realtime_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int unix_address(const char *path, struct sockaddr_un *address) {
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof address->sun_path) { errno = ENAMETOOLONG; return -1; }
    memcpy(address->sun_path, path, length);
    return 0;
}

int bustd_listen_unix(const char *path, int backlog) {
    struct sockaddr_un address;
    if (unix_address(path, &address) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    // Bind under umask 0111 so the socket never exists with wider or
    // narrower rights than 0666, not even between bind and chmod.
    mode_t old = umask(0111);
    int rc = bind(fd, (struct sockaddr *)&address, sizeof address);
    umask(old);
    if (rc != 0 || chmod(path, 0666) != 0 || listen(fd, backlog) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int bustd_unix_socket_alive(const char *path) {
    struct sockaddr_un address;
    if (unix_address(path, &address) != 0) return 0;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int alive = connect(fd, (struct sockaddr *)&address, sizeof address) == 0;
    close(fd);
    return alive;
}

int bustd_connect_unix(const char *path) {
    struct sockaddr_un address;
    if (unix_address(path, &address) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int bustd_accept(int listen_fd) { return accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int bustd_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

long bustd_raise_fd_limit(long wanted) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    if ((long)limit.rlim_cur < wanted) {
        rlim_t target = (rlim_t)wanted;
        if (limit.rlim_max != RLIM_INFINITY && target > limit.rlim_max) target = limit.rlim_max;
        limit.rlim_cur = target;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    return (long)limit.rlim_cur;
}

// glibc's __assert_fail (reached from its own start-up code) prints with
// fprintf and translates with gettext, which links the printf, wide-stream,
// iconv and locale-alias machinery, about 200 KB, into the static daemon.
// This one says the same thing with write(2) and aborts.
void __assert_fail(const char *assertion, const char *file, unsigned int line, const char *function) {
    (void)function;
    char number[24];
    const char *parts[] = {"bustd: assertion failed: ", assertion, " (", file, ":", number, ")\n"};
    format_unsigned(number, sizeof number, line);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (parts[i] != NULL) (void)!write(2, parts[i], strlen(parts[i]));
    }
    abort();
}

int bustd_spawn_hook(
    const char *path, const char *args, int arg_count, const char *env, int env_count, int output_fd) {
    char *argv[65];
    char *envp[33];
    if (arg_count < 1 || arg_count > 64 || env_count < 0 || env_count > 32) {
        errno = E2BIG;
        return -1;
    }
    for (int i = 0; i < arg_count; i++) {
        argv[i] = (char *)args;
        args += strlen(args) + 1;
    }
    argv[arg_count] = NULL;
    for (int i = 0; i < env_count; i++) {
        envp[i] = (char *)env;
        env += strlen(env) + 1;
    }
    envp[env_count] = NULL;
    // No signal handler may run in the child while it shares our memory.
    sigset_t all, saved;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &saved);
    volatile int exec_error = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        for (int sig = 1; sig < NSIG; sig++) {
            if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
        }
        setpgid(0, 0);
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0 && null_fd != 0) {
            dup2(null_fd, 0);
            close(null_fd);
        }
        dup2(output_fd, 1);
        dup2(output_fd, 2);
        int adj = open("/proc/self/oom_score_adj", O_WRONLY);
        if (adj >= 0) {
            (void)!write(adj, "0", 1);
            close(adj);
        }
        setpriority(PRIO_PROCESS, 0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        exec_error = errno;
        _exit(127);
    }
    int spawn_errno = errno;
    sigprocmask(SIG_SETMASK, &saved, NULL);
    if (pid < 0) {
        errno = spawn_errno;
        return -1;
    }
    if (exec_error != 0) {
        int status;
        waitpid(pid, &status, 0);
        errno = exec_error;
        return -1;
    }
    return pid;
}

int bustd_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    // Only bustd's end: a hook writing to a non-blocking pipe would fail
    // with EAGAIN as soon as the pipe fills.
    return fcntl(fds[0], F_SETFL, O_NONBLOCK);
}

int bustd_reap(int pid, int *status) {
    int raw = 0;
    int result = waitpid(pid, &raw, WNOHANG);
    if (result > 0) *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    return result;
}
