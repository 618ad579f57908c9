/* Writes bytes [OFFSET, OFFSET+LENGTH) of the archive of PATH to standard output with tt_read_at.
 * Usage: read_range OFFSET LENGTH PATH... > range */
#include <stdio.h>
#include <stdlib.h>
#include <tartape.h>

int main(int argc, char **argv) {
    static uint8_t buf[65536];
    tt_tape *tape;
    tt_status st;
    uint64_t offset, left;
    int i;
    if (argc < 4) {
        fprintf(stderr, "usage: read_range OFFSET LENGTH PATH...\n");
        return 2;
    }
    offset = strtoull(argv[1], NULL, 10);
    left = strtoull(argv[2], NULL, 10);
    tape = tt_tape_new();
    if (tape == NULL) return 1;
    for (i = 3; i < argc; i++) {
        if ((st = tt_add_path(tape, argv[i], NULL, 0)) != TT_STATUS_OK) goto fail;
    }
    while (left > 0) {
        size_t want = left < sizeof buf ? (size_t)left : sizeof buf, got = 0;
        if ((st = tt_read_at(tape, offset, buf, want, &got)) != TT_STATUS_OK) goto fail;
        if (got == 0) break; /* the end of the archive */
        fwrite(buf, 1, got, stdout);
        offset += got;
        left -= got;
    }
    tt_tape_free(tape);
    return 0;
fail:
    fprintf(stderr, "read_range: %s: %s\n", tt_status_name(st), tt_tape_error_message(tape));
    tt_tape_free(tape);
    return 1;
}
