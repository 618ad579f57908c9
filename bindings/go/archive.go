package tartape

/*
#include <stdlib.h>
#include <tartape.h>
*/
import "C"

import (
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Archive is a TAR or ZIP archive opened for reading, in place: its listing is read once, and each
// member's content is read from the file (or the bytes) only when opened. Its methods are safe for
// concurrent use. Close releases it; Members already opened stay readable until they are closed.
type Archive struct {
	// mu guards ptr. Calls that may fail run under Lock, so that the archive's message (shared by
	// all its calls) is the failing call's own; Close takes Lock too.
	mu      sync.Mutex
	ptr     *C.tt_archive
	entries []ArchiveEntry // the listing, copied once when opened
}

// The compression methods of ArchiveEntry.Method (TAR members are always MethodStored).
const (
	MethodStored   uint16 = 0 // stored as is
	MethodDeflated uint16 = 8 // deflate (the reader also reads bzip2 12, LZMA 14, zstd 93 and xz 95)
)

// ArchiveEntry is one entry of an archive's listing.
type ArchiveEntry struct {
	Index          int         // position in the listing (the argument of Open and AddMember)
	Name           string      // the name as stored (any bytes; see UnsafeName)
	Kind           EntryKind   // file, dir, symlink, or an archive-only kind (hardlink, devices...)
	Mode           fs.FileMode // permission bits (with setuid, setgid, sticky) and the type bits of Kind
	ModTime        time.Time   // modification time, whole seconds
	Size           int64       // the content's real size (uncompressed, or expanded for sparse members)
	CompressedSize int64       // the bytes the content occupies in the archive
	Method         uint16      // MethodStored, MethodDeflated, or another ZIP method (12, 14, 93, 95 read; others unsupported)
	CRC32          uint32      // the CRC-32 of the content (ZIP; 0 for TAR)
	Link           string      // the target of a symlink or hard link ("" otherwise)
	HeaderOffset   int64       // where the entry's first header starts in the archive
	DataOffset     int64       // where its stored content starts
	UnsafeName     bool        // absolute, with a ".." component, a NUL, or empty: do not extract as is
	Encrypted      bool        // encrypted content: Open gives ErrUnsupported
	Sparse         bool        // a sparse TAR member (expanded when read)
}

// OpenArchive opens the TAR or ZIP archive at path (the format is detected from the content) and
// lists its entries. The file stays open until Close (and any open Member is closed) and must not
// change meanwhile. A malformed or truncated archive is ErrCorrupt, one past the reader's safety
// limits ErrLimit, a missing file ErrIO.
func OpenArchive(path string) (*Archive, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	return openArchive("OpenArchive", func(msg *C.char, n C.size_t, out **C.tt_archive) C.tt_status {
		return C.tt_archive_open(cpath, msg, n, out)
	})
}

// OpenArchiveWithIndex opens the compressed archive at path with the restart points that
// SaveIndex saved in indexPath, skipping the decoding pass OpenArchive makes. Another archive's
// index (or this one's after the file changed) is ErrInvalidArgument, a damaged one ErrCorrupt.
func OpenArchiveWithIndex(path, indexPath string) (*Archive, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	cindex := C.CString(indexPath)
	defer C.free(unsafe.Pointer(cindex))
	return openArchive("OpenArchiveWithIndex", func(msg *C.char, n C.size_t, out **C.tt_archive) C.tt_status {
		return C.tt_archive_open_with_index(cpath, cindex, msg, n, out)
	})
}

// SaveIndex writes the restart points of a compressed archive to path (atomically), for
// OpenArchiveWithIndex. ErrInvalidArgument for an archive that is not compressed.
func (a *Archive) SaveIndex(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	return a.call("SaveIndex", func(p *C.tt_archive) C.tt_status {
		return C.tt_archive_save_index(p, cpath)
	})
}

// OpenArchiveBytes reads an archive from b, which is copied: b may be changed once this returns.
// An empty b is an empty TAR.
func OpenArchiveBytes(b []byte) (*Archive, error) {
	return openArchive("OpenArchiveBytes", func(msg *C.char, n C.size_t, out **C.tt_archive) C.tt_status {
		var p *C.uint8_t
		if len(b) > 0 { // Go memory for the duration of the call: C copies it
			p = (*C.uint8_t)(unsafe.Pointer(&b[0]))
		}
		return C.tt_archive_open_memory(p, C.size_t(len(b)), msg, n, out)
	})
}

func openArchive(op string, open func(*C.char, C.size_t, **C.tt_archive) C.tt_status) (*Archive, error) {
	var msg [1024]byte
	var p *C.tt_archive
	st := open((*C.char)(unsafe.Pointer(&msg[0])), C.size_t(len(msg)), &p)
	if st != C.TT_STATUS_OK {
		return nil, newError(Status(st), op, C.GoString((*C.char)(unsafe.Pointer(&msg[0]))))
	}
	a := &Archive{ptr: p}
	runtime.SetFinalizer(a, (*Archive).Close)
	count := uint64(C.tt_archive_entry_count(p))
	a.entries = make([]ArchiveEntry, 0, count)
	for i := range count {
		var info C.tt_archive_entry_info
		if st := C.tt_archive_entry(p, C.uint64_t(i), &info); st != C.TT_STATUS_OK {
			err := newError(Status(st), op, C.GoString(C.tt_archive_error_message(p)))
			a.Close()
			return nil, err
		}
		a.entries = append(a.entries, archiveEntry(int(i), &info))
	}
	return a, nil
}

// archiveEntry copies an entry's info (its name and link borrow from the archive).
func archiveEntry(i int, info *C.tt_archive_entry_info) ArchiveEntry {
	kind := EntryKind(info.kind)
	flags := uint32(info.flags)
	return ArchiveEntry{
		Index:          i,
		Name:           C.GoStringN((*C.char)(unsafe.Pointer(info.name)), C.int(info.name_len)),
		Kind:           kind,
		Mode:           fileMode(kind, uint32(info.mode)),
		ModTime:        time.Unix(int64(info.mtime), 0),
		Size:           int64(info.size),
		CompressedSize: int64(info.compressed_size),
		Method:         uint16(info.method),
		CRC32:          uint32(info.crc32),
		Link:           C.GoStringN((*C.char)(unsafe.Pointer(info.link)), C.int(info.link_len)),
		HeaderOffset:   int64(info.header_offset),
		DataOffset:     int64(info.data_offset),
		UnsafeName:     flags&C.TT_ARCHIVE_FLAG_UNSAFE_NAME != 0,
		Encrypted:      flags&C.TT_ARCHIVE_FLAG_ENCRYPTED != 0,
		Sparse:         flags&C.TT_ARCHIVE_FLAG_SPARSE != 0,
	}
}

// fileMode makes an fs.FileMode of Unix permission bits and a kind.
func fileMode(kind EntryKind, mode uint32) fs.FileMode {
	m := fs.FileMode(mode & 0o777)
	if mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch kind {
	case KindDir:
		m |= fs.ModeDir
	case KindSymlink:
		m |= fs.ModeSymlink
	case KindCharDevice:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case KindBlockDevice:
		m |= fs.ModeDevice
	case KindFIFO:
		m |= fs.ModeNamedPipe
	case KindOther:
		m |= fs.ModeIrregular
	}
	return m
}

// Compression is the compression around the archive, detected by its magic bytes
// (CompressionNone for a plain one). Entry offsets of a compressed archive are offsets in its
// uncompressed bytes.
func (a *Archive) Compression() Compression {
	var c C.uint32_t
	_ = a.call("Compression", func(p *C.tt_archive) C.tt_status {
		c = C.tt_archive_compression(p)
		return C.TT_STATUS_OK
	})
	return Compression(c)
}

// Entries is the archive's listing, in archive order (a copy: the caller may change it).
func (a *Archive) Entries() []ArchiveEntry {
	return append([]ArchiveEntry(nil), a.entries...)
}

// Find returns the last entry named name (a trailing "/" is ignored on both sides, so "dir" finds
// "dir/"). A name that is not there is ErrNotFound (also fs.ErrNotExist).
func (a *Archive) Find(name string) (ArchiveEntry, error) {
	var index C.uint64_t
	err := a.call("Find", func(p *C.tt_archive) C.tt_status {
		n, nl := bytesArg(name)
		return C.tt_archive_find(p, n, nl, &index)
	})
	if err != nil {
		if e, ok := err.(*Error); ok && e.Status == ErrNotFound {
			e.Message = fmt.Sprintf("no entry named %q", name)
		}
		return ArchiveEntry{}, err
	}
	return a.entries[index], nil
}

// Open opens a reader of entry index's content. An encrypted member, or a ZIP method other than
// stored and deflate, is ErrUnsupported; an index out of range ErrNotFound. The Member stays
// usable after the archive is closed. Reading a deflated member through to its end checks its
// CRC-32 (ErrCorrupt on mismatch).
func (a *Archive) Open(index int) (*Member, error) {
	if index < 0 || index >= len(a.entries) {
		return nil, newError(ErrNotFound, "Open", fmt.Sprintf("no entry %d: the archive has %d", index, len(a.entries)))
	}
	var p *C.tt_member
	if err := a.call("Open", func(ap *C.tt_archive) C.tt_status {
		return C.tt_member_open(ap, C.uint64_t(index), &p)
	}); err != nil {
		return nil, err
	}
	m := &Member{ptr: p, name: a.entries[index].Name, size: a.entries[index].Size}
	runtime.SetFinalizer(m, (*Member).Close)
	return m, nil
}

// Close releases the archive (and its file, once no Member uses it). Idempotent.
func (a *Archive) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ptr != nil {
		C.tt_archive_free(a.ptr)
		a.ptr = nil
		runtime.SetFinalizer(a, nil)
	}
	return nil
}

