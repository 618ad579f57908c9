package tartape

/*
#include <tartape.h>
*/
import "C"

import (
	"fmt"
	"math"
)

// DefaultFrameSize is the uncompressed size of a frame when RecordFrames is given 0: 1 MiB.
// Frame sizes from 64 KiB to 64 MiB are allowed.
const DefaultFrameSize = 1 << 20

// Frame is one frame of a seekable compressed tape: TAR bytes [TarOffset, TarOffset+TarLength)
// compress to archive bytes [Offset, Offset+Length), a zstd frame or gzip member that
// decompresses on its own.
type Frame struct {
	Index     int
	TarOffset int64 // where the frame starts in the uncompressed TAR (Entry offsets)
	TarLength int64 // its uncompressed length, at most the frame size
	Offset    int64 // where it starts in the compressed archive (ReadAt, Stream)
	Length    int64 // its compressed length
}

// FramesInfo is what a seekable compressed tape's frames are made of.
type FramesInfo struct {
	Compression     Compression // CompressionZstd or CompressionGzip
	Level           int         // the level, the default resolved (gzip 6, zstd 3)
	Threads         int         // the threads streams compress frames on (SetFrameThreads)
	FrameSize       int64       // the uncompressed size of a frame (the last may be shorter)
	Count           int         // the number of frames
	TarSize         int64       // the uncompressed TAR's size
	FramesEnd       int64       // where the last frame ends: the zstd seek table starts there
	SeekTableLength int64       // the seek table's length (0 for gzip)
	TotalSize       int64       // the compressed archive's size, Size()
	Engine          string      // the library that made the recorded sizes ("libzstd 1.5.7")
}

// RecordFrames makes a TAR tape a seekable compressed tape (sealing it first): the TAR is cut
// into frames of at most frameSize uncompressed bytes (0 for DefaultFrameSize), each compressed
// once with c (CompressionZstd: frames followed by the zstd seekable format's seek table, which
// zstd -d skips; CompressionGzip: one member per frame) at level (0 for the default) on threads
// threads (0 for 1), and their compressed sizes recorded. It blocks until every frame is
// compressed; other calls on the tape wait.
//
// From then on Size, ReadAt, NewReader, Stream at any offset, Volumes and Fingerprint are those of
// the compressed archive (Entries keep the TAR's offsets; Frame maps one to the other), and Save
// keeps the frames. The same entries and options give the same bytes, whatever the threads.
// Errors: ErrInvalidArgument (a bad option, a ZIP tape), ErrUnsupported (xz, bzip2), ErrState
// (frames already recorded, a tape compressed with WithCompression, a stream or volume already
// using the tape), ErrNotRandomAccess (an AddFromMemory entry), ErrChanged.
func (t *Tape) RecordFrames(c Compression, level int, frameSize uint64, threads int) error {
	if level < math.MinInt32 || level > math.MaxInt32 {
		return newError(ErrInvalidArgument, "RecordFrames", fmt.Sprintf("level %d is out of range", level))
	}
	if threads < 0 || threads > math.MaxUint32 {
		return newError(ErrInvalidArgument, "RecordFrames", fmt.Sprintf("%d threads: use 1 to 256", threads))
	}
	t.streamMu.Lock()
	defer t.streamMu.Unlock()
	err := t.exclusive("RecordFrames", func(p *C.tt_tape) C.tt_status {
		return C.tt_tape_record_frames(p, C.uint32_t(c), C.int32_t(level), C.uint64_t(frameSize), C.uint32_t(threads))
	})
	if err == nil {
		t.sealed.Store(true)
	}
	return err
}

// SetFrameThreads sets the threads the streams of a seekable compressed tape compress frames on
// (1 to 256; the bytes are the same for any number), before its first stream: for a tape opened
// from a catalog, which does not record threads. ErrState without frames or once a stream or
// volume uses the tape.
func (t *Tape) SetFrameThreads(n int) error {
	if n < 0 || n > math.MaxUint32 {
		return newError(ErrInvalidArgument, "SetFrameThreads", fmt.Sprintf("%d threads: use 1 to 256", n))
	}
	t.streamMu.Lock()
	defer t.streamMu.Unlock()
	return t.exclusive("SetFrameThreads", func(p *C.tt_tape) C.tt_status {
		return C.tt_tape_set_frame_threads(p, C.uint32_t(n))
	})
}

// FrameCount is the number of frames of a seekable compressed tape: 0 without frames (or once
// closed). It does not seal the tape.
func (t *Tape) FrameCount() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.ptr == nil {
		return 0
	}
	return int(C.tt_tape_frame_count(t.ptr))
}

// Frame is frame k (0-based, in archive order); ErrNotFound without frames and past the last.
func (t *Tape) Frame(k int) (Frame, error) {
	if k < 0 {
		return Frame{}, newError(ErrNotFound, "Frame", fmt.Sprintf("no frame %d", k))
	}
	var f C.tt_frame
	err := t.shared("Frame", true, func(p *C.tt_tape) C.tt_status { return C.tt_tape_frame(p, C.uint64_t(k), &f) })
	if err != nil {
		return Frame{}, err
	}
	return Frame{k, int64(f.tar_offset), int64(f.tar_length), int64(f.offset), int64(f.length)}, nil
}

// Frames is every frame of a seekable compressed tape, in archive order (nil without frames).
func (t *Tape) Frames() ([]Frame, error) {
	n := t.FrameCount()
	if n == 0 {
		return nil, nil
	}
	out := make([]Frame, n)
	for k := range out {
		f, err := t.Frame(k)
		if err != nil {
			return nil, err
		}
		out[k] = f
	}
	return out, nil
}

// FrameOf is the frame holding byte tarOffset of the uncompressed TAR (an Entry's HeaderOffset,
// say): an entry's compressed bytes lie in FrameOf(HeaderOffset) to FrameOf(EndOffset-1).
// ErrNotFound without frames and at or past the TAR's end.
func (t *Tape) FrameOf(tarOffset int64) (Frame, error) {
	if tarOffset < 0 {
		return Frame{}, newError(ErrInvalidArgument, "FrameOf", "negative offset")
	}
	var k C.uint64_t
	err := t.shared("FrameOf", true, func(p *C.tt_tape) C.tt_status {
		return C.tt_tape_frame_find(p, C.uint64_t(tarOffset), &k)
	})
	if err != nil {
		return Frame{}, err
	}
	return t.Frame(int(k))
}

// FramesInfo describes the frames of a seekable compressed tape; ErrNotFound without frames.
func (t *Tape) FramesInfo() (FramesInfo, error) {
	var info C.tt_frames_info
	var engine string
	err := t.shared("FramesInfo", true, func(p *C.tt_tape) C.tt_status {
		st := C.tt_tape_frames_info(p, &info)
		if st == C.TT_STATUS_OK { // owned by the tape: copy it while the tape is held
			engine = C.GoString(info.engine)
		}
		return st
	})
	if err != nil {
		return FramesInfo{}, err
	}
	return FramesInfo{
		Compression:     Compression(info.compression),
		Level:           int(info.level),
		Threads:         int(info.threads),
		FrameSize:       int64(info.frame_size),
		Count:           int(info.count),
		TarSize:         int64(info.tar_size),
		FramesEnd:       int64(info.frames_end),
		SeekTableLength: int64(info.seek_table_length),
		TotalSize:       int64(info.total_size),
		Engine:          engine,
	}, nil
}
