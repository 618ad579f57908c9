package tartape

import (
	"errors"
	"io"
	"log"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// View is an io.ReadSeeker (and io.ReaderAt) over the whole archive, from byte 0 to Size: what
// http.ServeContent, io.Copy or a multipart uploader wants (sealing the tape). Its reads are
// ReadAt calls, so several views of one tape may be read at once, also while a Stream runs. A
// tape with deflated ZIP entries has no size until it is written: ErrNotRandomAccess.
func (t *Tape) View() (*io.SectionReader, error) {
	size, err := t.Size()
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(t, 0, size), nil
}

// Handler serves a sealed tape's archive over HTTP the way a web server serves a static file:
// GET and HEAD with Content-Length, single and multiple byte ranges, a strong ETag (the tape's
// fingerprint), If-Match, If-None-Match, If-Range and the date conditions. net/http's
// ServeContent applies the RFC 9110 rules; the Handler gives it the ETag, the headers of an
// archive and a View of the tape, and sees the read errors ServeContent would drop.
//
// A read error (ErrChanged: a source file changed since the tape was sealed) cuts the response
// short: net/http closes the connection before the declared Content-Length, so the client sees an
// incomplete transfer, never a complete-looking wrong file. The error goes to OnError, and every
// later request gets 503 Service Unavailable with the reason, since the tape's layout no longer
// matches its sources. Seal a new tape (and make a new Handler) to serve them again: its ETag is
// new, so a client resuming an old download with If-Range gets the whole new archive.
//
// A Handler must not be copied after its first use. A stream-only tape (deflated ZIP entries) is
// answered with 501 Not Implemented: stream it with Tape.WriteTo instead.
type Handler struct {
	// Tape is the sealed tape to serve.
	Tape *Tape
	// Name is the file name sent in Content-Disposition ("site.tar"), RFC 2231-encoded when it is
	// not plain ASCII; none when empty. A name ending in ".zip" is served as application/zip,
	// any other as application/x-tar.
	Name string
	// ModTime is sent as Last-Modified and compared with If-Modified-Since, If-Unmodified-Since
	// and If-Range dates; the zero time sends none.
	ModTime time.Time
	// OnError receives every read error with the request it cut short; nil logs it with the
	// standard logger.
	OnError func(r *http.Request, err error)

	failed atomic.Pointer[error]
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := h.failed.Load(); p != nil {
		unavailable(w, *p)
		return
	}
	view, err := h.Tape.View()
	if errors.Is(err, ErrNotRandomAccess) {
		http.Error(w, "this archive is stream-only (deflated ZIP entries): it has no size or ranges", http.StatusNotImplemented)
		return
	}
	if err != nil {
		h.fail(r, err)
		unavailable(w, err)
		return
	}
	fingerprint, err := h.Tape.Fingerprint()
	if err != nil {
		h.fail(r, err)
		unavailable(w, err)
		return
	}
	hd := w.Header()
	hd.Set("ETag", `"`+fingerprint+`"`)
	if strings.HasSuffix(strings.ToLower(h.Name), ".zip") {
		hd.Set("Content-Type", "application/zip")
	} else {
		hd.Set("Content-Type", "application/x-tar")
	}
	if h.Name != "" {
		if v := mime.FormatMediaType("attachment", map[string]string{"filename": h.Name}); v != "" {
			hd.Set("Content-Disposition", v)
		}
	}
	size := view.Size()
	checked := io.NewSectionReader(&checkedReaderAt{h: h, r: r}, 0, size)
	http.ServeContent(w, r, h.Name, h.ModTime, checked)
}

func unavailable(w http.ResponseWriter, err error) {
	w.Header().Set("Retry-After", "60")
	http.Error(w, "this archive is no longer served: "+err.Error(), http.StatusServiceUnavailable)
}

// fail records err (the first one is the reason given to later requests) and reports it.
func (h *Handler) fail(r *http.Request, err error) {
	h.failed.CompareAndSwap(nil, &err)
	if h.OnError != nil {
		h.OnError(r, err)
		return
	}
	log.Printf("tartape: %s %s: %v", r.Method, r.URL.Path, err)
}

// checkedReaderAt reads the tape and reports what fails.
type checkedReaderAt struct {
	h *Handler
	r *http.Request
}

func (c *checkedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.h.Tape.ReadAt(p, off)
	if err != nil && err != io.EOF {
		c.h.fail(c.r, err)
	}
	return n, err
}
