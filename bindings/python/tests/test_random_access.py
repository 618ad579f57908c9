"""Random access: read_at, readinto_at, as_file, and reads from many threads at once."""

from __future__ import annotations

import array
import io
import random
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import tartape

from conftest import full


def test_read_at_equals_the_stream_at_every_kind_of_offset(tape: tartape.Tape) -> None:
    whole = full(tape)
    rng = random.Random(3)
    for _ in range(200):
        off = rng.randrange(len(whole) + 10)
        size = rng.choice([0, 1, 511, 512, 4096, 100_000, 2_000_000])
        assert tape.read_at(off, size) == whole[off : off + size], (off, size)
    assert tape.read_at(0, len(whole)) == whole
    assert tape.read_at(len(whole), 10) == b""
    assert tape.read_at(len(whole) + 5, 10) == b""
    with pytest.raises(tartape.InvalidArgumentError):
        tape.read_at(-1, 10)


def test_readinto_at_fills_any_writable_buffer_in_place(tape: tartape.Tape) -> None:
    whole = full(tape)
    buf = bytearray(5000)
    assert tape.readinto_at(700, buf) == 5000 and buf == whole[700:5700]
    view = memoryview(buf)[100:200]
    assert tape.readinto_at(0, view) == 100 and buf[100:200] == whole[:100]
    arr = array.array("I", [0] * 64)
    assert tape.readinto_at(512, arr) == 256 and arr.tobytes() == whole[512:768]
    tail = bytearray(3000)
    assert tape.readinto_at(len(whole) - 1000, tail) == 1000 and tail[:1000] == whole[-1000:]
    assert tape.readinto_at(0, bytearray()) == 0
    with pytest.raises(TypeError):
        tape.readinto_at(0, b"read-only")
    view.release()
    buf.extend(b"resizable again")  # no export of the buffer was left behind by readinto_at


def test_as_file_seek_and_read_equal_the_stream(tape: tartape.Tape) -> None:
    whole = full(tape)
    f = tape.as_file()
    assert isinstance(f, io.RawIOBase) and f.readable() and f.seekable() and not f.writable()
    assert len(f) == f.size == len(whole)
    assert f.read(10) == whole[:10] and f.tell() == 10
    assert f.seek(-20, io.SEEK_END) == len(whole) - 20
    assert f.read() == whole[-20:] and f.read(5) == b""
    assert f.seek(1000) == 1000 and f.seek(24, io.SEEK_CUR) == 1024
    assert f.read(3000) == whole[1024:4024]
    f.seek(len(whole) + 50)
    assert f.read(10) == b""
    f.seek(0)
    assert f.readall() == whole
    rng = random.Random(11)
    for _ in range(100):
        off, n = rng.randrange(len(whole)), rng.randrange(70_000)
        f.seek(off)
        assert f.read(n) == whole[off : off + n]
    with pytest.raises(ValueError):
        f.seek(-1)
    f.close()
    with pytest.raises(ValueError):
        f.read(1)
    assert not tape.closed  # closing the file leaves the tape open


def test_tarfile_reads_through_as_file_and_a_buffered_reader(tape: tartape.Tape, tree: dict) -> None:
    with io.BufferedReader(tape.as_file(), buffer_size=4096) as raw:
        with tarfile.open(fileobj=raw, mode="r:") as tf:
            for name, data in tree.items():
                assert tf.extractfile(name).read() == data  # type: ignore[union-attr]


def test_as_file_readinto_writes_straight_into_the_callers_buffer(tape: tartape.Tape) -> None:
    whole = full(tape)
    f = tape.as_file()
    buf = bytearray(1 << 20)
    f.seek(123)
    assert f.readinto(buf) == len(buf) and buf == whole[123 : 123 + len(buf)]
    assert f.readinto(memoryview(buf)[:10]) == 10 and buf[:10] == whole[123 + len(buf) : 133 + len(buf)]


def test_read_at_from_eight_threads_at_random_ranges_equals_the_stream(tape: tartape.Tape) -> None:
    whole = full(tape)
    barrier = threading.Barrier(8)

    def worker(seed: int) -> int:
        rng = random.Random(seed)
        barrier.wait()
        checked = 0
        for _ in range(150):
            off = rng.randrange(len(whole))
            size = rng.randrange(1, 300_000)
            if rng.random() < 0.5:
                assert tape.read_at(off, size) == whole[off : off + size]
            else:
                buf = bytearray(size)
                n = tape.readinto_at(off, buf)
                assert buf[:n] == whole[off : off + size]
            checked += 1
        return checked

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(worker, range(8))) == 8 * 150


def test_threads_reading_while_another_streams_see_the_same_bytes(tape: tartape.Tape) -> None:
    whole = tape.read_at(0, tape.total_size)
    errors = []

    def reader() -> None:
        rng = random.Random()
        try:
            for _ in range(100):
                off = rng.randrange(len(whole))
                assert tape.read_at(off, 65536) == whole[off : off + 65536]
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    streamed = b"".join(tape.play(chunk_size=10_000))
    for t in threads:
        t.join()
    assert not errors and streamed == whole
