#!/usr/bin/env bash
# --align for real: on a loop-mounted XFS (reflinks on), `tartape create --align 4K -o FILE` of a
# tree beside it writes an archive that shares its files' blocks: the archive is the streamed one
# byte for byte, GNU tar, bsdtar and Python list and read it, and the disk use grows by far less
# than its size (the unaligned archive, for contrast, takes its whole size). Needs root, a loop
# device and mkfs.xfs (xfsprogs): without them it says so loudly and skips.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CARGO_TARGET_DIR:-target}/release/tartape
mkfs=$(command -v mkfs.xfs || echo /usr/sbin/mkfs.xfs)
skip() { echo "*** SKIPPED the reflink check: $* ***"; exit 0; }
[ "$(id -u)" = 0 ] || skip "not root (mount -o loop needs it)"
[ -x "$mkfs" ] || skip "no mkfs.xfs (apt-get install xfsprogs)"
[ -x "$bin" ] || { echo "build first: $bin is missing" >&2; exit 1; }
work=$(mktemp -d)
mnt=$work/mnt
cleanup() { cd /; if mountpoint -q "$mnt"; then umount "$mnt"; fi; rm -rf "$work"; }
trap cleanup EXIT
truncate -s 512M "$work/xfs.img"
"$mkfs" -q -m reflink=1 "$work/xfs.img"
mkdir "$mnt"
mount -o loop "$work/xfs.img" "$mnt" 2>"$work/mount.err" || skip "mount -o loop failed: $(cat "$work/mount.err")"
mkdir -p "$mnt/tree/sub"
for i in 0 1 2 3; do head -c $((24 * 1048576 + i * 777)) /dev/urandom > "$mnt/tree/f$i"; done
for i in $(seq 1 50); do head -c $((i * 97)) /dev/urandom > "$mnt/tree/sub/s$i"; done
printf 'hello\n' > "$mnt/tree/sub/hello.txt"
sync
used() { sync; df --output=used -B1 "$mnt" | tail -1 | tr -d ' '; }
cd "$mnt"
before=$(used)
"$OLDPWD/$bin" create tree --align 4K -o aligned.tar
aligned_extra=$(( $(used) - before ))
size=$(stat -c %s aligned.tar)
"$OLDPWD/$bin" create tree --align 4K | cmp - aligned.tar
before=$(used)
"$OLDPWD/$bin" create tree -o plain.tar
plain_extra=$(( $(used) - before ))
echo "aligned archive: $size bytes, disk use grew by $aligned_extra bytes; unaligned: grew by $plain_extra"
[ "$aligned_extra" -lt $((size / 20)) ] || { echo "FAIL: the aligned archive shares no blocks ($aligned_extra of $size)"; exit 1; }
[ "$plain_extra" -gt $((size / 2)) ] || { echo "FAIL: the unaligned archive should take its size ($plain_extra)"; exit 1; }
tar tf aligned.tar > /dev/null && bsdtar tf aligned.tar > /dev/null
python3 - aligned.tar <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        if m.isfile() and m.size:
            assert m.offset_data % 4096 == 0, (m.name, m.offset_data)
            data = t.extractfile(m).read()
            assert data == open(m.name, "rb").read(), m.name
print("Python's tarfile: every file's content at a multiple of 4096, equal to its source")
PY
mkdir x && tar xf aligned.tar -C x && diff -r tree x/tree
echo "reflink check passed"
