package tartape

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// member is what archive/tar found for one entry.
type member struct {
	hdr  *tar.Header
	data []byte
}

// readTar reads an archive with archive/tar, failing the test on any error.
func readTar(t testing.TB, archive []byte) (names []string, members map[string]member) {
	t.Helper()
	members = map[string]member{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names, members
		}
		if err != nil {
			t.Fatalf("archive/tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("archive/tar reading %s: %v", hdr.Name, err)
		}
		names = append(names, hdr.Name)
		members[hdr.Name] = member{hdr, data}
	}
}

// makeTree writes a small tree: files of several sizes (one across many blocks), a nested
// directory, an empty file and a symlink.
func makeTree(t testing.TB) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "site")
	files := map[string][]byte{
		"index.html":        []byte("<h1>hello</h1>\n"),
		"empty.txt":         nil,
		"css/style.css":     bytes.Repeat([]byte("body{}\n"), 100),
		"img/big.bin":       pattern(300_000),
		"img/deep/note.txt": []byte("deep\n"),
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("index.html", filepath.Join(root, "home.html")); err != nil {
		t.Fatal(err)
	}
	return root
}

// pattern is n bytes that differ at every offset within a block.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func newTape(t testing.TB, opts ...Option) *Tape {
	t.Helper()
	tape, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tape.Close() })
	return tape
}

// whole reads the archive with WriteTo.
func whole(t testing.TB, tape *Tape) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := tape.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d for %d bytes", n, buf.Len())
	}
	return buf.Bytes()
}
