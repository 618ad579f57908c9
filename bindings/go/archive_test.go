package tartape

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// corpora is the shared folder of third-party archives; tests that use it skip without it.
const corpora = "/work/shared/corpora"

func corpus(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(corpora, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("corpus file %s not available: %v", p, err)
	}
	return p
}

// zipMember is what archive/zip found for one entry.
type zipMember struct {
	hdr  *zip.FileHeader
	data []byte
}

// readZip reads an archive with archive/zip, failing the test on any error.
func readZip(t testing.TB, archive []byte) (names []string, members map[string]zipMember) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatalf("archive/zip: %v", err)
	}
	members = map[string]zipMember{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("archive/zip opening %s: %v", f.Name, err)
		}
		data, err := io.ReadAll(rc) // checks the CRC-32
		rc.Close()
		if err != nil {
			t.Fatalf("archive/zip reading %s: %v", f.Name, err)
		}
		names = append(names, f.Name)
		members[f.Name] = zipMember{&f.FileHeader, data}
	}
	return names, members
}

// treeTape builds a tape of makeTree's tree (named "site") plus a memory-free extra file.
func treeTape(t testing.TB, opts ...Option) *Tape {
	t.Helper()
	tape := newTape(t, opts...)
	must(t, tape.AddPath(makeTree(t), "site"))
	must(t, tape.AddBytes("site/secret.txt", []byte("s3cret\n"), WithMode(0o600), WithModTime(time.Unix(1_700_000_000, 0))))
	return tape
}

// readMember reads the whole content of member index.
func readMember(t testing.TB, a *Archive, index int) []byte {
	t.Helper()
	m, err := a.Open(index)
	if err != nil {
		t.Fatalf("Open(%d): %v", index, err)
	}
	defer m.Close()
	data, err := io.ReadAll(m)
	if err != nil {
		t.Fatalf("reading member %d: %v", index, err)
	}
	return data
}

func TestZipOutputIsReadByArchiveZip(t *testing.T) {
	tape := treeTape(t, WithFormat(FormatZip))
	archive := whole(t, tape)
	size, err := tape.Size()
	must(t, err)
	if size != int64(len(archive)) {
		t.Fatalf("Size %d, archive %d bytes", size, len(archive))
	}
	back := make([]byte, len(archive))
	if n, err := tape.ReadAt(back, 0); n != len(archive) || (err != nil && err != io.EOF) || !bytes.Equal(back, archive) {
		t.Fatalf("ReadAt of the whole ZIP: %d, %v, equal %v", n, err, bytes.Equal(back, archive))
	}
	names, members := readZip(t, archive)
	want := []string{"site/", "site/css/", "site/css/style.css", "site/empty.txt", "site/home.html",
		"site/img/", "site/img/big.bin", "site/img/deep/", "site/img/deep/note.txt", "site/index.html", "site/secret.txt"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("names\n got %q\nwant %q", names, want)
	}
	if got := members["site/img/big.bin"].data; !bytes.Equal(got, pattern(300_000)) {
		t.Fatalf("big.bin: %d bytes, not the pattern", len(got))
	}
	if got := string(members["site/index.html"].data); got != "<h1>hello</h1>\n" {
		t.Fatalf("index.html: %q", got)
	}
	if m := members["site/secret.txt"]; m.hdr.Mode() != 0o600 || !m.hdr.Modified.Equal(time.Unix(1_700_000_000, 0)) {
		t.Fatalf("secret.txt: mode %v, mtime %v", m.hdr.Mode(), m.hdr.Modified)
	}
	if m := members["site/css/"]; !m.hdr.Mode().IsDir() || m.hdr.Mode().Perm() != 0o755 {
		t.Fatalf("css/: mode %v", m.hdr.Mode())
	}
	if m := members["site/home.html"]; m.hdr.Mode()&fs.ModeSymlink == 0 || string(m.data) != "index.html" {
		t.Fatalf("home.html: mode %v, target %q", m.hdr.Mode(), m.data)
	}
	for name, m := range members {
		if m.hdr.Method != zip.Store {
			t.Fatalf("%s: method %d in a stored ZIP", name, m.hdr.Method)
		}
	}
}

