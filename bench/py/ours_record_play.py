"""Our Python package doing what bench/py/tartape3_py.py does with TarTape 3.0.3: record DIR to a
catalog, then consume play() and count the bytes.

Loads the binding from bindings/python/src and the library from target/release (TARTAPE_LIBRARY).
The recording is tartape.record's walk and atomic catalog save (TapeBuilder + save, so that MD5
events can be switched off as TarTape's play() does not hash without checksums). With --checksum,
the recording reads every file for its MD5 and CRC-32 (record(checksum=True)) and play() hashes
again (MD5 in every FileEnd); without it neither hashes. The catalog goes to a fresh temporary
directory, removed afterwards. Prints one JSON line.
Usage: python ours_record_play.py DIR [--checksum]
"""

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    import tartape

    directory = Path(sys.argv[1])
    checksum = "--checksum" in sys.argv
    scratch = Path(tempfile.mkdtemp(prefix="ours-bench-"))
    try:
        t0 = time.perf_counter()
        with tartape.TapeBuilder(md5=checksum, checksums=checksum) as builder:
            builder.add_path(directory)
            tape = builder.build()
        tape.save(scratch / f"{directory.name}.tartape")
        t1 = time.perf_counter()
        total = 0
        md5s = []

        def on_event(event):
            if event.type == "file_end" and event.md5:
                md5s.append(event.md5)

        for chunk in tape.play(on_event=on_event):
            total += len(chunk)
        t2 = time.perf_counter()
        size = tape.total_size
        tape.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if total != size:
        print(f"ours_record_play: streamed {total} bytes, the tape says {size}", file=sys.stderr)
        return 1
    print(json.dumps({"bytes": total, "checksum": checksum, "md5s": len(md5s),
                      "record_seconds": round(t1 - t0, 6), "play_seconds": round(t2 - t1, 6),
                      "seconds": round(t2 - t0, 6)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
