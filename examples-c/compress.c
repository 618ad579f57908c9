/* Streams the archive of the paths given as arguments to standard output compressed with gzip or
 * zstd, reading it with tt_read into one buffer.  Usage: compress gzip|zstd LEVEL PATH... > out
 * (LEVEL 0 for the default).  A compressed tape is stream-only: its size is not known up front. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tartape.h>

static int fail(tt_tape *tape, tt_status st, const char *what) {
    fprintf(stderr, "compress: %s: %s: %s\n", what, tt_status_name(st), tt_tape_error_message(tape));
    tt_tape_free(tape);
    return 1;
}

int main(int argc, char **argv) {
    static unsigned char buf[1 << 20];
    tt_tape *tape;
    tt_status st;
    uint32_t compression;
    uint64_t size;
    size_t n;
    int i;
    if (argc < 4 || (strcmp(argv[1], "gzip") != 0 && strcmp(argv[1], "zstd") != 0)) {
        fprintf(stderr, "usage: compress gzip|zstd LEVEL PATH...\n");
        return 2;
    }
    tape = tt_tape_new();
    if (tape == NULL) return 1;
    compression = strcmp(argv[1], "gzip") == 0 ? TT_COMPRESSION_GZIP : TT_COMPRESSION_ZSTD;
    st = tt_tape_set_compression(tape, compression, atoi(argv[2]));
    if (st != TT_STATUS_OK) return fail(tape, st, "compression");
    if (compression == TT_COMPRESSION_ZSTD) {
        st = tt_tape_set_compression_threads(tape, 2); /* the bytes are the same for any number */
        if (st != TT_STATUS_OK) return fail(tape, st, "threads");
    }
    for (i = 3; i < argc; i++) {
        st = tt_add_path(tape, argv[i], NULL, 0);
        if (st != TT_STATUS_OK) return fail(tape, st, argv[i]);
    }
    if (tt_tape_total_size(tape, &size) != TT_STATUS_NOT_RANDOM_ACCESS) {
        fprintf(stderr, "compress: a compressed tape should have no size up front\n");
        tt_tape_free(tape);
        return 1;
    }
    while ((st = tt_read(tape, buf, sizeof buf, &n)) == TT_STATUS_OK) {
        if (fwrite(buf, 1, n, stdout) != n) return fail(tape, st, "write");
    }
    if (st != TT_STATUS_EOF) return fail(tape, st, "stream");
    tt_tape_free(tape);
    return fflush(stdout) == 0 ? 0 : 1;
}
