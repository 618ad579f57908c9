package tartape

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func get(t *testing.T, url string, headers ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestHandlerServesTheArchiveLikeAStaticFile(t *testing.T) {
	tape := treeTape(t)
	want := whole(t, tape)
	mod := time.Unix(1_700_000_000, 0)
	srv := httptest.NewServer(&Handler{Tape: tape, Name: "sité.tar", ModTime: mod})
	defer srv.Close()

	resp, body, err := get(t, srv.URL)
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Fatalf("whole: %v %d %d bytes", err, resp.StatusCode, len(body))
	}
	fp, _ := tape.Fingerprint()
	etag := `"` + fp + `"`
	h := resp.Header
	for k, v := range map[string]string{
		"ETag":                etag,
		"Content-Type":        "application/x-tar",
		"Accept-Ranges":       "bytes",
		"Content-Length":      fmt.Sprint(len(want)),
		"Last-Modified":       mod.UTC().Format(http.TimeFormat),
		"Content-Disposition": "attachment; filename*=utf-8''sit%C3%A9.tar",
	} {
		if h.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, h.Get(k), v)
		}
	}
	// Ranges, across header boundaries, open-ended and suffix.
	for _, r := range [][2]int{{0, 0}, {500, 1500}, {1023, 1024}, {len(want) - 10, len(want) - 1}} {
		resp, body, err := get(t, srv.URL, "Range", fmt.Sprintf("bytes=%d-%d", r[0], r[1]))
		if err != nil || resp.StatusCode != 206 || !bytes.Equal(body, want[r[0]:r[1]+1]) {
			t.Fatalf("range %v: %v %d", r, err, resp.StatusCode)
		}
	}
	if _, body, _ := get(t, srv.URL, "Range", "bytes=-100"); !bytes.Equal(body, want[len(want)-100:]) {
		t.Fatal("suffix range")
	}
	// Several ranges: multipart/byteranges.
	resp, body, _ = get(t, srv.URL, "Range", "bytes=0-9,2000-2009")
	if resp.StatusCode != 206 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") ||
		!bytes.Contains(body, want[2000:2010]) {
		t.Fatalf("multipart: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Conditions.
	for _, c := range []struct {
		headers []string
		status  int
	}{
		{[]string{"If-None-Match", etag}, 304},
		{[]string{"If-Match", `"other"`}, 412},
		{[]string{"Range", "bytes=10-19", "If-Range", etag}, 206},
		{[]string{"Range", "bytes=10-19", "If-Range", `"other"`}, 200},
		{[]string{"Range", fmt.Sprintf("bytes=%d-", len(want))}, 416},
		{[]string{"If-Modified-Since", mod.UTC().Format(http.TimeFormat)}, 304},
	} {
		resp, _, _ := get(t, srv.URL, c.headers...)
		if resp.StatusCode != c.status {
			t.Errorf("%v: %d, want %d", c.headers, resp.StatusCode, c.status)
		}
	}
}

func TestHandlerCutsTheResponseWhenASourceChangesThenAnswers503(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "grow")
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "big.bin"), pattern(4<<20), 0o644))
	tape := newTape(t)
	must(t, tape.AddPath(dir, ""))
	must(t, tape.Seal())
	var mu sync.Mutex
	var reported []error
	srv := httptest.NewServer(&Handler{Tape: tape, Name: "grow.tar", OnError: func(r *http.Request, err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}})
	defer srv.Close()

	f, err := os.OpenFile(filepath.Join(dir, "big.bin"), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.Write([]byte("appended"))
	must(t, err)
	must(t, f.Close())

	resp, body, err := get(t, srv.URL)
	size, _ := tape.Size()
	if resp.StatusCode == 200 && (err == nil || int64(len(body)) >= size) {
		t.Fatalf("a complete-looking response: %v, %d of %d bytes", err, len(body), size)
	}
	if resp.StatusCode == 200 && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("the transfer is incomplete, not %v", err)
	}
	mu.Lock()
	if len(reported) == 0 || !errors.Is(reported[0], ErrChanged) || !strings.Contains(reported[0].Error(), "big.bin") {
		t.Fatalf("OnError got %v", reported)
	}
	mu.Unlock()
	resp, body, _ = get(t, srv.URL)
	if resp.StatusCode != 503 || !strings.Contains(string(body), "big.bin") {
		t.Fatalf("after the failure: %d %q", resp.StatusCode, body)
	}
}

func TestViewIsAReadSeekerOverTheArchive(t *testing.T) {
	tape := treeTape(t)
	want := whole(t, tape)
	v, err := tape.View()
	must(t, err)
	if _, err := v.Seek(1000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(v)
	if err != nil || !bytes.Equal(got, want[1000:]) {
		t.Fatalf("view from 1000: %v", err)
	}
	deflated := newTape(t, WithFormat(FormatZip), WithDeflate(6))
	must(t, deflated.AddBytes("a.txt", []byte("aaaa")))
	if _, err := deflated.View(); !errors.Is(err, ErrNotRandomAccess) {
		t.Fatalf("deflated view: %v", err)
	}
	srv := httptest.NewServer(&Handler{Tape: deflated, Name: "d.zip"})
	defer srv.Close()
	if resp, _, _ := get(t, srv.URL); resp.StatusCode != 501 {
		t.Fatalf("a deflated tape: %d", resp.StatusCode)
	}
}
