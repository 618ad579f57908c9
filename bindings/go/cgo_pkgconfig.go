//go:build tartape_pkgconfig

package tartape

// With `-tags tartape_pkgconfig` the package finds an installed libtartape through pkg-config
// (`make install` installs tartape.pc; set PKG_CONFIG_PATH for a non-standard PREFIX).

/*
#cgo pkg-config: tartape
*/
import "C"
