package tartape

/*
#include <stdlib.h>
#include <stdint.h>
#include <tartape.h>

tt_status tt_go_bind_read_at(tt_tape *tape, uint64_t index, uintptr_t handle);
*/
import "C"

import (
	"io"
	"path/filepath"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// Record walks dir into a new tape (AddPath, named after dir's base name) and saves its catalog at
// catalogPath ("" is dir + ".tartape", beside the directory). The catalog holds the whole layout:
// Open gives the same archive, byte for byte, in another process, without walking dir again.
// Options are those of New: WithFormat, WithDeflate, WithChecksums, WithExclude, WithKeepOwners,
// WithStrict, WithMD5.
func Record(dir, catalogPath string, opts ...Option) (*Tape, error) {
	if catalogPath == "" {
		catalogPath = filepath.Clean(dir) + ".tartape"
	}
	t, err := New(opts...)
	if err != nil {
		return nil, err
	}
	if err := t.AddPath(dir, ""); err != nil {
		t.Close()
		return nil, err
	}
	if err := t.Save(catalogPath); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Open opens a catalog saved by Record or Save. The tape is sealed with the recorded layout and
// gives the recorded archive: files are not walked again, each is checked (size, mtime, identity)
// when its bytes are read, and a changed one is ErrChanged. A truncated or altered catalog is
// ErrCorrupt (errors.Is(err, ErrCorrupt)), another format version ErrUnsupported. Open checks the
// catalog's header and size; the entry table is checked chunk by chunk as it is used, or all at
// once by CheckCatalog.
func Open(catalogPath string) (*Tape, error) {
	t, err := New()
	if err != nil {
		return nil, err
	}
	cpath := C.CString(catalogPath)
	defer C.free(unsafe.Pointer(cpath))
	if err := t.add("Open", func(p *C.tt_tape) C.tt_status { return C.tt_tape_open_catalog(p, cpath) }); err != nil {
		t.Close()
		return nil, err
	}
	t.sealed.Store(true)
	return t, nil
}

// OpenBytes opens a catalog held in memory (the bytes of a file Save wrote: fetched from object
// storage, sent to a worker), as Open opens a file. The bytes are copied; data may be reused.
func OpenBytes(data []byte) (*Tape, error) {
	t, err := New()
	if err != nil {
		return nil, err
	}
	var ptr *C.uint8_t
	if len(data) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&data[0]))
	}
	err = t.add("OpenBytes", func(p *C.tt_tape) C.tt_status {
		return C.tt_tape_open_catalog_bytes(p, ptr, C.size_t(len(data)))
	})
	runtime.KeepAlive(data)
	if err != nil {
		t.Close()
		return nil, err
	}
	t.sealed.Store(true)
	return t, nil
}

// Save seals the tape and writes its catalog to path, atomically: a temporary file beside it is
// written, synced and renamed, so path never holds a partial catalog. AddBytes content up to
// 64 KiB is kept in the catalog; larger buffers and AddReaderAt sources are not (Bind them again
// after Open), and AddFromMemory entries can only be streamed by the process that added them.
func (t *Tape) Save(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	err := t.add("Save", func(p *C.tt_tape) C.tt_status { return C.tt_tape_save_catalog(p, cpath) })
	if err == nil {
		t.sealed.Store(true)
	}
	return err
}

// CheckCatalog checks every byte of an opened catalog now; ErrCorrupt if any is damaged. It does
// nothing for a tape that was not opened.
func (t *Tape) CheckCatalog() error {
	if err := t.Seal(); err != nil {
		return err
	}
	return t.shared("CheckCatalog", true, func(p *C.tt_tape) C.tt_status { return C.tt_tape_check_catalog(p) })
}

// Fingerprint is 32 lowercase hex digits that change exactly when the archive's bytes would: the
// same for a recorded tape and its catalog opened anywhere, different once a file's content,
// size, mtime or name changes and the directory is recorded again (sealing the tape).
func (t *Tape) Fingerprint() (string, error) {
	if err := t.Seal(); err != nil {
		return "", err
	}
	var f string
	err := t.shared("Fingerprint", true, func(p *C.tt_tape) C.tt_status {
		var out *C.char
		st := C.tt_tape_fingerprint(p, &out)
		if st == C.TT_STATUS_OK { // owned by the tape: copy it while the tape is held
			f = C.GoString(out)
		}
		return st
	})
	return f, err
}

