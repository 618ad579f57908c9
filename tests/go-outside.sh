#!/usr/bin/env bash
# The Go binding from a module outside this repository, with the steps of bindings/go/README.md:
# a throwaway module in a temporary directory requires the binding, replaces it by the checkout's
# bindings/go, and builds tests/go_outside/main.go with the network off (GOPROXY=off, GOFLAGS=
# -mod=mod: nothing is downloaded, no go.sum is needed); then
#   1. linked with the static library of `make release` (the default), and
#   2. with `-tags tartape_pkgconfig` against a copy installed by `make install PREFIX=...`;
# each program archives a directory, checks it with archive/tar, and GNU tar lists it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if ! command -v go >/dev/null; then
  echo "go not found: skipping the outside-module test" >&2
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
make --no-print-directory release >/dev/null

mkdir -p "$work/data/sub" "$work/outside"
printf 'one\n' >"$work/data/one.txt"
head -c 70000 /dev/urandom >"$work/data/sub/two.bin"
cp tests/go_outside/main.go "$work/outside/"
cd "$work/outside"
export GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
go mod init example.com/outside >/dev/null 2>&1
go mod edit -require=github.com/tartape/tartape/bindings/go@v0.0.0 \
  -replace=github.com/tartape/tartape/bindings/go="$root/bindings/go"

check_archive() { # program, archive
  "$1" "$work/data" "$2"
  tar tf "$2" | sort >"$work/listed"
  printf '%s\n' data/ data/one.txt data/sub/ data/sub/two.bin notes/hello.txt | sort | diff - "$work/listed"
}

echo "--- static library (make release)"
go build -o "$work/outside-static" .
# ldd's output is taken whole before grep looks at it: `ldd | grep -q` under pipefail fails at
# random when grep exits at its first match and ldd dies of SIGPIPE writing the rest.
linked=$(ldd "$work/outside-static")
if grep -q libtartape <<<"$linked"; then
  echo "the default build should carry libtartape inside the binary" >&2; exit 1
fi
check_archive "$work/outside-static" "$work/static.tar"

echo "--- installed copy through pkg-config (-tags tartape_pkgconfig)"
(cd "$root" && make --no-print-directory install PREFIX="$work/prefix" >/dev/null)
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" CGO_LDFLAGS="-Wl,-rpath,$work/prefix/lib" \
  go build -tags tartape_pkgconfig -o "$work/outside-pc" .
linked=$(ldd "$work/outside-pc")
grep -qF "$work/prefix/lib/libtartape.so" <<<"$linked" ||
  { echo "the pkg-config build does not use the installed library" >&2; echo "$linked" >&2; exit 1; }
check_archive "$work/outside-pc" "$work/pc.tar"
cmp "$work/static.tar" "$work/pc.tar"
echo "outside module: both builds ran and wrote the same archive"