func TestDeflatedZipIsDeterministicAndStreamOnly(t *testing.T) {
	build := func() *Tape {
		tape := newTape(t, WithFormat(FormatZip), WithDeflate(6))
		must(t, tape.AddBytes("a/text.txt", bytes.Repeat([]byte("tartape deflate "), 10_000)))
		must(t, tape.AddBytes("a/pattern.bin", pattern(200_000)))
		must(t, tape.AddBytes("a/empty", nil))
		must(t, tape.AddDirectory("a/dir"))
		return tape
	}
	first, second := whole(t, build()), whole(t, build())
	if !bytes.Equal(first, second) {
		t.Fatal("two deflated tapes of the same input differ")
	}
	tape := build()
	if again := whole(t, tape); !bytes.Equal(again, first) {
		t.Fatal("a third tape differs")
	}
	if again := whole(t, tape); !bytes.Equal(again, first) {
		t.Fatal("streaming the same tape twice differs")
	}
	if len(first) > 250_000 {
		t.Fatalf("deflated archive is %d bytes: the text did not shrink", len(first))
	}
	_, members := readZip(t, first)
	if m := members["a/text.txt"]; m.hdr.Method != zip.Deflate || !bytes.Equal(m.data, bytes.Repeat([]byte("tartape deflate "), 10_000)) {
		t.Fatalf("text.txt: method %d, %d bytes", m.hdr.Method, len(m.data))
	}
	if !bytes.Equal(members["a/pattern.bin"].data, pattern(200_000)) {
		t.Fatal("pattern.bin differs")
	}
	stored := newTape(t, WithFormat(FormatZip), WithDeflate(0))
	must(t, stored.AddBytes("x", []byte("x")))
	level9 := newTape(t, WithFormat(FormatZip), WithDeflate(9))
	must(t, level9.AddBytes("x", []byte("x")))
	if bytes.Equal(whole(t, stored), whole(t, level9)) {
		t.Fatal("level 0 and level 9 give the same bytes")
	}

	// Stream-only: the size and random reads are ErrNotRandomAccess, the stream from 0 works.
	if _, err := tape.Size(); !errors.Is(err, ErrNotRandomAccess) {
		t.Fatalf("Size: %v, want ErrNotRandomAccess", err)
	}
	if _, err := tape.ReadAt(make([]byte, 10), 0); !errors.Is(err, ErrNotRandomAccess) {
		t.Fatalf("ReadAt: %v, want ErrNotRandomAccess", err)
	}
	if _, err := io.ReadAll(tape.NewReader(0)); !errors.Is(err, ErrNotRandomAccess) {
		t.Fatalf("NewReader: %v, want ErrNotRandomAccess", err)
	}
	if _, err := tape.Stream(100); !errors.Is(err, ErrNotRandomAccess) {
		t.Fatalf("Stream(100): %v, want ErrNotRandomAccess", err)
	}
	s := mustStream(t, tape, 0)
	streamed, err := io.ReadAll(s)
	must(t, err)
	if !bytes.Equal(streamed, first) {
		t.Fatal("Stream(0) differs from WriteTo")
	}
	var e *Error
	if _, err := New(WithFormat(FormatZip), WithDeflate(10)); !errors.As(err, &e) || e.Status != ErrInvalidArgument {
		t.Fatalf("WithDeflate(10): %v", err)
	}
	if _, err := New(WithFormat(Format(7))); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("WithFormat(7): %v", err)
	}
}

func TestRecordKeepsTheZipFormat(t *testing.T) {
	dir := makeTree(t)
	catalog := filepath.Join(t.TempDir(), "site.tartape")
	tape, err := Record(dir, catalog, WithFormat(FormatZip))
	must(t, err)
	defer tape.Close()
	recorded := whole(t, tape)
	opened, err := Open(catalog)
	must(t, err)
	defer opened.Close()
	if !bytes.Equal(whole(t, opened), recorded) {
		t.Fatal("the opened catalog gives other bytes")
	}
	readZip(t, recorded)
}

