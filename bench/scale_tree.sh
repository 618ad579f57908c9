#!/usr/bin/env bash
# The trees of the record_scale group, made once and kept under bench/data/scale:
#   bench/scale_tree.sh tree1m     bench/data/scale/tree1m: 1,000 directories of 1,000 empty files
#                                  (1,001,001 entries), on the root file system
#   bench/scale_tree.sh mount10m   bench/data/scale/mnt/tree10m: 10,000 directories of 1,000 empty
#                                  files (10,010,001 entries), made inside an XFS image
#                                  (bench/data/scale/xfs10m.img, sparse, about 6 GB used) and
#                                  loop-mounted at bench/data/scale/mnt; prints the mount point.
#                                  The root file system has only 16M inodes, hence the image.
#                                  Needs root, mkfs.xfs (xfsprogs) and loop devices.
#   bench/scale_tree.sh umount     unmounts it (run.py does this when the group ends, even on error)
# Each tree is made once: a marker file says it is complete; a partial one is made again.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=bench/data/scale
mkdir -p "$scale"

make_tree() { # DIR DIRS FILES
  python3 - "$1" "$2" "$3" <<'EOF'
import os, shutil, sys
root, dirs, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if os.path.exists(root):
    shutil.rmtree(root)
os.makedirs(root)
for d in range(dirs):
    path = os.path.join(root, f"d{d:05}")
    os.mkdir(path)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for f in range(files):
            os.mknod(f"f{f:04}", 0o644 | 0o100000, dir_fd=fd)
    finally:
        os.close(fd)
    if d % 500 == 0:
        print(f"{root}: {d}/{dirs} directories", file=sys.stderr)
EOF
}

case "${1:-}" in
  tree1m)
    if [ ! -e "$scale/tree1m.complete" ]; then
      make_tree "$scale/tree1m" 1000 1000
      touch "$scale/tree1m.complete"
    fi
    echo "$scale/tree1m"
    ;;
  mount10m)
    img=$scale/xfs10m.img mnt=$scale/mnt
    mkdir -p "$mnt"
    if ! mountpoint -q "$mnt"; then
      if [ ! -e "$scale/xfs10m.img.complete" ]; then
        rm -f "$img"
        truncate -s 24G "$img"
        mkfs.xfs -q -f "$img"
        mount -o loop "$img" "$mnt"
        trap 'umount "$mnt"' ERR
        make_tree "$mnt/tree10m" 10000 1000
        sync -f "$mnt"
        trap - ERR
        touch "$scale/xfs10m.img.complete"
      else
        mount -o loop "$img" "$mnt"
      fi
    fi
    echo "$mnt/tree10m"
    ;;
  umount)
    mnt=$scale/mnt
    if mountpoint -q "$mnt"; then umount "$mnt"; fi
    ;;
  *)
    echo "usage: $0 tree1m|mount10m|umount" >&2
    exit 2
    ;;
esac
