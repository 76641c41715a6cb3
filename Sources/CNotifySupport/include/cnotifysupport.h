// What bustd-notify needs from libc that Swift's Glibc module does not
// offer: struct ucred is only declared with _GNU_SOURCE.
#ifndef CNOTIFYSUPPORT_H
#define CNOTIFYSUPPORT_H
#include <stdint.h>
#include <sys/types.h>

/// The uid and pid of the process at the other end of a connected Unix
/// socket, as the kernel recorded them (SO_PEERCRED). 0 on success, else errno.
int cns_peer_credentials(int fd, uint32_t *uid, int32_t *pid);

#endif
