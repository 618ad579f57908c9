/* The page-cache limit: reads the given files with pread into one reused 1 MiB buffer, in order
 * (sequential mode) or at random 4 KiB offsets on T threads (--random CALLS --threads T).
 * --check adds an fstat of the file after each random pread: the least a reader must do per call
 * to know that the bytes it read are still the file's (tartape's read_at check).
 * Prints one JSON line. Usage: pread_loop [--random CALLS] [--threads T] [--check] FILE... */
#include "common.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUF (1u << 20)
#define RAND_LEN 4096u
#define MAX_FILES 4096
#define MAX_THREADS 16

static int fds[MAX_FILES];
static uint64_t sizes[MAX_FILES];
static uint64_t starts[MAX_FILES + 1];
static int nfiles;
static long calls_per_thread;
static int check;

struct worker {
    pthread_t thread;
    uint64_t seed;
    uint64_t bytes;
    int failed;
};

static void *random_reads(void *arg) {
    struct worker *w = arg;
    static __thread uint8_t buf[RAND_LEN];
    uint64_t total = starts[nfiles];
    long i;
    for (i = 0; i < calls_per_thread; i++) {
        uint64_t at = next_rand(&w->seed) % (total - RAND_LEN);
        int f = 0;
        /* Binary search for the file holding `at`, as an archive reader would. */
        int lo = 0, hi = nfiles - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) / 2;
            if (starts[mid] <= at) lo = mid; else hi = mid - 1;
        }
        f = lo;
        {
            uint64_t off = at - starts[f];
            size_t want = RAND_LEN;
            if (off + want > sizes[f]) want = (size_t)(sizes[f] - off);
            ssize_t n = pread(fds[f], buf, want, (off_t)off);
            if (n < 0) { w->failed = 1; return NULL; }
            if (check) {
                struct stat st;
                if (fstat(fds[f], &st) != 0 || (uint64_t)st.st_size != sizes[f]) { w->failed = 1; return NULL; }
            }
            w->bytes += (uint64_t)n;
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    long random_calls = 0;
    int threads = 1, i;
    uint8_t *buf;
    uint64_t bytes = 0;
    double t0, t1, c0, c1;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--random") == 0 && i + 1 < argc) random_calls = atol(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--check") == 0) check = 1;
        else { fprintf(stderr, "pread_loop: unknown option %s\n", argv[i]); return 2; }
    }
    if (i >= argc || threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "usage: pread_loop [--random CALLS] [--threads T] [--check] FILE...\n");
        return 2;
    }
    t0 = now_s();
    for (; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0 || nfiles >= MAX_FILES) { perror(argv[i]); return 1; }
        fds[nfiles] = fd;
        sizes[nfiles] = (uint64_t)lseek(fd, 0, SEEK_END);
        starts[nfiles + 1] = starts[nfiles] + sizes[nfiles];
        nfiles++;
    }
    if (random_calls == 0) {
        buf = malloc(BUF);
        if (buf == NULL) return 1;
        for (i = 0; i < nfiles; i++) {
            off_t off = 0;
            ssize_t n;
            while ((n = pread(fds[i], buf, BUF, off)) > 0) {
                off += n;
                bytes += (uint64_t)n;
            }
            if (n < 0) { perror("pread"); return 1; }
            close(fds[i]);
        }
        t1 = now_s();
        printf("{\"bytes\": %llu, \"seconds\": %.6f, \"bytes_per_s\": %.1f, \"peak_rss_kib\": %ld}\n",
               (unsigned long long)bytes, t1 - t0, (double)bytes / (t1 - t0), peak_rss_kib());
        free(buf);
        return 0;
    } else {
        struct worker w[MAX_THREADS];
        calls_per_thread = random_calls;
        memset(w, 0, sizeof w);
        if (starts[nfiles] <= RAND_LEN) { fprintf(stderr, "pread_loop: files too small\n"); return 1; }
        c0 = cpu_s();
        t0 = now_s();
        for (i = 0; i < threads; i++) {
            w[i].seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
            if (pthread_create(&w[i].thread, NULL, random_reads, &w[i]) != 0) return 1;
        }
        for (i = 0; i < threads; i++) {
            pthread_join(w[i].thread, NULL);
            if (w[i].failed) { perror("pread"); return 1; }
            bytes += w[i].bytes;
        }
        t1 = now_s();
        c1 = cpu_s();
        printf("{\"threads\": %d, \"calls\": %ld, \"bytes\": %llu, \"seconds\": %.6f, \"calls_per_s\": %.1f, "
               "\"cpu_seconds\": %.6f, \"calls_per_cpu_s\": %.1f}\n",
               threads, random_calls * threads, (unsigned long long)bytes, t1 - t0,
               (double)(random_calls * threads) / (t1 - t0), c1 - c0,
               (double)(random_calls * threads) / (c1 - c0));
        return 0;
    }
}
