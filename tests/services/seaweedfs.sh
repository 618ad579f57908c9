#!/usr/bin/env bash
# Builds SeaweedFS's `weed` (the real S3-compatible server the object-storage tests use) once per
# machine into ~/.cache/tartape-test/weed-VERSION and prints its path. `go install` refuses the
# module (its go.mod has replace directives), so the module source is downloaded and built in a
# writable copy. About 10 minutes and 2 GiB of module cache on 2 cores; later calls are instant.
#   tests/services/seaweedfs.sh            # build if needed, print the path
#   tests/services/seaweedfs.sh --cached   # print the path if built, else exit 3
set -euo pipefail
version=v0.0.0-20261109003541-7506e5f91cd6
cache=${TARTAPE_TEST_CACHE:-$HOME/.cache/tartape-test}
bin=$cache/weed-$version
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
# --cached: only say where it is; exit 3 when it has not been built.
[ "${1:-}" = --cached ] && exit 3
command -v go >/dev/null || { echo "seaweedfs.sh: go is needed to build weed" >&2; exit 1; }
mkdir -p "$cache"
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/seaweedfs/seaweedfs@$version" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$dir/." "$work/src"
chmod -R u+w "$work/src"
echo "seaweedfs.sh: building weed $version (once; about 10 minutes)" >&2
(cd "$work/src" && go build -o "$work/weed" ./weed)
mv "$work/weed" "$bin"
echo "$bin"
