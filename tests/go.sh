#!/usr/bin/env bash
# The Go binding: builds the static library it links (safe to run alone), then vets and tests the
# package with the race detector, and once more with the strict cgo pointer checks if the Go
# toolchain has them (GOEXPERIMENT=cgocheck2). Then go.mod's go line is checked to be the oldest
# release the code needs, and tests/go-outside.sh builds a program of a module outside the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null; then
  echo "go not found: skipping the Go binding" >&2
  exit 0
fi
make --no-print-directory release >/dev/null
cd bindings/go
go vet ./...
go test -race -count=1 ./...
if GOEXPERIMENT=cgocheck2 go version >/dev/null 2>&1; then
  GOEXPERIMENT=cgocheck2 go test -count=1 ./...
fi

# go.mod names the oldest Go release the code needs. With that toolchain (the go command fetches it
# from the module proxy as golang.org/toolchain) the package vets and its tests pass; where it
# cannot be fetched, the local toolchain vets at that language version (its stdversion analyzer
# flags standard-library symbols newer than go.mod). One release lower must fail to vet.
min=$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)
case "$min" in *.*.*) oldest=go$min ;; *) oldest=go$min.0 ;; esac
if GOTOOLCHAIN=$oldest go version >/dev/null 2>&1; then
  echo "go.mod says go $min: vet and tests with $oldest"
  GOTOOLCHAIN=$oldest go vet ./...
  GOTOOLCHAIN=$oldest go test -count=1 ./...
else
  echo "go.mod says go $min: $oldest unavailable, vet at language $min with the local toolchain"
  GOTOOLCHAIN=local go vet ./...
fi
lower=$(mktemp -d)
cp ./*.go ./*.c go.mod "$lower/"
major=${min%%.*}; rest=${min#*.}; minor=${rest%%.*}
sed -i "s/^go .*/go $major.$((minor - 1))/" "$lower/go.mod"
include=$(cd ../../include && pwd)
vet_lower=$(cd "$lower" && CGO_CFLAGS="-I$include" GOTOOLCHAIN=local go vet ./... 2>&1 || true)
rm -rf "$lower"
if ! grep -q "requires go$major.$minor or later" <<<"$vet_lower"; then
  echo "at go $major.$((minor - 1)) the package should fail for needing go $major.$minor; vet said:" >&2
  echo "$vet_lower" >&2
  exit 1
fi
echo "go $major.$((minor - 1)) is too old for the package, as go.mod says"
cd ../..
echo "--- bindings/go/s3upload (a module of its own, over aws-sdk-go-v2), against SeaweedFS"
(cd bindings/go/s3upload && go vet ./... && go test -count=1 ./...)
bash tests/go-outside.sh
