package tartape

/*
#include <stdlib.h>
#include <tartape.h>
*/
import "C"

import (
	"fmt"
	"io/fs"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Tape is an archive being described, then sealed and read. Add entries, then read it with
// ReadAt, NewReader, WriteTo or a Stream; the first read (or Seal, Size, Entries) seals the tape and
// fixes its layout. Close releases the native handle.
//
// Concurrency: ReadAt, NewReader readers, Size, Entries and Skipped may be used from many goroutines
// at once, also while a Stream runs. Adding entries and sealing are serialized by the Tape. A tape
// has one stream at a time: starting a Stream (or WriteTo, or Events) ends the previous one.
type Tape struct {
	// mu guards ptr. A native call runs under RLock; Lock excludes every native call, so that a
	// call repeated alone gets its own message, and so that Close frees a handle no call is using.
	mu  sync.RWMutex
	ptr *C.tt_tape

	// streamMu serializes the calls the C API says must not overlap: adding, sealing, starting a
	// stream, pulling events and feeding. Lock order: streamMu, then mu.
	streamMu  sync.Mutex
	streamGen uint64                   // the generation of the current stream (under streamMu)
	memory    map[uint64]*memorySource // AddFromMemory entries by layout index (under streamMu)
	feedBuf   []byte                   // the chunk being fed (under streamMu)

	failures atomic.Uint64 // failing calls made under RLock, to know whether the message is ours
	inflight atomic.Int64  // calls running under RLock
	sealed   atomic.Bool

	members []*Member // AddMember readers of deflated members, closed by Close (under mu)

	// callbackErr holds the last error of this tape's Go callbacks, for the ErrCallback that
	// follows. The callbacks reach it, never the Tape, so that a forgotten Tape can be collected.
	callbackErr *lastError
}

// Option configures a new Tape.
type Option func(*config)

type config struct {
	md5, keepOwners, strict, checksums bool
	// checksumSet, when set by WithChecksumSet, replaces checksums.
	checksumSet        *Checksum
	exclude            []string
	format             Format
	deflate            int
	compression        Compression
	compressionLevel   int
	compressionThreads int
	align              uint64
}

// Compression is a compression around a whole archive: what WithCompression writes around a
// TAR tape, and what Archive.Compression reports of an archive read.
type Compression uint32

// The compressions. The numbers are the C API's tt_compression values.
const (
	CompressionNone  Compression = 0 // not compressed
	CompressionGzip  Compression = 1 // gzip (RFC 1952)
	CompressionZstd  Compression = 2 // Zstandard (RFC 8878)
	CompressionXz    Compression = 3 // xz (read only)
	CompressionBzip2 Compression = 4 // bzip2 (read only)
)

// The numbers above are the C API's: these lines do not compile if they differ.
var (
	_ [0]struct{} = [int(CompressionNone) - int(C.TT_COMPRESSION_NONE)]struct{}{}
	_ [0]struct{} = [int(CompressionGzip) - int(C.TT_COMPRESSION_GZIP)]struct{}{}
	_ [0]struct{} = [int(CompressionZstd) - int(C.TT_COMPRESSION_ZSTD)]struct{}{}
	_ [0]struct{} = [int(CompressionXz) - int(C.TT_COMPRESSION_XZ)]struct{}{}
	_ [0]struct{} = [int(CompressionBzip2) - int(C.TT_COMPRESSION_BZIP2)]struct{}{}
)

// String is "none", "gzip", "zstd", "xz" or "bzip2".
func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case CompressionGzip:
		return "gzip"
	case CompressionZstd:
		return "zstd"
	case CompressionXz:
		return "xz"
	case CompressionBzip2:
		return "bzip2"
	}
	return "unknown"
}

// Format is the archive format of a tape.
type Format uint32

// The formats. The numbers are the C API's tt_format values.
const (
	FormatTar Format = 0 // POSIX pax TAR (the default)
	FormatZip Format = 1 // ZIP: stored entries (or deflated, see WithDeflate), zip64 only where needed
)

// The numbers above are the C API's: these lines do not compile if they differ.
var (
	_ [0]struct{} = [int(FormatTar) - int(C.TT_FORMAT_TAR)]struct{}{}
	_ [0]struct{} = [int(FormatZip) - int(C.TT_FORMAT_ZIP)]struct{}{}
)

// String is "tar" or "zip".
func (f Format) String() string {
	switch f {
	case FormatTar:
		return "tar"
	case FormatZip:
		return "zip"
	}
	return "unknown"
}

