package tartape

/*
#include <tartape.h>
*/
import "C"

import (
	"errors"
	"io/fs"
)

// Status is a tartape status code, the tt_status of the C API. Like syscall.Errno, each error
// status is itself an error value, so errors.Is(err, tartape.ErrChanged) tests any error returned
// by this package for that status.
type Status int32

// The statuses of the C API, with the same stable numbers. StatusOK and StatusEOF are successes and
// never returned as errors; every other one is an error value.
const (
	StatusOK  Status = 0 // success
	StatusEOF Status = 1 // success, and there is nothing more

	ErrInvalidArgument Status = 10 // an argument was out of range or malformed
	ErrInvalidName     Status = 11 // an archive name was refused (absolute, "..", NUL, empty, duplicate)
	ErrState           Status = 12 // the call does not fit the tape's state (adding after sealing, closed tape)
	ErrNotFound        Status = 13 // what was asked for does not exist
	ErrUnsupported     Status = 14 // not supported (a special file in strict mode, ...)
	ErrNotRandomAccess Status = 15 // the bytes cannot be read at random (an AddFromMemory entry)
	ErrIO              Status = 30 // an operating-system error reading a source or writing an output
	ErrChanged         Status = 31 // a source changed after it was added: size, mtime, identity, or gone
	ErrSizeMismatch    Status = 32 // an entry got more or fewer bytes than it declared
	ErrCorrupt         Status = 33 // an archive or catalog is malformed, truncated or altered
	ErrLimit           Status = 34 // a safety limit was reached
	ErrCallback        Status = 35 // a caller's callback (a Go io.ReaderAt or io.Reader) failed
	ErrPanic           Status = 99 // a bug inside tartape was caught; Close the tape
)

// The numbers above are the C API's: these lines do not compile if they differ.
var (
	_ [0]struct{} = [int(StatusOK) - int(C.TT_STATUS_OK)]struct{}{}
	_ [0]struct{} = [int(StatusEOF) - int(C.TT_STATUS_EOF)]struct{}{}
	_ [0]struct{} = [int(ErrInvalidArgument) - int(C.TT_STATUS_INVALID_ARGUMENT)]struct{}{}
	_ [0]struct{} = [int(ErrInvalidName) - int(C.TT_STATUS_INVALID_NAME)]struct{}{}
	_ [0]struct{} = [int(ErrState) - int(C.TT_STATUS_STATE)]struct{}{}
	_ [0]struct{} = [int(ErrNotFound) - int(C.TT_STATUS_NOT_FOUND)]struct{}{}
	_ [0]struct{} = [int(ErrUnsupported) - int(C.TT_STATUS_UNSUPPORTED)]struct{}{}
	_ [0]struct{} = [int(ErrNotRandomAccess) - int(C.TT_STATUS_NOT_RANDOM_ACCESS)]struct{}{}
	_ [0]struct{} = [int(ErrIO) - int(C.TT_STATUS_IO)]struct{}{}
	_ [0]struct{} = [int(ErrChanged) - int(C.TT_STATUS_CHANGED)]struct{}{}
	_ [0]struct{} = [int(ErrSizeMismatch) - int(C.TT_STATUS_SIZE_MISMATCH)]struct{}{}
	_ [0]struct{} = [int(ErrCorrupt) - int(C.TT_STATUS_CORRUPT)]struct{}{}
	_ [0]struct{} = [int(ErrLimit) - int(C.TT_STATUS_LIMIT)]struct{}{}
	_ [0]struct{} = [int(ErrCallback) - int(C.TT_STATUS_CALLBACK)]struct{}{}
	_ [0]struct{} = [int(ErrPanic) - int(C.TT_STATUS_PANIC)]struct{}{}
)

// String is the C name of the status ("CHANGED", "SIZE_MISMATCH", ...).
func (s Status) String() string { return C.GoString(C.tt_status_name(C.int32_t(s))) }

// Error makes each error status usable as an error value and an errors.Is target.
func (s Status) Error() string { return "tartape: " + s.String() }

// Fatal reports whether the status stops a tape's stream for good (30 and up). A sealed tape still
// answers ReadAt and its accessors after a fatal status.
func (s Status) Fatal() bool { return C.tt_status_is_fatal(C.int32_t(s)) != 0 }

// Is lets errors.Is match the standard library's equivalents: ErrNotFound is fs.ErrNotExist and
// ErrUnsupported is errors.ErrUnsupported.
func (s Status) Is(target error) bool {
	switch target {
	case fs.ErrNotExist:
		return s == ErrNotFound
	case errors.ErrUnsupported:
		return s == ErrUnsupported
	}
	return false
}

// Error is an error returned by this package: the status, the operation and the tape's message
// (what went wrong, naming the entry). Err is the Go error behind it, if any (for ErrCallback, the
// error returned by the caller's io.Reader or io.ReaderAt).
type Error struct {
	Status  Status // the status of the failing call
	Op      string // the Go method, "AddPath", "ReadAt", "Stream.Next", ...
	Message string // the tape's message
	Err     error  // the underlying Go error, or nil
}

// Error formats the error as "tartape: Op: STATUS: message".
func (e *Error) Error() string {
	msg := "tartape: " + e.Op + ": " + e.Status.String()
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil && (e.Message == "" || e.Status == ErrCallback) {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrX) true when err carries status ErrX.
func (e *Error) Is(target error) bool {
	if s, ok := target.(Status); ok {
		return s == e.Status
	}
	return e.Status.Is(target)
}

// Unwrap returns the underlying Go error, if any.
func (e *Error) Unwrap() error { return e.Err }

func newError(status Status, op, message string) *Error {
	return &Error{Status: status, Op: op, Message: message}
}

func errClosed(op string) error { return newError(ErrState, op, "the tape is closed") }