// checkAgainstTar compares an Archive with what archive/tar reads from the same bytes.
func checkAgainstTar(t *testing.T, a *Archive, archive []byte) {
	t.Helper()
	names, members := readTar(t, archive)
	entries := a.Entries()
	if len(entries) != len(names) {
		t.Fatalf("%d entries, archive/tar has %d", len(entries), len(names))
	}
	for i, e := range entries {
		m := members[names[i]]
		if e.Name != m.hdr.Name || e.Index != i {
			t.Fatalf("entry %d: %q, archive/tar %q", i, e.Name, m.hdr.Name)
		}
		if e.Mode.Perm() != fs.FileMode(m.hdr.Mode).Perm() || e.ModTime.Unix() != m.hdr.ModTime.Unix() {
			t.Fatalf("%s: mode %v mtime %v, archive/tar %o %v", e.Name, e.Mode, e.ModTime, m.hdr.Mode, m.hdr.ModTime)
		}
		switch m.hdr.Typeflag {
		case tar.TypeReg:
			if e.Kind != KindFile || e.Size != m.hdr.Size || e.Method != MethodStored {
				t.Fatalf("%s: %v %d, want a file of %d", e.Name, e.Kind, e.Size, m.hdr.Size)
			}
			if data := readMember(t, a, i); !bytes.Equal(data, m.data) {
				t.Fatalf("%s: content differs", e.Name)
			}
		case tar.TypeDir:
			if e.Kind != KindDir || !e.Mode.IsDir() {
				t.Fatalf("%s: %v %v, want a dir", e.Name, e.Kind, e.Mode)
			}
		case tar.TypeSymlink:
			if e.Kind != KindSymlink || e.Link != m.hdr.Linkname || e.Mode&fs.ModeSymlink == 0 {
				t.Fatalf("%s: %v -> %q, want a symlink to %q", e.Name, e.Kind, e.Link, m.hdr.Linkname)
			}
		}
	}
}

func TestOpenArchiveReadsOurTarFromAPathAndFromBytes(t *testing.T) {
	archive := whole(t, treeTape(t))
	path := filepath.Join(t.TempDir(), "site.tar")
	must(t, os.WriteFile(path, archive, 0o644))
	fromPath, err := OpenArchive(path)
	must(t, err)
	defer fromPath.Close()
	checkAgainstTar(t, fromPath, archive)
	fromBytes, err := OpenArchiveBytes(archive)
	must(t, err)
	defer fromBytes.Close()
	checkAgainstTar(t, fromBytes, archive)
	for i := range archive { // the copy is the archive's own
		archive[i] = 0
	}
	e, err := fromBytes.Find("site/index.html")
	must(t, err)
	if got := string(readMember(t, fromBytes, e.Index)); got != "<h1>hello</h1>\n" {
		t.Fatalf("index.html after clearing the caller's bytes: %q", got)
	}
}

func TestOpenArchiveReadsOurZipStoredAndDeflated(t *testing.T) {
	for _, level := range []int{0, 1, 9} {
		archive := whole(t, treeTape(t, WithFormat(FormatZip), WithDeflate(level)))
		_, members := readZip(t, archive)
		path := filepath.Join(t.TempDir(), "site.zip")
		must(t, os.WriteFile(path, archive, 0o644))
		for _, open := range []func() (*Archive, error){
			func() (*Archive, error) { return OpenArchive(path) },
			func() (*Archive, error) { return OpenArchiveBytes(archive) },
		} {
			a, err := open()
			must(t, err)
			if len(a.Entries()) != len(members) {
				t.Fatalf("level %d: %d entries, archive/zip has %d", level, len(a.Entries()), len(members))
			}
			for _, e := range a.Entries() {
				m, found := members[e.Name]
				if !found {
					t.Fatalf("level %d: %q is not in archive/zip's listing", level, e.Name)
				}
				if e.Method != m.hdr.Method || e.CRC32 != m.hdr.CRC32 || e.Size != int64(m.hdr.UncompressedSize64) ||
					e.CompressedSize != int64(m.hdr.CompressedSize64) || e.Mode != m.hdr.Mode() {
					t.Fatalf("level %d: %s: method %d crc %08x size %d/%d mode %v; archive/zip %d %08x %d/%d %v", level, e.Name,
						e.Method, e.CRC32, e.Size, e.CompressedSize, e.Mode, m.hdr.Method, m.hdr.CRC32,
						m.hdr.UncompressedSize64, m.hdr.CompressedSize64, m.hdr.Mode())
				}
				if e.Kind == KindFile {
					if data := readMember(t, a, e.Index); !bytes.Equal(data, m.data) {
						t.Fatalf("level %d: %s: content differs", level, e.Name)
					}
				}
				if e.Kind == KindSymlink && e.Link != string(m.data) {
					t.Fatalf("level %d: %s: link %q, archive/zip %q", level, e.Name, e.Link, m.data)
				}
			}
			a.Close()
		}
	}
}

