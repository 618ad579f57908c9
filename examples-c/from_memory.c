/* Builds an archive from memory: one entry fed in chunks with a declared size when the stream asks
 * for it (NEED_DATA), one whole buffer, and one entry read through a callback.
 * Usage: from_memory > out.tar */
#include <stdio.h>
#include <string.h>
#include <tartape.h>

#define CHUNK 1000

/* Generated content: byte i of the entry is (i * 7) mod 251, so any offset can be produced. */
static int64_t generated(void *userdata, uint64_t offset, uint8_t *buf, size_t len) {
    uint64_t size = *(const uint64_t *)userdata;
    size_t i, n;
    if (offset >= size) return 0;
    n = (size - offset) < len ? (size_t)(size - offset) : len;
    for (i = 0; i < n; i++) buf[i] = (uint8_t)(((offset + i) * 7) % 251);
    return (int64_t)n;
}

static int fail(tt_tape *tape, tt_status st, const char *what) {
    fprintf(stderr, "from_memory: %s: %s: %s\n", what, tt_status_name(st), tt_tape_error_message(tape));
    tt_tape_free(tape);
    return 1;
}

int main(void) {
    static const char hello[] = "hello from a buffer\n";
    static uint64_t generated_size = 100000;
    const uint64_t fed_size = 25000; /* declared up front, fed in chunks of CHUNK bytes */
    uint8_t chunk[CHUNK];
    tt_tape *tape = tt_tape_new();
    tt_event ev;
    tt_status st;
    if (tape == NULL) return 1;

    st = tt_add_from_memory(tape, (const uint8_t *)"data/fed.bin", 12, fed_size, 0644, 1700000000);
    if (st != TT_STATUS_OK) return fail(tape, st, "add fed.bin");
    st = tt_add_bytes(tape, (const uint8_t *)"data/hello.txt", 14, (const uint8_t *)hello, strlen(hello), 0644,
                      1700000000);
    if (st != TT_STATUS_OK) return fail(tape, st, "add hello.txt");
    st = tt_add_read_at(tape, (const uint8_t *)"data/generated.bin", 18, generated_size, 0600, 1700000000,
                        generated, &generated_size, NULL);
    if (st != TT_STATUS_OK) return fail(tape, st, "add generated.bin");

    while ((st = tt_next_event(tape, &ev)) == TT_STATUS_OK) {
        if (ev.type == TT_EVENT_TYPE_DATA) {
            fwrite(ev.data, 1, ev.data_len, stdout);
        } else if (ev.type == TT_EVENT_TYPE_NEED_DATA) {
            /* ev.offset: where in the content the stream is; ev.size: bytes still owed. */
            size_t n = ev.size < CHUNK ? (size_t)ev.size : CHUNK, i;
            for (i = 0; i < n; i++) chunk[i] = (uint8_t)('a' + (ev.offset + i) % 26);
            st = tt_feed(tape, chunk, n);
            if (st != TT_STATUS_OK) return fail(tape, st, "feed");
        }
    }
    if (st != TT_STATUS_EOF) return fail(tape, st, "stream");
    tt_tape_free(tape);
    return 0;
}
