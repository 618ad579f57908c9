package tartape

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// openedTree records a tree, opens its catalog, and returns the opened tape, its archive and
// what archive/tar finds in it.
func openedTree(t *testing.T) (*Tape, []byte, map[string]member) {
	t.Helper()
	root := makeTree(t)
	catalog := filepath.Join(t.TempDir(), "c")
	rec, err := Record(root, catalog)
	must(t, err)
	rec.Close()
	tape, err := Open(catalog)
	must(t, err)
	t.Cleanup(func() { tape.Close() })
	archive := whole(t, tape)
	_, members := readTar(t, archive)
	return tape, archive, members
}

func closeAll(vols []*Volume) {
	for _, v := range vols {
		v.Close()
	}
}

func TestVolumesRebuildTheArchiveAndTheirManifestsHoldTheEntries(t *testing.T) {
	tape, archive, members := openedTree(t)
	entries, err := tape.Entries()
	must(t, err)
	for _, size := range []int64{512, 1536, 1 << 20} {
		t.Run(strconv.FormatInt(size, 10), func(t *testing.T) {
			vols, err := tape.Volumes(size)
			must(t, err)
			defer closeAll(vols)
			if want := (int64(len(archive)) + size - 1) / size; int64(len(vols)) != want {
				t.Fatalf("%d parts, want %d", len(vols), want)
			}
			var rebuilt []byte
			seen := map[int]int64{} // content bytes of each entry found in manifests
			for i, v := range vols {
				if v.Part() != int64(i) || v.Start() != int64(len(rebuilt)) || (i < len(vols)-1 && v.Len() != size) {
					t.Fatalf("part %d: part %d, start %d, len %d", i, v.Part(), v.Start(), v.Len())
				}
				part, err := io.ReadAll(v) // Read
				must(t, err)
				if int64(len(part)) != v.Len() {
					t.Fatalf("part %d: read %d bytes of %d", i, len(part), v.Len())
				}
				rebuilt = append(rebuilt, part...)
				if sum, err := v.MD5(); err != nil || sum != md5.Sum(part) {
					t.Fatalf("part %d: MD5 %x, %v", i, sum, err)
				}
				for _, m := range v.Manifest() {
					e := entries[m.Index]
					if m.Name != e.Name || m.Size != e.Size {
						t.Fatalf("part %d: item %+v for entry %+v", i, m, e)
					}
					if m.Range.Start < 0 || m.Range.End > v.Len() || m.ContentRange.Start < m.Range.Start || m.ContentRange.End > m.Range.End {
						t.Fatalf("part %d: ranges of %+v", i, m)
					}
					// The entry's bytes: the archive's, where the layout puts them.
					if a, b := v.Start()+m.Range.Start, v.Start()+m.Range.End; a < e.HeaderOffset || b > e.EndOffset {
						t.Fatalf("part %d: %s lies at [%d,%d), outside [%d,%d)", i, m.Name, a, b, e.HeaderOffset, e.EndOffset)
					}
					// The content range holds the entry's content from ContentOffset on.
					content := members[tarName(e)].data
					n := m.ContentRange.Len()
					if got := part[m.ContentRange.Start:m.ContentRange.End]; !bytes.Equal(got, content[m.ContentOffset:m.ContentOffset+n]) {
						t.Fatalf("part %d: content of %s at %d differs", i, m.Name, m.ContentOffset)
					}
					if n > 0 && seen[m.Index] != m.ContentOffset {
						t.Fatalf("part %d: %s continues at %d, not %d", i, m.Name, m.ContentOffset, seen[m.Index])
					}
					seen[m.Index] += n
					wantRole := RoleWhole
					switch {
					case e.HeaderOffset < v.Start() && e.EndOffset > v.Start()+v.Len():
						wantRole = RoleBody
					case e.HeaderOffset < v.Start():
						wantRole = RoleTail
					case e.EndOffset > v.Start()+v.Len():
						wantRole = RoleHead
					}
					if m.Role != wantRole {
						t.Fatalf("part %d: %s is %v, want %v", i, m.Name, m.Role, wantRole)
					}
				}
			}
			if !bytes.Equal(rebuilt, archive) {
				t.Fatal("the parts do not rebuild the archive")
			}
			for _, e := range entries {
				if seen[e.Index] != e.Size {
					t.Fatalf("%s: manifests hold %d content bytes of %d", e.Name, seen[e.Index], e.Size)
				}
				loc, err := tape.Locate(e.Name, size)
				must(t, err)
				if loc.Index != e.Index || loc.HeaderOffset != e.HeaderOffset || loc.DataOffset != e.DataOffset ||
					loc.EndOffset != e.EndOffset || loc.Size != e.Size {
					t.Fatalf("Locate(%s) = %+v for %+v", e.Name, loc, e)
				}
				for p := range int64(len(vols)) {
					in := false
					for _, m := range vols[p].Manifest() {
						in = in || m.Index == e.Index
					}
					if in != (p >= loc.FirstPart && p <= loc.LastPart) {
						t.Fatalf("Locate(%s): parts %d..%d, but part %d holds it: %v", e.Name, loc.FirstPart, loc.LastPart, p, in)
					}
				}
			}
		})
	}
}

