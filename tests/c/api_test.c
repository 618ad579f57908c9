/* A C test of the whole tape API: building, streaming, feeding, random access from threads,
 * catalogs, fingerprints, verify reports, volumes, locate, and misuse (NULL pointers, wrong
 * states, offsets near 2^64). Run under -fsanitize=address,undefined and under valgrind by
 * tests/c/sanitize.sh: no error, no leak.  Usage: api_test WORKDIR */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tartape.h>
#include <unistd.h>

static int failures = 0, checks = 0;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        checks++;                                                            \
        if (!(cond)) {                                                       \
            failures++;                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
        }                                                                    \
    } while (0)

#define OK(call, tape) CHECK((call) == TT_STATUS_OK, "%s", tt_tape_error_message(tape))

static void write_file(const char *path, const char *content, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) { perror(path); exit(2); }
    fwrite(content, 1, len, f);
    fclose(f);
}

/* Streams the whole tape into a new buffer; returns its length, or 0 on error (a failed check
 * unless `may_fail`). */
/* When set, streams lend this buffer to tt_next_event_into. */
static uint8_t *lend_buf;
static size_t lend_len;

static size_t stream_all_or_fail(tt_tape *tape, uint8_t **out, int may_fail) {
    size_t cap = 1 << 16, len = 0;
    tt_event ev;
    tt_status st;
    uint8_t *buf = malloc(cap);
    OK(tt_tape_start_at(tape, 0), tape);
    while ((st = lend_buf ? tt_next_event_into(tape, lend_buf, lend_len, &ev) : tt_next_event(tape, &ev)) ==
           TT_STATUS_OK) {
        if (ev.type == TT_EVENT_TYPE_DATA) {
            while (len + ev.data_len > cap) buf = realloc(buf, cap *= 2);
            memcpy(buf + len, ev.data, ev.data_len);
            len += ev.data_len;
        } else if (ev.type == TT_EVENT_TYPE_NEED_DATA) {
            static uint8_t chunk[700];
            size_t n = ev.size < sizeof chunk ? (size_t)ev.size : sizeof chunk;
            memset(chunk, 'p', n);
            OK(tt_feed(tape, chunk, n), tape);
        }
    }
    CHECK(may_fail || st == TT_STATUS_EOF, "stream ended with %s: %s", tt_status_name(st), tt_tape_error_message(tape));
    *out = buf;
    return st == TT_STATUS_EOF ? len : 0;
}

static size_t stream_all(tt_tape *tape, uint8_t **out) { return stream_all_or_fail(tape, out, 0); }

/* The archive through tt_read with a buffer of `size`; a pushed entry stops the read with STATE,
 * and its NEED_DATA is the next event. */
static size_t read_all(tt_tape *tape, size_t size, uint8_t **out) {
    size_t cap = 1 << 16, len = 0, n = 0;
    uint8_t *buf = malloc(cap), *chunk = malloc(size + 1);
    tt_status st;
    tt_event ev;
    OK(tt_tape_start_at(tape, 0), tape);
    for (;;) {
        n = 7;
        st = tt_read(tape, chunk, size, &n);
        if (st == TT_STATUS_EOF) break;
        if (st == TT_STATUS_STATE) {
            static uint8_t feed[700];
            size_t k;
            CHECK(strstr(tt_tape_error_message(tape), "NEED_DATA") != NULL, "says why: %s",
                  tt_tape_error_message(tape));
            CHECK(n == 7, "a STATE read leaves the count untouched, got %zu", n);
            OK(tt_next_event(tape, &ev), tape);
            CHECK(ev.type == TT_EVENT_TYPE_NEED_DATA, "NEED_DATA after a STATE read, got %d", (int)ev.type);
            k = ev.size < sizeof feed ? (size_t)ev.size : sizeof feed;
            memset(feed, 'p', k);
            OK(tt_feed(tape, feed, k), tape);
            continue;
        }
        CHECK(st == TT_STATUS_OK && n > 0 && n <= size, "read %zu: %s", n, tt_tape_error_message(tape));
        if (st != TT_STATUS_OK) break;
        while (len + n > cap) buf = realloc(buf, cap *= 2);
        memcpy(buf + len, chunk, n);
        len += n;
    }
    CHECK(tt_read(tape, chunk, size, &n) == TT_STATUS_EOF && n == 0, "EOF stays EOF");
    free(chunk);
    *out = buf;
    return len;
}

