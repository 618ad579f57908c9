package tartape

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestAddFromMemoryIsReadWhenTheStreamReachesIt(t *testing.T) {
	tape := newTape(t)
	content := pattern(1 << 20) // several feed chunks
	must(t, tape.AddBytes("before", []byte("b")))
	// iotest.HalfReader gives short reads: the feeding must gather them.
	must(t, tape.AddFromMemory("mem/data.bin", int64(len(content)), iotest.HalfReader(bytes.NewReader(content))))
	must(t, tape.AddFromMemory("mem/empty", 0, strings.NewReader("")))
	must(t, tape.AddBytes("after", []byte("a")))
	names, members := readTar(t, whole(t, tape))
	if strings.Join(names, ",") != "before,mem/data.bin,mem/empty,after" {
		t.Fatalf("names %q", names)
	}
	if !bytes.Equal(members["mem/data.bin"].data, content) {
		t.Fatal("content differs")
	}
}

func TestAddFromMemoryShortReaderIsErrSizeMismatch(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddFromMemory("short", 1000, strings.NewReader("only this")))
	_, err := tape.WriteTo(io.Discard)
	if !errors.Is(err, ErrSizeMismatch) || !strings.Contains(err.Error(), "short") {
		t.Fatalf("%v", err)
	}
}

func TestAddFromMemoryLongReaderIsErrSizeMismatch(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddFromMemory("long", 5, strings.NewReader("more than five")))
	_, err := tape.WriteTo(io.Discard)
	if !errors.Is(err, ErrSizeMismatch) || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("%v", err)
	}
}

func TestAddFromMemoryReaderErrorIsErrCallback(t *testing.T) {
	boom := errors.New("boom")
	tape := newTape(t)
	must(t, tape.AddFromMemory("bad", 100, iotest.ErrReader(boom)))
	_, err := tape.WriteTo(io.Discard)
	if !errors.Is(err, ErrCallback) || !errors.Is(err, boom) {
		t.Fatalf("%v", err)
	}
}

func TestAddFromMemoryIsNotRandomAccess(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddBytes("a", []byte("a")))
	must(t, tape.AddFromMemory("m", 10, strings.NewReader("0123456789")))
	buf := make([]byte, 512)
	if _, err := tape.ReadAt(buf, 0); err != nil { // the first header and content are fine
		t.Fatal(err)
	}
	if _, err := tape.ReadAt(buf, 1536); !errors.Is(err, ErrNotRandomAccess) {
		t.Fatalf("%v", err)
	}
}

func TestAddFromMemoryResumesInsideByDiscarding(t *testing.T) {
	content := pattern(10_000)
	full := func() []byte {
		tape := newTape(t)
		must(t, tape.AddFromMemory("m", int64(len(content)), bytes.NewReader(content)))
		return whole(t, tape)
	}()
	tape := newTape(t)
	// Not a Seeker: the bytes before the offset are read and dropped.
	must(t, tape.AddFromMemory("m", int64(len(content)), io.MultiReader(bytes.NewReader(content))))
	s := mustStream(t, tape, 4000)
	got, err := io.ReadAll(s)
	must(t, err)
	if !bytes.Equal(got, full[4000:]) {
		t.Fatal("resumed stream differs from the suffix")
	}
	// A second whole stream needs the content again: without io.Seeker that is ErrState.
	if _, err := tape.WriteTo(io.Discard); !errors.Is(err, ErrState) {
		t.Fatalf("second stream: %v", err)
	}
}

func TestAddFromMemorySeeksBackForASecondStream(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddFromMemory("m", 5, strings.NewReader("hello")))
	first, second := whole(t, tape), whole(t, tape)
	if !bytes.Equal(first, second) {
		t.Fatal("second stream differs")
	}
}

func TestConcurrentFailingReadAtsEachGetTheirStatusAndMessage(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddBytes("a", pattern(4096)))
	must(t, tape.AddFromMemory("m", 10, strings.NewReader("0123456789")))
	must(t, tape.AddBytes("z", pattern(4096)))
	entries, err := tape.Entries()
	must(t, err)
	memory := entries[1].HeaderOffset
	errs := make(chan error, 16)
	for g := range 16 {
		go func() {
			buf := make([]byte, 600)
			for range 50 {
				if g%2 == 0 { // overlaps the memory entry: fails
					_, err := tape.ReadAt(buf, memory)
					var e *Error
					if !errors.As(err, &e) || e.Status != ErrNotRandomAccess || !strings.Contains(e.Message, "m") {
						errs <- err
						return
					}
				} else if _, err := tape.ReadAt(buf, 0); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 16 {
		must(t, <-errs)
	}
}
