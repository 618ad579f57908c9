// Command outside is a program of a module outside the tartape repository that uses the Go
// binding (tests/go-outside.sh copies it to a temporary directory, builds it with the steps of
// bindings/go/README.md and runs it). It archives a directory to a file, checks the archive
// with archive/tar, and prints what a user would want to know.
package main

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"os"

	tartape "github.com/tartape/tartape/bindings/go"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: outside DIR OUT.tar")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "outside:", err)
		os.Exit(1)
	}
}

func run(dir, out string) error {
	tape, err := tartape.New()
	if err != nil {
		return err
	}
	defer tape.Close()
	if err := tape.AddPath(dir, ""); err != nil {
		return err
	}
	if err := tape.AddBytes("notes/hello.txt", []byte("hello from outside\n")); err != nil {
		return err
	}
	size, err := tape.Size()
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	n, err := tape.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("wrote %d bytes, the tape announced %d", n, size)
	}
	whole, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	// Random access gives the same bytes as the stream.
	tail := make([]byte, 1024)
	if _, err := tape.ReadAt(tail, size-int64(len(tail))); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if !bytes.Equal(tail, whole[len(whole)-len(tail):]) {
		return errors.New("ReadAt differs from the stream")
	}
	tr := tar.NewReader(bytes.NewReader(whole))
	files := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("archive/tar: %w", err)
		}
		if h.Typeflag == tar.TypeReg {
			sum := md5.New()
			if _, err := io.Copy(sum, tr); err != nil {
				return err
			}
			files++
		}
	}
	fmt.Printf("tartape %s: %d files, %d bytes, archive/tar read it back\n", tartape.Version(), files, size)
	return nil
}