struct reader_job {
    tt_tape *tape;
    const uint8_t *expected;
    uint64_t total;
    unsigned seed;
    int bad;
};

static void *random_reader(void *arg) {
    struct reader_job *job = arg;
    uint8_t buf[9000];
    int i;
    for (i = 0; i < 300; i++) {
        uint64_t off = (uint64_t)rand_r(&job->seed) % job->total;
        size_t want = (size_t)(rand_r(&job->seed) % sizeof buf), got = 0;
        if (off + want > job->total) want = (size_t)(job->total - off);
        if (tt_read_at(job->tape, off, buf, want, &got) != TT_STATUS_OK) { job->bad++; continue; }
        if (got != want) job->bad++;
        if (memcmp(buf, job->expected + off, got) != 0) job->bad++;
    }
    return NULL;
}

static void test_build_stream_and_threads(const char *dir) {
    char path[4096];
    tt_tape *tape = tt_tape_new();
    uint8_t *all = NULL;
    uint64_t total = 0, count = 0;
    size_t len, got = 0;
    tt_entry_info info;
    pthread_t threads[8];
    struct reader_job jobs[8];
    uint8_t byte;
    int i;

    snprintf(path, sizeof path, "%s/tree", dir);
    OK(tt_add_path(tape, path, (const uint8_t *)"tree", 4), tape);
    OK(tt_add_bytes(tape, (const uint8_t *)"mem/bytes.txt", 13, (const uint8_t *)"hello", 5, 0644, 1), tape);
    OK(tt_add_from_memory(tape, (const uint8_t *)"mem/pushed.bin", 14, 2000, 0600, 2), tape);
    OK(tt_add_directory(tape, (const uint8_t *)"mem/dir", 7, 0755, 3), tape);
    OK(tt_add_symlink(tape, (const uint8_t *)"mem/link", 8, (const uint8_t *)"bytes.txt", 9, 4), tape);
    CHECK(tt_add_bytes(tape, (const uint8_t *)"/abs", 4, NULL, 0, 0644, 0) == TT_STATUS_INVALID_NAME, "absolute name");
    CHECK(tt_add_bytes(tape, (const uint8_t *)"a/../b", 6, NULL, 0, 0644, 0) == TT_STATUS_INVALID_NAME, "dotdot");
    OK(tt_tape_seal(tape), tape);
    CHECK(tt_add_bytes(tape, (const uint8_t *)"late", 4, NULL, 0, 0644, 0) == TT_STATUS_STATE, "add after seal");
    CHECK(strlen(tt_tape_error_message(tape)) > 0, "a message after an error");
    OK(tt_tape_total_size(tape, &total), tape);
    OK(tt_tape_entry_count(tape, &count), tape);
    CHECK(count == 8, "8 entries, got %llu", (unsigned long long)count);
    OK(tt_tape_entry(tape, count - 1, &info), tape);
    CHECK(info.kind == TT_ENTRY_KIND_SYMLINK && info.link_len == 9, "symlink info");
    CHECK(tt_tape_entry(tape, count, &info) == TT_STATUS_NOT_FOUND, "entry past the end");

    len = stream_all(tape, &all);
    CHECK(len == total, "streamed %zu of %llu", len, (unsigned long long)total);
    {
        /* The same bytes when content is read into a lent buffer, of any size. */
        size_t sizes[] = {0, 100, (64 << 10) + 512, (1 << 20) + 512}, k;
        for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            uint8_t *again = NULL;
            lend_len = sizes[k];
            lend_buf = malloc(lend_len + 1);
            CHECK(stream_all(tape, &again) == total && memcmp(again, all, total) == 0, "lent %zu: same bytes",
                  lend_len);
            free(again);
            free(lend_buf);
            lend_buf = NULL;
        }
    }
    {
        /* The same bytes through tt_read, whatever the buffer's size. */
        size_t sizes[] = {1, 511, 4096, 100000, 1 << 20}, k;
        for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            uint8_t *again = NULL;
            CHECK(read_all(tape, sizes[k], &again) == total && memcmp(again, all, total) == 0,
                  "tt_read %zu: same bytes", sizes[k]);
            free(again);
        }
    }

    /* The pushed entry cannot be read at random; the rest can, from 8 threads at once. */
    OK(tt_tape_entry(tape, count - 3, &info), tape);
    CHECK(info.random_access == 0, "pushed entry is not random access");
    CHECK(tt_read_at(tape, info.data_offset, &byte, 1, &got) == TT_STATUS_NOT_RANDOM_ACCESS, "read pushed bytes");
    for (i = 0; i < 8; i++) {
        jobs[i].tape = tape;
        jobs[i].expected = all;
        jobs[i].total = info.header_offset; /* the part before the pushed entry */
        jobs[i].seed = (unsigned)i * 7919u + 1;
        jobs[i].bad = 0;
        pthread_create(&threads[i], NULL, random_reader, &jobs[i]);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        CHECK(jobs[i].bad == 0, "thread %d saw %d bad reads", i, jobs[i].bad);
    }

    /* Offsets near 2^64 and past the end read nothing; NULL buffers with a length are refused. */
    OK(tt_read_at(tape, UINT64_MAX, &byte, 1, &got), tape);
    CHECK(got == 0, "read at 2^64-1");
    OK(tt_read_at(tape, total, NULL, 0, &got), tape);
    CHECK(tt_read_at(tape, 0, NULL, 10, &got) == TT_STATUS_INVALID_ARGUMENT, "NULL buf with length");
    CHECK(tt_tape_start_at(tape, total + 1) == TT_STATUS_INVALID_ARGUMENT, "start past the end");
    CHECK(tt_feed(tape, (const uint8_t *)"x", 1) == TT_STATUS_STATE, "feed with no entry waiting");
    {
        char small[8];
        size_t full = tt_tape_error_copy(tape, small, sizeof small);
        CHECK(full > 7 && strlen(small) == 7, "error copy cuts to fit");
    }
    free(all);
    tt_tape_free(tape);
}

