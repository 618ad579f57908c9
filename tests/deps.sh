#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: the real archive readers and
# compressors (gzip, zstd, xz, bzip2) we test against, pkg-config for the install check,
# valgrind, pytest, the HTTP clients (curl, wget, aria2c, Python requests) and nginx for tartape
# serve, werkzeug and uvicorn for the Python WSGI and ASGI apps, and boto3 for the S3 uploads.
# Does nothing when all is there.
set -euo pipefail
need=()
command -v bsdtar >/dev/null || need+=(libarchive-tools)
command -v 7zz >/dev/null || need+=(7zip)
command -v unzip >/dev/null || need+=(unzip)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v valgrind >/dev/null || need+=(valgrind)
command -v readelf >/dev/null || need+=(binutils)
command -v gzip >/dev/null || need+=(gzip)
command -v zstd >/dev/null || need+=(zstd)
command -v xz >/dev/null || need+=(xz-utils)
command -v bzip2 >/dev/null || need+=(bzip2)
# tartape serve's tests (cli/tests/serve.rs) use real HTTP clients; its benchmark uses nginx.
command -v curl >/dev/null || need+=(curl)
command -v wget >/dev/null || need+=(wget)
command -v aria2c >/dev/null || need+=(aria2)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
# The reflink check of --align (tests/reflink.sh) makes an XFS image and loop-mounts it.
command -v mkfs.xfs >/dev/null || [ -x /usr/sbin/mkfs.xfs ] || need+=(xfsprogs)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing Debian packages: ${need[*]} (install them, e.g. sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check pytest
python3 -c 'import requests, werkzeug, uvicorn, boto3, crc32c' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check requests werkzeug uvicorn boto3 crc32c
rustup component add rustfmt clippy >/dev/null 2>&1 || true
