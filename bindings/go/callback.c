// C trampolines for the Go callbacks of AddReaderAt (cgo allows definitions only outside the
// preamble of a file with //export). The userdata is a runtime/cgo.Handle, carried as an integer.
#include <stdint.h>
#include <tartape.h>
#include "_cgo_export.h"

static int64_t tt_go_read_at(void *userdata, uint64_t offset, uint8_t *buf, size_t len) {
    return goTartapeReadAt((uintptr_t)userdata, offset, buf, len);
}

static void tt_go_free(void *userdata) { goTartapeFree((uintptr_t)userdata); }

tt_status tt_go_add_read_at(tt_tape *tape, const uint8_t *name, size_t name_len, uint64_t size,
                            uint32_t mode, int64_t mtime, uintptr_t handle) {
    return tt_add_read_at(tape, name, name_len, size, mode, mtime, tt_go_read_at, (void *)handle,
                          tt_go_free);
}

tt_status tt_go_bind_read_at(tt_tape *tape, uint64_t index, uintptr_t handle) {
    return tt_tape_bind_read_at(tape, index, tt_go_read_at, (void *)handle, tt_go_free);
}