func TestMemberSeekAndRead(t *testing.T) {
	for _, level := range []int{0, 6} {
		tape := newTape(t, WithFormat(FormatZip), WithDeflate(level))
		content := pattern(100_000)
		must(t, tape.AddBytes("p.bin", content))
		a, err := OpenArchiveBytes(whole(t, tape))
		must(t, err)
		m, err := a.Open(0)
		must(t, err)
		must(t, a.Close()) // the member outlives its archive
		if m.Size() != int64(len(content)) {
			t.Fatalf("Size %d", m.Size())
		}
		buf := make([]byte, 1000)
		read := func(at int64) {
			t.Helper()
			if _, err := io.ReadFull(m, buf); err != nil {
				t.Fatalf("level %d: reading at %d: %v", level, at, err)
			}
			if !bytes.Equal(buf, content[at:at+1000]) {
				t.Fatalf("level %d: bytes at %d differ", level, at)
			}
		}
		for _, step := range []struct {
			off    int64
			whence int
			want   int64
		}{{50_000, io.SeekStart, 50_000}, {-20_000, io.SeekCurrent, 31_000}, {-1000, io.SeekEnd, 99_000}, {10, io.SeekStart, 10}} {
			pos, err := m.Seek(step.off, step.whence)
			if err != nil || pos != step.want {
				t.Fatalf("level %d: Seek(%d, %d) = %d, %v; want %d", level, step.off, step.whence, pos, err, step.want)
			}
			read(pos)
		}
		if pos, err := m.Seek(10, io.SeekEnd); err != nil || pos != 100_010 {
			t.Fatalf("Seek past the end: %d, %v", pos, err)
		}
		if n, err := m.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("Read past the end: %d, %v", n, err)
		}
		if _, err := m.Seek(-1, io.SeekStart); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Seek before the start: %v", err)
		}
		must(t, m.Close())
		must(t, m.Close())
		if _, err := m.Read(buf); !errors.Is(err, ErrState) {
			t.Fatalf("Read after Close: %v", err)
		}
	}
}

func TestFindAndOpenErrors(t *testing.T) {
	a, err := OpenArchiveBytes(whole(t, treeTape(t)))
	must(t, err)
	e, err := a.Find("site/css") // "site/css/" in the archive
	must(t, err)
	if e.Name != "site/css/" || e.Kind != KindDir {
		t.Fatalf("Find(site/css): %+v", e)
	}
	if _, err := a.Find("nope"); !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Find(nope): %v", err)
	}
	if _, err := a.Open(len(a.Entries())); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open past the end: %v", err)
	}
	entries := a.Entries()
	entries[0].Name = "changed"
	if a.Entries()[0].Name == "changed" {
		t.Fatal("Entries returned the archive's own slice")
	}
	must(t, a.Close())
	must(t, a.Close())
	if _, err := a.Find("site"); !errors.Is(err, ErrState) {
		t.Fatalf("Find after Close: %v", err)
	}
	if _, err := a.Open(0); !errors.Is(err, ErrState) {
		t.Fatalf("Open after Close: %v", err)
	}
	if _, err := OpenArchive(filepath.Join(t.TempDir(), "missing.zip")); !errors.Is(err, ErrIO) {
		t.Fatalf("OpenArchive of a missing file: %v", err)
	}
	empty, err := OpenArchiveBytes(nil)
	must(t, err)
	if len(empty.Entries()) != 0 {
		t.Fatalf("an empty buffer has %d entries", len(empty.Entries()))
	}
	empty.Close()
}

