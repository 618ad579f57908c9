/* Random access: adds the given paths to a tape, then T threads each make CALLS tt_read_at calls of
 * 4 KiB at random archive offsets. Prints one JSON line with the calls per second.
 * --zip writes a stored ZIP instead of a TAR; --catalog FILE saves the walked tape to FILE and
 * reads from a fresh tape opened from it (the catalog case), the walk and the open untimed. For a
 * ZIP, each data descriptor is read once before the clock starts, so that no timed call computes
 * a member's CRC-32 (what a catalog recorded with checksums would hold).
 * Usage: tt_random [--calls N] [--threads T] [--zip] [--catalog FILE] PATH... */
#include "common.h"
#include <pthread.h>
#include <tartape.h>

#define LEN 4096u
#define MAX_THREADS 16

static const tt_tape *shared_tape;
static uint64_t total;
static long calls;

struct worker {
    pthread_t thread;
    uint64_t seed;
    uint64_t bytes;
    tt_status status;
};

static void *reads(void *arg) {
    struct worker *w = arg;
    uint8_t buf[LEN];
    long i;
    for (i = 0; i < calls; i++) {
        uint64_t at = next_rand(&w->seed) % (total - LEN);
        size_t got = 0;
        tt_status st = tt_read_at(shared_tape, at, buf, LEN, &got);
        if (st != TT_STATUS_OK || got != LEN) {
            w->status = st != TT_STATUS_OK ? st : TT_STATUS_SIZE_MISMATCH;
            return NULL;
        }
        w->bytes += got;
    }
    return NULL;
}

int main(int argc, char **argv) {
    int threads = 1, zip = 0, i;
    const char *catalog = NULL;
    tt_tape *tape = tt_tape_new();
    tt_status st;
    struct worker w[MAX_THREADS];
    uint64_t bytes = 0;
    double t0, t1, c0, c1;
    calls = 200000;
    if (tape == NULL) return 1;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc) calls = atol(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--zip") == 0) zip = 1;
        else if (strcmp(argv[i], "--catalog") == 0 && i + 1 < argc) catalog = argv[++i];
        else { fprintf(stderr, "tt_random: unknown option %s\n", argv[i]); return 2; }
    }
    if (i >= argc || threads < 1 || threads > MAX_THREADS || calls < 1) {
        fprintf(stderr, "usage: tt_random [--calls N] [--threads T] [--zip] [--catalog FILE] PATH...\n");
        return 2;
    }
    if (zip && (st = tt_tape_set_format(tape, TT_FORMAT_ZIP)) != TT_STATUS_OK) goto fail;
    for (; i < argc; i++)
        if ((st = tt_add_path(tape, argv[i], NULL, 0)) != TT_STATUS_OK) goto fail;
    if (catalog != NULL) {
        if ((st = tt_tape_save_catalog(tape, catalog)) != TT_STATUS_OK) goto fail;
        tt_tape_free(tape);
        if ((tape = tt_tape_new()) == NULL) return 1;
        if ((st = tt_tape_open_catalog(tape, catalog)) != TT_STATUS_OK) goto fail;
    }
    if ((st = tt_tape_total_size(tape, &total)) != TT_STATUS_OK) goto fail;
    if (zip) {
        uint64_t n, e;
        uint8_t one;
        size_t got;
        if ((st = tt_tape_entry_count(tape, &n)) != TT_STATUS_OK) goto fail;
        for (e = 0; e < n; e++) {
            tt_entry_info info;
            if ((st = tt_tape_entry(tape, e, &info)) != TT_STATUS_OK) goto fail;
            if (info.size == 0) continue;
            st = tt_read_at(tape, info.data_offset + info.size, &one, 1, &got);
            if (st != TT_STATUS_OK) goto fail;
        }
    }
    if (total <= LEN) { fprintf(stderr, "tt_random: archive too small\n"); return 1; }
    shared_tape = tape;
    memset(w, 0, sizeof w);
    c0 = cpu_s();
    t0 = now_s();
    for (i = 0; i < threads; i++) {
        w[i].seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
        if (pthread_create(&w[i].thread, NULL, reads, &w[i]) != 0) return 1;
    }
    for (i = 0; i < threads; i++) pthread_join(w[i].thread, NULL);
    t1 = now_s();
    c1 = cpu_s();
    for (i = 0; i < threads; i++) {
        if (w[i].status != TT_STATUS_OK) { st = w[i].status; goto fail; }
        bytes += w[i].bytes;
    }
    printf("{\"threads\": %d, \"calls\": %ld, \"bytes\": %llu, \"seconds\": %.6f, \"calls_per_s\": %.1f, "
           "\"cpu_seconds\": %.6f, \"calls_per_cpu_s\": %.1f}\n",
           threads, calls * threads, (unsigned long long)bytes, t1 - t0,
           (double)(calls * threads) / (t1 - t0), c1 - c0, (double)(calls * threads) / (c1 - c0));
    tt_tape_free(tape);
    return 0;
fail:
    {
        char msg[512];
        tt_tape_error_copy(tape, msg, sizeof msg);
        fprintf(stderr, "tt_random: %s: %s\n", tt_status_name(st), msg);
    }
    tt_tape_free(tape);
    return 1;
}
