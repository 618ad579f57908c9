package tartape

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestEventsFollowEachEntryWithItsMD5(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddDirectory("d"))
	must(t, tape.AddBytes("d/a", []byte("alpha")))
	must(t, tape.AddBytes("d/big", pattern(3<<20)))
	var archive bytes.Buffer
	var trace []string
	sums := map[string][16]byte{}
	for ev, err := range tape.Events(0) {
		must(t, err)
		switch ev.Type {
		case Data:
			if ev.Offset != int64(archive.Len()) {
				t.Fatalf("Data at %d after %d bytes", ev.Offset, archive.Len())
			}
			archive.Write(ev.Data)
			continue
		case FileEnd:
			if ev.HasMD5 != (ev.Kind == KindFile) {
				t.Fatalf("%s: no MD5", ev.Name)
			}
			sums[ev.Name] = ev.MD5
		}
		trace = append(trace, ev.Type.String()+" "+ev.Name)
	}
	want := "FileStart d,FileEnd d,FileStart d/a,FileEnd d/a,FileStart d/big,FileEnd d/big,Completed "
	if strings.Join(trace, ",") != want {
		t.Fatalf("events\n got %s\nwant %s", strings.Join(trace, ","), want)
	}
	if sums["d/a"] != md5.Sum([]byte("alpha")) || sums["d/big"] != md5.Sum(pattern(3<<20)) {
		t.Fatal("MD5 differs")
	}
	_, members := readTar(t, archive.Bytes())
	if !bytes.Equal(members["d/big"].data, pattern(3<<20)) {
		t.Fatal("content differs")
	}
}

func TestEventsFromAnOffsetAreTheSuffixAndMarkTheResumedEntry(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddBytes("a", pattern(5000)))
	must(t, tape.AddBytes("b", pattern(700)))
	full := whole(t, tape)
	for _, off := range []int64{0, 100, 512, 3000, 5632, int64(len(full)) - 1, int64(len(full))} {
		var got []byte
		var resumed []string
		completed := false
		for ev, err := range tape.Events(off) {
			must(t, err)
			switch ev.Type {
			case Data:
				got = append(got, ev.Data...)
			case FileStart:
				if ev.Resumed {
					resumed = append(resumed, ev.Name)
				}
			case Completed:
				completed = true
			}
		}
		if !bytes.Equal(got, full[off:]) || !completed {
			t.Fatalf("offset %d: %d bytes, completed %v", off, len(got), completed)
		}
		if off == 3000 && strings.Join(resumed, ",") != "a" {
			t.Fatalf("offset 3000: resumed %q", resumed)
		}
	}
}

func TestWithMD5FalseLeavesFileEndWithoutMD5(t *testing.T) {
	tape := newTape(t, WithMD5(false))
	must(t, tape.AddBytes("a", []byte("alpha")))
	for ev, err := range tape.Events(0) {
		must(t, err)
		if ev.Type == FileEnd && ev.HasMD5 {
			t.Fatal("MD5 with hashing off")
		}
	}
}

func TestStreamIsAReaderAndStopsAtEOF(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddBytes("a", pattern(100_000)))
	full := whole(t, tape)
	s := mustStream(t, tape, 10)
	got, err := io.ReadAll(io.LimitReader(s, 1000))
	must(t, err)
	var rest bytes.Buffer
	_, err = s.WriteTo(&rest)
	must(t, err)
	if !bytes.Equal(append(got, rest.Bytes()...), full[10:]) {
		t.Fatal("Read then WriteTo differ from the suffix")
	}
	if _, err := s.Next(); err != io.EOF {
		t.Fatalf("after the end: %v", err)
	}
}

func TestStartingAStreamEndsThePreviousOne(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddBytes("a", []byte("alpha")))
	first := mustStream(t, tape, 0)
	_, err := first.Next()
	must(t, err)
	second := mustStream(t, tape, 0)
	if _, err := first.Next(); !errors.Is(err, ErrState) {
		t.Fatalf("first stream: %v", err)
	}
	if _, err := io.Copy(io.Discard, second); err != nil {
		t.Fatal(err)
	}
}

func TestBreakingOutOfEventsIsFine(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddBytes("a", []byte("alpha")))
	for ev, err := range tape.Events(0) {
		must(t, err)
		if ev.Type == FileStart {
			break
		}
	}
	if n := len(whole(t, tape)); n != 2048 {
		t.Fatalf("%d bytes", n)
	}
}

func TestNegativeStreamOffsetIsErrInvalidArgument(t *testing.T) {
	tape := newTape(t)
	if _, err := tape.Stream(-1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	size, _ := tape.Size()
	if _, err := tape.Stream(size + 1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("past the end: %v", err)
	}
}

func TestReadBuildsTheArchiveInPAcrossEntriesAndFeedsMemoryEntries(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddDirectory("d"))
	for i := 0; i < 50; i++ {
		must(t, tape.AddBytes(fmt.Sprintf("d/f%02d", i), pattern(i*97)))
	}
	must(t, tape.AddFromMemory("d/pushed", 300_000, bytes.NewReader(pattern(300_000))))
	must(t, tape.AddBytes("d/z", pattern(5000)))
	var events []byte
	for ev, err := range tape.Events(0) {
		must(t, err)
		if ev.Type == Data {
			events = append(events, ev.Data...)
		}
	}
	for _, size := range []int{1, 511, 4096, 70_000, 1 << 20} {
		// A new stream each time: the memory entry's reader is read again from its start.
		s := mustStream(t, tape, 0)
		buf := make([]byte, size)
		var got []byte
		for {
			n, err := s.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			must(t, err)
		}
		if !bytes.Equal(got, events) {
			t.Fatalf("buffer %d: %d bytes read, %d from the events", size, len(got), len(events))
		}
	}
}
