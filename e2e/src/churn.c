/* Page-cache thrashing with plenty of available memory: reads the first MiB
 * of a disk over and over, each 1 MiB chunk twice in a row so that its pages
 * go to the active list. With MiB larger than RAM, reclaim keeps
 * deactivating and evicting pages that are read again in the next round:
 * workingset refaults, which the kernel counts as memory stall (PSI), while
 * MemAvailable stays high because page cache counts as available. The case
 * where a daemon acting on PSI alone would kill for nothing.
 *
 *   churn PATH MiB      (runs until killed; "round N" on stdout each round) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: churn PATH MiB\n"); return 2; }
    long mib = atol(argv[2]);
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror(argv[1]); return 1; }
    static char buf[1 << 20];
    for (long round = 1;; round++) {
        for (long i = 0; i < mib; i++) {
            for (int twice = 0; twice < 2; twice++)
                if (pread(fd, buf, sizeof buf, (off_t)i << 20) < 0) { perror("pread"); return 1; }
        }
        printf("round %ld\n", round);
        fflush(stdout);
    }
}