// encryptedZip is a ZIP whose one member has the encryption flag set.
func encryptedZip(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "locked.txt", Method: zip.Store, Flags: 0x1,
		CRC32: crc32.ChecksumIEEE([]byte("0123456789ab")), CompressedSize64: 12, UncompressedSize64: 12})
	must(t, err)
	w.Write([]byte("0123456789ab"))
	must(t, zw.Close())
	return buf.Bytes()
}

func TestEncryptedMemberIsErrUnsupported(t *testing.T) {
	check := func(a *Archive, index int) {
		t.Helper()
		if e := a.Entries()[index]; !e.Encrypted {
			t.Fatalf("%s: not flagged encrypted", e.Name)
		}
		if _, err := a.Open(index); !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("Open of an encrypted member: %v", err)
		}
		tape := newTape(t)
		if err := tape.AddMember(a, index, ""); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("AddMember of an encrypted member: %v", err)
		}
	}
	a, err := OpenArchiveBytes(encryptedZip(t))
	must(t, err)
	defer a.Close()
	check(a, 0)

	aes, err := OpenArchive(corpus(t, "zip2/aes_archive.zip"))
	must(t, err)
	defer aes.Close()
	for i := range aes.Entries() {
		check(aes, i)
	}
}

func TestUnsafeNamesAreFlagged(t *testing.T) {
	names := []string{"../evil.txt", "/etc/passwd", "a/../../b", "fine/name.txt"}
	var tbuf bytes.Buffer
	tw := tar.NewWriter(&tbuf)
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, n := range names {
		must(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg, Format: tar.FormatPAX}))
		tw.Write([]byte("x"))
		w, err := zw.Create(n)
		must(t, err)
		w.Write([]byte("x"))
	}
	must(t, tw.Close())
	must(t, zw.Close())
	for _, archive := range [][]byte{tbuf.Bytes(), zbuf.Bytes()} {
		a, err := OpenArchiveBytes(archive)
		must(t, err)
		for i, e := range a.Entries() {
			if e.Name != names[i] || e.UnsafeName != (i < 3) {
				t.Fatalf("%q: UnsafeName %v", e.Name, e.UnsafeName)
			}
		}
		// Flagged, and still readable: refusing it is the caller's choice.
		if got := readMember(t, a, 0); string(got) != "x" {
			t.Fatalf("../evil.txt: %q", got)
		}
		// A tape refuses the name as is, and takes it renamed.
		tape := newTape(t)
		if err := tape.AddMember(a, 0, ""); !errors.Is(err, ErrInvalidName) {
			t.Fatalf("AddMember of ../evil.txt: %v", err)
		}
		must(t, tape.AddMember(a, 0, "evil.txt"))
		a.Close()
	}
}

