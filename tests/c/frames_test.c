/* A C test of seekable compressed tapes (tt_tape_record_frames): the frame table, the stream,
 * tt_read_at in chunks and streams resumed at compressed offsets all give the same bytes, for any
 * number of threads; catalogs keep the frames; misuse is refused with the documented statuses.
 * Writes WORKDIR/plain.tar, WORKDIR/framed.tar.zst and WORKDIR/framed.tar.gz, which tests/c/run.sh
 * decompresses with zstd and gzip and compares with the plain TAR. Run under
 * -fsanitize=address,undefined and under valgrind by tests/c/sanitize.sh.
 * Usage: frames_test WORKDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tartape.h>

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

#define FRAME_SIZE 65536

static void write_file(const char *path, const uint8_t *content, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) { perror(path); exit(2); }
    if (len > 0 && fwrite(content, 1, len, f) != len) { perror(path); exit(2); }
    fclose(f);
}

/* Small files that share frames (text and noise), a large noisy file and a large text file cut
 * into several frames each. */
static void make_tree(const char *dir) {
    char path[4096];
    static uint8_t buf[400000];
    unsigned seed = 7;
    size_t i, j;
    snprintf(path, sizeof path, "%s/tree", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tree/small", dir);
    mkdir(path, 0755);
    for (i = 0; i < 40; i++) {
        size_t len = (i * 377) % 9000;
        for (j = 0; j < len; j++) {
            seed = seed * 1103515245u + 12345u;
            buf[j] = i % 3 == 0 ? (uint8_t)(seed >> 16) : (uint8_t)"abcdefgh\n"[(i + j) % 9];
        }
        snprintf(path, sizeof path, "%s/tree/small/%03zu.txt", dir, i);
        write_file(path, buf, len);
    }
    for (j = 0; j < 300000; j++) {
        seed = seed * 1103515245u + 12345u;
        buf[j] = (uint8_t)(seed >> 16);
    }
    snprintf(path, sizeof path, "%s/tree/random.bin", dir);
    write_file(path, buf, 300000);
    for (j = 0; j < sizeof buf; j++) buf[j] = (uint8_t)("row of text %d\n"[j % 15] + (j / 4096) % 7);
    snprintf(path, sizeof path, "%s/tree/text.txt", dir);
    write_file(path, buf, sizeof buf);
}

static tt_tape *walked(const char *dir) {
    char path[4096];
    tt_tape *tape = tt_tape_new();
    snprintf(path, sizeof path, "%s/tree", dir);
    OK(tt_add_path(tape, path, (const uint8_t *)"t", 1), tape);
    return tape;
}

/* The stream's DATA bytes from `offset`, checking that event offsets run on; NULL on error. */
static uint8_t *stream_from(tt_tape *tape, uint64_t offset, size_t *len) {
    size_t cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    tt_event ev;
    tt_status st;
    *len = 0;
    if (tt_tape_start_at(tape, offset) != TT_STATUS_OK) {
        CHECK(0, "start at %llu: %s", (unsigned long long)offset, tt_tape_error_message(tape));
        free(buf);
        return NULL;
    }
    while ((st = tt_next_event(tape, &ev)) == TT_STATUS_OK) {
        if (ev.type != TT_EVENT_TYPE_DATA) continue;
        CHECK(tt_tape_frame_count(tape) == 0 || ev.index == UINT64_MAX, "compressed DATA has no entry index");
        CHECK(ev.offset == offset + *len, "DATA at %llu after %zu bytes from %llu", (unsigned long long)ev.offset,
              *len, (unsigned long long)offset);
        while (*len + ev.data_len > cap) buf = realloc(buf, cap *= 2);
        memcpy(buf + *len, ev.data, ev.data_len);
        *len += ev.data_len;
    }
    CHECK(st == TT_STATUS_EOF, "stream ended with %s: %s", tt_status_name(st), tt_tape_error_message(tape));
    if (st != TT_STATUS_EOF) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The archive through tt_read_at in chunks of `chunk` bytes equals `want`. */
static int read_at_equals(tt_tape *tape, const uint8_t *want, size_t total, size_t chunk) {
    uint8_t *buf = malloc(chunk);
    size_t at = 0, got = 0;
    int same = 1;
    while (at < total) {
        if (tt_read_at(tape, at, buf, chunk, &got) != TT_STATUS_OK || got == 0 ||
            got != (total - at < chunk ? total - at : chunk) || memcmp(buf, want + at, got) != 0) {
            same = 0;
            break;
        }
        at += got;
    }
    CHECK(tt_read_at(tape, total, buf, chunk, &got) == TT_STATUS_OK && got == 0, "nothing at the end");
    free(buf);
    return same;
}

/* The frame table is a partition of the TAR and of the compressed frames, ending at the seek table. */
static void check_table(tt_tape *tape, uint64_t tar_size, uint64_t total) {
    tt_frames_info info;
    tt_frame f, prev = {0, 0, 0, 0};
    uint64_t n = tt_tape_frame_count(tape), k;
    OK(tt_tape_frames_info(tape, &info), tape);
    CHECK(n > 5 && info.count == n, "%llu frames, info says %llu", (unsigned long long)n,
          (unsigned long long)info.count);
    CHECK(info.frame_size == FRAME_SIZE && info.tar_size == tar_size && info.total_size == total,
          "frame size %llu, TAR %llu (want %llu), total %llu (want %llu)", (unsigned long long)info.frame_size,
          (unsigned long long)info.tar_size, (unsigned long long)tar_size, (unsigned long long)info.total_size,
          (unsigned long long)total);
    CHECK(info.frames_end + info.seek_table_length == total, "frames then the seek table");
    CHECK(info.engine != NULL && strlen(info.engine) > 0, "engine named");
    for (k = 0; k < n; k++) {
        uint64_t found = 99999;
        OK(tt_tape_frame(tape, k, &f), tape);
        CHECK(f.tar_offset == prev.tar_offset + prev.tar_length && f.offset == prev.offset + prev.length,
              "frame %llu follows the one before", (unsigned long long)k);
        CHECK(f.tar_length > 0 && f.tar_length <= FRAME_SIZE && f.length > 0, "frame %llu lengths",
              (unsigned long long)k);
        OK(tt_tape_frame_find(tape, f.tar_offset + f.tar_length - 1, &found), tape);
        CHECK(found == k, "frame_find of frame %llu's last byte gives %llu", (unsigned long long)k,
              (unsigned long long)found);
        prev = f;
    }
    CHECK(prev.tar_offset + prev.tar_length == tar_size, "the frames cover the TAR");
    CHECK(prev.offset + prev.length == info.frames_end, "the frames end at frames_end");
    f.offset = 12345;
    CHECK(tt_tape_frame(tape, n, &f) == TT_STATUS_NOT_FOUND && f.offset == 12345, "past the last frame: untouched");
    CHECK(tt_tape_frame_find(tape, tar_size, &k) == TT_STATUS_NOT_FOUND, "find at the TAR's end");
}

static void test_zstd_frames(const char *dir, size_t plain_len) {
    char path[4096];
    tt_tape *tape = walked(dir), *three = walked(dir), *opened = tt_tape_new();
    uint64_t total = 0, offsets[12], k;
    uint8_t *z, *again;
    size_t zlen, len, i;
    tt_frame f;
    tt_frames_info info, info2;
    const char *fp1, *fp2;

    CHECK(tt_tape_frame_count(tape) == 0, "no frames before recording");
    OK(tt_tape_record_frames(tape, TT_COMPRESSION_ZSTD, 0, FRAME_SIZE, 1), tape);
    OK(tt_tape_total_size(tape, &total), tape);
    check_table(tape, plain_len, total);
    OK(tt_tape_frames_info(tape, &info), tape);
    CHECK(info.compression == TT_COMPRESSION_ZSTD && info.level == 3 && info.threads == 1, "zstd 3 on 1 thread");
    CHECK(info.seek_table_length == 8 + 8 * info.count + 9, "the seekable format's seek table");

    z = stream_from(tape, 0, &zlen);
    CHECK(z != NULL && zlen == total, "streamed %zu of %llu", zlen, (unsigned long long)total);
    if (z == NULL) return;
    snprintf(path, sizeof path, "%s/framed.tar.zst", dir);
    write_file(path, z, zlen);
    CHECK(read_at_equals(tape, z, zlen, 4093), "read_at in chunks of 4093 equals the stream");
    CHECK(read_at_equals(tape, z, zlen, 65536), "read_at in chunks of 65536 equals the stream");

    /* Resumed at frame starts, inside frames, in the seek table and at the end. */
    OK(tt_tape_frame(tape, tt_tape_frame_count(tape) / 2, &f), tape);
    offsets[0] = 0, offsets[1] = 1, offsets[2] = f.offset, offsets[3] = f.offset + f.length / 2;
    offsets[4] = info.frames_end, offsets[5] = info.frames_end + 5, offsets[6] = total - 1, offsets[7] = total;
    offsets[8] = total / 3, offsets[9] = f.offset + f.length - 1, offsets[10] = 7777, offsets[11] = total / 5 * 4;
    for (i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        again = stream_from(tape, offsets[i], &len);
        CHECK(again != NULL && len == zlen - offsets[i] && memcmp(again, z + offsets[i], len) == 0,
              "resumed at %llu: the suffix", (unsigned long long)offsets[i]);
        free(again);
    }
    CHECK(tt_tape_start_at(tape, total + 1) == TT_STATUS_INVALID_ARGUMENT, "start past the end");

    /* The bytes do not depend on the threads. */
    OK(tt_tape_record_frames(three, TT_COMPRESSION_ZSTD, 3, FRAME_SIZE, 3), three);
    OK(tt_tape_set_frame_threads(three, 2), three);
    OK(tt_tape_frames_info(three, &info2), three);
    CHECK(info2.threads == 2 && info2.count == info.count, "2 threads now");
    again = stream_from(three, 0, &len);
    CHECK(again != NULL && len == zlen && memcmp(again, z, len) == 0, "3 threads record, 2 stream: same bytes");
    free(again);
    OK(tt_tape_fingerprint(tape, &fp1), tape);
    OK(tt_tape_fingerprint(three, &fp2), three);
    CHECK(strcmp(fp1, fp2) == 0, "same fingerprint for any threads");

    /* A catalog keeps the frames: the same table, fingerprint and bytes, nothing recompressed. */
    snprintf(path, sizeof path, "%s/framed.tartape", dir);
    OK(tt_tape_save_catalog(tape, path), tape);
    OK(tt_tape_open_catalog(opened, path), opened);
    CHECK(tt_tape_frame_count(opened) == tt_tape_frame_count(tape), "catalog keeps the frame count");
    for (k = 0; k < tt_tape_frame_count(tape); k++) {
        tt_frame a, b;
        OK(tt_tape_frame(tape, k, &a), tape);
        OK(tt_tape_frame(opened, k, &b), opened);
        CHECK(memcmp(&a, &b, sizeof a) == 0, "catalog keeps frame %llu", (unsigned long long)k);
    }
    OK(tt_tape_fingerprint(opened, &fp2), opened);
    CHECK(strcmp(fp1, fp2) == 0, "catalog keeps the fingerprint");
    OK(tt_tape_set_frame_threads(opened, 2), opened);
    CHECK(read_at_equals(opened, z, zlen, 100000), "opened catalog: read_at equals the stream");
    again = stream_from(opened, total / 2, &len);
    CHECK(again != NULL && len == zlen - total / 2 && memcmp(again, z + total / 2, len) == 0,
          "opened catalog resumed at the middle");
    free(again);
    CHECK(tt_tape_set_frame_threads(opened, 1) == TT_STATUS_STATE, "threads once a stream uses the tape");
    CHECK(strstr(tt_tape_error_message(opened), "stream") != NULL, "says why: %s", tt_tape_error_message(opened));
    CHECK(tt_tape_record_frames(opened, TT_COMPRESSION_ZSTD, 0, 0, 0) == TT_STATUS_STATE, "frames twice (catalog)");

    free(z);
    tt_tape_free(tape);
    tt_tape_free(three);
    tt_tape_free(opened);
}

static void test_gzip_frames(const char *dir, size_t plain_len) {
    char path[4096];
    tt_tape *tape = walked(dir);
    tt_frames_info info;
    uint64_t total = 0;
    uint8_t *z, *again;
    size_t zlen, len;
    OK(tt_tape_record_frames(tape, TT_COMPRESSION_GZIP, 9, FRAME_SIZE, 2), tape);
    OK(tt_tape_total_size(tape, &total), tape);
    check_table(tape, plain_len, total);
    OK(tt_tape_frames_info(tape, &info), tape);
    CHECK(info.compression == TT_COMPRESSION_GZIP && info.level == 9 && info.seek_table_length == 0,
          "gzip 9, no seek table");
    z = stream_from(tape, 0, &zlen);
    CHECK(z != NULL && zlen == total, "gzip streamed %zu of %llu", zlen, (unsigned long long)total);
    if (z == NULL) return;
    snprintf(path, sizeof path, "%s/framed.tar.gz", dir);
    write_file(path, z, zlen);
    CHECK(read_at_equals(tape, z, zlen, 10000), "gzip read_at equals the stream");
    again = stream_from(tape, total / 2, &len);
    CHECK(again != NULL && len == zlen - total / 2 && memcmp(again, z + total / 2, len) == 0, "gzip resumed");
    free(again);
    free(z);
    tt_tape_free(tape);
}

static void test_refusals(const char *dir) {
    tt_tape *tape = walked(dir), *zip = walked(dir), *one = walked(dir), *pushed = tt_tape_new(),
            *streamed = walked(dir), *voltape = walked(dir);
    tt_frame f;
    tt_frames_info info;
    tt_event ev;
    tt_volume *vol = NULL;
    uint64_t k;

    CHECK(tt_tape_record_frames(NULL, TT_COMPRESSION_ZSTD, 0, 0, 0) == TT_STATUS_INVALID_ARGUMENT, "NULL tape");
    CHECK(tt_tape_set_frame_threads(NULL, 1) == TT_STATUS_INVALID_ARGUMENT, "NULL tape threads");
    CHECK(tt_tape_frame_count(NULL) == 0, "NULL tape count");
    CHECK(tt_tape_frame(NULL, 0, &f) == TT_STATUS_INVALID_ARGUMENT, "NULL tape frame");
    CHECK(tt_tape_frames_info(NULL, &info) == TT_STATUS_INVALID_ARGUMENT, "NULL tape info");
    CHECK(tt_tape_frame_find(NULL, 0, &k) == TT_STATUS_INVALID_ARGUMENT, "NULL tape find");

    CHECK(tt_tape_record_frames(tape, TT_COMPRESSION_ZSTD, 0, 1000, 1) == TT_STATUS_INVALID_ARGUMENT, "frame size 1000");
    CHECK(strstr(tt_tape_error_message(tape), "frame size 1000") != NULL, "says why: %s", tt_tape_error_message(tape));
    CHECK(tt_tape_record_frames(tape, TT_COMPRESSION_ZSTD, 0, (64u << 20) + 1, 1) == TT_STATUS_INVALID_ARGUMENT,
          "frame size over 64 MiB");
    CHECK(tt_tape_record_frames(tape, TT_COMPRESSION_NONE, 0, 0, 1) == TT_STATUS_INVALID_ARGUMENT, "no compression");
    CHECK(tt_tape_record_frames(tape, 99, 0, 0, 1) == TT_STATUS_INVALID_ARGUMENT, "compression 99");
    CHECK(tt_tape_record_frames(tape, TT_COMPRESSION_XZ, 0, 0, 1) == TT_STATUS_UNSUPPORTED, "xz");
    CHECK(tt_tape_record_frames(tape, TT_COMPRESSION_ZSTD, 23, 0, 1) == TT_STATUS_INVALID_ARGUMENT, "zstd 23");
    CHECK(tt_tape_record_frames(tape, TT_COMPRESSION_GZIP, 0, 0, 257) == TT_STATUS_INVALID_ARGUMENT, "257 threads");
    CHECK(tt_tape_frame_count(tape) == 0, "nothing recorded by the refusals");
    CHECK(tt_tape_frame(tape, 0, &f) == TT_STATUS_NOT_FOUND, "no frames: frame 0");
    CHECK(tt_tape_frames_info(tape, &info) == TT_STATUS_NOT_FOUND, "no frames: info");
    CHECK(tt_tape_frame_find(tape, 0, &k) == TT_STATUS_NOT_FOUND, "no frames: find");
    CHECK(tt_tape_set_frame_threads(tape, 2) == TT_STATUS_STATE, "threads without frames");

    OK(tt_tape_record_frames(one, TT_COMPRESSION_ZSTD, 1, 0, 0), one);
    CHECK(tt_tape_record_frames(one, TT_COMPRESSION_ZSTD, 1, 0, 0) == TT_STATUS_STATE, "frames twice");
    CHECK(strstr(tt_tape_error_message(one), "already") != NULL, "says why: %s", tt_tape_error_message(one));
    CHECK(tt_tape_set_frame_threads(one, 0) == TT_STATUS_INVALID_ARGUMENT, "0 threads");
    CHECK(tt_tape_set_frame_threads(one, 257) == TT_STATUS_INVALID_ARGUMENT, "257 threads");
    CHECK(tt_tape_frame(one, 0, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL frame out");
    CHECK(tt_tape_frames_info(one, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL info out");
    CHECK(tt_tape_frame_find(one, 0, NULL) == TT_STATUS_INVALID_ARGUMENT, "NULL find out");
    OK(tt_tape_frames_info(one, &info), one);
    CHECK(info.frame_size == 1 << 20 && info.level == 1, "frame size 0 is 1 MiB");

    OK(tt_tape_set_format(zip, TT_FORMAT_ZIP), zip);
    CHECK(tt_tape_record_frames(zip, TT_COMPRESSION_ZSTD, 0, 0, 1) == TT_STATUS_INVALID_ARGUMENT, "ZIP tape");
    CHECK(strstr(tt_tape_error_message(zip), "TAR") != NULL, "says why: %s", tt_tape_error_message(zip));

    OK(tt_add_from_memory(pushed, (const uint8_t *)"fed", 3, 10, 0644, 0), pushed);
    CHECK(tt_tape_record_frames(pushed, TT_COMPRESSION_ZSTD, 0, 0, 1) == TT_STATUS_NOT_RANDOM_ACCESS, "pushed entry");

    OK(tt_next_event(streamed, &ev), streamed);
    CHECK(tt_tape_record_frames(streamed, TT_COMPRESSION_ZSTD, 0, 0, 1) == TT_STATUS_STATE, "a stream uses it");
    CHECK(strstr(tt_tape_error_message(streamed), "stream") != NULL, "says why: %s",
          tt_tape_error_message(streamed));

    OK(tt_volume_open(voltape, 1 << 20, 0, &vol), voltape);
    CHECK(tt_tape_record_frames(voltape, TT_COMPRESSION_ZSTD, 0, 0, 1) == TT_STATUS_STATE, "a volume uses it");
    tt_volume_free(vol);
    OK(tt_tape_record_frames(voltape, TT_COMPRESSION_ZSTD, 0, 0, 1), voltape);

    tt_tape_free(tape);
    tt_tape_free(zip);
    tt_tape_free(one);
    tt_tape_free(pushed);
    tt_tape_free(streamed);
    tt_tape_free(voltape);
}

int main(int argc, char **argv) {
    char path[4096];
    tt_tape *plain;
    uint8_t *tar;
    size_t tar_len;
    if (argc != 2) {
        fprintf(stderr, "usage: frames_test WORKDIR\n");
        return 2;
    }
    make_tree(argv[1]);
    plain = walked(argv[1]);
    tar = stream_from(plain, 0, &tar_len);
    if (tar == NULL) return 1;
    snprintf(path, sizeof path, "%s/plain.tar", argv[1]);
    write_file(path, tar, tar_len);
    test_zstd_frames(argv[1], tar_len);
    test_gzip_frames(argv[1], tar_len);
    test_refusals(argv[1]);
    free(tar);
    tt_tape_free(plain);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