static void test_feeding_errors(void) {
    tt_tape *tape = tt_tape_new();
    tt_event ev;
    tt_status st;
    int asked = 0;
    OK(tt_add_from_memory(tape, (const uint8_t *)"f", 1, 10, 0644, 0), tape);
    while ((st = tt_next_event(tape, &ev)) == TT_STATUS_OK) {
        if (ev.type == TT_EVENT_TYPE_NEED_DATA) {
            asked++;
            CHECK(tt_next_event(tape, &ev) == TT_STATUS_STATE, "next event while data is owed");
            CHECK(tt_feed(tape, (const uint8_t *)"0123456789AB", 12) == TT_STATUS_SIZE_MISMATCH, "too long");
            break;
        }
    }
    CHECK(asked == 1, "asked for data once");
    CHECK(tt_next_event(tape, &ev) == TT_STATUS_STATE, "stream stopped after a fatal error");
    /* A new stream, fed short. */
    OK(tt_tape_start_at(tape, 0), tape);
    while ((st = tt_next_event(tape, &ev)) == TT_STATUS_OK) {
        if (ev.type == TT_EVENT_TYPE_NEED_DATA) {
            OK(tt_feed(tape, (const uint8_t *)"0123", 4), tape);
            CHECK(tt_next_event(tape, &ev) == TT_STATUS_OK && ev.type == TT_EVENT_TYPE_DATA, "fed data");
            CHECK(tt_next_event(tape, &ev) == TT_STATUS_OK && ev.type == TT_EVENT_TYPE_NEED_DATA && ev.size == 6,
                  "asks for the 6 bytes still owed");
            CHECK(tt_feed_end(tape) == TT_STATUS_SIZE_MISMATCH, "ended short");
            CHECK(tt_status_is_fatal(TT_STATUS_SIZE_MISMATCH), "size mismatch is fatal");
            break;
        }
    }
    tt_tape_free(tape);
}

