package tartape_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	tartape "github.com/tartape/tartape/bindings/go"
)

// A small site to archive: a directory with two files and a subdirectory.
func exampleSite() string {
	root, err := os.MkdirTemp("", "tartape-example")
	if err != nil {
		log.Fatal(err)
	}
	site := filepath.Join(root, "site")
	os.MkdirAll(filepath.Join(site, "css"), 0o755)
	os.WriteFile(filepath.Join(site, "index.html"), []byte("<h1>hello</h1>\n"), 0o644)
	os.WriteFile(filepath.Join(site, "css", "style.css"), bytes.Repeat([]byte("body{}\n"), 3000), 0o644)
	return site
}

// listTar describes an archive as archive/tar reads it: one line per member.
func listTar(r io.Reader) ([]string, error) {
	var lines []string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return lines, nil
		}
		if err != nil {
			return nil, err
		}
		n, err := io.Copy(io.Discard, tr)
		if err != nil {
			return nil, err
		}
		lines = append(lines, fmt.Sprintf("%s %d bytes", hdr.Name, n))
	}
}

// Stream a directory to an HTTP server as the body of one request. The Stream is an io.Reader, and
// the archive's size is known before the first byte, so the request has a Content-Length.
func ExampleTape_Stream() {
	site := exampleSite()
	defer os.RemoveAll(filepath.Dir(site))

	// The server reads the upload with archive/tar and says what it received.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lines, err := listTar(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "received %d bytes:\n%s\n", r.ContentLength, strings.Join(lines, "\n"))
	}))
	defer srv.Close()

	tape, err := tartape.New()
	if err != nil {
		log.Fatal(err)
	}
	defer tape.Close()
	if err := tape.AddPath(site, ""); err != nil {
		log.Fatal(err)
	}
	size, err := tape.Size()
	if err != nil {
		log.Fatal(err)
	}
	stream, err := tape.Stream(0)
	if err != nil {
		log.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, srv.URL+"/upload/site.tar", stream)
	if err != nil {
		log.Fatal(err)
	}
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(os.Stdout, resp.Body)
	// Output:
	// received 25088 bytes:
	// site/ 0 bytes
	// site/css/ 0 bytes
	// site/css/style.css 21000 bytes
	// site/index.html 15 bytes
}

// Upload an archive in fixed-size parts from parallel goroutines, as multipart uploads to object
// stores do: each part is one ReadAt, and ReadAt is safe for concurrent use. A failed part can be
// sent again alone, since its bytes are the same every time.
func ExampleTape_ReadAt() {
	site := exampleSite()
	defer os.RemoveAll(filepath.Dir(site))

	// The server keeps the parts by number.
	var mu sync.Mutex
	parts := map[int][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/part/%d", &n)
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		parts[n] = body
		mu.Unlock()
	}))
	defer srv.Close()

	tape, err := tartape.New()
	if err != nil {
		log.Fatal(err)
	}
	defer tape.Close()
	if err := tape.AddPath(site, "www"); err != nil {
		log.Fatal(err)
	}
	size, err := tape.Size()
	if err != nil {
		log.Fatal(err)
	}
	const partSize = 8192
	count := int((size + partSize - 1) / partSize)
	var wg sync.WaitGroup
	errs := make(chan error, count)
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, partSize)
			n, err := tape.ReadAt(buf, int64(i)*partSize)
			if err != nil && !errors.Is(err, io.EOF) { // the last part is short: io.EOF
				errs <- err
				return
			}
			resp, err := http.Post(fmt.Sprintf("%s/part/%d", srv.URL, i), "application/octet-stream", bytes.NewReader(buf[:n]))
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		log.Fatal(err)
	}

	// Reassemble the parts in order and read the archive with archive/tar.
	keys := make([]int, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var archive bytes.Buffer
	for _, k := range keys {
		archive.Write(parts[k])
	}
	lines, err := listTar(&archive)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d parts, %d bytes\n%s\n", len(parts), size, strings.Join(lines, "\n"))
	// Output:
	// 4 parts, 25088 bytes
	// www/ 0 bytes
	// www/css/ 0 bytes
	// www/css/style.css 21000 bytes
	// www/index.html 15 bytes
}

