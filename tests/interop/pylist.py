"""Lists a TAR archive with Python's tarfile as JSON lines, one per entry: name, type, size, mode,
mtime, linkname, and the sha256 of the content (regular files). Names and link targets are also
given in hex, since they may not be UTF-8.

Usage: python3 pylist.py [--headers-only] ARCHIVE|-   (plain or compressed with gzip, bzip2, xz)
With --headers-only, contents are not read (a file archive is read with seeks, so a huge sparse
archive lists fast), and from standard input only the first entry is listed (for an archive cut
after its first header).
Warnings and errors go to standard error; any error exits with status 1.
"""
import hashlib
import json
import os
import sys
import tarfile


def main():
    args = sys.argv[1:]
    headers_only = bool(args) and args[0] == "--headers-only"
    if headers_only:
        args = args[1:]
    from_stdin = args[0] == "-"
    src = sys.stdin.buffer if from_stdin else open(args[0], "rb")
    # Standard input in stream mode (never seeks); files in random-access mode (skips by seeking).
    # Either may be compressed (gzip, bzip2, xz: tarfile detects it).
    mode = "r|*" if from_stdin else "r:*"
    with tarfile.open(fileobj=src, mode=mode, encoding="utf-8", errors="surrogateescape") as t:
        for m in t:
            name = os.fsencode(m.name) if m.name else b""
            link = os.fsencode(m.linkname) if m.linkname else b""
            e = {
                "name": m.name.encode("utf-8", "replace").decode("utf-8"),
                "name_hex": name.hex(),
                "type": m.type.decode("ascii"),
                "size": m.size,
                "mode": m.mode,
                "mtime": int(m.mtime),
                "linkname": m.linkname.encode("utf-8", "replace").decode("utf-8"),
                "linkname_hex": link.hex(),
            }
            if headers_only:
                print(json.dumps(e))
                if from_stdin:
                    return
                continue
            if m.isreg():
                h = hashlib.sha256()
                f = t.extractfile(m)
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    h.update(chunk)
                e["sha256"] = h.hexdigest()
            print(json.dumps(e))


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # any reader error is a test failure, reported on stderr
        print(f"pylist: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
