package tartape

/*
#include <stdlib.h>
#include <tartape.h>
*/
import "C"

import (
	"io"
	"os"
	"unsafe"
)

// ReadAt fills p with the archive bytes at offset off, reading only the sources that overlap the
// range (sealing the tape). It implements io.ReaderAt: at the end of the archive it returns the
// bytes it has with io.EOF. It is safe for concurrent use, also while a Stream runs.
//
// Entries added with AddFromMemory cannot be read this way: a range that overlaps one is
// ErrNotRandomAccess. A file that changed since AddPath is ErrChanged.
func (t *Tape) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, newError(ErrInvalidArgument, "ReadAt", "negative offset")
	}
	if err := t.Seal(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n C.size_t
	err := t.shared("ReadAt", true, func(tp *C.tt_tape) C.tt_status {
		// p is Go memory passed for the duration of the call only; C does not keep it.
		return C.tt_read_at(tp, C.uint64_t(off), (*C.uint8_t)(unsafe.Pointer(&p[0])), C.size_t(len(p)), &n)
	})
	if err != nil {
		return 0, err
	}
	if int(n) < len(p) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// CopyInto writes the whole archive into the regular file f from its offset 0 (f's own offset is
// not used or moved, and f is not truncated or synced), each file's content copied in the kernel
// with copy_file_range; it returns how many content bytes the kernel copied. A TAR tape only
// (ErrInvalidArgument for ZIP, ErrNotRandomAccess when compressed); a source that changed is
// ErrChanged, and f must then not be kept.
func (t *Tape) CopyInto(f *os.File) (int64, error) {
	if err := t.Seal(); err != nil {
		return 0, err
	}
	raw, err := f.SyscallConn()
	if err != nil {
		return 0, newError(ErrInvalidArgument, "CopyInto", err.Error())
	}
	var copied C.uint64_t
	var callErr error
	ctlErr := raw.Control(func(fd uintptr) {
		callErr = t.shared("CopyInto", true, func(tp *C.tt_tape) C.tt_status {
			return C.tt_tape_copy_into(tp, C.int32_t(fd), &copied)
		})
	})
	if ctlErr != nil {
		return 0, newError(ErrInvalidArgument, "CopyInto", ctlErr.Error())
	}
	return int64(copied), callErr
}

// StreamPaths walks each of paths (each under its base name, as AddPath with no name) and writes
// their TAR to f (a pipe, socket or file, written from its current position) while the walk goes:
// the first bytes go out at once and the walk runs beside the reading. The bytes are those that
// adding the paths and streaming the tape would give. It returns how many were written. The tape
// gives its options only and must hold no entry (ErrState otherwise); it stays as it was. The
// total size is not known before the first byte, special files are left out without being listed,
// and an error (a file changed after the walk saw it: ErrChanged, a directory that cannot be
// listed, f failing) stops the writing where it has got to: what was written lacks its end and
// must not be kept. ErrInvalidArgument for a ZIP, compressed or aligned tape.
func (t *Tape) StreamPaths(f *os.File, paths ...string) (int64, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		return 0, newError(ErrInvalidArgument, "StreamPaths", err.Error())
	}
	cpaths := make([]*C.char, len(paths)+1)
	for i, p := range paths {
		cpaths[i] = C.CString(p)
		defer C.free(unsafe.Pointer(cpaths[i]))
	}
	// The array of pointers lives in C memory: cgo forbids passing Go memory holding C pointers
	// only when they are Go pointers, but a C array keeps the call plainly within the rules.
	arr := (**C.char)(C.malloc(C.size_t(len(cpaths)) * C.size_t(unsafe.Sizeof(cpaths[0]))))
	defer C.free(unsafe.Pointer(arr))
	copy(unsafe.Slice(arr, len(cpaths)), cpaths)
	var written C.uint64_t
	var callErr error
	ctlErr := raw.Write(func(fd uintptr) bool {
		callErr = t.add("StreamPaths", func(tp *C.tt_tape) C.tt_status {
			return C.tt_tape_stream_paths(tp, arr, C.size_t(len(paths)), C.int32_t(fd), &written)
		})
		return true
	})
	if ctlErr != nil {
		return 0, newError(ErrInvalidArgument, "StreamPaths", ctlErr.Error())
	}
	return int64(written), callErr
}

// NewReader returns a reader of the archive from byte offset on, built on ReadAt: any number of
// readers may run at once, on any goroutines. Errors (also a negative offset) come from Read.
func (t *Tape) NewReader(offset int64) io.Reader {
	return &offsetReader{t: t, off: offset}
}

type offsetReader struct {
	t   *Tape
	off int64
}

func (r *offsetReader) Read(p []byte) (int, error) {
	n, err := r.t.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil // the next Read says io.EOF
	}
	return n, err
}
