package tartape

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func compressedTape(t *testing.T, opts ...Option) []byte {
	t.Helper()
	tape := newTape(t, opts...)
	data := bytes.Repeat([]byte("tartape compression "), 20_000)
	must(t, tape.AddBytes("a/text.txt", data, WithModTime(time.Unix(1_600_000_000, 0))))
	must(t, tape.AddBytes("a/b.bin", []byte{1, 2, 3}, WithMode(0o600)))
	var out bytes.Buffer
	if _, err := tape.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	if _, err := tape.Size(); !errors.Is(err, ErrNotRandomAccess) {
		t.Fatalf("Size of a compressed tape: %v", err)
	}
	return out.Bytes()
}

func TestGzipTapeIsReadByCompressGzipAndArchiveTar(t *testing.T) {
	packed := compressedTape(t, WithCompression(CompressionGzip, 9))
	zr, err := gzip.NewReader(bytes.NewReader(packed))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	names := map[string]int{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, tr)
		names[h.Name] = int(n)
	}
	if names["a/text.txt"] != 400_000 || names["a/b.bin"] != 3 {
		t.Fatalf("listing: %v", names)
	}
	if !bytes.Equal(packed, compressedTape(t, WithCompression(CompressionGzip, 9))) {
		t.Fatal("two runs gave different bytes")
	}
}

func TestZstdTapeIsTheSameForAnyThreadsAndReadByOurReader(t *testing.T) {
	one := compressedTape(t, WithCompression(CompressionZstd, 3))
	four := compressedTape(t, WithCompression(CompressionZstd, 3), WithCompressionThreads(4))
	if !bytes.Equal(one, four) {
		t.Fatal("1 and 4 threads gave different bytes")
	}
	a, err := OpenArchiveBytes(one)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Compression() != CompressionZstd || len(a.Entries()) != 2 {
		t.Fatalf("compression %v, %d entries", a.Compression(), len(a.Entries()))
	}
	dir := t.TempDir()
	file, index := filepath.Join(dir, "a.tar.zst"), filepath.Join(dir, "a.idx")
	must(t, os.WriteFile(file, one, 0o644))
	opened, err := OpenArchive(file)
	must(t, err)
	must(t, opened.SaveIndex(index))
	opened.Close()
	again, err := OpenArchiveWithIndex(file, index)
	must(t, err)
	defer again.Close()
	if len(again.Entries()) != 2 || again.Compression() != CompressionZstd {
		t.Fatalf("reopened with the index: %d entries, %v", len(again.Entries()), again.Compression())
	}
	if zstd, err := exec.LookPath("zstd"); err == nil {
		cmd := exec.Command(zstd, "-t", "-q")
		cmd.Stdin = bytes.NewReader(one)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("zstd -t: %v %s", err, out)
		}
	}
}

func TestCompressionOptionsAreChecked(t *testing.T) {
	var e *Error
	if _, err := New(WithCompression(CompressionGzip, 10)); !errors.As(err, &e) || e.Status != ErrInvalidArgument {
		t.Fatalf("gzip level 10: %v", err)
	}
	if _, err := New(WithCompression(CompressionXz, 0)); !errors.As(err, &e) || e.Status != ErrUnsupported {
		t.Fatalf("xz: %v", err)
	}
	if _, err := New(WithCompressionThreads(2)); !errors.As(err, &e) || e.Status != ErrInvalidArgument {
		t.Fatalf("threads without a compression: %v", err)
	}
}
