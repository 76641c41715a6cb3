// Thin C layer under bustd: the libc headers Swift needs (Embedded Swift has
// no Glibc module), and wrappers for what Swift cannot call directly:
// variadic functions (open, syscall, syslog), errno, and kernel calls that
// glibc 2.36 does not declare by default (pidfd_*, process_mrelease).
#pragma once
// Only the compiler's own headers here: in ordinary Swift builds the libc
// headers belong to the Glibc module, and a second textual copy of them in
// this module clashes with Foundation's (fd_set, regex_t). The Embedded
// build has no Glibc module and gets libc through cbustd_libc.h instead.
#include <stddef.h>
#include <stdint.h>
#ifdef BUSTD_EMBEDDED_LIBC
#include "cbustd_libc.h"
#endif



// argv, captured by a constructor: Embedded Swift has no CommandLine.
// Starts bustd again with glibc's tcache off (see cbustd.c); returns only
// if it did not (already off, GLIBC_TUNABLES set by the caller, exec failed).
void bustd_restart_without_tcache(void);
// Removes the GLIBC_TUNABLES the restart set.
void bustd_forget_tunables(void);
int bustd_argc(void);
const char *bustd_arg(int index);

int bustd_errno(void);
void bustd_set_errno(int value);
const char *bustd_strerror(int error);

int bustd_open(const char *path, int flags, unsigned mode);
int bustd_openat(int dirfd, const char *path, int flags);
// openat with a mode (O_CLOEXEC added), for files bustd creates.
int bustd_openat_mode(int dirfd, const char *path, int flags, unsigned mode);
// renameat(2) (stdio.h, which the Embedded build does not include).
int bustd_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

// Reads all of DIRFD/PID/NAME (or DIRFD/NAME when pid < 0) into buf.
// Returns the byte count (the file is cut at len), or -1 with errno set.
long bustd_read_proc_file(int dirfd, int pid, const char *name, char *buf, size_t len);
// readlink of DIRFD/PID/NAME, NUL-terminated; -1 with errno on failure.
long bustd_readlink_proc(int dirfd, int pid, const char *name, char *buf, size_t len);
// Owner uid of DIRFD/PID (the process's real uid as /proc shows it), or -1.
long long bustd_proc_owner(int dirfd, int pid);

// The owner and mode of DIRFD/PID/NAME (pid < 0: DIRFD/NAME), following
// the final link when follow is set (for /proc/PID/exe: the executed file
// itself, whatever its path now); -1 with errno on failure.
int bustd_stat_owner_mode(int dirfd, int pid, const char *name, int follow, uint32_t *uid, uint32_t *mode);
// The same for an absolute path, never following a final symbolic link.
int bustd_lstat_owner_mode(const char *path, uint32_t *uid, uint32_t *mode);
// A boolean extended attribute of a path (not following links): 1 when set
// to "1" or "true", 0 when absent or anything else, -1 on other errors.
int bustd_xattr_flag(const char *path, const char *name);

// What identifies a file and who may change it.
typedef struct FileIdentity {
    uint64_t device;
    uint64_t inode;
    uint64_t links;
    uint32_t uid;
    uint32_t mode;
} FileIdentity;
int bustd_fstat_identity(int fd, FileIdentity *out);
// Of the path itself, never following a final symbolic link.
int bustd_lstat_identity(const char *path, FileIdentity *out);
// The same for NAME in the directory DIRFD.
int bustd_lstat_identity_at(int dirfd, const char *name, FileIdentity *out);

// A directory read with getdents64 into a small buffer of its own. glibc's
// opendir allocates 32 KiB for its buffer, and in a daemon that locks its
// memory every kilobyte it ever touched stays resident.
typedef struct BustdDirectory {
    int fd;
    int position;
    int length;
    char buffer[2048];
} BustdDirectory;
// Opens DIRFD/PATH (dirfd AT_FDCWD for an absolute path); NULL with errno.
BustdDirectory *bustd_directory_open(int dirfd, const char *path);
// Starts over (a scan of /proc sees the processes of now).
void bustd_directory_rewind(BustdDirectory *directory);
void bustd_directory_close(BustdDirectory *directory);
// The next entry whose name is a positive decimal number (a pid), or -1 at
// the end. Other entries are skipped.
int bustd_next_pid(BustdDirectory *directory);
// The next subdirectory name (not . or ..), or NULL at the end.
const char *bustd_next_subdir(BustdDirectory *directory);

// Closes every descriptor above 2: a daemon must not hold its launcher's
// pipes or sockets open (the launcher would wait for EOF forever).
void bustd_close_inherited_fds(void);