static void test_catalog_verify_volumes(const char *dir) {
    char tree[4096], cat[4096], file[4096];
    tt_tape *rec = tt_tape_new(), *opened = tt_tape_new(), *again = tt_tape_new();
    const char *fp1 = NULL, *fp2 = NULL;
    uint8_t *a = NULL, *b = NULL, md5[16];
    size_t la, lb;
    uint64_t parts = 0, n = 0, p, start, vlen, joined = 0, problems = 0, checked = 0;
    tt_report *report = NULL;
    tt_discrepancy d;
    tt_location loc;
    tt_volume *vol = NULL;
    tt_manifest_item item;

    snprintf(tree, sizeof tree, "%s/tree", dir);
    snprintf(cat, sizeof cat, "%s/tree.catalog", dir);
    OK(tt_tape_set_checksums(rec, 1), rec);
    OK(tt_add_path(rec, tree, NULL, 0), rec);
    OK(tt_tape_save_catalog(rec, cat), rec);
    OK(tt_tape_fingerprint(rec, &fp1), rec);
    OK(tt_tape_open_catalog(opened, cat), opened);
    OK(tt_tape_check_catalog(opened), opened);
    OK(tt_tape_fingerprint(opened, &fp2), opened);
    CHECK(strcmp(fp1, fp2) == 0 && strlen(fp1) == 32, "fingerprints %s %s", fp1, fp2);
    CHECK(tt_tape_open_catalog(opened, cat) == TT_STATUS_STATE, "open into a used tape");
    la = stream_all(rec, &a);
    lb = stream_all(opened, &b);
    CHECK(la == lb && la > 0 && memcmp(a, b, la) == 0, "opened catalog streams the same bytes");
    {
        /* The same catalog from memory (shipped to a worker): the same fingerprint and bytes,
         * and the caller's copy may be freed at once. */
        tt_tape *mem = tt_tape_new(), *bad = tt_tape_new();
        const char *fp3 = NULL;
        uint8_t *c = NULL, *raw = NULL;
        size_t lc, lraw = 0;
        FILE *f = fopen(cat, "rb");
        CHECK(f != NULL, "catalog readable");
        fseek(f, 0, SEEK_END);
        lraw = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        raw = malloc(lraw);
        CHECK(fread(raw, 1, lraw, f) == lraw, "catalog read");
        fclose(f);
        OK(tt_tape_open_catalog_bytes(mem, raw, lraw), mem);
        CHECK(tt_tape_open_catalog_bytes(mem, raw, lraw) == TT_STATUS_STATE, "open into a used tape");
        memset(raw, 0xAB, lraw);
        free(raw);
        OK(tt_tape_check_catalog(mem), mem);
        OK(tt_tape_fingerprint(mem, &fp3), mem);
        CHECK(strcmp(fp1, fp3) == 0, "catalog from memory: fingerprint %s", fp3);
        lc = stream_all(mem, &c);
        CHECK(lc == la && memcmp(a, c, la) == 0, "catalog from memory streams the same bytes");
        CHECK(tt_tape_open_catalog_bytes(bad, NULL, 5) == TT_STATUS_INVALID_ARGUMENT, "NULL data");
        CHECK(tt_tape_open_catalog_bytes(bad, (const uint8_t *)"TARTAPE-CATALOG", 15) == TT_STATUS_CORRUPT,
              "truncated catalog in memory: %s", tt_tape_error_message(bad));
        free(c);
        tt_tape_free(mem);
        tt_tape_free(bad);
    }

    OK(tt_volume_count(opened, 1536, &parts), opened);
    for (p = 0; p < parts; p++) {
        uint8_t buf[1536];
        size_t got = 0;
        OK(tt_volume_open(opened, 1536, p, &vol), opened);
        OK(tt_volume_range(vol, &start, &vlen), opened);
        CHECK(tt_volume_read(vol, buf, sizeof buf, &got) == TT_STATUS_OK && got == vlen, "part read");
        CHECK(memcmp(buf, a + start, got) == 0, "part %llu bytes", (unsigned long long)p);
        joined += got;
        OK(tt_volume_manifest_count(vol, &n), opened);
        if (n > 0) OK(tt_volume_manifest_item(vol, 0, &item), opened);
        CHECK(tt_volume_manifest_item(vol, n, &item) == TT_STATUS_NOT_FOUND, "manifest past the end");
        OK(tt_volume_md5(vol, md5), opened);
        CHECK(tt_volume_seek(vol, 0, 7, NULL) == TT_STATUS_INVALID_ARGUMENT, "bad whence");
        tt_volume_free(vol);
    }
    CHECK(joined == la, "parts add up to the archive");
    CHECK(tt_volume_count(opened, 1000, &parts) == TT_STATUS_INVALID_ARGUMENT, "part size not a multiple of 512");
    OK(tt_tape_locate(opened, (const uint8_t *)"tree/a.txt", 10, 1024, &loc), opened);
    CHECK(loc.size == 11, "located size %llu", (unsigned long long)loc.size);
    CHECK(tt_tape_locate(opened, (const uint8_t *)"nope", 4, 1024, &loc) == TT_STATUS_NOT_FOUND, "locate missing");

    OK(tt_tape_verify(opened, 1, &report), opened);
    OK(tt_report_count(report, &problems, &checked), opened);
    CHECK(problems == 0 && checked > 0, "clean report");
    tt_report_free(report);
    snprintf(file, sizeof file, "%s/tree/a.txt", dir);
    write_file(file, "changed!", 8);
    OK(tt_tape_verify(opened, 0, &report), opened);
    OK(tt_report_count(report, &problems, NULL), opened);
    CHECK(problems >= 1, "a changed file is reported");
    OK(tt_report_item(report, 0, &d), opened);
    CHECK(d.name_len > 0 && strlen(d.problem_name) > 0 && d.expected != NULL && d.found != NULL, "item");
    CHECK(tt_report_item(report, problems, &d) == TT_STATUS_NOT_FOUND, "item past the end");
    tt_report_free(report);
    free(b);
    lb = stream_all_or_fail(opened, &b, 1);
    CHECK(lb == 0, "a changed file stops the stream");
    CHECK(strstr(tt_tape_error_message(opened), "a.txt") != NULL, "message names the file: %s",
          tt_tape_error_message(opened));

    write_file(cat, "TARTAPE-CATALOG", 15);
    CHECK(tt_tape_open_catalog(again, cat) == TT_STATUS_CORRUPT, "damaged catalog");
    free(a);
    free(b);
    tt_tape_free(rec);
    tt_tape_free(opened);
    tt_tape_free(again);
}

