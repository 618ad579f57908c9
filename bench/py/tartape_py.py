"""Python TarTape (PyPI 2.3.3) in-process: record DIR, then consume play() and count the bytes.

Run with the interpreter of bench/.venv-tartape-py (its package name clashes with ours). TarTape keeps
its index in DIR/.tartape; it is removed afterwards so other contenders see the same tree and every
run records afresh. play() hashes every file with MD5 (it has no switch for that). Prints one JSON line.
Usage: python tartape_py.py DIR [--chunk BYTES] [--resume-back BYTES]
"""

import json
import shutil
import sys
import time
from pathlib import Path

import tartape


def main() -> int:
    directory = Path(sys.argv[1])
    chunk = 64 * 1024
    if "--chunk" in sys.argv:
        chunk = int(sys.argv[sys.argv.index("--chunk") + 1])
    t0 = time.perf_counter()
    tape = tartape.create(directory, overwrite=True)
    t1 = time.perf_counter()
    total = 0
    md5s = 0
    try:
        for event in tape.play(chunk_size=chunk):
            if event.type == "file_data":
                total += len(event.data)
            elif event.type == "file_end" and event.metadata.md5sum:
                md5s += 1
        t2 = time.perf_counter()
        if total != tape.total_size:
            print(f"tartape_py: streamed {total} bytes, the tape says {tape.total_size}", file=sys.stderr)
            return 1
    finally:
        shutil.rmtree(directory / ".tartape", ignore_errors=True)
    print(json.dumps({"bytes": total, "md5s": md5s, "record_seconds": round(t1 - t0, 6),
                      "play_seconds": round(t2 - t1, 6), "seconds": round(t2 - t0, 6)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