// tarName is the name archive/tar gives an entry (directories end with a slash).
func tarName(e Entry) string {
	if e.Kind == KindDir {
		return e.Name + "/"
	}
	return e.Name
}

func TestVolumeReadAtSeekAndErrors(t *testing.T) {
	tape, archive, _ := openedTree(t)
	v, err := tape.Volume(2, 4096)
	must(t, err)
	defer v.Close()
	part := archive[v.Start() : v.Start()+v.Len()]

	b := make([]byte, 1000)
	n, err := v.ReadAt(b, 100)
	if n != 1000 || err != nil || !bytes.Equal(b, part[100:1100]) {
		t.Fatalf("ReadAt: %d, %v", n, err)
	}
	n, err = v.ReadAt(b, v.Len()-10)
	if n != 10 || err != io.EOF || !bytes.Equal(b[:10], part[len(part)-10:]) {
		t.Fatalf("ReadAt at the end: %d, %v", n, err)
	}
	if n, err := v.ReadAt(b, v.Len()+5); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt past the end: %d, %v", n, err)
	}
	if _, err := v.ReadAt(b, -1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("negative ReadAt: %v", err)
	}

	if pos, err := v.Seek(0, io.SeekEnd); pos != v.Len() || err != nil {
		t.Fatalf("Seek end: %d, %v", pos, err)
	}
	if n, err := v.Read(b); n != 0 || err != io.EOF {
		t.Fatalf("Read at the end: %d, %v", n, err)
	}
	if pos, err := v.Seek(-300, io.SeekCurrent); pos != v.Len()-300 || err != nil {
		t.Fatalf("Seek back: %d, %v", pos, err)
	}
	rest, err := io.ReadAll(v)
	if err != nil || !bytes.Equal(rest, part[len(part)-300:]) {
		t.Fatalf("Read after Seek: %d bytes, %v", len(rest), err)
	}
	if _, err := v.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("seeking before the start worked")
	}
	if _, err := v.Seek(0, 7); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad whence: %v", err)
	}

	for _, size := range []int64{0, 100, -512} {
		if _, err := tape.Volumes(size); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("part size %d: %v", size, err)
		}
	}
	if _, err := tape.Volume(1000, 512*1024); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a part past the last: %v", err)
	}
	if _, err := tape.Locate("site/nope", 512); !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("locating a missing name: %v", err)
	}

	must(t, v.Close())
	must(t, v.Close())
	if _, err := v.ReadAt(b, 0); !errors.Is(err, ErrState) {
		t.Fatalf("ReadAt on a closed volume: %v", err)
	}
	if _, err := v.Read(b); !errors.Is(err, ErrState) {
		t.Fatalf("Read on a closed volume: %v", err)
	}
}

func TestVolumesOutliveTheirTapeAndKeepItsReaderAts(t *testing.T) {
	before := liveReaderAts.Load()
	tape, err := New()
	must(t, err)
	must(t, tape.AddReaderAt("g", 5000, generated(5000)))
	must(t, tape.AddBytes("b", pattern(2000)))
	archive := whole(t, tape)
	vols, err := tape.Volumes(1024)
	must(t, err)
	must(t, tape.Close())
	var rebuilt []byte
	for _, v := range vols {
		b, err := io.ReadAll(io.NewSectionReader(v, 0, v.Len()))
		must(t, err)
		rebuilt = append(rebuilt, b...)
	}
	if !bytes.Equal(rebuilt, archive) {
		t.Fatal("volumes of a closed tape differ")
	}
	if live := liveReaderAts.Load() - before; live != 1 {
		t.Fatalf("%d live handles with open volumes", live)
	}
	closeAll(vols)
	if live := liveReaderAts.Load() - before; live != 0 {
		t.Fatalf("%d live handles after the last volume", live)
	}
}

