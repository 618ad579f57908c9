package tartape

/*
#include <tartape.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"unsafe"
)

// EventType is what an Event is.
type EventType int

// The events of a stream. (The engine's NEED_DATA events are answered inside the package, from the
// io.Reader given to AddFromMemory.)
const (
	FileStart EventType = 1 // an entry begins
	Data      EventType = 2 // archive bytes
	FileEnd   EventType = 4 // an entry is done, with its MD5
	Completed EventType = 5 // the whole archive has been emitted
)

// The numbers above are the C API's: these lines do not compile if they differ.
var (
	_ [0]struct{} = [int(FileStart) - int(C.TT_EVENT_TYPE_FILE_START)]struct{}{}
	_ [0]struct{} = [int(Data) - int(C.TT_EVENT_TYPE_DATA)]struct{}{}
	_ [0]struct{} = [int(FileEnd) - int(C.TT_EVENT_TYPE_FILE_END)]struct{}{}
	_ [0]struct{} = [int(Completed) - int(C.TT_EVENT_TYPE_TAPE_COMPLETED)]struct{}{}
)

// String is the event type's Go name ("FileStart", ...).
func (e EventType) String() string {
	switch e {
	case FileStart:
		return "FileStart"
	case Data:
		return "Data"
	case FileEnd:
		return "FileEnd"
	case Completed:
		return "Completed"
	}
	return fmt.Sprintf("EventType(%d)", int(e))
}

// Event is one step of a stream. Fields that do not apply to its Type are zero.
type Event struct {
	Type EventType
	// Index is the entry's index in the layout (FileStart, Data, FileEnd); -1 for the trailer's Data
	// and for Completed.
	Index int
	// Name and Kind are the entry's (FileStart, FileEnd).
	Name string
	Kind EntryKind
	// Offset is an archive offset: the entry's header (FileStart), the bytes' first (Data), or the
	// entry's end (FileEnd).
	Offset int64
	// Size is the entry's content size (FileStart, FileEnd).
	Size int64
	// Data holds the archive bytes of a Data event. It is only valid until the next event of the
	// stream (the buffer is reused): copy it to keep it.
	Data []byte
	// MD5 is the content's MD5 (FileEnd) when HasMD5 is set: hashing is on (WithMD5) and the whole
	// content passed through this stream.
	MD5    [16]byte
	HasMD5 bool
	// SHA256 and CRC32C are the checksums recorded when the tape was sealed (FileEnd, when
	// HasSHA256 and HasCRC32C are set: WithChecksumSet), also for an entry the stream started
	// inside.
	SHA256    [32]byte
	HasSHA256 bool
	CRC32C    uint32
	HasCRC32C bool
	// Resumed is set on the FileStart of an entry the stream started inside.
	Resumed bool
}

// Stream emits a tape's archive as events, from any offset, reading every source in order and the
// AddFromMemory readers when it reaches them. A tape has one stream at a time: starting another
// (Stream, Events, WriteTo) ends this one, whose next call then fails with ErrState. Use one Stream
// from one goroutine at a time; ReadAt and NewReader may run alongside.
type Stream struct {
	t       *Tape
	gen     uint64
	done    bool
	err     error
	buf     []byte // the bytes of the last Data event
	pending []byte // Data bytes not yet returned by Read
}

// Stream starts a stream at archive byte offset (0 for the whole archive, at most Size), sealing
// the tape. The first Data event begins exactly at offset; no content before it is read.
func (t *Tape) Stream(offset int64) (*Stream, error) {
	if offset < 0 {
		return nil, newError(ErrInvalidArgument, "Stream", "negative offset")
	}
	if err := t.Seal(); err != nil {
		return nil, err
	}
	t.streamMu.Lock()
	defer t.streamMu.Unlock()
	if err := t.shared("Stream", false, func(p *C.tt_tape) C.tt_status {
		return C.tt_tape_start_at(p, C.uint64_t(offset))
	}); err != nil {
		return nil, err
	}
	t.streamGen++
	return &Stream{t: t, gen: t.streamGen}, nil
}

// Next returns the next event; io.EOF after Completed. An error ends the stream: later calls
// return it again.
func (s *Stream) Next() (Event, error) {
	if s.err != nil {
		return Event{}, s.err
	}
	ev, err := s.next()
	if err != nil {
		s.err = err
	}
	return ev, err
}

func (s *Stream) next() (Event, error) {
	t := s.t
	t.streamMu.Lock()
	defer t.streamMu.Unlock()
	if s.gen != t.streamGen {
		return Event{}, newError(ErrState, "Stream.Next", "another stream was started on this tape")
	}
	for {
		var ev Event
		var need [3]uint64 // NEED_DATA: index, content offset, bytes owed
		eof := false
		err := t.shared("Stream.Next", false, func(p *C.tt_tape) C.tt_status {
			var ce C.tt_event
			st := C.tt_next_event(p, &ce)
			switch {
			case st == C.TT_STATUS_EOF:
				eof = true
			case st == C.TT_STATUS_OK:
				// ce's name and data are borrowed from the tape: copy them while it is held.
				ev = s.convert(&ce, &need)
				if ev.Type == FileEnd {
					recordedSums(p, &ce, &ev)
				}
			}
			return st
		})
		switch {
		case err != nil:
			return Event{}, err
		case eof:
			return Event{}, io.EOF
		case ev.Type == C.TT_EVENT_TYPE_NEED_DATA:
			if err := t.feed(need[0], need[1], need[2]); err != nil {
				return Event{}, err
			}
			continue
		}
		return ev, nil
	}
}

// recordedSums copies into ev the SHA-256 and CRC-32C recorded for its entry, if any (asking does
// not touch the tape's message).
func recordedSums(p *C.tt_tape, ce *C.tt_event, ev *Event) {
	var buf [32]byte
	var n C.size_t
	if C.tt_tape_entry_checksum(p, ce.index, C.uint32_t(ChecksumSHA256), (*C.uint8_t)(&buf[0]), 32, &n) == C.TT_STATUS_OK && n == 32 {
		ev.SHA256, ev.HasSHA256 = buf, true
	}
	if C.tt_tape_entry_checksum(p, ce.index, C.uint32_t(ChecksumCRC32C), (*C.uint8_t)(&buf[0]), 32, &n) == C.TT_STATUS_OK && n == 4 {
		ev.CRC32C, ev.HasCRC32C = uint32(buf[0])<<24|uint32(buf[1])<<16|uint32(buf[2])<<8|uint32(buf[3]), true
	}
}

func (s *Stream) convert(ce *C.tt_event, need *[3]uint64) Event {
	ev := Event{Type: EventType(ce._type), Index: int(int64(ce.index)), Offset: int64(ce.offset)}
	if ce.index == C.UINT64_MAX {
		ev.Index = -1
	}
	switch ev.Type {
	case FileStart, FileEnd:
		ev.Name = C.GoStringN((*C.char)(unsafe.Pointer(ce.name)), C.int(ce.name_len))
		ev.Kind = EntryKind(ce.kind)
		ev.Size = int64(ce.size)
		ev.Resumed = ce.resumed != 0
		if ce.has_md5 != 0 {
			ev.HasMD5 = true
			ev.MD5 = *(*[16]byte)(unsafe.Pointer(&ce.md5[0]))
		}
	case Data:
		n := int(ce.data_len)
		if cap(s.buf) < n {
			s.buf = make([]byte, n)
		}
		s.buf = s.buf[:n]
		if n > 0 {
			copy(s.buf, unsafe.Slice((*byte)(unsafe.Pointer(ce.data)), n))
		}
		ev.Data = s.buf
	case C.TT_EVENT_TYPE_NEED_DATA:
		*need = [3]uint64{uint64(ce.index), uint64(ce.offset), uint64(ce.size)}
	}
	return ev
}

// Read makes the stream an io.Reader of its archive bytes (the other events are passed over). The
// engine builds the bytes in p itself (tt_read): headers and file content are not copied on the
// way. An entry added with AddFromMemory is fed from its reader when the stream reaches it.
func (s *Stream) Read(p []byte) (int, error) {
	if len(s.pending) > 0 {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		return n, nil
	}
	if s.err != nil {
		return 0, s.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, eof, err := s.read(p)
		switch {
		case eof:
			return 0, io.EOF
		case err == nil:
			return n, nil
		case !errors.Is(err, ErrState):
			s.err = err
			return 0, err
		}
		// STATE: the stream stands at an entry fed by push (or cannot go on): Next feeds it from
		// its reader and gives what follows, or the error.
		ev, err := s.Next()
		if err != nil {
			return 0, err
		}
		if ev.Type == Data {
			n := copy(p, ev.Data)
			s.pending = ev.Data[n:]
			return n, nil
		}
	}
}

// read is one tt_read into p; eof at the end of the archive.
func (s *Stream) read(p []byte) (int, bool, error) {
	t := s.t
	t.streamMu.Lock()
	defer t.streamMu.Unlock()
	if s.gen != t.streamGen {
		return 0, false, newError(ErrState, "Stream.Read", "another stream was started on this tape")
	}
	var n C.size_t
	eof := false
	err := t.shared("Stream.Read", false, func(tp *C.tt_tape) C.tt_status {
		// p holds no Go pointers, so C may write into it for the length of the call.
		st := C.tt_read(tp, (*C.uint8_t)(unsafe.Pointer(&p[0])), C.size_t(len(p)), &n)
		if st == C.TT_STATUS_EOF {
			eof = true
			return C.TT_STATUS_OK
		}
		return st
	})
	return int(n), eof, err
}

// WriteTo writes the rest of the stream's archive bytes to w (io.WriterTo), read by the engine
// into one 1 MiB buffer at a time.
func (s *Stream) WriteTo(w io.Writer) (int64, error) {
	var total int64
	buf := make([]byte, 1<<20)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Events streams the archive from offset as a range-over-func iterator. A failure is yielded once,
// as the last pair, with a zero Event; the iteration ends after Completed.
//
//	for ev, err := range tape.Events(0) {
//		if err != nil { ... }
//		if ev.Type == tartape.FileEnd { fmt.Printf("%s %x\n", ev.Name, ev.MD5) }
//	}
func (t *Tape) Events(offset int64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		s, err := t.Stream(offset)
		if err != nil {
			yield(Event{}, err)
			return
		}
		for {
			ev, err := s.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(Event{}, err)
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// WriteTo writes the whole archive to w with a new stream (io.WriterTo). Unlike ReadAt, it also
// reads AddFromMemory entries.
func (t *Tape) WriteTo(w io.Writer) (int64, error) {
	s, err := t.Stream(0)
	if err != nil {
		return 0, err
	}
	return s.WriteTo(w)
}
