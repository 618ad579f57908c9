package tartape

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The child process of TestOpenInANewProcessGivesTheRecordedBytes: it opens a catalog and writes
// the archive, the suffix from an offset (NewReader) and the fingerprint to files.
const childEnv = "TARTAPE_TEST_CHILD_CATALOG"

func TestChildOpensTheCatalog(t *testing.T) {
	catalog := os.Getenv(childEnv)
	if catalog == "" {
		t.Skip("only run as the child process of TestOpenInANewProcessGivesTheRecordedBytes")
	}
	out := os.Getenv("TARTAPE_TEST_CHILD_OUT")
	offset, err := strconv.ParseInt(os.Getenv("TARTAPE_TEST_CHILD_OFFSET"), 10, 64)
	must(t, err)
	tape, err := Open(catalog)
	must(t, err)
	defer tape.Close()
	must(t, os.WriteFile(out+".whole", whole(t, tape), 0o644))
	suffix, err := io.ReadAll(tape.NewReader(offset))
	must(t, err)
	must(t, os.WriteFile(out+".suffix", suffix, 0o644))
	fp, err := tape.Fingerprint()
	must(t, err)
	must(t, os.WriteFile(out+".fingerprint", []byte(fp), 0o644))
}

func TestOpenInANewProcessGivesTheRecordedBytes(t *testing.T) {
	root := makeTree(t)
	tape, err := Record(root, "", WithChecksums(true))
	must(t, err)
	defer tape.Close()
	archive := whole(t, tape)
	fp, err := tape.Fingerprint()
	must(t, err)
	catalog := root + ".tartape"
	if _, err := os.Stat(catalog); err != nil {
		t.Fatalf("Record with \"\" did not save beside the directory: %v", err)
	}
	entries, err := tape.Entries()
	must(t, err)
	offset := entries[6].DataOffset + 1000 // inside img/big.bin

	out := filepath.Join(t.TempDir(), "child")
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildOpensTheCatalog$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+catalog, "TARTAPE_TEST_CHILD_OUT="+out,
		"TARTAPE_TEST_CHILD_OFFSET="+strconv.FormatInt(offset, 10))
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "--- PASS: TestChildOpensTheCatalog") {
		t.Fatalf("child: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out + ".whole")
	must(t, err)
	if !bytes.Equal(got, archive) {
		t.Fatalf("the child's archive (%d bytes) differs from the recorded one (%d bytes)", len(got), len(archive))
	}
	suffix, err := os.ReadFile(out + ".suffix")
	must(t, err)
	if !bytes.Equal(suffix, archive[offset:]) {
		t.Fatalf("the child's NewReader(%d) is not the suffix", offset)
	}
	childFP, err := os.ReadFile(out + ".fingerprint")
	must(t, err)
	if string(childFP) != fp {
		t.Fatalf("fingerprint %s in the child, %s when recorded", childFP, fp)
	}
	readTar(t, got) // and archive/tar reads it
}

func TestOpenedCatalogReadsLikeTheRecordedTape(t *testing.T) {
	root := makeTree(t)
	catalog := filepath.Join(t.TempDir(), "site.catalog")
	tape, err := Record(root+string(filepath.Separator), catalog)
	must(t, err)
	defer tape.Close()
	archive := whole(t, tape)
	opened, err := Open(catalog)
	must(t, err)
	defer opened.Close()
	must(t, opened.CheckCatalog())
	want, err := tape.Entries()
	must(t, err)
	got, err := opened.Entries()
	must(t, err)
	if !slices.Equal(got, want) {
		t.Fatalf("entries differ:\n%v\n%v", got, want)
	}
	for _, off := range []int64{0, 1, 511, 512, 4000, int64(len(archive)) - 1024, int64(len(archive))} {
		b, err := io.ReadAll(opened.NewReader(off))
		must(t, err)
		if !bytes.Equal(b, archive[off:]) {
			t.Fatalf("NewReader(%d) of the opened catalog is not the suffix", off)
		}
	}
	if err := opened.AddBytes("x", nil); !errors.Is(err, ErrState) {
		t.Fatalf("adding to an opened catalog: %v", err)
	}
}

func TestOpenBytesIsOpenOfTheSameCatalog(t *testing.T) {
	root := makeTree(t)
	catalog := filepath.Join(t.TempDir(), "site.catalog")
	tape, err := Record(root, catalog)
	must(t, err)
	defer tape.Close()
	raw, err := os.ReadFile(catalog)
	must(t, err)
	opened, err := OpenBytes(raw)
	must(t, err)
	defer opened.Close()
	for i := range raw {
		raw[i] = 0xAB // copied: the caller's buffer is free at once
	}
	must(t, opened.CheckCatalog())
	want, _ := tape.Fingerprint()
	got, err := opened.Fingerprint()
	must(t, err)
	if got != want || !bytes.Equal(whole(t, opened), whole(t, tape)) {
		t.Fatalf("OpenBytes: fingerprint %s, want %s, or other bytes", got, want)
	}
	for _, bad := range [][]byte{nil, []byte("TARTAPE-CATALOG"), raw} {
		if _, err := OpenBytes(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("OpenBytes(%d damaged bytes): %v, want ErrCorrupt", len(bad), err)
		}
	}
}

func TestRecordOptions(t *testing.T) {
	root := makeTree(t)
	must(t, os.MkdirAll(filepath.Join(root, ".git", "objects"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, ".git", "objects", "x"), []byte("x"), 0o644))
	tape, err := Record(root, filepath.Join(t.TempDir(), "c"), WithExclude(".git", "img"))
	must(t, err)
	defer tape.Close()
	names, _ := readTar(t, whole(t, tape))
	for _, n := range names {
		if strings.Contains(n, ".git") || strings.Contains(n, "img") {
			t.Fatalf("%s was not excluded: %q", n, names)
		}
	}
	if len(names) != 6 {
		t.Fatalf("names %q", names)
	}
	rep, err := tape.Verify(false)
	must(t, err)
	if !rep.Clean {
		t.Fatalf("excluded names are reported: %+v", rep)
	}
	if _, err := Record(root, filepath.Join(t.TempDir(), "c"), WithExclude("a/b")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("an exclude with a slash: %v", err)
	}
	if _, err := Record(filepath.Join(root, "nope"), filepath.Join(t.TempDir(), "c")); err == nil {
		t.Fatal("recording a missing directory worked")
	}
}

func TestDamagedCatalogsAreErrCorrupt(t *testing.T) {
	root := makeTree(t)
	dir := t.TempDir()
	catalog := filepath.Join(dir, "good")
	tape, err := Record(root, catalog)
	must(t, err)
	tape.Close()
	good, err := os.ReadFile(catalog)
	must(t, err)

	damaged := map[string][]byte{
		"truncated":   good[:len(good)-1],
		"half":        good[:len(good)/2],
		"empty":       {},
		"garbage":     bytes.Repeat([]byte("not a catalog "), 100),
		"one more":    append(slices.Clone(good), 0),
		"header flip": flip(good, 20),
		"middle flip": flip(good, len(good)/2),
		"last flip":   flip(good, len(good)-1),
	}
	for what, b := range damaged {
		path := filepath.Join(dir, strings.ReplaceAll(what, " ", "-"))
		must(t, os.WriteFile(path, b, 0o644))
		opened, err := Open(path)
		if err == nil { // opening checks the header and the size; CheckCatalog every byte
			err = opened.CheckCatalog()
			if err == nil {
				_, err = io.Copy(io.Discard, opened.NewReader(0))
			}
			opened.Close()
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", what, err)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil || errors.Is(err, ErrCorrupt) {
		t.Fatalf("a missing catalog: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := slices.Clone(b)
	c[i] ^= 0x40
	return c
}

// discrepancies maps "name problem" to the discrepancy.
func discrepancies(r *Report) map[string]Discrepancy {
	m := map[string]Discrepancy{}
	for _, d := range r.Discrepancies {
		m[d.Name+" "+d.Problem] = d
	}
	return m
}

func TestVerifyReportsMissingSizeContentAndUnrecorded(t *testing.T) {
	root := makeTree(t)
	catalog := filepath.Join(t.TempDir(), "c")
	tape, err := Record(root, catalog, WithChecksums(true))
	must(t, err)
	tape.Close()
	tape, err = Open(catalog)
	must(t, err)
	defer tape.Close()

	rep, err := tape.Verify(true)
	must(t, err)
	if !rep.Clean || rep.Checked != 10 || len(rep.Discrepancies) != 0 {
		t.Fatalf("fresh tree: %+v", rep)
	}

	must(t, os.Remove(filepath.Join(root, "css/style.css")))
	f, err := os.OpenFile(filepath.Join(root, "index.html"), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString("more")
	must(t, err)
	must(t, f.Close())
	must(t, os.WriteFile(filepath.Join(root, "img/new.txt"), []byte("new"), 0o644))
	// Same size, mtime put back: only deep verification can see it.
	note := filepath.Join(root, "img/deep/note.txt")
	info, err := os.Stat(note)
	must(t, err)
	must(t, os.WriteFile(note, []byte("DEEP\n"), 0o644))
	must(t, os.Chtimes(note, time.Now(), info.ModTime()))

	shallow, err := tape.Verify(false)
	must(t, err)
	got := discrepancies(shallow)
	for _, want := range []string{"site/css/style.css missing", "site/index.html size", "site/img/new.txt unrecorded"} {
		if _, ok := got[want]; !ok {
			t.Errorf("shallow: no %q in %+v", want, shallow.Discrepancies)
		}
	}
	if d := got["site/index.html size"]; d.Expected != "15" || d.Found != "19" {
		t.Errorf("size discrepancy %+v", d)
	}
	for k := range got {
		if strings.HasPrefix(k, "site/img/deep/note.txt") {
			t.Errorf("shallow verification saw the same-size edit: %q", k)
		}
	}
	if shallow.Clean {
		t.Error("a report with discrepancies is Clean")
	}

	deep, err := tape.Verify(true)
	must(t, err)
	deepGot := discrepancies(deep)
	if d, ok := deepGot["site/img/deep/note.txt content"]; !ok || d.Expected == d.Found {
		t.Errorf("deep: no content discrepancy in %+v", deep.Discrepancies)
	}
	for k := range got { // deep finds what shallow finds, and more
		if _, ok := deepGot[k]; !ok {
			t.Errorf("deep verification lost %q", k)
		}
	}
	// And reading the changed file is ErrChanged.
	if _, err := io.Copy(io.Discard, tape.NewReader(0)); !errors.Is(err, ErrChanged) {
		t.Errorf("reading a changed tree: %v", err)
	}
}

func TestFingerprintIsStableAcrossOpenAndFollowsTheFiles(t *testing.T) {
	root := makeTree(t)
	dir := t.TempDir()
	tape, err := Record(root, filepath.Join(dir, "1"))
	must(t, err)
	defer tape.Close()
	fp, err := tape.Fingerprint()
	must(t, err)
	if len(fp) != 32 || strings.Trim(fp, "0123456789abcdef") != "" {
		t.Fatalf("fingerprint %q", fp)
	}
	for range 2 {
		opened, err := Open(filepath.Join(dir, "1"))
		must(t, err)
		again, err := opened.Fingerprint()
		opened.Close()
		must(t, err)
		if again != fp {
			t.Fatalf("opened: %s, recorded: %s", again, fp)
		}
	}
	same, err := Record(root, filepath.Join(dir, "2"))
	must(t, err)
	defer same.Close()
	if f, _ := same.Fingerprint(); f != fp {
		t.Fatalf("recording the same tree again: %s, then %s", fp, f)
	}

	// A same-size edit with a new mtime changes the archive (the header's mtime): and the
	// fingerprint.
	note := filepath.Join(root, "img/deep/note.txt")
	must(t, os.WriteFile(note, []byte("DEEP\n"), 0o644))
	must(t, os.Chtimes(note, time.Now(), time.Unix(1_000_000_000, 0)))
	changed, err := Record(root, filepath.Join(dir, "3"))
	must(t, err)
	defer changed.Close()
	if f, _ := changed.Fingerprint(); f == fp {
		t.Fatal("the fingerprint did not change with a file")
	}
}

func TestBindGivesBackWhatTheCatalogCouldNotKeep(t *testing.T) {
	big, small, viaReaderAt := pattern(100_000), []byte("small"), pattern(70_000)
	tape := newTape(t)
	must(t, tape.AddBytes("big", big))
	must(t, tape.AddBytes("small", small))
	must(t, tape.AddReaderAt("r", int64(len(viaReaderAt)), bytes.NewReader(viaReaderAt)))
	archive := whole(t, tape)
	catalog := filepath.Join(t.TempDir(), "c")
	must(t, tape.Save(catalog))

	opened, err := Open(catalog)
	must(t, err)
	defer opened.Close()
	if _, err := io.ReadAll(opened.NewReader(0)); !errors.Is(err, ErrNotRandomAccess) {
		t.Fatalf("reading an unbound entry: %v", err)
	}
	// Only the small buffer was kept.
	entries, err := opened.Entries()
	must(t, err)
	b := make([]byte, 5)
	_, err = opened.ReadAt(b, entries[1].DataOffset)
	must(t, err)
	if string(b) != "small" {
		t.Fatalf("kept buffer %q", b)
	}

	if err := opened.Bind(0, big[1:]); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("binding the wrong size: %v", err)
	}
	if err := opened.Bind(1, small); !errors.Is(err, ErrState) {
		t.Fatalf("binding an entry the catalog kept: %v", err)
	}
	if err := opened.Bind(7, big); !errors.Is(err, ErrNotFound) {
		t.Fatalf("binding past the last entry: %v", err)
	}
	before := liveReaderAts.Load()
	must(t, opened.Bind(0, big))
	must(t, opened.BindReaderAt(2, bytes.NewReader(viaReaderAt)))
	if live := liveReaderAts.Load() - before; live != 1 {
		t.Fatalf("%d live handles", live)
	}
	got, err := io.ReadAll(opened.NewReader(0))
	must(t, err)
	if !bytes.Equal(got, archive) {
		t.Fatal("the bound catalog's archive differs")
	}
	if !bytes.Equal(whole(t, opened), archive) {
		t.Fatal("the bound catalog's stream differs")
	}
	opened.Close()
	if live := liveReaderAts.Load() - before; live != 0 {
		t.Fatalf("%d live handles after Close", live)
	}
	if err := opened.BindReaderAt(2, bytes.NewReader(viaReaderAt)); !errors.Is(err, ErrState) {
		t.Fatalf("binding on a closed tape: %v", err)
	}
	if live := liveReaderAts.Load() - before; live != 0 {
		t.Fatalf("%d live handles after a refused bind", live)
	}
}

func TestMemoryEntriesAfterADirectoryFindTheirReader(t *testing.T) {
	tape := newTape(t)
	must(t, tape.AddPath(makeTree(t), ""))
	must(t, tape.AddFromMemory("m1", 3, strings.NewReader("one")))
	must(t, tape.AddBytes("b", []byte("b")))
	must(t, tape.AddFromMemory("m2", 3, strings.NewReader("two")))
	_, members := readTar(t, whole(t, tape))
	if string(members["m1"].data) != "one" || string(members["m2"].data) != "two" {
		t.Fatalf("m1 %q, m2 %q", members["m1"].data, members["m2"].data)
	}
}
