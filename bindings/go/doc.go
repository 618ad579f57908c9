// Package tartape streams deterministic TAR and ZIP archives with random access, and reads TAR
// and ZIP archives in place, over the C library libtartape (cgo).
//
// A Tape is described (AddPath, AddBytes, AddFromMemory, AddReaderAt, AddDirectory, AddSymlink),
// sealed (its layout, every offset and the total size, is then fixed) and read: as a whole with
// WriteTo, from any offset with NewReader, at random with ReadAt (an io.ReaderAt safe for
// concurrent use: upload fixed-size parts in parallel), or as a Stream of events (FileStart, Data,
// FileEnd with the content's MD5, Completed), also as a range-over-func iterator with Events.
//
// A directory can be recorded once into a catalog (Record) and opened later in any process (Open):
// the same archive, byte for byte, without walking the directory again; Verify compares it with the
// disk and Fingerprint identifies its bytes. Volumes cuts an archive in fixed-size parts, each an
// io.Reader, io.ReaderAt and io.Seeker with a manifest of the entries it holds.
//
// WithFormat(FormatZip) makes a ZIP instead of a TAR, with the same random access; WithDeflate
// deflates its files, and the tape is then stream-only. OpenArchive reads a TAR or ZIP in place: its
// listing, and each member as an io.ReadSeeker; Tape.AddMember copies members into a new tape
// without extracting them (ZIP to TAR, TAR to ZIP, some members kept and others dropped).
//
// Errors are *Error values carrying a Status and the tape's message; errors.Is(err, ErrChanged)
// and the other Err statuses test them.
//
// # Building
//
// The package links the static library of the repository it lives in:
// run `make release` at the repository's root (it builds target/release/libtartape.a), then
// `go test ./...` here. No environment variable is needed. To link an installed library instead
// (`make install` installs tartape.pc), build with `-tags tartape_pkgconfig`.
//
// # Layout of the package
//
// One file per topic, matching the C API: tape.go (the tape and adding), reader.go (ReadAt,
// NewReader), stream.go (events), memory.go (AddFromMemory feeding), readerat.go (AddReaderAt and
// its C callback), catalog.go (Record, Open, Verify, Fingerprint, Bind), volume.go (Volumes,
// manifests, Locate), archive.go (OpenArchive, Member, AddMember), errors.go.
package tartape
