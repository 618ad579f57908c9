/* Ours in-process: adds the given paths to a tape and consumes every event of its stream
 * (tt_next_event), counting the DATA bytes. --md5 turns on the MD5 of FILE_END events (on by default
 * in the library; this program turns it off unless asked); --list prints each file's MD5 to stdout.
 * --write writes the archive to stdout through one buffer of 1 MiB (--buffer BYTES to change it): what
 * a command line with a full output buffer would do. --read takes the archive with tt_read (plain bytes
 * built in one buffer of 1 MiB, or --buffer BYTES, no events) instead, counted or, with --write, written.
 * Prints one JSON line (to stderr with --list or --write).
 * --gzip LEVEL or --zstd LEVEL (with --threads N) compresses the tape (tt_tape_set_compression).
 * Usage: tt_stream [--md5] [--read] [--gzip L | --zstd L [--threads N]] [--list | --write [--buffer BYTES]] PATH... */
#include "common.h"
#include <errno.h>
#include <unistd.h>
#include <tartape.h>

static size_t OUT_BUF = 1u << 20;
static uint8_t *out_buf;
static size_t out_len;

static int write_all(const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Appends to the output buffer, writing it out when full; large chunks go straight out. */
static int out(const uint8_t *p, size_t n) {
    if (out_len + n > OUT_BUF) {
        if (write_all(out_buf, out_len) != 0) return -1;
        out_len = 0;
    }
    if (n >= OUT_BUF) return write_all(p, n);
    memcpy(out_buf + out_len, p, n);
    out_len += n;
    return 0;
}

int main(int argc, char **argv) {
    int md5 = 0, list = 0, to_stdout = 0, read_mode = 0, level = 0, i;
    uint32_t compression = TT_COMPRESSION_NONE, threads = 0;
    tt_tape *tape;
    tt_event ev;
    tt_status st;
    uint64_t bytes = 0, total = 0, files = 0, md5s = 0, entries = 0;
    double t0 = now_s(), t_scan, t1;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--md5") == 0) md5 = 1;
        else if (strcmp(argv[i], "--list") == 0) list = 1;
        else if (strcmp(argv[i], "--write") == 0) to_stdout = 1;
        else if (strcmp(argv[i], "--read") == 0) read_mode = 1;
        else if (strcmp(argv[i], "--buffer") == 0 && i + 1 < argc) OUT_BUF = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--gzip") == 0 && i + 1 < argc) { compression = TT_COMPRESSION_GZIP; level = atoi(argv[++i]); }
        else if (strcmp(argv[i], "--zstd") == 0 && i + 1 < argc) { compression = TT_COMPRESSION_ZSTD; level = atoi(argv[++i]); }
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = (uint32_t)atol(argv[++i]);
        else { fprintf(stderr, "tt_stream: unknown option %s\n", argv[i]); return 2; }
    }
    if (i >= argc || (list && to_stdout) || OUT_BUF == 0) {
        fprintf(stderr, "usage: tt_stream [--md5] [--list | --write] PATH...\n");
        return 2;
    }
    if ((to_stdout || read_mode) && (out_buf = malloc(OUT_BUF)) == NULL) return 1;
    tape = tt_tape_new();
    if (tape == NULL) return 1;
    if ((st = tt_tape_set_md5(tape, md5)) != TT_STATUS_OK) goto fail;
    if (compression != TT_COMPRESSION_NONE) {
        if ((st = tt_tape_set_compression(tape, compression, level)) != TT_STATUS_OK) goto fail;
        if (threads && (st = tt_tape_set_compression_threads(tape, threads)) != TT_STATUS_OK) goto fail;
    }
    for (; i < argc; i++)
        if ((st = tt_add_path(tape, argv[i], NULL, 0)) != TT_STATUS_OK) goto fail;
    if (compression != TT_COMPRESSION_NONE) {
        /* Stream-only: the compressed size is known once streamed. */
        if ((st = tt_tape_seal(tape)) != TT_STATUS_OK) goto fail;
    } else if ((st = tt_tape_total_size(tape, &total)) != TT_STATUS_OK) goto fail;
    if ((st = tt_tape_entry_count(tape, &entries)) != TT_STATUS_OK) goto fail;
    t_scan = now_s();
    while (read_mode) {
        size_t n = 0;
        if ((st = tt_read(tape, out_buf, OUT_BUF, &n)) != TT_STATUS_OK) break;
        bytes += n;
        if (to_stdout && write_all(out_buf, n) != 0) {
            perror("tt_stream: write");
            tt_tape_free(tape);
            return 1;
        }
    }
    while (!read_mode && (st = tt_next_event(tape, &ev)) == TT_STATUS_OK) {
        if (ev.type == TT_EVENT_TYPE_DATA) {
            bytes += ev.data_len;
            if (to_stdout && out(ev.data, ev.data_len) != 0) {
                perror("tt_stream: write");
                tt_tape_free(tape);
                return 1;
            }
        } else if (ev.type == TT_EVENT_TYPE_FILE_START && ev.kind == TT_ENTRY_KIND_FILE) {
            files++;
        }
        if (ev.type == TT_EVENT_TYPE_FILE_END && ev.has_md5) {
            md5s++;
            if (list) {
                int k;
                for (k = 0; k < 16; k++) printf("%02x", ev.md5[k]);
                printf("  %.*s\n", (int)ev.name_len, (const char *)ev.name);
            }
        }
    }
    if (st != TT_STATUS_EOF) goto fail;
    if (to_stdout && !read_mode && write_all(out_buf, out_len) != 0) { perror("tt_stream: write"); return 1; }
    t1 = now_s();
    if (compression == TT_COMPRESSION_NONE && bytes != total) {
        fprintf(stderr, "tt_stream: streamed %llu bytes, the tape says %llu\n",
                (unsigned long long)bytes, (unsigned long long)total);
        tt_tape_free(tape);
        return 1;
    }
    fprintf(list || to_stdout ? stderr : stdout,
            "{\"bytes\": %llu, \"entries\": %llu, \"files\": %llu, \"md5s\": %llu, \"scan_seconds\": %.6f, "
            "\"stream_seconds\": %.6f, \"seconds\": %.6f, \"bytes_per_s\": %.1f, \"peak_rss_kib\": %ld}\n",
            (unsigned long long)bytes, (unsigned long long)entries, (unsigned long long)files,
            (unsigned long long)md5s,
            t_scan - t0, t1 - t_scan, t1 - t0, (double)bytes / (t1 - t0), peak_rss_kib());
    tt_tape_free(tape);
    free(out_buf);
    return 0;
fail:
    fprintf(stderr, "tt_stream: %s: %s\n", tt_status_name(st), tt_tape_error_message(tape));
    tt_tape_free(tape);
    return 1;
}
