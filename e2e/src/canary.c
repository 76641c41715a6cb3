/* The canary: an interactive-like process that sleeps 10 ms in a loop and
 * measures how late each wake-up is. A machine that "still responds" keeps
 * this small; a thrashing one stalls it for seconds.
 *
 * Every 500 ms it writes "canary <uptime_ms> <worst_late_us_in_window>" to
 * stdout, and at once whenever a single wake-up is later than 100 ms, so a
 * stall shows even if the canary dies right after. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static void report(long long t, long long worst) {
    char line[80];
    int n = snprintf(line, sizeof line, "canary %lld %lld\n", t / 1000, worst);
    if (write(1, line, n) < 0) { /* runner gone */ }
}

int main(void) {
    const struct timespec tick = { 0, 10 * 1000000L };
    long long window_start = now_us(), worst = 0;
    for (;;) {
        long long before = now_us();
        nanosleep(&tick, NULL);
        long long after = now_us();
        long long late = after - before - 10000;
        if (late > worst) worst = late;
        if (late > 100000) report(after, late);
        if (after - window_start >= 500000) {
            report(after, worst);
            worst = 0;
            window_start = after;
        }
    }
}
