package tartape

/*
#include <tartape.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"unsafe"
)

// AddFromMemory declares a file of exactly size bytes whose content is read from r when a stream
// reaches the entry (pushed to the engine with tt_feed: no callback from C into Go). r is read
// once, in order; a stream that starts after the entry's content does not read it, one that starts
// inside it skips what lies before. A later stream that needs the content again Seeks r back if it
// is an io.Seeker, or fails with ErrState.
//
// If r ends before size bytes, or still has bytes after them (it is too long), the stream fails with
// ErrSizeMismatch: an archive is never padded or cut silently. Checking for "too long" reads one
// byte past size from r. Other errors from r are ErrCallback with r's error as Err. The entry cannot
// be read with ReadAt (ErrNotRandomAccess).
func (t *Tape) AddFromMemory(name string, size int64, r io.Reader, opts ...EntryOption) error {
	if size < 0 || r == nil {
		return newError(ErrInvalidArgument, "AddFromMemory", "negative size or nil reader")
	}
	mode, mtime := entryOptions(0o644, opts)
	return t.add("AddFromMemory", func(p *C.tt_tape) C.tt_status {
		var index C.uint64_t // the index the entry gets in the layout
		if st := C.tt_tape_added_count(p, &index); st != C.TT_STATUS_OK {
			return st
		}
		n, nl := bytesArg(name)
		st := C.tt_add_from_memory(p, n, nl, C.uint64_t(size), mode, mtime)
		if st == C.TT_STATUS_OK { // under t.streamMu, like every use of t.memory
			t.memory[uint64(index)] = &memorySource{name: name, size: size, r: r}
		}
		return st
	})
}

// memorySource is the reader of an AddFromMemory entry and how far it has been read.
type memorySource struct {
	name string
	size int64
	r    io.Reader
	pos  int64
	eof  bool // r ended at pos
}

// feedChunk is the most bytes fed at once.
const feedChunk = 256 << 10

// feed answers a NEED_DATA event: the entry at index wants its content from offset on, and owes
// still bytes. It runs with t.streamMu held.
func (t *Tape) feed(index, offset, owed uint64) error {
	const op = "Stream.Next"
	src, err := t.memorySourceAt(index)
	if err != nil {
		return err
	}
	if err := src.moveTo(int64(offset)); err != nil {
		return &Error{Status: ErrState, Op: op, Message: err.Error(), Err: err}
	}
	if src.eof { // r ended short after the last chunk it gave
		return t.shared(op, false, func(p *C.tt_tape) C.tt_status { return C.tt_feed_end(p) })
	}
	want := min(owed, feedChunk)
	if t.feedBuf == nil { // one buffer for all the tape's memory entries, kept with the tape
		t.feedBuf = make([]byte, feedChunk+1)
	}
	buf := t.feedBuf[:want]
	n, rerr := io.ReadFull(src.r, buf)
	src.pos += int64(n)
	switch {
	case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
		if n > 0 { // feed what there is; the next NEED_DATA ends the entry short
			src.eof = true
			return t.feedBytes(buf[:n])
		}
		return t.shared(op, false, func(p *C.tt_tape) C.tt_status { return C.tt_feed_end(p) })
	case rerr != nil:
		// The C stream still waits for data; this Go stream ends here (a new one restarts it).
		return &Error{Status: ErrCallback, Op: op,
			Message: fmt.Sprintf("%s: reading the io.Reader at %d", src.name, src.pos), Err: rerr}
	}
	if uint64(n) == owed { // the last chunk: the reader must be at its end
		extra, perr := probe(src.r)
		if perr != nil && perr != io.EOF {
			return &Error{Status: ErrCallback, Op: op,
				Message: fmt.Sprintf("%s: reading the io.Reader at %d", src.name, src.pos), Err: perr}
		}
		if extra {
			// Feed the extra byte too: the engine refuses the chunk and stops its stream.
			t.feedBuf[n] = 0
			ferr := t.feedBytes(t.feedBuf[:n+1])
			e := &Error{Status: ErrSizeMismatch, Op: op, Message: fmt.Sprintf(
				"%s: the io.Reader is too long: it has more than the %d declared bytes", src.name, src.size)}
			if ferr == nil { // cannot happen: a chunk past the declared size is refused
				e.Err = errors.New("the engine accepted an over-long chunk")
			}
			return e
		}
	}
	return t.feedBytes(buf[:n])
}

func (t *Tape) feedBytes(b []byte) error {
	return t.shared("Stream.Next", false, func(p *C.tt_tape) C.tt_status {
		// b is Go memory passed for the duration of the call; tt_feed copies it.
		return C.tt_feed(p, (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b)))
	})
}

// probe reads one byte to find out whether r has more.
func probe(r io.Reader) (bool, error) {
	var one [1]byte
	for range 100 { // io.Reader may return 0, nil; give up after many such reads
		n, err := r.Read(one[:])
		if n > 0 {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
	return false, io.ErrNoProgress
}

// moveTo brings the reader to content offset off: skipping forward, or seeking back.
func (s *memorySource) moveTo(off int64) error {
	if off == s.pos {
		return nil
	}
	if off > s.pos {
		n, err := io.CopyN(io.Discard, s.r, off-s.pos)
		s.pos += n
		if err != nil {
			return fmt.Errorf("%s: skipping to offset %d of the io.Reader: %w", s.name, off, err)
		}
		return nil
	}
	seeker, ok := s.r.(io.Seeker)
	if !ok {
		return fmt.Errorf("%s: the io.Reader was already read past offset %d by an earlier stream and is not an io.Seeker", s.name, off)
	}
	if _, err := seeker.Seek(off-s.pos, io.SeekCurrent); err != nil {
		return fmt.Errorf("%s: seeking the io.Reader back to offset %d: %w", s.name, off, err)
	}
	s.pos, s.eof = off, false
	return nil
}

// memorySourceAt finds the AddFromMemory reader of the entry at index.
func (t *Tape) memorySourceAt(index uint64) (*memorySource, error) {
	if src, ok := t.memory[index]; ok {
		return src, nil
	}
	return nil, newError(ErrState, "Stream.Next", fmt.Sprintf(
		"memory entry %d has no io.Reader (a memory entry of an opened catalog cannot be streamed)", index))
}