// call runs a native call on the archive, alone, and copies its message on failure.
func (a *Archive) call(op string, f func(*C.tt_archive) C.tt_status) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ptr == nil {
		return newError(ErrState, op, "the archive is closed")
	}
	st := f(a.ptr)
	if ok(st) {
		return nil
	}
	return newError(Status(st), op, C.GoString(C.tt_archive_error_message(a.ptr)))
}

// Member reads one archive member's content: an io.Reader, io.Seeker and io.Closer. Use it from
// one goroutine at a time (its calls are serialized, but they share one cursor). Seeking a
// deflated member is cheap, but the next Read inflates again from the start when going backwards.
type Member struct {
	mu   sync.Mutex
	ptr  *C.tt_member
	name string
	size int64
}

// Size is the member's content size.
func (m *Member) Size() int64 { return m.size }

// Read reads the content at the cursor; io.EOF at the end.
func (m *Member) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n C.size_t
	err := m.call("Member.Read", func(mp *C.tt_member) C.tt_status {
		// p is Go memory passed for the duration of the call only.
		return C.tt_member_read(mp, (*C.uint8_t)(unsafe.Pointer(&p[0])), C.size_t(len(p)), &n)
	})
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	return int(n), nil
}

// Seek moves the cursor (io.SeekStart, io.SeekCurrent, io.SeekEnd). Past the end is allowed (Read
// then gives io.EOF); before the start is ErrInvalidArgument.
func (m *Member) Seek(offset int64, whence int) (int64, error) {
	var pos C.uint64_t
	err := m.call("Member.Seek", func(mp *C.tt_member) C.tt_status {
		return C.tt_member_seek(mp, C.int64_t(offset), C.int(whence), &pos)
	})
	return int64(pos), err
}

