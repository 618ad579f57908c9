#!/usr/bin/env bash
# `make install PREFIX=$tmp`, then build examples-c/stream_dir.c against the installed library with
# pkg-config only, run it, and check the installed soname and links. Needs `make release` first
# (make install runs it; it is cheap when the build is up to date).
set -euo pipefail
cd "$(dirname "$0")/.."
rel="${CARGO_TARGET_DIR:-target}/release"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
pass=0 fail=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}

make --no-print-directory install PREFIX="$prefix" REL="$rel" >/dev/null
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
major=${version%%.*}; rest=${version#*.}; minor=${rest%%.*}
soname="libtartape.so.$major.$minor"

check "header installed" test -f "$prefix/include/tartape.h"
check "versioned library installed" test -f "$prefix/lib/libtartape.so.$version"
check "soname link points to the versioned library" \
  test "$(readlink "$prefix/lib/$soname")" = "libtartape.so.$version"
check "development link points to the soname" test "$(readlink "$prefix/lib/libtartape.so")" = "$soname"
check "static library installed" test -f "$prefix/lib/libtartape.a"
check "command installed" test -x "$prefix/bin/tartape"
check "man pages installed" test -f "$prefix/share/man/man1/tartape.1" -a -f "$prefix/share/man/man1/tartape-extract.1"
check "installed library's SONAME is $soname" \
  bash -c "readelf -d '$prefix/lib/libtartape.so.$version' | grep -q 'Library soname: \[$soname\]'"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
check "pkg-config knows the version" test "$(pkg-config --modversion tartape)" = "$version"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -pedantic examples-c/stream_dir.c \
  $(pkg-config --cflags --libs tartape) -Wl,-rpath,"$prefix/lib" -o "$work/stream_dir"
check "stream_dir links the installed soname" \
  bash -c "readelf -d '$work/stream_dir' | grep -q 'Shared library: \[$soname\]'"
check "stream_dir resolves the installed library" \
  bash -c "ldd '$work/stream_dir' | grep -q '$prefix/lib/$soname'"

"$work/stream_dir" examples/site > "$work/site.tar" 2> "$work/md5.txt"
"$prefix/bin/tartape" create --quiet examples/site > "$work/cli.tar"
check "installed stream_dir equals the installed command" cmp -s "$work/site.tar" "$work/cli.tar"
check "GNU tar lists it without a warning" bash -c "tar tf '$work/site.tar' 2>&1 >/dev/null | cmp -s - /dev/null"
mkdir -p "$work/x" && tar xf "$work/site.tar" -C "$work/x"
check "extracted tree equals the source" diff -r examples/site "$work/x/site"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
