package tartape

/*
#include <tartape.h>
*/
import "C"

import (
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Volume is one fixed-size part of a sealed tape's archive: the archive cut in parts of a given
// size (a positive multiple of 512), which concatenated in order are exactly the archive. Upload
// each as an object, a multipart-upload part or a file. Its Manifest says which entries, and which
// of their content bytes, it holds.
//
// A Volume is an io.Reader, io.Seeker (Read and Seek share a position: use them from one goroutine
// at a time), io.ReaderAt (safe for concurrent use, no position) and io.Closer. It keeps the tape's
// layout and sources, so it stays readable after the Tape is closed; Close it to free them. Bytes
// of an AddFromMemory entry cannot be read this way (ErrNotRandomAccess), nor those of an opened
// catalog's entry that was not bound again.
//
// As an http.Request body, a Volume would be closed by net/http after the request: pass
// io.NewSectionReader(v, 0, v.Len()) (a fresh one per attempt also makes retries possible) or
// io.NopCloser(v).
type Volume struct {
	mu       sync.RWMutex // guards ptr, as Tape.mu does
	ptr      *C.tt_volume
	posMu    sync.Mutex // serializes Read and Seek
	failures atomic.Uint64
	inflight atomic.Int64

	part, start, length int64
	manifest            []ManifestItem
	callbackErr         *lastError // the tape's, for the Go io.ReaderAt sources
}

// Role is how an entry lies in a part.
type Role int

// The roles of manifest items.
const (
	RoleWhole Role = 0 // header to padding, all in this part
	RoleHead  Role = 1 // starts in this part and goes on in the next
	RoleBody  Role = 2 // started in an earlier part and goes on after this one
	RoleTail  Role = 3 // started in an earlier part and ends in this one
)

// The numbers above are the C API's: these lines do not compile if they differ.
var (
	_ [0]struct{} = [int(RoleWhole) - int(C.TT_ROLE_WHOLE)]struct{}{}
	_ [0]struct{} = [int(RoleHead) - int(C.TT_ROLE_HEAD)]struct{}{}
	_ [0]struct{} = [int(RoleBody) - int(C.TT_ROLE_BODY)]struct{}{}
	_ [0]struct{} = [int(RoleTail) - int(C.TT_ROLE_TAIL)]struct{}{}
)

// String is "whole", "head", "body" or "tail".
func (r Role) String() string {
	switch r {
	case RoleWhole:
		return "whole"
	case RoleHead:
		return "head"
	case RoleBody:
		return "body"
	case RoleTail:
		return "tail"
	}
	return "unknown"
}

// Range is a byte range [Start, End).
type Range struct{ Start, End int64 }

// Len is End - Start.
func (r Range) Len() int64 { return r.End - r.Start }

// ManifestItem is one entry of a part's manifest. Ranges are offsets within the part.
type ManifestItem struct {
	Index int    // the entry's index in the tape
	Name  string // its archive name
	Role  Role   // whole, head, body or tail
	// Range holds the entry's bytes in the part (header, content, padding).
	Range Range
	// ContentRange holds its content bytes in the part (empty when none).
	ContentRange Range
	// ContentOffset is which byte of the entry's content lies at ContentRange.Start.
	ContentOffset int64
	Size          int64 // the entry's content size
}

// Volumes cuts the archive in parts of size bytes (a positive multiple of 512; the last part may
// be shorter) and opens them all, sealing the tape.
func (t *Tape) Volumes(size int64) ([]*Volume, error) {
	if size <= 0 {
		return nil, newError(ErrInvalidArgument, "Volumes", "the part size must be a positive multiple of 512")
	}
	if err := t.Seal(); err != nil {
		return nil, err
	}
	var n C.uint64_t
	if err := t.shared("Volumes", true, func(p *C.tt_tape) C.tt_status {
		return C.tt_volume_count(p, C.uint64_t(size), &n)
	}); err != nil {
		return nil, err
	}
	vols := make([]*Volume, 0, int(n))
	for i := range int64(n) {
		v, err := t.Volume(i, size)
		if err != nil {
			for _, v := range vols {
				v.Close()
			}
			return nil, err
		}
		vols = append(vols, v)
	}
	return vols, nil
}

// Volume opens part part (0-based) of the archive cut in parts of size bytes, sealing the tape.
func (t *Tape) Volume(part, size int64) (*Volume, error) {
	if part < 0 || size <= 0 {
		return nil, newError(ErrInvalidArgument, "Volume", "negative part or part size not positive")
	}
	if err := t.Seal(); err != nil {
		return nil, err
	}
	var p *C.tt_volume
	if err := t.shared("Volume", true, func(tp *C.tt_tape) C.tt_status {
		return C.tt_volume_open(tp, C.uint64_t(size), C.uint64_t(part), &p)
	}); err != nil {
		return nil, err
	}
	v := &Volume{ptr: p, part: part, callbackErr: t.callbackErr}
	var start, length, count C.uint64_t
	st := C.tt_volume_range(p, &start, &length)
	if st == C.TT_STATUS_OK {
		st = C.tt_volume_manifest_count(p, &count)
	}
	v.start, v.length = int64(start), int64(length)
	for i := range uint64(count) {
		if st != C.TT_STATUS_OK {
			break
		}
		var m C.tt_manifest_item
		if st = C.tt_volume_manifest_item(p, C.uint64_t(i), &m); st == C.TT_STATUS_OK {
			v.manifest = append(v.manifest, ManifestItem{
				Index:         int(m.index),
				Name:          C.GoStringN((*C.char)(unsafe.Pointer(m.name)), C.int(m.name_len)),
				Role:          Role(m.role),
				Range:         Range{int64(m.range_start), int64(m.range_end)},
				ContentRange:  Range{int64(m.content_start), int64(m.content_end)},
				ContentOffset: int64(m.content_offset),
				Size:          int64(m.size),
			})
		}
	}
	if st != C.TT_STATUS_OK {
		err := newError(Status(st), "Volume", volumeMessage(p))
		C.tt_volume_free(p)
		return nil, err
	}
	runtime.SetFinalizer(v, (*Volume).Close)
	return v, nil
}

// Part is the volume's part number (0-based).
func (v *Volume) Part() int64 { return v.part }

// Start is where the part starts in the archive.
func (v *Volume) Start() int64 { return v.start }

// Len is the part's length in bytes (the part size, or less for the last part).
func (v *Volume) Len() int64 { return v.length }

// Manifest lists the entries the part holds, in archive order (a copy).
func (v *Volume) Manifest() []ManifestItem { return append([]ManifestItem(nil), v.manifest...) }

// Close frees the native volume (and, with the last volume of a closed tape, its sources).
// Idempotent; later calls fail with ErrState.
func (v *Volume) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ptr != nil {
		C.tt_volume_free(v.ptr)
		v.ptr = nil
		runtime.SetFinalizer(v, nil)
	}
	return nil
}