// WithFormat chooses the archive format (default FormatTar). A stored ZIP keeps everything a TAR
// has: random access, resumed streams, volumes, Locate, catalogs. An unknown value makes New fail
// with ErrInvalidArgument.
func WithFormat(f Format) Option { return func(c *config) { c.format = f } }

// WithDeflate sets the deflate level of a ZIP tape's file entries: 0 stores them (the default),
// 1 (fastest) to 9 (smallest) deflates them; the same input and level always give the same bytes.
// Ignored for TAR. A deflated tape is stream-only: WriteTo, Stream(0), Events(0) and its io.Reader
// work, while Size, ReadAt, NewReader, Volumes and Stream at an offset above 0 fail with
// ErrNotRandomAccess (its size is known only once streamed).
func WithDeflate(level int) Option { return func(c *config) { c.deflate = level } }

// WithCompression compresses a TAR tape as one stream with CompressionGzip (level 1 to 9) or
// CompressionZstd (1 to 22); level 0 is the default (gzip 6, zstd 3). Like a deflated ZIP, a
// compressed tape is stream-only (Size, ReadAt, NewReader, Volumes and Stream above 0 fail with
// ErrNotRandomAccess); the same entries and level give the same bytes, whatever the threads. Its
// Data events carry compressed bytes without an entry index. New fails with ErrInvalidArgument for
// a bad level and ErrUnsupported for xz or bzip2 (read only); sealing a compressed ZIP tape fails.
func WithCompression(c Compression, level int) Option {
	return func(cfg *config) { cfg.compression, cfg.compressionLevel = c, level }
}

// WithCompressionThreads sets the compression threads (1, the default, to 256): zstd's workers, or
// the threads compressing gzip's 4 MiB members; the bytes do not depend on it. Only with
// WithCompression.
func WithCompressionThreads(n int) Option { return func(c *config) { c.compressionThreads = n } }

// WithAlign puts each file's content at a multiple of align bytes in a TAR archive (a power of
// two from 512 to 65536; 0, the default, for none), the header before it padded with a pax
// comment record every reader skips. Written with CopyInto beside its sources on XFS or Btrfs,
// such an archive shares their blocks.
func WithAlign(align uint64) Option { return func(c *config) { c.align = align } }

// WithMD5 switches MD5 hashing of file contents for FileEnd events (on by default).
func WithMD5(enabled bool) Option { return func(c *config) { c.md5 = enabled } }

// WithKeepOwners keeps the real uid, gid, user and group names of paths added with AddPath
// (default: 0, 0, "", "", for archives that do not depend on who made them).
func WithKeepOwners(keep bool) Option { return func(c *config) { c.keepOwners = keep } }

// WithStrict makes FIFOs, sockets and devices met by AddPath an ErrUnsupported error (default:
// they are skipped and listed by Skipped).
func WithStrict(strict bool) Option { return func(c *config) { c.strict = strict } }

// WithChecksums records the MD5 and CRC-32 of every file when the tape is sealed (reading each file
// once). Then FileEnd has the MD5 even of a resumed entry, a stream notices content that changed
// with the same size and mtime, and Verify(true) compares content. Default off.
func WithChecksums(enabled bool) Option { return func(c *config) { c.checksums = enabled } }

// Checksum is a set of checksum algorithms (the C ABI's tt_checksum bits), OR-ed together.
type Checksum uint32

// The algorithms WithChecksumSet takes and EntryChecksum reads.
const (
	ChecksumMD5    Checksum = 1 // 16 bytes
	ChecksumCRC32  Checksum = 2 // 4 bytes, big-endian
	ChecksumSHA256 Checksum = 4 // 32 bytes
	ChecksumCRC32C Checksum = 8 // 4 bytes, big-endian (Castagnoli, S3's CRC32C)
)

// WithChecksumSet records the checksums in set (ChecksumMD5 | ChecksumSHA256 | ...) of every file
// when the tape is sealed, reading each file once; WithChecksums(true) is ChecksumMD5 |
// ChecksumCRC32. FileEnd events then carry the SHA-256 and CRC-32C (Event.SHA256, Event.CRC32C),
// EntryChecksum reads any of them, catalogs keep them and Verify(true) compares each with the disk.
func WithChecksumSet(set Checksum) Option {
	return func(c *config) { c.checksumSet = &set }
}