// Gives back every page bustd does not need resident now: its program text
// and read-only data (the pages stay in the page cache), the heap's free
// memory (malloc_trim), the scratch buffers and the stack below the running
// frame. What runs next is faulted back in, and locked again (mlockall with
// MCL_ONFAULT, as before). After start-up, code that ran once need not stay
// resident; while memory is fine, neither need the kill path
// (KillReadiness). Returns the text's size in bytes, or -1.
long bustd_drop_resident(void);

// Scratch buffers: memory whose contents matter only during one call (a
// read of a /proc file), each its own anonymous mapping, so that
// bustd_drop_resident can give their pages back while memory is fine
// without freeing them (the next use faults in zeroed pages). Sizes are
// rounded up to whole pages. NULL with errno if mmap fails.
void *bustd_scratch_allocate(size_t size);
void bustd_scratch_release(void *address, size_t size);
// setpriority(PRIO_PROCESS, 0, nice); -1 with errno on failure.
int bustd_set_nice(int nice);
// kill(2) under a name that Killer.kill does not shadow.
int bustd_kill(int pid, int sig);
int bustd_pidfd_open(int pid);
int bustd_pidfd_send_signal(int pidfd, int sig);
int bustd_process_mrelease(int pidfd);

// Stop signals (TERM, INT) set a flag and interrupt blocking calls
// (no SA_RESTART); SIGPIPE is ignored; every signal is unblocked.
void bustd_install_signal_handlers(void);
int bustd_stop_requested(void);

// Connects to /dev/log; -1 with errno when there is no syslog socket.
int bustd_syslog_open(void);
void bustd_syslog(int priority, const char *message);

// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET.
// Returns 1 when sent, 0 when no socket is set, -1 on error.
int bustd_sd_notify(const char *state);

// journald's native protocol (Tell/JournalSocket.swift): an unconnected,
// non-blocking datagram socket, and one datagram sent to path with it.
// Returns the bytes sent, or -1 with errno (ENOENT, ECONNREFUSED, EAGAIN,
// EMSGSIZE...).
int bustd_datagram_socket(void);
long bustd_send_datagram(int fd, const char *path, const void *bytes, size_t length);

// The event socket. bustd_listen_unix binds a non-blocking stream socket at
// path with mode 0666 and listens; -1 with errno on failure.
int bustd_listen_unix(const char *path, int backlog);
// 1 when a server accepts connections at path, 0 when nothing does (no
// socket, or a stale one left by a crash).
int bustd_unix_socket_alive(const char *path);
// One varlink call (varlink.c): connects to the stream socket at path,
// sends request (its terminating NUL included in request_length) and reads
// the reply up to its NUL, all within timeout_ms. Returns the reply's
// length without the NUL; -1 with errno (ETIMEDOUT past the deadline,
// EMSGSIZE when the reply does not fit in capacity, EPROTO when the service
// hung up first).
long bustd_varlink_call(const char *path, const char *request, size_t request_length, char *reply, size_t capacity,
                        int timeout_ms);
// A non-blocking connection to a stream socket at path (`bustd status`);
// -1 with errno (EAGAIN when the server's backlog is full).
int bustd_connect_unix(const char *path);
// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC; -1 with errno.
int bustd_accept(int listen_fd);
// SO_PEERCRED: the peer's pid, uid and gid as of connect(2).
int bustd_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid);
// Raises the soft RLIMIT_NOFILE towards wanted (up to the hard limit);
// returns the soft limit now in force.
long bustd_raise_fd_limit(long wanted);

int64_t bustd_monotonic_ms(void);
// CLOCK_MONOTONIC in microseconds, for the verbose log's time stamps.
int64_t bustd_monotonic_us(void);
// This process's page faults so far (getrusage): minor and major.
void bustd_page_faults(long *minor, long *major);
int64_t bustd_realtime_ms(void);

// Hooks (--pre-kill, --post-kill). vfork + execve: the child borrows the
// daemon's memory until exec, so none of its locked pages are copied. The
// child gets a process group of its own, default signal dispositions and an
// empty mask, stdin from /dev/null, stdout and stderr on output_fd, and
// oom_score_adj 0 and nice 0: bustd's own protection is not inherited.
// args and env are NUL-separated strings (at most 64 and 32 of them).
// Returns the child's pid, or -1 with errno (exec's errno when exec failed).
int bustd_spawn_hook(
    const char *path, const char *args, int arg_count, const char *env, int env_count, int output_fd);
// pipe2 with O_CLOEXEC; the read end (fds[0]) non-blocking.
int bustd_pipe(int fds[2]);
// waitpid(pid, WNOHANG): the pid when it exited (status: its exit code, or
// 128 + the signal that ended it), 0 while it runs, -1 with errno.
int bustd_reap(int pid, int *status);
