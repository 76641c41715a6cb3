#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>
#include "cnotifysupport.h"

int cns_peer_credentials(int fd, uint32_t *uid, int32_t *pid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return errno;
    if (length != sizeof credentials) return EINVAL;
    *uid = credentials.uid;
    *pid = credentials.pid;
    return 0;
}