// WithExclude leaves out every file or directory with one of these names (single path components,
// such as ".git") from the paths AddPath (or Record) adds. Verify does not report them either.
func WithExclude(names ...string) Option {
	return func(c *config) { c.exclude = append(c.exclude, names...) }
}

// New creates an empty tape.
func New(opts ...Option) (*Tape, error) {
	cfg := config{md5: true}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.deflate < 0 || cfg.deflate > 9 {
		return nil, newError(ErrInvalidArgument, "New", fmt.Sprintf("deflate level %d is not 0 to 9", cfg.deflate))
	}
	p := C.tt_tape_new()
	if p == nil {
		return nil, newError(ErrLimit, "New", "out of memory")
	}
	t := &Tape{
		ptr:         p,
		memory:      map[uint64]*memorySource{},
		callbackErr: &lastError{},
	}
	runtime.SetFinalizer(t, (*Tape).Close)
	err := t.exclusive("New", func(p *C.tt_tape) C.tt_status {
		if st := C.tt_tape_set_format(p, C.uint32_t(cfg.format)); st != C.TT_STATUS_OK {
			return st
		}
		if st := C.tt_tape_set_deflate(p, C.int32_t(cfg.deflate)); st != C.TT_STATUS_OK {
			return st
		}
		if cfg.compression != CompressionNone {
			if cfg.compressionLevel < math.MinInt32 || cfg.compressionLevel > math.MaxInt32 {
				return C.TT_STATUS_INVALID_ARGUMENT
			}
			if st := C.tt_tape_set_compression(p, C.uint32_t(cfg.compression), C.int32_t(cfg.compressionLevel)); st != C.TT_STATUS_OK {
				return st
			}
		}
		if cfg.compressionThreads != 0 {
			if cfg.compressionThreads < 0 || cfg.compressionThreads > math.MaxUint32 {
				return C.TT_STATUS_INVALID_ARGUMENT
			}
			if st := C.tt_tape_set_compression_threads(p, C.uint32_t(cfg.compressionThreads)); st != C.TT_STATUS_OK {
				return st
			}
		}
		if cfg.align != 0 {
			if st := C.tt_tape_set_align(p, C.uint64_t(cfg.align)); st != C.TT_STATUS_OK {
				return st
			}
		}
		if st := C.tt_tape_set_md5(p, cbool(cfg.md5)); st != C.TT_STATUS_OK {
			return st
		}
		if cfg.checksumSet != nil {
			if st := C.tt_tape_record_checksums(p, C.uint32_t(*cfg.checksumSet)); st != C.TT_STATUS_OK {
				return st
			}
		} else if st := C.tt_tape_set_checksums(p, cbool(cfg.checksums)); st != C.TT_STATUS_OK {
			return st
		}
		for _, name := range cfg.exclude {
			n, nl := bytesArg(name)
			if st := C.tt_tape_add_exclude(p, n, nl); st != C.TT_STATUS_OK {
				return st
			}
		}
		return C.tt_tape_set_walk_options(p, cbool(cfg.keepOwners), cbool(cfg.strict))
	})
	if err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Close frees the native tape. Readers, streams and later calls then fail with ErrState. Close is
// idempotent; it must not be called while the tape's own io.ReaderAt callbacks run. A finalizer
// closes a forgotten tape, but only as a safety net.
func (t *Tape) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ptr != nil {
		C.tt_tape_free(t.ptr) // calls the free callbacks of AddReaderAt entries
		t.ptr = nil
		for _, m := range t.members {
			m.Close()
		}
		t.members = nil
		runtime.SetFinalizer(t, nil)
	}
	return nil
}

// Version is the version of the linked libtartape ("MAJOR.MINOR.PATCH").
func Version() string { return C.GoString(C.tt_version()) }

// exclusive runs a native call with no other native call on the tape running.
func (t *Tape) exclusive(op string, f func(*C.tt_tape) C.tt_status) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ptr == nil {
		return errClosed(op)
	}
	st := f(t.ptr)
	if ok(st) {
		return nil
	}
	return t.newError(op, st, tapeMessage(t.ptr))
}