// ReadAt reads the part's bytes at offset off within the part (io.ReaderAt: fewer than len(p)
// bytes only at the end of the part, with io.EOF). Safe for concurrent use, also alongside Read.
func (v *Volume) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, newError(ErrInvalidArgument, "Volume.ReadAt", "negative offset")
	}
	total := 0
	for total < len(p) {
		var n C.size_t
		at, buf := off+int64(total), p[total:]
		err := v.shared("Volume.ReadAt", true, func(vp *C.tt_volume) C.tt_status {
			// buf is Go memory passed for the duration of the call only.
			return C.tt_volume_read_at(vp, C.uint64_t(at), (*C.uint8_t)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &n)
		})
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, io.EOF
		}
		total += int(n)
	}
	return total, nil
}

// Read reads the part's bytes at the volume's position and advances it (io.Reader).
func (v *Volume) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	v.posMu.Lock()
	defer v.posMu.Unlock()
	var n C.size_t
	err := v.shared("Volume.Read", false, func(vp *C.tt_volume) C.tt_status {
		return C.tt_volume_read(vp, (*C.uint8_t)(unsafe.Pointer(&p[0])), C.size_t(len(p)), &n)
	})
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	return int(n), nil
}

// Seek moves the position of Read (io.Seeker); past the end, Read returns io.EOF. A negative
// position is an error.
func (v *Volume) Seek(offset int64, whence int) (int64, error) {
	v.posMu.Lock()
	defer v.posMu.Unlock()
	var pos C.uint64_t
	if whence == io.SeekStart && offset < 0 {
		return 0, newError(ErrInvalidArgument, "Volume.Seek", "negative position")
	}
	err := v.shared("Volume.Seek", false, func(vp *C.tt_volume) C.tt_status {
		return C.tt_volume_seek(vp, C.int64_t(offset), C.int32_t(whence), &pos)
	})
	return int64(pos), err
}

