#!/usr/bin/env bash
# Runs the C examples and checks what they write with GNU tar, bsdtar and Python's tarfile.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=target/release/examples-c
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}

# The header compiles on its own, included twice, as C99 and as C++, with every warning an error.
printf '#include <tartape.h>\n#include <tartape.h>\nint main(void) { return tt_version() == 0; }\n' > "$work/h.c"
cp "$work/h.c" "$work/h.cpp"
check "header alone, twice, as C99" cc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -c "$work/h.c" -o "$work/h.o"
check "header alone, twice, as C11" cc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude -c "$work/h.c" -o "$work/h.o"
check "header alone, twice, as C++17" c++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -c "$work/h.cpp" -o "$work/h.o"

"$bin/stream_dir" examples/site > "$work/site.tar" 2> "$work/md5.txt"
target/release/tartape create --quiet examples/site > "$work/cli.tar"
check "stream_dir equals the command line" cmp -s "$work/site.tar" "$work/cli.tar"
check "GNU tar lists stream_dir output" tar tf "$work/site.tar"
check "bsdtar lists stream_dir output" bsdtar tf "$work/site.tar"
mkdir -p "$work/x" && tar xf "$work/site.tar" -C "$work/x"
check "extracted tree equals the source" diff -r examples/site "$work/x/site"
check "FILE_END MD5s equal md5sum" bash -c "cd examples && md5sum site/index.html | cmp -s - <(grep ' site/index.html\$' '$work/md5.txt')"

for c in gzip zstd; do
  "$bin/compress" $c 0 examples/site > "$work/site.tar.$c"
  check "compress $c: $c -d gives the plain TAR" bash -c "$c -d -c < '$work/site.tar.$c' | cmp -s - '$work/site.tar'"
done
check "compress zstd: GNU tar --zstd lists it" tar --zstd -tf "$work/site.tar.zstd"
check "compress gzip: GNU tar -z lists it" tar -ztf "$work/site.tar.gzip"

"$bin/from_memory" > "$work/mem.tar"
check "Python reads from_memory output" python3 - "$work/mem.tar" <<'PY'
import sys, tarfile
t = tarfile.open(sys.argv[1])
m = {x.name: t.extractfile(x).read() for x in t}
assert m["data/hello.txt"] == b"hello from a buffer\n", m.keys()
assert m["data/fed.bin"] == bytes(ord("a") + i % 26 for i in range(25000))
assert m["data/generated.bin"] == bytes((i * 7) % 251 for i in range(100000))
PY
check "GNU tar verifies from_memory output" tar tvf "$work/mem.tar"

size=$(wc -c < "$work/site.tar")
for off in 0 1 511 512 1000 4096 $((size / 2)) $((size - 1024)) $((size - 1)) "$size"; do
  "$bin/resume" "$off" examples/site > "$work/suffix" 2>/dev/null
  check "resume at $off equals the suffix" cmp -s "$work/suffix" <(tail -c +$((off + 1)) "$work/site.tar")
  "$bin/read_range" "$off" 3000 examples/site > "$work/range"
  check "read_range at $off equals the bytes" cmp -s "$work/range" <(tail -c +$((off + 1)) "$work/site.tar" | head -c 3000)
done

for part in 512 1536 4096 1048576; do
  check "multipart with parts of $part bytes reassembles the archive" bash -c "\"$bin/multipart\" $part examples/site > /dev/null"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