// Close releases the member. Idempotent.
func (m *Member) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ptr != nil {
		C.tt_member_free(m.ptr)
		m.ptr = nil
		runtime.SetFinalizer(m, nil)
	}
	return nil
}

func (m *Member) call(op string, f func(*C.tt_member) C.tt_status) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ptr == nil {
		return newError(ErrState, op, "the member is closed")
	}
	st := f(m.ptr)
	if ok(st) {
		return nil
	}
	return newError(Status(st), op, C.GoString(C.tt_member_error_message(m.ptr)))
}

// memberReaderAt is an io.ReaderAt over a member, for AddReaderAt: each read seeks, under a lock.
type memberReaderAt struct {
	mu sync.Mutex
	m  *Member
}

func (r *memberReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.m.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(r.m, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// AddMember adds entry index of archive a to the tape under name ("" keeps the entry's name),
// with its mode and modification time, without extracting it: a bundle can be rebuilt from
// another one, from ZIP to TAR, from TAR to ZIP, keeping some members and dropping others.
//
// A directory or symlink is added as such. A stored member (any TAR member, a stored ZIP member)
// is added as an AddReaderAt entry reading the archive in place, so the tape keeps random access.
// A deflated member is inflated as the stream reaches it, as an AddFromMemory entry (ReadAt of
// its bytes is then ErrNotRandomAccess). A hard link is added as a copy of the file it links to.
// Devices, FIFOs and other kinds are ErrUnsupported, as is an encrypted member.
//
// The tape keeps the member open until Close, also after a.Close.
func (t *Tape) AddMember(a *Archive, index int, name string) error {
	return t.addMember(a, index, name, 0)
}

func (t *Tape) addMember(a *Archive, index int, name string, depth int) error {
	const op = "AddMember"
	if a == nil || index < 0 || index >= len(a.entries) {
		return newError(ErrInvalidArgument, op, fmt.Sprintf("no entry %d in the archive", index))
	}
	e := a.entries[index]
	if name == "" {
		name = e.Name
	}
	opts := []EntryOption{WithMode(e.Mode), WithModTime(e.ModTime)}
	switch e.Kind {
	case KindDir:
		return t.AddDirectory(name, opts...)
	case KindSymlink:
		return t.AddSymlink(name, e.Link, opts[1:]...)
	case KindHardlink:
		target, err := a.Find(e.Link)
		if err != nil || depth > 8 || target.Index == index {
			return newError(ErrNotFound, op, fmt.Sprintf("%s: the hard link's target %q is not a file of the archive", e.Name, e.Link))
		}
		return t.addMember(a, target.Index, name, depth+1)
	case KindFile:
	default:
		return newError(ErrUnsupported, op, fmt.Sprintf("%s: a %s cannot be added to a tape", e.Name, e.Kind))
	}
	m, err := a.Open(index)
	if err != nil {
		if ae, ok := err.(*Error); ok {
			ae.Op = op
		}
		return err
	}
	if e.Method == MethodStored {
		err = t.addReaderAt(op, name, e.Size, &memberReaderAt{m: m}, m.Close, opts)
	} else {
		err = t.AddFromMemory(name, e.Size, m, opts...)
		if err == nil {
			t.ownMember(m)
		} else {
			m.Close()
		}
	}
	return err
}

// ownMember keeps a member for the tape to close at Close.
func (t *Tape) ownMember(m *Member) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ptr == nil { // closed meanwhile
		m.Close()
		return
	}
	t.members = append(t.members, m)
}