// shared runs a native call that may overlap with other shared calls (ReadAt, accessors, the
// stream). On failure it copies the tape's message at once (tt_tape_error_copy is thread-safe).
// The message is the call's own unless another call failed, or was running, in the meantime: then
// a read or a query (retry set) is repeated alone, and any other call keeps the message it copied,
// flagged as possibly another call's. The status is always the call's own.
func (t *Tape) shared(op string, retry bool, f func(*C.tt_tape) C.tt_status) error {
	t.mu.RLock()
	if t.ptr == nil {
		t.mu.RUnlock()
		return errClosed(op)
	}
	before := t.failures.Load()
	t.inflight.Add(1)
	st := f(t.ptr)
	if ok(st) {
		t.inflight.Add(-1)
		t.mu.RUnlock()
		return nil
	}
	// Another call replaces the message only while it runs and before it counts its failure, so
	// with no other failure counted and no other call running after the copy, the message is ours.
	t.failures.Add(1)
	msg := tapeMessage(t.ptr)
	alone := t.failures.Load() == before+1 && t.inflight.Load() == 1
	t.inflight.Add(-1)
	t.mu.RUnlock()
	switch {
	case alone:
		return t.newError(op, st, msg)
	case retry:
		return t.exclusive(op, f)
	}
	return t.newError(op, st, msg+" (or the message of a concurrent failing call)")
}

// newError builds the error of a failed call.
func (t *Tape) newError(op string, st C.tt_status, msg string) error {
	e := newError(Status(st), op, msg)
	if e.Status == ErrCallback {
		e.Err = t.callbackErr.take()
	}
	return e
}

// tapeMessage copies the tape's last error message (thread-safe).
func tapeMessage(p *C.tt_tape) string {
	return copyMessage(func(buf *C.char, n C.size_t) C.size_t { return C.tt_tape_error_copy(p, buf, n) })
}

// copyMessage copies a handle's message with a tt_*_error_copy function, growing the buffer once
// if the message is longer than it.
func copyMessage(copyTo func(*C.char, C.size_t) C.size_t) string {
	var small [512]byte
	n := int(copyTo((*C.char)(unsafe.Pointer(&small[0])), C.size_t(len(small))))
	if n < len(small) {
		return string(small[:n])
	}
	big := make([]byte, n+1)
	m := int(copyTo((*C.char)(unsafe.Pointer(&big[0])), C.size_t(len(big))))
	return string(big[:min(m, len(big)-1)])
}

func ok(st C.tt_status) bool { return st == C.TT_STATUS_OK || st == C.TT_STATUS_EOF }

func cbool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}

