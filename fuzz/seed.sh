#!/bin/sh
# Seeds fuzz/corpus/catalog_loader (or the directory given) with catalogs of the example tree (TAR
# and ZIP, with and without checksums, deflated) and of a tree with long, non-UTF-8 and empty names,
# and fuzz/corpus/compressed_reader (or the second directory given) with TARs of both trees
# compressed by gzip, zstd, xz and bzip2 (those found). The other reader targets are seeded
# straight from ../shared/corpora (see docs/RELIABILITY.md).
#   fuzz/seed.sh [DIR [COMPRESSED_DIR]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=${1:-"$here/corpus/catalog_loader"}
packed=${2:-"$here/corpus/compressed_reader"}
mkdir -p "$out" "$packed"
cargo build --release --manifest-path "$repo/Cargo.toml" --bin tartape >/dev/null
bin="$repo/target/release/tartape"
tree=$(mktemp -d)
trap 'rm -rf "$tree" "$tree.tar"' EXIT
mkdir -p "$tree/d/sub" "$tree/$(printf 'n%0150d' 0)"
printf 'hello\n' > "$tree/d/a.txt"
: > "$tree/d/empty"
head -c 70000 /dev/urandom > "$tree/d/sub/bin"
ln -s a.txt "$tree/d/link"
printf 'x' > "$tree/d/$(printf 'caf\351')"
i=0
for dir in "$repo/examples/site" "$tree"; do
    for opts in "" "--md5" "--format zip" "--format zip --md5" "--format zip --deflate" "--keep-owners"; do
        i=$((i + 1))
        # shellcheck disable=SC2086
        "$bin" record "$dir" --catalog "$out/seed-$i.catalog" $opts >/dev/null
    done
done
j=0
for dir in "$repo/examples/site" "$tree"; do
    j=$((j + 1))
    "$bin" create -o "$tree.tar" "$dir" >/dev/null
    for c in "gzip -n" zstd xz bzip2; do
        set -- $c
        command -v "$1" >/dev/null || continue
        $c -c < "$tree.tar" > "$packed/seed-$j.tar.$1"
    done
    # Two gzip members and two zstd frames, as BGZF and the seekable format write them.
    head -c 3000 "$tree.tar" | gzip -n -c > "$packed/seed-$j-members.tar.gz"
    tail -c +3001 "$tree.tar" | gzip -n -c >> "$packed/seed-$j-members.tar.gz"
    if command -v zstd >/dev/null; then
        head -c 3000 "$tree.tar" | zstd -q -c > "$packed/seed-$j-frames.tar.zst"
        tail -c +3001 "$tree.tar" | zstd -q -c >> "$packed/seed-$j-frames.tar.zst"
    fi
    # Seekable archives (frames of 64 KiB, the zstd one with its seek table), and their catalogs.
    "$bin" create --seekable --frame-size 64K -o "$packed/seed-$j-seekable.tar.zst" "$dir" >/dev/null
    "$bin" create --seekable --compress gzip --frame-size 64K -o "$packed/seed-$j-seekable.tar.gz" "$dir" >/dev/null
    "$bin" record "$dir" --zstd --frame-size 64K --catalog "$out/seed-frames-$j.catalog" >/dev/null
done
rm -f "$tree.tar"
echo "$i catalogs in $out, compressed TARs in $packed"
