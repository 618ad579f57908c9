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

# The uploader's part loop on a tree of 13 MiB in S3-sized parts (5 MiB at least but the last):
# each part's range and MD5 equal the bytes `tartape create` writes, cut with split(1) and hashed
# by md5sum, and the multipart ETag equals the one `tartape record --part-size` predicts.
mkdir -p "$work/up/sub"
head -c $((9 * 1048576 + 77)) /dev/urandom > "$work/up/big.bin"
for i in $(seq 1 40); do head -c $((i * 4099)) /dev/urandom > "$work/up/sub/f$i"; done
head -c $((3 * 1048576)) /dev/urandom > "$work/up/sub/tail.bin"
target/release/tartape create --quiet "$work/up" > "$work/up.tar"
for part in 5242880 6291456; do
  "$bin/multipart" "$part" "$work/up" > "$work/mp.txt"
  (cd "$work" && rm -f p.* && split -a 3 -d -b "$part" up.tar p. && for f in p.*; do md5sum < "$f" | cut -c1-32; done) > "$work/want-md5"
  check "multipart $part: each part's MD5 is md5sum's of that part" \
    cmp -s "$work/want-md5" <(sed -n 's/^part [0-9]*: .* md5 \([0-9a-f]*\):.*/\1/p' "$work/mp.txt")
  check "multipart $part: each part's range follows the last" python3 - "$work/mp.txt" "$part" "$(wc -c < "$work/up.tar")" <<'PY'
import re, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("part ")]
size, total = int(sys.argv[2]), int(sys.argv[3])
assert len(lines) == -(-total // size), len(lines)
for i, l in enumerate(lines):
    n, a, b, ln = map(int, re.match(r"part (\d+): bytes (\d+)-(\d+) \((\d+)\)", l).groups())
    assert (n, a, ln) == (i + 1, i * size, min(size, total - i * size)) and b == a + ln - 1, l
PY
  target/release/tartape record --quiet "$work/up" --catalog "$work/up.tartape" --part-size "$part" > "$work/rec.txt"
  ours=$(sed -n 's/^etag: //p' "$work/mp.txt")
  predicted=$(sed -n 's/^multipart etag ([0-9]* parts of [0-9]* bytes): //p' "$work/rec.txt")
  check "multipart $part: the ETag $ours is the one tartape record --part-size predicts" \
    test -n "$ours" -a "$ours" = "$predicted"
done

# Seekable compressed tapes (tt_tape_record_frames): frames_test checks the frame table, reads,
# resumes, catalogs and refusals; zstd and gzip decompress what it streamed to the plain TAR.
cc -std=c99 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic -Iinclude tests/c/frames_test.c \
  -Ltarget/release -ltartape -Wl,-rpath,"$(pwd)/target/release" -lpthread -o "$work/frames_test"
mkdir -p "$work/frames"
check "frames_test: table, read_at, resume, catalog, refusals" "$work/frames_test" "$work/frames"
check "frames zstd: zstd -d gives the plain TAR" bash -c "zstd -q -d -c < '$work/frames/framed.tar.zst' | cmp -s - '$work/frames/plain.tar'"
check "frames gzip: gzip -d gives the plain TAR" bash -c "gzip -d -c < '$work/frames/framed.tar.gz' | cmp -s - '$work/frames/plain.tar'"
check "frames zstd: GNU tar --zstd lists the plain TAR's names" \
  cmp -s <(tar --zstd -tf "$work/frames/framed.tar.zst") <(tar -tf "$work/frames/plain.tar")

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
