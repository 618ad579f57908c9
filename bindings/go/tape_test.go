package tartape

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestVersionMatchesCargoToml(t *testing.T) {
	cargo, err := os.ReadFile("../../Cargo.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^version = "(.*)"`).FindSubmatch(cargo)
	if m == nil || Version() != string(m[1]) {
		t.Fatalf("Version() = %q, Cargo.toml has %q", Version(), m)
	}
}

func TestAddPathDirectoryIsReadByArchiveTar(t *testing.T) {
	root := makeTree(t)
	tape := newTape(t)
	if err := tape.AddPath(root, ""); err != nil {
		t.Fatal(err)
	}
	names, members := readTar(t, whole(t, tape))
	want := []string{"site/", "site/css/", "site/css/style.css", "site/empty.txt", "site/home.html",
		"site/img/", "site/img/big.bin", "site/img/deep/", "site/img/deep/note.txt", "site/index.html"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("names\n got %q\nwant %q", names, want)
	}
	for _, name := range want {
		m := members[name]
		switch {
		case strings.HasSuffix(name, "/"):
			if m.hdr.Typeflag != '5' {
				t.Errorf("%s: type %c", name, m.hdr.Typeflag)
			}
		case name == "site/home.html":
			if m.hdr.Linkname != "index.html" {
				t.Errorf("symlink target %q", m.hdr.Linkname)
			}
		default:
			disk, err := os.ReadFile(filepath.Join(filepath.Dir(root), name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.data, disk) || m.hdr.Size != int64(len(disk)) {
				t.Errorf("%s: %d bytes in the archive, %d on disk", name, len(m.data), len(disk))
			}
			if m.hdr.Uid != 0 || m.hdr.Uname != "" {
				t.Errorf("%s: owner %d %q without WithKeepOwners", name, m.hdr.Uid, m.hdr.Uname)
			}
		}
	}
}

func TestAddPathUsesTheGivenName(t *testing.T) {
	root := makeTree(t)
	tape := newTape(t)
	if err := tape.AddPath(filepath.Join(root, "index.html"), "www/start.html"); err != nil {
		t.Fatal(err)
	}
	names, members := readTar(t, whole(t, tape))
	if len(names) != 1 || names[0] != "www/start.html" || string(members[names[0]].data) != "<h1>hello</h1>\n" {
		t.Fatalf("got %q", names)
	}
}

func TestMemoryEntriesKeepTheirMetadata(t *testing.T) {
	tape := newTape(t)
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	must(t, tape.AddDirectory("d", WithModTime(mtime)))
	must(t, tape.AddBytes("d/a.txt", []byte("alpha"), WithMode(0o600), WithModTime(mtime)))
	must(t, tape.AddBytes("d/empty", nil))
	must(t, tape.AddSymlink("d/link", "a.txt", WithModTime(mtime)))
	names, members := readTar(t, whole(t, tape))
	if strings.Join(names, ",") != "d/,d/a.txt,d/empty,d/link" {
		t.Fatalf("names %q", names)
	}
	a := members["d/a.txt"]
	if string(a.data) != "alpha" || a.hdr.Mode != 0o600 || !a.hdr.ModTime.Equal(mtime) {
		t.Errorf("d/a.txt: %q mode %o mtime %v", a.data, a.hdr.Mode, a.hdr.ModTime)
	}
	if d := members["d/"]; d.hdr.Mode != 0o755 || !d.hdr.ModTime.Equal(mtime) {
		t.Errorf("d/: mode %o mtime %v", d.hdr.Mode, d.hdr.ModTime)
	}
	if e := members["d/empty"]; e.hdr.Mode != 0o644 || e.hdr.ModTime.Unix() != 0 {
		t.Errorf("defaults: mode %o mtime %v", e.hdr.Mode, e.hdr.ModTime)
	}
	if l := members["d/link"]; l.hdr.Linkname != "a.txt" {
		t.Errorf("link %q", l.hdr.Linkname)
	}
}

func TestEntriesDescribeTheLayout(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddDirectory("d"))
	must(t, tape.AddBytes("d/a", []byte("12345"), WithMode(0o640)))
	must(t, tape.AddFromMemory("d/m", 3, strings.NewReader("xyz")))
	must(t, tape.AddSymlink("d/l", "a"))
	entries, err := tape.Entries()
	must(t, err)
	size, err := tape.Size()
	must(t, err)
	if len(entries) != 4 {
		t.Fatalf("%d entries", len(entries))
	}
	a := entries[1]
	if a.Name != "d/a" || a.Kind != KindFile || a.Size != 5 || a.Mode != 0o640 || !a.RandomAccess ||
		a.HeaderOffset != entries[0].EndOffset || a.DataOffset != a.HeaderOffset+512 || a.EndOffset != a.DataOffset+512 {
		t.Errorf("entry %+v", a)
	}
	if entries[0].Kind != KindDir || entries[2].RandomAccess || entries[3].Kind != KindSymlink || entries[3].Link != "a" {
		t.Errorf("entries %+v", entries)
	}
	if size != entries[3].EndOffset+1024 {
		t.Errorf("size %d, last entry ends at %d", size, entries[3].EndOffset)
	}
	if got := whole(t, tape); int64(len(got)) != size {
		t.Errorf("WriteTo wrote %d bytes, Size says %d", len(got), size)
	}
}

func TestWriteToEqualsReadAtOfTheWholeArchive(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddPath(makeTree(t), ""))
	streamed := whole(t, tape)
	size, err := tape.Size()
	must(t, err)
	buf := make([]byte, size+100)
	n, err := tape.ReadAt(buf, 0)
	if err != io.EOF || int64(n) != size {
		t.Fatalf("ReadAt past the end: %d, %v", n, err)
	}
	if !bytes.Equal(buf[:n], streamed) {
		t.Fatal("ReadAt and WriteTo differ")
	}
	if n, err := tape.ReadAt(buf[:10], size); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt at the end: %d, %v", n, err)
	}
	if n, err := tape.ReadAt(buf[:10], size-10); n != 10 || err != nil {
		t.Fatalf("ReadAt of the last bytes: %d, %v", n, err)
	}
	if _, err := tape.ReadAt(buf, -1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("negative offset: %v", err)
	}
}