func TestDamagedArchivesAreErrCorrupt(t *testing.T) {
	zipBytes := whole(t, treeTape(t, WithFormat(FormatZip)))
	tarBytes := whole(t, treeTape(t))
	cases := map[string][]byte{
		"zip cut in its central directory": zipBytes[:len(zipBytes)-30],
		"tar header checksum":              flip(tarBytes, 10),
		"zip end record":                   flip(zipBytes, len(zipBytes)-22+16), // the central directory's offset
	}
	for name, b := range cases {
		a, err := OpenArchiveBytes(b)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
		if a != nil {
			a.Close()
		}
		var e *Error
		if errors.As(err, &e) && (e.Op != "OpenArchiveBytes" || e.Message == "") {
			t.Errorf("%s: op %q, message %q", name, e.Op, e.Message)
		}
	}

	// A deflated member whose compressed bytes are altered fails when read.
	tape := newTape(t, WithFormat(FormatZip), WithDeflate(6))
	must(t, tape.AddBytes("t.txt", bytes.Repeat([]byte("some text to deflate, "), 2000)))
	deflated := whole(t, tape)
	a, err := OpenArchiveBytes(deflated)
	must(t, err)
	defer a.Close()
	e := a.Entries()[0]
	if e.Method != MethodDeflated || int(e.CompressedSize) >= int(e.Size) {
		t.Fatalf("t.txt: method %d, %d of %d bytes", e.Method, e.CompressedSize, e.Size)
	}
	deflated = flip(deflated, int(e.DataOffset)+int(e.CompressedSize)/2)
	b, err := OpenArchiveBytes(deflated)
	must(t, err)
	defer b.Close()
	mb, err := b.Open(0)
	must(t, err)
	defer mb.Close()
	if _, err := io.ReadAll(mb); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("reading an altered deflated member: %v, want ErrCorrupt", err)
	}

	if p := filepath.Join(corpora, "zip2/invalid_offset.zip"); fileExists(p) {
		if _, err := OpenArchive(p); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("invalid_offset.zip: %v, want ErrCorrupt", err)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestOpenArchiveReadsTheCorpora(t *testing.T) {
	t.Run("cpython/testtar.tar", func(t *testing.T) {
		path := corpus(t, "cpython/testtar.tar")
		raw, err := os.ReadFile(path)
		must(t, err)
		for _, open := range []func() (*Archive, error){
			func() (*Archive, error) { return OpenArchive(path) },
			func() (*Archive, error) { return OpenArchiveBytes(raw) },
		} {
			a, err := open()
			must(t, err)
			kinds := map[EntryKind]int{}
			sparse := 0
			for _, e := range a.Entries() {
				kinds[e.Kind]++
				if e.Sparse {
					sparse++
				}
			}
			for _, k := range []EntryKind{KindFile, KindDir, KindSymlink, KindHardlink, KindCharDevice, KindBlockDevice, KindFIFO} {
				if kinds[k] == 0 {
					t.Fatalf("no %s in testtar.tar: %v", k, kinds)
				}
			}
			if sparse == 0 {
				t.Fatal("no sparse member in testtar.tar")
			}
			e, err := a.Find("ustar/regtype")
			must(t, err)
			if e.Size != 7011 || len(readMember(t, a, e.Index)) != 7011 {
				t.Fatalf("ustar/regtype: %+v", e)
			}
			if e, err := a.Find("ustar/chrtype"); err != nil || e.Mode&fs.ModeCharDevice == 0 {
				t.Fatalf("ustar/chrtype: %+v, %v", e, err)
			}
			// Every regular file reads as archive/tar reads it (sparse members expanded by both).
			tr := tar.NewReader(bytes.NewReader(raw))
			compared := 0
			for {
				hdr, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("archive/tar: %v", err)
				}
				if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeGNUSparse {
					continue
				}
				want, err := io.ReadAll(tr)
				must(t, err)
				e, err := a.Find(hdr.Name)
				if err != nil {
					t.Fatalf("%s: %v", hdr.Name, err)
				}
				if got := readMember(t, a, e.Index); !bytes.Equal(got, want) {
					t.Fatalf("%s: %d bytes, archive/tar %d", hdr.Name, len(got), len(want))
				}
				compared++
			}
			if compared < 10 {
				t.Fatalf("compared only %d files", compared)
			}
			a.Close()
		}
	})
	for _, name := range []string{"files_and_dirs.zip", "mimetype.zip", "symlink.zip", "chinese.zip", "data_descriptor.zip"} {
		t.Run("zip2/"+name, func(t *testing.T) {
			path := corpus(t, "zip2/"+name)
			raw, err := os.ReadFile(path)
			must(t, err)
			zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
			must(t, err)
			for _, open := range []func() (*Archive, error){
				func() (*Archive, error) { return OpenArchive(path) },
				func() (*Archive, error) { return OpenArchiveBytes(raw) },
			} {
				a, err := open()
				must(t, err)
				if len(a.Entries()) != len(zr.File) {
					t.Fatalf("%d entries, archive/zip %d", len(a.Entries()), len(zr.File))
				}
				for i, f := range zr.File {
					e := a.Entries()[i]
					if e.Method != f.Method || e.CRC32 != f.CRC32 || e.Size != int64(f.UncompressedSize64) {
						t.Fatalf("%s: method %d crc %08x size %d; archive/zip %d %08x %d", f.Name, e.Method, e.CRC32, e.Size,
							f.Method, f.CRC32, f.UncompressedSize64)
					}
					if f.Mode().IsDir() != (e.Kind == KindDir) {
						t.Fatalf("%s: kind %v, archive/zip mode %v", f.Name, e.Kind, f.Mode())
					}
					if e.Kind != KindFile {
						continue
					}
					rc, err := f.Open()
					must(t, err)
					want, err := io.ReadAll(rc)
					must(t, err)
					if got := readMember(t, a, i); !bytes.Equal(got, want) {
						t.Fatalf("%s: content differs", f.Name)
					}
				}
				a.Close()
			}
		})
	}
	t.Run("zip2/deflate64.zip", func(t *testing.T) {
		a, err := OpenArchive(corpus(t, "zip2/deflate64.zip"))
		must(t, err)
		defer a.Close()
		e, err := a.Find("binary.wmv")
		must(t, err)
		if _, err := a.Open(e.Index); e.Method != 9 || !errors.Is(err, ErrUnsupported) {
			t.Fatalf("binary.wmv: method %d, Open: %v", e.Method, err)
		}
	})
}