// Make a seekable compressed archive: its frames are compressed once to learn their sizes, and
// from then on the .tar.gz has a known size and any range of it can be read (ReadAt compresses
// only the frames it touches), here the whole archive through an io.SectionReader.
func ExampleTape_RecordFrames() {
	site := exampleSite()
	defer os.RemoveAll(filepath.Dir(site))

	tape, err := tartape.New()
	if err != nil {
		log.Fatal(err)
	}
	defer tape.Close()
	if err := tape.AddPath(site, "www"); err != nil {
		log.Fatal(err)
	}
	if err := tape.RecordFrames(tartape.CompressionGzip, 0, tartape.DefaultFrameSize, 2); err != nil {
		log.Fatal(err)
	}
	size, err := tape.Size() // the compressed archive's size
	if err != nil {
		log.Fatal(err)
	}
	info, err := tape.FramesInfo()
	if err != nil {
		log.Fatal(err)
	}
	zr, err := gzip.NewReader(io.NewSectionReader(tape, 0, size))
	if err != nil {
		log.Fatal(err)
	}
	lines, err := listTar(zr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d frame of %s level %d for %d TAR bytes\n%s\n", info.Count, info.Compression, info.Level,
		info.TarSize, strings.Join(lines, "\n"))
	// Output:
	// 1 frame of gzip level 6 for 25088 TAR bytes
	// www/ 0 bytes
	// www/css/ 0 bytes
	// www/css/style.css 21000 bytes
	// www/index.html 15 bytes
}

// Walk the events of a stream: each file's start, its bytes and its MD5 at the end.
func ExampleTape_Events() {
	tape, err := tartape.New()
	if err != nil {
		log.Fatal(err)
	}
	defer tape.Close()
	tape.AddDirectory("docs")
	tape.AddBytes("docs/hello.txt", []byte("hello\n"))
	// Content that arrives later: read from the io.Reader when the stream reaches the entry.
	tape.AddFromMemory("docs/report.csv", 12, strings.NewReader("a,b\n1,2\n3,4\n"))

	var archive int
	for ev, err := range tape.Events(0) {
		if err != nil {
			log.Fatal(err)
		}
		switch ev.Type {
		case tartape.Data:
			archive += len(ev.Data)
		case tartape.FileEnd:
			if ev.HasMD5 {
				fmt.Printf("%s %x\n", ev.Name, ev.MD5)
			}
		case tartape.Completed:
			fmt.Println("archive of", archive, "bytes")
		}
	}
	// Output:
	// docs/hello.txt b1946ac92492d2347c6235b4d2611184
	// docs/report.csv c3c6bc2ae8ece4bd2510dca21225c041
	// archive of 3584 bytes
}

// Resume an interrupted download: a reader from any offset gives exactly the rest of the archive.
func ExampleTape_NewReader() {
	tape, err := tartape.New()
	if err != nil {
		log.Fatal(err)
	}
	defer tape.Close()
	tape.AddBytes("a.txt", bytes.Repeat([]byte("a"), 1000))
	tape.AddBytes("b.txt", bytes.Repeat([]byte("b"), 1000))

	var whole bytes.Buffer
	tape.WriteTo(&whole)
	rest, err := io.ReadAll(tape.NewReader(1500))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(rest), bytes.Equal(rest, whole.Bytes()[1500:]))
	// Output:
	// 2596 true
}

// Test a failure's status with errors.Is; the message names the entry.
func ExampleError() {
	tape, err := tartape.New()
	if err != nil {
		log.Fatal(err)
	}
	defer tape.Close()
	tape.AddFromMemory("short.bin", 100, strings.NewReader("only 15 bytes.."))
	_, err = tape.WriteTo(io.Discard)
	fmt.Println(errors.Is(err, tartape.ErrSizeMismatch))
	// Output:
	// true
}

// Record a directory once into a catalog, then (in this process or any other, later) open the
// catalog without walking the directory again, check it against the disk, and cut the archive in
// volumes: parts to upload separately, each with a manifest of the entries it holds.
func ExampleRecord() {
	site := exampleSite()
	defer os.RemoveAll(filepath.Dir(site))

	// Record: walk site/ and save its layout in site.tartape, beside it.
	tape, err := tartape.Record(site, "", tartape.WithChecksums(true))
	if err != nil {
		log.Fatal(err)
	}
	recorded, _ := tape.Fingerprint()
	tape.Close()

	// Open: the same archive, byte for byte, whatever process opens it.
	tape, err = tartape.Open(site + ".tartape")
	if err != nil {
		log.Fatal(err)
	}
	defer tape.Close()
	opened, _ := tape.Fingerprint()
	report, err := tape.Verify(true) // deep: compares contents with the recorded MD5s
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same fingerprint:", opened == recorded, "clean:", report.Clean, "checked:", report.Checked)

	// Volumes: parts of 8 KiB. Each is an io.Reader, io.ReaderAt and io.Seeker with its MD5.
	vols, err := tape.Volumes(8192)
	if err != nil {
		log.Fatal(err)
	}
	var archive bytes.Buffer
	for _, v := range vols {
		fmt.Printf("part %d: bytes %d..%d\n", v.Part(), v.Start(), v.Start()+v.Len())
		if len(v.Manifest()) == 0 {
			fmt.Println("  (the end-of-archive blocks)")
		}
		for _, m := range v.Manifest() {
			fmt.Printf("  %-18s %-5v content %d bytes from %d\n", m.Name, m.Role, m.ContentRange.Len(), m.ContentOffset)
		}
		if _, err := io.Copy(&archive, v); err != nil {
			log.Fatal(err)
		}
		v.Close()
	}
	lines, err := listTar(&archive)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Join(lines, "\n"))

	// Locate: which parts to fetch for one file.
	loc, err := tape.Locate("site/css/style.css", 8192)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("site/css/style.css: parts %d to %d\n", loc.FirstPart, loc.LastPart)
	// Output:
	// same fingerprint: true clean: true checked: 4
	// part 0: bytes 0..8192
	//   site               whole content 0 bytes from 0
	//   site/css           whole content 0 bytes from 0
	//   site/css/style.css head  content 6656 bytes from 0
	// part 1: bytes 8192..16384
	//   site/css/style.css body  content 8192 bytes from 6656
	// part 2: bytes 16384..24576
	//   site/css/style.css tail  content 6152 bytes from 14848
	//   site/index.html    whole content 15 bytes from 0
	// part 3: bytes 24576..25088
	//   (the end-of-archive blocks)
	// site/ 0 bytes
	// site/css/ 0 bytes
	// site/css/style.css 21000 bytes
	// site/index.html 15 bytes
	// site/css/style.css: parts 0 to 2
}

