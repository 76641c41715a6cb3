/* A build-like load for the e2e scenarios, like `make -j` with heavy
 * compilers: a driver starts jobs faster than they finish. Each job grows
 * to its own random size (between --min and --max MiB, STEP MiB every
 * INTERVAL ms, half-random pages as in hog.c), holds it for --hold ms
 * (the compiler's last pass), then exits. The driver waits for all of them
 * and exits 0; a job that was killed is counted, not retried.
 *
 *   build [--jobs N] [--every MS] [--min MiB] [--max MiB] [--step MiB]
 *         [--interval MS] [--hold MS] [--seed S]
 *
 * Every job writes "alloc <MiB> <pid> <MemAvailable kB> <SwapFree kB>"
 * after each 4 MiB, like hog, so the runner knows every job's pid.
 * The sizes come from --seed: the same seed gives every daemon the same
 * build. At the end the driver writes "build <jobs> <finished> <killed>". */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void fill(unsigned char *p, size_t len, uint64_t *seed) {
    for (size_t off = 0; off < len; off += 4096) {
        uint64_t *w = (uint64_t *)(p + off);
        for (int i = 0; i < 256; i++) {
            uint64_t x = *seed;
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            *seed = x;
            w[i] = x;
        }
        memset(p + off + 2048, 0, 2048);
    }
}

static long meminfo_kb(const char *text, const char *key) {
    const char *at = strstr(text, key);
    return at ? atol(at + strlen(key)) : -1;
}

static void report(long mib) {
    char text[4096], line[128];
    long avail = -1, swap_free = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = 0;
        avail = meminfo_kb(text, "MemAvailable:");
        swap_free = meminfo_kb(text, "SwapFree:");
    }
    int n = snprintf(line, sizeof line, "alloc %ld %d %ld %ld\n", mib, (int)getpid(), avail, swap_free);
    if (write(1, line, n) < 0) { /* runner gone: keep going */ }
}

static void sleep_ms(long ms) {
    struct timespec pause = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&pause, NULL);
}

static void job(long size, long step, long interval, long hold, uint64_t seed) {
    long total = 0;
    while (total < size) {
        long now = step < size - total ? step : size - total;
        unsigned char *p = malloc((size_t)now << 20);
        if (!p) break;
        for (long done = 0; done < now; done += 4) {
            long mib = now - done < 4 ? now - done : 4;
            fill(p + ((size_t)done << 20), (size_t)mib << 20, &seed);
            report(total + done + mib);
        }
        total += now;
        sleep_ms(interval);
    }
    sleep_ms(hold);
    _exit(0);
}

int main(int argc, char **argv) {
    long jobs = 40, every = 400, min = 50, max = 300, step = 8, interval = 100, hold = 300, seed = 1;
    for (int i = 1; i < argc; i++) {
        long *target = NULL;
        if (!strcmp(argv[i], "--jobs")) target = &jobs;
        else if (!strcmp(argv[i], "--every")) target = &every;
        else if (!strcmp(argv[i], "--min")) target = &min;
        else if (!strcmp(argv[i], "--max")) target = &max;
        else if (!strcmp(argv[i], "--step")) target = &step;
        else if (!strcmp(argv[i], "--interval")) target = &interval;
        else if (!strcmp(argv[i], "--hold")) target = &hold;
        else if (!strcmp(argv[i], "--seed")) target = &seed;
        if (!target || i + 1 >= argc) { fprintf(stderr, "build: bad argument %s\n", argv[i]); return 2; }
        *target = atol(argv[++i]);
    }
    if (min < 1 || max < min || step < 1) { fprintf(stderr, "build: bad sizes\n"); return 2; }
    uint64_t state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)seed;
    long started = 0, finished = 0, killed = 0, running = 0;
    for (;;) {
        if (started < jobs) {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            long size = min + (long)(state % (uint64_t)(max - min + 1));
            pid_t pid = fork();
            if (pid == 0) job(size, step, interval, hold, state);
            if (pid > 0) { started++; running++; }
        } else if (running == 0) {
            break;
        }
        /* Until the next start (or, once all started, the next check),
         * count the jobs that ended. */
        for (long waited = 0; waited < every; waited += 10) {
            int status;
            pid_t done;
            while ((done = waitpid(-1, &status, WNOHANG)) > 0) {
                running--;
                if (WIFSIGNALED(status)) killed++; else finished++;
            }
            sleep_ms(10);
        }
    }
    printf("build %ld %ld %ld\n", jobs, finished, killed);
    return 0;
}
