"""Our Python binding in-process, against the C loop (bench/c/tt_stream) over the same tape.

Builds a tape of DIR (MD5 off, as tt_stream without --md5), then consumes Tape.play() (or, with
--readinto, Tape.as_file().readinto into one reused 1 MiB buffer; with --write-to, Tape.write_to into
a writer that counts) and counts the bytes. Loads the
binding from bindings/python/src and the library from target/release (TARTAPE_LIBRARY), the same
library the C loop links. Prints one JSON line.
Usage: python binding_play.py DIR [--readinto | --write-to] [--md5]
"""

import json
import sys
import time


def main() -> int:
    import tartape

    directory = sys.argv[1]
    t0 = time.perf_counter()
    builder = tartape.TapeBuilder()
    builder.md5 = "--md5" in sys.argv
    builder.add_path(directory)
    tape = builder.build()
    t1 = time.perf_counter()
    total = 0
    if "--write-to" in sys.argv:

        class Counter:
            n = 0

            def write(self, b: memoryview) -> int:
                self.n += len(b)
                return len(b)

        sink = Counter()
        total = tape.write_to(sink)
        if sink.n != total:
            print(f"binding_play: write_to says {total}, the writer got {sink.n}", file=sys.stderr)
            return 1
    elif "--readinto" in sys.argv:
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        with tape.as_file() as f:
            while True:
                n = f.readinto(view)
                if not n:
                    break
                total += n
    else:
        for chunk in tape.play():
            total += len(chunk)
    t2 = time.perf_counter()
    if total != tape.total_size:
        print(f"binding_play: {total} bytes, the tape says {tape.total_size}", file=sys.stderr)
        return 1
    print(json.dumps({"bytes": total, "scan_seconds": round(t1 - t0, 6),
                      "stream_seconds": round(t2 - t1, 6), "seconds": round(t2 - t0, 6)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