// bytesArg passes a Go string to C for the duration of a call (C copies what it keeps).
func bytesArg(s string) (*C.uint8_t, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

// EntryOption sets the metadata of an entry added from memory.
type EntryOption func(*entryConfig)

type entryConfig struct {
	mode  fs.FileMode
	mtime int64
}

// WithMode sets an entry's permission bits (default 0644 for files, 0755 for directories).
func WithMode(mode fs.FileMode) EntryOption { return func(c *entryConfig) { c.mode = mode } }

// WithModTime sets an entry's modification time, stored in whole seconds (default: the Unix epoch,
// so that an archive does not depend on when it was made).
func WithModTime(t time.Time) EntryOption { return func(c *entryConfig) { c.mtime = t.Unix() } }

func entryOptions(mode fs.FileMode, opts []EntryOption) (C.uint32_t, C.int64_t) {
	c := entryConfig{mode: mode}
	for _, o := range opts {
		o(&c)
	}
	m := uint32(c.mode.Perm())
	if c.mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if c.mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if c.mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return C.uint32_t(m), C.int64_t(c.mtime)
}

// add runs an adding call: serialized with the stream, exclusive of every other native call.
func (t *Tape) add(op string, f func(*C.tt_tape) C.tt_status) error {
	t.streamMu.Lock()
	defer t.streamMu.Unlock()
	return t.exclusive(op, f)
}

// AddPath adds a file, a symlink (stored as a link, never followed) or a directory (recursively,
// names sorted byte-wise, each directory before its contents). name is the name in the archive;
// "" uses the path's base name. On error nothing of this path is added.
func (t *Tape) AddPath(path, name string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	return t.add("AddPath", func(p *C.tt_tape) C.tt_status {
		if name == "" {
			return C.tt_add_path(p, cpath, nil, 0)
		}
		n, nl := bytesArg(name)
		return C.tt_add_path(p, cpath, n, nl)
	})
}

// AddBytes adds a file whose content is data, copied now.
func (t *Tape) AddBytes(name string, data []byte, opts ...EntryOption) error {
	mode, mtime := entryOptions(0o644, opts)
	return t.add("AddBytes", func(p *C.tt_tape) C.tt_status {
		n, nl := bytesArg(name)
		var d *C.uint8_t
		if len(data) > 0 {
			d = (*C.uint8_t)(unsafe.Pointer(&data[0]))
		}
		return C.tt_add_bytes(p, n, nl, d, C.size_t(len(data)), mode, mtime)
	})
}

// AddDirectory adds a directory entry with no source on disk.
func (t *Tape) AddDirectory(name string, opts ...EntryOption) error {
	mode, mtime := entryOptions(0o755, opts)
	return t.add("AddDirectory", func(p *C.tt_tape) C.tt_status {
		n, nl := bytesArg(name)
		return C.tt_add_directory(p, n, nl, mode, mtime)
	})
}

// AddSymlink adds a symlink entry pointing to target, with no source on disk. Its mode is always
// 0777; only WithModTime applies.
func (t *Tape) AddSymlink(name, target string, opts ...EntryOption) error {
	_, mtime := entryOptions(0o777, opts)
	return t.add("AddSymlink", func(p *C.tt_tape) C.tt_status {
		n, nl := bytesArg(name)
		tg, tl := bytesArg(target)
		return C.tt_add_symlink(p, n, nl, tg, tl, mtime)
	})
}

// Seal fixes the tape's layout: every offset and the total size. No entry can be added afterwards.
// Sealing twice is fine. It fails with ErrInvalidName when two entries have the same name. Reads,
// Size and Entries seal the tape themselves.
func (t *Tape) Seal() error {
	if t.sealed.Load() {
		return nil
	}
	err := t.add("Seal", func(p *C.tt_tape) C.tt_status { return C.tt_tape_seal(p) })
	if err == nil {
		t.sealed.Store(true)
	}
	return err
}

// Size is the archive's total size in bytes (sealing the tape).
func (t *Tape) Size() (int64, error) {
	if err := t.Seal(); err != nil {
		return 0, err
	}
	var out C.uint64_t
	err := t.shared("Size", true, func(p *C.tt_tape) C.tt_status { return C.tt_tape_total_size(p, &out) })
	return int64(out), err
}

// EntryKind is what an entry is.
type EntryKind int

// The kinds of entries.
const (
	KindFile    EntryKind = 0
	KindDir     EntryKind = 1
	KindSymlink EntryKind = 2

	// Kinds met only in archives being read (ArchiveEntry.Kind); a tape never holds them.
	KindHardlink    EntryKind = 3 // a hard link to the entry named by Link
	KindCharDevice  EntryKind = 4 // a character device
	KindBlockDevice EntryKind = 5 // a block device
	KindFIFO        EntryKind = 6 // a named pipe
	KindOther       EntryKind = 7 // anything else
)

// The numbers above are the C API's: these lines do not compile if they differ.
var (
	_ [0]struct{} = [int(KindFile) - int(C.TT_ENTRY_KIND_FILE)]struct{}{}
	_ [0]struct{} = [int(KindDir) - int(C.TT_ENTRY_KIND_DIR)]struct{}{}
	_ [0]struct{} = [int(KindSymlink) - int(C.TT_ENTRY_KIND_SYMLINK)]struct{}{}
	_ [0]struct{} = [int(KindHardlink) - int(C.TT_ENTRY_KIND_HARDLINK)]struct{}{}
	_ [0]struct{} = [int(KindCharDevice) - int(C.TT_ENTRY_KIND_CHAR_DEVICE)]struct{}{}
	_ [0]struct{} = [int(KindBlockDevice) - int(C.TT_ENTRY_KIND_BLOCK_DEVICE)]struct{}{}
	_ [0]struct{} = [int(KindFIFO) - int(C.TT_ENTRY_KIND_FIFO)]struct{}{}
	_ [0]struct{} = [int(KindOther) - int(C.TT_ENTRY_KIND_OTHER)]struct{}{}
)

// String is "file", "dir", "symlink", "hardlink", "char device", "block device", "fifo" or "other".
func (k EntryKind) String() string {
	switch k {
	case KindFile:
		return "file"
	case KindDir:
		return "dir"
	case KindSymlink:
		return "symlink"
	case KindHardlink:
		return "hardlink"
	case KindCharDevice:
		return "char device"
	case KindBlockDevice:
		return "block device"
	case KindFIFO:
		return "fifo"
	case KindOther:
		return "other"
	}
	return "unknown"
}

// Entry is one entry of a sealed tape's layout.
type Entry struct {
	Index        int         // position in the layout
	Name         string      // the archive name
	Kind         EntryKind   // file, directory or symlink
	Mode         fs.FileMode // permission bits
	ModTime      time.Time   // modification time, whole seconds
	Size         int64       // content size
	Link         string      // the symlink target ("" for other kinds)
	HeaderOffset int64       // where the entry's header starts in the archive
	DataOffset   int64       // where its content starts
	EndOffset    int64       // where the entry (with padding) ends
	RandomAccess bool        // false for AddFromMemory entries, which ReadAt cannot read
}

// Entries lists the sealed tape's layout, in archive order (sealing the tape).
func (t *Tape) Entries() ([]Entry, error) {
	if err := t.Seal(); err != nil {
		return nil, err
	}
	var count C.uint64_t
	if err := t.shared("Entries", true, func(p *C.tt_tape) C.tt_status { return C.tt_tape_entry_count(p, &count) }); err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, int(count))
	for i := range uint64(count) {
		e, err := t.entry("Entries", i)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// EntryChecksum returns the checksum which (one Checksum value) recorded for the entry at index
// (sealing the tape): 16 bytes for MD5, 32 for SHA-256, 4 big-endian for CRC-32 and CRC-32C.
// ok is false when none was recorded (WithChecksumSet chooses which are). Safe for concurrent use.
func (t *Tape) EntryChecksum(index int, which Checksum) (sum []byte, ok bool, err error) {
	if err := t.Seal(); err != nil {
		return nil, false, err
	}
	if index < 0 {
		return nil, false, newError(ErrNotFound, "EntryChecksum", "negative index")
	}
	var buf [32]byte
	var n C.size_t
	notRecorded := false
	err = t.shared("EntryChecksum", true, func(p *C.tt_tape) C.tt_status {
		var count C.uint64_t
		if st := C.tt_tape_entry_count(p, &count); st != C.TT_STATUS_OK {
			return st
		}
		st := C.tt_tape_entry_checksum(p, C.uint64_t(index), C.uint32_t(which), (*C.uint8_t)(&buf[0]), 32, &n)
		if st == C.TT_STATUS_NOT_FOUND && uint64(index) < uint64(count) {
			notRecorded = true
			return C.TT_STATUS_OK
		}
		return st
	})
	if err != nil || notRecorded {
		return nil, false, err
	}
	return append([]byte(nil), buf[:n]...), true, nil
}

// entry reads the layout of the entry at index i of a sealed tape.
func (t *Tape) entry(op string, i uint64) (Entry, error) {
	var e Entry
	err := t.shared(op, true, func(p *C.tt_tape) C.tt_status {
		var info C.tt_entry_info
		st := C.tt_tape_entry(p, C.uint64_t(i), &info)
		if st == C.TT_STATUS_OK { // names live as long as the tape: copy them while it is held
			e = Entry{
				Index:        int(i),
				Name:         C.GoStringN((*C.char)(unsafe.Pointer(info.name)), C.int(info.name_len)),
				Kind:         EntryKind(info.kind),
				Mode:         fs.FileMode(info.mode & 0o777),
				ModTime:      time.Unix(int64(info.mtime), 0),
				Size:         int64(info.size),
				Link:         C.GoStringN((*C.char)(unsafe.Pointer(info.link)), C.int(info.link_len)),
				HeaderOffset: int64(info.header_offset),
				DataOffset:   int64(info.data_offset),
				EndOffset:    int64(info.end_offset),
				RandomAccess: info.random_access != 0,
			}
		}
		return st
	})
	return e, err
}

// Skipped is a special file (FIFO, socket, device) that AddPath left out of the archive.
type Skipped struct {
	Path string // its path on disk
	Kind string // "fifo", "socket", "character device" or "block device"
}

// Skipped lists the special files AddPath left out (sealing the tape). With WithStrict(true) they
// are errors instead.
func (t *Tape) Skipped() ([]Skipped, error) {
	if err := t.Seal(); err != nil {
		return nil, err
	}
	var count C.uint64_t
	if err := t.shared("Skipped", true, func(p *C.tt_tape) C.tt_status { return C.tt_tape_skipped_count(p, &count) }); err != nil {
		return nil, err
	}
	out := make([]Skipped, 0, int(count))
	for i := range uint64(count) {
		var s Skipped
		err := t.shared("Skipped", true, func(p *C.tt_tape) C.tt_status {
			var path, kind *C.char
			st := C.tt_tape_skipped(p, C.uint64_t(i), &path, &kind)
			if st == C.TT_STATUS_OK {
				s = Skipped{Path: C.GoString(path), Kind: C.GoString(kind)}
			}
			return st
		})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
