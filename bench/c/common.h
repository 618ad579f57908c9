/* Helpers shared by the benchmark programs: a monotonic clock, the process's memory, JSON output. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

/* User plus system CPU seconds of the whole process (every thread) so far. */
static inline double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A field of /proc/self/status in KiB ("VmRSS", "RssAnon", "RssFile"), or -1. */
static inline long status_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(field);
    long v = -1;
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Peak resident set size of this program in KiB (VmHWM: unlike getrusage's ru_maxrss, it does not
 * carry over the peak of the process that forked us before exec). */
static inline long peak_rss_kib(void) {
    return status_kib("VmHWM");
}

/* Resident KiB of the mappings of the file whose path ends with `suffix` (/proc/self/smaps). */
static inline long mapping_rss_kib(const char *suffix) {
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[4096];
    size_t n = strlen(suffix);
    int inside = 0;
    long total = 0;
    unsigned long lo, hi;
    char perms[5];
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
        if (strncmp(line, "Rss:", 4) == 0) {
            if (inside) total += strtol(line + 4, NULL, 10);
        } else if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3) {
            /* A mapping's first line: "start-end perms offset dev inode path". */
            inside = len >= n && strcmp(line + len - n, suffix) == 0;
        }
    }
    fclose(f);
    return total;
}

/* xorshift64*: a fast deterministic generator, one state per thread. */
static inline uint64_t next_rand(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#endif
