package tartape

import (
	"crypto/sha256"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// SHA-256 and CRC-32C recorded with WithChecksumSet: on FileEnd (also resumed inside an entry),
// from EntryChecksum, equal to crypto/sha256's and hash/crc32's Castagnoli table.
func TestRecordedSHA256AndCRC32CEqualTheStandardLibrarys(t *testing.T) {
	dir := t.TempDir()
	content := make([]byte, 3<<20+17)
	for i := range content {
		content[i] = byte(i*7 + i>>9)
	}
	if err := os.MkdirAll(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "d", "big.bin"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	tape, err := New(WithChecksumSet(ChecksumSHA256 | ChecksumCRC32C))
	if err != nil {
		t.Fatal(err)
	}
	defer tape.Close()
	if err := tape.AddPath(filepath.Join(dir, "d"), ""); err != nil {
		t.Fatal(err)
	}
	wantSHA := sha256.Sum256(content)
	wantCRC := crc32.Checksum(content, crc32.MakeTable(crc32.Castagnoli))
	sum, ok, err := tape.EntryChecksum(1, ChecksumSHA256)
	if err != nil || !ok || string(sum) != string(wantSHA[:]) {
		t.Fatalf("EntryChecksum SHA-256: %x %v %v", sum, ok, err)
	}
	if _, ok, err := tape.EntryChecksum(1, ChecksumMD5); ok || err != nil {
		t.Fatalf("MD5 was not asked for: %v %v", ok, err)
	}
	if _, _, err := tape.EntryChecksum(7, ChecksumSHA256); err == nil {
		t.Fatal("no entry 7")
	}
	entries, err := tape.Entries()
	if err != nil {
		t.Fatal(err)
	}
	s, err := tape.Stream(entries[1].DataOffset + 100)
	if err != nil {
		t.Fatal(err)
	}
	ends := 0
	for {
		ev, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == FileEnd && ev.Index == 1 {
			ends++
			if !ev.HasSHA256 || ev.SHA256 != wantSHA || !ev.HasCRC32C || ev.CRC32C != wantCRC {
				t.Fatalf("FileEnd: %x %v %08x %v, want %x %08x", ev.SHA256, ev.HasSHA256, ev.CRC32C, ev.HasCRC32C, wantSHA, wantCRC)
			}
		}
	}
	if ends != 1 {
		t.Fatalf("%d FileEnd events of big.bin", ends)
	}
}
