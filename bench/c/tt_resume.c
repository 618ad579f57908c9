/* Resume: opens a catalog (tt_tape_open_catalog), starts the stream BACK bytes before the end
 * (tt_tape_start_at) and times the first DATA event, in microseconds from before the open.
 * --cold first drops the catalog's pages from the page cache (posix_fadvise DONTNEED).
 * --memory also reports the resident memory before opening, after opening, after the first byte and
 * after checking every byte of the catalog (tt_tape_check_catalog), and the mean name length.
 * --walk DIR instead measures the memory of a tape built by walking DIR (tt_add_path, sealed).
 * Prints one JSON line. Usage: tt_resume [--back BYTES] [--cold] [--memory] CATALOG
 *                              tt_resume --walk DIR */
#include "common.h"
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>
#include <tartape.h>

static int fail(tt_tape *tape, tt_status st, const char *what) {
    fprintf(stderr, "tt_resume: %s: %s: %s\n", what, tt_status_name(st), tt_tape_error_message(tape));
    tt_tape_free(tape);
    return 1;
}

/* The mean name length of the tape's entries. */
static double mean_name(tt_tape *tape, uint64_t count) {
    uint64_t i, sum = 0;
    tt_entry_info info;
    for (i = 0; i < count; i++)
        if (tt_tape_entry(tape, i, &info) == TT_STATUS_OK) sum += info.name_len;
    return count ? (double)sum / (double)count : 0.0;
}

static int walk(const char *dir) {
    long anon0 = status_kib("RssAnon"), anon1, anon_trimmed;
    tt_tape *tape = tt_tape_new();
    tt_status st;
    uint64_t count = 0;
    double t0 = now_s(), t1;
    if (tape == NULL) return 1;
    if ((st = tt_add_path(tape, dir, NULL, 0)) != TT_STATUS_OK) return fail(tape, st, dir);
    if ((st = tt_tape_entry_count(tape, &count)) != TT_STATUS_OK) return fail(tape, st, "seal");
    t1 = now_s();
    anon1 = status_kib("RssAnon");
    /* What the allocator keeps after sealing (freed, not returned) is resident but not live. */
    malloc_trim(0);
    anon_trimmed = status_kib("RssAnon");
    printf("{\"mode\": \"walk\", \"entries\": %llu, \"walk_seconds\": %.6f, \"anon_before_kib\": %ld, "
           "\"anon_after_kib\": %ld, \"anon_trimmed_kib\": %ld, \"peak_rss_kib\": %ld, "
           "\"bytes_per_entry\": %.1f, \"bytes_per_entry_trimmed\": %.1f, \"mean_name\": %.1f}\n",
           (unsigned long long)count, t1 - t0, anon0, anon1, anon_trimmed, peak_rss_kib(),
           (double)(anon1 - anon0) * 1024.0 / (double)count,
           (double)(anon_trimmed - anon0) * 1024.0 / (double)count, mean_name(tape, count));
    tt_tape_free(tape);
    return 0;
}

int main(int argc, char **argv) {
    uint64_t back = 1500, total = 0, count = 0, offset;
    int cold = 0, memory = 0, i;
    const char *path;
    long anon0, file0, anon_first, file_first;
    tt_tape *tape;
    tt_event ev;
    tt_status st;
    double t0, t_open, t_first;
    struct stat sb;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--back") == 0 && i + 1 < argc) back = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--cold") == 0) cold = 1;
        else if (strcmp(argv[i], "--memory") == 0) memory = 1;
        else if (strcmp(argv[i], "--walk") == 0 && i + 1 < argc) return walk(argv[i + 1]);
        else { fprintf(stderr, "tt_resume: unknown option %s\n", argv[i]); return 2; }
    }
    if (i + 1 != argc) {
        fprintf(stderr, "usage: tt_resume [--back BYTES] [--cold] [--memory] CATALOG | --walk DIR\n");
        return 2;
    }
    path = argv[i];
    if (stat(path, &sb) != 0) { perror(path); return 1; }
    if (cold) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) { perror(path); return 1; }
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    anon0 = status_kib("RssAnon");
    file0 = status_kib("RssFile");
    t0 = now_s();
    tape = tt_tape_new();
    if (tape == NULL) return 1;
    if ((st = tt_tape_open_catalog(tape, path)) != TT_STATUS_OK) return fail(tape, st, path);
    if ((st = tt_tape_total_size(tape, &total)) != TT_STATUS_OK) return fail(tape, st, "size");
    t_open = now_s();
    offset = total > back ? total - back : 0;
    if ((st = tt_tape_start_at(tape, offset)) != TT_STATUS_OK) return fail(tape, st, "start_at");
    for (;;) {
        if ((st = tt_next_event(tape, &ev)) != TT_STATUS_OK) return fail(tape, st, "next_event");
        if (ev.type == TT_EVENT_TYPE_DATA) break;
    }
    t_first = now_s();
    if (ev.offset != offset || ev.data_len == 0) {
        fprintf(stderr, "tt_resume: first DATA at %llu, asked for %llu\n",
                (unsigned long long)ev.offset, (unsigned long long)offset);
        tt_tape_free(tape);
        return 1;
    }
    anon_first = status_kib("RssAnon");
    file_first = status_kib("RssFile");
    if ((st = tt_tape_entry_count(tape, &count)) != TT_STATUS_OK) return fail(tape, st, "count");
    printf("{\"catalog_bytes\": %lld, \"entries\": %llu, \"offset\": %llu, \"total\": %llu, "
           "\"open_us\": %.1f, \"first_byte_us\": %.1f, \"anon_before_kib\": %ld, \"file_before_kib\": %ld, "
           "\"anon_first_kib\": %ld, \"file_first_kib\": %ld, \"catalog_mapped_first_kib\": %ld",
           (long long)sb.st_size, (unsigned long long)count, (unsigned long long)offset,
           (unsigned long long)total, (t_open - t0) * 1e6, (t_first - t0) * 1e6, anon0, file0,
           anon_first, file_first, mapping_rss_kib(path));
    if (memory) {
        double t_check0 = now_s(), t_check1;
        if ((st = tt_tape_check_catalog(tape)) != TT_STATUS_OK) return fail(tape, st, "check");
        t_check1 = now_s();
        printf(", \"check_seconds\": %.6f, \"anon_checked_kib\": %ld, \"file_checked_kib\": %ld, "
               "\"catalog_mapped_kib\": %ld, \"mean_name\": %.1f, \"anon_named_kib\": %ld, "
               "\"catalog_mapped_named_kib\": %ld",
               t_check1 - t_check0, status_kib("RssAnon"), status_kib("RssFile"), mapping_rss_kib(path),
               mean_name(tape, count), status_kib("RssAnon"), mapping_rss_kib(path));
    }
    printf("}\n");
    tt_tape_free(tape);
    return 0;
}