// Open a ZIP (here one made by a tape, written to a file), list it and read a member in place.
func ExampleOpenArchive() {
	tape, _ := tartape.New(tartape.WithFormat(tartape.FormatZip), tartape.WithDeflate(6))
	defer tape.Close()
	tape.AddDirectory("docs")
	tape.AddBytes("docs/readme.txt", []byte(strings.Repeat("hello, archive\n", 100)))
	tape.AddSymlink("docs/latest", "readme.txt")
	dir, _ := os.MkdirTemp("", "tartape-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "docs.zip")
	f, _ := os.Create(path)
	tape.WriteTo(f)
	f.Close()

	a, err := tartape.OpenArchive(path)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	for _, e := range a.Entries() {
		fmt.Printf("%-16s %-7s %v %5d method %d\n", e.Name, e.Kind, e.Mode, e.Size, e.Method)
	}
	e, _ := a.Find("docs/readme.txt")
	m, err := a.Open(e.Index)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	m.Seek(-15, io.SeekEnd)
	last, _ := io.ReadAll(m)
	fmt.Printf("last line: %q\n", last)
	// Output:
	// docs/            dir     drwxr-xr-x     0 method 0
	// docs/readme.txt  file    -rw-r--r--  1500 method 8
	// docs/latest      symlink Lrwxrwxrwx    10 method 0
	// last line: "hello, archive\n"
}

// Rebuild a bundle without extracting it: keep the text files of a ZIP, as a TAR.
func ExampleTape_AddMember() {
	src, _ := tartape.New(tartape.WithFormat(tartape.FormatZip))
	defer src.Close()
	src.AddBytes("a.txt", []byte("alpha\n"))
	src.AddBytes("b.bin", []byte{0, 1, 2})
	src.AddBytes("c.txt", []byte("gamma\n"))
	var zipped bytes.Buffer
	src.WriteTo(&zipped)

	a, err := tartape.OpenArchiveBytes(zipped.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	out, _ := tartape.New() // a TAR
	defer out.Close()
	for _, e := range a.Entries() {
		if strings.HasSuffix(e.Name, ".txt") {
			if err := out.AddMember(a, e.Index, "text/"+e.Name); err != nil {
				log.Fatal(err)
			}
		}
	}
	var tarred bytes.Buffer
	out.WriteTo(&tarred)
	lines, _ := listTar(&tarred)
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// text/a.txt 6 bytes
	// text/c.txt 6 bytes
}

// Serve a directory's archive over HTTP like a static file: ranges, resumes and conditional
// requests work, and a source that changes under the server cuts the transfer short (reported to
// OnError) instead of sending a wrong byte.
func ExampleHandler() {
	site := exampleSite()
	defer os.RemoveAll(filepath.Dir(site))
	tape, err := tartape.New()
	if err != nil {
		log.Fatal(err)
	}
	defer tape.Close()
	if err := tape.AddPath(site, ""); err != nil {
		log.Fatal(err)
	}
	handler := &tartape.Handler{
		Tape:    tape,
		Name:    "site.tar",
		OnError: func(r *http.Request, err error) { log.Printf("%s: %v", r.URL.Path, err) },
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// Resume a download at byte 10,000.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/site.tar", nil)
	req.Header.Set("Range", "bytes=10000-")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status)
	fmt.Println(resp.Header.Get("Content-Range"), len(body), "bytes")
	fmt.Println(resp.Header.Get("Content-Disposition"))

	// Ask again with the ETag: nothing changed.
	req.Header.Del("Range")
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// 206 Partial Content
	// bytes 10000-25087/25088 15088 bytes
	// attachment; filename=site.tar
	// 304 Not Modified
}
