"""Memory entries: chunks pulled on NEED_DATA, fed exactly, refused when short or long."""

from __future__ import annotations

import io
import tarfile
from typing import Iterator, List

import pytest

import tartape

from conftest import content, full


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def extract(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        return tf.extractfile(name).read()  # type: ignore[union-attr]


def test_chunks_are_pulled_lazily_when_the_stream_reaches_the_entry() -> None:
    data = content(1, 2_500_000)
    pulled: List[int] = []

    def gen() -> Iterator[bytes]:
        for chunk in chunked(data, 100_000):
            pulled.append(len(chunk))
            yield chunk

    with tartape.TapeBuilder() as b:
        b.add_bytes("first.txt", b"first")
        b.add_from_memory("stream.bin", len(data), gen(), mode=0o600, mtime=5)
        b.add_bytes("last.txt", b"last")
        t = b.build()
    with t:
        e = t.locate("stream.bin")
        assert not e.random_access and e.size == len(data) and e.mode == 0o600
        it = t.play()
        first = next(it)
        assert pulled == [] and len(first) < e.data_offset  # not pulled before it is reached
        archive = first + b"".join(it)
        assert sum(pulled) == len(data)
    assert extract(archive, "stream.bin") == data


def test_play_output_with_memory_entries_is_a_valid_archive() -> None:
    data = content(2, 70_000)
    with tartape.TapeBuilder() as b:
        b.add_from_memory("a.bin", len(data), chunked(data, 4096))
        b.add_from_memory("b.bin", 3, b"abc")
        b.add_from_memory("empty.bin", 0, iter([b"", b""]))
        with b.build() as t:
            archive = full(t)
    assert extract(archive, "a.bin") == data
    assert extract(archive, "b.bin") == b"abc"
    assert extract(archive, "empty.bin") == b""


def test_an_iterable_exhausted_early_raises_size_mismatch() -> None:
    with tartape.TapeBuilder() as b:
        b.add_from_memory("short.bin", 100, [b"x" * 60, b"y" * 30])
        with b.build() as t:
            with pytest.raises(tartape.SizeMismatchError) as e:
                full(t)
            assert e.value.status == 32 and e.value.fatal and "short.bin" in str(e.value)


def test_a_chunk_longer_than_what_is_owed_raises_size_mismatch() -> None:
    with tartape.TapeBuilder() as b:
        b.add_from_memory("long.bin", 100, [b"x" * 60, b"y" * 50])
        with b.build() as t:
            with pytest.raises(tartape.SizeMismatchError):
                full(t)


def test_an_iterable_with_bytes_left_after_the_entry_raises_size_mismatch() -> None:
    with tartape.TapeBuilder() as b:
        b.add_from_memory("extra.bin", 100, [b"x" * 100, b"", b"more"])
        with b.build() as t:
            with pytest.raises(tartape.SizeMismatchError, match="more"):
                full(t)
    # A zero-size entry with non-empty chunks is refused when added.
    with tartape.TapeBuilder() as b:
        with pytest.raises(tartape.SizeMismatchError):
            b.add_from_memory("zero.bin", 0, [b"x"])


def test_bytes_content_of_the_wrong_size_is_refused_when_added() -> None:
    with tartape.TapeBuilder() as b:
        with pytest.raises(tartape.SizeMismatchError):
            b.add_from_memory("x", 10, b"short")
        with pytest.raises(TypeError):
            b.add_from_memory("x", 10, 42)  # type: ignore[arg-type]


def test_bytes_and_callables_replay_and_resume_inside_the_entry() -> None:
    data = content(3, 300_000)
    for source in (data, lambda: chunked(data, 7777)):
        with tartape.TapeBuilder() as b:
            b.add_bytes("pre.txt", b"pre")
            b.add_from_memory("m.bin", len(data), source)
            with b.build() as t:
                whole = full(t)
                assert full(t) == whole  # a second play is identical
                e = t.locate("m.bin")
                for n in (e.header_offset, e.data_offset, e.data_offset + 1, e.data_offset + 123_457, e.end_offset - 1):
                    assert b"".join(t.play(start_offset=n)) == whole[n:], n
        assert extract(whole, "m.bin") == data


def test_a_one_shot_iterable_cannot_be_replayed_but_resumes_forward() -> None:
    data = content(4, 50_000)
    with tartape.TapeBuilder() as b:
        b.add_from_memory("once.bin", len(data), chunked(data, 1000))
        with b.build() as t:
            e = t.locate("once.bin")
            # Resuming forward skips the chunks before the requested byte.
            tail = b"".join(t.play(start_offset=e.data_offset + 20_500))
            assert tail[: len(data) - 20_500] == data[20_500:]
            with pytest.raises(tartape.StateError, match="already consumed"):
                full(t)


def test_memory_entries_cannot_be_read_at_random() -> None:
    with tartape.TapeBuilder() as b:
        b.add_bytes("ok.txt", b"ok")
        b.add_from_memory("m.bin", 10, b"0123456789")
        with b.build() as t:
            assert t.read_at(512, 2) == b"ok"
            m = t.locate("m.bin")
            with pytest.raises(tartape.NotRandomAccessError) as e:
                t.read_at(m.data_offset, 5)
            assert e.value.status == 15 and not e.value.fatal


def test_an_exception_in_the_iterable_propagates_unchanged() -> None:
    def broken() -> Iterator[bytes]:
        yield b"x" * 10
        raise ConnectionError("network gone")

    with tartape.TapeBuilder() as b:
        b.add_from_memory("net.bin", 100, broken())
        with b.build() as t:
            with pytest.raises(ConnectionError):
                full(t)
