//go:build !tartape_pkgconfig

package tartape

// By default the package links the static library of the repository it lives in, so that
// `make release` followed by `go test ./...` works on a fresh machine with no environment variable.
// Build with `-tags tartape_pkgconfig` to use an installed library instead (see cgo_pkgconfig.go).

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -Wl,-z,noexecstack ${SRCDIR}/../../target/release/libtartape.a -ldl -lpthread -lm
*/
import "C"
