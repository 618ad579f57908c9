package tartape

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// generated is an io.ReaderAt whose byte i is (i*7) mod 251.
type generated int64

func (g generated) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(g) {
		return 0, io.EOF
	}
	n := min(int64(len(p)), int64(g)-off)
	for i := range n {
		p[i] = byte((off + i) * 7 % 251)
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

func TestAddReaderAtIsReadThroughTheCallback(t *testing.T) {
	before := liveReaderAts.Load()
	tape, err := New()
	must(t, err)
	must(t, tape.AddReaderAt("gen.bin", 100_000, generated(100_000)))
	must(t, tape.AddReaderAt("small", 3, strings.NewReader("abc"), WithMode(0o600)))
	full := whole(t, tape)
	_, members := readTar(t, full)
	want := make([]byte, 100_000)
	generated(100_000).ReadAt(want, 0)
	if !bytes.Equal(members["gen.bin"].data, want) || string(members["small"].data) != "abc" || members["small"].hdr.Mode != 0o600 {
		t.Fatal("contents differ")
	}
	// Random access through the callback, from several goroutines.
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			buf := make([]byte, 1000)
			off := int64(g * 9000)
			_, err := tape.ReadAt(buf, off)
			if err == nil && !bytes.Equal(buf, full[off:off+1000]) {
				err = errors.New("bytes differ")
			}
			errs <- err
		}()
	}
	for range 8 {
		must(t, <-errs)
	}
	if live := liveReaderAts.Load() - before; live != 2 {
		t.Fatalf("%d live handles before Close", live)
	}
	must(t, tape.Close())
	if live := liveReaderAts.Load() - before; live != 0 {
		t.Fatalf("%d live handles after Close", live)
	}
}

type failingReaderAt struct{ err error }

func (f failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, f.err }

type panickingReaderAt struct{}

func (panickingReaderAt) ReadAt([]byte, int64) (int, error) { panic("oops") }

func TestAddReaderAtErrorIsErrCallbackWrappingIt(t *testing.T) {
	boom := errors.New("boom")
	tape := newTape(t)
	must(t, tape.AddReaderAt("bad", 10, failingReaderAt{boom}))
	_, err := tape.ReadAt(make([]byte, 2048), 0)
	if !errors.Is(err, ErrCallback) || !errors.Is(err, boom) {
		t.Fatalf("ReadAt: %v", err)
	}
	_, err = tape.WriteTo(io.Discard)
	if !errors.Is(err, ErrCallback) || !errors.Is(err, boom) {
		t.Fatalf("WriteTo: %v", err)
	}
}

func TestAddReaderAtPanicIsErrCallback(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddReaderAt("bad", 10, panickingReaderAt{}))
	_, err := tape.ReadAt(make([]byte, 2048), 0)
	if !errors.Is(err, ErrCallback) || !strings.Contains(err.Error(), "oops") {
		t.Fatalf("%v", err)
	}
}

func TestAddReaderAtShortSourceIsAnError(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddReaderAt("short", 100, strings.NewReader("abc")))
	if _, err := tape.WriteTo(io.Discard); err == nil || !errors.Is(err, err.(*Error).Status) || !err.(*Error).Status.Fatal() {
		t.Fatalf("%v", err)
	}
}

func TestAddReaderAtOnAClosedTapeFreesItsHandle(t *testing.T) {
	before := liveReaderAts.Load()
	tape, err := New()
	must(t, err)
	tape.Close()
	if err := tape.AddReaderAt("x", 1, strings.NewReader("x")); !errors.Is(err, ErrState) {
		t.Fatal(err)
	}
	tape2 := newTape(t)
	if err := tape2.AddReaderAt("/abs", 1, strings.NewReader("x")); !errors.Is(err, ErrInvalidName) {
		t.Fatal(err)
	}
	if live := liveReaderAts.Load() - before; live != 0 {
		t.Fatalf("%d live handles", live)
	}
}