func TestVolumeErrorsCarryTheirStatusAndCallbackError(t *testing.T) {
	tape := newTape(t)
	boom := errors.New("boom")
	must(t, tape.AddBytes("a", pattern(1000)))
	must(t, tape.AddReaderAt("bad", 1000, failingReaderAt{boom}))
	must(t, tape.AddFromMemory("m", 10, strings.NewReader("0123456789")))
	vols, err := tape.Volumes(512)
	must(t, err)
	defer closeAll(vols)
	loc, err := tape.Locate("bad", 512)
	must(t, err)
	v := vols[loc.LastPart]
	if _, err := io.ReadAll(v); !errors.Is(err, ErrCallback) || !errors.Is(err, boom) || !strings.Contains(err.Error(), "bad") {
		t.Fatalf("reading a failing source: %v", err)
	}
	loc, err = tape.Locate("m", 512)
	must(t, err)
	part, at := loc.DataOffset/512, loc.DataOffset%512
	var wg sync.WaitGroup
	for range 8 { // concurrent failing ReadAts each get their own status
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 512)
			for range 20 {
				_, err := vols[part].ReadAt(b, at)
				var e *Error
				if !errors.As(err, &e) || e.Status != ErrNotRandomAccess || !strings.Contains(e.Message, "m") {
					t.Errorf("reading a memory entry: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// An upload target: PUT /part/N stores the body after checking its Content-MD5.
type partServer struct {
	mu    sync.Mutex
	parts map[int][]byte
}

func (s *partServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/part/"))
	body, rerr := io.ReadAll(r.Body)
	if err != nil || rerr != nil || r.Method != http.MethodPut {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	sum := md5.Sum(body)
	if r.Header.Get("Content-MD5") != base64.StdEncoding.EncodeToString(sum[:]) || r.ContentLength != int64(len(body)) {
		http.Error(w, "bad digest", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.parts[n] = body
	s.mu.Unlock()
}

func TestUploadingVolumesFromParallelGoroutines(t *testing.T) {
	tape, archive, _ := openedTree(t)
	vols, err := tape.Volumes(8 * 1024)
	must(t, err)
	defer closeAll(vols)
	srv := &partServer{parts: map[int][]byte{}}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	var wg sync.WaitGroup
	errs := make(chan error, len(vols)*2)
	for i, v := range vols {
		wg.Add(2)
		go func() { // the upload: Read, with the part's MD5
			defer wg.Done()
			sum, err := v.MD5()
			if err != nil {
				errs <- err
				return
			}
			// net/http closes a body that is an io.Closer: NopCloser keeps the volume open for
			// the ReadAts below (io.NewSectionReader(v, 0, v.Len()) is another way).
			req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/part/%d", ts.URL, i), io.NopCloser(v))
			if err != nil {
				errs <- err
				return
			}
			req.ContentLength = v.Len()
			req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("part %d: %s", i, resp.Status)
			}
		}()
		go func() { // and, at the same time, random reads of the same volume
			defer wg.Done()
			b := make([]byte, 700)
			for off := int64(0); off < v.Len(); off += 333 {
				n, err := v.ReadAt(b, off)
				if err != nil && err != io.EOF {
					errs <- err
					return
				}
				if !bytes.Equal(b[:n], archive[v.Start()+off:v.Start()+off+int64(n)]) {
					errs <- fmt.Errorf("part %d: ReadAt(%d) differs", i, off)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var rebuilt []byte
	for i := range vols {
		rebuilt = append(rebuilt, srv.parts[i]...)
	}
	if !bytes.Equal(rebuilt, archive) {
		t.Fatalf("the uploaded parts (%d bytes) do not rebuild the archive (%d bytes)", len(rebuilt), len(archive))
	}
}
