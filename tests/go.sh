#!/usr/bin/env bash
# The Go binding: builds the static library it links (safe to run alone), then vets and tests the
# package with the race detector, and once more with the strict cgo pointer checks if the Go
# toolchain has them (GOEXPERIMENT=cgocheck2).
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
