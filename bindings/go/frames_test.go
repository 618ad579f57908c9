package tartape

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const testFrameSize = 64 << 10

// framesTree writes small files that share frames, a large incompressible file and a large text
// cut into several frames each.
func framesTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "t")
	must(t, os.MkdirAll(filepath.Join(root, "small"), 0o755))
	seed := uint32(7)
	for i := 0; i < 30; i++ {
		data := make([]byte, (i*377)%9000)
		for j := range data {
			seed = seed*1103515245 + 12345
			if i%3 == 0 {
				data[j] = byte(seed >> 16)
			} else {
				data[j] = "abcdefgh\n"[(i+j)%9]
			}
		}
		must(t, os.WriteFile(filepath.Join(root, "small", fmt.Sprintf("%02d.txt", i)), data, 0o644))
	}
	noise := make([]byte, 300_000)
	for j := range noise {
		seed = seed*1103515245 + 12345
		noise[j] = byte(seed >> 16)
	}
	must(t, os.WriteFile(filepath.Join(root, "random.bin"), noise, 0o644))
	var text bytes.Buffer
	for i := 0; i < 30_000; i++ {
		fmt.Fprintf(&text, "row %d of %d\n", i, i%91)
	}
	must(t, os.WriteFile(filepath.Join(root, "text.txt"), text.Bytes(), 0o644))
	return root
}

func walkedTape(t *testing.T, root string) *Tape {
	t.Helper()
	tape := newTape(t)
	must(t, tape.AddPath(root, "t"))
	return tape
}

func framedTape(t *testing.T, root string, c Compression, level, threads int) *Tape {
	t.Helper()
	tape := walkedTape(t, root)
	must(t, tape.RecordFrames(c, level, testFrameSize, threads))
	return tape
}

// checkFrameTable checks that the frames partition the TAR and the compressed frames.
func checkFrameTable(t *testing.T, tape *Tape, tarSize int64) []Frame {
	t.Helper()
	info, err := tape.FramesInfo()
	must(t, err)
	size, err := tape.Size()
	must(t, err)
	frames, err := tape.Frames()
	must(t, err)
	if len(frames) < 5 || info.Count != len(frames) || tape.FrameCount() != len(frames) {
		t.Fatalf("%d frames, info says %d", len(frames), info.Count)
	}
	if info.FrameSize != testFrameSize || info.TarSize != tarSize || info.TotalSize != size ||
		info.FramesEnd+info.SeekTableLength != size || info.Engine == "" {
		t.Fatalf("info %+v for a TAR of %d, size %d", info, tarSize, size)
	}
	var tarAt, at int64
	for k, f := range frames {
		if f.Index != k || f.TarOffset != tarAt || f.Offset != at || f.TarLength <= 0 || f.TarLength > testFrameSize || f.Length <= 0 {
			t.Fatalf("frame %d: %+v after TAR %d, archive %d", k, f, tarAt, at)
		}
		tarAt, at = f.TarOffset+f.TarLength, f.Offset+f.Length
	}
	if tarAt != tarSize || at != info.FramesEnd {
		t.Fatalf("the frames end at TAR %d, archive %d", tarAt, at)
	}
	if _, err := tape.Frame(len(frames)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("frame past the last: %v", err)
	}
	return frames
}

func streamFrom(t *testing.T, tape *Tape, offset int64) []byte {
	t.Helper()
	s, err := tape.Stream(offset)
	must(t, err)
	var buf bytes.Buffer
	_, err = io.Copy(&buf, s)
	must(t, err)
	return buf.Bytes()
}

func readAtAll(t *testing.T, tape *Tape, size int64, chunk int) []byte {
	t.Helper()
	out := make([]byte, 0, size)
	buf := make([]byte, chunk)
	for int64(len(out)) < size {
		n, err := tape.ReadAt(buf, int64(len(out)))
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
		if n == 0 {
			break
		}
	}
	return out
}

