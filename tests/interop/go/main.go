// Lists a TAR archive with Go's archive/tar as JSON lines, one per entry: name, type, size, mode,
// mtime, linkname, and the sha256 of the content (regular files). Names and link targets are also
// given in hex, since they may not be UTF-8. Usage: go run . ARCHIVE (or - for standard input).
// With -headers-only, contents are not read (a file archive is skipped through with seeks, so a
// huge sparse archive lists fast), and from standard input only the first entry is listed (for an
// archive cut after its first header).
package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

type entry struct {
	Name        string `json:"name"`
	NameHex     string `json:"name_hex"`
	Type        string `json:"type"`
	Size        int64  `json:"size"`
	Mode        int64  `json:"mode"`
	Mtime       int64  `json:"mtime"`
	Linkname    string `json:"linkname"`
	LinknameHex string `json:"linkname_hex"`
	Sha256      string `json:"sha256,omitempty"`
}

func main() {
	args := os.Args[1:]
	headersOnly := false
	if len(args) > 0 && args[0] == "-headers-only" {
		headersOnly = true
		args = args[1:]
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: tartape-interop [-headers-only] ARCHIVE|-")
		os.Exit(2)
	}
	var in io.Reader = os.Stdin
	if args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	r := tar.NewReader(in)
	out := json.NewEncoder(os.Stdout)
	for {
		h, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "reading header:", err)
			os.Exit(1)
		}
		e := entry{
			Name:        h.Name,
			NameHex:     hex.EncodeToString([]byte(h.Name)),
			Type:        string([]byte{h.Typeflag}),
			Size:        h.Size,
			Mode:        h.Mode,
			Mtime:       h.ModTime.Unix(),
			Linkname:    h.Linkname,
			LinknameHex: hex.EncodeToString([]byte(h.Linkname)),
		}
		if h.Typeflag == tar.TypeReg && !headersOnly {
			sum := sha256.New()
			if _, err := io.Copy(sum, r); err != nil {
				fmt.Fprintln(os.Stderr, "reading content of", h.Name+":", err)
				os.Exit(1)
			}
			e.Sha256 = hex.EncodeToString(sum.Sum(nil))
		}
		if err := out.Encode(e); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if headersOnly && args[0] == "-" {
			return
		}
	}
}
