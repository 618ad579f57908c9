#!/bin/sh
# Seeds fuzz/corpus/catalog_loader (or the directory given) with catalogs of the example tree (TAR
# and ZIP, with and without checksums, deflated) and of a tree with long, non-UTF-8 and empty names. The reader targets are
# seeded straight from ../shared/corpora (see docs/RELIABILITY.md).
#   fuzz/seed.sh [DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=${1:-"$here/corpus/catalog_loader"}
mkdir -p "$out"
cargo build --release --manifest-path "$repo/Cargo.toml" --bin tartape >/dev/null
bin="$repo/target/release/tartape"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
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
echo "$i catalogs in $out"
