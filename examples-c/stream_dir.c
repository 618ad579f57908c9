/* Streams the archive of the paths given as arguments to standard output, printing each entry's
 * MD5 to standard error.  Usage: stream_dir PATH... > out.tar */
#include <stdio.h>
#include <string.h>
#include <tartape.h>

static int fail(tt_tape *tape, tt_status st, const char *what) {
    fprintf(stderr, "stream_dir: %s: %s: %s\n", what, tt_status_name(st), tt_tape_error_message(tape));
    tt_tape_free(tape);
    return 1;
}

int main(int argc, char **argv) {
    tt_tape *tape = tt_tape_new();
    tt_event ev;
    tt_status st;
    int i;
    if (tape == NULL) return 1;
    if (argc < 2) {
        fprintf(stderr, "usage: stream_dir PATH...\n");
        tt_tape_free(tape);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        st = tt_add_path(tape, argv[i], NULL, 0);
        if (st != TT_STATUS_OK) return fail(tape, st, argv[i]);
    }
    while ((st = tt_next_event(tape, &ev)) == TT_STATUS_OK) {
        if (ev.type == TT_EVENT_TYPE_DATA) {
            if (fwrite(ev.data, 1, ev.data_len, stdout) != ev.data_len) return fail(tape, st, "write");
        } else if (ev.type == TT_EVENT_TYPE_FILE_END && ev.has_md5) {
            int k;
            for (k = 0; k < 16; k++) fprintf(stderr, "%02x", ev.md5[k]);
            fprintf(stderr, "  %.*s\n", (int)ev.name_len, (const char *)ev.name);
        }
    }
    if (st != TT_STATUS_EOF) return fail(tape, st, "stream");
    tt_tape_free(tape);
    return fflush(stdout) == 0 ? 0 : 1;
}