// rebuild copies every entry of a, except those keep refuses, into a new tape.
func rebuild(t *testing.T, a *Archive, keep func(ArchiveEntry) bool, opts ...Option) *Tape {
	t.Helper()
	tape := newTape(t, opts...)
	for _, e := range a.Entries() {
		if keep == nil || keep(e) {
			if err := tape.AddMember(a, e.Index, ""); err != nil {
				t.Fatalf("AddMember(%s): %v", e.Name, err)
			}
		}
	}
	return tape
}

func TestZipToTar(t *testing.T) {
	source := treeTape(t, WithFormat(FormatZip), WithDeflate(6))
	_, want := readZip(t, whole(t, source))
	a, err := OpenArchiveBytes(whole(t, source))
	must(t, err)
	tape := rebuild(t, a, nil)
	must(t, a.Close()) // the tape keeps its members
	archive := whole(t, tape)
	names, got := readTar(t, archive)
	if len(names) != len(want) {
		t.Fatalf("%d members, the ZIP has %d", len(names), len(want))
	}
	for name, m := range got {
		w, found := want[name]
		if !found {
			t.Fatalf("%s is not in the ZIP", name)
		}
		switch m.hdr.Typeflag {
		case tar.TypeReg:
			if !bytes.Equal(m.data, w.data) {
				t.Fatalf("%s: content differs", name)
			}
		case tar.TypeSymlink:
			if m.hdr.Linkname != string(w.data) {
				t.Fatalf("%s: link %q, want %q", name, m.hdr.Linkname, w.data)
			}
		}
		if fs.FileMode(m.hdr.Mode).Perm() != w.hdr.Mode().Perm() || m.hdr.ModTime.Unix() != w.hdr.Modified.Unix() {
			t.Fatalf("%s: mode %o mtime %v; ZIP %v %v", name, m.hdr.Mode, m.hdr.ModTime, w.hdr.Mode(), w.hdr.Modified)
		}
	}
	// Deflated members are inflated by the stream: a second stream seeks them back.
	if again := whole(t, tape); !bytes.Equal(again, archive) {
		t.Fatal("a second stream differs")
	}
	if _, err := tape.ReadAt(make([]byte, len(archive)), 0); !errors.Is(err, ErrNotRandomAccess) {
		t.Fatalf("ReadAt over inflated members: %v", err)
	}
	members := len(tape.members)
	must(t, tape.Close())
	if members == 0 || len(tape.members) != 0 {
		t.Fatalf("the tape held %d members, %d after Close", members, len(tape.members))
	}
}