// Bind supplies again the content of entry index of an opened catalog whose bytes the catalog could
// not keep (an AddBytes buffer over 64 KiB, an AddReaderAt source): data, copied, of exactly the
// entry's size (else ErrSizeMismatch). Until bound, reading such an entry is ErrNotRandomAccess.
func (t *Tape) Bind(index int, data []byte) error {
	if index < 0 {
		return newError(ErrNotFound, "Bind", "negative index")
	}
	return t.exclusive("Bind", func(p *C.tt_tape) C.tt_status {
		var d *C.uint8_t
		if len(data) > 0 {
			d = (*C.uint8_t)(unsafe.Pointer(&data[0])) // copied by the call
		}
		return C.tt_tape_bind_bytes(p, C.uint64_t(index), d, C.size_t(len(data)))
	})
}

// BindReaderAt is Bind with an io.ReaderAt, read whenever the entry's bytes are needed, with the
// rules of AddReaderAt (safe for concurrent use, errors become ErrCallback). The tape keeps r until
// Close (and its volumes until theirs).
func (t *Tape) BindReaderAt(index int, r io.ReaderAt) error {
	if index < 0 || r == nil {
		return newError(ErrInvalidArgument, "BindReaderAt", "negative index or nil reader")
	}
	h := cgo.NewHandle(&readerAtSource{r: r, errs: t.callbackErr})
	liveReaderAts.Add(1)
	called := false
	err := t.exclusive("BindReaderAt", func(p *C.tt_tape) C.tt_status {
		called = true // from here C frees the handle, also on failure
		return C.tt_go_bind_read_at(p, C.uint64_t(index), C.uintptr_t(h))
	})
	if !called {
		goTartapeFree(C.uintptr_t(h))
	}
	return err
}

// Report is what Verify found: every discrepancy between the tape and the disk, not only the first.
type Report struct {
	Clean         bool          // no discrepancy
	Checked       int           // entries checked
	Discrepancies []Discrepancy // in archive order
}

// Discrepancy is one difference between a recorded entry and the disk.
type Discrepancy struct {
	Name string // the archive name
	// Problem says what differs: "missing", "kind", "size", "mtime", "replaced" (another file at
	// the path), "mode", "link-target", "content" (deep verification), "unrecorded" (on disk in a
	// recorded directory, not in the tape) or "unreadable".
	Problem  string
	Expected string // what the tape recorded, human-readable
	Found    string // what the disk holds
}

// Verify checks the tape's entries against the disk: existence, kind, size, mtime, identity, mode,
// link target, and files in recorded directories that the tape does not hold. With deep, it also
// reads every file and compares its MD5 with the recorded one (a tape recorded WithChecksums), which
// finds an edit that kept the size and the mtime. Discrepancies are the report; an error is a
// failure to verify (an unreadable catalog).
func (t *Tape) Verify(deep bool) (*Report, error) {
	if err := t.Seal(); err != nil {
		return nil, err
	}
	var rep *C.tt_report
	if err := t.shared("Verify", true, func(p *C.tt_tape) C.tt_status {
		return C.tt_tape_verify(p, cbool(deep), &rep)
	}); err != nil {
		return nil, err
	}
	defer C.tt_report_free(rep)
	var count, checked C.uint64_t
	if st := C.tt_report_count(rep, &count, &checked); st != C.TT_STATUS_OK {
		return nil, newError(Status(st), "Verify", "reading the report")
	}
	r := &Report{Clean: count == 0, Checked: int(checked), Discrepancies: make([]Discrepancy, 0, int(count))}
	for i := range uint64(count) {
		var d C.tt_discrepancy
		if st := C.tt_report_item(rep, C.uint64_t(i), &d); st != C.TT_STATUS_OK {
			return nil, newError(Status(st), "Verify", "reading the report")
		}
		r.Discrepancies = append(r.Discrepancies, Discrepancy{
			Name:     C.GoStringN((*C.char)(unsafe.Pointer(d.name)), C.int(d.name_len)),
			Problem:  C.GoString(d.problem_name),
			Expected: C.GoString(d.expected),
			Found:    C.GoString(d.found),
		})
	}
	return r, nil
}