func TestZstdFramesDecompressToThePlainTarAndEveryViewAgrees(t *testing.T) {
	zstd, err := exec.LookPath("zstd")
	if err != nil {
		t.Skip("no zstd command")
	}
	root := framesTree(t)
	plain := whole(t, walkedTape(t, root))
	tape := framedTape(t, root, CompressionZstd, 0, 1)
	frames := checkFrameTable(t, tape, int64(len(plain)))
	info, _ := tape.FramesInfo()
	if info.Compression != CompressionZstd || info.Level != 3 || info.Threads != 1 ||
		info.SeekTableLength != int64(8+8*len(frames)+9) {
		t.Fatalf("info %+v", info)
	}
	all := whole(t, tape)
	if size, _ := tape.Size(); int64(len(all)) != size {
		t.Fatalf("streamed %d of %d", len(all), size)
	}
	cmd := exec.Command(zstd, "-q", "-d", "-c")
	cmd.Stdin = bytes.NewReader(all)
	back, err := cmd.Output()
	must(t, err)
	if !bytes.Equal(back, plain) {
		t.Fatal("zstd -d is not the plain TAR")
	}
	for _, chunk := range []int{4093, 65536} {
		if !bytes.Equal(readAtAll(t, tape, int64(len(all)), chunk), all) {
			t.Fatalf("ReadAt in chunks of %d", chunk)
		}
	}
	mid := frames[len(frames)/2]
	for _, o := range []int64{1, mid.Offset, mid.Offset + 7, info.FramesEnd, info.FramesEnd + 5, int64(len(all)) - 1, int64(len(all))} {
		if !bytes.Equal(streamFrom(t, tape, o), all[o:]) {
			t.Fatalf("resumed at %d: not the suffix", o)
		}
	}
	// One entry's frames decompress alone to its TAR bytes.
	entries, err := tape.Entries()
	must(t, err)
	for _, e := range entries {
		if e.Name != "t/text.txt" {
			continue
		}
		first, err := tape.FrameOf(e.HeaderOffset)
		must(t, err)
		last, err := tape.FrameOf(e.EndOffset - 1)
		must(t, err)
		cmd := exec.Command(zstd, "-q", "-d", "-c")
		cmd.Stdin = bytes.NewReader(all[first.Offset : last.Offset+last.Length])
		out, err := cmd.Output()
		must(t, err)
		if !bytes.Equal(out, plain[first.TarOffset:last.TarOffset+last.TarLength]) {
			t.Fatal("an entry's frames do not decompress to its TAR bytes")
		}
	}
	if _, err := tape.FrameOf(int64(len(plain))); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FrameOf at the TAR's end: %v", err)
	}
}

func TestGzipFramesAreGzipMembersOfThePlainTar(t *testing.T) {
	root := framesTree(t)
	plain := whole(t, walkedTape(t, root))
	tape := framedTape(t, root, CompressionGzip, 9, 2)
	frames := checkFrameTable(t, tape, int64(len(plain)))
	all := whole(t, tape)
	zr, err := gzip.NewReader(bytes.NewReader(all))
	must(t, err)
	back, err := io.ReadAll(zr)
	must(t, err)
	if !bytes.Equal(back, plain) {
		t.Fatal("gzip is not the plain TAR")
	}
	f := frames[len(frames)/2]
	zr, err = gzip.NewReader(io.NewSectionReader(tape, f.Offset, f.Length))
	must(t, err)
	one, err := io.ReadAll(zr)
	must(t, err)
	if !bytes.Equal(one, plain[f.TarOffset:f.TarOffset+f.TarLength]) {
		t.Fatal("one member read with ReadAt is not its frame's TAR bytes")
	}
	if !bytes.Equal(streamFrom(t, tape, f.Offset+3), all[f.Offset+3:]) {
		t.Fatal("resumed inside a member")
	}
}