func TestTarToZipKeepsRandomAccess(t *testing.T) {
	source := whole(t, treeTape(t))
	_, want := readTar(t, source)
	path := filepath.Join(t.TempDir(), "site.tar")
	must(t, os.WriteFile(path, source, 0o644))
	a, err := OpenArchive(path)
	must(t, err)
	before := liveReaderAts.Load()
	tape := rebuild(t, a, nil, WithFormat(FormatZip))
	must(t, a.Close())
	archive := whole(t, tape)
	names, got := readZip(t, archive)
	if len(names) != len(want) {
		t.Fatalf("%d members, the TAR has %d", len(names), len(want))
	}
	for name, m := range got {
		w := want[name]
		if w.hdr == nil {
			t.Fatalf("%s is not in the TAR", name)
		}
		if m.hdr.Mode()&fs.ModeSymlink != 0 {
			if string(m.data) != w.hdr.Linkname {
				t.Fatalf("%s: link %q, want %q", name, m.data, w.hdr.Linkname)
			}
		} else if !bytes.Equal(m.data, w.data) || m.hdr.Mode().Perm() != fs.FileMode(w.hdr.Mode).Perm() {
			t.Fatalf("%s: content or mode (%v) differs", name, m.hdr.Mode())
		}
	}
	// Stored members are read in place: the tape has its size and random access, from many
	// goroutines at once.
	size, err := tape.Size()
	must(t, err)
	if size != int64(len(archive)) {
		t.Fatalf("Size %d, archive %d", size, len(archive))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096+g)
			for off := int64(g * 997); off < size; off += int64(len(buf)) * 3 {
				n, err := tape.ReadAt(buf, off)
				if err != nil && err != io.EOF {
					t.Errorf("ReadAt(%d): %v", off, err)
					return
				}
				if !bytes.Equal(buf[:n], archive[off:off+int64(n)]) {
					t.Errorf("ReadAt(%d) differs", off)
					return
				}
			}
		}()
	}
	wg.Wait()
	must(t, tape.Close())
	if after := liveReaderAts.Load(); after != before {
		t.Fatalf("%d reader handles before, %d after Close", before, after)
	}
}

func TestCopySomeMembersAndDropOthers(t *testing.T) {
	a, err := OpenArchiveBytes(whole(t, treeTape(t, WithFormat(FormatZip))))
	must(t, err)
	defer a.Close()
	tape := rebuild(t, a, func(e ArchiveEntry) bool { return !strings.HasPrefix(e.Name, "site/img/") })
	e, err := a.Find("site/index.html")
	must(t, err)
	must(t, tape.AddMember(a, e.Index, "copy/index.html"))
	names, got := readTar(t, whole(t, tape))
	want := "site/ site/css/ site/css/style.css site/empty.txt site/home.html site/index.html site/secret.txt copy/index.html"
	if strings.Join(names, " ") != want {
		t.Fatalf("names\n got %q\nwant %q", strings.Join(names, " "), want)
	}
	if string(got["copy/index.html"].data) != "<h1>hello</h1>\n" || got["site/secret.txt"].hdr.Mode != 0o600 {
		t.Fatalf("copy/index.html %q, secret.txt mode %o", got["copy/index.html"].data, got["site/secret.txt"].hdr.Mode)
	}
	if err := tape.AddMember(a, len(a.Entries()), ""); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("AddMember past the end: %v", err)
	}
}

func TestAddMemberOfTestTarHardLinksAndSpecials(t *testing.T) {
	a, err := OpenArchive(corpus(t, "cpython/testtar.tar"))
	must(t, err)
	defer a.Close()
	tape := newTape(t)
	link, err := a.Find("ustar/lnktype")
	must(t, err)
	must(t, tape.AddMember(a, link.Index, ""))
	chr, err := a.Find("ustar/chrtype")
	must(t, err)
	if err := tape.AddMember(a, chr.Index, ""); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("AddMember of a char device: %v", err)
	}
	target, err := a.Find("ustar/regtype")
	must(t, err)
	_, got := readTar(t, whole(t, tape))
	if !bytes.Equal(got["ustar/lnktype"].data, readMember(t, a, target.Index)) {
		t.Fatal("the hard link was not copied from its target")
	}
}
