"""Python TarTape 3.0.3 (PyPI) in-process: tartape.record(DIR), then consume play() and count bytes.

Run with the interpreter of bench/.venv-tartape3 (its package name clashes with ours). The catalog
goes to a fresh temporary directory, and HOME points to another one, so TarTape's global hash cache
(~/.tartape/hash_cache, which lets a second recording of an unchanged tree skip hashing) starts
empty: every run records afresh, as the first recording of a tree does. Both are removed afterwards.
With --checksum, record hashes every file with MD5 (checksum="md5") and play() hashes again while
streaming; without it neither hashes. Prints one JSON line.
Usage: python tartape3_py.py DIR [--checksum]
"""

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    directory = Path(sys.argv[1])
    checksum = "--checksum" in sys.argv
    scratch = Path(tempfile.mkdtemp(prefix="tartape3-bench-"))
    os.environ["HOME"] = str(scratch / "home")
    import tartape

    if tartape.__version__ != "3.0.3":
        print(f"tartape3_py: found tartape {tartape.__version__}, expected 3.0.3", file=sys.stderr)
        return 1
    try:
        t0 = time.perf_counter()
        tape = tartape.record(directory, catalog_path=scratch / f"{directory.name}.tartape",
                              checksum="md5" if checksum else False, overwrite=True)
        t1 = time.perf_counter()
        total = 0
        md5s = []

        def on_event(event):
            if event.type == "file_end" and event.metadata.checksum:
                md5s.append(event.metadata.checksum)

        for chunk in tape.play(on_event=on_event):
            total += len(chunk)
        t2 = time.perf_counter()
        size = tape.total_size
        tape.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if total != size:
        print(f"tartape3_py: streamed {total} bytes, the tape says {size}", file=sys.stderr)
        return 1
    print(json.dumps({"bytes": total, "checksum": checksum, "md5s": len(md5s), "record_seconds": round(t1 - t0, 6),
                      "play_seconds": round(t2 - t1, 6), "seconds": round(t2 - t0, 6)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
