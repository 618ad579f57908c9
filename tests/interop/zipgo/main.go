// Reads a ZIP with Go's archive/zip and prints one line per member:
// name|unix mode (decimal)|mtime (Unix seconds)|size|md5 of the content.
// With -only NAME, reads the content of that member alone (the others print "-" for md5).
// Reading a member checks its CRC-32: a mismatch is an error (exit 1).
package main

import (
	"archive/zip"
	"crypto/md5"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	only := flag.String("only", "", "read only this member's content")
	flag.Parse()
	r, err := zip.OpenReader(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	defer r.Close()
	for _, f := range r.File {
		sum := "-"
		if *only == "" || *only == f.Name {
			rc, err := f.Open()
			if err != nil {
				fmt.Fprintln(os.Stderr, f.Name, err)
				os.Exit(1)
			}
			h := md5.New()
			if _, err := io.Copy(h, rc); err != nil {
				fmt.Fprintln(os.Stderr, f.Name, err)
				os.Exit(1)
			}
			rc.Close()
			sum = hex.EncodeToString(h.Sum(nil))
		}
		fmt.Printf("%s|%d|%d|%d|%s\n", f.Name, f.ExternalAttrs>>16, f.Modified.Unix(), f.UncompressedSize64, sum)
	}
}
