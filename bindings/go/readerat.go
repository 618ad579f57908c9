package tartape

/*
#include <stdint.h>
#include <tartape.h>

tt_status tt_go_add_read_at(tt_tape *tape, const uint8_t *name, size_t name_len, uint64_t size,
                            uint32_t mode, int64_t mtime, uintptr_t handle);
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"runtime/cgo"
	"sync/atomic"
	"unsafe"
)

// AddReaderAt adds a file of size bytes whose content is read from r whenever the archive's bytes
// are needed: by ReadAt (so the entry keeps random access), by streams, from several goroutines at
// once. r must be safe for concurrent use and must not call back into this Tape. An error from r
// becomes ErrCallback, with r's error as its Err (errors.Is finds both). The tape keeps r until
// Close.
func (t *Tape) AddReaderAt(name string, size int64, r io.ReaderAt, opts ...EntryOption) error {
	return t.addReaderAt("AddReaderAt", name, size, r, nil, opts)
}

// addReaderAt adds a read-at entry; onFree, if not nil, runs once when the tape no longer needs r
// (also when adding fails).
func (t *Tape) addReaderAt(op, name string, size int64, r io.ReaderAt, onFree func() error, opts []EntryOption) error {
	if size < 0 || r == nil {
		if onFree != nil {
			onFree()
		}
		return newError(ErrInvalidArgument, op, "negative size or nil reader")
	}
	mode, mtime := entryOptions(0o644, opts)
	h := cgo.NewHandle(&readerAtSource{r: r, errs: t.callbackErr, onFree: onFree})
	liveReaderAts.Add(1)
	called := false
	err := t.add(op, func(p *C.tt_tape) C.tt_status {
		called = true
		n, nl := bytesArg(name)
		// The handle is an integer, not a Go pointer: C may keep it (cgo pointer rules).
		return C.tt_go_add_read_at(p, n, nl, C.uint64_t(size), mode, mtime, C.uintptr_t(h))
	})
	if !called { // the tape was closed: C never saw the handle, so it will not free it
		goTartapeFree(C.uintptr_t(h))
	}
	return err
}

// liveReaderAts counts the handles C still holds (for tests).
var liveReaderAts atomic.Int64

type readerAtSource struct {
	r      io.ReaderAt
	errs   *lastError
	onFree func() error // run when C frees the handle (AddMember closes its Member)
}

// lastError keeps the last error of a tape's callbacks.
type lastError struct{ p atomic.Pointer[error] }

func (l *lastError) set(err error) { l.p.Store(&err) }

func (l *lastError) take() error {
	if p := l.p.Swap(nil); p != nil {
		return *p
	}
	return nil
}

//export goTartapeReadAt
func goTartapeReadAt(h C.uintptr_t, offset C.uint64_t, buf *C.uint8_t, n C.size_t) (ret C.int64_t) {
	src := cgo.Handle(h).Value().(*readerAtSource)
	defer func() { // a panic must not unwind through the C frames
		if p := recover(); p != nil {
			src.errs.set(fmt.Errorf("tartape: the io.ReaderAt panicked: %v", p))
			ret = -1
		}
	}()
	if n == 0 {
		return 0
	}
	if offset > 1<<63-1 {
		src.errs.set(errors.New("tartape: read offset out of range"))
		return -1
	}
	p := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	got, err := src.r.ReadAt(p, int64(offset))
	if got > 0 {
		return C.int64_t(got) // a short read with an error: the next call reports the error
	}
	if err == nil || err == io.EOF {
		return 0
	}
	src.errs.set(err)
	return -1
}

//export goTartapeFree
func goTartapeFree(h C.uintptr_t) {
	if src, ok := cgo.Handle(h).Value().(*readerAtSource); ok && src.onFree != nil {
		src.onFree()
	}
	cgo.Handle(h).Delete()
	liveReaderAts.Add(-1)
}
