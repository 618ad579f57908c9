/* Resumes the archive of PATH at byte OFFSET: writes the bytes from OFFSET to the end to standard
 * output, reading no content before it.  Usage: resume OFFSET PATH... > suffix */
#include <stdio.h>
#include <stdlib.h>
#include <tartape.h>

int main(int argc, char **argv) {
    tt_tape *tape;
    tt_event ev;
    tt_status st;
    uint64_t offset, total = 0;
    int i;
    if (argc < 3) {
        fprintf(stderr, "usage: resume OFFSET PATH...\n");
        return 2;
    }
    offset = strtoull(argv[1], NULL, 10);
    tape = tt_tape_new();
    if (tape == NULL) return 1;
    for (i = 2; i < argc; i++) {
        if ((st = tt_add_path(tape, argv[i], NULL, 0)) != TT_STATUS_OK) goto fail;
    }
    if ((st = tt_tape_total_size(tape, &total)) != TT_STATUS_OK) goto fail;
    fprintf(stderr, "resume: archive of %llu bytes, resuming at %llu\n", (unsigned long long)total,
            (unsigned long long)offset);
    if ((st = tt_tape_start_at(tape, offset)) != TT_STATUS_OK) goto fail;
    while ((st = tt_next_event(tape, &ev)) == TT_STATUS_OK) {
        if (ev.type == TT_EVENT_TYPE_FILE_START && ev.resumed)
            fprintf(stderr, "resume: inside %.*s\n", (int)ev.name_len, (const char *)ev.name);
        if (ev.type == TT_EVENT_TYPE_DATA) fwrite(ev.data, 1, ev.data_len, stdout);
    }
    if (st != TT_STATUS_EOF) goto fail;
    tt_tape_free(tape);
    return 0;
fail:
    fprintf(stderr, "resume: %s: %s\n", tt_status_name(st), tt_tape_error_message(tape));
    tt_tape_free(tape);
    return 1;
}