func TestFrameBytesDoNotDependOnThreadsAndCatalogsKeepThem(t *testing.T) {
	root := framesTree(t)
	one := framedTape(t, root, CompressionZstd, 5, 1)
	three := framedTape(t, root, CompressionZstd, 5, 3)
	all := whole(t, one)
	if !bytes.Equal(whole(t, three), all) {
		t.Fatal("1 and 3 threads gave different bytes")
	}
	fp, err := one.Fingerprint()
	must(t, err)
	if fp3, _ := three.Fingerprint(); fp3 != fp {
		t.Fatal("fingerprints differ with threads")
	}
	cat := filepath.Join(t.TempDir(), "framed.tartape")
	must(t, one.Save(cat))
	want, err := one.Frames()
	must(t, err)
	opened, err := Open(cat)
	must(t, err)
	defer opened.Close()
	got, err := opened.Frames()
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatal("the catalog changed the frames")
	}
	if f, _ := opened.Fingerprint(); f != fp {
		t.Fatal("the catalog changed the fingerprint")
	}
	must(t, opened.SetFrameThreads(2))
	if info, _ := opened.FramesInfo(); info.Threads != 2 || info.Level != 5 {
		t.Fatalf("info %+v", info)
	}
	if !bytes.Equal(readAtAll(t, opened, int64(len(all)), 100_000), all) {
		t.Fatal("ReadAt of the opened catalog")
	}
	if !bytes.Equal(streamFrom(t, opened, 77_777), all[77_777:]) {
		t.Fatal("the opened catalog resumed")
	}
	if err := opened.SetFrameThreads(1); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "stream") {
		t.Fatalf("threads once a stream uses the tape: %v", err)
	}
}

func TestRecordFramesMisuseIsRefusedWithTheMessage(t *testing.T) {
	root := framesTree(t)
	tape := walkedTape(t, root)
	err := tape.RecordFrames(CompressionZstd, 0, 1000, 1)
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "frame size 1000") {
		t.Fatalf("frame size 1000: %v", err)
	}
	if err := tape.RecordFrames(CompressionNone, 0, 0, 1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("no compression: %v", err)
	}
	if err := tape.RecordFrames(CompressionXz, 0, 0, 1); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("xz: %v", err)
	}
	if err := tape.RecordFrames(CompressionZstd, 0, 0, -1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("-1 threads: %v", err)
	}
	if err := tape.SetFrameThreads(2); !errors.Is(err, ErrState) {
		t.Fatalf("threads without frames: %v", err)
	}
	if _, err := tape.FramesInfo(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("info without frames: %v", err)
	}
	if tape.FrameCount() != 0 {
		t.Fatal("frames after refusals")
	}
	if f, err := tape.Frames(); f != nil || err != nil {
		t.Fatalf("Frames without frames: %v %v", f, err)
	}
	must(t, tape.RecordFrames(CompressionZstd, 1, 0, 0))
	if info, _ := tape.FramesInfo(); info.FrameSize != DefaultFrameSize {
		t.Fatalf("frame size 0 is %d", info.FrameSize)
	}
	if err := tape.RecordFrames(CompressionZstd, 1, 0, 0); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "already") {
		t.Fatalf("twice: %v", err)
	}

	zip := newTape(t, WithFormat(FormatZip))
	must(t, zip.AddPath(root, "t"))
	if err := zip.RecordFrames(CompressionZstd, 0, 0, 1); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "TAR") {
		t.Fatalf("ZIP: %v", err)
	}
	streamed := walkedTape(t, root)
	s, err := streamed.Stream(0)
	must(t, err)
	_, err = s.Next()
	must(t, err)
	if err := streamed.RecordFrames(CompressionZstd, 0, 0, 1); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "stream") {
		t.Fatalf("a stream uses it: %v", err)
	}
	closed := walkedTape(t, root)
	closed.Close()
	if err := closed.RecordFrames(CompressionZstd, 0, 0, 1); !errors.Is(err, ErrState) {
		t.Fatalf("closed: %v", err)
	}
	if closed.FrameCount() != 0 {
		t.Fatal("a closed tape has no frames")
	}
}