static void test_null_arguments(void) {
    tt_tape *tape = tt_tape_new();
    tt_event ev;
    uint64_t u = 0;
    size_t got = 0;
    const char *s = NULL;
    tt_report *r = NULL;
    tt_volume *v = NULL;
    tt_location loc;
    CHECK(tt_add_path(NULL, "x", NULL, 0) == TT_STATUS_INVALID_ARGUMENT, "NULL tape");
    CHECK(tt_add_path(tape, NULL, NULL, 0) == TT_STATUS_INVALID_ARGUMENT, "NULL path");
    CHECK(tt_add_from_memory(tape, NULL, 3, 1, 0644, 0) == TT_STATUS_INVALID_ARGUMENT, "NULL name");
    CHECK(tt_add_bytes(tape, (const uint8_t *)"n", 1, NULL, 3, 0644, 0) == TT_STATUS_INVALID_ARGUMENT, "NULL data");
    CHECK(tt_add_read_at(tape, (const uint8_t *)"n", 1, 3, 0644, 0, NULL, NULL, NULL) == TT_STATUS_INVALID_ARGUMENT,
          "NULL callback");
    CHECK(tt_add_symlink(tape, (const uint8_t *)"l", 1, NULL, 2, 0) == TT_STATUS_INVALID_ARGUMENT, "NULL target");
    CHECK(tt_next_event(tape, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL event");
    CHECK(tt_next_event(NULL, &ev) == TT_STATUS_INVALID_ARGUMENT, "NULL tape event");
    CHECK(tt_next_event_into(tape, NULL, 10, &ev) == TT_STATUS_INVALID_ARGUMENT, "NULL lent buffer");
    CHECK(tt_next_event_into(tape, NULL, 0, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL event into");
    CHECK(tt_next_event_into(NULL, NULL, 0, &ev) == TT_STATUS_INVALID_ARGUMENT, "NULL tape event into");
    got = 99;
    CHECK(tt_read(tape, NULL, 10, &got) == TT_STATUS_INVALID_ARGUMENT && got == 99,
          "NULL read buffer with length (the count untouched)");
    CHECK(tt_read(tape, NULL, 0, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL read count");
    CHECK(tt_read(NULL, NULL, 0, &got) == TT_STATUS_INVALID_ARGUMENT, "NULL tape stream read");
    CHECK(tt_read_at(tape, 0, NULL, 0, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL nread");
    CHECK(tt_read_at(NULL, 0, NULL, 0, &got) == TT_STATUS_INVALID_ARGUMENT, "NULL tape read");
    CHECK(tt_tape_total_size(tape, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL out");
    CHECK(tt_tape_total_size(NULL, &u) == TT_STATUS_INVALID_ARGUMENT, "NULL tape size");
    CHECK(tt_tape_fingerprint(tape, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL fingerprint out");
    CHECK(tt_tape_fingerprint(NULL, &s) == TT_STATUS_INVALID_ARGUMENT, "NULL tape fingerprint");
    CHECK(tt_tape_save_catalog(tape, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL catalog path");
    CHECK(tt_tape_open_catalog(NULL, "x") == TT_STATUS_INVALID_ARGUMENT, "NULL tape open");
    CHECK(tt_tape_verify(tape, 0, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL report out");
    CHECK(tt_report_count(NULL, &u, &u) == TT_STATUS_INVALID_ARGUMENT, "NULL report");
    CHECK(tt_volume_open(tape, 512, 0, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL volume out");
    CHECK(tt_volume_read(NULL, NULL, 0, &got) == TT_STATUS_INVALID_ARGUMENT, "NULL volume");
    CHECK(tt_tape_locate(tape, NULL, 1, 512, &loc) == TT_STATUS_INVALID_ARGUMENT, "NULL locate name");
    CHECK(tt_feed(tape, NULL, 1) == TT_STATUS_INVALID_ARGUMENT, "NULL chunk with length");
    CHECK(strcmp(tt_status_name(TT_STATUS_CHANGED), "CHANGED") == 0, "status name");
    CHECK(strcmp(tt_status_name(12345), "UNKNOWN") == 0, "unknown status name");
    CHECK(strcmp(tt_version(), TARTAPE_VERSION) == 0, "version %s vs %s", tt_version(), TARTAPE_VERSION);
    CHECK(tt_tape_error_message(NULL) != NULL, "message of NULL tape");
    tt_tape_free(NULL);
    tt_volume_free(NULL);
    tt_report_free(NULL);
    (void)r;
    (void)v;
    tt_tape_free(tape);
}

static void test_align(const char *dir) {
    char tree[4096];
    tt_tape *tape = tt_tape_new(), *zip = tt_tape_new();
    tt_location loc;
    uint8_t *a = NULL;
    size_t la;
    snprintf(tree, sizeof tree, "%s/tree", dir);
    CHECK(tt_tape_set_align(tape, 1000) == TT_STATUS_INVALID_ARGUMENT, "align not a power of two");
    CHECK(tt_tape_set_align(tape, 1 << 20) == TT_STATUS_INVALID_ARGUMENT, "align over 64 KiB");
    OK(tt_tape_set_align(tape, 4096), tape);
    OK(tt_add_path(tape, tree, NULL, 0), tape);
    OK(tt_tape_locate(tape, (const uint8_t *)"tree/a.txt", 10, 512, &loc), tape);
    CHECK(loc.data_offset % 4096 == 0, "content aligned at %llu", (unsigned long long)loc.data_offset);
    OK(tt_tape_locate(tape, (const uint8_t *)"tree/sub/b.bin", 14, 512, &loc), tape);
    CHECK(loc.data_offset % 4096 == 0, "content aligned at %llu", (unsigned long long)loc.data_offset);
    la = stream_all(tape, &a);
    CHECK(la > loc.data_offset + 3 && a[loc.data_offset + 1] == 13 && a[loc.data_offset + 2] == 26,
          "aligned content");
    CHECK(tt_tape_set_align(tape, 512) == TT_STATUS_STATE, "align once sealed");
    {
        /* The same archive written into a file, content copied in the kernel. */
        char path[4096];
        uint64_t in_kernel = 0;
        uint8_t *back = malloc(la);
        int fd;
        snprintf(path, sizeof path, "%s/copied.tar", dir);
        fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
        CHECK(fd >= 0, "open %s", path);
        OK(tt_tape_copy_into(tape, fd, &in_kernel), tape);
        CHECK(pread(fd, back, la, 0) == (ssize_t)la && memcmp(back, a, la) == 0, "copied file is the archive");
        /* a.txt ("changed!" by the catalog test) and b.bin: all in the kernel, or all through memory
         * where this file system refuses copy_file_range. */
        CHECK(in_kernel == 8 + 70000 || in_kernel == 0, "copied in the kernel: %llu",
              (unsigned long long)in_kernel);
        close(fd);
        free(back);
        CHECK(tt_tape_copy_into(tape, -1, NULL) == TT_STATUS_INVALID_ARGUMENT, "negative fd");
        CHECK(tt_tape_copy_into(NULL, 1, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL tape copy");
    }
    OK(tt_tape_set_format(zip, TT_FORMAT_ZIP), zip);
    OK(tt_tape_set_align(zip, 4096), zip);
    OK(tt_add_path(zip, tree, NULL, 0), zip);
    CHECK(tt_tape_locate(zip, (const uint8_t *)"tree/a.txt", 10, 512, &loc) == TT_STATUS_INVALID_ARGUMENT,
          "ZIP refuses alignment: %s", tt_tape_error_message(zip));
    free(a);
    tt_tape_free(tape);
    tt_tape_free(zip);
}

/* tt_tape_stream_paths: the TAR written to a descriptor while the tree is walked is the sealed
 * tape's stream; the handle gives options only; refusals name what is wrong. */
static void test_stream_paths(const char *dir) {
    char tree[4096], path[4096];
    const char *paths[2];
    tt_tape *walked = tt_tape_new(), *sealed = tt_tape_new(), *zip = tt_tape_new();
    uint8_t *want = NULL, *got;
    size_t lw;
    uint64_t written = 0;
    int fd;
    snprintf(tree, sizeof tree, "%s/tree", dir);
    snprintf(path, sizeof path, "%s/walked.tar", dir);
    paths[0] = tree;
    paths[1] = NULL;
    OK(tt_add_path(sealed, tree, NULL, 0), sealed);
    lw = stream_all(sealed, &want);
    fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    CHECK(fd >= 0, "open %s", path);
    OK(tt_tape_stream_paths(walked, paths, 1, fd, &written), walked);
    CHECK(written == lw, "written %llu of %zu", (unsigned long long)written, lw);
    got = malloc(lw);
    CHECK(pread(fd, got, lw, 0) == (ssize_t)lw && memcmp(got, want, lw) == 0, "walked stream is the sealed one");
    /* The handle is still empty: it streams again, and takes entries after. */
    OK(tt_tape_stream_paths(walked, paths, 0, fd, &written), walked);
    CHECK(written == 1024, "no paths: the trailer alone (%llu)", (unsigned long long)written);
    CHECK(tt_tape_stream_paths(walked, paths, 2, fd, NULL) == TT_STATUS_INVALID_ARGUMENT, "paths[1] NULL");
    CHECK(strstr(tt_tape_error_message(walked), "paths[1]") != NULL, "%s", tt_tape_error_message(walked));
    CHECK(tt_tape_stream_paths(walked, NULL, 1, fd, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL paths");
    CHECK(tt_tape_stream_paths(walked, paths, 1, -1, NULL) == TT_STATUS_INVALID_ARGUMENT, "negative fd");
    CHECK(tt_tape_stream_paths(NULL, paths, 1, fd, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL tape");
    CHECK(tt_tape_stream_paths(sealed, paths, 1, fd, NULL) == TT_STATUS_STATE, "sealed tape");
    OK(tt_tape_set_format(zip, TT_FORMAT_ZIP), zip);
    CHECK(tt_tape_stream_paths(zip, paths, 1, fd, NULL) == TT_STATUS_INVALID_ARGUMENT, "ZIP: %s",
          tt_tape_error_message(zip));
    OK(tt_add_path(walked, tree, NULL, 0), walked);
    CHECK(tt_tape_stream_paths(walked, paths, 1, fd, NULL) == TT_STATUS_STATE, "a tape with entries: %s",
          tt_tape_error_message(walked));
    close(fd);
    free(got);
    free(want);
    tt_tape_free(walked);
    tt_tape_free(sealed);
    tt_tape_free(zip);
}

/* Checksums chosen per algorithm: the known digests of "123456789", read by index at FILE_END. */
static void test_checksums(void) {
    static const uint8_t sha256[32] = {0x15, 0xe2, 0xb0, 0xd3, 0xc3, 0x38, 0x91, 0xeb, 0xb0, 0xf1, 0xef,
                                       0x60, 0x9e, 0xc4, 0x19, 0x42, 0x0c, 0x20, 0xe3, 0x20, 0xce, 0x94,
                                       0xc6, 0x5f, 0xbc, 0x8c, 0x33, 0x12, 0x44, 0x8e, 0xb2, 0x25};
    static const uint8_t crc32c[4] = {0xe3, 0x06, 0x92, 0x83}, crc32[4] = {0xcb, 0xf4, 0x39, 0x26};
    tt_tape *tape = tt_tape_new();
    tt_event ev;
    tt_status st;
    uint8_t out[32];
    size_t n = 0;
    int ends = 0;
    CHECK(tt_tape_record_checksums(tape, 16) == TT_STATUS_INVALID_ARGUMENT, "unknown checksum bit");
    OK(tt_tape_record_checksums(tape, TT_CHECKSUM_SHA256 | TT_CHECKSUM_CRC32C | TT_CHECKSUM_CRC32), tape);
    OK(tt_add_bytes(tape, (const uint8_t *)"check.txt", 9, (const uint8_t *)"123456789", 9, 0644, 0), tape);
    OK(tt_tape_entry_checksum(tape, 0, TT_CHECKSUM_SHA256, NULL, 0, &n), tape);
    CHECK(n == 32, "SHA-256 length %zu", n);
    CHECK(tt_tape_entry_checksum(tape, 0, TT_CHECKSUM_SHA256, out, 31, &n) == TT_STATUS_INVALID_ARGUMENT,
          "a short buffer");
    CHECK(tt_tape_entry_checksum(tape, 0, TT_CHECKSUM_MD5, out, sizeof out, &n) == TT_STATUS_NOT_FOUND,
          "MD5 was not asked for");
    CHECK(tt_tape_entry_checksum(tape, 1, TT_CHECKSUM_SHA256, out, sizeof out, &n) == TT_STATUS_NOT_FOUND,
          "no entry 1");
    CHECK(tt_tape_entry_checksum(tape, 0, 3, out, sizeof out, &n) == TT_STATUS_INVALID_ARGUMENT,
          "two algorithms at once");
    CHECK(tt_tape_record_checksums(tape, TT_CHECKSUM_MD5) == TT_STATUS_STATE, "sealed");
    while ((st = tt_next_event(tape, &ev)) == TT_STATUS_OK) {
        if (ev.type != TT_EVENT_TYPE_FILE_END) continue;
        ends++;
        OK(tt_tape_entry_checksum(tape, ev.index, TT_CHECKSUM_SHA256, out, sizeof out, &n), tape);
        CHECK(n == 32 && memcmp(out, sha256, 32) == 0, "SHA-256 of 123456789");
        OK(tt_tape_entry_checksum(tape, ev.index, TT_CHECKSUM_CRC32C, out, sizeof out, &n), tape);
        CHECK(n == 4 && memcmp(out, crc32c, 4) == 0, "CRC-32C of 123456789, big-endian");
        OK(tt_tape_entry_checksum(tape, ev.index, TT_CHECKSUM_CRC32, out, sizeof out, NULL), tape);
        CHECK(memcmp(out, crc32, 4) == 0, "CRC-32 of 123456789, big-endian");
    }
    CHECK(st == TT_STATUS_EOF && ends == 1, "one FILE_END");
    CHECK(tt_tape_entry_checksum(NULL, 0, TT_CHECKSUM_SHA256, out, sizeof out, &n) == TT_STATUS_INVALID_ARGUMENT,
          "NULL tape");
    CHECK(tt_tape_record_checksums(NULL, 1) == TT_STATUS_INVALID_ARGUMENT, "NULL tape record");
    tt_tape_free(tape);
}

int main(int argc, char **argv) {
    char path[4096];
    if (argc != 2) {
        fprintf(stderr, "usage: api_test WORKDIR\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/tree", argv[1]);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tree/a.txt", argv[1]);
    write_file(path, "hello world", 11);
    snprintf(path, sizeof path, "%s/tree/sub", argv[1]);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tree/sub/b.bin", argv[1]);
    {
        char big[70000];
        size_t i;
        for (i = 0; i < sizeof big; i++) big[i] = (char)(i * 13);
        write_file(path, big, sizeof big);
    }
    test_null_arguments();
    test_build_stream_and_threads(argv[1]);
    test_feeding_errors();
    test_catalog_verify_volumes(argv[1]);
    test_align(argv[1]);
    test_stream_paths(argv[1]);
    test_checksums();
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
