/* The memory hog of the e2e scenarios: grows by STEP MiB every INTERVAL ms
 * until it is killed (or reaches --max MiB, then holds). After every 4 MiB
 * it fills it writes "alloc <MiB> <pid> <MemAvailable kB> <SwapFree kB>" to
 * stdout, so the runner knows how far it got and, to within 4 MiB, when
 * memory crossed a daemon's thresholds.
 *
 * Each page is half pseudo-random, half zero: roughly 2:1 for zram, like
 * real heap data. All-zero pages would cost zram nothing and never fill it.
 *
 *   hog [--step MiB] [--interval ms] [--max MiB] [--ignore-term] [--forks N]
 *
 * --ignore-term: SIGTERM is ignored (the daemon must escalate to SIGKILL).
 * --forks N: N children hog too, in the same process group (for -g). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void fill(unsigned char *p, size_t len, uint64_t *seed) {
    for (size_t off = 0; off < len; off += 4096) {
        uint64_t *w = (uint64_t *)(p + off);
        for (int i = 0; i < 256; i++) { /* 2048 random bytes, 2048 zero */
            uint64_t x = *seed;
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            *seed = x;
            w[i] = x;
        }
        memset(p + off + 2048, 0, 2048);
    }
}

/* One field of /proc/meminfo in kB, -1 if missing. */
static long meminfo_kb(const char *text, const char *key) {
    const char *at = strstr(text, key);
    return at ? atol(at + strlen(key)) : -1;
}

static void memory_now(long *avail, long *swap_free) {
    char text[4096];
    *avail = *swap_free = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    *avail = meminfo_kb(text, "MemAvailable:");
    *swap_free = meminfo_kb(text, "SwapFree:");
}

static void report(long mib) {
    char line[128];
    long avail, swap_free;
    memory_now(&avail, &swap_free);
    int n = snprintf(line, sizeof line, "alloc %ld %d %ld %ld\n", mib, (int)getpid(), avail, swap_free);
    if (write(1, line, n) < 0) { /* runner gone: keep hogging */ }
}

#define CHUNK_MIB 4

static void hog(long step, long interval_ms, long max_mib, uint64_t seed) {
    long total = 0;
    struct timespec pause = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };
    for (;;) {
        if (max_mib == 0 || total < max_mib) {
            unsigned char *p = malloc((size_t)step << 20);
            for (long done = 0; p && done < step; done += CHUNK_MIB) {
                long mib = step - done < CHUNK_MIB ? step - done : CHUNK_MIB;
                fill(p + ((size_t)done << 20), (size_t)mib << 20, &seed);
                report(total + done + mib);
            }
            if (p) total += step;
            else report(total);
        }
        nanosleep(&pause, NULL);
    }
}

int main(int argc, char **argv) {
    long step = 32, interval = 100, max = 0, forks = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--step") && i + 1 < argc) step = atol(argv[++i]);
        else if (!strcmp(argv[i], "--interval") && i + 1 < argc) interval = atol(argv[++i]);
        else if (!strcmp(argv[i], "--max") && i + 1 < argc) max = atol(argv[++i]);
        else if (!strcmp(argv[i], "--forks") && i + 1 < argc) forks = atol(argv[++i]);
        else if (!strcmp(argv[i], "--ignore-term")) signal(SIGTERM, SIG_IGN);
        else { fprintf(stderr, "hog: bad argument %s\n", argv[i]); return 2; }
    }
    for (long i = 0; i < forks; i++)
        if (fork() == 0) { hog(step, interval, max, 0x9e3779b97f4a7c15ULL + i + 1); }
    hog(step, interval, max, 0x9e3779b97f4a7c15ULL);
}