func TestNewReaderAtAnyOffsetEqualsTheSuffix(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddPath(makeTree(t), ""))
	full := whole(t, tape)
	size := int64(len(full))
	for _, off := range []int64{0, 1, 511, 512, 513, 1000, 4096, size / 3, size / 2, size - 1025, size - 1024, size - 1, size} {
		got, err := io.ReadAll(tape.NewReader(off))
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		if !bytes.Equal(got, full[off:]) {
			t.Fatalf("offset %d: %d bytes differ from the %d-byte suffix", off, len(got), size-off)
		}
	}
}

func TestReadAtFromEightGoroutines(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddPath(makeTree(t), ""))
	full := whole(t, tape)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			buf := make([]byte, 777+g*100)
			for off := int64(g * 13); off < int64(len(full)); off += int64(len(buf)) / 2 {
				n, err := tape.ReadAt(buf, off)
				if err != nil && err != io.EOF {
					errs <- err
					return
				}
				if !bytes.Equal(buf[:n], full[off:off+int64(n)]) {
					errs <- errors.New("bytes differ")
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadAtRunsWhileAStreamRuns(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddPath(makeTree(t), ""))
	full := whole(t, tape)
	done := make(chan []byte)
	stream := mustStream(t, tape, 0)
	go func() { got, _ := io.ReadAll(stream); done <- got }()
	for off := int64(0); off < int64(len(full)); off += 4096 {
		got, err := io.ReadAll(io.LimitReader(tape.NewReader(off), 4096))
		if err != nil || !bytes.Equal(got, full[off:min(off+4096, int64(len(full)))]) {
			t.Fatalf("offset %d: %v", off, err)
		}
	}
	if got := <-done; !bytes.Equal(got, full) {
		t.Fatal("the stream read alongside differs")
	}
}

func TestChangedFileIsErrChanged(t *testing.T) {
	root := makeTree(t)
	tape := newTape(t)
	must(t, tape.AddPath(root, ""))
	must(t, tape.Seal())
	must(t, os.WriteFile(filepath.Join(root, "index.html"), []byte("<h1>changed, and longer</h1>\n"), 0o644))
	_, err := io.ReadAll(tape.NewReader(0))
	if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "site/index.html") {
		t.Fatalf("ReadAt: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != ErrChanged || !e.Status.Fatal() || e.Op != "ReadAt" {
		t.Fatalf("error %#v", err)
	}
	_, err = tape.WriteTo(io.Discard)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("WriteTo: %v", err)
	}
}

func TestRefusedNamesAreErrInvalidName(t *testing.T) {
	tape := newTape(t)
	for _, name := range []string{"/etc/passwd", "a/../../b", "", "nul\x00byte"} {
		err := tape.AddBytes(name, []byte("x"))
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q: %v", name, err)
		}
	}
	must(t, tape.AddBytes("twice", nil))
	must(t, tape.AddBytes("twice", nil))
	err := tape.Seal()
	if !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate: %v", err)
	}
}

func TestAddingAfterSealingIsErrState(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddBytes("a", []byte("a")))
	must(t, tape.Seal())
	must(t, tape.Seal())
	err := tape.AddBytes("b", nil)
	var e *Error
	if !errors.Is(err, ErrState) || !errors.As(err, &e) || e.Message == "" || e.Status.Fatal() {
		t.Fatalf("%v", err)
	}
}

func TestMissingPathIsAnError(t *testing.T) {
	tape := newTape(t)
	err := tape.AddPath(filepath.Join(t.TempDir(), "nope"), "")
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("%v", err)
	}
}