// MD5 reads the whole part and returns the MD5 of its bytes (for a Content-MD5 header or an
// ETag check).
func (v *Volume) MD5() ([16]byte, error) {
	var sum [16]byte
	err := v.shared("Volume.MD5", true, func(vp *C.tt_volume) C.tt_status {
		return C.tt_volume_md5(vp, (*C.uint8_t)(unsafe.Pointer(&sum[0])))
	})
	return sum, err
}

// shared runs a native call on the volume like Tape.shared: under RLock, with the message copied
// at once and the call repeated alone (retry) if another call may have replaced it.
func (v *Volume) shared(op string, retry bool, f func(*C.tt_volume) C.tt_status) error {
	v.mu.RLock()
	if v.ptr == nil {
		v.mu.RUnlock()
		return newError(ErrState, op, "the volume is closed")
	}
	before := v.failures.Load()
	v.inflight.Add(1)
	st := f(v.ptr)
	if ok(st) {
		v.inflight.Add(-1)
		v.mu.RUnlock()
		return nil
	}
	v.failures.Add(1)
	msg := volumeMessage(v.ptr)
	alone := v.failures.Load() == before+1 && v.inflight.Load() == 1
	v.inflight.Add(-1)
	v.mu.RUnlock()
	if !alone {
		if retry {
			return v.exclusive(op, f)
		}
		msg += " (or the message of a concurrent failing call)"
	}
	return v.newError(op, st, msg)
}

func (v *Volume) exclusive(op string, f func(*C.tt_volume) C.tt_status) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ptr == nil {
		return newError(ErrState, op, "the volume is closed")
	}
	st := f(v.ptr)
	if ok(st) {
		return nil
	}
	return v.newError(op, st, volumeMessage(v.ptr))
}

func (v *Volume) newError(op string, st C.tt_status, msg string) error {
	e := newError(Status(st), op, msg)
	if e.Status == ErrCallback {
		e.Err = v.callbackErr.take()
	}
	return e
}

func volumeMessage(p *C.tt_volume) string {
	return copyMessage(func(buf *C.char, n C.size_t) C.size_t { return C.tt_volume_error_copy(p, buf, n) })
}

// Location is where an entry lies in the archive and in parts of a given size.
type Location struct {
	Index        int   // the entry's index
	HeaderOffset int64 // where its header starts in the archive
	DataOffset   int64 // where its content starts
	EndOffset    int64 // where it ends (padding included)
	Size         int64 // its content size
	FirstPart    int64 // the first part holding any of its bytes
	LastPart     int64 // the last part holding any of its bytes
}

// Locate finds the entry called name and the parts of partSize bytes that hold it (sealing the
// tape); ErrNotFound (also fs.ErrNotExist) when no entry has that name. To re-upload one file's
// parts, or to fetch a file from parts with ranged reads.
func (t *Tape) Locate(name string, partSize int64) (Location, error) {
	var loc Location
	if partSize <= 0 {
		return loc, newError(ErrInvalidArgument, "Locate", "the part size must be a positive multiple of 512")
	}
	if name == "" {
		return loc, newError(ErrNotFound, "Locate", "empty name")
	}
	if err := t.Seal(); err != nil {
		return loc, err
	}
	err := t.shared("Locate", true, func(p *C.tt_tape) C.tt_status {
		var l C.tt_location
		n, nl := bytesArg(name)
		st := C.tt_tape_locate(p, n, nl, C.uint64_t(partSize), &l)
		if st == C.TT_STATUS_OK {
			loc = Location{
				Index: int(l.index), HeaderOffset: int64(l.header_offset), DataOffset: int64(l.data_offset),
				EndOffset: int64(l.end_offset), Size: int64(l.size),
				FirstPart: int64(l.first_part), LastPart: int64(l.last_part),
			}
		}
		return st
	})
	return loc, err
}

var _ interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
} = (*Volume)(nil)
