package tartape

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// StreamPaths writes, while it walks, the bytes the sealed tape streams: into a file and into a
// pipe (non-blocking in Go); the tape gives options only; refusals are the C ABI's.
func TestStreamPathsWritesTheSealedTapesBytes(t *testing.T) {
	root := makeTree(t)
	for i := 0; i < 1500; i++ { // more than a batch of the walk (1,024 entries)
		p := filepath.Join(root, "many", fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, pattern(i%900), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sealed := newTape(t)
	if err := sealed.AddPath(root, ""); err != nil {
		t.Fatal(err)
	}
	want := whole(t, sealed)

	out, err := os.Create(filepath.Join(t.TempDir(), "walked.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	walked := newTape(t)
	n, err := walked.StreamPaths(out, root)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("StreamPaths into a file: %d, %v (want %d bytes)", n, err, len(want))
	}
	got, err := os.ReadFile(out.Name())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the walked file differs from the sealed stream (%v)", err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		read <- b
	}()
	n, err = walked.StreamPaths(w, root)
	w.Close()
	piped := <-read
	r.Close()
	if err != nil || n != int64(len(want)) || !bytes.Equal(piped, want) {
		t.Fatalf("StreamPaths into a pipe: %d, %v; %d bytes read, equal %v", n, err, len(piped),
			bytes.Equal(piped, want))
	}

	if err := walked.AddPath(root, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := walked.StreamPaths(out, root); !errors.Is(err, ErrState) {
		t.Fatalf("a tape with entries: %v", err)
	}
	zip := newTape(t, WithFormat(FormatZip))
	if _, err := zip.StreamPaths(out, root); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("ZIP: %v", err)
	}
}