func TestSpecialFilesAreSkippedOrUnsupportedWhenStrict(t *testing.T) {
	root := t.TempDir()
	must(t, os.WriteFile(filepath.Join(root, "f"), []byte("f"), 0o644))
	if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	tape := newTape(t)
	must(t, tape.AddPath(root, "r"))
	skipped, err := tape.Skipped()
	must(t, err)
	if len(skipped) != 1 || skipped[0].Kind != "fifo" || filepath.Base(skipped[0].Path) != "pipe" {
		t.Fatalf("skipped %+v", skipped)
	}
	names, _ := readTar(t, whole(t, tape))
	if strings.Join(names, ",") != "r/,r/f" {
		t.Fatalf("names %q", names)
	}
	strict := newTape(t, WithStrict(true))
	if err := strict.AddPath(root, "r"); !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("strict: %v", err)
	}
}

func TestKeepOwnersRecordsTheRealOwner(t *testing.T) {
	root := makeTree(t)
	tape := newTape(t, WithKeepOwners(true))
	must(t, tape.AddPath(filepath.Join(root, "index.html"), ""))
	_, members := readTar(t, whole(t, tape))
	if got := members["index.html"].hdr.Uid; got != os.Getuid() {
		t.Fatalf("uid %d, want %d", got, os.Getuid())
	}
}

func TestClosedTapeIsErrState(t *testing.T) {
	tape, err := New()
	must(t, err)
	must(t, tape.AddBytes("a", []byte("a")))
	must(t, tape.Close())
	must(t, tape.Close())
	if err := tape.AddBytes("b", nil); !errors.Is(err, ErrState) {
		t.Fatalf("AddBytes: %v", err)
	}
	if _, err := tape.ReadAt(make([]byte, 10), 0); !errors.Is(err, ErrState) {
		t.Fatalf("ReadAt: %v", err)
	}
	if _, err := tape.WriteTo(io.Discard); !errors.Is(err, ErrState) {
		t.Fatalf("WriteTo: %v", err)
	}
}

func TestForgottenTapesAreFreedByTheFinalizer(t *testing.T) {
	before := liveReaderAts.Load()
	for range 20 {
		tape, err := New()
		must(t, err)
		must(t, tape.AddReaderAt("r", 3, strings.NewReader("abc")))
	}
	for i := 0; i < 50 && liveReaderAts.Load() > before; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if live := liveReaderAts.Load(); live > before {
		t.Fatalf("%d read-at handles still live", live-before)
	}
}

func TestStatusNamesAndStandardErrors(t *testing.T) {
	if ErrChanged.String() != "CHANGED" || ErrSizeMismatch.Error() != "tartape: SIZE_MISMATCH" || Status(77).String() != "UNKNOWN" {
		t.Fatal(ErrChanged.String(), ErrSizeMismatch.Error(), Status(77).String())
	}
	if !errors.Is(&Error{Status: ErrNotFound}, fs.ErrNotExist) || errors.Is(&Error{Status: ErrIO}, ErrChanged) {
		t.Fatal("errors.Is")
	}
	for _, s := range []Status{ErrInvalidArgument, ErrInvalidName, ErrState, ErrNotFound, ErrUnsupported, ErrNotRandomAccess} {
		if s.Fatal() {
			t.Errorf("%v is fatal", s)
		}
	}
	for _, s := range []Status{ErrIO, ErrChanged, ErrSizeMismatch, ErrCorrupt, ErrLimit, ErrCallback, ErrPanic} {
		if !s.Fatal() {
			t.Errorf("%v is not fatal", s)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustStream(t testing.TB, tape *Tape, off int64) *Stream {
	t.Helper()
	s, err := tape.Stream(off)
	must(t, err)
	return s
}

func TestAlignAndCopyIntoGiveTheArchiveWithAlignedContent(t *testing.T) {
	dir := makeTree(t)
	tape, err := New(WithAlign(4096))
	must(t, err)
	defer tape.Close()
	must(t, tape.AddPath(dir, ""))
	archive := whole(t, tape)
	r := tar.NewReader(bytes.NewReader(archive))
	files := 0
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		if h.Typeflag == tar.TypeReg && h.Size > 0 {
			files++
		}
	}
	if files == 0 {
		t.Fatal("no files")
	}
	entries, err := tape.Entries()
	must(t, err)
	for _, e := range entries {
		if e.Kind == KindFile && e.Size > 0 && e.DataOffset%4096 != 0 {
			t.Fatalf("%s: content at %d", e.Name, e.DataOffset)
		}
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "copied.tar"))
	must(t, err)
	defer f.Close()
	if _, err := tape.CopyInto(f); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	must(t, err)
	if !bytes.Equal(got, archive) {
		t.Fatal("CopyInto wrote other bytes than the archive")
	}
	if _, err := New(WithAlign(1000)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("WithAlign(1000): %v", err)
	}
}
